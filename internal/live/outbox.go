package live

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmprofi/crm/internal/database"
)

// Emit writes a durable event of type typ with data v (JSON) for userID
// in the caller's transaction tx. It reaches the user's open pages, in
// whichever process serves them, only when tx commits; a rollback leaves
// no trace. The returned event's ID is its id in the stream.
func Emit(ctx context.Context, tx *sql.Tx, userID int64, typ string, v any) (Event, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Event{}, fmt.Errorf("live event %s: %w", typ, err)
	}
	at := database.Now()
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO live_events (user_id, type, data, created_at)
		VALUES ($1, $2, $3, $4) RETURNING id`, userID, typ, string(data), at).Scan(&id); err != nil {
		return Event{}, fmt.Errorf("emit live event %s: %w", typ, err)
	}
	return Event{ID: uint64(id), Type: typ, Data: data, At: at}, nil //nolint:gosec // identity ids are positive
}

// typeEnd is the control event that ends streams (never sent to a page;
// types starting with "_" are the hubs' own).
const typeEnd = "_end"

type endData struct {
	Key string `json:"key,omitempty"`
}

// EndStreams ends, in every process, the open streams of userID opened
// with key (a signed-out session), or all of them when key is empty (a
// deactivated user), once tx commits. The pages' reconnects are then
// refused, their credentials being gone.
func EndStreams(ctx context.Context, tx *sql.Tx, userID int64, key string) error {
	_, err := Emit(ctx, tx, userID, typeEnd, endData{Key: key})
	return err
}

// Purge deletes the durable events older than before, which must leave
// at least DefaultRetain for replay. The newest row always stays: it
// tells a reconnect which ids were purged.
func Purge(ctx context.Context, db *database.DB, before time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM live_events WHERE created_at < $1
		AND id < (SELECT MAX(id) FROM live_events)`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("purge live events: %w", err)
	}
	return res.RowsAffected()
}

// row is one outbox row: an event and its recipient.
type row struct {
	Event
	userID int64
}

func scanEvents(rows *sql.Rows) ([]row, error) {
	defer func() { _ = rows.Close() }()
	var out []row
	for rows.Next() {
		var r row
		var id int64
		var data string
		if err := rows.Scan(&id, &r.userID, &r.Type, &data, &r.At); err != nil {
			return nil, fmt.Errorf("scan live event: %w", err)
		}
		r.ID, r.Data, r.At = uint64(id), json.RawMessage(data), r.At.UTC() //nolint:gosec // identity ids are positive
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read live events: %w", err)
	}
	return out, nil
}

// deliver hands durable events to the local subscribers of their users.
// Events of users with no subscriber here are skipped: another process
// serves them, or their pages replay from the outbox when they return.
func (h *Hub) deliver(rows []row) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range rows {
		st := h.users[r.userID]
		if st == nil || len(st.subs) == 0 {
			continue
		}
		if r.Type == typeEnd {
			var d endData
			_ = json.Unmarshal(r.Data, &d) // a malformed one ends them all
			for sub := range st.subs {
				if d.Key == "" || sub.key == d.Key {
					h.drop(r.userID, st, sub)
				}
			}
			continue
		}
		h.send(r.userID, st, r.Event)
	}
}

// source reads the durable events of the database while the hub has
// subscribers: ready is closed once every event committed from then on
// will be delivered.
type source struct {
	cancel context.CancelFunc
	ready  chan struct{}
	done   chan struct{}
}

// startSource starts reading durable events on the first subscription and
// returns the running source (nil without a database). h.mu is held.
func (h *Hub) startSource() *source {
	if h.db == nil {
		return nil
	}
	if h.source == nil {
		ctx, cancel := context.WithCancel(context.Background())
		src := &source{cancel: cancel, ready: make(chan struct{}), done: make(chan struct{})}
		h.source = src
		go func() {
			defer close(src.done)
			if h.db.Dialect == database.Postgres {
				h.listen(ctx, src)
			} else {
				h.tail(ctx, src)
			}
		}()
	}
	return h.source
}

// stopSource stops reading when the last subscription ends. h.mu is held.
func (h *Hub) stopSource() {
	if h.source != nil {
		h.source.cancel()
		h.source = nil
	}
}

// Timing of the sources: how long a failed LISTEN connection waits before
// it tries again (doubling up to the cap), and how often SQLite's tail
// looks for rows that another process (a command) committed without
// waking it.
const (
	retryFirst = 100 * time.Millisecond
	retryCap   = 5 * time.Second
	tailEvery  = time.Second
)

// listen is PostgreSQL's source: a dedicated connection LISTENs on
// crm_live, where the outbox trigger announces each committed event. It
// reconnects after a failure and then catches up from the outbox.
func (h *Hub) listen(ctx context.Context, src *source) {
	var last uint64 // the newest event seen; a reconnect catches up after it
	wait := retryFirst
	for ctx.Err() == nil {
		err := h.listenOnce(ctx, src, &last)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("live events: LISTEN connection lost; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, retryCap)
	}
}

func (h *Hub) listenOnce(ctx context.Context, src *source, last *uint64) error {
	conn, err := pgx.Connect(ctx, h.db.DSN())
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN crm_live"); err != nil {
		return err
	}
	if *last == 0 {
		var newest *int64
		if err := conn.QueryRow(ctx, `SELECT MAX(id) FROM live_events`).Scan(&newest); err != nil {
			return err
		}
		if newest != nil {
			*last = uint64(*newest) //nolint:gosec // identity ids are positive
		}
	} else if err := h.catchUp(ctx, last); err != nil {
		return err
	}
	select {
	case <-src.ready:
	default:
		close(src.ready)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		r, ok := parseNotification(n.Payload)
		if !ok {
			id, err := strconv.ParseInt(n.Payload, 10, 64)
			if err != nil {
				continue
			}
			rows, err := h.db.QueryContext(ctx, `SELECT id, user_id, type, data, created_at FROM live_events WHERE id = $1`, id)
			if err != nil {
				return err
			}
			got, err := scanEvents(rows)
			if err != nil || len(got) == 0 {
				continue
			}
			r = got[0]
		}
		*last = max(*last, r.ID)
		h.deliver([]row{r})
	}
}

// catchUp delivers the events committed after last while the connection
// was down. (An event whose id is below last but committed later is
// missed here; its page gets it on its own reconnect.)
func (h *Hub) catchUp(ctx context.Context, last *uint64) error {
	for {
		rows, err := h.db.QueryContext(ctx, `SELECT id, user_id, type, data, created_at FROM live_events
			WHERE id > $1 ORDER BY id LIMIT 1000`, int64(*last)) //nolint:gosec // ids are positive
		if err != nil {
			return err
		}
		got, err := scanEvents(rows)
		if err != nil {
			return err
		}
		if len(got) == 0 {
			return nil
		}
		*last = got[len(got)-1].ID
		h.deliver(got)
	}
}

// parseNotification reads a whole event from a NOTIFY payload
// ("id user type data"); a payload of the id alone is not one.
func parseNotification(p string) (row, bool) {
	parts := strings.SplitN(p, " ", 4)
	if len(parts) != 4 {
		return row{}, false
	}
	id, err1 := strconv.ParseUint(parts[0], 10, 64)
	user, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return row{}, false
	}
	return row{Event: Event{ID: id, Type: parts[2], Data: json.RawMessage(parts[3]), At: time.Now().UTC()}, userID: user}, true
}

// tail is SQLite's source. One process serves a SQLite database, and its
// transactions run through database.DB.InTx, whose after-commit hook wakes
// the tail at once; a slow timer catches what other processes (commands)
// commit. SQLite commits in id order (one writer), so reading after the
// last id seen misses nothing.
func (h *Hub) tail(ctx context.Context, src *source) {
	wake := make(chan struct{}, 1)
	remove := h.db.OnCommit(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer remove()
	var last uint64
	for {
		var newest *int64
		err := h.db.QueryRowContext(ctx, `SELECT MAX(id) FROM live_events`).Scan(&newest)
		if err == nil {
			if newest != nil {
				last = uint64(*newest) //nolint:gosec // identity ids are positive
			}
			break
		}
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("live events: cannot read the outbox", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retryCap):
		}
	}
	close(src.ready)
	tick := time.NewTicker(tailEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
		if err := h.catchUp(ctx, &last); err != nil && ctx.Err() == nil {
			h.log.Warn("live events: cannot read the outbox", "err", err)
		}
	}
}

// Latest is the cursor of the newest durable event: a page that renders
// state a later event changes puts it in the page (data-live-cursor), read
// before that state, so its stream replays every change made after the
// render instead of starting at the moment it connects.
func Latest(ctx context.Context, q database.Querier) (Cursor, error) {
	var id int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM live_events`).Scan(&id); err != nil {
		return Cursor{}, fmt.Errorf("latest live event: %w", err)
	}
	return Cursor{Outbox: uint64(id), Given: true}, nil //nolint:gosec // identity ids are positive
}
