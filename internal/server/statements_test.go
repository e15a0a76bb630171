package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// maxCardStatements is the most SQL statements the company card may send,
// session check included, however many contacts, notes, tasks, phones and
// e-mails it shows (issue 6: at most 6): the session (with the bell's
// count); the company with its phones, e-mails, spheres and merges
// (company.Store.Card); the call history with whether the viewer has a
// phone; the contacts with their phones and e-mails; the notes; the open
// tasks with their total and the viewer's time zone.
const maxCardStatements = 6

// maxCardRoundTripsPostgres is the most times the company card waits for
// PostgreSQL (6 before the sections were read together and the session
// came from the cache): the company and its sections as one batch
// (database.ReadSet); the session of a known user costs none
// (auth.SessionCache). On SQLite every statement is its own call, so
// there the limit is maxCardStatements.
const maxCardRoundTripsPostgres = 1

// maxListRoundTripsPostgres is the same for the plain company list (4,
// then 2 before the page read each company's first phone itself): the
// count with the page (one batch).
const maxListRoundTripsPostgres = 1

// maxListStatements is the same for the company list (6 before its
// dictionaries and the viewer's phone came with the session, 4 before the
// page read each company's first phone itself): the session — with the
// bell's count, the dictionaries' number and whether the viewer has a
// phone —, the count, the page with each company's first phone. The
// filters' dictionaries and the names of the companies' statuses,
// branches and users come from memory while their number holds. A search
// by an ИНН (or anything a phone's digits could be) also reads the found
// companies' phones, for its "why found".
const maxListStatements = 3

// maxNameSearchStatements is the same for a search by a name word (3
// before): the session, the page with its count and first phones.
const maxNameSearchStatements = 2

// On PostgreSQL a GET by a session the process already knows sends no
// statement for it (auth.SessionCache): the list, the card and a search
// are one statement shorter than on SQLite (whose session statement is a
// call in the process, cheap enough to keep).
const (
	maxCachedListStatements       = 2
	maxCachedCardStatements       = 5
	maxCachedSearchStatements     = 2
	maxCachedNameSearchStatements = 1
)

// TestCardAndListSendFewStatements counts the SQL statements of the
// busiest pages on a company with several of everything: a regression
// that adds a query per contact or per dictionary fails here.
func TestCardAndListSendFewStatements(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		e.cacheSessions() // PostgreSQL
		cached := e.db.Dialect == database.Postgres
		c := e.cast
		var spheres []int64
		for i := range 3 {
			var s struct {
				ID int64 `json:"id"`
			}
			if code := e.api(&c.Admin, "POST", "/api/spheres/", map[string]any{"name": fmt.Sprintf("Сфера %d", i)}, &s); code != http.StatusCreated {
				t.Fatalf("sphere: %d", code)
			}
			spheres = append(spheres, s.ID)
		}
		var co struct {
			ID int64 `json:"id"`
		}
		code := e.api(&c.Alisa, "POST", "/api/companies/", map[string]any{
			"name": "Ромашка", "inn": "7707083893", "spheres": spheres,
			"phones": []map[string]string{{"value": "+7 495 123-45-67"}, {"value": "+7 495 123-45-68"}, {"value": "+7 495 123-45-69"}},
			"emails": []string{"a@romashka.ru", "b@romashka.ru"},
		}, &co)
		if code != http.StatusCreated {
			t.Fatalf("company: %d", code)
		}
		for i := range 5 {
			if code := e.api(&c.Alisa, "POST", "/api/contacts/", map[string]any{
				"company": co.ID, "last_name": fmt.Sprintf("Иванов%d", i), "first_name": "Иван",
				"phones": []map[string]string{{"value": fmt.Sprintf("+7 916 000-00-%02d", i)}, {"value": fmt.Sprintf("+7 916 000-01-%02d", i)}},
				"emails": []map[string]string{{"value": fmt.Sprintf("i%d@romashka.ru", i)}, {"value": fmt.Sprintf("j%d@romashka.ru", i)}},
			}, nil); code != http.StatusCreated {
				t.Fatalf("contact: %d", code)
			}
			if code := e.api(&c.Alisa, "POST", "/api/company-notes/", map[string]any{"company": co.ID, "text": fmt.Sprintf("Звонок %d", i)}, nil); code != http.StatusCreated {
				t.Fatalf("note: %d", code)
			}
			if code := e.api(&c.Alisa, "POST", "/api/tasks/", map[string]any{"company": co.ID, "title": fmt.Sprintf("Перезвонить %d", i),
				"due_at": fmt.Sprintf("2030-01-%02dT10:00:00+03:00", i+1)}, nil); code != http.StatusCreated {
				t.Fatalf("task: %d", code)
			}
		}
		for i := range 4 {
			if code := e.api(&c.Alisa, "POST", "/api/companies/", map[string]any{
				"name": fmt.Sprintf("Ромашка-%d", i), "spheres": spheres[:1],
				"phones": []map[string]string{{"value": fmt.Sprintf("+7 495 000-00-%02d", i)}}, "emails": []string{fmt.Sprintf("r%d@romashka.ru", i)},
			}, nil); code != http.StatusCreated {
				t.Fatalf("company %d: %d", i, code)
			}
		}
		card := "/companies/" + strconv.FormatInt(co.ID, 10) + "/"
		// The server's first list reads the dictionaries; the pages after
		// it find them in memory.
		if rec, _ := e.serveCounting(httptest.NewRequest("GET", "/companies/", nil), e.session(c.Admin)); rec.Code != http.StatusOK {
			t.Fatalf("first list: %d", rec.Code)
		}
		for _, who := range []dbtest.Member{c.Admin, c.Alisa} {
			session := e.session(who)
			if cached { // the session known to the process
				e.me(session)
			}
			for _, path := range []string{card, "/companies/", "/companies/?search=" + "ромаш", "/companies/?search=7707083893"} {
				t.Run(who.Username+" "+path, func(t *testing.T) {
					rec, n, trips := e.serveCountingTrips(httptest.NewRequest("GET", path, nil), session)
					if rec.Code != http.StatusOK {
						t.Fatalf("status %d: %.300s", rec.Code, rec.Body.String())
					}
					limit := int64(maxListStatements)
					nameSearch := strings.Contains(path, "search=ромаш")
					switch {
					case cached && path == card:
						limit = maxCachedCardStatements
					case cached && nameSearch:
						limit = maxCachedNameSearchStatements
					case cached && strings.Contains(path, "search="):
						limit = maxCachedSearchStatements
					case cached:
						limit = maxCachedListStatements
					case path == card:
						limit = maxCardStatements
					case nameSearch:
						limit = maxNameSearchStatements
					}
					if n > limit {
						t.Errorf("%d SQL statements, want at most %d", n, limit)
					}
					if e.db.Dialect == database.Postgres {
						if path == card && trips > maxCardRoundTripsPostgres {
							t.Errorf("%d round trips to PostgreSQL, want at most %d", trips, maxCardRoundTripsPostgres)
						}
						if (path == "/companies/" || nameSearch) && trips > maxListRoundTripsPostgres {
							t.Errorf("%d round trips to PostgreSQL, want at most %d", trips, maxListRoundTripsPostgres)
						}
					}
					if path == card {
						for _, want := range []string{"Иванов0", "Иванов4", "i0@romashka.ru", "j4@romashka.ru", "Звонок 0", "Звонок 4", "a@romashka.ru", "Сфера 2", "Перезвонить 0", "Перезвонить 4"} {
							if !strings.Contains(rec.Body.String(), want) {
								t.Errorf("the card does not show %q", want)
							}
						}
					}
					t.Logf("%d SQL statements, %d round trips", n, trips)
				})
			}
		}
		// Read together, the sections are still each limited to what the
		// viewer sees, and none of them shows for a company out of sight.
		t.Run("a card the viewer may not see is 404 and shows no section", func(t *testing.T) {
			rec, _, _ := e.serveCountingTrips(httptest.NewRequest("GET", card, nil), e.session(c.Vera))
			if rec.Code != http.StatusNotFound {
				t.Fatalf("status %d, want 404", rec.Code)
			}
			for _, leak := range []string{"Ромашка", "Иванов0", "i0@romashka.ru", "Звонок 0", "Перезвонить 0", "a@romashka.ru"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("the 404 page shows %q", leak)
				}
			}
		})
	})
}

// TestOneFieldPatchSendsFewStatements counts the SQL statements of the
// load test's PATCH (a new address with the right version) and of a new
// status: references that did not change are not checked again, the
// duplicate check runs only when a field it compares changed.
func TestOneFieldPatchSendsFewStatements(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		var co struct {
			ID      int64 `json:"id"`
			Version int   `json:"version"`
		}
		if code := e.api(&c.Alisa, "POST", "/api/companies/", map[string]any{
			"name": "Ромашка", "inn": "7707083893", "address": "г. Москва, ул. Ленина, д. 1",
			"phones": []map[string]string{{"value": "+7 495 123-45-67"}}, "emails": []string{"a@romashka.ru"},
		}, &co); code != http.StatusCreated {
			t.Fatalf("company: %d", code)
		}
		var st struct {
			ID int64 `json:"id"`
		}
		if code := e.api(&c.Admin, "POST", "/api/company-statuses/", map[string]any{"name": "Переговоры"}, &st); code != http.StatusCreated {
			t.Fatalf("status: %d", code)
		}
		path := "/api/companies/" + strconv.FormatInt(co.ID, 10) + "/"
		session := e.session(c.Alisa)
		// The server holds the dictionaries, as it does between their
		// changes: the company's names then cost the PATCH no statement.
		if rec, _ := e.serveCounting(httptest.NewRequest("GET", "/companies/", nil), session); rec.Code != http.StatusOK {
			t.Fatalf("list: %d", rec.Code)
		}
		for _, tc := range []struct {
			name string
			body map[string]any
			max  int64
		}{
			{"a new address is checked for duplicates, without the ИНН lock", map[string]any{"address": "г. Москва, ул. Нагрузочная, д. 7"}, maxPatchStatements},
			{"a new status is checked, the other references and duplicates are not", map[string]any{"status": st.ID}, maxPatchStatements - 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.body["version"] = co.Version
				b, err := json.Marshal(tc.body)
				if err != nil {
					t.Fatal(err)
				}
				req := httptest.NewRequest("PATCH", path, bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				rec, n := e.serveCounting(req, session)
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %.300s", rec.Code, rec.Body.String())
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &co); err != nil {
					t.Fatal(err)
				}
				limit := tc.max
				if e.db.Dialect == database.SQLite {
					limit += sqliteAuditStatements
				}
				if n > limit {
					t.Errorf("%d SQL statements, want at most %d", n, limit)
				}
				t.Logf("%d SQL statements", n)
			})
		}
	})
}

// maxPatchStatements is the most SQL statements a PATCH of a company's
// address may send on PostgreSQL (issue 6; 17, then 13 before): the
// session; the company; the duplicate check — the exact signals with the
// similar names' candidates, then the candidates with their phones,
// e-mails and visibility (duplicate.Engine.Find); the UPDATE; the audit
// entry (the lane's head, then the entry with the new head). The answer
// is the company read and what was written, not read back. A new status
// skips the duplicate check's two and adds its own check (which reads
// the status's name for the answer).
const maxPatchStatements = 7

// sqliteAuditStatements is what an audit entry costs SQLite more: it
// has no data-modifying WITH, so the entry and the lane's new head are
// two statements (audit.appendEntry).
const sqliteAuditStatements = 1

// serveCounting serves req signed in with session and counts the SQL
// statements it sent.
func (e *testEnv) serveCounting(req *http.Request, session string) (*httptest.ResponseRecorder, int64) {
	rec, n, _ := e.serveCountingTrips(req, session)
	return rec, n
}

// serveCountingTrips is serveCounting that also counts the round trips
// those statements took (database.DB.RoundTrips).
func (e *testEnv) serveCountingTrips(req *http.Request, session string) (*httptest.ResponseRecorder, int64, int64) {
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	rec := httptest.NewRecorder()
	before, trips := e.db.Statements(), e.db.RoundTrips()
	e.srv.ServeHTTP(rec, req)
	return rec, e.db.Statements() - before, e.db.RoundTrips() - trips
}
