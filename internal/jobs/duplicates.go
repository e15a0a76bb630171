package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/live"
)

// DuplicateScanArgs is a full duplicate scan (the admin page «Дубли»,
// «Проверить всю базу»): ScanID is its duplicate_scans row, UserID the
// admin whose page follows its progress bar. A process that stops
// mid-scan leaves the job to be retried; the scan starts over (it
// replaces the pairs only at its end).
type DuplicateScanArgs struct {
	ScanID int64 `json:"scan_id"`
	UserID int64 `json:"user_id"`
}

// Kind names the job kind in River's table.
func (DuplicateScanArgs) Kind() string { return "duplicate.scan" }

// InsertOpts retries a failed scan a few times, not for days.
func (DuplicateScanArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// DuplicateScanLabel is the label of the scan's progress bar.
const DuplicateScanLabel = "Проверка базы"

type duplicateScanWorker struct {
	river.WorkerDefaults[DuplicateScanArgs]
	j       *Jobs
	scanner *duplicate.Scanner
}

// Timeout lets a scan of a large base run its course (River's default is
// a minute).
func (w *duplicateScanWorker) Timeout(*river.Job[DuplicateScanArgs]) time.Duration {
	return 30 * time.Minute
}

func (w *duplicateScanWorker) Work(ctx context.Context, job *river.Job[DuplicateScanArgs]) error {
	// Every admin's open «Дубли» page follows the bar, whichever process
	// serves it: the states go through the durable live events.
	admins, err := activeAdmins(ctx, w.j.db)
	if err != nil {
		return err
	}
	rep := live.Broadcast(ctx, w.j.db, admins, "duplicate-scan-"+strconv.FormatInt(job.Args.ScanID, 10), DuplicateScanLabel)
	start := time.Now()
	err = w.scanner.RunScan(ctx, job.Args.ScanID, rep)
	if err != nil {
		if job.Attempt >= job.MaxAttempts {
			_ = w.scanner.FailScan(context.WithoutCancel(ctx), job.Args.ScanID, err)
		}
		return err
	}
	w.j.log.InfoContext(ctx, "duplicate scan finished", "scan", job.Args.ScanID, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// DuplicateRecheckArgs re-checks the companies created or changed since
// their last check (marked in duplicate_dirty by triggers, in the change's
// own transaction). It runs every RecheckEvery.
type DuplicateRecheckArgs struct{}

// Kind names the job kind in River's table.
func (DuplicateRecheckArgs) Kind() string { return "duplicate.recheck" }

// recheckRounds bounds one run: a bulk load marks many companies, and a
// full scan is the faster way through those; the next run goes on.
const recheckRounds = 20

// recheckBudget is the time after which a run starts no new round.
const recheckBudget = 2 * time.Minute

type duplicateRecheckWorker struct {
	river.WorkerDefaults[DuplicateRecheckArgs]
	j       *Jobs
	scanner *duplicate.Scanner
}

// Timeout: a round of 500 companies takes seconds on PostgreSQL and up to
// a few minutes on a busy SQLite; River's default minute would cut it.
func (w *duplicateRecheckWorker) Timeout(*river.Job[DuplicateRecheckArgs]) time.Duration {
	return 15 * time.Minute
}

func (w *duplicateRecheckWorker) Work(ctx context.Context, _ *river.Job[DuplicateRecheckArgs]) error {
	total := 0
	start := time.Now()
	for range recheckRounds {
		if time.Since(start) > recheckBudget {
			break // the next run goes on
		}
		n, more, err := w.scanner.Recheck(ctx)
		total += n
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	if total > 0 {
		w.j.log.InfoContext(ctx, "companies re-checked for duplicates", "companies", total)
	}
	return nil
}

// EnqueueDuplicateScan is duplicate.Enqueue for this queue: the scan's
// job, followed by userID's progress bar.
func (j *Jobs) EnqueueDuplicateScan(userID int64) duplicate.Enqueue {
	return func(ctx context.Context, tx *sql.Tx, scanID int64) (int64, error) {
		return j.Enqueue(ctx, tx, DuplicateScanArgs{ScanID: scanID, UserID: userID})
	}
}

// activeAdmins are the ids of the active administrators: those who see
// the page «Дубли».
func activeAdmins(ctx context.Context, db *database.DB) ([]int64, error) {
	ids, err := database.Column[int64](ctx, db, `SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("admins: %w", err)
	}
	return ids, nil
}
