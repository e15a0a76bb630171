package database_test

import (
	"context"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestInIDsFindsTheIDsInOneTextOnPostgres checks Dialect.InIDs on both
// databases: it matches exactly the given ids (none for an empty list),
// and on PostgreSQL the statement is one text whatever the number of ids,
// so that it is prepared and planned once per connection (issue 6).
func TestInIDsFindsTheIDsInOneTextOnPostgres(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		all := []int64{cast.Admin.ID, cast.Alisa.ID, cast.Boris.ID, cast.Vera.ID}
		texts := map[string]bool{}
		for _, ids := range [][]int64{nil, all[:1], all[1:3], all} {
			var w database.Where
			w.Add("id" + db.Dialect.InIDs(&w, ids))
			query := `SELECT id FROM users` + w.SQL() + ` ORDER BY id`
			texts[query] = true
			got := queryIDs(ctx, t, db, query, w.Args()...)
			want := slices.Sorted(slices.Values(ids))
			if !slices.Equal(got, want) {
				t.Errorf("%v: got %v", ids, got)
			}
		}
		if db.Dialect == database.Postgres && len(texts) != 1 {
			t.Errorf("PostgreSQL got %d texts for four lists, want one: %v", len(texts), texts)
		}
	})
}

// queryIDs is the ids query answers.
func queryIDs(ctx context.Context, t *testing.T, db *database.DB, query string, args ...any) []int64 {
	t.Helper()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
