package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/live"
)

// enqueueImport creates an import of the fixture and its job in one
// transaction, as the upload does.
func enqueueImport(t *testing.T, db *database.DB, j *jobs.Jobs, by int64, file string, data []byte, dry bool) int64 {
	t.Helper()
	var id int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		im, err := amoimport.NewStore(db).Create(context.Background(), tx, amoimport.New{FileName: file, DryRun: dry, CreatedBy: by}, strings.NewReader(string(data)))
		if err != nil {
			return err
		}
		id = im.ID
		_, err = j.Enqueue(context.Background(), tx, jobs.ImportArgs{ImportID: im.ID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTheImportJobRunsTheImportOnceAndShowsItsBarToTheAdmins(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "amoimport", "testdata", "amo_small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		hub := live.NewHub()
		hub.Attach(db, slog.New(slog.DiscardHandler))
		defer hub.Close()
		sub, _, _, err := hub.Subscribe(ctx, cast.Admin.ID, live.Cursor{}, "test")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()

		j := newJobs(t, db, jobs.Options{NoPeriodic: true})
		j.UseLive(hub)
		id := enqueueImport(t, db, j, cast.Admin.ID, "amo_small.csv", data, true)
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		store := amoimport.NewStore(db)
		waitFor(t, "the import is done", func() bool {
			im, err := store.Get(ctx, id)
			return err == nil && im.Finished()
		})
		im, _ := store.Get(ctx, id)
		if im.Status != amoimport.StatusDone || im.Report.Rows == 0 {
			t.Fatalf("import: %+v", im)
		}
		var states []string
		deadline := time.After(10 * time.Second)
		for done := false; !done; {
			select {
			case e := <-sub.C:
				var p live.ProgressEvent
				if e.Type != "progress" || json.Unmarshal(e.Data, &p) != nil || p.ID != jobs.ImportProgressID(id) {
					continue
				}
				states = append(states, p.State)
				done = p.State != "running"
				if done && p.State != "done" {
					t.Fatalf("final state %+v", p)
				}
			case <-deadline:
				t.Fatalf("no final progress event; got %v", states)
			}
		}
		// The job completed in the import's own transaction: River has it
		// as completed, and the audit log has the one run.
		var n int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'import.amo' AND outcome = 'ok'`).Scan(&n)
		if n != 1 {
			t.Errorf("import.amo entries: %d", n)
		}
		waitFor(t, "the job is completed", func() bool {
			var state string
			err := db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE kind = 'import.amo'`).Scan(&state)
			return err == nil && state == "completed"
		})
	})
}

func TestAnImportOfAFileThatIsNoExportFailsOnceWithItsReason(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		j := newJobs(t, db, jobs.Options{NoPeriodic: true})
		id := enqueueImport(t, db, j, cast.Admin.ID, "prices.csv", []byte("Товар;Цена\r\nКирпич;10\r\n"), false)
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the job gives up", func() bool {
			var state string
			err := db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE kind = 'import.amo'`).Scan(&state)
			return err == nil && state == "cancelled"
		})
		im, _ := amoimport.NewStore(db).Get(ctx, id)
		if im.Status != amoimport.StatusFailed || !strings.Contains(im.Error, "не выгрузка") {
			t.Errorf("import: %+v", im)
		}
	})
}

// abandon makes the import's job look like one a killed process was
// working a minute ago: running, its run's transaction rolled back with
// the process (so the base holds nothing of it), the import "running".
func abandon(t *testing.T, db *database.DB, importID int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = $1
		WHERE kind = 'import.amo'`, time.Now().UTC().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE imports SET status = $1 WHERE id = $2`, amoimport.StatusRunning, importID); err != nil {
		t.Fatal(err)
	}
}

func TestAnImportAKilledProcessLeftRunningRunsAgainWhenAServerStarts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "amoimport", "testdata", "amo_small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		// A rescue that would come only after an hour: the import must not
		// wait for it.
		j := newJobs(t, db, jobs.Options{NoPeriodic: true, RescueAfter: time.Hour})
		id := enqueueImport(t, db, j, cast.Admin.ID, "amo_small.csv", data, false)
		abandon(t, db, id)
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		store := amoimport.NewStore(db)
		waitFor(t, "the import is done", func() bool {
			im, err := store.Get(ctx, id)
			return err == nil && im.Status == amoimport.StatusDone
		})
		var n int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'import.amo' AND outcome = 'ok'`).Scan(&n)
		if n != 1 {
			t.Errorf("import.amo entries: %d", n)
		}
	})
}

func TestAnImportALiveProcessRunsIsNotRescued(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("SQLite has one serving process: a running job at its start is abandoned")
		}
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		j := newJobs(t, db, jobs.Options{NoPeriodic: true, RescueAfter: time.Hour})
		id := enqueueImport(t, db, j, cast.Admin.ID, "amo_small.csv", []byte("x"), false)
		abandon(t, db, id)
		// The live run's lock, held by another session.
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, 0x616d6f, int32(id)); err != nil { //nolint:gosec // a test's small id
			t.Fatal(err)
		}
		if n, err := j.RescueImports(ctx); err != nil || n != 0 {
			t.Fatalf("RescueImports while a live run holds the lock = %d, %v", n, err)
		}
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, 0x616d6f, int32(id)); err != nil { //nolint:gosec // a test's small id
			t.Fatal(err)
		}
		if n, err := j.RescueImports(ctx); err != nil || n != 1 {
			t.Fatalf("RescueImports once the run is gone = %d, %v", n, err)
		}
		var state string
		_ = db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE kind = 'import.amo'`).Scan(&state)
		if state != "available" {
			t.Errorf("job state %q", state)
		}
	})
}
