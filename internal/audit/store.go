package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// Store reads the audit log; only admins may.
type Store struct {
	db *database.DB
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// Filter narrows the log. Action matches a prefix ("export" gives every
// export.*); zero values do not filter. Until is exclusive.
type Filter struct {
	Action     string
	Actor      int64
	ObjectType string
	ObjectID   string
	Outcome    string
	Since      time.Time
	Until      time.Time
	Page       int // 1-based; 0 means 1
	PageSize   int // 0 means 50
}

// List returns one page of entries, newest first, and how many match.
func (s *Store) List(ctx context.Context, scope access.Scope, f Filter) ([]Entry, int, error) {
	if err := scope.CanManage(); err != nil {
		return nil, 0, err
	}
	var w database.Where
	if f.Action != "" {
		w.Add("action >= ? AND action < ?", f.Action, database.PrefixEnd(f.Action))
	}
	if f.Actor != 0 {
		w.Add("actor_id = ?", f.Actor)
	}
	if f.ObjectType != "" {
		w.Add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		w.Add("object_id = ?", f.ObjectID)
	}
	if f.Outcome != "" {
		w.Add("outcome = ?", f.Outcome)
	}
	if !f.Since.IsZero() {
		w.Add("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		w.Add("at < ?", f.Until.UTC())
	}
	var count int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`+w.SQL(), w.Args()...).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count audit: %w", err)
	}
	size := f.PageSize
	if size <= 0 {
		size = 50
	}
	query := `SELECT id, at, COALESCE(actor_id, 0), actor_name, actor_system, action, object_type, object_id, outcome, ip, detail
		FROM audit_log` + w.SQL() + ` ORDER BY at DESC, id DESC LIMIT ` + w.Arg(size) + ` OFFSET ` + w.Arg(database.PageOffset(f.Page, size))
	rows, err := s.db.QueryContext(ctx, query, w.Args()...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var detail string
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.System, &e.Action, &e.ObjectType, &e.ObjectID, &e.Outcome, &e.IP, &detail); err != nil {
			return nil, 0, fmt.Errorf("list audit: %w", err)
		}
		e.At = e.At.UTC()
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			e.Detail = map[string]any{"raw": detail}
		}
		if e.Detail == nil {
			e.Detail = map[string]any{}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	return out, count, nil
}
