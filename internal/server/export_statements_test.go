package server

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contact"
)

// maxExportStatements is the most SQL statements an export may send,
// however many companies the file holds: the session check, the count
// (the search's first page), the names of statuses, branches, users and
// spheres, the ordered streams of the first pass (in the order of the
// ids: for the whole base the companies, their phones, e-mails and
// spheres, the contacts with their phones and e-mails, and the contacts'
// ids by company — a stream a table; for a selection, the companies,
// their children and their contacts), the ids in the list's order of the
// second, their one snapshot (on PostgreSQL one statement exports it and
// each further connection imports it) and the audit entry. The whole
// base sent 22 on PostgreSQL and 18 on SQLite when this was written, a
// search 14 and 12; SQLite's two read transactions (the export reads on
// two connections), each pinned to the snapshot by a read under the write
// lock, made them 22 and 16.
const maxExportStatements = 22

// TestExportSendsAConstantNumberOfStatements exports a handful of
// companies, then more than a thousand (with contacts, phones, e-mails
// and spheres), and counts the SQL statements of each: the same number,
// where paging through the search cost a few statements a page.
func TestExportSendsAConstantNumberOfStatements(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		exportFixture(t, e)
		e.srv.cfg.ExportJobRows = 1_000_000 // the file streams in the response, whatever its size
		count := func(query string) (int64, int) {
			t.Helper()
			before := e.db.Statements()
			rec := e.do(&e.cast.Admin, http.MethodGet, "/api/export/companies/?format=csv&"+query, nil)
			n := e.db.Statements() - before
			if rec.Code != http.StatusOK {
				t.Fatalf("export: %d %.300s", rec.Code, rec.Body.String())
			}
			return n, len(readCSV(t, rec.Body.Bytes())) - 1
		}
		few, fewRows := count("")
		var sphere struct {
			ID int64 `json:"id"`
		}
		if code := e.api(&e.cast.Admin, "POST", "/api/spheres/", map[string]any{"name": "Опт"}, &sphere); code != http.StatusCreated {
			t.Fatalf("sphere: %d", code)
		}
		const many = 1500
		list := make([]company.NewCompany, many)
		for i := range list {
			list[i] = company.NewCompany{Name: fmt.Sprintf("Поток %04d", i), ResponsibleID: e.cast.Alisa.ID, CreatedBy: e.cast.Admin.ID,
				Spheres: []int64{sphere.ID}, Phones: []company.Phone{{Value: fmt.Sprintf("+7 495 100-%02d-%02d", i/100, i%100), Kind: "work"}},
				Emails: []company.Email{{Value: fmt.Sprintf("c%d@potok.ru", i), Kind: "work"}}}
		}
		ids := insertCompanies(t, e, list...)
		people := make([]contact.NewContact, 0, 2*many)
		for i, id := range ids {
			for j := range 2 {
				people = append(people, contact.NewContact{CompanyID: id, LastName: fmt.Sprintf("Петров%d", j), FirstName: "Пётр", CreatedBy: e.cast.Admin.ID,
					Phones: []contact.Phone{{Value: fmt.Sprintf("+7 916 2%02d-%02d-%d0", i/100, i%100, j), Kind: "mobile"}},
					Emails: []contact.Email{{Value: fmt.Sprintf("p%d.%d@potok.ru", i, j), Kind: "work"}}})
			}
		}
		err := e.db.InTx(context.Background(), func(tx *sql.Tx) error {
			return contact.NewStore(e.db).InsertBatch(context.Background(), tx, people)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, query := range []string{"", "ordering=-created_at", "search=" + "поток"} {
			n, rows := count(query)
			if rows < many {
				t.Fatalf("%q: %d rows, want at least %d", query, rows, many)
			}
			if query == "" && n != few {
				t.Errorf("%d rows: %d statements, %d rows: %d", fewRows, few, rows, n)
			}
			if n > maxExportStatements {
				t.Errorf("%q: %d statements, want at most %d", query, n, maxExportStatements)
			}
			t.Logf("%q: %d rows, %d statements", query, rows, n)
		}
	})
}
