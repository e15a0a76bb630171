package database

import (
	"context"
	"database/sql"
	"sync"
)

// Hooks is the list of functions a store tells of its changes inside the
// change's transaction, each with what changed (v): what a hook writes
// with tx commits or rolls back with the change, and an error it returns
// rolls the change back. It lets one package react to another's writes
// (tasks to a user's time zone) without the writer knowing of it. A store
// and its WithTx copies share one *Hooks. Safe for concurrent use.
type Hooks[T any] struct {
	mu   sync.RWMutex
	list []func(ctx context.Context, tx *sql.Tx, v T) error
}

// Add registers fn; Run calls the hooks in registration order.
func (h *Hooks[T]) Add(fn func(ctx context.Context, tx *sql.Tx, v T) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.list = append(h.list, fn)
}

// Run calls every hook with v inside tx and stops at the first error.
func (h *Hooks[T]) Run(ctx context.Context, tx *sql.Tx, v T) error {
	h.mu.RLock()
	list := h.list
	h.mu.RUnlock()
	for _, fn := range list {
		if err := fn(ctx, tx, v); err != nil {
			return err
		}
	}
	return nil
}
