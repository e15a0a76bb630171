package amoimport

import (
	"context"
	"database/sql"
	"runtime"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestPlanHoldsAFewBytesARow: what the plan keeps between its steps
// grows with the file by its arrays alone — at most planBytesPerRow
// bytes a row, never the rows — so that a file ten times longer costs
// the import no more than those bytes more. The live heap is read after
// every step (after a collection) for 4,000 and 40,000 made-up rows, on
// both databases.
func TestPlanHoldsAFewBytesARow(t *testing.T) {
	if testing.Short() {
		t.Skip("stages and plans 44,000 rows")
	}
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		const small, large = 4_000, 40_000
		a, b := planHeapPeak(t, db, small), planHeapPeak(t, db, large)
		var grown uint64
		if b > a {
			grown = b - a
		}
		if limit := uint64(planBytesPerRow*(large-small)) + 64<<10; grown > limit {
			t.Errorf("the plan's live heap grew by %d kB from %d to %d rows (%.1f bytes a row), more than %d kB",
				grown>>10, small, large, float64(grown)/float64(large-small), limit>>10)
		}
		t.Logf("%d rows: %d kB, %d rows: %d kB, %.1f bytes a row", small, a>>10, large, b>>10, float64(grown)/float64(large-small))
	})
}

// planBytesPerRow is what the plan's arrays hold per row while grouping
// runs (state, parent, ИНН), the most they hold at once for an import
// into a base where none of its rows is found.
const planBytesPerRow = 9

// planHeapPeak stages n made-up rows and plans them, and returns the
// highest live heap at the end of a step, above the heap before Plan.
func planHeapPeak(t *testing.T, db *database.DB, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	var admin int64
	if err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, role, date_joined)
		VALUES ($1, 'Алексей', 'Смирнов', 'admin', $2) RETURNING id`, "a.smirnov."+time.Now().Format("150405.000000"), database.Now()).
		Scan(&admin); err != nil {
		t.Fatal(err)
	}
	var before, peak uint64
	live := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_at) VALUES ('memory.csv', TRUE, $1) RETURNING id`,
			database.Now()).Scan(&id); err != nil {
			return err
		}
		if _, err := Stage(ctx, tx, db, id, &synthRows{n: n}); err != nil {
			return err
		}
		Trace = func(string, time.Duration) {
			if h := live(); h > before {
				peak = max(peak, h-before)
			}
		}
		defer func() { Trace = nil }()
		before = live()
		_, err := Plan(ctx, tx, db, id, PlanOptions{Fallback: admin, Fresh: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return peak
}
