package company

import (
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestRowsMergeTheArmsOnSQLite: a stream of children (Selection.Rows)
// orders the UNION ALL itself, so SQLite merges its arms, each read in
// the order of the list's index, instead of sorting every row of the
// stream in a temporary B-tree (as it did with the ORDER BY on a query
// around the union).
func TestRowsMergeTheArmsOnSQLite(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	cast := dbtest.NewCast(t, db)
	s := NewStore(db)
	loadCompanies(t, db, s, cast, 300)
	sel, err := s.Select(cast.Admin.Scope, Query{})
	if err != nil {
		t.Fatal(err)
	}
	query, args := sel.Rows("x.company_id, x.kind, x.child_id", "x.kind, x.pos, x.child_id",
		Arm{"p.company_id AS company_id, 1 AS kind, p.position AS pos, p.id AS child_id", " JOIN company_phones p ON p.company_id = c.id"},
		Arm{"m.company_id, 2, m.position, m.id", " JOIN company_emails m ON m.company_id = c.id"})
	plan := dbtest.SQLitePlan(t, db, query, args...)
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "MERGE (UNION ALL)") || !strings.Contains(text, "companies_name_idx") {
		t.Errorf("the stream's arms are not merged in the list's index order:\n%s", text)
	}
	for _, step := range plan {
		if step == "USE TEMP B-TREE FOR ORDER BY" {
			t.Errorf("the stream sorts all its rows:\n%s", text)
		}
	}
}
