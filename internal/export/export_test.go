package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/demo"
)

// TestExportWritesTheFileOfTheListsPages: the export (read in the order
// of the ids, written back in the list's order) gives, byte for byte,
// the file written from the list's own pages — company.Store.Search page
// by page, each company's contacts looked up by its id — for a varied
// base (demo companies with contacts, phones with comments, deleted
// companies and contacts, companies without phones), every ordering, a
// text search, a filter and the trash, as CSV and XLSX.
func TestExportWritesTheFileOfTheListsPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sum, err := demo.Load(ctx, db, demo.Options{Companies: 1500, Contacts: 2500, Seed: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`UPDATE companies SET deleted_at = updated_at WHERE id % 97 = 0`,
			`UPDATE company_phones SET comment = 'доб. ' || id WHERE id % 5 = 0`,
			`UPDATE contact_phones SET comment = 'личный' WHERE id % 3 = 0`,
			`DELETE FROM company_phones WHERE company_id % 11 = 0`,
			`UPDATE contacts SET deleted_at = updated_at WHERE id % 13 = 0`,
			// Contacts whose ids do not grow with their companies' (the
			// whole export reads them by id first), and contacts of no company.
			`UPDATE contacts SET company_id = (SELECT MIN(id) FROM companies WHERE deleted_at IS NULL) WHERE id % 7 = 0`,
			`UPDATE contacts SET company_id = (SELECT MAX(id) FROM companies) - id % 1000 WHERE id % 19 = 0`,
			`UPDATE contacts SET company_id = NULL WHERE id % 23 = 0`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		loc, err := time.LoadLocation("Europe/Moscow")
		if err != nil {
			t.Fatal(err)
		}
		e := New(db)
		scope := access.System("test")
		queries := []company.Query{{}, {Text: "строй"}, {Responsible: sum.ManagerID}, {Deleted: true}}
		for _, o := range company.Orderings {
			queries = append(queries, company.Query{Ordering: o})
		}
		for _, q := range queries {
			for _, f := range []Format{CSV, XLSX} {
				t.Run(fmt.Sprintf("%s ordering=%s text=%s responsible=%d deleted=%v", f, q.Ordering, q.Text, q.Responsible, q.Deleted), func(t *testing.T) {
					o := Options{Scope: scope, Query: q, Format: f, Location: loc}
					var got bytes.Buffer
					n, err := e.Write(ctx, &got, o)
					if err != nil {
						t.Fatal(err)
					}
					var want bytes.Buffer
					sink := rowSink(newCSVSink(&want, loc))
					if f == XLSX {
						if sink, err = newXLSXSink(&want, loc); err != nil {
							t.Fatal(err)
						}
					}
					m := writePages(t, db, o, sink)
					if n != m || !bytes.Equal(got.Bytes(), want.Bytes()) {
						t.Fatalf("export: %d companies, %d bytes; the list's pages: %d companies, %d bytes", n, got.Len(), m, want.Len())
					}
					if q == (company.Query{}) && n < 1400 {
						t.Fatalf("%d companies exported", n)
					}
				})
			}
		}
	})
}

// writePages writes the file of o into sink from the list's pages, as
// the export did at first: company.Store.Search in keyset mode, a page
// at a time, and the live contacts of each company (by id, their phones
// and e-mails by position) looked up one company at a time.
func writePages(t *testing.T, db *database.DB, o Options, sink rowSink) int {
	t.Helper()
	ctx := context.Background()
	store := company.NewStore(db)
	if err := sink.header(); err != nil {
		t.Fatal(err)
	}
	q := o.Query
	q.Keyset, q.PageSize = true, 97
	n := 0
	for {
		res, err := store.Search(ctx, o.Scope, q)
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.Companies {
			c := &res.Companies[i]
			if err := sink.company(c, contactsOf(t, db, c.ID)); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if len(res.Companies) < q.PageSize {
			break
		}
		q.After = res.Companies[len(res.Companies)-1].ID
	}
	if err := sink.close(true); err != nil {
		t.Fatal(err)
	}
	return n
}

func contactsOf(t *testing.T, db *database.DB, companyID int64) []Contact {
	t.Helper()
	ctx := context.Background()
	var list []Contact
	rows, err := db.QueryContext(ctx, `SELECT id, last_name, first_name, middle_name, position FROM contacts
		WHERE company_id = $1 AND deleted_at IS NULL ORDER BY id`, companyID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ct Contact
		if err := rows.Scan(&ct.ID, &ct.LastName, &ct.FirstName, &ct.MiddleName, &ct.Job); err != nil {
			t.Fatal(err)
		}
		list = append(list, ct)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range list {
		ct := &list[i]
		for _, side := range []struct {
			table string
			to    *[]string
		}{{"contact_phones", &ct.Phones}, {"contact_emails", &ct.Emails}} {
			*side.to = values(t, db, side.table, ct.ID)
		}
	}
	return list
}

// values are a contact's phones or e-mails (table), «value (comment)».
func values(t *testing.T, db *database.DB, table string, contactID int64) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT value, comment FROM `+table+` WHERE contact_id = $1 ORDER BY position`, contactID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var list []string
	for rows.Next() {
		var v, comment string
		if err := rows.Scan(&v, &comment); err != nil {
			t.Fatal(err)
		}
		list = append(list, withComment(v, comment))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return list
}

// TestContactPartsGiveEachCompanyItsContacts: contacts kept by the
// parts of their companies' ids (allContacts), in the order of their own
// ids and spread over companies in no order, come back for each company
// in the order of the companies' ids — across many parts, for companies
// without contacts, at both ends of the span and outside it — each whole
// and in the order of the contacts' ids. A company asked for after one of
// a later part, or a contact of a company outside the span, is an error.
func TestContactPartsGiveEachCompanyItsContacts(t *testing.T) {
	records := &structuredRecords{}
	const least, most = 5, 45
	a, err := newAllContacts(records, least, most, 4) // 11 parts
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	want := map[int64][]int64{} // a company's contacts' ids
	for id := int64(1); id <= 300; id++ {
		companyID := least + (id*7919)%(most-least+1)
		if companyID%6 == 0 {
			continue // some companies have none
		}
		ct := Contact{ID: id, LastName: fmt.Sprint("Иванов ", id), Phones: []string{fmt.Sprint("+7 495 ", id)}}
		if err := a.put(companyID, &ct); err != nil {
			t.Fatal(err)
		}
		want[companyID] = append(want[companyID], id)
	}
	if err := a.parts.done(); err != nil {
		t.Fatal(err)
	}
	if len(want[least]) == 0 || len(want[most]) == 0 {
		t.Fatal("the test wants contacts at both ends of the span")
	}
	for id := int64(0); id <= most+5; id++ {
		n, recs, err := a.of(id)
		if err != nil {
			t.Fatalf("company %d: %v", id, err)
		}
		_, people, err := records.decode(id, records.company(nil, &company.Company{ID: id}, n, recs))
		if err != nil {
			t.Fatalf("company %d: %v", id, err)
		}
		var got []int64
		for _, p := range people {
			if p.LastName != fmt.Sprint("Иванов ", p.ID) || len(p.Phones) != 1 || p.Phones[0] != fmt.Sprint("+7 495 ", p.ID) {
				t.Errorf("company %d: contact read back as %+v", id, p)
			}
			got = append(got, p.ID)
		}
		if !slices.Equal(got, want[id]) {
			t.Errorf("company %d: contacts %v, want %v", id, got, want[id])
		}
	}
	if _, _, err := a.of(most - 10); !errors.Is(err, errOutOfOrder) {
		t.Errorf("a company of an earlier part: %v", err)
	}
	if err := a.put(most+1, &Contact{ID: 301}); !errors.Is(err, errOutOfOrder) {
		t.Errorf("a contact of a company outside the span: %v", err)
	}
}

// TestExportReadsWithoutJIT: on PostgreSQL the three transactions of an
// export's snapshot run with JIT compilation off (its statements read
// millions of rows, and compiling them cost seconds of the server's CPU
// each without making their sorts and joins faster), and the setting
// ends with them.
func TestExportReadsWithoutJIT(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("JIT is PostgreSQL's")
		}
		ctx := context.Background()
		jit := func(q database.Streamer) string {
			t.Helper()
			rows, err := q.Stream(ctx, `SHOW jit`)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rows.Close() }()
			var v string
			if rows.Next() {
				err = rows.Scan(&v)
			}
			if err := errors.Join(err, rows.Close()); err != nil {
				t.Fatal(err)
			}
			return v
		}
		before := jit(database.SQLStreamer{Q: db})
		err := New(db).snapshot(ctx, func(snap *snapshot) error {
			for i := range 3 {
				q, err := snap.lane(0)()
				if err != nil {
					return err
				}
				if v := jit(q); v != "off" {
					t.Errorf("transaction %d: jit = %s, want off", i, v)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if after := jit(database.SQLStreamer{Q: db}); after != before {
			t.Errorf("after the export: jit = %s, want %s as before", after, before)
		}
	})
}

// TestExportLimitsMemoryWhileItRuns: Options.MemoryLimit is the Go
// runtime's soft memory limit while the export runs, and the limit
// before comes back after it; a lower limit the process has stays.
func TestExportLimitsMemoryWhileItRuns(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		initial := debug.SetMemoryLimit(-1)
		defer debug.SetMemoryLimit(initial)
		for _, tc := range []struct {
			name              string
			process, limit    int64
			wantDuring, after int64
		}{
			{"the export's limit while it runs", initial, 64 << 20, 64 << 20, initial},
			{"no limit of the export's own", initial, 0, initial, initial},
			{"the process's lower limit stays", 16 << 20, 64 << 20, 16 << 20, 16 << 20},
		} {
			debug.SetMemoryLimit(tc.process)
			during := int64(-1)
			_, err := New(db).Write(context.Background(), &bytes.Buffer{}, Options{Scope: access.System("test"), Format: CSV,
				MemoryLimit: tc.limit, Progress: func(int) { during = debug.SetMemoryLimit(-1) }})
			if err != nil {
				t.Fatal(err)
			}
			if after := debug.SetMemoryLimit(-1); during != tc.wantDuring || after != tc.after {
				t.Errorf("%s: limit %d during the export, %d after; want %d, %d", tc.name, during, after, tc.wantDuring, tc.after)
			}
		}
	})
}
