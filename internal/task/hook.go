package task

import (
	"context"
	"database/sql"

	"github.com/crmprofi/crm/internal/access"
)

// ChangeKind says what happened to a task.
type ChangeKind string

// The kinds of change hooks see.
const (
	Created   ChangeKind = "created"
	Updated   ChangeKind = "updated"
	Completed ChangeKind = "completed"
	Deleted   ChangeKind = "deleted"
	Commented ChangeKind = "commented"
	Seen      ChangeKind = "seen"
)

// Change is one committed-to-be change of a task, seen inside its
// transaction.
type Change struct {
	Kind    ChangeKind
	Actor   access.Scope
	Before  *Task    // nil on Created
	After   *Task    // nil on Deleted
	Comment *Comment // on Commented
}

// Hook is told of every change inside the change's transaction: what it
// writes with tx commits or rolls back with the change, and an error it
// returns rolls the change back. Hooks must not do network I/O (enqueue a
// job with tx instead).
type Hook func(ctx context.Context, tx *sql.Tx, c Change) error

// OnChange registers h; every write of the store — and of its WithTx
// copies, the next occurrence created by Complete and Skip included —
// calls every hook in registration order inside its transaction.
func (s *Store) OnChange(h Hook) { s.hooks.Add(h) }

func (s *Store) notify(ctx context.Context, tx *sql.Tx, c Change) error {
	return s.hooks.Run(ctx, tx, c)
}
