package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/live"
)

func addCompanies(t *testing.T, db *database.DB, cast dbtest.Cast, list ...company.NewCompany) []int64 {
	t.Helper()
	for i := range list {
		list[i].ResponsibleID, list[i].CreatedBy = cast.Alisa.ID, cast.Alisa.ID
		if inv := list[i].Normalize(); len(inv) > 0 {
			t.Fatal(inv)
		}
	}
	var ids []int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		ids, err = company.NewStore(db).InsertBatch(context.Background(), tx, list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func storedPairs(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM duplicate_pairs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDuplicateScanJobSurvivesARestartAndReportsProgress(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		addCompanies(t, db, cast, company.NewCompany{Name: "Альфа", INN: "7707083893"}, company.NewCompany{Name: "Альфа 2", INN: "7707083893"})
		scanner := duplicate.NewScanner(db)

		// The first process takes the click and dies mid-scan: its job is
		// in River's table, the scan row says running.
		first := newJobs(t, db, jobs.Options{NoPeriodic: true})
		sc, started, err := scanner.StartScan(ctx, cast.Admin.Scope, first.EnqueueDuplicateScan(cast.Admin.ID))
		if err != nil || !started {
			t.Fatal(started, err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE duplicate_scans SET state = 'running', done = 1, total = 5 WHERE id = $1`, sc.ID); err != nil {
			t.Fatal(err)
		}

		// The next process works it.
		hub := live.NewHub()
		hub.Attach(db, slog.New(slog.DiscardHandler))
		defer hub.Close()
		sub, _, _, err := hub.Subscribe(ctx, cast.Admin.ID, live.Cursor{}, "test")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		next := newJobs(t, db, jobs.Options{NoPeriodic: true})
		if err := next.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the scan is done", func() bool {
			last, _, err := scanner.LastScan(ctx)
			return err == nil && last.State == duplicate.ScanDone
		})
		if n := storedPairs(t, db); n != 1 {
			t.Errorf("pairs after the scan: %d", n)
		}
		deadline := time.After(5 * time.Second)
		for {
			select {
			case e := <-sub.C:
				var p live.ProgressEvent
				if e.Type != "progress" || json.Unmarshal(e.Data, &p) != nil {
					continue
				}
				if p.ID != sc.ProgressID() || p.Label != jobs.DuplicateScanLabel {
					t.Fatalf("progress event %+v", p)
				}
				if p.State == "done" {
					return
				}
			case <-deadline:
				t.Fatal("no final progress event")
			}
		}
	})
}

func TestDuplicateRecheckJobFindsAChangedCompany(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		addCompanies(t, db, cast, company.NewCompany{Name: "Бета", Emails: []company.Email{{Value: "b@beta.ru", Kind: "work"}},
			Phones: []company.Phone{{Value: "+74955555555", Kind: "work"}}})
		j := newJobs(t, db, jobs.Options{RecheckEvery: time.Second})
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := company.NewStore(db).Create(ctx, cast.Alisa.Scope, company.Input{
			Name:   company.OptString{Set: true, Value: "Бета Плюс"},
			Emails: company.OptEmails{Set: true, Value: []company.Email{{Value: "B@beta.ru", Kind: "work"}}},
			Phones: company.OptPhones{Set: true, Value: []company.Phone{{Value: "8 495 555-55-55", Kind: "work"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the new company is paired", func() bool { return storedPairs(t, db) == 1 })
	})
}

// A re-check that outlasts its interval must not have the next one start
// beside it: while one waits or runs, the periodic insert is skipped; once
// it has ended, the next is enqueued.
func TestDuplicateRecheckRunsOneAtATime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		client := newJobs(t, db, jobs.Options{}).Client()
		first, err := client.Insert(ctx, jobs.DuplicateRecheckArgs{}, jobs.RecheckInsertOpts())
		if err != nil {
			t.Fatal(err)
		}
		setState := func(state string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, `UPDATE river_job SET state = $1,
				finalized_at = CASE WHEN $3 THEN CURRENT_TIMESTAMP END WHERE id = $2`, state, first.Job.ID, state == "completed"); err != nil {
				t.Fatal(err)
			}
		}
		for _, state := range []string{"available", "running", "retryable"} {
			setState(state)
			again, err := client.Insert(ctx, jobs.DuplicateRecheckArgs{}, jobs.RecheckInsertOpts())
			if err != nil {
				t.Fatal(err)
			}
			if !again.UniqueSkippedAsDuplicate {
				t.Fatalf("a second re-check was enqueued while the first is %s", state)
			}
		}
		setState("completed")
		next, err := client.Insert(ctx, jobs.DuplicateRecheckArgs{}, jobs.RecheckInsertOpts())
		if err != nil {
			t.Fatal(err)
		}
		if next.UniqueSkippedAsDuplicate {
			t.Fatal("no re-check was enqueued after the last one ended")
		}
	})
}
