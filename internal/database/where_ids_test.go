package database_test

import (
	"context"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestInIDsFindsTheIDsInOneText checks Dialect.InIDs and InTexts on both
// databases: they match exactly the given values (none for an empty
// list), and the statement is one text whatever the number of values, so
// that it is prepared and planned once per connection (issue 6).
func TestInIDsFindsTheIDsInOneText(t *testing.T) {
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
		if len(texts) != 1 {
			t.Errorf("%d texts for four lists, want one: %v", len(texts), texts)
		}
		names := []string{cast.Admin.Username, cast.Alisa.Username, `"quoted" \\ name`}
		texts = map[string]bool{}
		for _, list := range [][]string{nil, names[:1], names} {
			var w database.Where
			w.Add("username" + db.Dialect.InTexts(&w, list))
			query := `SELECT id FROM users` + w.SQL() + ` ORDER BY id`
			texts[query] = true
			got := queryIDs(ctx, t, db, query, w.Args()...)
			var want []int64
			for _, m := range []dbtest.Member{cast.Admin, cast.Alisa} {
				if slices.Contains(list, m.Username) {
					want = append(want, m.ID)
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%q: got %v, want %v", list, got, want)
			}
		}
		if len(texts) != 1 {
			t.Errorf("%d texts for three lists of names, want one: %v", len(texts), texts)
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
