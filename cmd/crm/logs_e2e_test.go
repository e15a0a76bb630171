package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestLogsKeepSecretsOut runs the real binary through a realistic session
// — a failed and a good sign-in, a token and its refresh, a company with a
// phone, a search by that phone, the calendar feed, a password change —
// and reads the whole captured log (stdout and stderr) for every secret
// used: none may appear, and every request's line carries a request id.
// It also checks the operations endpoints of the running binary.
func TestLogsKeepSecretsOut(t *testing.T) {
	const (
		admin       = "director"
		password    = "Первый-пароль-2026"
		newPassword = "Второй-пароль-2027"
		wrong       = "Неверный-пароль-999"
		phone       = "+7 916 555-12-34"
	)
	t.Setenv("CRM_ADMIN_USERNAME", admin)
	t.Setenv("CRM_ADMIN_PASSWORD", password)
	t.Setenv("CRM_LOG_LEVEL", "debug")
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			inst := startCRM(t, dbtest.URL(t, d))
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			call := func(method, path, bearer, contentType string, body io.Reader, headers ...string) (int, []byte, http.Header) {
				t.Helper()
				req, err := http.NewRequestWithContext(context.Background(), method, inst.URL+path, body)
				if err != nil {
					t.Fatal(err)
				}
				if contentType != "" {
					req.Header.Set("Content-Type", contentType)
				}
				if bearer != "" {
					req.Header.Set("Authorization", "Bearer "+bearer)
				}
				for i := 0; i+1 < len(headers); i += 2 {
					req.Header.Set(headers[i], headers[i+1])
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = resp.Body.Close() }()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, b, resp.Header
			}
			jsonBody := func(v any) io.Reader {
				b, _ := json.Marshal(v)
				return bytes.NewReader(b)
			}
			var secrets []string

			// The browser's sign-in: a wrong password, then the right one.
			form := url.Values{"username": {admin}, "password": {wrong}}.Encode()
			if code, _, _ := call("POST", "/login", "", "application/x-www-form-urlencoded", strings.NewReader(form)); code != http.StatusBadRequest {
				t.Fatalf("wrong password: %d", code)
			}
			form = url.Values{"username": {admin}, "password": {password}}.Encode()
			code, _, h := call("POST", "/login", "", "application/x-www-form-urlencoded", strings.NewReader(form))
			if code != http.StatusSeeOther && code != http.StatusFound {
				t.Fatalf("sign-in: %d", code)
			}
			var session string
			for _, c := range (&http.Response{Header: h}).Cookies() {
				if c.Name == "crm_session" {
					session = c.Value
				}
			}
			if session == "" {
				t.Fatal("no session cookie")
			}
			if code, _, _ := call("GET", "/desk/", "", "", nil, "Cookie", "crm_session="+session); code != http.StatusOK {
				t.Fatalf("desk: %d", code)
			}

			// The API: a token pair, a company with a phone, a search by it.
			var pair struct{ Access, Refresh string }
			code, b, _ := call("POST", "/api/token/", "", "application/json", jsonBody(map[string]string{"username": admin, "password": password}))
			if code != http.StatusOK || json.Unmarshal(b, &pair) != nil || pair.Access == "" {
				t.Fatalf("token: %d %s", code, b)
			}
			code, b, _ = call("POST", "/api/companies/", pair.Access, "application/json", jsonBody(map[string]any{"name": "ООО Журнал", "phones": []string{phone}}))
			if code != http.StatusCreated {
				t.Fatalf("create company: %d %s", code, b)
			}
			for _, q := range []string{"89165551234", "+7 (916) 555-12-34"} {
				code, b, _ = call("GET", "/api/companies/?search="+url.QueryEscape(q), pair.Access, "", nil)
				if code != http.StatusOK || !strings.Contains(string(b), "ООО Журнал") {
					t.Fatalf("search %s: %d %s", q, code, b)
				}
			}
			// A mistyped token is refused; a refresh gives a new pair.
			if code, _, _ := call("GET", "/api/me/", pair.Access+"x", "", nil); code != http.StatusUnauthorized {
				t.Fatalf("a bad token: %d", code)
			}
			var fresh struct{ Access, Refresh string }
			code, b, _ = call("POST", "/api/token/refresh/", "", "application/json", jsonBody(map[string]string{"refresh": pair.Refresh}))
			if code != http.StatusOK || json.Unmarshal(b, &fresh) != nil {
				t.Fatalf("refresh: %d %s", code, b)
			}

			// The calendar feed: its URL is a credential.
			var feed struct{ URL string }
			code, b, _ = call("POST", "/api/me/calendar-feed/", fresh.Access, "", nil)
			if code != http.StatusCreated || json.Unmarshal(b, &feed) != nil || !strings.Contains(feed.URL, "/calendar/") {
				t.Fatalf("feed: %d %s", code, b)
			}
			feedPath := feed.URL[strings.Index(feed.URL, "/calendar/"):]
			if code, _, _ := call("GET", feedPath, "", "", nil); code != http.StatusOK {
				t.Fatalf("feed GET: %d", code)
			}
			if code, _, _ := call("GET", "/calendar/not-a-real-token-123456.ics", "", "", nil); code != http.StatusNotFound {
				t.Fatalf("unknown feed: %d", code)
			}

			// The password change: a wrong current password, then the change.
			change := func(current string) int {
				code, _, _ := call("PATCH", "/api/me/", fresh.Access, "application/json", jsonBody(map[string]string{"password": newPassword, "current_password": current}))
				return code
			}
			if code := change(wrong); code != http.StatusBadRequest {
				t.Fatalf("a wrong current password: %d", code)
			}
			if code := change(password); code != http.StatusOK {
				t.Fatalf("password change: %d", code)
			}

			// The operations endpoints of the binary itself.
			if code, _, _ := call("GET", "/readyz", "", "", nil); code != http.StatusOK {
				t.Fatalf("readyz: %d", code)
			}
			code, b, h = call("GET", "/metrics", "", "", nil)
			if code != http.StatusOK || !strings.Contains(string(b), `crm_http_requests_total{method="POST",route="/api/companies",status="201"} 1`) {
				t.Fatalf("metrics: %d %s", code, b)
			}
			if code, _, _ := call("GET", "/metrics", "", "", nil, "X-Forwarded-For", "203.0.113.9"); code != http.StatusNotFound {
				t.Fatalf("metrics through a proxy: %d", code)
			}
			if h.Get("X-Request-ID") == "" {
				t.Fatal("no X-Request-ID in the answer")
			}
			if _, _, h := call("GET", "/healthz", "", "", nil, "X-Request-ID", "probe-42"); h.Get("X-Request-ID") != "probe-42" {
				t.Fatalf("the incoming request id was not kept: %q", h.Get("X-Request-ID"))
			}

			secrets = append(secrets, password, newPassword, wrong, session, pair.Access, pair.Refresh, fresh.Access, fresh.Refresh,
				strings.TrimSuffix(strings.TrimPrefix(feedPath, "/calendar/"), ".ics"),
				"9165551234", "555-12-34", "555 12 34", "5551234", "Bearer")
			log := inst.log.String()
			for _, s := range secrets {
				if s != "" && strings.Contains(log, s) {
					t.Errorf("the log shows the secret %q", s)
				}
			}
			// Tokens are JWTs: no part of one either.
			for _, tok := range []string{pair.Access, pair.Refresh, fresh.Access, fresh.Refresh} {
				for _, part := range strings.Split(tok, ".") {
					if len(part) > 8 && strings.Contains(log, part) {
						t.Errorf("the log shows a part of a token: %q", part)
					}
				}
			}
			if os.Getenv("CRM_SHOW_LOG") != "" {
				t.Log(log)
			}
			requestLine := regexp.MustCompile(`msg=request `)
			idOf := regexp.MustCompile(`request_id=[0-9a-z:._-]+`)
			lines := 0
			for _, line := range strings.Split(log, "\n") {
				if requestLine.MatchString(line) {
					lines++
					if !idOf.MatchString(line) {
						t.Errorf("an access-log line without a request id: %s", line)
					}
				}
			}
			if lines < 15 {
				t.Errorf("only %d access-log lines", lines)
			}
			if t.Failed() {
				t.Log(log)
			}
		})
	}
}
