package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestAuditCoversTheActions drives the actions the log must cover through
// the API — sign-ins that succeed and fail, a role and a visibility
// change, a note deleted, a company deleted and restored — and finds each
// in the log, the chain whole after them. A failed sign-in names the
// login, never the password; a user's change names the fields changed. (Exports, imports and merges
// are checked by their own tests: export_test, imports_test, merge_test.)
func TestAuditCoversTheActions(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		admin := &e.cast.Admin
		must := func(code, want int, what string) {
			t.Helper()
			if code != want {
				t.Fatalf("%s: %d, want %d", what, code, want)
			}
		}
		must(e.api(nil, "POST", "/api/token/", map[string]string{"username": "alisa", "password": "не тот"}, nil), http.StatusUnauthorized, "a wrong password")
		must(e.api(nil, "POST", "/api/token/", map[string]string{"username": "alisa", "password": dbtest.CastPassword}, nil), http.StatusOK, "a sign-in")
		alisa := "/api/users/" + itoa(int(e.cast.Alisa.ID)) + "/"
		must(e.api(admin, "PATCH", alisa, map[string]any{"role": "branch_director"}, nil), http.StatusOK, "a role change")
		must(e.api(admin, "PATCH", alisa, map[string]any{"data_scope": "global"}, nil), http.StatusOK, "a visibility change")
		var c struct{ ID int64 }
		must(e.api(admin, "POST", "/api/companies/", map[string]any{"name": "ООО «Аудит»", "responsible": e.cast.Admin.ID}, &c), http.StatusCreated, "a company")
		var n struct{ ID int64 }
		must(e.api(admin, "POST", "/api/company-notes/", map[string]any{"company": c.ID, "text": "удалится"}, &n), http.StatusCreated, "a note")
		must(e.api(admin, "DELETE", "/api/company-notes/"+itoa(int(n.ID))+"/", nil, nil), http.StatusNoContent, "a note deleted")
		company := "/api/companies/" + itoa(int(c.ID)) + "/"
		must(e.api(admin, "DELETE", company, nil, nil), http.StatusNoContent, "a company deleted")
		must(e.api(admin, "POST", company+"restore/", nil, nil), http.StatusOK, "a company restored")

		for _, want := range []struct{ action, outcome, objectID, detail string }{
			{"auth.login", audit.Denied, "", `"alisa"`},
			{"auth.login", audit.OK, itoa(int(e.cast.Alisa.ID)), ""},
			{"user.update", audit.OK, itoa(int(e.cast.Alisa.ID)), `"role"`},
			{"user.update", audit.OK, itoa(int(e.cast.Alisa.ID)), `"data_scope"`},
			{"note.delete", audit.OK, itoa(int(n.ID)), "удалится"},
			{"company.delete", audit.OK, itoa(int(c.ID)), ""},
			{"company.restore", audit.OK, itoa(int(c.ID)), ""},
		} {
			var count int
			q := `SELECT COUNT(*) FROM audit_log WHERE action = $1 AND outcome = $2 AND ($3 = '' OR object_id = $3) AND ($4 = '' OR detail LIKE $5)`
			if err := e.db.QueryRowContext(ctx, q, want.action, want.outcome, want.objectID, want.detail, "%"+want.detail+"%").Scan(&count); err != nil {
				t.Fatal(err)
			}
			if count == 0 {
				t.Errorf("no %s (%s) entry for object %q with %q in its detail", want.action, want.outcome, want.objectID, want.detail)
			}
		}
		if _, err := audit.Verify(ctx, e.db); err != nil {
			t.Errorf("the chain after the actions: %v", err)
		}
	})
}

// TestAuditEntriesCarryTheClient: every entry written in a request keeps
// the client's address and user agent (through audit.WithClient, not by
// each action), and a role or visibility change records the old and the
// new value.
func TestAuditEntriesCarryTheClient(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		const agent = "Mozilla/5.0 (X11; Linux x86_64) Тест/1.0"
		send := func(m *dbtest.Member, method, path string, body any) int {
			t.Helper()
			raw, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(method, path, bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", agent)
			if m != nil {
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(*m)})
			}
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			return rec.Code
		}
		alisa := "/api/users/" + itoa(int(e.cast.Alisa.ID)) + "/"
		for _, r := range []struct {
			m            *dbtest.Member
			method, path string
			body         any
			want         int
		}{
			{nil, "POST", "/api/token/", map[string]string{"username": "alisa", "password": "не тот"}, http.StatusUnauthorized},
			{nil, "POST", "/api/token/", map[string]string{"username": "alisa", "password": dbtest.CastPassword}, http.StatusOK},
			{&e.cast.Admin, "PATCH", alisa, map[string]any{"role": "branch_director", "data_scope": "global"}, http.StatusOK},
			{&e.cast.Alisa, "GET", "/api/audit/", nil, http.StatusForbidden},
		} {
			if code := send(r.m, r.method, r.path, r.body); code != r.want {
				t.Fatalf("%s %s: %d, want %d", r.method, r.path, code, r.want)
			}
		}
		rows, err := e.db.QueryContext(ctx, `SELECT action, outcome, ip, detail FROM audit_log ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		seen := map[string]bool{}
		for rows.Next() {
			var action, outcome, ip, raw string
			if err := rows.Scan(&action, &outcome, &ip, &raw); err != nil {
				t.Fatal(err)
			}
			var d map[string]any
			if err := json.Unmarshal([]byte(raw), &d); err != nil {
				t.Fatal(err)
			}
			seen[action+"/"+outcome] = true
			if d["user_agent"] != agent || ip == "" {
				t.Errorf("%s (%s): ip %q, user agent %v, want the client's", action, outcome, ip, d["user_agent"])
			}
			if action == "user.update" {
				role, _ := d["role"].(map[string]any)
				scope, _ := d["data_scope"].(map[string]any)
				if role["old"] != "manager" || role["new"] != "branch_director" || scope["new"] != "global" || scope["old"] == nil {
					t.Errorf("user.update detail %s: want the old and new role and visibility", raw)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"auth.login/denied", "auth.login/ok", "user.update/ok", "audit.list/denied"} {
			if !seen[want] {
				t.Errorf("no %s entry; have %v", want, seen)
			}
		}
	})
}
