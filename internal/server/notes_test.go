package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/note"
)

func (e *testEnv) seedNote(m dbtest.Member, company int64, text string) note.Note {
	e.t.Helper()
	n, err := e.srv.notes.Create(context.Background(), m.Scope, note.Input{Company: company, Text: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func notePath(id int64) string { return "/api/company-notes/" + strconv.FormatInt(id, 10) + "/" }

// lastAudit returns the newest audit entry of a note.
func (e *testEnv) lastAudit(id int64) (action, outcome string, actor int64, detail map[string]any) {
	e.t.Helper()
	var raw string
	err := e.db.QueryRowContext(context.Background(), `SELECT action, outcome, COALESCE(actor_id, 0), detail FROM audit_log
		WHERE object_type = 'note' AND object_id = $1 ORDER BY id DESC LIMIT 1`, strconv.FormatInt(id, 10)).Scan(&action, &outcome, &actor, &raw)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &detail); err != nil {
		e.t.Fatal(err)
	}
	return action, outcome, actor, detail
}

func TestNotesAPIAccessMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		// Алиса's company in branch A; the notes are Борис's.
		company := e.seedCompany("Ромашка", c.BranchA, c.Alisa.ID)
		cases := []struct {
			m      dbtest.Member
			get    int
			change int // PATCH and DELETE
			pin    int
		}{
			{c.Admin, 200, 403, 200},
			{c.Alisa, 200, 403, 200},
			{c.Boris, 200, 200, 200},
			{c.Vera, 404, 404, 404},
			{c.Gleb, 200, 403, 403},
			{c.Darya, 200, 403, 200},
		}
		for _, tc := range cases {
			t.Run(tc.m.Username+" on Борис's note", func(t *testing.T) {
				n := e.seedNote(c.Boris, company, "Договорились о скидке "+tc.m.Username)
				var got note.Note
				if code := e.api(&tc.m, "GET", notePath(n.ID), nil, &got); code != tc.get {
					t.Fatalf("GET %d, want %d", code, tc.get)
				}
				var list listPage[note.Note]
				e.api(&tc.m, "GET", fmt.Sprintf("/api/company-notes/?company=%d", company), nil, &list)
				listed := false
				for _, x := range list.Results {
					listed = listed || x.ID == n.ID
				}
				if listed != (tc.get == 200) {
					t.Fatalf("listed %v", listed)
				}
				if code := e.api(&tc.m, "POST", notePath(n.ID)+"pin/", nil, nil); code != tc.pin {
					t.Fatalf("pin %d, want %d", code, tc.pin)
				}
				var body map[string]any
				if code := e.api(&tc.m, "PATCH", notePath(n.ID), map[string]any{"text": "правка"}, &body); code != tc.change {
					t.Fatalf("PATCH %d, want %d", code, tc.change)
				}
				if tc.change == 403 && body["detail"] != "Изменить заметку может только её автор" {
					t.Fatalf("PATCH body %v", body)
				}
				wantDelete := tc.change
				if wantDelete == 200 {
					wantDelete = 204
				}
				if code := e.api(&tc.m, "DELETE", notePath(n.ID), nil, &body); code != wantDelete {
					t.Fatalf("DELETE %d, want %d", code, wantDelete)
				}
				action, outcome, actor, detail := e.lastAudit(n.ID)
				switch wantDelete {
				case 403:
					if body["detail"] != "Удалить заметку может только её автор" {
						t.Fatalf("DELETE body %v", body)
					}
					if action != "note.delete" || outcome != "denied" || actor != tc.m.ID || detail["text"] != n.Text {
						t.Fatalf("audit %s %s %d %v", action, outcome, actor, detail)
					}
				case 204:
					if action != "note.delete" || outcome != "ok" || actor != tc.m.ID || detail["text"] != "правка" {
						t.Fatalf("audit %s %s %d %v", action, outcome, actor, detail)
					}
				case 404:
					if actor == tc.m.ID {
						t.Fatalf("a hidden note's attempt leaks into the audit: %s", action)
					}
				}
			})
		}
	})
}

func TestNotesAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		company := e.seedCompany("Ромашка", c.BranchA, c.Alisa.ID)
		var n note.Note
		code := e.api(&c.Alisa, "POST", "/api/company-notes/", map[string]any{"company": company, "text": "Звонил директор", "note_type": "call_in"}, &n)
		if code != http.StatusCreated || n.AuthorName != "Алиса Аксёнова" || n.Type != "call_in" || n.EditedAt != nil {
			t.Fatalf("POST %d %+v", code, n)
		}
		var errs map[string][]string
		if code := e.api(&c.Alisa, "POST", "/api/company-notes/", map[string]any{"company": company, "note_type": "fax"}, &errs); code != 400 ||
			len(errs["text"]) != 1 || len(errs["note_type"]) != 1 {
			t.Fatalf("bad input %d %v", code, errs)
		}
		if code := e.api(&c.Vera, "POST", "/api/company-notes/", map[string]any{"company": company, "text": "x"}, &errs); code != 400 ||
			errs["company"][0] != "Компания не найдена" {
			t.Fatalf("hidden company %d %v", code, errs)
		}
		var got note.Note
		if code := e.api(&c.Alisa, "PATCH", notePath(n.ID), map[string]any{"text": "Звонил директор, перезвонить", "version": n.Version}, &got); code != 200 ||
			got.EditedAt == nil || got.Type != "call_in" {
			t.Fatalf("PATCH %d %+v", code, got)
		}
		if code := e.api(&c.Alisa, "PATCH", notePath(n.ID), map[string]any{"text": "снова", "version": n.Version}, nil); code != http.StatusConflict {
			t.Fatalf("stale PATCH %d", code)
		}
	})
}

func TestNotePages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		company := e.seedCompany("Ромашка", c.BranchA, c.Alisa.ID)
		add := fmt.Sprintf("/companies/%d/notes/", company)
		back := fmt.Sprintf("/companies/%d/#notes", company)

		t.Run("the quick-add form adds a note and returns to the card", func(t *testing.T) {
			rec := e.do(&c.Alisa, "POST", add, url.Values{"note_type": {"call_out"}, "text": {"Предложил договор"}}.Encode())
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != back {
				t.Fatalf("%d %s", rec.Code, rec.Header().Get("Location"))
			}
			rec = e.do(&c.Alisa, "POST", add, url.Values{"note_type": {"note"}, "text": {"  "}}.Encode())
			doc := page(t, rec)
			if rec.Code != http.StatusBadRequest || doc.Find(`[data-testid="error-text"]`).Length() != 1 {
				t.Fatalf("empty note: %d", rec.Code)
			}
			if rec := e.do(&c.Vera, "POST", add, url.Values{"text": {"чужое"}}.Encode()); rec.Code != http.StatusNotFound {
				t.Fatalf("Вера adds to a hidden company: %d", rec.Code)
			}
		})

		mine := e.seedNote(c.Gleb, company, "Заметка Глеба")
		notesHTML := func(m dbtest.Member) *goquery.Document {
			html := e.section(m, func(r *http.Request) (string, error) {
				comp, err := e.srv.companyNotesSection(r, company)
				if err != nil {
					return "", err
				}
				var b strings.Builder
				err = comp.Render(r.Context(), &b)
				return b.String(), err
			})
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
			if err != nil {
				t.Fatal(err)
			}
			return doc
		}

		t.Run("the timeline offers edit and delete to the author only", func(t *testing.T) {
			doc := notesHTML(c.Gleb)
			notes := doc.Find(`[data-testid="notes"] [data-testid="note"]`)
			if notes.Length() != 2 || doc.Find(`[data-testid="note-add"]`).Length() != 1 {
				t.Fatalf("%d notes", notes.Length())
			}
			first := notes.First()
			if first.Find(`[data-testid="note-text"]`).Text() != "Заметка Глеба" || first.Find(`[data-testid="note-delete"]`).Length() != 1 ||
				first.Find(`[data-testid="note-edit"]`).Length() != 1 {
				t.Fatal("the author's own note lacks its buttons")
			}
			if notes.Eq(1).Find(`[data-testid="note-delete"], [data-testid="note-edit"], [data-testid="note-pin"]`).Length() != 0 {
				t.Fatal("Глеб gets buttons on Алиса's note")
			}
			doc = notesHTML(c.Admin)
			if doc.Find(`[data-testid="note-delete"]`).Length() != 0 || doc.Find(`[data-testid="note-pin"]`).Length() != 2 {
				t.Fatal("the admin may pin but not delete")
			}
		})

		t.Run("pinning puts the note on top, marked", func(t *testing.T) {
			var alisas note.Note
			list, _, _ := e.srv.notes.List(context.Background(), c.Alisa.Scope, note.Filter{CompanyID: company})
			for _, n := range list {
				if n.ID != mine.ID {
					alisas = n
				}
			}
			rec := e.do(&c.Admin, "POST", fmt.Sprintf("/notes/%d/pin", alisas.ID), "pinned=1")
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("pin %d", rec.Code)
			}
			first := notesHTML(c.Alisa).Find(`[data-testid="note"]`).First()
			if !first.HasClass("pinned") || first.Find(`[data-testid="note-text"]`).Text() != "Предложил договор" {
				t.Fatal("the pinned note is not on top")
			}
			if rec := e.do(&c.Gleb, "POST", fmt.Sprintf("/notes/%d/pin", alisas.ID), "pinned=0"); rec.Code != http.StatusForbidden {
				t.Fatalf("Глеб unpins: %d", rec.Code)
			}
		})

		t.Run("the author edits on a page of its own; others are refused", func(t *testing.T) {
			path := fmt.Sprintf("/notes/%d/edit", mine.ID)
			rec := e.do(&c.Gleb, "GET", path, nil)
			if rec.Code != 200 || page(t, rec).Find(`#f-text`).Text() != "Заметка Глеба" {
				t.Fatalf("edit page %d", rec.Code)
			}
			if rec := e.do(&c.Admin, "GET", path, nil); rec.Code != http.StatusForbidden {
				t.Fatalf("admin's edit page %d", rec.Code)
			}
			if rec := e.do(&c.Admin, "POST", path, "text=взлом"); rec.Code != http.StatusForbidden {
				t.Fatalf("admin saves %d", rec.Code)
			}
			rec = e.do(&c.Gleb, "POST", path, url.Values{"text": {"Заметка Глеба, дополнено"}, "note_type": {"note"}, "version": {"1"}}.Encode())
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != back {
				t.Fatalf("save %d %s", rec.Code, rec.Body)
			}
			if notesHTML(c.Alisa).Find(`[data-testid="note-edited"]`).Length() != 1 {
				t.Fatal("no «изменено» mark")
			}
		})

		t.Run("delete by others is refused and audited; the author's deletes", func(t *testing.T) {
			path := fmt.Sprintf("/notes/%d/delete", mine.ID)
			if rec := e.do(&c.Admin, "POST", path, ""); rec.Code != http.StatusForbidden ||
				!strings.Contains(rec.Body.String(), "Удалить заметку может только её автор") {
				t.Fatalf("admin deletes: %d %s", rec.Code, rec.Body)
			}
			if action, outcome, actor, _ := e.lastAudit(mine.ID); action != "note.delete" || outcome != "denied" || actor != c.Admin.ID {
				t.Fatalf("audit %s %s %d", action, outcome, actor)
			}
			rec := e.do(&c.Gleb, "POST", path, "")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != back {
				t.Fatalf("delete %d", rec.Code)
			}
			action, outcome, _, detail := e.lastAudit(mine.ID)
			if action != "note.delete" || outcome != "ok" || detail["text"] != "Заметка Глеба, дополнено" {
				t.Fatalf("audit %s %s %v", action, outcome, detail)
			}
		})
	})
}
