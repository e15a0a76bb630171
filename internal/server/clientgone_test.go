package server

import (
	"bytes"
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestAClientThatLeftIsNeitherAnsweredTwiceNorLoggedAsAnError: a page that
// fails while it is being written (the client closed the connection) gets
// no second answer after the first, and the log stays quiet about it.
func TestAClientThatLeftIsNeitherAnsweredTwiceNorLoggedAsAnError(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		var logged bytes.Buffer
		e.srv.log = slog.New(slog.NewTextHandler(&logged, nil))
		req := httptest.NewRequest("GET", "/companies/", nil)
		rec := httptest.NewRecorder()
		started := &statusRecorder{ResponseWriter: rec}
		_, _ = started.Write([]byte("<!doctype html>"))
		gone := fmt.Errorf("render: %w", &writeError{syscall.EPIPE})
		e.srv.fail(started, req, gone)
		if rec.Code != http.StatusOK || rec.Body.String() != "<!doctype html>" {
			t.Fatalf("a second answer followed the first: %d %q", rec.Code, rec.Body.String())
		}
		if logged.Len() != 0 {
			t.Fatalf("a client that left was logged: %s", logged.String())
		}

		// A query cut short when the client cancelled: pgx says "bad
		// connection", but the request is over and nobody is waiting.
		cancelled, cancel := context.WithCancel(req.Context())
		cancel()
		rec = httptest.NewRecorder()
		e.srv.fail(&statusRecorder{ResponseWriter: rec}, req.WithContext(cancelled), fmt.Errorf("session: %w", driver.ErrBadConn))
		if rec.Code != 499 || logged.Len() != 0 {
			t.Fatalf("a cancelled request answered %d and logged %q", rec.Code, logged.String())
		}

		// Before anything is written, an unexpected failure is still a
		// logged 500.
		rec = httptest.NewRecorder()
		e.srv.fail(&statusRecorder{ResponseWriter: rec}, req, fmt.Errorf("disk on fire"))
		if rec.Code != http.StatusInternalServerError || !strings.Contains(logged.String(), "disk on fire") {
			t.Fatalf("status %d, log %q", rec.Code, logged.String())
		}

		// A deadline of ours (the database, say) is not the client's slow
		// body: a logged 500, not a 408.
		rec = httptest.NewRecorder()
		e.srv.fail(&statusRecorder{ResponseWriter: rec}, req, fmt.Errorf("query: %w", os.ErrDeadlineExceeded))
		if rec.Code != http.StatusInternalServerError || !strings.Contains(logged.String(), "query: i/o timeout") {
			t.Fatalf("our own deadline answered %d, log %q", rec.Code, logged.String())
		}
	})
}

// writeError is how net/http reports a write to a closed connection: an
// error that wraps the system's EPIPE.
type writeError struct{ errno syscall.Errno }

func (e *writeError) Error() string { return "write tcp: " + e.errno.Error() }
func (e *writeError) Unwrap() error { return e.errno }
