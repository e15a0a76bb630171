package server

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/live"
)

// sseMessage is one block of a text/event-stream: an event, or a comment
// (the heartbeat) when Comment is set.
type sseMessage struct {
	ID, Event, Data, Comment string
}

// sseClient is an open event stream over a real HTTP connection.
type sseClient struct {
	resp   *http.Response
	msgs   chan sseMessage
	cancel context.CancelFunc
	// first is the unread count a new stream starts with.
	first sseMessage
}

// openEvents connects to srv's /api/events/ with the given request
// headers (a session cookie or a Bearer token, Last-Event-ID).
func openEvents(t *testing.T, srv *httptest.Server, header http.Header) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := srv.Client().Do(req) //nolint:bodyclose // the stream stays open; close (at cleanup) closes it
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &sseClient{resp: resp, msgs: make(chan sseMessage, 100), cancel: cancel}
	t.Cleanup(c.close)
	if resp.StatusCode != http.StatusOK {
		return c
	}
	go func() {
		defer close(c.msgs)
		sc := bufio.NewScanner(resp.Body)
		var m sseMessage
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m != (sseMessage{}) {
					c.msgs <- m
				}
				m = sseMessage{}
			case strings.HasPrefix(line, ":"):
				m.Comment = strings.TrimSpace(line[1:])
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "id":
					m.ID = v
				case "event":
					m.Event = v
				case "data":
					m.Data = v
				}
			}
		}
	}()
	if header.Get("Last-Event-ID") == "" {
		// A new stream starts with the unread count, without an id.
		if c.first = c.next(t, false); c.first.Event != "unread" || c.first.ID != "" {
			t.Fatalf("a new stream began with %+v, want the unread count", c.first)
		}
	}
	return c
}

func (c *sseClient) close() {
	c.cancel()
	_ = c.resp.Body.Close()
}

// next returns the next event, skipping heartbeats unless asked for.
func (c *sseClient) next(t *testing.T, heartbeats bool) sseMessage {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatal("the stream ended")
			}
			if m.Comment != "" && !heartbeats {
				continue
			}
			return m
		case <-timeout:
			t.Fatal("nothing arrived within 5 s")
		}
	}
}

// quiet checks that no event (heartbeats aside) arrives for a while.
func (c *sseClient) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m, ok := <-c.msgs:
			if ok && m.Comment == "" {
				t.Fatalf("unexpected event %+v", m)
			}
		case <-timeout:
			return
		}
	}
}

func sessionHeader(e *testEnv, m dbtest.Member) http.Header {
	h := http.Header{}
	h.Set("Cookie", sessionCookie+"="+e.session(m))
	return h
}

func publish(t *testing.T, h *live.Hub, userID int64, typ string, v any) live.Event {
	t.Helper()
	ev, err := live.NewEvent(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return h.Publish(userID, ev)
}

// emitEvent writes a durable event for userID in its own committed
// transaction, as an action would.
func emitEvent(t *testing.T, e *testEnv, userID int64, typ string, v any) live.Event {
	t.Helper()
	var ev live.Event
	err := e.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		ev, err = live.Emit(context.Background(), tx, userID, typ, v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func outboxID(ev live.Event) string { return strconv.FormatUint(ev.ID, 10) }

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTheLiveEventsStream(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		e.srv.heartbeat = 100 * time.Millisecond
		srv := httptest.NewServer(e.srv)
		defer srv.Close()
		hub := e.srv.Live()
		alisa, vera := e.cast.Alisa, e.cast.Vera

		t.Run("an event emitted for the user arrives with its outbox id, type and data", func(t *testing.T) {
			c := openEvents(t, srv, sessionHeader(e, alisa))
			if ct := c.resp.Header.Get("Content-Type"); c.resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("status %d, Content-Type %q", c.resp.StatusCode, ct)
			}
			waitFor(t, "the subscription", func() bool { return hub.Subscribers(alisa.ID) == 1 })
			ev := emitEvent(t, e, alisa.ID, "unread", map[string]int{"count": 3})
			got := c.next(t, false)
			if got.ID != outboxID(ev) || got.Event != "unread" || got.Data != `{"count":3}` {
				t.Fatalf("got %+v, want id %d unread {\"count\":3}", got, ev.ID)
			}
		})

		t.Run("a new stream starts with the unread count", func(t *testing.T) {
			if _, err := e.db.ExecContext(context.Background(), `INSERT INTO notifications (user_id, kind, title, created_at)
				VALUES ($1, 'company.responsible', 'Вы назначены ответственным', CURRENT_TIMESTAMP)`, e.cast.Darya.ID); err != nil {
				t.Fatal(err)
			}
			c := openEvents(t, srv, sessionHeader(e, e.cast.Darya))
			if c.first.Data != `{"count":1}` {
				t.Fatalf("first event %+v, want the count 1", c.first)
			}
		})

		t.Run("an idle stream gets a comment heartbeat", func(t *testing.T) {
			c := openEvents(t, srv, sessionHeader(e, alisa))
			if got := c.next(t, true); got.Comment != "heartbeat" {
				t.Fatalf("first message %+v, want the heartbeat", got)
			}
		})

		t.Run("another user's events never arrive", func(t *testing.T) {
			c := openEvents(t, srv, sessionHeader(e, vera))
			waitFor(t, "the subscription", func() bool { return hub.Subscribers(vera.ID) == 1 })
			emitEvent(t, e, alisa.ID, "unread", map[string]int{"count": 99})
			publish(t, hub, alisa.ID, "progress", map[string]int{"done": 99})
			c.quiet(t, 300*time.Millisecond)
			mine := emitEvent(t, e, vera.ID, "unread", map[string]int{"count": 1})
			if got := c.next(t, false); got.ID != outboxID(mine) {
				t.Fatalf("got %+v, want only Вера's event %d", got, mine.ID)
			}
		})

		t.Run("a reconnect with Last-Event-ID replays what was missed, also from a restarted server", func(t *testing.T) {
			seen := emitEvent(t, e, alisa.ID, "task", map[string]any{"id": 1, "change": "created"})
			missed1 := emitEvent(t, e, alisa.ID, "task", map[string]any{"id": 1, "change": "updated"})
			missed2 := emitEvent(t, e, alisa.ID, "task", map[string]any{"id": 2, "change": "created"})
			restarted := httptest.NewServer(New(e.srv.cfg, e.srv.log, e.db)) // nothing of the first one in memory
			defer restarted.Close()
			for name, server := range map[string]*httptest.Server{"the same server": srv, "a restarted server": restarted} {
				h := sessionHeader(e, alisa)
				h.Set("Last-Event-ID", outboxID(seen))
				c := openEvents(t, server, h)
				for _, want := range []live.Event{missed1, missed2} {
					if got := c.next(t, false); got.ID != outboxID(want) || got.Data != string(want.Data) {
						t.Fatalf("%s replayed %+v, want %d %s", name, got, want.ID, want.Data)
					}
				}
				c.close()
			}
		})

		t.Run("a Last-Event-ID older than the kept events asks the page to reload", func(t *testing.T) {
			old := emitEvent(t, e, vera.ID, "unread", map[string]int{"count": 1})
			emitEvent(t, e, vera.ID, "unread", map[string]int{"count": 2}) // purged: missed
			emitEvent(t, e, vera.ID, "unread", map[string]int{"count": 3}) // the newest is kept
			if _, err := live.Purge(context.Background(), e.db, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			h := sessionHeader(e, vera)
			h.Set("Last-Event-ID", outboxID(old))
			c := openEvents(t, srv, h)
			if got := c.next(t, false); got.Event != "reset" {
				t.Fatalf("first event %+v, want reset", got)
			}
		})

		t.Run("a Bearer token opens the stream too, and a progress reporter publishes on it", func(t *testing.T) {
			pair, err := e.srv.tokens.Issue(context.Background(), e.cast.Gleb.ID)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set("Authorization", "Bearer "+pair.Access)
			c := openEvents(t, srv, h)
			waitFor(t, "the subscription", func() bool { return hub.Subscribers(e.cast.Gleb.ID) == 1 })
			r := live.Progress(hub, e.cast.Gleb.ID, "export-7", "Экспорт компаний")
			r.Start(10)
			r.Finish(nil)
			var last live.ProgressEvent
			for range 2 {
				m := c.next(t, false)
				if m.Event != "progress" || !strings.HasPrefix(m.ID, "0.") {
					t.Fatalf("event %+v, want a progress event with the cursor 0.<seq>", m)
				}
				if err := json.Unmarshal([]byte(m.Data), &last); err != nil {
					t.Fatal(err)
				}
			}
			if last != (live.ProgressEvent{ID: "export-7", Label: "Экспорт компаний", Total: 10, State: "done"}) {
				t.Fatalf("last progress %+v", last)
			}
		})

		t.Run("an anonymous client is refused", func(t *testing.T) {
			c := openEvents(t, srv, http.Header{})
			if c.resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", c.resp.StatusCode)
			}
		})

		t.Run("the stream ends when the client goes away, leaving no goroutine behind", func(t *testing.T) {
			waitFor(t, "earlier streams to end", func() bool { return hub.Subscribers(alisa.ID) == 0 })
			before := runtime.NumGoroutine()
			var clients []*sseClient
			for range 5 {
				clients = append(clients, openEvents(t, srv, sessionHeader(e, alisa)))
			}
			waitFor(t, "five subscriptions", func() bool { return hub.Subscribers(alisa.ID) == 5 })
			for _, c := range clients {
				c.close()
			}
			waitFor(t, "the handlers to return", func() bool { return hub.Subscribers(alisa.ID) == 0 })
			srv.CloseClientConnections()
			waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
		})

		t.Run("closing the server ends the open streams", func(t *testing.T) {
			c := openEvents(t, srv, sessionHeader(e, alisa))
			waitFor(t, "the subscription", func() bool { return hub.Subscribers(alisa.ID) == 1 })
			e.srv.Close()
			for {
				select {
				case _, ok := <-c.msgs:
					if !ok {
						return
					}
				case <-time.After(5 * time.Second):
					t.Fatal(errors.New("the stream is still open"))
				}
			}
		})
	})
}

// ended waits for c's stream to end (events before the end are skipped).
func (c *sseClient) ended(t *testing.T) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("the stream is still open")
		}
	}
}

func TestAStreamEndsWithItsSignIn(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		srv := httptest.NewServer(e.srv)
		defer srv.Close()
		// A second server process on the same database: the end reaches
		// its streams too (on PostgreSQL through NOTIFY).
		other := httptest.NewServer(New(e.srv.cfg, e.srv.log, e.db))
		defer other.Close()
		hub := e.srv.Live()

		t.Run("signing out ends that session's streams, in every process, and its reconnect is refused", func(t *testing.T) {
			signedOut, kept := sessionHeader(e, e.cast.Alisa), sessionHeader(e, e.cast.Alisa)
			here, there := openEvents(t, srv, signedOut), openEvents(t, other, signedOut)
			another := openEvents(t, srv, kept)
			waitFor(t, "the subscriptions", func() bool { return hub.Subscribers(e.cast.Alisa.ID) == 2 })
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/logout", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = signedOut.Clone()
			req.Header.Set("Origin", srv.URL)
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
			here.ended(t)
			there.ended(t)
			if again := openEvents(t, srv, signedOut); again.resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("the reconnect of a signed-out session: %d, want 401", again.resp.StatusCode)
			}
			// The other session of the same user goes on.
			ev := emitEvent(t, e, e.cast.Alisa.ID, "unread", map[string]int{"count": 5})
			if got := another.next(t, false); got.ID != outboxID(ev) {
				t.Fatalf("the other session got %+v", got)
			}
		})

		t.Run("a stream opened with a Bearer token ends when the token expires, and a reconnect with it is refused", func(t *testing.T) {
			short := auth.NewTokens(e.db, []byte(e.srv.cfg.SecretKey), 2*time.Second, time.Hour)
			pair, err := short.Issue(context.Background(), e.cast.Gleb.ID)
			if err != nil {
				t.Fatal(err)
			}
			bearer := http.Header{}
			bearer.Set("Authorization", "Bearer "+pair.Access)
			stream := openEvents(t, srv, bearer)
			if stream.resp.StatusCode != http.StatusOK {
				t.Fatalf("open: %d", stream.resp.StatusCode)
			}
			stream.ended(t) // within 5 s: the token lives 2 s (whole seconds in the JWT)
			if again := openEvents(t, srv, bearer); again.resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("the reconnect with the expired token: %d, want 401", again.resp.StatusCode)
			}
		})

		t.Run("deactivating a user ends all their streams, and a reconnect is refused", func(t *testing.T) {
			vera := sessionHeader(e, e.cast.Vera)
			pair, err := e.srv.tokens.Issue(context.Background(), e.cast.Vera.ID)
			if err != nil {
				t.Fatal(err)
			}
			bearer := http.Header{}
			bearer.Set("Authorization", "Bearer "+pair.Access)
			streams := []*sseClient{openEvents(t, srv, vera), openEvents(t, other, vera), openEvents(t, srv, bearer)}
			waitFor(t, "the subscriptions", func() bool { return hub.Subscribers(e.cast.Vera.ID) == 2 })
			if code := e.api(&e.cast.Admin, "PATCH", "/api/users/"+strconv.FormatInt(e.cast.Vera.ID, 10)+"/",
				map[string]any{"is_active": false}, nil); code != http.StatusOK {
				t.Fatalf("deactivate: %d", code)
			}
			for _, c := range streams {
				c.ended(t)
			}
			for _, h := range []http.Header{vera, bearer} {
				if again := openEvents(t, srv, h); again.resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("the reconnect of a deactivated user: %d, want 401", again.resp.StatusCode)
				}
			}
		})
	})
}
