package note

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
)

// Store keeps company notes. Every method takes the caller's Scope and
// puts it in the WHERE clause.
type Store struct {
	db *database.DB
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// WithTx returns the store working in the caller's transaction tx: its
// writes commit or roll back with the caller's (see database.DB.WithTx).
func (s *Store) WithTx(tx *sql.Tx) *Store { return &Store{db: s.db.WithTx(tx)} }

// Filter selects a page of notes.
type Filter struct {
	CompanyID int64 // 0: notes of every visible company
	Page      int   // 1-based
	Size      int
}

const selectNote = `SELECT n.id, n.company_id, n.author_id, COALESCE(u.first_name, ''), COALESCE(u.last_name, ''),
	n.text, n.note_type, n.is_pinned, n.created_at, n.edited_at, n.version
	FROM company_notes n LEFT JOIN users u ON u.id = n.author_id`

// scanNote reads a selectNote row; extra are columns selected after it.
func scanNote(row interface{ Scan(...any) error }, extra ...any) (Note, error) {
	var n Note
	var author sql.NullInt64
	var first, last string
	var edited sql.NullTime
	err := row.Scan(append([]any{&n.ID, &n.CompanyID, &author, &first, &last, &n.Text, &n.Type, &n.IsPinned, &n.CreatedAt, &edited, &n.Version}, extra...)...)
	if err != nil {
		return n, err
	}
	if author.Valid {
		n.AuthorID = &author.Int64
	}
	if edited.Valid {
		t := edited.Time.UTC()
		n.EditedAt = &t
	}
	n.CreatedAt = n.CreatedAt.UTC()
	n.AuthorName = strings.TrimSpace(first + " " + last)
	return n, nil
}

// List returns a page of the notes sc may see, pinned first, then newest
// first, and the number found. The rows come with the total in one query;
// only a page past the last one counts apart.
func (s *Store) List(ctx context.Context, sc access.Scope, f Filter) ([]Note, int, error) {
	set := s.db.NewReadSet()
	list := s.QueueList(set, sc, f)
	if err := set.Run(ctx); err != nil {
		return nil, 0, err
	}
	return list()
}

// QueueList queues List's query on set (database.ReadSet), so that the
// company card sends it with its other reads; the function returned gives
// List's answer once set has run.
func (s *Store) QueueList(set *database.ReadSet, sc access.Scope, f Filter) func() ([]Note, int, error) {
	var (
		out   []Note
		count int
		err   = database.ErrNotRun
	)
	q, args, where, whereArgs := listQuery(sc, f)
	set.Query(q, args, func(rows database.Rows) error {
		out, count, err = noteRows(rows)
		return err
	})
	set.After(func(ctx context.Context) error {
		if err != nil || len(out) > 0 || f.Page <= 1 {
			return nil
		}
		// Past the last page: the total apart.
		if cerr := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM company_notes n"+where, whereArgs...).Scan(&count); cerr != nil {
			err = fmt.Errorf("count notes: %w", cerr)
			return err
		}
		return nil
	})
	return func() ([]Note, int, error) { return out, count, err }
}

// noteRows reads listQuery's rows: the notes and their total.
func noteRows(rows database.Rows) ([]Note, int, error) {
	out := []Note{}
	count := 0
	for rows.Next() {
		n, err := scanNote(rows, &count)
		if err != nil {
			return nil, 0, fmt.Errorf("scan note: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list notes: %w", err)
	}
	return out, count, nil
}

// listQuery builds List's page query with its total, and the WHERE of
// the notes alone for counting apart. A company's notes ask the
// visibility of that one company by id, not of every visible company.
func listQuery(sc access.Scope, f Filter) (q string, args []any, where string, whereArgs []any) {
	var w database.Where
	if f.CompanyID != 0 {
		sc.RestrictToCompany(&w, "n.company_id", f.CompanyID)
	} else {
		sc.RestrictCompanyID(&w, "n.company_id")
	}
	where, whereArgs = w.SQL(), slices.Clone(w.Args())
	page, size := max(f.Page, 1), f.Size
	if size <= 0 {
		size = 50
	}
	q = strings.Replace(selectNote, "FROM company_notes n", ", COUNT(*) OVER () FROM company_notes n", 1) + where +
		" ORDER BY n.is_pinned DESC, n.created_at DESC, n.id DESC LIMIT " + w.Arg(size) + " OFFSET " + w.Arg(database.PageOffset(page, size))
	return q, w.Args(), where, whereArgs
}

// Get returns a note sc may see; ErrNotFound otherwise.
func (s *Store) Get(ctx context.Context, sc access.Scope, id int64) (Note, error) {
	return get(ctx, s.db, sc, id)
}

func get(ctx context.Context, q database.Querier, sc access.Scope, id int64) (Note, error) {
	var w database.Where
	w.Add("n.id = ?", id)
	sc.RestrictCompanyID(&w, "n.company_id")
	n, err := scanNote(q.QueryRowContext(ctx, selectNote+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return Note{}, apperr.ErrNotFound
	}
	if err != nil {
		return Note{}, fmt.Errorf("get note %d: %w", id, err)
	}
	return n, nil
}

// Create adds a note to a company sc sees; seeing a company is enough to
// write on its timeline.
func (s *Store) Create(ctx context.Context, sc access.Scope, in Input) (Note, error) {
	if sc.UserID == 0 {
		return Note{}, apperr.ErrNotFound
	}
	if err := in.clean(); err != nil {
		return Note{}, err
	}
	var n Note
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := company.VisibleRef(ctx, tx, sc, in.Company); err != nil {
			if errors.Is(err, apperr.ErrNotFound) {
				return apperr.Invalid{"company": "Компания не найдена"}
			}
			return err
		}
		pinned := in.IsPinned != nil && *in.IsPinned
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO company_notes (company_id, author_id, note_type, text, is_pinned, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, in.Company, sc.UserID, in.Type, in.Text, pinned, database.Now()).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert note: %w", err)
		}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "note.create", ObjectType: "note", ObjectID: audit.ID(id),
			Detail: map[string]any{"company": in.Company, "note_type": in.Type}}); err != nil {
			return err
		}
		n, err = get(ctx, tx, sc, id)
		return err
	})
	return n, err
}

// Update changes a note's text, type and pin. Only the author may; anyone
// else who sees the note gets Forbidden, and the attempt is audited.
func (s *Store) Update(ctx context.Context, sc access.Scope, id int64, in Input) (Note, error) {
	var cur Note
	if err := in.clean(); err != nil {
		return Note{}, err
	}
	var n Note
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		cur, err = get(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if err := sc.CanChangeNote(cur.Author(), access.NoteEdit); err != nil {
			return err
		}
		if in.Version != 0 && in.Version != cur.Version {
			return apperr.ErrConflict
		}
		pinned := cur.IsPinned
		if in.IsPinned != nil {
			pinned = *in.IsPinned
		}
		edited := database.NullTime(database.Now())
		if in.Text == cur.Text && in.Type == cur.Type {
			edited = database.NullTime(timeOrZero(cur.EditedAt))
		}
		res, err := tx.ExecContext(ctx, `UPDATE company_notes SET text = $1, note_type = $2, is_pinned = $3, edited_at = $4, version = version + 1
			WHERE id = $5 AND version = $6`, in.Text, in.Type, pinned, edited, id, cur.Version)
		if err != nil {
			return fmt.Errorf("update note %d: %w", id, err)
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return apperr.ErrConflict
		}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "note.update", ObjectType: "note", ObjectID: audit.ID(id),
			Detail: map[string]any{"company": cur.CompanyID, "old_text": cur.Text}}); err != nil {
			return err
		}
		n, err = get(ctx, tx, sc, id)
		return err
	})
	err = withNoteDetail(err, cur)
	return n, err
}

// Delete removes a note for good and returns it as it was; the audit entry
// keeps its text. Only the author may delete; anyone else who sees the
// note gets Forbidden, and the attempt is audited.
func (s *Store) Delete(ctx context.Context, sc access.Scope, id int64) (Note, error) {
	var cur Note
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		cur, err = get(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if err := sc.CanChangeNote(cur.Author(), access.NoteDelete); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM company_notes WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete note %d: %w", id, err)
		}
		return audit.Record(ctx, tx, sc, audit.Entry{Action: "note.delete", ObjectType: "note", ObjectID: audit.ID(id),
			Detail: map[string]any{"company": cur.CompanyID, "author": cur.AuthorName, "note_type": cur.Type,
				"created_at": cur.CreatedAt, "text": cur.Text}})
	})
	err = withNoteDetail(err, cur)
	return cur, err
}

// SetPinned pins or unpins a note: its author, or anyone who may edit the
// company (see the package comment). Pinning does not mark the note edited.
func (s *Store) SetPinned(ctx context.Context, sc access.Scope, id int64, pinned bool) (Note, error) {
	var cur Note
	var n Note
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		cur, err = get(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if !cur.IsAuthor(sc.UserID) {
			ref, err := company.VisibleRef(ctx, tx, sc, cur.CompanyID)
			if err != nil {
				return err
			}
			if err := sc.CanPinNote(cur.Author(), ref); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE company_notes SET is_pinned = $1, version = version + 1 WHERE id = $2`, pinned, id); err != nil {
			return fmt.Errorf("pin note %d: %w", id, err)
		}
		action := "note.pin"
		if !pinned {
			action = "note.unpin"
		}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: action, ObjectType: "note", ObjectID: audit.ID(id),
			Detail: map[string]any{"company": cur.CompanyID}}); err != nil {
			return err
		}
		n, err = get(ctx, tx, sc, id)
		return err
	})
	err = withNoteDetail(err, cur)
	return n, err
}

// CanPinAll reports whether sc may pin or unpin every note of a company
// (it may edit the company), so pages offer the button only to those who
// may press it; authors may always pin their own notes.
func (s *Store) CanPinAll(ctx context.Context, sc access.Scope, companyID int64) bool {
	ref, err := company.VisibleRef(ctx, s.db, sc, companyID)
	return err == nil && PinsAll(sc, ref)
}

// PinsAll is CanPinAll's rule for a company already read: the company card
// has it at hand and asks no query.
func PinsAll(sc access.Scope, ref access.CompanyRef) bool {
	return sc.CanEditCompany(ref) == nil
}

// withNoteDetail gives a refusal the note it was about, so that the audit
// entry the server writes for it keeps the author and the text.
func withNoteDetail(err error, n Note) error {
	var forb *apperr.Forbidden
	if !errors.As(err, &forb) {
		return err
	}
	return &apperr.Forbidden{Reason: forb.Reason,
		Detail: map[string]any{"company": n.CompanyID, "author": n.AuthorName, "text": n.Text}}
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
