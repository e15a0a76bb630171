package company_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
)

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, in company.Input)
		errField   string
	}{
		{"a bare phone string is a work phone", `{"phones": ["8 495 123-45-67"]}`, func(t *testing.T, in company.Input) {
			if !in.Phones.Set || len(in.Phones.Value) != 1 || in.Phones.Value[0].Kind != "work" {
				t.Errorf("%+v", in.Phones)
			}
		}, ""},
		{"a phone object keeps its kind and comment", `{"phones": [{"value": "1", "kind": "fax", "comment": "к"}]}`, func(t *testing.T, in company.Input) {
			if p := in.Phones.Value[0]; p.Kind != "fax" || p.Comment != "к" {
				t.Errorf("%+v", p)
			}
		}, ""},
		{"a bare e-mail string is a work e-mail", `{"emails": ["a@b.ru"]}`, func(t *testing.T, in company.Input) {
			if e := in.Emails.Value[0]; e.Kind != "work" || e.Value != "a@b.ru" {
				t.Errorf("%+v", e)
			}
		}, ""},
		{"null clears a reference", `{"status": null}`, func(t *testing.T, in company.Input) {
			if !in.Status.Set || in.Status.Value != 0 {
				t.Errorf("%+v", in.Status)
			}
		}, ""},
		{"an absent field is not set", `{}`, func(t *testing.T, in company.Input) {
			if in.Name.Set || in.Phones.Set || in.Version.Set {
				t.Errorf("%+v", in)
			}
		}, ""},
		{"an ИНН sent as a number is read as digits", `{"inn": 7707083893}`, func(t *testing.T, in company.Input) {
			if in.INN.Value != "7707083893" {
				t.Errorf("%q", in.INN.Value)
			}
		}, ""},
		{"spheres that are not ids are a field error", `{"spheres": ["x"]}`, nil, "spheres"},
		{"phones that are not a list are a field error", `{"phones": 5}`, nil, "phones"},
		{"a version that is not a number is a field error", `{"version": "v2"}`, nil, "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := company.ParseJSON([]byte(tt.body))
			if tt.errField != "" {
				inv, ok := apperr.AsInvalid(err)
				if !ok || inv[tt.errField] == "" {
					t.Fatalf("err = %v, want a message for %s", err, tt.errField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, in)
		})
	}
}

// FuzzParseJSON checks that no body makes the parser or the rules panic,
// that every message is Russian text naming a known field, and that
// accepted phones always carry their E.164 key.
func FuzzParseJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001", "phones": ["8 495 123-45-67", {"value": "+7 916 000 00 01 доб. 5", "kind": "mobile"}], "emails": ["A@B.ru"]}`,
		`{"name": "", "inn": 123, "phones": [1, null], "spheres": [1, "2", -3], "version": "1"}`,
		`{"website": "http://", "ogrn": "1027700132195", "status": "abc"}`,
		`[]`, `null`, `{"phones": {"value": 1}}`,
	} {
		f.Add(seed)
	}
	known := map[string]bool{"name": true, "legal_name": true, "inn": true, "kpp": true, "ogrn": true, "address": true,
		"website": true, "status": true, "branch": true, "responsible": true, "spheres": true, "phones": true,
		"emails": true, "version": true, apperr.NonField: true}
	f.Fuzz(func(t *testing.T, body string) {
		in, err := company.ParseJSON([]byte(body))
		if err != nil {
			inv, ok := apperr.AsInvalid(err)
			if !ok {
				t.Fatalf("not a validation error: %v", err)
			}
			for k := range inv {
				if !known[k] {
					t.Fatalf("unknown field %q", k)
				}
			}
			return
		}
		n := company.NewCompany{}
		n.Phones = append(n.Phones, in.Phones.Value...)
		n.Name, n.INN, n.KPP, n.OGRN, n.Website = in.Name.Value, in.INN.Value, in.KPP.Value, in.OGRN.Value, in.Website.Value
		n.Emails = in.Emails.Value
		inv := n.Normalize()
		for k, msg := range inv {
			if !known[k] || msg == "" || !utf8.ValidString(msg) {
				t.Fatalf("bad message %q: %q", k, msg)
			}
		}
		if len(inv) == 0 {
			for _, p := range n.Phones {
				if !strings.HasPrefix(p.E164, "+") {
					t.Fatalf("accepted phone %q without E.164", p.Value)
				}
			}
		}
	})
}
