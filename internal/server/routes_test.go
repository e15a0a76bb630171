package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// TestAPIAnswersOnlyJSON: every route under /api answers JSON, whatever
// it is asked, and the page-only paths (forms, /new, /edit, /delete,
// /login, /profile) do not exist there.
func TestAPIAnswersOnlyJSON(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		var routes []string
		err := chi.Walk(e.srv.router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if strings.HasPrefix(route, "/api/") {
				routes = append(routes, method+" "+route)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(routes) < 20 {
			t.Fatalf("only %d API routes walked: %v", len(routes), routes)
		}
		for _, mr := range routes {
			method, route, _ := strings.Cut(mr, " ")
			t.Run(mr+" answers JSON", func(t *testing.T) {
				for _, page := range []string{"/new", "/edit", "/delete", "/login", "/logout", "/profile", "/notes/"} {
					if strings.Contains(route, page) {
						t.Fatalf("a page-only route under /api: %s", route)
					}
				}
				path := strings.ReplaceAll(route, "{id}", "999999")
				if media := documentedMedia(method, route); media != "" {
					// The page /api/docs/, the files of the exports: the
					// OpenAPI document gives their media type.
					t.Skip("answers " + media + " by design")
				}
				if path == "/api/events/" {
					// The one stream of the API: text/event-stream by the
					// contract, tested on its own (TestTheLiveEventsStream).
					t.Skip("the live events stream is not JSON by design")
				}
				if path == "/api/export/companies/" || path == "/api/audit/export/" {
					// Exports answer with the file by the contract (CSV here);
					// their refusals and errors are JSON (TestExport*).
					t.Skip("an export is a file by design")
				}
				rec := e.do(&e.cast.Admin, method, path, nil)
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && rec.Code != http.StatusNoContent {
					t.Errorf("%d %q: %.200s", rec.Code, ct, rec.Body.String())
				}
			})
		}
		for _, mp := range []string{
			"GET /api/companies/new", "GET /api/companies/1/edit", "POST /api/companies/1/delete",
			"GET /api/contacts/new", "GET /api/contacts/1/edit", "POST /api/contacts/1/edit", "POST /api/contacts/1/delete",
			"POST /api/companies/1/notes/", "GET /api/notes/1/edit", "POST /api/notes/1/delete", "POST /api/notes/1/pin",
			"GET /api/login", "POST /api/logout", "GET /api/profile/", "POST /api/profile/", "GET /api/admin/",
		} {
			t.Run(mp+" is not found, in JSON", func(t *testing.T) {
				method, path, _ := strings.Cut(mp, " ")
				rec := e.do(&e.cast.Admin, method, path, nil)
				if rec.Code == http.StatusPermanentRedirect { // the API's missing-slash rule
					rec = e.do(&e.cast.Admin, method, rec.Header().Get("Location"), nil)
				}
				if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
					t.Errorf("%d %q: %.200s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
				}
			})
		}
	})
}

// TestRefusedWritesAreAuditedFromFormsAndJSON: a refused write leaves one
// audit entry whether it came from a page's form or from the API.
func TestRefusedWritesAreAuditedFromFormsAndJSON(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		// Глеб sees every company (scope global) but edits only his own.
		comp := e.seedCompany("ООО «Чужая»", c.BranchA, c.Alisa.ID)
		ct := e.seedContact(c.Alisa, comp, "Сидоров")
		denied := func(action string, id int64) int {
			t.Helper()
			var n int
			err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log
				WHERE action = $1 AND outcome = 'denied' AND object_id = $2 AND actor_id = $3`, action, fmt.Sprint(id), c.Gleb.ID).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, tc := range []struct {
			name, action string
			id           int64
			form, json   func() int
		}{
			{"a company edit", "company.update", comp,
				func() int { return e.do(&c.Gleb, "POST", fmt.Sprintf("/companies/%d/", comp), "name=Моя").Code },
				func() int {
					return e.api(&c.Gleb, "PATCH", fmt.Sprintf("/api/companies/%d/", comp), map[string]any{"name": "Моя"}, nil)
				}},
			{"a contact deletion", "contact.delete", ct.ID,
				func() int { return e.do(&c.Gleb, "POST", fmt.Sprintf("/contacts/%d/delete", ct.ID), "").Code },
				func() int { return e.api(&c.Gleb, "DELETE", fmt.Sprintf("/api/contacts/%d/", ct.ID), nil, nil) }},
		} {
			t.Run(tc.name+" refused on the form and in the API is audited twice", func(t *testing.T) {
				if code := tc.form(); code != http.StatusForbidden {
					t.Fatalf("form: %d, want 403", code)
				}
				if n := denied(tc.action, tc.id); n != 1 {
					t.Fatalf("after the form: %d denied entries, want 1", n)
				}
				if code := tc.json(); code != http.StatusForbidden {
					t.Fatalf("JSON: %d, want 403", code)
				}
				if n := denied(tc.action, tc.id); n != 2 {
					t.Fatalf("after the API: %d denied entries, want 2", n)
				}
			})
		}
	})
}
