package audit

import (
	"context"
	"database/sql"
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

// ChainState is what the admin page says about the chain: Verified of
// the Total entries (counted by their numbers in the lanes) hold, checked
// at CheckedAt; LastID is the newest entry's id; Broken is the first link
// that does not hold, if any.
type ChainState struct {
	Verified  int64
	Total     int64
	LastID    int64
	CheckedAt time.Time
	Broken    *Broken
	// Full is the last full check (FullCheck): it also sees an edit
	// behind the incremental check's anchors.
	Full FullCheck
}

// FullCheck is the result of a walk of every lane from its first entry:
// when it ran (zero: never), how many entries held, and the first broken
// link, if any.
type FullCheck struct {
	At      time.Time
	Entries int64
	Broken  *Broken
}

// VerifyAll walks the whole chain (Seal first, then Verify) and keeps the
// result for the admin page — the daily job audit.verify and "crm audit
// verify" both run it. A broken chain is the result, not an error: the
// error is for a check that could not run.
func VerifyAll(ctx context.Context, db *database.DB) (FullCheck, error) {
	var c FullCheck
	if err := Seal(ctx, db); err != nil {
		return c, fmt.Errorf("не удалось дописать хеши старых записей: %w", err)
	}
	n, err := Verify(ctx, db)
	if err != nil && !errors.As(err, &c.Broken) {
		return c, err
	}
	c.At, c.Entries = database.Now(), n
	var lane, id int64
	reason := ""
	if b := c.Broken; b != nil {
		lane, id, reason = b.Lane, b.ID, b.Reason
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit_verification SET full_checked_at = $1, full_entries = $2,
		full_broken_lane = $3, full_broken_id = $4, full_broken_reason = $5 WHERE id = 1`, c.At, c.Entries, lane, id, reason); err != nil {
		return c, fmt.Errorf("audit verification: %w", err)
	}
	return c, nil
}

// lastFullCheck reads what VerifyAll kept.
func lastFullCheck(ctx context.Context, db *database.DB) (FullCheck, error) {
	var c FullCheck
	var at sql.NullTime
	var lane, id int64
	var reason string
	if err := db.QueryRowContext(ctx, `SELECT full_checked_at, full_entries, full_broken_lane, full_broken_id, full_broken_reason
		FROM audit_verification WHERE id = 1`).Scan(&at, &c.Entries, &lane, &id, &reason); err != nil {
		return c, fmt.Errorf("audit verification: %w", err)
	}
	c.At = at.Time.UTC()
	if reason != "" {
		c.Broken = &Broken{Lane: lane, ID: id, Reason: reason}
	}
	return c, nil
}

// Complete reports whether the check has reached the end of every lane.
func (c ChainState) Complete() bool { return c.Broken == nil && c.Verified >= c.Total }

// CheckStep is how many entries one look at the chain's state checks at
// most, so that the admin page stays quick on a large log; the rest is
// checked by the next look (or "crm audit verify", which checks all).
const CheckStep = 10000

// Check moves the incremental check of the chain on by up to step
// entries from where the last one stopped, lane by lane, and returns the
// state. It remembers each lane's last entry that held (number and
// hash): a later check starts there, and first makes sure that entry is
// still the same — rewriting anything before it changes its hash. Old
// entries written before the chain existed are sealed first. Admins
// only.
func (s *Store) Check(ctx context.Context, scope access.Scope, step int64) (ChainState, error) {
	var st ChainState
	if err := scope.CanManage(); err != nil {
		return st, err
	}
	if err := Seal(ctx, s.db); err != nil {
		return st, err
	}
	lanes, err := s.verifiedLanes(ctx)
	if err != nil {
		return st, err
	}
	st.CheckedAt = database.Now()
	left := step
	for _, from := range lanes {
		at := from
		if left > 0 && st.Broken == nil {
			var err error
			at, err = Walk(ctx, s.db, from, left)
			var b *Broken
			if err != nil && !errors.As(err, &b) {
				return st, err
			}
			if b != nil && at.LastSeq == from.LastSeq && b.Seq == from.LastSeq {
				// The remembered entry itself changed: nothing before it
				// can be trusted any more; start the lane over next time.
				at = Checked{Lane: from.Lane}
			}
			st.Broken, left = b, left-at.Count
			if at != from {
				if _, err := s.db.ExecContext(ctx, `UPDATE audit_lane SET verified_seq = $1, verified_hash = $2 WHERE lane = $3`,
					at.LastSeq, at.LastHash, at.Lane); err != nil {
					return st, fmt.Errorf("audit verification: %w", err)
				}
			}
		}
		st.Verified += at.LastSeq
	}
	brokenLane, brokenID, reason := int64(0), int64(0), ""
	if b := st.Broken; b != nil {
		brokenLane, brokenID, reason = b.Lane, b.ID, b.Reason
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE audit_verification SET checked_at = $1, broken_lane = $2, broken_id = $3, broken_reason = $4 WHERE id = 1`,
		st.CheckedAt, brokenLane, brokenID, reason); err != nil {
		return st, fmt.Errorf("audit verification: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(last_seq), 0), COALESCE(MAX(last_id), 0) FROM audit_lane`).Scan(&st.Total, &st.LastID); err != nil {
		return st, fmt.Errorf("audit chain head: %w", err)
	}
	st.Full, err = lastFullCheck(ctx, s.db)
	return st, err
}

// verifiedLanes is where the incremental check stopped in each lane.
func (s *Store) verifiedLanes(ctx context.Context) ([]Checked, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lane, verified_seq, verified_hash FROM audit_lane ORDER BY lane`)
	if err != nil {
		return nil, fmt.Errorf("audit verification: %w", err)
	}
	defer rows.Close()
	var out []Checked
	for rows.Next() {
		var c Checked
		if err := rows.Scan(&c.Lane, &c.LastSeq, &c.LastHash); err != nil {
			return nil, fmt.Errorf("audit verification: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit verification: %w", err)
	}
	return out, nil
}
