package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/note"
	"github.com/crmprofi/crm/internal/task"
)

// The parsers of request input, fuzzed: whatever the query string or the
// body, each either reads it or says what is wrong with it as field
// messages (apperr.Invalid) — never a panic, never another kind of error
// that fail would answer with a 500. The seeds run in every test run.

// acceptable is the outcome a parser of input may have.
func acceptable(err error) bool {
	if err == nil {
		return true
	}
	_, ok := apperr.AsInvalid(err)
	var maxBytes *http.MaxBytesError
	return ok || errors.As(err, &maxBytes)
}

var querySeeds = []string{
	"", "page=2&page_size=100", "page=99999999999999999999&page_size=-5", "search=%D1%80%D0%BE%D0%BC&ordering=-name",
	"status=new,done&status=in_progress&state=overdue&assigned_to=me&due_before=2026-12-01&due_after=2026-11-01T10:00:00%2B03:00",
	"company=-1&branch=abc&responsible=1e9&sphere=&inn=7707083893", "ordering=;DROP&ordering=--name", "%zz=%zz&page=%",
	"action=user.update&outcome=denied&actor=1&object_type=user&object_id=5&from=2026-01-01&to=2026-13-45",
	"name=ООО+Ромашка&inn=7707083893&kpp=770701001&phone=8+(495)+123-45-67&email=a@b&exclude=1&exclude=x",
	"freq=weekly&interval=0&byday=MO&byday=XX&count=-1&until=2026-02-30&dtstart=x&all_day=maybe",
}

func FuzzQueryParsers(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	s := &Server{cfg: config.Config{Location: time.UTC}}
	f.Fuzz(func(t *testing.T, raw string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.RawQuery = raw
		if _, err := companyQuery(req); !acceptable(err) {
			t.Errorf("companyQuery(%q): %v", raw, err)
		}
		if _, err := s.taskQuery(req); !acceptable(err) {
			t.Errorf("taskQuery(%q): %v", raw, err)
		}
		if _, _, err := pageParams(req); !acceptable(err) {
			t.Errorf("pageParams(%q): %v", raw, err)
		}
		q := req.URL.Query()
		if _, err := auditFilter(raw, time.UTC); !acceptable(err) {
			t.Errorf("auditFilter(%q): %v", raw, err)
		}
		if _, err := duplicateProbe(raw); !acceptable(err) {
			t.Errorf("duplicateProbe(%q): %v", raw, err)
		}
		if _, err := userFilter(req); !acceptable(err) {
			t.Errorf("userFilter(%q): %v", raw, err)
		}
		if _, err := task.RuleFromForm(q); err != nil && !acceptable(err) && err.Error() == "" {
			t.Errorf("RuleFromForm(%q): an error without a message", raw)
		}
	})
}

// inputs are the input structs of the main resources, new for each call.
func inputs() map[string]func() any {
	return map[string]func() any{
		"company": func() any { return &companyInput{in: &company.Input{}} },
		"contact": func() any { return &contactInput{in: &contact.Input{}} },
		"note":    func() any { return &noteInput{in: &note.Input{}} },
		"task":    func() any { return &taskInput{in: &task.Input{}} },
		"user":    func() any { return &userForm{in: &auth.UserInput{}} },
		"profile": func() any { return &profileForm{in: &auth.ProfileInput{}} },
		"merge":   func() any { return &mergeInput{in: &company.MergeInput{}} },
		"bulk":    func() any { return &bulkForm{} },
		"close":   func() any { return &closeInput{} },
		"comment": func() any { return &commentInput{} },
		"dict":    func() any { return &dictionaryInput{} },
		"login":   func() any { return &credentials{} },
	}
}

func FuzzDecodeInputs(f *testing.F) {
	for _, s := range []string{
		`{"name": "ООО Ромашка", "inn": "7707083893", "phones": ["+7 495 123-45-67", {"value": "8 800", "kind": "mobile"}], "version": 3}`,
		`{"title": "Позвонить", "due_at": "2026-12-01T10:00:00+03:00", "all_day": false, "recurrence_rrule": "FREQ=WEEKLY;BYDAY=MO"}`,
		`{"company": "12", "text": "заметка", "note_type": "call_in", "is_pinned": true}`,
		`{"duplicate": 5, "fields": {"name": "duplicate"}}`, `{"ids": [1, 2], "action": "shift", "days": 1}`,
		`[1, 2]`, `null`, `{"version": 1e999}`, `{"name": "\u0000"}`, "{\"name\": \"\xff\"}", `{"a":` + strings.Repeat("[", 1000),
		"name=%D0%AF&version=2&phones=1&phones=2&due_date=2026-12-01&due_time=10:00", "name=%zz&&=", "version=abc&company=-1",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, body string, asJSON bool) {
		ct := "application/x-www-form-urlencoded"
		if asJSON {
			ct = "application/json"
		}
		for name, mk := range inputs() {
			req := httptest.NewRequest("POST", "/api/x/", strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			dst := mk()
			err := decode(httptest.NewRecorder(), req, dst)
			if !acceptable(err) {
				t.Errorf("%s from %s %q: %v", name, ct, body, err)
			}
			if f, ok := dst.(formDecoder); ok && !asJSON {
				v, _ := url.ParseQuery(body)
				if err := f.fromForm(v); !acceptable(err) {
					t.Errorf("%s.fromForm(%q): %v", name, body, err)
				}
			}
		}
	})
}
