package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// chunked hides a reader's length, so the request goes without
// Content-Length and the limit must be met while reading.
type chunked struct{ io.Reader }

func TestBodiesOverTheirRouteLimitAreRefusedWith413(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		e.srv.cfg.ImportMaxBytes = 2 << 20
		e.srv.jobs = &recordingJobs{}
		jsonOver := `{"name": "` + strings.Repeat("я", maxBody/2) + `"}`
		cases := []struct {
			name, method, path, ct string
			body                   string
			declared               bool // Content-Length sent
			limit                  string
		}{
			{"a JSON body over 1 MB, declared", "POST", "/api/companies/", "application/json", jsonOver, true, "1 МБ"},
			{"a JSON body over 1 MB, streamed", "PATCH", "/api/companies/1/", "application/json", jsonOver, false, "1 МБ"},
			{"a form over 1 MB", "POST", "/companies/", "application/x-www-form-urlencoded", "name=" + strings.Repeat("я", maxBody/2), true, "1 МБ"},
			{"credentials over 64 KB", "POST", "/api/token/", "application/json", `{"username": "` + strings.Repeat("a", credentialsBodyLimit) + `"}`, true, "64 КБ"},
			{"a sign-in form over 64 KB", "POST", "/login", "application/x-www-form-urlencoded", "username=" + strings.Repeat("a", credentialsBodyLimit), false, "64 КБ"},
		}
		for _, c := range cases {
			t.Run(c.name+" is refused", func(t *testing.T) {
				var rd io.Reader = strings.NewReader(c.body)
				if !c.declared {
					rd = chunked{rd}
				}
				req := httptest.NewRequest(c.method, c.path, rd)
				req.Header.Set("Content-Type", c.ct)
				if !strings.HasPrefix(c.path, "/login") {
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(e.cast.Admin)})
				}
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("status %d, want 413: %.300s", rec.Code, rec.Body)
				}
				if !strings.Contains(rec.Body.String(), "Слишком большой запрос") || !strings.Contains(rec.Body.String(), c.limit) {
					t.Fatalf("the answer does not say the limit %s: %.300s", c.limit, rec.Body)
				}
				if strings.HasPrefix(c.path, "/api/") {
					var body detail
					if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Detail == "" {
						t.Fatalf("not the contract's {\"detail\"}: %s", rec.Body)
					}
				} else if !strings.Contains(rec.Header().Get("Content-Type"), "text/html") {
					t.Fatalf("a form gets a page, got %q", rec.Header().Get("Content-Type"))
				}
			})
		}
		t.Run("a body under the limit is served", func(t *testing.T) {
			if code := e.api(&e.cast.Admin, "POST", "/api/companies/", map[string]any{"name": strings.Repeat("я", 100)}, nil); code != http.StatusCreated {
				t.Fatalf("status %d", code)
			}
		})
		t.Run("an upload is bounded by CRM_IMPORT_MAX_MB, not by 1 MB", func(t *testing.T) {
			if got := e.srv.bodyLimit(httptest.NewRequest("POST", "/api/imports/", nil)); got != 3<<20 {
				t.Fatalf("upload limit %d", got)
			}
			big := bytes.Repeat([]byte("ID;Тип;Наименование\r\n1;компания;ООО Ромашка\r\n"), 60000) // ~3 MB
			rec := e.upload(&e.cast.Admin, "/api/imports/", "amo.csv", big, nil, true)
			if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "2 МБ") {
				t.Fatalf("%d %.300s", rec.Code, rec.Body)
			}
		})
	})
}

func TestHugeHeadersAndURLsAreRefusedByTheHTTPServer(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: e.srv, ReadHeaderTimeout: ReadHeaderTimeout, MaxHeaderBytes: MaxHeaderBytes}
		go func() { _ = hs.Serve(ln) }()
		t.Cleanup(func() { _ = hs.Close() })
		client := &http.Client{Timeout: 10 * time.Second}
		base := "http://" + ln.Addr().String()
		for name, mod := range map[string]func(*http.Request){
			"a 200 KB URL":    func(r *http.Request) { r.URL.RawQuery = "search=" + strings.Repeat("a", 200<<10) },
			"a 200 KB header": func(r *http.Request) { r.Header.Set("X-Junk", strings.Repeat("a", 200<<10)) },
		} {
			t.Run(name+" is refused", func(t *testing.T) {
				req, err := http.NewRequestWithContext(t.Context(), "GET", base+"/api/companies/", nil)
				if err != nil {
					t.Fatal(err)
				}
				mod(req)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = resp.Body.Close() }()
				if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
					t.Fatalf("status %d, want 431", resp.StatusCode)
				}
			})
		}
	})
}
