package server

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/web/static"
)

// get sends GET path as m (nil: anonymous) with the given headers.
func (e *testEnv) get(m *dbtest.Member, path string, header map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if m != nil {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(*m)})
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func TestAnswersCarryCacheAndSecurityHeaders(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		t.Run("pages and JSON are not stored", func(t *testing.T) {
			for _, path := range []string{"/companies/", "/api/companies/", "/admin/users/", "/login"} {
				rec := e.get(&e.cast.Admin, path, nil)
				if got := rec.Header().Get("Cache-Control"); got != "no-store" {
					t.Errorf("%s: Cache-Control %q, want no-store", path, got)
				}
			}
		})
		t.Run("hashed static assets keep their year-long lifetime", func(t *testing.T) {
			rec := e.get(nil, static.Path("app.css"), nil)
			if got := rec.Header().Get("Cache-Control"); rec.Code != http.StatusOK || !strings.Contains(got, "max-age=31536000") {
				t.Fatalf("status %d, Cache-Control %q", rec.Code, got)
			}
		})
		t.Run("every answer denies camera, microphone, geolocation, payment and usb", func(t *testing.T) {
			for _, path := range []string{"/companies/", "/api/companies/", "/login", static.Path("app.js")} {
				got := e.get(&e.cast.Admin, path, nil).Header().Get("Permissions-Policy")
				for _, feature := range []string{"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"} {
					if !strings.Contains(got, feature) {
						t.Errorf("%s: Permissions-Policy %q lacks %s", path, got, feature)
					}
				}
			}
		})
		t.Run("HSTS is sent over TLS only", func(t *testing.T) {
			if got := e.get(nil, "/login", nil).Header().Get("Strict-Transport-Security"); got != "" {
				t.Errorf("plain HTTP got HSTS %q", got)
			}
			if got := e.get(nil, "https://crm.example/login", nil).Header().Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
				t.Errorf("direct TLS: HSTS %q", got)
			}
			proxied := map[string]string{"X-Forwarded-Proto": "https"}
			if got := e.get(nil, "/login", proxied).Header().Get("Strict-Transport-Security"); got != "" {
				t.Errorf("X-Forwarded-Proto from an untrusted client got HSTS %q", got)
			}
			e.srv.cfg.TrustProxy = true
			defer func() { e.srv.cfg.TrustProxy = false }()
			if got := e.get(nil, "/login", proxied).Header().Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
				t.Errorf("behind a trusted TLS proxy: HSTS %q", got)
			}
		})
		t.Run("the favicon is served", func(t *testing.T) {
			rec := e.get(nil, "/favicon.ico", nil)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(rec.Body.String(), "<svg") {
				t.Fatalf("status %d, type %q, body %.40q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			}
			if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
				t.Fatalf("Cache-Control %q, want a lifetime", cc)
			}
		})
		t.Run("text answers are compressed for clients that accept gzip", func(t *testing.T) { textIsCompressed(t, e) })
	})
}

func gunzip(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// textIsCompressed checks gzip on a company list long enough to be worth it.
func textIsCompressed(t *testing.T, e *testEnv) {
	t.Helper()
	for i := range 30 {
		e.seedCompany("ООО «Ромашка "+strings.Repeat("я", i)+"»", e.cast.BranchA, e.cast.Admin.ID)
	}
	gz := map[string]string{"Accept-Encoding": "gzip, deflate, br"}
	for _, tc := range []struct{ path, want string }{
		{"/companies/", "Ромашка"},
		{"/api/companies/", `"results"`},
	} {
		plain := e.get(&e.cast.Admin, tc.path, nil)
		rec := e.get(&e.cast.Admin, tc.path, gz)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: status %d, Content-Encoding %q", tc.path, rec.Code, rec.Header().Get("Content-Encoding"))
		}
		if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") || !strings.Contains(plain.Header().Get("Vary"), "Accept-Encoding") {
			t.Fatalf("%s: Vary %q / %q", tc.path, rec.Header().Get("Vary"), plain.Header().Get("Vary"))
		}
		if body := gunzip(t, rec); !strings.Contains(body, tc.want) {
			t.Fatalf("%s: decompressed body lacks %q", tc.path, tc.want)
		}
		if plain.Header().Get("Content-Encoding") != "" || !strings.Contains(plain.Body.String(), tc.want) {
			t.Fatalf("%s: a client without gzip got %q", tc.path, plain.Header().Get("Content-Encoding"))
		}
		if rec.Body.Len() >= plain.Body.Len()/3 {
			t.Errorf("%s: %d bytes compressed from %d", tc.path, rec.Body.Len(), plain.Body.Len())
		}
	}
	t.Run("gzip refused with q=0 is not used", func(t *testing.T) {
		rec := e.get(&e.cast.Admin, "/companies/", map[string]string{"Accept-Encoding": "gzip;q=0"})
		if rec.Header().Get("Content-Encoding") != "" {
			t.Fatalf("Content-Encoding %q", rec.Header().Get("Content-Encoding"))
		}
	})
}

// streamed runs h behind compress on a real listener and returns the
// answer's headers and a reader of its (decompressed) body, while h may
// still be running.
func streamed(t *testing.T, h http.HandlerFunc) (http.Header, *bufio.Reader) {
	t.Helper()
	ts := httptest.NewServer(compress(h))
	t.Cleanup(ts.Close)
	req, err := http.NewRequestWithContext(t.Context(), "GET", ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the transport then leaves the body compressed
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.Header.Get("Content-Encoding") != "gzip" {
		return resp.Header, bufio.NewReader(resp.Body)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header, bufio.NewReader(zr)
}

// TestPagesAreSentWhole checks that a page is not flushed while it is
// rendered: templ flushes the writer it is given when a page ends, which
// cost a sync flush of the compressor and an extra chunk on the wire a
// page. net/http sends the whole answer when the handler returns.
func TestPagesAreSentWhole(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		id := e.seedCompany("ООО «Ромашка»", e.cast.BranchA, e.cast.Admin.ID)
		for _, path := range []string{"/companies/", "/companies/" + strconv.FormatInt(id, 10) + "/", "/desk/", "/desk/?fragment=body", "/no-such-page/", "/api/docs/"} {
			for _, enc := range []string{"", "gzip"} {
				t.Run(path+" "+enc, func(t *testing.T) {
					rec := e.get(&e.cast.Admin, path, map[string]string{"Accept-Encoding": enc})
					if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
						t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
					}
					if rec.Flushed {
						t.Error("the page was flushed before its handler returned")
					}
					body := rec.Body.String()
					if enc == "gzip" {
						body = gunzip(t, rec)
					}
					if !strings.HasSuffix(strings.TrimSpace(body), "</html>") && !strings.Contains(path, "fragment") {
						t.Errorf("the page ends with %q", body[max(0, len(body)-40):])
					}
				})
			}
		}
	})
}

func TestCompressionKeepsStreamsStreaming(t *testing.T) {
	for _, tc := range []struct {
		name, contentType string
		compressed        bool
	}{
		{"a flushed JSON stream arrives compressed, part by part", "application/json", true},
		{"an event stream is never compressed", "text/event-stream", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			header, body := streamed(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				_, _ = io.WriteString(w, "first\n"+strings.Repeat(" ", 2000)+"\n")
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Error(err)
				}
				<-release // the rest comes only after the client read the first part
				_, _ = io.WriteString(w, "second\n")
			})
			if got := header.Get("Content-Encoding") == "gzip"; got != tc.compressed {
				t.Fatalf("compressed %v, want %v", got, tc.compressed)
			}
			line, err := body.ReadString('\n')
			if err != nil || line != "first\n" {
				t.Fatalf("first part %q, %v", line, err)
			}
		})
	}
}
