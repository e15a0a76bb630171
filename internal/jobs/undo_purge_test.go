package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/task"
)

// The periodic purge drops bulk-action undo records that expired more
// than a day ago, and keeps the live ones and the lately expired (a late
// «Отменить» is told it expired, not that it is unknown).
func TestThePeriodicPurgeOfExpiredBulkUndoRecords(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		now := time.Now()
		for i, expires := range []time.Time{
			now.Add(-task.UndoRetention - time.Hour), // purged
			now.Add(-task.UndoRetention - time.Hour), // purged
			now.Add(-time.Hour),                      // expired lately: kept
			now.Add(task.UndoWindow),                 // live: kept
		} {
			if _, err := db.ExecContext(ctx, `INSERT INTO task_bulk_undo (token_hash, user_id, action, payload, created_ms, expires_ms)
				VALUES ($1, $2, 'complete', '[]', $3, $4)`, "h"+string(rune('a'+i)), cast.Alisa.ID,
				expires.Add(-task.UndoWindow).UnixMilli(), expires.UnixMilli()); err != nil {
				t.Fatal(err)
			}
		}
		j := newJobs(t, db, jobs.Options{PurgeEvery: time.Hour})
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the purge ran", func() bool {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM task_bulk_undo`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 2
		})
		var kept []string
		rows, err := db.QueryContext(ctx, `SELECT token_hash FROM task_bulk_undo ORDER BY token_hash`)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, h)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(kept) != 2 || kept[0] != "hc" || kept[1] != "hd" {
			t.Fatalf("kept %q, want the lately expired and the live record", kept)
		}
	})
}
