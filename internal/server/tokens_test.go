package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// bearer sends a JSON request with an Authorization header (no cookie).
func (e *testEnv) bearer(token, method, path, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func decodeBody[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %d is not JSON: %s", rec.Code, rec.Body.String())
	}
	return v
}

type tokenPair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

func TestTokenAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		login := `{"username": "Gleb", "password": "` + dbtest.CastPassword + `"}`
		rec := e.bearer("", "POST", "/api/token/", login)
		if rec.Code != http.StatusOK {
			t.Fatalf("token: %d %s", rec.Code, rec.Body)
		}
		pair := decodeBody[tokenPair](t, rec)
		if pair.Access == "" || pair.Refresh == "" {
			t.Fatalf("pair %+v", pair)
		}

		t.Run("the access token opens /api/me/", func(t *testing.T) {
			rec := e.bearer(pair.Access, "GET", "/api/me/", "")
			me := decodeBody[map[string]any](t, rec)
			if rec.Code != http.StatusOK || me["username"] != "gleb" || me["full_name"] != "Глеб Громов" {
				t.Fatalf("%d %v", rec.Code, me)
			}
		})
		t.Run("a bad token is 401 token_not_valid", func(t *testing.T) {
			rec := e.bearer("nonsense", "GET", "/api/me/", "")
			body := decodeBody[detail](t, rec)
			if rec.Code != http.StatusUnauthorized || body.Code != "token_not_valid" {
				t.Fatalf("%d %+v", rec.Code, body)
			}
		})
		var next tokenPair
		t.Run("refresh rotates the pair", func(t *testing.T) {
			rec := e.bearer("", "POST", "/api/token/refresh/", `{"refresh": "`+pair.Refresh+`"}`)
			if rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			next = decodeBody[tokenPair](t, rec)
			if next.Refresh == pair.Refresh {
				t.Fatal("same refresh token")
			}
		})
		t.Run("a used refresh token is 401", func(t *testing.T) {
			rec := e.bearer("", "POST", "/api/token/refresh/", `{"refresh": "`+pair.Refresh+`"}`)
			if body := decodeBody[detail](t, rec); rec.Code != http.StatusUnauthorized || body.Code != "token_not_valid" {
				t.Fatalf("%d %+v", rec.Code, body)
			}
		})
		t.Run("blacklist answers 200 {} and kills the token", func(t *testing.T) {
			fresh := decodeBody[tokenPair](t, e.bearer("", "POST", "/api/token/", login))
			rec := e.bearer("", "POST", "/api/token/blacklist/", `{"refresh": "`+fresh.Refresh+`"}`)
			if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "{}" {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if rec := e.bearer("", "POST", "/api/token/refresh/", `{"refresh": "`+fresh.Refresh+`"}`); rec.Code != http.StatusUnauthorized {
				t.Fatalf("refresh after blacklist: %d", rec.Code)
			}
		})
		t.Run("an expired access token is 401", func(t *testing.T) {
			e.srv.tokens.SetTTL(time.Millisecond, time.Hour)
			defer e.srv.tokens.SetTTL(15*time.Minute, time.Hour)
			short := decodeBody[tokenPair](t, e.bearer("", "POST", "/api/token/", login))
			time.Sleep(1100 * time.Millisecond) // JWT times are whole seconds
			if rec := e.bearer(short.Access, "GET", "/api/me/", ""); rec.Code != http.StatusUnauthorized {
				t.Fatalf("%d", rec.Code)
			}
		})
		t.Run("a missing refresh is a field error", func(t *testing.T) {
			rec := e.bearer("", "POST", "/api/token/refresh/", `{}`)
			body := decodeBody[map[string][]string](t, rec)
			if rec.Code != http.StatusBadRequest || len(body["refresh"]) == 0 {
				t.Fatalf("%d %v", rec.Code, body)
			}
		})
	})
}

func TestTokenAPIRefusesBadCredentials(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		off := false
		if _, err := e.srv.users.Update(t.Context(), e.cast.Admin.Scope, e.cast.Vera.ID, inputActive(off)); err != nil {
			t.Fatal(err)
		}
		cases := []struct{ name, body string }{
			{"a wrong password", `{"username": "alisa", "password": "wrong"}`},
			{"an unknown login", `{"username": "nobody", "password": "wrong"}`},
			{"an inactive user", `{"username": "vera", "password": "` + dbtest.CastPassword + `"}`},
		}
		for _, c := range cases {
			t.Run(c.name+" is 401", func(t *testing.T) {
				rec := e.bearer("", "POST", "/api/token/", c.body)
				body := decodeBody[detail](t, rec)
				if rec.Code != http.StatusUnauthorized || body.Detail == "" || body.Code == "" {
					t.Fatalf("%d %+v", rec.Code, body)
				}
			})
		}
		t.Run("every attempt is audited", func(t *testing.T) {
			var denied int
			if err := e.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'denied'`).Scan(&denied); err != nil || denied != 3 {
				t.Fatalf("denied sign-ins audited: %d, %v", denied, err)
			}
		})
	})
}

func TestSignInIsThrottled(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		bad := `{"username": "boris", "password": "wrong"}`
		for i := range 5 {
			if rec := e.bearer("", "POST", "/api/token/", bad); rec.Code != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i+1, rec.Code)
			}
		}
		rec := e.bearer("", "POST", "/api/token/", `{"username": "boris", "password": "`+dbtest.CastPassword+`"}`)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("sixth attempt: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
		t.Run("the sign-in page says so too", func(t *testing.T) {
			rec := e.do(nil, "POST", "/login", "username=boris&password=x")
			if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "Слишком много неудачных попыток входа") ||
				rec.Header().Get("Retry-After") == "" {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
		t.Run("after the window the right password works", func(t *testing.T) {
			e.srv.throttle.Now = func() time.Time { return time.Now().Add(16 * time.Minute) }
			rec := e.bearer("", "POST", "/api/token/", `{"username": "boris", "password": "`+dbtest.CastPassword+`"}`)
			if rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	})
}

// Fifty people of one office behind one NAT address mistype their
// passwords; then a colleague signs in from the same address. The
// address is slowed down, not shut out.
func TestSignInFromABusyOfficeIsSlowedNotRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		var waited []time.Duration
		e.srv.throttle.Sleep = func(_ context.Context, d time.Duration) error {
			waited = append(waited, d)
			return nil
		}
		// A few failures through the endpoint, the rest counted directly:
		// each real attempt costs a password hash.
		for _, login := range []string{"alisa", "vera", "nobody"} {
			if rec := e.bearer("", "POST", "/api/token/", `{"username": "`+login+`", "password": "wrong"}`); rec.Code != http.StatusUnauthorized {
				t.Fatalf("%s: %d %s", login, rec.Code, rec.Body)
			}
		}
		const office = "192.0.2.1" // httptest's client address
		for i := range auth.DefaultIPFailures {
			if _, err := e.srv.throttle.Fail(t.Context(), fmt.Sprintf("user%d", i), office); err != nil {
				t.Fatal(err)
			}
		}
		waited = nil
		rec := e.bearer("", "POST", "/api/token/", `{"username": "admin", "password": "`+dbtest.CastPassword+`"}`)
		if rec.Code != http.StatusOK {
			t.Fatalf("a colleague with the right password: %d %s", rec.Code, rec.Body)
		}
		if len(waited) != 1 || waited[0] <= 0 || waited[0] > auth.DefaultMaxDelay {
			t.Fatalf("waits %v, want one slow-down of at most %v", waited, auth.DefaultMaxDelay)
		}
		t.Run("the sign-in page lets them in too", func(t *testing.T) {
			rec := e.do(nil, "POST", "/login", "username=admin&password="+url.QueryEscape(dbtest.CastPassword))
			if rec.Code != http.StatusSeeOther && rec.Code != http.StatusFound {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	})
}

func inputActive(active bool) auth.UserInput { return auth.UserInput{IsActive: &active} }
