package live

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/progress"
)

// ProgressEvent is the data of a "progress" event: the state of one piece
// of work that a page shows as a bar (an element data-progress="<id>").
type ProgressEvent struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
	// State is "running", "done" or "failed".
	State string `json:"state"`
	// Error says, in Russian, why the work failed.
	Error string `json:"error,omitempty"`
}

// progressEvery is how often a running bar is published at most: often
// enough to move smoothly, rarely enough that ten minutes of an import
// stay well inside a user's replay buffer.
const progressEvery = 500 * time.Millisecond

// Progress is the progress.Reporter of one piece of work shown in
// userID's browser: it publishes "progress" events with the given id (the
// page's data-progress attribute) on h. The first and the last state are
// always published; the states between at most every half second.
func Progress(h *Hub, userID int64, id, label string) progress.Reporter {
	return &reporter{hub: h, userID: userID, ev: ProgressEvent{ID: id, Label: label, State: "running"}}
}

type reporter struct {
	mu     sync.Mutex
	hub    *Hub
	userID int64
	ev     ProgressEvent
	last   time.Time
}

func (r *reporter) Start(total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev.Total, r.ev.Done = total, 0
	r.publish()
}

func (r *reporter) Add(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev.Done += n
	if r.hub.now().Sub(r.last) >= progressEvery {
		r.publish()
	}
}

func (r *reporter) Finish(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev.State = "done"
	if err != nil {
		r.ev.State, r.ev.Error = "failed", err.Error()
	}
	r.publish()
}

func (r *reporter) publish() {
	r.last = r.hub.now()
	e, err := NewEvent("progress", r.ev)
	if err == nil { // a struct of strings and numbers always marshals
		r.hub.Publish(r.userID, e)
	}
}

// outboxEvery is how often Broadcast writes a running bar at most: each
// state is a row per watcher in the outbox, so a second is enough.
const outboxEvery = time.Second

// Broadcast is the progress.Reporter of work whose bar several people
// watch, from whichever process serves their pages (a job worked by
// another crm serve than the one the page is connected to): every state
// it publishes is a durable event (Emit) for each of users, so it crosses
// processes and survives a page reload. Its calls write to the database
// and must be made outside a transaction of the caller's; a failed write
// loses that state only (the next one carries the counts).
func Broadcast(ctx context.Context, db *database.DB, users []int64, id, label string) progress.Reporter {
	return &broadcast{ctx: context.WithoutCancel(ctx), db: db, users: users, ev: ProgressEvent{ID: id, Label: label, State: "running"}}
}

type broadcast struct {
	mu    sync.Mutex
	ctx   context.Context
	db    *database.DB
	users []int64
	ev    ProgressEvent
	last  time.Time
}

func (b *broadcast) Start(total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ev.Total, b.ev.Done = total, 0
	b.publish()
}

func (b *broadcast) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ev.Done += n
	if time.Since(b.last) >= outboxEvery {
		b.publish()
	}
}

func (b *broadcast) Finish(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ev.State = "done"
	if err != nil {
		b.ev.State, b.ev.Error = "failed", err.Error()
	}
	b.publish()
}

func (b *broadcast) publish() {
	b.last = time.Now()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	_ = b.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, u := range b.users {
			if _, err := Emit(ctx, tx, u, "progress", b.ev); err != nil {
				return err
			}
		}
		return nil
	})
}
