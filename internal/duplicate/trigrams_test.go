package duplicate_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/migrations"
)

// createCompanyTrigrams makes an empty company_trigrams as migration 00017
// made it (migration 00044 drops it), for the tests of the migrations that
// wrote and read it.
func createCompanyTrigrams(t *testing.T, db *database.DB) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), `CREATE TABLE company_trigrams (trigram TEXT NOT NULL, ntri INTEGER NOT NULL,
		company_id BIGINT NOT NULL, PRIMARY KEY (trigram, ntri, company_id))`); err != nil {
		t.Fatal(err)
	}
}

// companyNames is every company's name_norm by id.
func companyNames(t *testing.T, db *database.DB) map[int64]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT id, name_norm FROM companies`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[int64]string{}
	for rows.Next() {
		var (
			id   int64
			name string
		)
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		out[id] = name
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// trigramRows reads company_trigrams as "trigram/ntri/company" lines.
func trigramRows(t *testing.T, db *database.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT trigram, ntri, company_id FROM company_trigrams`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var (
			g     string
			n, id int64
		)
		if err := rows.Scan(&g, &n, &id); err != nil {
			t.Fatal(err)
		}
		out = append(out, g+"/"+itoa(n)+"/"+itoa(id))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// cutLast splits s at its last "/".
func cutLast(s string) (before, after string, found bool) {
	i := strings.LastIndex(s, "/")
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// expectTrigrams is what company_trigrams must hold for the names.
func expectTrigrams(names map[int64]string) []string {
	var out []string
	for id, name := range names {
		grams := duplicate.Trigrams(name)
		for _, g := range grams {
			out = append(out, g+"/"+itoa(int64(len(grams)))+"/"+itoa(id))
		}
	}
	slices.Sort(out)
	return out
}

func TestTheNameTablesFollowTheCompanies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		store := company.NewStore(db)
		admin := cast.Admin.Scope
		name := func(s string) company.Input { return company.Input{Name: company.OptString{Set: true, Value: s}} }
		c, err := store.Create(ctx, admin, name("ООО «Ромашка»"))
		if err != nil {
			t.Fatal(err)
		}
		other := seed(t, db, company.NewCompany{Name: "Светлый кедр", ResponsibleID: cast.Alisa.ID})[0]
		check := func(names ...string) {
			t.Helper()
			got := nameRows(t, db)
			if want := expectNames(names...); !slices.Equal(got, want) {
				t.Fatalf("name_trigrams\n got %v\nwant %v", got, want)
			}
		}
		found := func(probe string, id int64) bool {
			t.Helper()
			list, err := duplicate.New(db).Find(ctx, admin, duplicate.Probe{Name: probe}, 20)
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(list, func(m duplicate.Match) bool { return m.ID == id })
		}
		check("ромашка", "светлый кедр")
		if !found("Ромашки", c.ID) || !found("Светлый кедры", other) {
			t.Fatal("the similar names are not found")
		}

		if _, err := store.Update(ctx, admin, c.ID, name("Лютик"), false); err != nil {
			t.Fatal(err)
		}
		check("ромашка", "лютик", "светлый кедр") // the old name stays, out of use
		if found("Ромашки", c.ID) || !found("Лютики", c.ID) {
			t.Fatal("a renamed company is found by its old name, or not by its new one")
		}

		if err := store.Delete(ctx, admin, c.ID); err != nil {
			t.Fatal(err)
		}
		if found("Лютики", c.ID) {
			t.Fatal("a deleted company is a candidate")
		}
		if _, err := store.Restore(ctx, admin, c.ID); err != nil {
			t.Fatal(err)
		}
		if !found("Лютики", c.ID) {
			t.Fatal("a restored company is not a candidate")
		}
		check("ромашка", "лютик", "светлый кедр")
	})
}

// TestTheMigrationBackfillMakesTheStoresTrigrams runs each migration's
// backfill again on companies written by the store: SQL must give exactly
// what duplicate.Trigrams gives.
func TestTheMigrationBackfillMakesTheStoresTrigrams(t *testing.T) {
	dbtest.Each(t, testBackfill)
}

func testBackfill(t *testing.T, db *database.DB) {
	t.Helper()
	cast := dbtest.NewCast(t, db)
	seed(t, db,
		company.NewCompany{Name: "ООО «Ромашка-Плюс»", ResponsibleID: cast.Alisa.ID},
		company.NewCompany{Name: "ИП Соловьёва Е.П.", ResponsibleID: cast.Alisa.ID},
		company.NewCompany{Name: "Завод 67", ResponsibleID: cast.Alisa.ID},
		company.NewCompany{Name: "Ёлочный Ёж Ёж", ResponsibleID: cast.Alisa.ID},
		company.NewCompany{Name: "A", ResponsibleID: cast.Alisa.ID},
	)
	want := expectTrigrams(companyNames(t, db))
	fsys, err := migrations.For(string(db.Dialect))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fs.ReadFile(fsys, "00017_duplicates.sql")
	if err != nil {
		t.Fatal(err)
	}
	up, _, _ := strings.Cut(string(raw), "-- +goose Down")
	start := strings.Index(up, "WITH RECURSIVE")
	if start < 0 {
		t.Fatal("no backfill in the migration")
	}
	backfill := up[start:]
	backfill = backfill[:strings.Index(backfill, ";")+1]
	ctx := context.Background()
	createCompanyTrigrams(t, db) // gone since migration 00044
	if _, err := db.ExecContext(ctx, backfill); err != nil {
		t.Fatal(err)
	}
	if got := trigramRows(t, db); !slices.Equal(got, want) {
		t.Fatalf("backfill\n got %v\nwant %v", got, want)
	}
}

// TestTwoPeopleCreatingOneCompanyAtOnce: of two simultaneous creates with
// one ИНН, one is saved and the other refused — never both.
func TestTwoPeopleCreatingOneCompanyAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		store := company.NewStore(db)
		in := company.Input{Name: company.OptString{Set: true, Value: "Ромашка"}, INN: company.OptString{Set: true, Value: "7707083893"}}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			saved   int
			refused int
		)
		for _, m := range []dbtest.Member{cast.Admin, cast.Gleb} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := store.Create(context.Background(), m.Scope, in)
				var found *duplicate.Found
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					saved++
				case errors.As(err, &found):
					refused++
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if saved != 1 || refused != 1 {
			t.Fatalf("saved %d, refused %d", saved, refused)
		}
	})
}

// nameRows reads name_trigrams as "trigram/ntri/name" lines.
func nameRows(t *testing.T, db *database.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT t.trigram, t.ntri, n.name_norm
		FROM name_trigrams t JOIN company_names n ON n.id = t.name_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var (
			g, name string
			n       int64
		)
		if err := rows.Scan(&g, &n, &name); err != nil {
			t.Fatal(err)
		}
		out = append(out, g+"/"+itoa(n)+"/"+name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// expectNames is what name_trigrams must hold for the names, each once.
func expectNames(names ...string) []string {
	var out []string
	for _, name := range names {
		grams := duplicate.Trigrams(name)
		for _, g := range grams {
			out = append(out, g+"/"+itoa(int64(len(grams)))+"/"+name)
		}
	}
	slices.Sort(out)
	return out
}

func TestTheNameTablesHoldEachNameOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		store := company.NewStore(db)
		admin := cast.Admin.Scope
		// Sixty companies share one name: more than one signal brings.
		var batch []company.NewCompany
		for range 60 {
			batch = append(batch, company.NewCompany{Name: "ООО «Северный ветер»", ResponsibleID: cast.Alisa.ID})
		}
		batch = append(batch, company.NewCompany{Name: "Северный веер", ResponsibleID: cast.Alisa.ID},
			company.NewCompany{Name: "Южный ветер", ResponsibleID: cast.Alisa.ID})
		ids := seed(t, db, batch...)
		if got, want := nameRows(t, db), expectNames("северный ветер", "северный веер", "южный ветер"); !slices.Equal(got, want) {
			t.Fatalf("name_trigrams\n got %v\nwant %v", got, want)
		}

		list, err := duplicate.New(db).Find(ctx, admin, duplicate.Probe{Name: "Северный ветир"}, 100)
		if err != nil {
			t.Fatal(err)
		}
		shared := 0
		for _, m := range list {
			if m.Name == "ООО «Северный ветер»" {
				shared++
			}
		}
		if shared != 50 {
			t.Fatalf("a misspelt shared name: %d of its companies, want 50 (one signal's bound)", shared)
		}
		list, err = duplicate.New(db).Find(ctx, admin, duplicate.Probe{Name: "Северный веерр"}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(list, func(m duplicate.Match) bool { return m.ID == ids[60] }) {
			t.Fatal("«Северный веер» is not found")
		}

		// A rename adds the new name; the old one stays, but finds only
		// the companies that still have it.
		c, err := store.Update(ctx, admin, ids[60], company.Input{Name: company.OptString{Set: true, Value: "Северное сияние"}}, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := nameRows(t, db), expectNames("северный ветер", "северный веер", "южный ветер", "северное сияние"); !slices.Equal(got, want) {
			t.Fatalf("after a rename\n got %v\nwant %v", got, want)
		}
		list, err = duplicate.New(db).Find(ctx, admin, duplicate.Probe{Name: "Северный веер"}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(list, func(m duplicate.Match) bool { return m.ID == c.ID }) {
			t.Fatal("a renamed company is found by its old name")
		}
		list, err = duplicate.New(db).Find(ctx, admin, duplicate.Probe{Name: "Северное сиянье"}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(list, func(m duplicate.Match) bool { return m.ID == c.ID }) {
			t.Fatal("a renamed company is not found by its new name")
		}
	})
}

// TestTheNameBackfillMakesWhatTheTriggerMakes runs the 00035 migration's
// backfill again on companies written by the store.
func TestTheNameBackfillMakesWhatTheTriggerMakes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		seed(t, db,
			company.NewCompany{Name: "ООО «Ромашка-Плюс»", ResponsibleID: cast.Alisa.ID},
			company.NewCompany{Name: "Ромашка-Плюс", ResponsibleID: cast.Vera.ID},
			company.NewCompany{Name: "ИП Соловьёва Е.П.", ResponsibleID: cast.Alisa.ID},
			company.NewCompany{Name: "Ёлочный Ёж Ёж", ResponsibleID: cast.Alisa.ID},
			company.NewCompany{Name: "A", ResponsibleID: cast.Alisa.ID},
		)
		want := nameRows(t, db)
		fsys, err := migrations.For(string(db.Dialect))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := fs.ReadFile(fsys, "00035_similar_names.sql")
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(raw), "-- +goose Down")
		start := strings.Index(up, "INSERT INTO company_names")
		end := strings.Index(up, "-- +goose StatementBegin")
		if start < 0 || end < start {
			t.Fatal("no backfill in the migration")
		}
		ctx := context.Background()
		// The backfill reads company_trigrams, which migration 00044
		// drops: it is made again as the store used to write it.
		createCompanyTrigrams(t, db)
		for _, line := range expectTrigrams(companyNames(t, db)) {
			rest, id, _ := cutLast(line)
			g, n, _ := cutLast(rest)
			if _, err := db.ExecContext(ctx, `INSERT INTO company_trigrams (trigram, ntri, company_id) VALUES ($1, $2, $3)`, g, n, id); err != nil {
				t.Fatal(err)
			}
		}
		for _, table := range []string{"name_trigrams", "company_names"} {
			if _, err := db.ExecContext(ctx, `DELETE FROM `+table); err != nil {
				t.Fatal(err)
			}
		}
		for stmt := range strings.SplitSeq(up[start:end], ";") {
			if strings.TrimSpace(stmt) == "" || strings.HasPrefix(strings.TrimSpace(stmt), "--") && !strings.Contains(stmt, "INSERT") {
				continue
			}
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if got := nameRows(t, db); !slices.Equal(got, want) {
			t.Fatalf("backfill\n got %v\nwant %v", got, want)
		}
	})
}
