package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
)

// A new time zone saved through the API — the user's own in the profile,
// an admin's edit of a user, a branch's — moves the all-day due jobs of
// the users it concerns in the same request: the server wires the user
// and dictionary stores to the task events.
func TestZoneChangesThroughTheAPIMoveAllDayDueJobs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		j, err := jobs.New(ctx, db, jobs.Options{NoPeriodic: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = j.Stop(context.Background()) })
		e := newTestEnv(t, db)
		e.srv.Close()
		e.srv = New(e.srv.cfg, slog.New(slog.DiscardHandler), db, WithJobs(j))
		c := e.cast
		day := time.Now().AddDate(0, 0, 5).Format("2006-01-02")
		create := func(m dbtest.Member) int64 {
			var out struct{ ID int64 }
			if code := e.api(&m, "POST", "/api/tasks/", map[string]any{"title": "Весь день", "due_at": day}, &out); code != http.StatusCreated {
				t.Fatalf("create: %d", code)
			}
			return out.ID
		}
		// dueAt is when the task's current due job is scheduled, UTC, as HH:MM.
		dueAt := func(id int64) string {
			t.Helper()
			var jobID int64
			if err := db.QueryRowContext(ctx, `SELECT job_id FROM task_timers WHERE task_id = $1 AND kind = 'task.due'`, id).Scan(&jobID); err != nil {
				t.Fatal(err)
			}
			row, err := j.Client().JobGet(ctx, jobID)
			if err != nil {
				t.Fatal(err)
			}
			if got := row.ScheduledAt.UTC().Format("2006-01-02"); got != day {
				t.Fatalf("due job on %s, want %s", got, day)
			}
			return row.ScheduledAt.UTC().Format("15:04")
		}
		alisa, boris := create(c.Alisa), create(c.Boris)
		if got := dueAt(alisa); got != "06:00" {
			t.Fatalf("Алиса's job at %s UTC, want 06:00 (nine in Moscow)", got)
		}
		t.Run("the profile's zone", func(t *testing.T) {
			if code := e.api(&c.Alisa, "PATCH", "/api/me/", map[string]any{"time_zone": "Asia/Yekaterinburg"}, nil); code != http.StatusOK {
				t.Fatalf("profile: %d", code)
			}
			if got := dueAt(alisa); got != "04:00" {
				t.Fatalf("Алиса's job at %s UTC, want 04:00 (nine in Yekaterinburg)", got)
			}
		})
		t.Run("an admin's edit of a user", func(t *testing.T) {
			path := "/api/users/" + strconv.FormatInt(c.Alisa.ID, 10) + "/"
			if code := e.api(&c.Admin, "PATCH", path, map[string]any{"time_zone": "Asia/Novosibirsk"}, nil); code != http.StatusOK {
				t.Fatalf("admin edit: %d", code)
			}
			if got := dueAt(alisa); got != "02:00" {
				t.Fatalf("Алиса's job at %s UTC, want 02:00 (nine in Novosibirsk)", got)
			}
		})
		t.Run("a branch's zone, for its users without their own", func(t *testing.T) {
			path := "/api/branches/" + strconv.FormatInt(c.BranchA, 10) + "/"
			if code := e.api(&c.Admin, "PATCH", path, map[string]any{"time_zone": "Asia/Yekaterinburg"}, nil); code != http.StatusOK {
				t.Fatalf("branch edit: %d", code)
			}
			if got := dueAt(boris); got != "04:00" {
				t.Fatalf("Борис's job at %s UTC, want 04:00", got)
			}
			if got := dueAt(alisa); got != "02:00" {
				t.Fatalf("Алиса's own zone did not hold: %s UTC", got)
			}
		})
	})
}
