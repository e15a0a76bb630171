package amoimport

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden plan files under testdata")

// planDump is a plan as a reviewer reads it: one line per row with its
// number, physical line, kind, action, entity, linked company,
// responsible user and reason.
func planDump(t *testing.T, db *database.DB, importID int64) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT r.number, r.line, r.kind, `+rowAction+`, COALESCE(r.entity, 0),
		COALESCE(d.link_entity, r.link_entity, 0), COALESCE(u.username, ''), COALESCE(d.reason, r.reason)`+rowsPlanned+`
		LEFT JOIN users u ON u.id = COALESCE(d.responsible_id, r.responsible_id)
		WHERE r.import_id = $1 ORDER BY r.number`, importID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var b strings.Builder
	b.WriteString("# number  line  kind     action  entity  link  responsible   reason\n")
	for rows.Next() {
		var (
			number, line, entity, link int
			kind, action, user, reason string
		)
		if err := rows.Scan(&number, &line, &kind, &action, &entity, &link, &user, &reason); err != nil {
			t.Fatal(err)
		}
		ent, lnk := "-", "-"
		if entity != 0 {
			ent = fmt.Sprint(entity)
		}
		if link != 0 {
			lnk = fmt.Sprint(link)
		}
		if kind == "" {
			kind = "-"
		}
		if user == "" {
			user = "-"
		}
		fmt.Fprintf(&b, "%8d  %4d  %-7s  %-6s  %6s  %4s  %-12s  %s\n", number, line, kind, action, ent, lnk, user, reason)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestPlanGolden(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			tr := loadPlanTruth(t, name)
			rows := fixtureRows(t, name)
			golden := filepath.Join("testdata", name+".plan.golden")
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				env := newPlanEnv(t, db, tr)
				_, _, importID := env.run(t, rows)
				got := planDump(t, db, importID)
				if *updateGolden && db.Dialect == database.SQLite {
					if err := os.WriteFile(golden, []byte(got), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				want, err := fs.ReadFile(testdata, name+".plan.golden")
				if err != nil {
					t.Fatalf("%v (run with -update to write it)", err)
				}
				if got != string(want) {
					t.Errorf("the plan differs from %s (run with -update to rewrite it):\n%s", golden, got)
				}
			})
		})
	}
}
