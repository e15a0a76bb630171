package server

import (
	"context"
	"net/http"
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
