package jobs

import (
	"context"
	"database/sql"
	"errors"
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
