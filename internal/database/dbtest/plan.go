package dbtest

import (
	"context"
	"testing"

	"github.com/crmprofi/crm/internal/database"
)

// SQLitePlan returns the details of SQLite's EXPLAIN QUERY PLAN of query,
// one entry per node, for tests that check which index a statement reads.
// SQLite's plans are stable without statistics, so tests check them there.
func SQLitePlan(t testing.TB, q database.Querier, query string, args ...any) []string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var plan []string
	for rows.Next() {
		var (
			id, parent, unused int
			detail             string
		)
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
