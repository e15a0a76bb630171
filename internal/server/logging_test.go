package server

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// lockedBuffer is a log sink safe for concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRequestID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newTestEnv(t, db)
		var out lockedBuffer
		e.srv.Close()
		e.srv = New(e.srv.cfg, slog.New(slog.NewJSONHandler(&out, nil)), db)
		get := func(id string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", "/api/companies/", nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(e.cast.Admin)})
			if id != "" {
				req.Header.Set(requestIDHeader, id)
			}
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			return rec
		}
		generated := get("").Header().Get(requestIDHeader)
		if len(generated) != 16 {
			t.Fatalf("generated id %q", generated)
		}
		if other := get("").Header().Get(requestIDHeader); other == generated {
			t.Fatal("two requests got the same id")
		}
		if got := get("lb-2f6c.91:abc_D").Header().Get(requestIDHeader); got != "lb-2f6c.91:abc_D" {
			t.Fatalf("a sane incoming id was replaced by %q", got)
		}
		for _, bad := range []string{"has space", "new\nline", strings.Repeat("a", 65), `"quoted"`, "-leading"} {
			if got := get(bad).Header().Get(requestIDHeader); got == bad || len(got) != 16 {
				t.Errorf("incoming id %q answered %q", bad, got)
			}
		}
		if !strings.Contains(out.String(), `"request_id":"`+generated+`"`) {
			t.Fatalf("the access log line lacks the request id:\n%s", out.String())
		}
		// Every line logged with a request's context carries its id.
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if !strings.Contains(line, `"request_id":"`) {
				t.Errorf("a line without request_id: %s", line)
			}
		}
	})
}

func TestLogHandlerMasksSecrets(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&out, nil)))
	log = slog.New(LogHandler(log.Handler())) // wrapping twice is wrapping once
	log.Info("company +7 (916) 123-45-67 saved",
		"password", "очень-секретный",
		"new_password", "второй-секретный",
		"authorization", "Bearer abc.def.ghi",
		"refresh_token", "r-secret",
		"cookie", "crm_session=s-secret",
		"path", "/calendar/feedsecret123456.ics",
		"err", errors.New(`duplicate key: phone=89161234567, header Bearer tok-secret-1`),
		"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
		slog.Group("req", "q", "+44 20 7946 0958", "when", "2026-12-04 20:22:25"),
		"count", 12345678901,
	)
	s := out.String()
	for _, secret := range []string{"123-45-67", "9161234567", "очень-секретный", "второй-секретный", "abc.def.ghi", "r-secret",
		"s-secret", "feedsecret123456", "tok-secret-1", "eyJhbGciOiJIUzI1NiJ9", "7946 0958"} {
		if strings.Contains(s, secret) {
			t.Errorf("the log shows %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{"+7 *** ***-45-67", "/calendar/[скрыто]", "2026-12-04 20:22:25", "count=12345678901", "+*** ***-09-58"} {
		if !strings.Contains(s, want) {
			t.Errorf("the log lacks %q:\n%s", want, s)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+7 916 123-45-67":  "+7 *** ***-45-67",
		"8 (916) 123 45 67": "+7 *** ***-45-67",
		"79161234567":       "+7 *** ***-45-67",
		"9161234567":        "*** ***-45-67",
		"+380 44 123 45 67": "+*** ***-45-67",
		"12345":             "12345",
		"2026-12-04 20:22":  "2026-12-04 20:22",
	} {
		if got := maskSecrets(in); got != want {
			t.Errorf("maskSecrets(%q) = %q, want %q", in, got, want)
		}
	}
}
