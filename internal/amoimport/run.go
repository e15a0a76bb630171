package amoimport

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/progress"
)

// AuditAction is the audit log's name of an import (a dry run included):
// its totals on success, outcome error on failure, denied for a refusal.
const AuditAction = "import.amo"

// The stages of a run, as its bars name them.
const (
	StageRead  = "Чтение файла"
	StageWrite = "Запись в базу"
)

// RunOptions are what the caller of Run decides.
type RunOptions struct {
	// Actor is who imports: the admin who uploaded the file (the job) or
	// the system actor (the command line). Apply writes as Actor, and the
	// audit entry names it.
	Actor access.Scope
	// Progress makes the bar of each stage (StageRead, StageWrite); nil
	// shows nothing. Stage bars are finished with nil as their stage
	// ends; the run's failure is the caller's to show.
	Progress progress.Factory
	// BeforeCommit, if set, runs last in the run's transaction: the job
	// marks itself completed there, so that the import and its job's
	// completion commit together and a crash can never run it twice.
	BeforeCommit func(ctx context.Context, tx *sql.Tx) error
}

// ErrNotExport is a file the reader cannot take as amoCRM's export; the
// reader's FormatError, wrapped with it, says why in Russian.
var ErrNotExport = errors.New("not an amoCRM export")

// Run runs the import importID: reads its uploaded file and, in one
// transaction, stages its rows (replacing those of an earlier attempt, so
// a retried job starts over), plans them and, unless it is a dry run,
// applies the plan; the import's status, totals and report and the audit
// entry commit with it. A failure or a kill midway leaves the base as it
// was; a failure is recorded on the import (status failed, its reason)
// and audited in a transaction of its own. An import already done is not
// run again: its totals are returned.
func Run(ctx context.Context, db *database.DB, importID int64, opt RunOptions) (Summary, error) {
	st := NewStore(db)
	im, err := st.Get(ctx, importID)
	if err != nil {
		return Summary{}, err
	}
	if im.Status == StatusDone {
		return im.Report.Summary, nil
	}
	if opt.Progress == nil {
		opt.Progress = progress.Discard
	}
	if _, err := db.ExecContext(ctx, `UPDATE imports SET status = $1, started_at = $2, finished_at = NULL,
		processed = 0, total = 0, error = '' WHERE id = $3 AND status <> $4`, StatusRunning, database.Now(), importID, StatusDone); err != nil {
		return Summary{}, fmt.Errorf("import %d: %w", importID, err)
	}
	sum, err := run(ctx, db, st, im, opt)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped from outside (a shutdown): the job is retried and
			// the import stays "running" until then.
			return Summary{}, err
		}
		if ferr := fail(context.WithoutCancel(ctx), db, im, opt.Actor, err); ferr != nil {
			return Summary{}, errors.Join(err, ferr)
		}
		return Summary{}, err
	}
	return sum, nil
}

func run(ctx context.Context, db *database.DB, st *Store, im Import, opt RunOptions) (Summary, error) {
	start := time.Now()
	f, size, err := st.Spool(ctx, im.ID)
	if err != nil {
		return Summary{}, err
	}
	traceStep("spool", start)
	defer Remove(f)
	p, err := Parse(f, size)
	if err != nil {
		return Summary{}, notExport(err)
	}
	defer func() { _ = p.Close() }()
	read := opt.Progress(StageRead)
	rows := &reading{p: p, bar: read, db: db, id: im.ID}
	read.Start(size)
	fallback := im.Fallback
	if fallback == 0 {
		fallback = im.CreatedBy
	}
	var sum Summary
	err = db.InBulkTx(ctx, func(tx *sql.Tx) error {
		restore, err := db.BulkSession(ctx, tx)
		if err != nil {
			return err
		}
		defer func() { _ = restore() }()
		for _, table := range []string{"import_rows", "import_row_ids", "import_row_plans"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE import_id = $1`, im.ID); err != nil { //nolint:gosec // table names are constants
				return fmt.Errorf("import %d: %w", im.ID, err)
			}
		}
		start = time.Now()
		n, err := Stage(ctx, tx, db, im.ID, rows)
		if err != nil {
			return err
		}
		traceStep("stage", start)
		rows.done(size)
		read.Finish(nil)
		var counted *tally
		if sum, counted, err = plan(ctx, tx, db, im.ID, PlanOptions{Fallback: fallback, Fresh: true}); err != nil {
			return err
		}
		if !im.DryRun {
			write := opt.Progress(StageWrite)
			start := time.Now()
			if err := Apply(ctx, tx, db, im.ID, opt.Actor, write); err != nil {
				write.Finish(err)
				return err
			}
			write.Finish(nil)
			traceStep("apply", start)
		}
		start = time.Now()
		rep, err := report(ctx, tx, im.ID, sum, counted, p.Columns().Unknown)
		if err != nil {
			return err
		}
		traceStep("report", start)
		summary, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE imports SET status = $1, finished_at = $2, processed = $3, total = $3,
			summary = $4, error = '' WHERE id = $5`, StatusDone, database.Now(), size, string(summary), im.ID); err != nil {
			return fmt.Errorf("import %d: %w", im.ID, err)
		}
		err = audit.Record(ctx, tx, opt.Actor, audit.Entry{Action: AuditAction, ObjectType: "import", ObjectID: audit.ID(im.ID),
			Detail: map[string]any{"dry_run": im.DryRun, "file": im.FileName, "rows": n, "created": sum.Created,
				"updated": sum.Updated, "merged": sum.Merged, "skipped": sum.Skipped, "errors": sum.Errors}})
		if err != nil {
			return err
		}
		if opt.BeforeCommit != nil {
			return opt.BeforeCommit(ctx, tx)
		}
		return nil
	})
	if err != nil {
		read.Finish(err)
		return Summary{}, err
	}
	return sum, nil
}

// notExport marks a reading error that is the file's fault (Parse's
// FormatError): it is said to the user as it is, and a job does not retry
// it. Other errors (reading the spooled file) stay as they are.
func notExport(err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return fmt.Errorf("%w: %w", ErrNotExport, err)
	}
	return err
}

// IsInputError reports whether err is the file's fault (not an export,
// empty, unreadable): retrying cannot help.
func IsInputError(err error) bool {
	_, invalid := apperr.AsInvalid(err)
	var fe *FormatError
	return invalid || errors.Is(err, ErrNotExport) || errors.As(err, &fe)
}

// Check reads the beginning of an upload the way Run will, so that a file
// that is no export of amoCRM is refused at once, field by field, before
// any import exists.
func Check(r io.ReaderAt, size int64) error {
	if size == 0 {
		return errEmptyFile()
	}
	p, err := Parse(r, size)
	if err == nil {
		return p.Close()
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return apperr.Invalid{"file": fe.Message}
	}
	return err
}

// fail records on im that its run failed with cause, and audits it, in a
// transaction of its own (the run's rolled back).
func fail(ctx context.Context, db *database.DB, im Import, actor access.Scope, cause error) error {
	msg := FailureText(cause)
	return db.InTx(ctx, func(tx *sql.Tx) error {
		// A run that ended well meanwhile (another attempt) stays done.
		if _, err := tx.ExecContext(ctx, `UPDATE imports SET status = $1, finished_at = $2, error = $3 WHERE id = $4 AND status <> $5`,
			StatusFailed, database.Now(), msg, im.ID, StatusDone); err != nil {
			return fmt.Errorf("import %d: %w", im.ID, err)
		}
		return audit.Record(ctx, tx, actor, audit.Entry{Action: AuditAction, ObjectType: "import", ObjectID: audit.ID(im.ID),
			Outcome: audit.Error, Detail: map[string]any{"dry_run": im.DryRun, "file": im.FileName, "error": msg}})
	})
}

// FailureText says why a run failed, in Russian, for the page and the
// terminal: the file's fault as the reader put it, anything else as an
// internal error with its text.
func FailureText(err error) string {
	if inv, ok := apperr.AsInvalid(err); ok {
		for _, k := range []string{"file", apperr.NonField} {
			if m, ok := inv[k]; ok {
				return m
			}
		}
		for _, m := range inv {
			return m
		}
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe.Message
	}
	return "Импорт прерван, база не изменена: " + err.Error()
}

// reading is the Parser as Stage reads it, reporting the reader's progress
// (bytes of the file) on the bar and, on PostgreSQL, on the import's row
// at most once a second — from another connection, so that the API shows
// it while the run's transaction is open. SQLite has one writer, the run
// itself; its pages follow the live bar.
type reading struct {
	p    *Parser
	bar  progress.Reporter
	db   *database.DB
	id   int64
	mu   sync.Mutex
	last int64
	at   time.Time
}

func (r *reading) Next() (Row, error) {
	row, err := r.p.Next()
	done, total := r.p.Progress()
	r.advance(done, total)
	return row, err
}

func (r *reading) advance(done, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if done > r.last {
		r.bar.Add(done - r.last)
		r.last = done
	}
	if r.db.Dialect == database.Postgres && time.Since(r.at) >= time.Second {
		r.at = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = r.db.ExecContext(ctx, `UPDATE imports SET processed = $1, total = $2 WHERE id = $3`, done, total, r.id)
	}
}

// done moves the bar to the end (the reader's count may stop short of the
// file's size: a footer it skipped).
func (r *reading) done(size int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if size > r.last {
		r.bar.Add(size - r.last)
		r.last = size
	}
}

// report completes the run's totals with the report's other sections:
// the rows with warnings and the unknown «Ответственные» come from the
// plan's tally (Apply changes no row's action or issues), so the report
// no longer reads every staged row and its plan (0.7 s of CPU for 100,000
// rows on SQLite).
func report(ctx context.Context, tx *sql.Tx, id int64, sum Summary, counted *tally, columns []string) (Report, error) {
	rep := Report{Summary: sum, UnknownColumns: columns, Warnings: counted.warned}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_rows WHERE import_id = $1`, id).Scan(&rep.Rows); err != nil {
		return Report{}, fmt.Errorf("import %d report: %w", id, err)
	}
	for v, n := range counted.unknown {
		rep.UnknownResponsible = append(rep.UnknownResponsible, ValueCount{Value: v, Count: n})
	}
	sort.Slice(rep.UnknownResponsible, func(i, j int) bool {
		a, b := rep.UnknownResponsible[i], rep.UnknownResponsible[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Value < b.Value
	})
	return rep, nil
}
