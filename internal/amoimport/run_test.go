package amoimport_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// runTruth is what a fixture's truth file says a whole run ends with.
type runTruth struct {
	Users []struct {
		Username   string `json:"username"`
		FirstName  string `json:"first_name"`
		LastName   string `json:"last_name"`
		Patronymic string `json:"patronymic"`
		Email      string `json:"email"`
	} `json:"users"`
	Expected struct {
		Records                 int `json:"records"`
		Contacts                int `json:"contacts"`
		CompaniesPlusOrphanRefs int `json:"companies_plus_orphan_refs"`
		InvalidRecords          int `json:"invalid_records"`
	} `json:"expected"`
}

func loadRunTruth(t *testing.T, name string) ([]byte, runTruth) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name)) //nolint:gosec // a fixture
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", name+".truth.json")) //nolint:gosec // a fixture
	if err != nil {
		t.Fatal(err)
	}
	var tr runTruth
	if err := json.Unmarshal(raw, &tr); err != nil {
		t.Fatal(err)
	}
	return data, tr
}

// runSmallImport imports the small fixture (amo_small.csv) with its
// users, as cast's admin, and returns the import.
func runSmallImport(t *testing.T, db *database.DB, cast dbtest.Cast) amoimport.Import {
	t.Helper()
	data, tr := loadRunTruth(t, "amo_small.csv")
	addUsers(t, db, tr)
	im := create(t, db, amoimport.New{FileName: "amo_small.csv", CreatedBy: cast.Admin.ID}, data)
	if _, err := amoimport.Run(context.Background(), db, im.ID, amoimport.RunOptions{Actor: cast.Admin.Scope}); err != nil {
		t.Fatal(err)
	}
	return im
}

// addUsers creates the fixture's users, the team the export names.
func addUsers(t *testing.T, db *database.DB, tr runTruth) {
	t.Helper()
	for _, u := range tr.Users {
		_, err := db.ExecContext(context.Background(), `INSERT INTO users (username, first_name, last_name, email, role, date_joined)
			VALUES ($1, $2, $3, $4, 'manager', $5)`, u.Username, u.FirstName, u.LastName, u.Email, database.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
}

func count(t *testing.T, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// baseCounts are the rows an import may write.
func baseCounts(t *testing.T, db *database.DB) [4]int {
	t.Helper()
	return [4]int{
		count(t, db, `SELECT COUNT(*) FROM companies`),
		count(t, db, `SELECT COUNT(*) FROM contacts`),
		count(t, db, `SELECT COUNT(*) FROM company_amo_ids`),
		count(t, db, `SELECT COUNT(*) FROM company_notes`),
	}
}

func TestADryRunWritesNothingAndTheRealRunEndsAsTheTruthSays(t *testing.T) {
	for _, name := range []string{"amo_small.csv", "amo_small_excel_cp1251.csv"} {
		t.Run(name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				ctx := context.Background()
				cast := dbtest.NewCast(t, db)
				data, tr := loadRunTruth(t, name)
				addUsers(t, db, tr)
				before := baseCounts(t, db)

				dry := create(t, db, amoimport.New{FileName: name, DryRun: true, CreatedBy: cast.Admin.ID}, data)
				drySum, err := amoimport.Run(ctx, db, dry.ID, amoimport.RunOptions{Actor: cast.Admin.Scope})
				if err != nil {
					t.Fatal(err)
				}
				if got := baseCounts(t, db); got != before {
					t.Errorf("the dry run wrote: %v → %v", before, got)
				}
				dryDone, _ := amoimport.NewStore(db).Get(ctx, dry.ID)
				if dryDone.Status != amoimport.StatusDone || dryDone.Report.Summary != drySum || dryDone.Report.Rows < tr.Expected.Records {
					t.Errorf("dry run: %+v", dryDone)
				}
				if n := count(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'import.amo' AND outcome = 'ok'
					AND object_id = $1 AND detail LIKE '%"dry_run":true%'`, audit(dry.ID)); n != 1 {
					t.Errorf("dry run audit entries: %d", n)
				}

				realRun := create(t, db, amoimport.New{FileName: name, CreatedBy: cast.Admin.ID}, data)
				sum, err := amoimport.Run(ctx, db, realRun.ID, amoimport.RunOptions{Actor: cast.Admin.Scope})
				if err != nil {
					t.Fatal(err)
				}
				if sum != drySum {
					t.Errorf("the dry run said %+v, the import did %+v", drySum, sum)
				}
				if got := count(t, db, `SELECT COUNT(*) FROM companies WHERE deleted_at IS NULL`); got != tr.Expected.CompaniesPlusOrphanRefs {
					t.Errorf("companies: %d, truth %d", got, tr.Expected.CompaniesPlusOrphanRefs)
				}
				if got := count(t, db, `SELECT COUNT(*) FROM contacts WHERE deleted_at IS NULL`); got != tr.Expected.Contacts {
					t.Errorf("contacts: %d, truth %d", got, tr.Expected.Contacts)
				}

				// Running a finished import again changes nothing.
				after := baseCounts(t, db)
				again, err := amoimport.Run(ctx, db, realRun.ID, amoimport.RunOptions{Actor: cast.Admin.Scope})
				if err != nil || again != sum || baseCounts(t, db) != after {
					t.Errorf("a second run of a done import: %+v %v", again, err)
				}
			})
		})
	}
}

func audit(id int64) string {
	b, _ := json.Marshal(id)
	return string(b)
}

func TestAFailedRunLeavesTheBaseAsItWasAndARetryStartsOver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		data, tr := loadRunTruth(t, "amo_small.csv")
		addUsers(t, db, tr)
		before := baseCounts(t, db)
		im := create(t, db, amoimport.New{FileName: "amo_small.csv", CreatedBy: cast.Admin.ID}, data)
		boom := errors.New("the process died")
		_, err := amoimport.Run(ctx, db, im.ID, amoimport.RunOptions{Actor: cast.Admin.Scope,
			BeforeCommit: func(context.Context, *sql.Tx) error { return boom }})
		if !errors.Is(err, boom) {
			t.Fatalf("err: %v", err)
		}
		if got := baseCounts(t, db); got != before {
			t.Errorf("a failed run wrote: %v → %v", before, got)
		}
		failed, _ := amoimport.NewStore(db).Get(ctx, im.ID)
		if failed.Status != amoimport.StatusFailed || !strings.Contains(failed.Error, "база не изменена") {
			t.Errorf("failed import: %+v", failed)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM import_rows WHERE import_id = $1`, im.ID); n != 0 {
			t.Errorf("rows of the failed run: %d", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'import.amo' AND outcome = 'error'`); n != 1 {
			t.Errorf("error audit entries: %d", n)
		}

		sum, err := amoimport.Run(ctx, db, im.ID, amoimport.RunOptions{Actor: cast.Admin.Scope})
		if err != nil {
			t.Fatal(err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM companies WHERE deleted_at IS NULL`); got != tr.Expected.CompaniesPlusOrphanRefs {
			t.Errorf("companies after the retry: %d, truth %d", got, tr.Expected.CompaniesPlusOrphanRefs)
		}
		done, _ := amoimport.NewStore(db).Get(ctx, im.ID)
		if done.Status != amoimport.StatusDone || done.Error != "" || done.Report.Summary != sum {
			t.Errorf("retried import: %+v", done)
		}
	})
}

func TestAFileThatIsNoExportFailsAsTheFilesFault(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		im := create(t, db, amoimport.New{FileName: "prices.csv"}, []byte("Товар;Цена\r\nКирпич;10\r\n"))
		_, err := amoimport.Run(ctx, db, im.ID, amoimport.RunOptions{Actor: access.System("test")})
		if err == nil || !amoimport.IsInputError(err) {
			t.Fatalf("err: %v", err)
		}
		got, _ := amoimport.NewStore(db).Get(ctx, im.ID)
		if got.Status != amoimport.StatusFailed || !strings.Contains(got.Error, "не выгрузка") {
			t.Errorf("import: %+v", got)
		}
		if err := amoimport.Check(strings.NewReader("Товар;Цена\r\n"), 12); err == nil {
			t.Error("Check took a price list")
		}
	})
}
