package audit

import (
	"context"
	"encoding/json"
	"errors"
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

// where is the filter as SQL conditions.
func (f Filter) where() database.Where {
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
	return w
}

// List returns one page of entries, newest first, and how many match.
func (s *Store) List(ctx context.Context, scope access.Scope, f Filter) ([]Entry, int, error) {
	if err := scope.CanManage(); err != nil {
		return nil, 0, err
	}
	w := f.where()
	var count int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`+w.SQL(), w.Args()...).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count audit: %w", err)
	}
	size := f.PageSize
	if size <= 0 {
		size = 50
	}
	query := `SELECT ` + entryColumns + ` FROM audit_log` + w.SQL() + ` ORDER BY at DESC, id DESC LIMIT ` + w.Arg(size) + ` OFFSET ` + w.Arg(database.PageOffset(f.Page, size))
	rows, err := s.db.QueryContext(ctx, query, w.Args()...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		r, err := scanStored(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list audit: %w", err)
		}
		out = append(out, r.entry())
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	return out, count, nil
}

// entry is r as the log shows it: the detail decoded (a detail that is
// not JSON object comes as {"raw": text}), the hash.
func (r stored) entry() Entry {
	e := r.Entry
	if err := json.Unmarshal([]byte(r.detail), &e.Detail); err != nil {
		e.Detail = map[string]any{"raw": r.detail}
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	e.Hash = r.hash.String
	return e
}

// Each calls fn with every entry f matches (its paging aside), newest
// first like List, streaming: the export of a large log holds one entry
// at a time.
func (s *Store) Each(ctx context.Context, scope access.Scope, f Filter, fn func(Entry) error) error {
	if err := scope.CanManage(); err != nil {
		return err
	}
	w := f.where()
	rows, err := s.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_log`+w.SQL()+` ORDER BY at DESC, id DESC`, w.Args()...)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanStored(rows)
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		if err := fn(r.entry()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	return nil
}

// ChainState is what the admin page says about the chain: entries up to
// VerifiedID hold (checked at CheckedAt), Total entries are in the log;
// Broken is the first link that does not hold, if any.
type ChainState struct {
	VerifiedID int64
	LastID     int64
	CheckedAt  time.Time
	Broken     *Broken
}

// Complete reports whether the check has reached the log's end.
func (c ChainState) Complete() bool { return c.Broken == nil && c.VerifiedID >= c.LastID }

// CheckStep is how many entries one look at the chain's state checks at
// most, so that the admin page stays quick on a large log; the rest is
// checked by the next look (or "crm audit verify", which checks all).
const CheckStep = 20000

// Check moves the incremental check of the chain on by up to step
// entries from where the last one stopped and returns the state. It
// remembers the last entry that held (id and hash): a later check starts
// there, and first makes sure that entry is still the same — rewriting
// anything before it changes its hash. Old entries written before the
// chain existed are sealed first. Admins only.
func (s *Store) Check(ctx context.Context, scope access.Scope, step int64) (ChainState, error) {
	var st ChainState
	if err := scope.CanManage(); err != nil {
		return st, err
	}
	if err := Seal(ctx, s.db); err != nil {
		return st, err
	}
	var from Checked
	if err := s.db.QueryRowContext(ctx, `SELECT verified_id, verified_hash FROM audit_verification WHERE id = 1`).
		Scan(&from.LastID, &from.LastHash); err != nil {
		return st, fmt.Errorf("audit verification: %w", err)
	}
	at, err := Walk(ctx, s.db, from, step)
	var b *Broken
	if err != nil && !errors.As(err, &b) {
		return st, err
	}
	if b != nil && at.LastID == from.LastID && b.ID == from.LastID {
		// The remembered entry itself changed: nothing before it can be
		// trusted any more; start over from the beginning next time.
		at = Checked{}
	}
	st.VerifiedID, st.Broken, st.CheckedAt = at.LastID, b, database.Now()
	brokenID, reason := int64(0), ""
	if b != nil {
		brokenID, reason = b.ID, b.Reason
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE audit_verification SET verified_id = $1, verified_hash = $2, checked_at = $3,
		broken_id = $4, broken_reason = $5 WHERE id = 1`, at.LastID, at.LastHash, st.CheckedAt, brokenID, reason); err != nil {
		return st, fmt.Errorf("audit verification: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT last_id FROM audit_head WHERE id = 1`).Scan(&st.LastID); err != nil {
		return st, fmt.Errorf("audit chain head: %w", err)
	}
	return st, nil
}
