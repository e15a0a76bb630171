package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/export"
	"github.com/crmprofi/crm/internal/live"
)

// ExportArgs is a large export of the base (export.Job ExportID),
// enqueued in the transaction that recorded it.
type ExportArgs struct {
	ExportID int64 `json:"export_id"`
}

// Kind names the job kind in River's table.
func (ExportArgs) Kind() string { return "export.companies" }

// InsertOpts retries a failed export a few times, not for days.
func (ExportArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

type exportWorker struct {
	river.WorkerDefaults[ExportArgs]
	j *Jobs
}

// Timeout leaves a million-row export its minutes, under River's rescue.
func (w *exportWorker) Timeout(*river.Job[ExportArgs]) time.Duration { return 50 * time.Minute }

func (w *exportWorker) Work(ctx context.Context, job *river.Job[ExportArgs]) error {
	id := job.Args.ExportID
	owner, err := export.Owner(ctx, w.j.db, id)
	if errors.Is(err, apperr.ErrNotFound) {
		return river.JobCancel(err) // purged meanwhile
	}
	if err != nil {
		return err
	}
	u, err := auth.NewStore(w.j.db).Get(ctx, owner)
	if err != nil {
		return err
	}
	scope := u.Scope()
	if !scope.IsAdmin() || !u.IsActive {
		return river.JobCancel(errors.New("the admin who asked for the export is no longer an active admin"))
	}
	bar := live.Broadcast(ctx, w.j.db, []int64{owner}, export.ProgressID(id), "Выгрузка компаний")
	return export.New(w.j.db).RunJob(ctx, id, scope, w.j.exportDir(), u.Location(time.UTC), bar)
}

func (j *Jobs) exportDir() string {
	if j.opts.ExportDir != "" {
		return j.opts.ExportDir
	}
	return filepath.Join(os.TempDir(), "crm-exports")
}

// ExportPurgeArgs asks for the purge of export files past their day.
type ExportPurgeArgs struct{}

// Kind names the job kind in River's table.
func (ExportPurgeArgs) Kind() string { return "export.purge" }

type exportPurgeWorker struct {
	river.WorkerDefaults[ExportPurgeArgs]
	j *Jobs
}

func (w *exportPurgeWorker) Work(ctx context.Context, _ *river.Job[ExportPurgeArgs]) error {
	n, err := export.PurgeJobs(ctx, w.j.db, time.Now())
	if n > 0 {
		w.j.log.InfoContext(ctx, "expired exports purged", "exports", n)
	}
	return err
}
