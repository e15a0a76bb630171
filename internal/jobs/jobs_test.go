package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
)

// newJobs prepares a real River client on db and stops it when the test
// ends.
func newJobs(t *testing.T, db *database.DB, opts jobs.Options) *jobs.Jobs {
	t.Helper()
	opts.PollInterval = 200 * time.Millisecond
	j, err := jobs.New(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := j.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return j
}

// pings counts the audit entries the ping job with this id has written.
func pings(t *testing.T, db *database.DB, id int64) int {
	t.Helper()
	var n int
	err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'jobs.ping' AND object_id = $1`,
		audit.ID(id)).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds or 30 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// enqueuePing enqueues a ping in its own transaction, which commits when
// commit is set and rolls back otherwise.
func enqueuePing(t *testing.T, db *database.DB, j *jobs.Jobs, seq int, commit bool) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	rollback := errors.New("roll back")
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = j.Enqueue(ctx, tx, jobs.PingArgs{Seq: seq}); err != nil {
			return err
		}
		if !commit {
			return rollback
		}
		return nil
	})
	if commit && err != nil || !commit && !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	return id
}

func TestAJobRunsOnlyIfItsTransactionCommits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		j := newJobs(t, db, jobs.Options{NoPeriodic: true})
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		lost := enqueuePing(t, db, j, 1, false)
		kept := enqueuePing(t, db, j, 2, true)
		waitFor(t, "the committed job ran", func() bool { return pings(t, db, kept) == 1 })
		// The rolled-back job's id may be handed out again (SQLite reuses
		// a rolled-back rowid), so it is looked for by its argument.
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'jobs.ping' AND detail LIKE '%"seq":1%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("the job of the rolled back transaction (id %d) ran %d times", lost, n)
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("river_job holds %d jobs, want only the committed one", n)
		}
	})
}

func TestAJobSurvivesARestart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		first := newJobs(t, db, jobs.Options{NoPeriodic: true})
		if err := first.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := first.Stop(stop); err != nil {
			t.Fatal(err)
		}
		// Enqueued through the stopped process: nobody works it yet.
		id := enqueuePing(t, db, first, 7, true)
		time.Sleep(500 * time.Millisecond)
		if n := pings(t, db, id); n != 0 {
			t.Fatalf("a job ran with no process working: %d", n)
		}
		second := newJobs(t, db, jobs.Options{NoPeriodic: true})
		if err := second.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the next process ran the job", func() bool { return pings(t, db, id) == 1 })
	})
}

func TestThePurgeOfExpiredSessionsRunsAsAPeriodicJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		past, future := database.Now().Add(-time.Hour), database.Now().Add(time.Hour)
		for i, expires := range []time.Time{past, future} {
			_, err := db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent)
				VALUES ($1, $2, $3, $4, $3, '', '')`, []string{"dead", "live"}[i], cast.Alisa.ID, past.Add(-time.Hour), expires)
			if err != nil {
				t.Fatal(err)
			}
		}
		// A login-throttle window that ended and one still counting.
		now := time.Now().UnixMilli()
		for i, expires := range []int64{now - 1000, now + 3_600_000} {
			_, err := db.ExecContext(ctx, `INSERT INTO login_throttle (subject, failures, started_ms, expires_ms) VALUES ($1, 3, $2, $3)`,
				[]string{"login:ended", "login:counting"}[i], now-60_000, expires)
			if err != nil {
				t.Fatal(err)
			}
		}
		j := newJobs(t, db, jobs.Options{})
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the expired session and the ended window are purged", func() bool {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM sessions WHERE token_hash = 'dead')
				+ (SELECT COUNT(*) FROM login_throttle WHERE subject = 'login:ended')`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 0
		})
		var counting int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_throttle WHERE subject = 'login:counting'`).Scan(&counting); err != nil || counting != 1 {
			t.Fatalf("the purge removed a window still counting (%d, %v)", counting, err)
		}
		var live int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE token_hash = 'live'`).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if live != 1 {
			t.Fatal("the purge removed a live session")
		}
	})
}

// TestTheAuditChainIsVerifiedAsAPeriodicJob: the daily full check of the
// audit chain runs at start and keeps its result for the admin page.
func TestTheAuditChainIsVerifiedAsAPeriodicJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		for i := range 5 {
			if err := audit.Record(ctx, db, access.System("test"), audit.Entry{Action: "jobs.ping", ObjectID: audit.ID(int64(i + 1))}); err != nil {
				t.Fatal(err)
			}
		}
		j := newJobs(t, db, jobs.Options{})
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the full check of the audit chain ran", func() bool {
			var entries int64
			var reason string
			if err := db.QueryRowContext(ctx, `SELECT full_entries, full_broken_reason FROM audit_verification
				WHERE full_checked_at IS NOT NULL`).Scan(&entries, &reason); err != nil {
				return false
			}
			if reason != "" {
				t.Fatalf("the full check found the chain broken: %s", reason)
			}
			return entries >= 5
		})
	})
}
