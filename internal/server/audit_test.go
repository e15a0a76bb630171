package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/audit"
)

func TestAuditAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		for i, a := range []string{"export.companies", "note.delete", "export.contacts"} {
			err := audit.Record(ctx, e.db, e.cast.Boris.Scope, audit.Entry{At: at.Add(time.Duration(i) * 24 * time.Hour), Action: a, ObjectType: "note", ObjectID: "5", IP: "10.0.0.1", Detail: map[string]any{"text": "т"}})
			if err != nil {
				t.Fatal(err)
			}
		}
		type page struct {
			Count   int              `json:"count"`
			Results []map[string]any `json:"results"`
		}
		t.Run("only the admin reads the log; every refusal is audited", func(t *testing.T) {
			for _, m := range e.cast.All() {
				code := e.api(&m, "GET", "/api/audit/", nil, nil)
				want := http.StatusForbidden
				if m.Scope.IsAdmin() {
					want = http.StatusOK
				}
				if code != want {
					t.Fatalf("%s: %d, want %d", m.Username, code, want)
				}
			}
			if n := adminAuditRows(t, e.db, "audit.list", "denied"); n != 5 {
				t.Fatalf("refusals audited: %d", n)
			}
		})
		tests := []struct {
			name  string
			query string
			want  int
		}{
			{"an action prefix gives every export", "?action=export", 2},
			{"an actor filter keeps their entries", "?until=2026-11-25&actor=" + itoa(int(e.cast.Boris.ID)), 3},
			{"since a day starts at its midnight in the viewer's zone", "?since=2026-11-21&until=2026-11-25", 2},
			{"until a day includes that day", "?action=export&until=2026-11-20", 1},
			{"RFC 3339 times are accepted", "?action=e&since=2026-11-21T00:00:00%2B03:00&until=2026-11-23T00:00:00Z", 1},
			{"days typed on the page as dd.mm.yyyy are accepted", "?since=21.11.2026&until=25.11.2026", 2},
			{"a day and month of one digit are accepted", "?action=export&until=20.11.2026", 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var p page
				if code := e.api(&e.cast.Admin, "GET", "/api/audit/"+tt.query, nil, &p); code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				if p.Count != tt.want || len(p.Results) != tt.want {
					t.Fatalf("got %d entries %v, want %d", p.Count, p.Results, tt.want)
				}
			})
		}
		t.Run("an entry has the contract's fields", func(t *testing.T) {
			var p page
			e.api(&e.cast.Admin, "GET", "/api/audit/?action=note.delete", nil, &p)
			r := p.Results[0]
			for _, k := range []string{"id", "at", "actor", "actor_name", "action", "object_type", "object_id", "outcome", "ip", "detail"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("no %q in %v", k, r)
				}
			}
			if r["at"] != "2026-11-21T15:00:00+03:00" || r["actor_name"] != "Борис Бородин" {
				t.Fatalf("got %v", r)
			}
		})
		t.Run("a bad date is 400 naming the parameter", func(t *testing.T) {
			for _, param := range []string{"since", "until"} {
				var body map[string][]string
				if code := e.api(&e.cast.Admin, "GET", "/api/audit/?"+param+"=вчера", nil, &body); code != http.StatusBadRequest || len(body[param]) != 1 {
					t.Fatalf("%s: %d %v", param, code, body)
				}
			}
		})
		t.Run("the admin page shows the entries with labels and badges", func(t *testing.T) {
			rec := e.do(&e.cast.Admin, "GET", "/admin/audit/?action=note", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			doc := adminHTML(t, rec.Body.String())
			if n := doc.Find(`[data-testid="audit-row"]`).Length(); n != 1 {
				t.Fatalf("%d rows", n)
			}
			if got := doc.Find(`[data-testid="audit-action"]`).Text(); !strings.Contains(got, "Заметка удалена") || !strings.Contains(got, "note.delete") {
				t.Fatalf("action cell %q", got)
			}
			if got := doc.Find(`[data-testid="audit-at"]`).Text(); got != "21.11.2026 15:00:00" {
				t.Fatalf("time %q (want Moscow time)", got)
			}
			if doc.Find(`[data-testid="field-actor"] option:contains("Борис Бородин")`).Length() != 1 {
				t.Fatal("no actor option by full name")
			}
		})
		t.Run("a bad filter on the page is shown beside it", func(t *testing.T) {
			rec := e.do(&e.cast.Admin, "GET", "/admin/audit/?since=31.02.2026", nil)
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusBadRequest || doc.Find(`[data-testid="error-since"]`).Length() != 1 {
				t.Fatalf("status %d", rec.Code)
			}
		})
		t.Run("a manager cannot open the page", func(t *testing.T) {
			if rec := e.do(&e.cast.Alisa, "GET", "/admin/audit/", nil); rec.Code != http.StatusForbidden {
				t.Fatalf("status %d", rec.Code)
			}
		})
	})
}
