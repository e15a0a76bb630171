package amoimport

import (
	"context"
	"database/sql"
	"runtime"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
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

// TestApplyHoldsNoRowState: Apply reads and writes the plan a chunk at a
// time, so what it keeps between its steps does not grow with the file —
// no map or list of rows, entities or ids. The live heap is read at the
// end of each of Apply's steps (after a collection) for 12,000 and 48,000
// made-up rows, on both databases; both files fill whole chunks of
// companies (applyChunkRows), so both have held the buffers a chunk
// needs. On PostgreSQL the companies' names wait for their trigrams
// (company.Store.DeferTrigrams) in a queue bounded by deferredNames,
// which the test sets below the smaller file's 2,400 companies, so that
// the queue is the same size for both files; the queue's bound itself is
// tested in package company
// (TestDeferredTrigramsOverTheBoundAreWrittenInRuns). What the heap
// holds at a step's end varies by up to 100 kB between runs of the same
// file on PostgreSQL (the connection's buffers): applyHeapSlack allows
// that, and a map of the file's companies' ids alone would be twice it.
func TestApplyHoldsNoRowState(t *testing.T) {
	if testing.Short() {
		t.Skip("stages, plans and applies 60,000 rows")
	}
	defer func(n int) { deferredNames = n }(deferredNames)
	deferredNames = 500
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		const small, large = 12_000, 48_000
		a, b := stepHeaps(t, db, small, true), stepHeaps(t, db, large, true)
		for _, step := range []string{"apply companies", "apply contacts", "apply"} {
			var grown uint64
			if b[step] > a[step] {
				grown = b[step] - a[step]
			}
			if limit := uint64(applyHeapSlack); grown > limit {
				t.Errorf("%s: the live heap grew by %d kB from %d to %d rows (%.1f bytes a row), more than %d kB",
					step, grown>>10, small, large, float64(grown)/float64(large-small), limit>>10)
			}
			t.Logf("%s: %d rows: %d kB, %d rows: %d kB, %.1f bytes a row", step, small, a[step]>>10, large, b[step]>>10,
				float64(grown)/float64(large-small))
		}
	})
}

// applyHeapSlack is how much the live heap at the end of an Apply step
// may differ between two files whatever their length.
const applyHeapSlack = 160 << 10

// planHeapPeak stages n made-up rows and plans them, and returns the
// highest live heap at the end of a step of Plan, above the heap before
// Plan.
func planHeapPeak(t *testing.T, db *database.DB, n int) uint64 {
	t.Helper()
	var peak uint64
	for _, h := range stepHeaps(t, db, n, false) {
		peak = max(peak, h)
	}
	return peak
}

// stepHeaps stages n made-up rows, plans them and, if apply, applies the
// plan, and returns the live heap at the end of each step (after a
// collection), above the heap before Plan.
func stepHeaps(t *testing.T, db *database.DB, n int, apply bool) map[string]uint64 {
	t.Helper()
	ctx := context.Background()
	var admin int64
	if err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, role, date_joined)
		VALUES ($1, 'Алексей', 'Смирнов', 'admin', $2) RETURNING id`, "a.smirnov."+time.Now().Format("150405.000000"), database.Now()).
		Scan(&admin); err != nil {
		t.Fatal(err)
	}
	var before uint64
	heaps := map[string]uint64{}
	live := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_at) VALUES ('memory.csv', $1, $2) RETURNING id`,
			!apply, database.Now()).Scan(&id); err != nil {
			return err
		}
		if _, err := Stage(ctx, tx, db, id, &synthRows{n: n}); err != nil {
			return err
		}
		Trace = func(step string, _ time.Duration) {
			if h := live(); h > before {
				heaps[step] = max(heaps[step], h-before)
			} else {
				heaps[step] = max(heaps[step], 0)
			}
		}
		defer func() { Trace = nil }()
		before = live()
		if _, err := Plan(ctx, tx, db, id, PlanOptions{Fallback: admin, Fresh: true}); err != nil || !apply {
			return err
		}
		start := time.Now()
		if err := Apply(ctx, tx, db, id, access.System("memory"), nil); err != nil {
			return err
		}
		traceStep("apply", start)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return heaps
}
