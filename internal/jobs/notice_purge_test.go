package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
)

// The periodic purge removes notifications read more than 90 days ago and
// live events past their replay window, keeping the rest.
func TestThePeriodicPurgeOfNotificationsAndLiveEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		old, recent := time.Now().Add(-100*24*time.Hour).UTC(), time.Now().Add(-time.Minute).UTC()
		insert := func(read bool, readAt time.Time) {
			if _, err := db.ExecContext(ctx, `INSERT INTO notifications (user_id, kind, title, is_read, read_at, created_at)
				VALUES ($1, 'task.due', 'Срок', $2, $3, $4)`, cast.Alisa.ID, read, database.NullTime(readAt), old); err != nil {
				t.Fatal(err)
			}
		}
		insert(true, old)          // purged
		insert(true, recent)       // read lately: kept
		insert(false, time.Time{}) // unread: kept however old
		for _, at := range []time.Time{old, old, recent} {
			if _, err := db.ExecContext(ctx, `INSERT INTO live_events (user_id, type, data, created_at) VALUES ($1, 'unread', '{}', $2)`,
				cast.Alisa.ID, at); err != nil {
				t.Fatal(err)
			}
		}
		j := newJobs(t, db, jobs.Options{PurgeEvery: time.Hour})
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		count := func(q string) int {
			var n int
			if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		waitFor(t, "the purge ran", func() bool {
			return count(`SELECT COUNT(*) FROM notifications`) == 2 && count(`SELECT COUNT(*) FROM live_events`) == 1
		})
	})
}
