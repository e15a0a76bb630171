// Package live delivers events to signed-in users as they happen: a
// notification, a changed task, the progress of an import. The server
// streams each user's events to their open pages (GET /api/events/,
// server-sent events).
//
// Two kinds of event travel the same stream:
//
//   - Durable events (notification, unread, task, desk) are written with
//     Emit inside the transaction of the change that raises them, to the
//     live_events outbox. They go out only if that transaction commits,
//     reach every process serving the database (PostgreSQL: a trigger's
//     NOTIFY, delivered at commit, to each process's LISTEN connection;
//     SQLite: one process, whose hub reads new rows after each commit),
//     and are replayed from the table after a reconnect, in whichever
//     process and however often it restarted. Their id is the row's id.
//   - Ephemeral events (progress bars) are published with Hub.Publish to
//     this process's subscribers only; they are kept in memory a while for
//     a reconnect to the same process, and may be lost otherwise.
//
// A user receives only the events emitted for them; deciding who may see
// what is the emitter's job, done with access.Scope before Emit.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// Event is one message to a user. A durable event has the outbox id ID;
// an ephemeral one (Publish) has the process-local sequence number Seq,
// which starts from the clock in microseconds so that a restarted process
// numbers after the one before it.
type Event struct {
	ID   uint64
	Seq  uint64
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

// Cursor is where a stream stands: the id of the last durable event and
// the sequence number of the last ephemeral one it delivered. It travels
// as the SSE id ("<outbox>" or "<outbox>.<seq>"), so the browser sends it
// back as Last-Event-ID when it reconnects.
type Cursor struct {
	Outbox uint64
	Local  uint64
	// Given tells a cursor the client sent ("0" on an outbox that was
	// empty when its page rendered) from none: a stream with a given
	// cursor replays what came after it; one without starts afresh.
	Given bool
}

// ParseCursor reads a Last-Event-ID; anything malformed is the zero
// cursor (the stream starts afresh).
func ParseCursor(s string) Cursor {
	a, b, dotted := strings.Cut(strings.TrimSpace(s), ".")
	outbox, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		return Cursor{}
	}
	c := Cursor{Outbox: outbox, Given: true}
	if dotted {
		if c.Local, err = strconv.ParseUint(b, 10, 64); err != nil {
			return Cursor{}
		}
	}
	return c
}

// String is the cursor as an SSE id.
func (c Cursor) String() string {
	s := strconv.FormatUint(c.Outbox, 10)
	if c.Local != 0 {
		s += "." + strconv.FormatUint(c.Local, 10)
	}
	return s
}

// Next is the cursor after e was delivered.
func (c Cursor) Next(e Event) Cursor {
	if e.ID != 0 {
		c.Outbox = e.ID
	}
	if e.Seq != 0 {
		c.Local = e.Seq
	}
	return c
}

// Defaults of a Hub: how long and how many ephemeral events are kept per
// user for replay, and how many undelivered events a slow subscriber may
// owe before it is dropped (its page reconnects and replays).
const (
	DefaultRetain  = 15 * time.Minute
	DefaultPerUser = 2048
	subscriberBuf  = 32
	// maxReplay bounds a reconnect's replay from the outbox; a page that
	// missed more gets "reset" and reloads what it shows.
	maxReplay = 500
	// readyWait bounds how long Subscribe waits for the source to start.
	readyWait = 5 * time.Second
)

// Hub fans events out to the subscriptions of each user of this process.
// The zero Hub is not usable; call NewHub, and Attach it to the database
// for durable events.
type Hub struct {
	mu      sync.Mutex
	users   map[int64]*stream
	seq     uint64
	retain  time.Duration
	perUser int
	now     func() time.Time
	closed  bool
	done    chan struct{}

	// The source of durable events, running while anyone subscribes.
	db     *database.DB
	log    *slog.Logger
	nsubs  int
	source *source
}

// stream is one user's recent ephemeral events (oldest first) and live
// subscriptions. reclaim, when set, frees the stream once its events have
// aged out and nobody subscribes.
type stream struct {
	ring    []Event
	subs    map[*Subscription]struct{}
	reclaim *time.Timer
}

// NewHub returns a hub that keeps DefaultRetain of ephemeral events, at
// most DefaultPerUser per user. Without Attach it carries only those.
func NewHub() *Hub {
	return &Hub{
		users:   map[int64]*stream{},
		seq:     uint64(time.Now().UnixMicro()), //nolint:gosec // the clock is after 1970
		retain:  DefaultRetain,
		perUser: DefaultPerUser,
		now:     time.Now,
		done:    make(chan struct{}),
		log:     slog.New(slog.DiscardHandler),
	}
}

// Attach makes the hub deliver the durable events of db (Emit) to its
// subscribers and replay them on reconnect. The hub reads them — with a
// LISTEN connection on PostgreSQL, after each commit on SQLite — only
// while it has subscribers. Call it once, before the first Subscribe.
func (h *Hub) Attach(db *database.DB, log *slog.Logger) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.db = db
	if log != nil {
		h.log = log
	}
}

// Subscription is one open stream of a user's events. C delivers them in
// order; it is closed when the subscriber fell too far behind, its
// session ended (EndStreams), or the hub closed, and the subscriber should
// go away (a browser reconnects and replays what it missed).
type Subscription struct {
	C      <-chan Event
	c      chan Event
	hub    *Hub
	userID int64
	key    string
}

// Publish sends an ephemeral event to userID's subscriptions in this
// process and keeps it for a reconnect. It never blocks on a subscriber.
func (h *Hub) Publish(userID int64, e Event) Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.ID, e.Seq = 0, h.seq
	e.At = h.now()
	if h.closed {
		return e
	}
	st := h.stream(userID)
	st.ring = append(st.ring, e)
	h.trim(st, e.At)
	h.send(userID, st, e)
	if len(st.subs) == 0 {
		h.scheduleReclaim(userID, st)
	}
	return e
}

// stream returns userID's stream, making it when missing. h.mu is held.
func (h *Hub) stream(userID int64) *stream {
	st := h.users[userID]
	if st == nil {
		st = &stream{subs: map[*Subscription]struct{}{}}
		h.users[userID] = st
	}
	return st
}

// send hands e to the subscriptions of st, dropping the too slow ones.
// h.mu is held.
func (h *Hub) send(userID int64, st *stream, e Event) {
	for sub := range st.subs {
		select {
		case sub.c <- e:
		default:
			// Too slow: drop it rather than block every publisher.
			h.drop(userID, st, sub)
		}
	}
}

// drop ends sub. h.mu is held.
func (h *Hub) drop(userID int64, st *stream, sub *Subscription) {
	delete(st.subs, sub)
	close(sub.c)
	h.nsubs--
	if len(st.subs) == 0 {
		h.scheduleReclaim(userID, st)
	}
	if h.nsubs == 0 {
		h.stopSource()
	}
}

// trim drops the events older than the retention or beyond the cap.
func (h *Hub) trim(st *stream, now time.Time) {
	cut := 0
	for cut < len(st.ring) && (len(st.ring)-cut > h.perUser || now.Sub(st.ring[cut].At) > h.retain) {
		cut++
	}
	if cut > 0 {
		st.ring = append(st.ring[:0:0], st.ring[cut:]...)
	}
}

// scheduleReclaim frees st when its newest event has aged out, unless a
// subscriber comes back first. h.mu is held.
func (h *Hub) scheduleReclaim(userID int64, st *stream) {
	if st.reclaim != nil {
		return
	}
	wait := time.Duration(0)
	if n := len(st.ring); n > 0 {
		wait = h.retain - h.now().Sub(st.ring[n-1].At)
	}
	st.reclaim = time.AfterFunc(max(wait, 0)+time.Millisecond, func() { h.reclaim(userID, st) })
}

// reclaim frees an idle user's stream, or waits again for newer events.
func (h *Hub) reclaim(userID int64, st *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st.reclaim = nil
	if h.users[userID] != st || len(st.subs) > 0 {
		return
	}
	h.trim(st, h.now())
	if len(st.ring) == 0 {
		delete(h.users, userID)
		return
	}
	h.scheduleReclaim(userID, st)
}

// Subscribe opens a stream of userID's events; key names the credential
// the stream was opened with (a session), so that EndStreams can end the
// streams of one session. after is the Last-Event-ID of a reconnect: the
// durable events after it come back from the outbox, the ephemeral ones
// from this process's memory. gap reports that some durable events after
// it are gone (purged, or too many), so the page should reload what it
// shows instead of trusting the replay.
func (h *Hub) Subscribe(ctx context.Context, userID int64, after Cursor, key string) (sub *Subscription, replay []Event, gap bool, err error) {
	h.mu.Lock()
	c := make(chan Event, subscriberBuf)
	sub = &Subscription{C: c, c: c, hub: h, userID: userID, key: key}
	if h.closed {
		h.mu.Unlock()
		close(c)
		return sub, nil, false, nil
	}
	st := h.stream(userID)
	if st.reclaim != nil {
		st.reclaim.Stop()
		st.reclaim = nil
	}
	h.trim(st, h.now())
	st.subs[sub] = struct{}{}
	h.nsubs++
	src := h.startSource()
	if after.Given {
		for _, e := range st.ring {
			if e.Seq > after.Local {
				replay = append(replay, e)
			}
		}
	}
	h.mu.Unlock()

	if src != nil {
		// Durable events committed from now on reach sub; those before
		// come from the outbox below.
		// A database that does not answer delays the stream a little,
		// not forever: the replay below still runs.
		select {
		case <-src.ready:
		case <-time.After(readyWait):
			h.log.Warn("live events: the source is not ready; streaming without it for now")
		case <-ctx.Done():
			sub.Close()
			return sub, nil, false, ctx.Err()
		}
	}
	if !after.Given || h.db == nil {
		return sub, replay, false, nil
	}
	durable, gap, err := h.replay(ctx, userID, after.Outbox)
	if err != nil {
		sub.Close()
		return sub, nil, false, err
	}
	return sub, append(durable, replay...), gap, nil
}

// replay reads userID's durable events after id from the outbox.
func (h *Hub) replay(ctx context.Context, userID int64, after uint64) ([]Event, bool, error) {
	var oldest, newest *int64
	if err := h.db.QueryRowContext(ctx, `SELECT MIN(id), MAX(id) FROM live_events`).Scan(&oldest, &newest); err != nil {
		return nil, false, fmt.Errorf("live events replay: %w", err)
	}
	if newest == nil || after >= uint64(*newest) { //nolint:gosec // ids are positive
		return nil, false, nil // nothing newer (or an id of another database)
	}
	rows, err := h.db.QueryContext(ctx, `SELECT id, user_id, type, data, created_at FROM live_events
		WHERE user_id = $1 AND id > $2 AND substr(type, 1, 1) <> '_' ORDER BY id LIMIT $3`, userID, int64(after), maxReplay+1) //nolint:gosec // a Last-Event-ID past int64 is no id of ours
	if err != nil {
		return nil, false, fmt.Errorf("live events replay: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, false, err
	}
	// The purge keeps the newest row, so ids between after and the oldest
	// kept one were purged (or rolled back): the page may have missed some.
	gap := after+1 < uint64(*oldest) //nolint:gosec // ids are positive
	if len(evs) > maxReplay {
		evs, gap = evs[:maxReplay], true
	}
	out := make([]Event, len(evs))
	for i, r := range evs {
		out[i] = r.Event
	}
	return out, gap, nil
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
		h.drop(s.userID, st, s)
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

// Open is the number of open subscriptions of all users: the live event
// streams this process serves (a metric).
func (h *Hub) Open() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nsubs
}

// users is how many users the hub holds anything for (tests of the
// reclaim of idle users).
func (h *Hub) userCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.users)
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
		if st.reclaim != nil {
			st.reclaim.Stop()
		}
	}
	h.users = map[int64]*stream{}
	h.nsubs = 0
	h.stopSource()
}

// Done is closed when the hub is closed.
func (h *Hub) Done() <-chan struct{} { return h.done }
