package company

import (
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/access"
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

// TestOnlyTheLiveBaseIsWhole: the selection of every live company, as an
// administrator's unfiltered list has it in any ordering, is Whole (its
// children may be read as whole tables); a text search, a filter, the
// trash or a scope that sees part of the base is not.
func TestOnlyTheLiveBaseIsWhole(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	cast := dbtest.NewCast(t, db)
	s := NewStore(db)
	for _, c := range []struct {
		name  string
		scope access.Scope
		q     Query
		whole bool
	}{
		{"the administrator's list", cast.Admin.Scope, Query{}, true},
		{"the list by creation date", cast.Admin.Scope, Query{Ordering: "-created_at"}, true},
		{"the system's export", access.System("test"), Query{}, true},
		{"a global manager's list", cast.Gleb.Scope, Query{}, true},
		{"a text search", cast.Admin.Scope, Query{Text: "строй"}, false},
		{"a filter by responsible", cast.Admin.Scope, Query{Responsible: cast.Alisa.ID}, false},
		{"the trash", cast.Admin.Scope, Query{Deleted: true}, false},
		{"a manager who sees their own", cast.Alisa.Scope, Query{}, false},
		{"a branch director", cast.Boris.Scope, Query{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sel, err := s.Select(c.scope, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.ByID().Whole(); got != c.whole {
				t.Errorf("Whole() = %v, want %v", got, c.whole)
			}
		})
	}
}
