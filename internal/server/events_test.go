package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

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

		t.Run("an event published for the user arrives with its id, type and data", func(t *testing.T) {
			c := openEvents(t, srv, sessionHeader(e, alisa))
			if ct := c.resp.Header.Get("Content-Type"); c.resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("status %d, Content-Type %q", c.resp.StatusCode, ct)
			}
			waitFor(t, "the subscription", func() bool { return hub.Subscribers(alisa.ID) == 1 })
			ev := publish(t, hub, alisa.ID, "unread", map[string]int{"count": 3})
			got := c.next(t, false)
			if got.ID != strconv.FormatUint(ev.ID, 10) || got.Event != "unread" || got.Data != `{"count":3}` {
				t.Fatalf("got %+v, want id %d unread {\"count\":3}", got, ev.ID)
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
			publish(t, hub, alisa.ID, "unread", map[string]int{"count": 99})
			c.quiet(t, 300*time.Millisecond)
			mine := publish(t, hub, vera.ID, "unread", map[string]int{"count": 1})
			if got := c.next(t, false); got.ID != strconv.FormatUint(mine.ID, 10) {
				t.Fatalf("got %+v, want only Вера's event %d", got, mine.ID)
			}
		})

		t.Run("a reconnect with Last-Event-ID replays what was missed", func(t *testing.T) {
			seen := publish(t, hub, alisa.ID, "task", map[string]any{"id": 1, "change": "created"})
			missed1 := publish(t, hub, alisa.ID, "task", map[string]any{"id": 1, "change": "updated"})
			missed2 := publish(t, hub, alisa.ID, "task", map[string]any{"id": 2, "change": "created"})
			h := sessionHeader(e, alisa)
			h.Set("Last-Event-ID", strconv.FormatUint(seen.ID, 10))
			c := openEvents(t, srv, h)
			for _, want := range []live.Event{missed1, missed2} {
				if got := c.next(t, false); got.ID != strconv.FormatUint(want.ID, 10) || got.Data != string(want.Data) {
					t.Fatalf("replayed %+v, want %d %s", got, want.ID, want.Data)
				}
			}
		})

		t.Run("a Last-Event-ID the server no longer has asks the page to reload", func(t *testing.T) {
			h := sessionHeader(e, vera)
			h.Set("Last-Event-ID", "1") // from before this process started
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
				if m.Event != "progress" {
					t.Fatalf("event %+v", m)
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
