package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// testEnv is a real server on a real database with the fixed cast.
type testEnv struct {
	t    *testing.T
	db   *database.DB
	srv  *Server
	cast dbtest.Cast
}

// newTestEnv builds a Server on db with the cast inserted.
func newTestEnv(t *testing.T, db *database.DB) *testEnv {
	t.Helper()
	cfg := config.Config{
		SecretKey:       strings.Repeat("k", 32),
		TimeZone:        "Europe/Moscow",
		Location:        time.UTC,
		SessionTTL:      time.Hour,
		AccessTokenTTL:  15 * time.Minute,
		RefreshTokenTTL: time.Hour,
		LogFormat:       "text",
	}
	loc, err := time.LoadLocation("Europe/Moscow")
	if err == nil {
		cfg.Location = loc
	}
	log := slog.New(slog.DiscardHandler)
	return &testEnv{t: t, db: db, srv: New(cfg, log, db), cast: dbtest.NewCast(t, db)}
}

// session returns a session cookie value for the cast member.
func (e *testEnv) session(m dbtest.Member) string {
	e.t.Helper()
	token, err := e.srv.users.CreateSession(context.Background(), m.ID, time.Hour, "127.0.0.1", "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return token
}

// do sends a request as the cast member (nil: anonymous) with a session
// cookie. A body that is a string is sent as a form, anything else as JSON.
// Page requests (not /api/) get HTML unless the test asks for JSON.
func (e *testEnv) do(m *dbtest.Member, method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	var raw []byte
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		raw, ct = []byte(b), "application/x-www-form-urlencoded"
		rd = strings.NewReader(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd, ct = strings.NewReader(string(raw)), "application/json"
	}
	req := httptest.NewRequest(method, path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if m != nil {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(*m)})
	}
	header := req.Header.Clone()
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	// Every exchange with the JSON API is checked against its OpenAPI
	// document (openapi_test.go).
	for _, p := range checkExchange(method, path, header, raw, rec) {
		e.t.Errorf("OpenAPI: %s", p)
	}
	return rec
}

// api is do for the JSON API, decoding the answer into out when non-nil.
func (e *testEnv) api(m *dbtest.Member, method, path string, body any, out any) int {
	e.t.Helper()
	rec := e.do(m, method, path, body)
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON (%d): %s", method, path, rec.Code, rec.Body.String())
		}
	}
	return rec.Code
}

// eachEnv runs fn on every dialect with a fresh test environment, the
// dialects side by side: each subtest has its own database and server,
// so SQLite's work in this process overlaps PostgreSQL's waits on its
// server (and a second core). fn runs in parallel subtests: it must not
// call t.Setenv or change package state, and the test must not use what
// fn does after eachEnv returns (the subtests run after the test's own
// function has returned). go test -parallel 1 runs them one after the
// other.
func eachEnv(t *testing.T, fn func(t *testing.T, e *testEnv)) {
	t.Helper()
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, newTestEnv(t, dbtest.New(t, d)))
		})
	}
}

func TestAnonymousAPIRequestsAreRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		var body map[string]any
		if code := e.api(nil, "GET", "/api/companies/", nil, &body); code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", code)
		}
		if body["code"] != "not_authenticated" {
			t.Fatalf("body %v, want code not_authenticated", body)
		}
	})
}

func TestCrossSiteFormPostsAreRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		req := httptest.NewRequest("POST", "/companies/", strings.NewReader("name=Чужая"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(e.cast.Admin)})
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("cross-site POST answered %d, want 403", rec.Code)
		}
		var n int
		if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM companies`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("a company was written (%d, %v)", n, err)
		}
	})
}

func TestAPIPathsWithoutTrailingSlashAreRedirected(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		rec := e.do(&e.cast.Admin, "GET", "/api/companies?search=x", nil)
		if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "/api/companies/?search=x" {
			t.Fatalf("status %d, location %q", rec.Code, rec.Header().Get("Location"))
		}
	})
}
