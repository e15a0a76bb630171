// Package live delivers events to signed-in users as they happen: a
// notification, a changed task, the progress of an import. Publishers call
// Hub.Publish with a user's id; the server streams each user's events to
// their open pages (GET /api/events/, server-sent events).
//
// A user receives only the events published for them; deciding who may
// see what is the publisher's job, done with access.Scope before Publish.
//
// The hub keeps each user's recent events in memory, so a page that lost
// its connection gets what it missed when it reconnects with the id of the
// last event it saw. It lives in one process: several server processes
// behind a balancer need a shared transport (PostgreSQL LISTEN/NOTIFY or
// the job queue), which comes with the tasks issue.
package live

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Event is one message to a user. ID grows with every event the hub
// publishes, across users; it starts from the clock in microseconds, so
// the ids of a restarted process are larger than any a page remembers.
type Event struct {
	ID   uint64
	Type string
	Data json.RawMessage
	At   time.Time
}

// NewEvent is an event of the given type whose data is v as JSON.
func NewEvent(typ string, v any) (Event, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Event{}, fmt.Errorf("live event %s: %w", typ, err)
	}
	return Event{Type: typ, Data: data}, nil
}

// Defaults of a Hub: how long and how many events are kept per user for
// replay, and how many undelivered events a slow subscriber may owe
// before it is dropped (its page reconnects and replays).
const (
	DefaultRetain  = 15 * time.Minute
	DefaultPerUser = 2048
	subscriberBuf  = 64
)

// Hub fans events out to the subscriptions of each user and keeps recent
// events for replay. The zero Hub is not usable; call NewHub.
type Hub struct {
	mu      sync.Mutex
	users   map[int64]*stream
	seq     uint64
	first   uint64 // seq at start: an older id was seen by another process
	retain  time.Duration
	perUser int
	now     func() time.Time
	closed  bool
	done    chan struct{}
}

// stream is one user's recent events (oldest first) and live
// subscriptions. lost is the id of the newest event dropped from the ring:
// a page that last saw an older one has missed something.
type stream struct {
	ring []Event
	lost uint64
	subs map[*Subscription]struct{}
}

// NewHub returns a hub that keeps DefaultRetain of events, at most
// DefaultPerUser per user.
func NewHub() *Hub {
	start := uint64(time.Now().UnixMicro()) //nolint:gosec // the clock is after 1970
	return &Hub{
		users:   map[int64]*stream{},
		seq:     start,
		first:   start,
		retain:  DefaultRetain,
		perUser: DefaultPerUser,
		now:     time.Now,
		done:    make(chan struct{}),
	}
}

// Subscription is one open stream of a user's events. C delivers them in
// order; it is closed when the subscriber fell too far behind, or the hub
// closed, and the subscriber should go away (a browser reconnects and
// replays what it missed).
type Subscription struct {
	C      <-chan Event
	c      chan Event
	hub    *Hub
	userID int64
}

// Publish sends e to userID's subscriptions and keeps it for replay. It
// never blocks on a subscriber.
func (h *Hub) Publish(userID int64, e Event) Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.ID = h.seq
	e.At = h.now()
	if h.closed {
		return e
	}
	st := h.users[userID]
	if st == nil {
		st = &stream{subs: map[*Subscription]struct{}{}}
		h.users[userID] = st
	}
	st.ring = append(st.ring, e)
	h.trim(st, e.At)
	for sub := range st.subs {
		select {
		case sub.c <- e:
		default:
			// Too slow: drop it rather than block every publisher.
			delete(st.subs, sub)
			close(sub.c)
		}
	}
	return e
}

// trim drops the events older than the retention or beyond the cap.
func (h *Hub) trim(st *stream, now time.Time) {
	cut := 0
	for cut < len(st.ring) && (len(st.ring)-cut > h.perUser || now.Sub(st.ring[cut].At) > h.retain) {
		cut++
	}
	if cut > 0 {
		st.lost = st.ring[cut-1].ID
		st.ring = append(st.ring[:0:0], st.ring[cut:]...)
	}
}

// Subscribe opens a stream of userID's events. With after > 0 (the id of
// the last event the caller saw) it also returns the kept events after
// it, and reports gap when some of those were already dropped — or were
// published before this process started — so the page should reload what
// it shows instead of trusting the replay.
func (h *Hub) Subscribe(userID int64, after uint64) (sub *Subscription, replay []Event, gap bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := make(chan Event, subscriberBuf)
	sub = &Subscription{C: c, c: c, hub: h, userID: userID}
	if h.closed {
		close(c)
		return sub, nil, false
	}
	st := h.users[userID]
	if st == nil {
		st = &stream{subs: map[*Subscription]struct{}{}}
		h.users[userID] = st
	}
	h.trim(st, h.now())
	st.subs[sub] = struct{}{}
	if after == 0 {
		return sub, nil, false
	}
	for _, e := range st.ring {
		if e.ID > after {
			replay = append(replay, e)
		}
	}
	return sub, replay, after < st.lost || after < h.first
}

// Close ends the subscription; calling it again does nothing.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.users[s.userID]
	if st == nil {
		return
	}
	if _, ok := st.subs[s]; ok {
		delete(st.subs, s)
		close(s.c)
	}
	if len(st.subs) == 0 {
		h.trim(st, h.now())
		if len(st.ring) == 0 {
			delete(h.users, s.userID)
		}
	}
}

// Subscribers is the number of open subscriptions of userID.
func (h *Hub) Subscribers(userID int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.users[userID]; st != nil {
		return len(st.subs)
	}
	return 0
}

// Close ends every subscription, so that open streams finish and a
// graceful shutdown does not wait for them; later publishes are dropped.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done)
	for _, st := range h.users {
		for sub := range st.subs {
			close(sub.c)
		}
		st.subs = nil
	}
}

// Done is closed when the hub is closed.
func (h *Hub) Done() <-chan struct{} { return h.done }
