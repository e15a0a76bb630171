package amoimport

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// applyTruth is the part of a fixture's .truth.json that the written base
// answers for: the entities' phones.
type applyTruth struct {
	Companies map[string]struct {
		Phones [][2]*string `json:"phones_e164"`
	} `json:"companies"`
	Contacts map[string]struct {
		Phones [][2]*string `json:"phones_e164"`
	} `json:"contacts"`
}

// importRows stages, plans and applies rows as a new import of env's
// admin, in one transaction, and returns the import's id.
func (env *planEnv) importRows(t *testing.T, rows []Row) int64 {
	t.Helper()
	ctx := context.Background()
	var importID int64
	err := env.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_by, created_at)
			VALUES ('amo.csv', FALSE, $1, $2) RETURNING id`, env.admin, database.Now()).Scan(&importID); err != nil {
			return err
		}
		if _, err := Stage(ctx, tx, env.db, importID, &sliceRows{rows: rows}); err != nil {
			return err
		}
		if _, err := Plan(ctx, tx, env.db, importID, PlanOptions{Fallback: env.admin}); err != nil {
			return err
		}
		actor := access.Scope{UserID: env.admin, Role: access.RoleAdmin, Data: access.Global, Name: "Иван Петров"}
		return Apply(ctx, tx, env.db, importID, actor, nil)
	})
	if err != nil {
		t.Fatalf("stage, plan and apply: %v", err)
	}
	return importID
}

// TestApplyFixtures runs Stage → Plan → Apply on both fixtures and checks
// the base against their truth: the companies (with those created for
// contacts' unknown companies), the contacts, each contact's company, each
// company's responsible and phones; then the same file imported again
// changes nothing.
func TestApplyFixtures(t *testing.T) {
	for _, name := range []string{"amo_small.csv", "amo_small_excel_cp1251.csv"} {
		t.Run(name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				tr := loadPlanTruth(t, name)
				var at applyTruth
				b, err := fs.ReadFile(testdata, name+".truth.json")
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &at); err != nil {
					t.Fatal(err)
				}
				env := newPlanEnv(t, db, tr)
				rows := fixtureRows(t, name)
				id := env.importRows(t, rows)
				checkBase(t, env, tr, at, id)

				t.Run("importing the same file again changes nothing", func(t *testing.T) {
					before := baseSnapshot(t, db)
					env.importRows(t, rows)
					if after := baseSnapshot(t, db); after != before {
						t.Errorf("the second import changed the base:\n%s", lineDiff(before, after))
					}
				})
			})
		})
	}
}

func checkBase(t *testing.T, env *planEnv, tr planTruth, at applyTruth, importID int64) {
	t.Helper()
	db := env.db
	ctx := context.Background()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT COUNT(*) FROM companies WHERE deleted_at IS NULL`); n != tr.Expected.CompaniesPlusOrphanRef {
		t.Errorf("companies = %d, want %d (companies_plus_orphan_refs)", n, tr.Expected.CompaniesPlusOrphanRef)
	}
	if n := count(`SELECT COUNT(*) FROM contacts WHERE deleted_at IS NULL`); n != tr.Expected.Contacts {
		t.Errorf("contacts = %d, want %d", n, tr.Expected.Contacts)
	}

	// Each truth label is the company or contact its records were written to.
	byLabel := map[string]int64{}
	rowOf := env.rows(t, importID)
	for i, label := range tr.RowEntity {
		if label == nil {
			continue
		}
		r := rowOf[i+1]
		id := r.CompanyID
		if strings.HasPrefix(*label, "P") {
			id = r.ContactID
		}
		if id == 0 {
			t.Errorf("record %d (%s) was written nowhere: %+v", i+1, *label, r)
			continue
		}
		if was, ok := byLabel[*label]; ok && was != id {
			t.Errorf("%s was written to %d and %d", *label, was, id)
		}
		byLabel[*label] = id
	}
	labelled := map[int64]bool{}
	for label, id := range byLabel {
		if strings.HasPrefix(label, "C") {
			labelled[id] = true
		}
	}

	t.Run("each contact belongs to the company of its truth", func(t *testing.T) {
		for p, want := range tr.ContactCompany {
			var company sql.NullInt64
			if err := db.QueryRowContext(ctx, `SELECT company_id FROM contacts WHERE id = $1`, byLabel[p]).Scan(&company); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			switch {
			case want == nil || strings.HasPrefix(*want, "ambiguous"):
				if company.Valid {
					t.Errorf("%s: linked to %d, want no company (%v)", p, company.Int64, want)
				}
			case *want == "orphan":
				if !company.Valid || labelled[company.Int64] {
					t.Errorf("%s: company %v, want one created from its company's name", p, company)
				}
			default:
				if company.Int64 != byLabel[*want] {
					t.Errorf("%s: company %d, want %s (%d)", p, company.Int64, *want, byLabel[*want])
				}
			}
		}
	})

	t.Run("each company goes to the responsible of its own record", func(t *testing.T) {
		for i, label := range tr.RowEntity {
			r := rowOf[i+1]
			if label == nil || !strings.HasPrefix(*label, "C") || r.Entity != r.Number {
				continue
			}
			want := env.admin
			if u := tr.RowResponsible[i]; u != nil {
				want = env.users[*u]
			}
			var got sql.NullInt64
			if err := db.QueryRowContext(ctx, `SELECT responsible_id FROM companies WHERE id = $1`, byLabel[*label]).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got.Int64 != want {
				t.Errorf("%s (record %d): responsible %d, want %d (%v)", *label, i+1, got.Int64, want, tr.RowResponsible[i])
			}
		}
	})

	t.Run("companies and contacts have the phones of their truth", func(t *testing.T) {
		check := func(label, table, column string, want [][2]*string) {
			var w []string
			for _, p := range want {
				ext := ""
				if p[1] != nil {
					ext = *p[1]
				}
				w = append(w, *p[0]+";"+ext)
			}
			// The truth's phones_e164 leave the «Факс» column out; the base
			// keeps a fax as a phone of kind fax.
			got, err := database.Column[string](ctx, db, `SELECT e164 || ';' || ext FROM `+table+` WHERE `+column+` = $1
				AND e164 <> '' AND kind <> 'fax'`, byLabel[label])
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(w)
			slices.Sort(got)
			if !slices.Equal(got, w) {
				t.Errorf("%s: phones %v, want %v", label, got, w)
			}
		}
		for label, c := range at.Companies {
			check(label, "company_phones", "company_id", c.Phones)
		}
		for label, c := range at.Contacts {
			check(label, "contact_phones", "contact_id", c.Phones)
		}
	})
}

// snapshotTables are the tables an import writes, each in a total order.
// The similar-names tables are compared by name: their ids are given as
// the names come, and mean nothing else.
var snapshotTables = []struct{ table, order string }{
	{"companies", "id"}, {"company_phones", "id"}, {"company_emails", "id"}, {"company_spheres", "company_id, sphere_id"},
	{"company_terms", "company_id, term"}, {"(SELECT name_norm FROM company_names) company_names", "name_norm"},
	{"(SELECT n.name_norm, t.trigram, t.ntri FROM name_trigrams t JOIN company_names n ON n.id = t.name_id) name_trigrams",
		"name_norm, trigram, ntri"},
	{"company_tallies", "branch_id, responsible_id, status_id"},
	{"company_notes", "id"}, {"company_amo_ids", "amo_id"}, {"spheres", "id"},
	{"contacts", "id"}, {"contact_phones", "id"}, {"contact_emails", "id"}, {"contact_terms", "contact_id, term"},
	{"contact_tallies", "id"}, {"contact_amo_ids", "amo_id"}, {"duplicate_dirty", "company_id"},
}

// baseSnapshot is every row of snapshotTables as text, one line a row.
func baseSnapshot(t *testing.T, db *database.DB) string {
	t.Helper()
	var b strings.Builder
	for _, s := range snapshotTables {
		snapshotTable(t, db, &b, s.table, s.order)
	}
	return b.String()
}

func snapshotTable(t *testing.T, db *database.DB, b *strings.Builder, table, order string) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT * FROM `+table+` ORDER BY `+order)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		b.WriteString(table)
		for i, c := range cols {
			v := vals[i]
			switch x := v.(type) {
			case []byte:
				v = string(x)
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(b, " %s=%v", c, v)
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
