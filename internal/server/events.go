package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
// A reconnect with Last-Event-ID first gets the kept events after that id
// (durable ones from the outbox, whichever process served them before);
// when some are gone it gets a "reset" event, telling the page to reload
// what it shows. Each event's id is the stream's cursor (live.Cursor).
// The stream ends when the client goes away, when it falls too far behind
// (it reconnects and replays), when its session ends (logout,
// deactivation: live.EndStreams), when its Bearer token expires, or at
// shutdown.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	u := userFrom(r)
	// The browser sends Last-Event-ID when it reconnects by itself; a
	// stream the page opens anew (js/00-live.js, after the browser gave up)
	// passes it as ?last_event_id=. A malformed id is treated as none: the
	// stream starts afresh.
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	cur := live.ParseCursor(last)
	sub, replay, gap, err := s.live.Subscribe(r.Context(), u.ID, cur, streamKey(r))
	if err != nil {
		return err
	}
	fresh := !cur.Given
	var unread int
	if fresh {
		if unread, err = s.notices.UnreadCount(r.Context(), u.ID); err != nil {
			sub.Close()
			return err
		}
	}

	h := w.Header()
	// Set before the first write: compression and proxies leave an event
	// stream alone by its type.
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")

	st := &stream{s: s, sub: sub, cur: cur, until: credentialUntil(r)}
	var opening []byte
	opening = fmt.Appendf(opening, "retry: %d\n\n", retryMillis)
	if fresh {
		// A new stream starts with the unread count: a notification made
		// between the page's render and this moment is counted.
		opening = fmt.Appendf(opening, "event: unread\ndata: {\"count\":%d}\n\n", unread)
	}
	if gap {
		opening = append(opening, "event: reset\ndata: {}\n\n"...)
	}
	for _, e := range replay {
		if e.ID != 0 {
			if st.replayed == nil {
				st.replayed = map[uint64]bool{}
			}
			st.replayed[e.ID] = true
		}
		st.cur = st.cur.Next(e)
		opening = appendEvent(opening, st.cur, e)
	}

	rc := http.NewResponseController(w)
	if conn, brw, err := rc.Hijack(); err == nil && brw.Reader.Buffered() == 0 {
		// HTTP/1.1: the stream takes the connection over and the handler
		// returns. A long-lived stream then costs two small goroutines and
		// a few hundred bytes, instead of the server's connection
		// goroutine with its deep stack, its buffers and the request.
		var head []byte
		head = append(head, "HTTP/1.1 200 OK\r\n"...)
		hb := &bytesWriter{b: head}
		_ = h.Write(hb)
		head = append(hb.b, "Connection: close\r\n\r\n"...)
		st.conn = conn
		if err := st.write(append(head, opening...)); err != nil {
			_ = conn.Close()
			sub.Close()
			return nil
		}
		go st.run(s.heartbeat)
		return nil
	} else if err == nil {
		_ = conn.Close() // a client that sent more than the request: unusual, refused
		sub.Close()
		return nil
	}

	// HTTP/2 (or a writer that cannot hand the connection over): stream
	// through the ResponseWriter, in the handler's goroutine.
	defer sub.Close()
	// The server's read timeout is for request bodies; it must not cut a
	// stream that lives for hours.
	_ = rc.SetReadDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	st.w, st.rc = w, rc
	st.gone = r.Context().Done()
	if err := st.write(opening); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			// A writer in the chain that cannot flush cannot stream: a bug.
			s.log.ErrorContext(r.Context(), "event stream cannot flush", slog.Any("err", err))
		}
		return nil
	}
	st.run(s.heartbeat)
	return nil
}

// stream is one open event stream: on a hijacked connection (conn) or on
// the ResponseWriter (w).
type stream struct {
	s        *Server
	sub      *live.Subscription
	cur      live.Cursor
	replayed map[uint64]bool // durable events already sent by the replay
	conn     net.Conn
	w        http.ResponseWriter
	rc       *http.ResponseController
	gone     <-chan struct{} // the client went away
	until    time.Time       // the credential's expiry (a Bearer token's), or zero
	buf      []byte
}

// write sends b, with a deadline: a client that cannot take it within
// writeWait is gone.
func (st *stream) write(b []byte) error {
	if st.conn != nil {
		_ = st.conn.SetWriteDeadline(time.Now().Add(writeWait))
		_, err := st.conn.Write(b)
		return err
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(writeWait))
	if _, err := st.w.Write(b); err != nil { //nolint:gosec // text/event-stream of our own JSON, not HTML
		return err
	}
	return st.rc.Flush()
}

// run sends the events of the subscription and the heartbeats until the
// client goes away, the subscription ends, or a write fails.
func (st *stream) run(heartbeat time.Duration) {
	defer st.sub.Close()
	if st.conn != nil {
		defer func() { _ = st.conn.Close() }() // also ends the reader below
		// The client sends nothing more; a read ends when it goes away.
		gone := make(chan struct{})
		go func() {
			var one [1]byte
			for {
				if _, err := st.conn.Read(one[:]); err != nil {
					close(gone)
					return
				}
			}
		}()
		st.gone = gone
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	// A stream opened with a Bearer token ends when the token does; the
	// client reconnects with a fresh one (and Last-Event-ID, so it misses
	// nothing) or is refused.
	var expired <-chan time.Time
	if !st.until.IsZero() {
		t := time.NewTimer(time.Until(st.until))
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-st.gone:
			return
		case <-expired:
			return
		case e, ok := <-st.sub.C:
			if !ok {
				return // dropped as too slow, its session ended, or shutting down
			}
			if st.replayed[e.ID] {
				continue
			}
			st.cur = st.cur.Next(e)
			st.buf = appendEvent(st.buf[:0], st.cur, e)
			if st.write(st.buf) != nil {
				return
			}
			if cap(st.buf) > 4096 {
				st.buf = nil // a large event's buffer is not kept for hours
			}
		case <-tick.C:
			if st.write([]byte(": heartbeat\n\n")) != nil {
				return
			}
		}
	}
}

// bytesWriter collects what an io.Writer is given (the header block).
type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// appendEvent appends one event in the text/event-stream format, with
// the stream's cursor after it as the id. Data is JSON on one line, so it
// needs no splitting.
func appendEvent(b []byte, cur live.Cursor, e live.Event) []byte {
	b = append(b, "id: "...)
	b = append(b, cur.String()...)
	b = append(b, "\nevent: "...)
	b = append(b, e.Type...)
	b = append(b, "\ndata: "...)
	b = append(b, e.Data...)
	return append(b, "\n\n"...)
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
