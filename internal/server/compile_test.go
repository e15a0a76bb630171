package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"modernc.org/sqlite"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestHotPathsCompileNothingTwiceOnSQLite runs the load test's requests
// (the company card with its call history and tasks, list pages, the name
// search, the duplicate check while typing and the PATCH of an address,
// which checks for duplicates) once to warm the statement cache, then
// again with other arguments — another company, a name of another length,
// other numbers of ids, phones and e-mails — and asserts that SQLite
// compiled nothing the second time. SQLite calls the authorizer whenever
// it compiles a statement, also when it recompiles one on its own: a
// statement whose plan depended on a bound value (a parameter compared
// with a partial index's constant) is recompiled on every new binding,
// and a text that varies with the data (one placeholder per id) is
// compiled afresh for every length (issue 6: the compiler took 13 % of
// the server's CPU under load).
func TestHotPathsCompileNothingTwiceOnSQLite(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	// One connection: every statement of the second round meets the
	// statements the first round left in its cache.
	db.SetMaxOpenConns(1)
	e := newTestEnv(t, db)
	c := e.cast
	e.pairPhone(c.Alisa) // the card asks whether the viewer has an active phone

	type company struct {
		ID      int64 `json:"id"`
		Version int   `json:"version"`
	}
	add := func(name string, phones, emails, tasks int) company {
		t.Helper()
		var ph []map[string]string
		for i := range phones {
			ph = append(ph, map[string]string{"value": fmt.Sprintf("+7 495 %03d-%02d-%02d", len(name), phones, i)})
		}
		var em []string
		for i := range emails {
			em = append(em, fmt.Sprintf("m%d@c%d.ru", i, len(name)))
		}
		var co company
		if code := e.api(&c.Alisa, "POST", "/api/companies/", map[string]any{"name": name, "phones": ph, "emails": em,
			"address": "г. Москва, ул. Ленина, д. 1", "confirm_duplicate": true}, &co); code != http.StatusCreated {
			t.Fatalf("company %q: %d", name, code)
		}
		for i := range tasks {
			if code := e.api(&c.Alisa, "POST", "/api/tasks/", map[string]any{"company": co.ID, "title": fmt.Sprintf("Перезвонить %d", i),
				"due_at": fmt.Sprintf("2030-01-%02dT10:00:00+03:00", i+1)}, nil); code != http.StatusCreated {
				t.Fatalf("task: %d", code)
			}
		}
		return co
	}
	// SQLite recompiles a statement when a bound integer it planned with
	// changes to or from 0 or 1 (a test "= 1" is taken to be less
	// selective): the companies and the users of the rounds have other ids.
	add("Одуванчик", 0, 0, 0)
	first := add("Ромашка", 3, 2, 2)
	second := add("Лютик северный торговый", 1, 3, 4)
	for i := range 5 {
		add(fmt.Sprintf("Ромашка Плюс %d", i), i%3, i%2, 0)
	}
	for i := range 3 {
		add(fmt.Sprintf("Лютик %d", i), 1, 1, 0)
	}

	// The planner's statistics, as crm serve gathers them at start.
	if _, err := db.RefreshStatistics(context.Background()); err != nil {
		t.Fatal(err)
	}
	alisa, boris, gleb, darya := e.session(c.Alisa), e.session(c.Boris), e.session(c.Gleb), e.session(c.Darya)
	card := func(co company) string { return "/companies/" + strconv.FormatInt(co.ID, 10) + "/" }
	dups := func(name string, phones, emails []string) string {
		q := url.Values{"name": {name}, "phone": phones, "email": emails}
		return "/api/companies/duplicates/?" + q.Encode()
	}
	// Registering an authorizer expires every prepared statement of the
	// connection: it is registered before the first round.
	compiled := watchCompiles(t, db)
	// round sends the load test's requests, with arguments of its own, and
	// calls after with each request once it is answered.
	round := func(co company, address, search, name string, phones, emails []string, after func(string)) {
		t.Helper()
		for _, session := range []string{alisa, boris, gleb, darya} {
			for _, path := range []string{card(co), "/companies/", "/companies/?search=" + url.QueryEscape(search),
				dups(name, phones, emails)} {
				if rec := e.serveSession("GET", path, "", session); rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %.300s", path, rec.Code, rec.Body.String())
				}
				after("GET " + path)
			}
		}
		body := fmt.Sprintf(`{"version": %d, "address": %q}`, co.Version, address)
		path := "/api/companies/" + strconv.FormatInt(co.ID, 10) + "/"
		if rec := e.serveSession("PATCH", path, body, alisa); rec.Code != http.StatusOK {
			t.Fatalf("PATCH: %d %.300s", rec.Code, rec.Body.String())
		}
		after("PATCH " + path)
	}
	round(first, "г. Москва, ул. Нагрузочная, д. 7", "ромаш", "Ромашка", []string{"+7 495 111-11-11"}, []string{"a@romashka.ru"},
		func(string) { compiled() })
	round(second, "г. Москва, ул. Нагрузочная, д. 8", "лютик", "Лютик северный",
		[]string{"+7 495 222-22-22", "+7 495 222-22-23"}, []string{"a@lutik.ru", "b@lutik.ru", "c@lutik.ru"},
		func(request string) {
			if n, what := compiled(); n > 0 {
				t.Errorf("%s: SQLite compiled again (%d authorizer calls): %s", request, n, what)
			}
		})
}

// serveSession sends a request with a session cookie; a body is JSON.
func (e *testEnv) serveSession(method, path, body, session string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// watchCompiles registers an authorizer on the only connection of db and
// returns a function that tells how many times SQLite called it since the
// last time it was asked, with what the compiled statements touched
// (action code, table and column or function).
func watchCompiles(t *testing.T, db *database.DB) func() (int, string) {
	t.Helper()
	var (
		mu   sync.Mutex
		n    int
		seen []string
	)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	err = conn.Raw(func(raw any) error {
		a, ok := database.DriverConn(raw).(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("%T has no authorizer", raw)
		}
		return a.RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
			mu.Lock()
			defer mu.Unlock()
			if action == sqlite.AuthTransaction {
				return sqlite.AuthorizerOK // the driver's BEGIN and COMMIT, not the stores' SQL
			}
			n++
			if w := fmt.Sprintf("%d %s %s", action, arg1, arg2); !slices.Contains(seen, w) {
				seen = append(seen, w)
			}
			return sqlite.AuthorizerOK
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() (int, string) {
		mu.Lock()
		defer mu.Unlock()
		out := strings.Join(seen, ", ")
		m := n
		n, seen = 0, nil
		return m, out
	}
}
