package contact_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/note"
)

// derivedTables are the tables the stores and the triggers derive from
// companies, contacts and notes, with the base tables themselves, each in
// a total order.
var derivedTables = []struct{ table, order string }{
	{"companies", "id"}, {"company_phones", "id"}, {"company_emails", "id"}, {"company_spheres", "company_id, sphere_id"},
	{"company_terms", "company_id, term"},
	{"(SELECT name_norm FROM company_names) company_names", "name_norm"},
	{"(SELECT n.name_norm, t.trigram, t.ntri FROM name_trigrams t JOIN company_names n ON n.id = t.name_id) name_trigrams", "name_norm, trigram, ntri"},
	{"company_tallies", "branch_id, responsible_id, status_id"}, {"company_months", "month, branch_id, responsible_id"},
	{"duplicate_dirty", "company_id"},
	{"contacts", "id"}, {"contact_phones", "id"}, {"contact_emails", "id"}, {"contact_terms", "contact_id, term"},
	{"contact_tallies", "id"}, {"company_notes", "id"}, {"bulk_writes", "id"},
}

// TestBulkPathKeepsWhatTheTriggersKeep loads the same companies, contacts
// and notes into two fresh databases, once one row per call (the row
// triggers keep the tallies and duplicate marks) and once in batches (the
// stores keep them set-based, the triggers switched off), and compares
// every derived table row for row.
func TestBulkPathKeepsWhatTheTriggersKeep(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			rowByRow, bulk := dbtest.New(t, d), dbtest.New(t, d)
			loadSample(t, rowByRow, 1)
			loadSample(t, bulk, 100)
			for _, tb := range derivedTables {
				a, b := dumpTable(t, rowByRow, tb.table, tb.order), dumpTable(t, bulk, tb.table, tb.order)
				if a != b {
					t.Errorf("%s differs between the trigger path and the bulk path:\ntriggers:\n%s\nbulk:\n%s", tb.table, a, b)
				}
				if tb.table != "bulk_writes" && a == "" {
					t.Errorf("%s is empty: the sample proves nothing about it", tb.table)
				}
			}
		})
	}
}

// loadSample writes a fixed sample in batches of per rows: companies of
// every owner and status with phones, e-mails and spheres, contacts and
// notes, in two rounds so that the second adds to existing tallies.
func loadSample(t *testing.T, db *database.DB, per int) {
	t.Helper()
	ctx := context.Background()
	cast := dbtest.NewCast(t, db)
	var statuses, spheres []int64
	for _, name := range []string{"Новый", "В работе"} {
		var id int64
		if err := db.QueryRowContext(ctx, `INSERT INTO company_statuses (name) VALUES ($1) RETURNING id`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, id)
		if err := db.QueryRowContext(ctx, `INSERT INTO spheres (name) VALUES ($1) RETURNING id`, "Сфера "+name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		spheres = append(spheres, id)
	}
	owners := []dbtest.Member{cast.Alisa, cast.Boris, cast.Vera, cast.Gleb, cast.Admin}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	companies, contacts, notes := company.NewStore(db), contact.NewStore(db), note.NewStore(db)
	var companyIDs []int64
	for round := range 2 {
		var list []company.NewCompany
		for i := range 120 {
			k := round*120 + i
			owner := owners[k%len(owners)]
			n := company.NewCompany{Name: fmt.Sprintf("ООО «Ромашка %d» Север", k), LegalName: "Торговый дом", Address: "Москва, ул. Ленина, " + fmt.Sprint(k),
				ResponsibleID: owner.ID, BranchID: owner.Scope.BranchID, CreatedBy: cast.Admin.ID, CreatedAt: at.AddDate(0, -(k % 3), 0)}
			if k%3 > 0 {
				n.StatusID = statuses[k%3-1]
			}
			if k%7 == 0 {
				n.ResponsibleID, n.BranchID = 0, 0
			}
			for p := range k % 3 {
				n.Phones = append(n.Phones, company.Phone{Value: fmt.Sprintf("8 (495) %03d-%02d-%02d", k, p, k%100), Kind: "work"})
			}
			for e := range k % 2 * 2 {
				n.Emails = append(n.Emails, company.Email{Value: fmt.Sprintf("office%d-%d@romashka.ru", k, e)})
			}
			n.Spheres = spheres[:k%3]
			if inv := n.Normalize(); len(inv) > 0 {
				t.Fatal(inv)
			}
			list = append(list, n)
		}
		ids := inBatches(t, db, list, per, func(tx *sql.Tx, chunk []company.NewCompany) ([]int64, error) {
			return companies.InsertBatch(ctx, tx, chunk)
		})
		companyIDs = append(companyIDs, ids...)

		var people []contact.NewContact
		for i := range 150 {
			k := round*150 + i
			c := contact.NewContact{LastName: fmt.Sprintf("Иванов%d", k), FirstName: "Пётр", Position: "Инженер", CreatedBy: cast.Alisa.ID, CreatedAt: at,
				Phones: []contact.Phone{{Value: fmt.Sprintf("+7 916 %03d-%02d-%02d", k, k%100, k%10), Kind: "mobile"}}}
			if k%4 > 0 {
				c.CompanyID = companyIDs[k%len(companyIDs)]
			}
			if k%2 == 0 {
				c.Emails = []contact.Email{{Value: fmt.Sprintf("ivanov%d@example.ru", k)}}
			}
			people = append(people, c)
		}
		inBatches(t, db, people, per, func(tx *sql.Tx, chunk []contact.NewContact) ([]int64, error) {
			return contacts.InsertBatchIDs(ctx, tx, chunk)
		})

		var texts []note.NewNote
		for i := range 60 {
			texts = append(texts, note.NewNote{CompanyID: companyIDs[(i*7)%len(companyIDs)], AuthorID: cast.Vera.ID,
				Text: fmt.Sprintf("Звонок %d", i), CreatedAt: at})
		}
		inBatches(t, db, texts, per, func(tx *sql.Tx, chunk []note.NewNote) ([]int64, error) {
			return nil, notes.InsertBatch(ctx, tx, chunk)
		})
	}
}

// inBatches writes list per rows a transaction through write and returns
// the ids it gives.
func inBatches[T any](t *testing.T, db *database.DB, list []T, per int, write func(*sql.Tx, []T) ([]int64, error)) []int64 {
	t.Helper()
	var ids []int64
	for start := 0; start < len(list); start += per {
		chunk := list[start:min(start+per, len(list))]
		err := db.InTx(context.Background(), func(tx *sql.Tx) error {
			got, err := write(tx, chunk)
			ids = append(ids, got...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// dumpTable is every row of table in order, one line of column=value each.
func dumpTable(t *testing.T, db *database.DB, table, order string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT * FROM `+table+` ORDER BY `+order)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cols {
			v := vals[i]
			switch x := v.(type) {
			case []byte:
				v = string(x)
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(&b, "%s=%v ", c, v)
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestBulkFlagEndsWithTheBatch: the triggers stand aside only for the
// batch; a company written after it in the same transaction is counted by
// them again, and nothing of the flag outlives the transaction.
func TestBulkFlagEndsWithTheBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := company.NewStore(db)
		batch := make([]company.NewCompany, database.BulkMin)
		for i := range batch {
			batch[i] = company.NewCompany{Name: fmt.Sprintf("Пакет %d", i), ResponsibleID: cast.Alisa.ID, BranchID: cast.BranchA}
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := s.InsertBatch(ctx, tx, batch); err != nil {
				return err
			}
			_, err := s.InsertBatch(ctx, tx, []company.NewCompany{{Name: "После пакета", ResponsibleID: cast.Vera.ID, BranchID: cast.BranchB}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var tallied, marked, flags int
		if err := db.QueryRowContext(ctx, `SELECT (SELECT SUM(n) FROM company_tallies), (SELECT COUNT(*) FROM duplicate_dirty),
			(SELECT COUNT(*) FROM bulk_writes)`).Scan(&tallied, &marked, &flags); err != nil {
			t.Fatal(err)
		}
		if want := database.BulkMin + 1; tallied != want || marked != want || flags != 0 {
			t.Errorf("tallied %d, marked %d, flags left %d; want %d, %d, 0", tallied, marked, flags, want, want)
		}
	})
}
