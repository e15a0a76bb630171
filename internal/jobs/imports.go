package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/internal/progress"
)

// ImportArgs is the run of an import of amoCRM's export (the admin page
// «Импорт из amoCRM», POST /api/imports/): ImportID is its imports row,
// enqueued in the transaction that created it. The run is one
// transaction that also marks the job completed, so a process killed
// midway leaves the base as it was and River works the job again from
// the start; an import already done is never run twice.
type ImportArgs struct {
	ImportID int64 `json:"import_id"`
}

// Kind names the job kind in River's table.
func (ImportArgs) Kind() string { return amoimport.AuditAction }

// InsertOpts retries an interrupted import a few times, not for days.
func (ImportArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// ImportProgressID is the id of an import's live progress bar (the page's
// data-progress attribute).
func ImportProgressID(importID int64) string { return "import-" + strconv.FormatInt(importID, 10) }

type importWorker struct {
	river.WorkerDefaults[ImportArgs]
	j *Jobs
}

// Timeout lets a million-row import run its course (seconds to minutes;
// Options.ImportTimeout, 50 minutes by default) and stays under River's
// default rescue of abandoned jobs (an hour), so a slow import is never
// worked twice at once.
func (w *importWorker) Timeout(*river.Job[ImportArgs]) time.Duration {
	if w.j.opts.ImportTimeout > 0 {
		return w.j.opts.ImportTimeout
	}
	return 50 * time.Minute
}

func (w *importWorker) Work(ctx context.Context, job *river.Job[ImportArgs]) error {
	id := job.Args.ImportID
	im, err := amoimport.NewStore(w.j.db).Get(ctx, id)
	if errors.Is(err, apperr.ErrNotFound) {
		return river.JobCancel(err) // deleted meanwhile: nothing to do
	}
	if err != nil {
		return err
	}
	release, err := w.j.lockImport(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	actor, err := importActor(ctx, w.j.db, im)
	if err != nil {
		return err
	}
	bars, err := w.j.importBars(ctx, id)
	if err != nil {
		return err
	}
	if w.j.db.Dialect == database.SQLite {
		read := &readCounter{}
		w.j.reads.Store(id, read)
		defer w.j.reads.Delete(id)
		bars.read = read
	}
	start := time.Now()
	sum, err := amoimport.Run(ctx, w.j.db, id, amoimport.RunOptions{
		Actor:    actor,
		Progress: bars.stage,
		BeforeCommit: func(ctx context.Context, tx *sql.Tx) error {
			return completeTx(ctx, w.j.db, tx, job)
		},
	})
	if err != nil && ctx.Err() == nil {
		bars.finish(errors.New(amoimport.FailureText(err)))
	} else if err == nil {
		bars.finish(nil)
	}
	if err != nil {
		if amoimport.IsInputError(err) {
			return river.JobCancel(err) // the file's fault: a retry cannot help
		}
		return err
	}
	w.j.log.InfoContext(ctx, "amoCRM import finished", "import", id, "dry_run", im.DryRun,
		"created", sum.Created, "updated", sum.Updated, "merged", sum.Merged, "skipped", sum.Skipped, "errors", sum.Errors,
		"elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// importLockSpace is the first key of the PostgreSQL advisory lock a run
// of an import holds for as long as it works (the second is the import's
// id): the server releases a session's locks when the session ends, so a
// process that dies midway lets go of it at once.
const importLockSpace = 0x616d6f // "amo"

// lockImport takes, on PostgreSQL, the advisory lock of import id's run on
// a connection of its own; release lets it go. SQLite has one serving
// process: nothing to take.
func (j *Jobs) lockImport(ctx context.Context, id int64) (release func(), err error) {
	if j.db.Dialect != database.Postgres {
		return func() {}, nil
	}
	conn, err := j.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("import %d: lock: %w", id, err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, importLockSpace, importLockID(id)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("import %d: lock: %w", id, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, importLockSpace, importLockID(id))
		_ = conn.Close()
	}, nil
}

// importLockID is the lock's second key: the id within int4 (two imports
// that share one only wait for each other, and are never rescued wrongly).
func importLockID(id int64) int32 { return int32(id & 0x7fffffff) } //nolint:gosec // masked to 31 bits

// importRescueGrace is how long a job may have been running before a
// starting process may take it for abandoned: a live process takes the
// run's lock within moments of fetching the job.
const importRescueGrace = 30 * time.Second

// RescueImports makes the import jobs that a process which died left
// running available again at once, so that a killed import is resumed (from
// the start: its run is one transaction, rolled back with the process) as
// soon as a server starts, not when River would count it as stuck (after
// CRM_JOB_RESCUE_AFTER). Start runs it before this process works any job
// (and, on PostgreSQL, every importRescueGrace after: watchImports). On
// SQLite, the one serving process, every running import job is abandoned;
// on PostgreSQL one is abandoned when it has run longer than
// importRescueGrace and nobody holds its run's lock. It returns how many
// jobs it made available.
func (j *Jobs) RescueImports(ctx context.Context) (int, error) {
	q := `SELECT id, CAST(json_extract(args, '$.import_id') AS INTEGER) FROM river_job WHERE kind = $1 AND state = 'running'`
	if j.db.Dialect == database.Postgres {
		q = `SELECT id, (args->>'import_id')::bigint FROM river_job WHERE kind = $1 AND state = 'running'
			AND attempted_at < now() - make_interval(secs => $2)`
	}
	args := []any{ImportArgs{}.Kind()}
	if j.db.Dialect == database.Postgres {
		args = append(args, importRescueGrace.Seconds())
	}
	type running struct{ job, importID int64 }
	var list []running
	err := func() error {
		rows, err := j.db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var r running
			if err := rows.Scan(&r.job, &r.importID); err != nil {
				return err
			}
			list = append(list, r)
		}
		return rows.Err()
	}()
	if err != nil {
		return 0, fmt.Errorf("jobs: rescue imports: %w", err)
	}
	n := 0
	for _, r := range list {
		ok, err := j.rescueImport(ctx, r.job, r.importID)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			j.log.WarnContext(ctx, "amoCRM import abandoned by a process that stopped: run again", "import", r.importID, "job", r.job)
		}
	}
	return n, nil
}

// watchImports runs RescueImports every importRescueGrace until ctx ends
// or the client stops: a job a process fetched just before it died, too
// fresh to be taken at start, and a job of another process that dies later
// are run again within a minute.
func (j *Jobs) watchImports(ctx context.Context, stopped <-chan struct{}) {
	tick := time.NewTicker(importRescueGrace)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stopped:
			return
		case <-tick.C:
			if _, err := j.RescueImports(ctx); err != nil && ctx.Err() == nil {
				j.log.WarnContext(ctx, "abandoned imports not rescued", "error", err)
			}
		}
	}
}

// rescueImport makes job available again unless, on PostgreSQL, a live
// run holds the lock of its import.
func (j *Jobs) rescueImport(ctx context.Context, job, importID int64) (bool, error) {
	const again = `UPDATE river_job SET state = 'available' WHERE id = $1 AND state = 'running'`
	if j.db.Dialect != database.Postgres {
		res, err := j.db.ExecContext(ctx, again, job)
		if err != nil {
			return false, fmt.Errorf("jobs: rescue import %d: %w", importID, err)
		}
		n, err := res.RowsAffected()
		return n > 0, err
	}
	conn, err := j.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("jobs: rescue import %d: %w", importID, err)
	}
	defer func() { _ = conn.Close() }()
	var free bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, importLockSpace, importLockID(importID)).Scan(&free); err != nil {
		return false, fmt.Errorf("jobs: rescue import %d: %w", importID, err)
	}
	if !free {
		return false, nil // a live process runs it
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, importLockSpace, importLockID(importID))
	}()
	res, err := conn.ExecContext(ctx, again, job)
	if err != nil {
		return false, fmt.Errorf("jobs: rescue import %d: %w", importID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// importActor is the scope the import writes with: its admin's, or the
// system's when the admin is gone.
func importActor(ctx context.Context, db *database.DB, im amoimport.Import) (access.Scope, error) {
	if im.CreatedBy == 0 {
		return access.System("import-amo"), nil
	}
	u, err := auth.NewStore(db).Get(ctx, im.CreatedBy)
	if errors.Is(err, apperr.ErrNotFound) {
		return access.System("import-amo"), nil
	}
	if err != nil {
		return access.Scope{}, err
	}
	return u.Scope(), nil
}

// UseLive gives the jobs of this process the hub of its live events
// stream: on SQLite an import's bar reaches the admins' pages through it
// (the import's transaction holds SQLite's one writer, so its progress
// cannot go through the durable outbox meanwhile; SQLite has one serving
// process, so the hub is the one their pages follow).
func (j *Jobs) UseLive(h *live.Hub) { j.hub = h }

// importBars is the live bar of one import's run, followed by every
// active admin's open page: one bar, whose label names the stage.
type importBars struct {
	make func(label string) progress.Reporter
	last progress.Reporter
	read *readCounter // SQLite: the reading stage's count, for ReadProgress
}

func (j *Jobs) importBars(ctx context.Context, id int64) (*importBars, error) {
	admins, err := activeAdmins(ctx, j.db)
	if err != nil {
		return nil, err
	}
	barID := ImportProgressID(id)
	b := &importBars{}
	switch {
	case j.db.Dialect == database.Postgres:
		b.make = func(label string) progress.Reporter { return live.Broadcast(ctx, j.db, admins, barID, label) }
	case j.hub != nil:
		b.make = func(label string) progress.Reporter {
			reps := make(fanout, len(admins))
			for i, a := range admins {
				reps[i] = live.Progress(j.hub, a, barID, label)
			}
			return reps
		}
	default:
		b.make = progress.Discard
	}
	return b, nil
}

// stage is the progress.Factory Run reports through: a stage's end is not
// the import's, so only the run's own end (finish) says done or failed.
func (b *importBars) stage(label string) progress.Reporter {
	b.last = b.make(label)
	if label == amoimport.StageRead && b.read != nil {
		b.last = fanout{b.last, b.read}
	}
	return stageBar{b.last}
}

// readCounter counts the bytes an import running in this process has
// read of its file.
type readCounter struct{ done, total atomic.Int64 }

func (c *readCounter) Start(total int64) { c.total.Store(total) }
func (c *readCounter) Add(n int64)       { c.done.Add(n) }
func (c *readCounter) Finish(error)      {}

// ReadProgress is how far a run of import id working in this process has
// read its file (bytes read, file size); ok is false when none is
// running here. On PostgreSQL the run writes this on the import's row from
// another connection once a second; SQLite's one writer is the run itself
// for as long as it lasts, so the API asks here (SQLite has one serving
// process).
func (j *Jobs) ReadProgress(id int64) (done, total int64, ok bool) {
	v, ok := j.reads.Load(id)
	if !ok {
		return 0, 0, false
	}
	c := v.(*readCounter)
	return c.done.Load(), c.total.Load(), true
}

func (b *importBars) finish(err error) {
	if b.last == nil {
		b.last = b.make(amoimport.StageRead)
	}
	b.last.Finish(err)
}

type stageBar struct{ progress.Reporter }

func (stageBar) Finish(error) {}

// fanout is one bar shown to several users of this process.
type fanout []progress.Reporter

func (f fanout) Start(total int64) {
	for _, r := range f {
		r.Start(total)
	}
}

func (f fanout) Add(n int64) {
	for _, r := range f {
		r.Add(n)
	}
}

func (f fanout) Finish(err error) {
	for _, r := range f {
		r.Finish(err)
	}
}
