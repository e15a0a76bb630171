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
	return &reporter{now: h.now, every: progressEvery, ev: ProgressEvent{ID: id, Label: label, State: "running"},
		publish: func(ev ProgressEvent) {
			e, err := NewEvent("progress", ev)
			if err == nil { // a struct of strings and numbers always marshals
				h.Publish(userID, e)
			}
		}}
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
	ctx = context.WithoutCancel(ctx)
	return &reporter{now: time.Now, every: outboxEvery, ev: ProgressEvent{ID: id, Label: label, State: "running"},
		publish: func(ev ProgressEvent) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_ = db.InTx(ctx, func(tx *sql.Tx) error {
				for _, u := range users {
					if _, err := Emit(ctx, tx, u, "progress", ev); err != nil {
						return err
					}
				}
				return nil
			})
		}}
}

// reporter keeps the state of one bar and hands it to publish: the first
// and the last state always, those between at most every so often.
type reporter struct {
	mu      sync.Mutex
	now     func() time.Time
	every   time.Duration
	publish func(ProgressEvent)
	ev      ProgressEvent
	last    time.Time
}

func (r *reporter) Start(total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev.Total, r.ev.Done = total, 0
	r.send()
}

func (r *reporter) Add(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev.Done += n
	if r.now().Sub(r.last) >= r.every {
		r.send()
	}
}

func (r *reporter) Finish(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev.State = "done"
	if err != nil {
		r.ev.State, r.ev.Error = "failed", err.Error()
	}
	r.send()
}

func (r *reporter) send() {
	r.last = r.now()
	r.publish(r.ev)
}
