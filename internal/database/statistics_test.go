package database_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestStatisticsAreFullWithoutSamples: RefreshStatistics analyses a
// table that has grown past its statistics (or has none, or has a new
// index), leaves one
// whose size they still describe, and keeps no sqlite_stat4 samples —
// also those a plain ANALYZE left before. PostgreSQL: nothing to do.
func TestStatisticsAreFullWithoutSamples(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if db.Dialect != database.SQLite {
			if tables, err := db.RefreshStatistics(ctx); err != nil || tables != nil {
				t.Fatalf("PostgreSQL: %v, %v; want nothing", tables, err)
			}
			return
		}
		count := func(q string) int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		exec := func(q string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		fill := func(n int) {
			t.Helper()
			exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ` + strconv.Itoa(n) + `)
				INSERT INTO spheres (name) SELECT 'Сфера ' || (SELECT COUNT(*) FROM spheres) || '-' || i FROM s`)
		}
		fill(3000)
		tables, err := db.RefreshStatistics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(tables, "spheres") {
			t.Fatalf("analysed %v; want spheres among them (3,000 rows, no statistics)", tables)
		}
		if n := count(`SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'spheres'`); n == 0 {
			t.Fatal("no sqlite_stat1 rows for spheres")
		}
		if n := count(`SELECT COUNT(*) FROM sqlite_stat4`); n != 0 {
			t.Fatalf("%d sqlite_stat4 samples; want none", n)
		}

		// Unchanged: nothing to analyse.
		if tables, err := db.RefreshStatistics(ctx); err != nil || slices.Contains(tables, "spheres") {
			t.Fatalf("second run analysed %v (%v); want spheres left alone", tables, err)
		}
		// Grown more than twice: analysed again.
		fill(4000)
		if tables, err := db.RefreshStatistics(ctx); err != nil || !slices.Contains(tables, "spheres") {
			t.Fatalf("after growth analysed %v (%v); want spheres", tables, err)
		}

		// A new index (a migration's) has no statistics: analysed again.
		exec(`CREATE INDEX spheres_probe_idx ON spheres (id, name)`)
		if tables, err := db.RefreshStatistics(ctx); err != nil || !slices.Contains(tables, "spheres") {
			t.Fatalf("after a new index analysed %v (%v); want spheres", tables, err)
		}
		if tables, err := db.RefreshStatistics(ctx); err != nil || len(tables) != 0 {
			t.Fatalf("a run after a full analysis analysed %v (%v); want none", tables, err)
		}

		// Samples a plain ANALYZE left (an older bench's base) go.
		exec(`ANALYZE`)
		if n := count(`SELECT COUNT(*) FROM sqlite_stat4`); n == 0 {
			t.Skip("this SQLite keeps no sqlite_stat4 samples")
		}
		if _, err := db.RefreshStatistics(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM sqlite_stat4`); n != 0 {
			t.Fatalf("%d sqlite_stat4 samples after the refresh; want none", n)
		}
		if n := count(`SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'spheres'`); n == 0 {
			t.Fatal("the refresh dropped sqlite_stat1")
		}
	})
}
