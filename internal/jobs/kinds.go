package jobs

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/internal/notify"
	"github.com/crmprofi/crm/internal/phone"
	"github.com/crmprofi/crm/internal/task"
)

// register lists every job kind this application works, in one place.
func (j *Jobs) register(w *river.Workers) {
	river.AddWorker(w, &purgeWorker{db: j.db, users: auth.NewStore(j.db), throttle: auth.NewThrottle(j.db), log: j.log})
	river.AddWorker(w, &pingWorker{j: j})
	river.AddWorker(w, &noticePurgeWorker{db: j.db, notices: notify.NewStore(j.db), log: j.log})
	river.AddWorker(w, &taskDueWorker{j: j})
	river.AddWorker(w, &taskReminderWorker{j: j})
	scanner := duplicate.NewScanner(j.db)
	scanner.Recent = j.opts.DuplicateChecks
	river.AddWorker(w, &duplicateScanWorker{j: j, scanner: scanner})
	river.AddWorker(w, &duplicateRecheckWorker{j: j, scanner: scanner})
	river.AddWorker(w, &importWorker{j: j})
	river.AddWorker(w, &exportWorker{j: j})
	river.AddWorker(w, &exportPurgeWorker{j: j})
	phones := phone.NewStore(j.db)
	river.AddWorker(w, &phoneSendWorker{j: j, store: phones})
	river.AddWorker(w, &phoneExpireWorker{store: phones})
	river.AddWorker(w, &phoneUnpairedWorker{j: j})
	river.AddWorker(w, &auditVerifyWorker{j: j})
}

// periodic lists the jobs River enqueues on a schedule. Only the elected
// leader among the processes enqueues them, and each is unique within
// its period, so it runs once per interval however many processes serve.
func (j *Jobs) periodic(opts Options) []*river.PeriodicJob {
	every := opts.PurgeEvery
	if every <= 0 {
		every = time.Hour
	}
	recheck := opts.RecheckEvery
	if recheck <= 0 {
		recheck = 30 * time.Second
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(recheck), func() (river.JobArgs, *river.InsertOpts) {
			return DuplicateRecheckArgs{}, RecheckInsertOpts()
		}, &river.PeriodicJobOpts{ID: DuplicateRecheckArgs{}.Kind(), RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
			return PurgeArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: every}}
		}, &river.PeriodicJobOpts{ID: PurgeArgs{}.Kind(), RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
			return NoticePurgeArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: every}}
		}, &river.PeriodicJobOpts{ID: NoticePurgeArgs{}.Kind(), RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
			return ExportPurgeArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: every}}
		}, &river.PeriodicJobOpts{ID: ExportPurgeArgs{}.Kind(), RunOnStart: true}),
		// Daily, and at start unless it ran that (UTC) day already.
		river.NewPeriodicJob(river.PeriodicInterval(auditVerifyEvery), func() (river.JobArgs, *river.InsertOpts) {
			return AuditVerifyArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: auditVerifyEvery}}
		}, &river.PeriodicJobOpts{ID: AuditVerifyArgs{}.Kind(), RunOnStart: true}),
	}
}

// NoticePurgeArgs asks for the purge of notifications read more than 90
// days ago and of live events past their replay window.
type NoticePurgeArgs struct{}

// Kind names the job kind in River's table.
func (NoticePurgeArgs) Kind() string { return "notify.purge" }

type noticePurgeWorker struct {
	river.WorkerDefaults[NoticePurgeArgs]
	db      *database.DB
	notices *notify.Store
	log     *slog.Logger
}

func (w *noticePurgeWorker) Work(ctx context.Context, _ *river.Job[NoticePurgeArgs]) error {
	now := time.Now()
	read, err := w.notices.Purge(ctx, now.Add(-notify.ReadRetention))
	if err != nil {
		return err
	}
	events, err := live.Purge(ctx, w.db, now.Add(-live.DefaultRetain))
	if err != nil {
		return err
	}
	if read+events > 0 {
		w.log.InfoContext(ctx, "read notifications and old live events purged", "notifications", read, "events", events)
	}
	return nil
}

// PurgeArgs asks for the purge of expired sessions, refresh tokens,
// login-throttle windows, bulk-action undo records and the uploaded files
// of imports that ended a week ago, which keeps those tables the size of
// the active user base.
type PurgeArgs struct{}

// Kind names the job kind in River's table.
func (PurgeArgs) Kind() string { return "auth.purge_expired" }

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	db       *database.DB
	users    *auth.Store
	throttle *auth.Throttle
	log      *slog.Logger
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	n, err := w.users.PurgeExpired(ctx)
	if err != nil {
		return err
	}
	windows, err := w.throttle.PurgeExpired(ctx)
	if err != nil {
		return err
	}
	undo, err := task.PurgeUndo(ctx, w.db, time.Now().Add(-task.UndoRetention))
	if err != nil {
		return err
	}
	files, err := amoimport.NewStore(w.db).PurgeFiles(ctx, time.Now().AddDate(0, 0, -amoimport.FileRetentionDays))
	if err != nil {
		return err
	}
	qr, err := phone.NewStore(w.db).PurgeSealedQR(ctx)
	if err != nil {
		return err
	}
	if n += windows + undo + files + qr; n > 0 {
		w.log.InfoContext(ctx, "expired sessions, tokens, undo records, import files and pairing QR links purged", "rows", n)
	}
	return nil
}

// PingActor is the system actor the diagnostic ping job writes as.
const PingActor = "job:ping"

// PingArgs is the diagnostic job: its run writes one audit entry
// ("jobs.ping" by the system actor job:ping, object the job's id) in the
// same transaction that marks the job completed, so each job that ran
// leaves exactly one entry. The end-to-end test counts them to prove that
// processes sharing a database never run a job twice.
type PingArgs struct {
	Seq int `json:"seq"`
}

// Kind names the job kind in River's table.
func (PingArgs) Kind() string { return "jobs.ping" }

type pingWorker struct {
	river.WorkerDefaults[PingArgs]
	j *Jobs
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[PingArgs]) error {
	client := ""
	if c, err := river.ClientFromContextSafely[*sql.Tx](ctx); err == nil {
		client = c.ID()
	}
	return w.j.db.InTx(ctx, func(tx *sql.Tx) error {
		err := audit.Record(ctx, tx, access.System(PingActor), audit.Entry{Action: "jobs.ping", ObjectType: "job",
			ObjectID: audit.ID(job.ID), Detail: map[string]any{"seq": job.Args.Seq, "client": client}})
		if err != nil {
			return err
		}
		return completeTx(ctx, w.j.db, tx, job)
	})
}

// RecheckInsertOpts make the duplicate re-check one run at a time: a new
// run is not enqueued while one waits or runs, only after it has ended.
// Unique by period instead, a run that outlasted its 30 s (a busy
// machine, a bulk load) had the next one start beside it: both worked
// the same dirty companies and queued on each other's locks.
func RecheckInsertOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}
