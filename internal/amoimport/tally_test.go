package amoimport

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"testing"

	"github.com/crmprofi/crm/internal/amoimport/amogen"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestPlanTallyCountsWhatTheRowsSay: the plan's tally, from which a run
// takes its summary and its report's warnings and unknown «Ответственные»
// without reading the rows again, counts what every staged row joined to
// its plan says (countActions and the report's former scan of them all):
// on a generated export (skipped lines, errors, contacts' missing
// companies, unknown «Ответственные», duplicates of every kind) and the
// fixtures, planned fresh and again, on both databases.
func TestPlanTallyCountsWhatTheRowsSay(t *testing.T) {
	var buf bytes.Buffer
	if _, err := amogen.Write(&buf, amogen.Options{Rows: 1500, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	files := map[string][]Row{"generated": parseRows(t, buf.Bytes())}
	for _, name := range fixtures {
		files[name] = fixtureRows(t, name)
	}
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		env := newPlanEnv(t, db, loadPlanTruth(t, "amo_small.csv"))
		ctx := context.Background()
		for name, rows := range files {
			err := db.InBulkTx(ctx, func(tx *sql.Tx) error {
				var id int64
				if err := tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_by, created_at)
					VALUES ($1, TRUE, $2, $3) RETURNING id`, name, env.admin, database.Now()).Scan(&id); err != nil {
					return err
				}
				if _, err := Stage(ctx, tx, db, id, &sliceRows{rows: rows}); err != nil {
					return err
				}
				for _, fresh := range []bool{true, false} {
					sum, counted, err := plan(ctx, tx, db, id, PlanOptions{Fallback: env.admin, Fresh: fresh})
					if err != nil {
						return err
					}
					n, err := countActions(ctx, tx, id)
					if err != nil {
						return err
					}
					want := Summary{Created: n[ActionCreate], Updated: n[ActionUpdate], Merged: n[ActionMerge],
						Skipped: n[ActionSkip], Errors: n[ActionError]}
					if sum != want {
						t.Errorf("%s (fresh %v): summary %+v, the rows say %+v", name, fresh, sum, want)
					}
					warned, unknown := scanIssues(t, tx, id)
					if counted.warned != warned || !maps.Equal(counted.unknown, unknown) {
						t.Errorf("%s (fresh %v): tally %d rows with warnings, unknown %v; the rows say %d, %v",
							name, fresh, counted.warned, counted.unknown, warned, unknown)
					}
					if name == "generated" && (sum.Skipped == 0 || warned == 0 || len(unknown) == 0) {
						t.Errorf("the generated export proves little: %+v, %d rows with warnings, unknown %v", sum, warned, unknown)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
}

// scanIssues counts, over every staged row of import id and its plan,
// the rows with a warning and the rows by unknown «Ответственный»: what
// the report counted before the plan's tally.
func scanIssues(t *testing.T, tx *sql.Tx, id int64) (warned int, unknown map[string]int) {
	t.Helper()
	rows, err := tx.QueryContext(context.Background(), `SELECT issues FROM (SELECT COALESCE(d.issues, r.issues) AS issues`+rowsPlanned+`
		WHERE r.import_id = $1) i WHERE issues <> '[]' AND issues <> ''`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	unknown = map[string]int{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var issues []Issue
		if err := json.Unmarshal([]byte(raw), &issues); err != nil {
			t.Fatal(err)
		}
		if len(warnings(issues)) > 0 {
			warned++
		}
		for _, is := range issues {
			if is.Code == "responsible_unknown" && is.Value != "" {
				unknown[is.Value]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return warned, unknown
}
