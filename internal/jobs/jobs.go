// Package jobs runs the application's durable background work on River
// (github.com/riverqueue/river), in the application's own database: a job
// is a row written in the transaction of the action that asks for it, so
// it exists only if the action committed, survives restarts, and is worked
// once by one of however many `crm serve` processes share the database.
//
// PostgreSQL uses River's database/sql driver (our *sql.Tx is River's
// transaction) with a dedicated pgx connection for LISTEN/NOTIFY, so a new
// job starts at once; SQLite uses River's SQLite driver, polling at a
// moderate pace so that River does not compete with user writes for
// SQLite's single writer.
//
// Every job kind and periodic job is registered in kinds.go. A package
// that enqueues jobs and is itself used by a worker declares the
// one-method interface it needs (Enqueue) rather than importing this one.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/internal/phone"
)

// Options tune a Jobs; the zero value is what `crm serve` runs with.
type Options struct {
	// Log receives River's warnings and errors and the workers' reports.
	Log *slog.Logger
	// Workers is how many jobs one process works at once; 0 means 4 on
	// PostgreSQL and 2 on SQLite.
	Workers int
	// PollInterval is how often a process looks for jobs it was not told
	// about: 0 means 5 s on PostgreSQL (LISTEN/NOTIFY is the fast path) and
	// 2 s on SQLite (each look takes the write lock for a moment).
	PollInterval time.Duration
	// PurgeEvery is the interval of the purge of expired sessions and
	// refresh tokens; 0 means an hour.
	PurgeEvery time.Duration
	// RecheckEvery is the interval of the duplicate re-check of changed
	// companies; 0 means 30 s.
	RecheckEvery time.Duration
	// DuplicateChecks, if set, holds what the process's company saves
	// found (the server's company.Store.ShareChecks): the re-check takes
	// it instead of asking the duplicate engine again.
	DuplicateChecks *duplicate.Recent
	// NoPeriodic leaves the periodic jobs out (tests of other behaviour).
	NoPeriodic bool
	// RescueAfter is how long a job may run before River counts it as
	// abandoned by a process that died and works it again; 0 means an
	// hour. It must exceed every worker's Timeout.
	RescueAfter time.Duration
	// ImportTimeout bounds one run of an amoCRM import; 0 means 50
	// minutes. River rescues a job abandoned by a dead process only once
	// its own timeout has passed, so this is also how long a killed
	// import waits before another process runs it again.
	ImportTimeout time.Duration
	// ExportDir is where export jobs write their files; "" means
	// crm-exports in the system's temporary folder.
	ExportDir string
	// Push sends the phones' push messages (fcm.Sender); nil: FCM is not
	// configured and the phones use the long-poll only.
	Push phone.Pusher
}

// Jobs owns the River client of one process: New prepares it (jobs can be
// enqueued at once), Start begins working, Stop ends it.
type Jobs struct {
	opts     Options
	db       *database.DB
	log      *slog.Logger
	client   *river.Client[*sql.Tx]
	listener *pgxpool.Pool // PostgreSQL only
	hub      *live.Hub     // this process's live events (UseLive); nil: none
	reads    sync.Map      // import id → *readCounter of its run here (SQLite)
	running  atomic.Bool   // between a successful Start and the client's stop (/readyz)
}

// New prepares the River client on db with every registered job kind.
// It does not start working: Enqueue works at once, Start begins working.
func New(ctx context.Context, db *database.DB, opts Options) (*Jobs, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	j := &Jobs{db: db, log: log, opts: opts}
	workers := river.NewWorkers()
	j.register(workers)
	cfg := &river.Config{
		Logger:            slog.New(warnings{log.Handler()}),
		Workers:           workers,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		FetchPollInterval: opts.PollInterval,
		// A job that still fails after this many tries is kept as
		// discarded for a look, not retried for days.
		MaxAttempts:          10,
		RescueStuckJobsAfter: opts.RescueAfter,
	}
	if opts.RescueAfter > 0 && opts.RescueAfter < time.Minute {
		// River wants the default timeout within the rescue (a test's
		// seconds); workers with a Timeout of their own keep theirs.
		cfg.JobTimeout = opts.RescueAfter
	}
	if !opts.NoPeriodic {
		cfg.PeriodicJobs = j.periodic(opts)
	}
	var driver riverdriver.Driver[*sql.Tx]
	switch db.Dialect {
	case database.Postgres:
		if cfg.Queues[river.QueueDefault].MaxWorkers == 0 {
			cfg.Queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: 4}
		}
		if cfg.FetchPollInterval == 0 {
			cfg.FetchPollInterval = 5 * time.Second
		}
		pc, err := pgxpool.ParseConfig(db.DSN())
		if err != nil {
			return nil, fmt.Errorf("jobs: listener pool: %w", err)
		}
		// One connection, hijacked by River for LISTEN for as long as the
		// client runs; none held while idle otherwise.
		pc.MaxConns, pc.MinConns = 1, 0
		if j.listener, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
			return nil, fmt.Errorf("jobs: listener pool: %w", err)
		}
		driver = riverdatabasesql.NewWithPgxListener(db.DB, j.listener)
	default:
		if cfg.Queues[river.QueueDefault].MaxWorkers == 0 {
			cfg.Queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: 2}
		}
		if cfg.FetchPollInterval == 0 {
			cfg.FetchPollInterval = 2 * time.Second
		}
		cfg.FetchCooldown = min(250*time.Millisecond, cfg.FetchPollInterval)
		driver = riversqlite.New(db.DB)
	}
	// The phones' pushes: short network calls that a user waits for, in
	// a queue of their own (phone.PushQueue).
	// A user is watching the toast: the queue is fetched 10 ms after an
	// insert wakes it rather than the default 100 ms (250 ms on SQLite),
	// and on SQLite, where no notification crosses processes, it is
	// polled every 100 ms (a one-row index lookup).
	push := river.QueueConfig{MaxWorkers: 10}
	if db.Dialect != database.Postgres {
		push.FetchCooldown, push.FetchPollInterval = 10*time.Millisecond, 100*time.Millisecond
	}
	cfg.Queues[phone.PushQueue] = push
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		j.closeListener()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	j.client = client
	return j, nil
}

// Start begins working jobs (and, on the elected leader among the
// processes, enqueuing the periodic ones) until Stop or ctx ends. First it
// makes the imports a killed process left running available again
// (RescueImports), so they resume now rather than after RescueAfter; on
// PostgreSQL, where other processes may die meanwhile, it looks again
// every importRescueGrace.
func (j *Jobs) Start(ctx context.Context) error {
	if _, err := j.RescueImports(ctx); err != nil {
		j.log.WarnContext(ctx, "abandoned imports not rescued", "error", err)
	}
	if err := j.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	j.running.Store(true)
	stopped := j.client.Stopped()
	go func() {
		<-stopped
		j.running.Store(false)
	}()
	if j.db.Dialect == database.Postgres {
		go j.watchImports(ctx, stopped)
	}
	return nil
}

// Running reports whether the queue is working jobs: started and not yet
// stopped (by Stop, or by River giving up).
func (j *Jobs) Running() bool { return j.running.Load() }

// Stop lets running jobs finish within ctx's deadline, cancels those still
// running then (they are retried later, by this or another process), and
// releases the LISTEN connection. A Jobs that never started stops at once.
func (j *Jobs) Stop(ctx context.Context) error {
	j.running.Store(false)
	defer j.closeListener()
	err := j.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = j.client.StopAndCancel(hard)
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

func (j *Jobs) closeListener() {
	if j.listener != nil {
		j.listener.Close()
		j.listener = nil
	}
}

// Enqueue adds a job in the caller's transaction tx: it exists, and will
// run, only if tx commits. Network I/O an action needs (push, mail) goes
// here, so that it happens after the commit and never while SQLite's write
// lock is held.
func (j *Jobs) Enqueue(ctx context.Context, tx *sql.Tx, args river.JobArgs) (int64, error) {
	res, err := j.client.InsertTx(ctx, tx, args, nil)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// Cancel cancels the job jobID in the caller's transaction tx: a job not
// yet running never runs; one running finishes but is not retried; one
// already finished, or gone, is left as it is.
func (j *Jobs) Cancel(ctx context.Context, tx *sql.Tx, jobID int64) error {
	_, err := j.client.JobCancelTx(ctx, tx, jobID)
	if err != nil && !errors.Is(err, river.ErrNotFound) {
		return fmt.Errorf("cancel job %d: %w", jobID, err)
	}
	return nil
}

// EnqueueMany adds jobs in the caller's transaction tx in one go (an
// import asking for many).
func (j *Jobs) EnqueueMany(ctx context.Context, tx *sql.Tx, args []river.JobArgs) error {
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	if _, err := j.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue %d jobs: %w", len(args), err)
	}
	return nil
}

// Client is the River client, for what this package does not wrap
// (listing jobs, subscribing to their events in tests).
func (j *Jobs) Client() *river.Client[*sql.Tx] { return j.client }

// completeTx marks job completed in tx, so that the work a job writes and
// its completion commit together: a crash in between cannot make it run
// twice. River needs its driver's type for this.
func completeTx[T river.JobArgs](ctx context.Context, db *database.DB, tx *sql.Tx, job *river.Job[T]) error {
	var err error
	if db.Dialect == database.Postgres {
		_, err = river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, job)
	} else {
		_, err = river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job)
	}
	return err
}

// warnings passes River's warnings and errors to the application's log and
// drops its routine information.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(attrs)}
}

func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }
