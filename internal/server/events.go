package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/live"
)

// Timing of the stream: a comment line keeps proxies and the browser from
// closing an idle connection (the contract asks for one at least every
// 25 s); a write that cannot finish within writeWait means the client is
// gone; the browser reconnects after retryMillis.
const (
	heartbeatEvery = 20 * time.Second
	writeWait      = 30 * time.Second
	retryMillis    = 3000
)

// events streams the signed-in user's live events as text/event-stream.
// A reconnect with Last-Event-ID first gets the kept events after that id;
// when some were already dropped it gets a "reset" event, telling the page
// to reload what it shows. The stream ends when the client goes away, when
// it falls too far behind (it reconnects and replays), or at shutdown.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	u := userFrom(r)
	// A malformed id is treated as none: the stream starts afresh.
	cur := live.ParseCursor(r.Header.Get("Last-Event-ID"))
	sub, replay, gap, err := s.live.Subscribe(r.Context(), u.ID, cur, streamKey(r))
	if err != nil {
		return err
	}
	defer sub.Close()

	rc := http.NewResponseController(w)
	// The server's read timeout is for request bodies; it must not cut a
	// stream that lives for hours.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	// Set before the first write: compression and proxies leave an event
	// stream alone by its type.
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	send := func(write func(io.Writer) error) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeWait))
		if err := write(w); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The durable events replayed from the outbox may come again live
	// (PostgreSQL commits need not follow id order): send each once.
	replayed := map[uint64]bool{}
	err = send(func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "retry: %d\n\n", retryMillis)
		if err == nil && gap {
			_, err = io.WriteString(w, "event: reset\ndata: {}\n\n")
		}
		for _, e := range replay {
			if err == nil {
				cur = cur.Next(e)
				replayed[e.ID] = e.ID != 0
				err = writeEvent(w, cur, e)
			}
		}
		return err
	})
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	for err == nil {
		select {
		case <-r.Context().Done():
			return nil
		case e, ok := <-sub.C:
			if !ok {
				return nil // dropped as too slow, its session ended, or shutting down
			}
			if replayed[e.ID] {
				continue
			}
			cur = cur.Next(e)
			err = send(func(w io.Writer) error { return writeEvent(w, cur, e) })
		case <-heartbeat.C:
			err = send(func(w io.Writer) error {
				_, err := io.WriteString(w, ": heartbeat\n\n")
				return err
			})
		}
	}
	if errors.Is(err, http.ErrNotSupported) {
		// A writer in the chain that cannot flush cannot stream: a bug.
		s.log.ErrorContext(r.Context(), "event stream cannot flush", slog.Any("err", err))
	}
	return nil // otherwise the client went away mid-write
}

// writeEvent writes one event in the text/event-stream format, with the
// stream's cursor after it as the id. Data is JSON on one line, so it
// needs no splitting.
func writeEvent(w io.Writer, cur live.Cursor, e live.Event) error {
	_, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", cur, e.Type, e.Data)
	return err
}

// streamKey names the credential a stream is opened with, so that signing
// out of one session ends that session's streams (live.EndStreams): the
// hash of the session cookie, or of the Bearer token.
func streamKey(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return credentialKey(c.Value)
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return credentialKey(strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")))
	}
	return ""
}

// credentialKey is a short stable digest of a secret, safe to keep in
// the outbox.
func credentialKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:12])
}
