package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestDictionaryChangesShowOnTheNextListAndForm: the company list and
// form keep their dictionaries in memory, yet a change made by another
// process — a second database.DB on the same database, the way several
// `crm serve` share one PostgreSQL — shows on the very next page, and so
// does one made through this server.
func TestDictionaryChangesShowOnTheNextListAndForm(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e, other := twoProcesses(t, d)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := other.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			c := e.cast
			admin := e.session(c.Admin)
			page := func(path string) (string, int64) {
				t.Helper()
				rec, n := e.serveCounting(httptest.NewRequest("GET", path, nil), admin)
				if rec.Code != http.StatusOK {
					t.Fatalf("%s: status %d", path, rec.Code)
				}
				return rec.Body.String(), n
			}
			page("/companies/")
			_, quiet := page("/companies/")
			for _, tc := range []struct {
				name   string
				change func()
				shows  string // on the list and the form after the change
				hides  string // on neither
			}{
				{"a sphere added by another process", func() {
					exec(`INSERT INTO spheres (name) VALUES ('Сфера соседа')`)
				}, "Сфера соседа", ""},
				{"a status added by another process", func() {
					exec(`INSERT INTO company_statuses (name, position) VALUES ('Статус соседа', 99)`)
				}, "Статус соседа", ""},
				{"a branch renamed by another process", func() {
					exec(`UPDATE branches SET name = 'Филиал соседа' WHERE id = $1`, c.BranchB)
				}, "Филиал соседа", "Филиал Б (Новосибирск)"},
				{"a user renamed by another process", func() {
					exec(`UPDATE users SET first_name = 'Алевтина' WHERE id = $1`, c.Alisa.ID)
				}, "Алевтина", c.Alisa.FullName()},
				{"a user deactivated by another process", func() {
					exec(`UPDATE users SET is_active = $1 WHERE id = $2`, false, c.Vera.ID)
				}, "", c.Vera.FullName()},
				{"a sphere deleted by another process", func() {
					exec(`DELETE FROM spheres WHERE name = 'Сфера соседа'`)
				}, "", "Сфера соседа"},
				{"a sphere added through this server", func() {
					if code := e.api(&c.Admin, "POST", "/api/spheres/", map[string]any{"name": "Сфера своя"}, nil); code != http.StatusCreated {
						t.Fatalf("sphere: %d", code)
					}
				}, "Сфера своя", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tc.change()
					for _, path := range []string{"/companies/", "/companies/new"} {
						body, n := page(path)
						if tc.shows != "" && !strings.Contains(body, tc.shows) {
							t.Errorf("%s does not show %q", path, tc.shows)
						}
						if tc.hides != "" && strings.Contains(body, tc.hides) {
							t.Errorf("%s still shows %q", path, tc.hides)
						}
						if path == "/companies/" && n != quiet+1 {
							t.Errorf("%s after the change: %d statements, want %d (the dictionaries read once more)", path, n, quiet+1)
						}
					}
					if _, n := page("/companies/"); n != quiet {
						t.Errorf("the list after that: %d statements, want %d (the dictionaries from memory)", n, quiet)
					}
				})
			}
		})
	}
}

// TestCallButtonsFollowPairingOnTheNextPage: whether the viewer may call
// comes with the session, so pairing a phone shows the call buttons on
// the very next list page and revoking it hides them, without a query of
// its own.
func TestCallButtonsFollowPairingOnTheNextPage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		alisa := e.cast.Alisa
		var co struct {
			ID int64 `json:"id"`
		}
		if code := e.api(&alisa, "POST", "/api/companies/", map[string]any{"name": "Ромашка",
			"phones": []map[string]string{{"value": "+7 495 123-45-67"}}}, &co); code != http.StatusCreated {
			t.Fatalf("company: %d", code)
		}
		if code := e.api(&alisa, "POST", "/api/contacts/", map[string]any{"company": co.ID, "last_name": "Иванов",
			"phones": []map[string]string{{"value": "+7 916 000-00-01"}}}, nil); code != http.StatusCreated {
			t.Fatalf("contact: %d", code)
		}
		session := e.session(alisa)
		buttons := func(path string) (int, int64) {
			t.Helper()
			rec, n := e.serveCounting(httptest.NewRequest("GET", path, nil), session)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: status %d", path, rec.Code)
			}
			return strings.Count(rec.Body.String(), `data-testid="call-button"`), n
		}
		for _, path := range []string{"/companies/", "/contacts/"} {
			buttons(path) // the dictionaries read once
		}
		_, before := buttons("/companies/")
		d := e.pairPhone(alisa)
		for _, path := range []string{"/companies/", "/contacts/"} {
			if n, _ := buttons(path); n == 0 {
				t.Errorf("%s after pairing: no call button", path)
			}
		}
		if _, n := buttons("/companies/"); n != before {
			t.Errorf("the list with a phone: %d statements, without %d", n, before)
		}
		if code := e.api(&alisa, "DELETE", "/api/phone/devices/"+d.id+"/", nil, nil); code != http.StatusNoContent && code != http.StatusOK {
			t.Fatalf("revoke: %d", code)
		}
		for _, path := range []string{"/companies/", "/contacts/"} {
			if n, _ := buttons(path); n != 0 {
				t.Errorf("%s after revoking: %d call buttons", path, n)
			}
		}
	})
}

// twoProcesses opens one fresh database of dialect d twice: a server's
// test environment on the first handle and a second handle, as a second
// `crm serve` on the same database would have.
func twoProcesses(t *testing.T, d database.Dialect) (*testEnv, *database.DB) {
	t.Helper()
	db, other := dbtest.Twice(t, d)
	return newTestEnv(t, db), other
}
