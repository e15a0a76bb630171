package database_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/internal/note"
)

// stores are every store with writes, each to be bound to one transaction.
type stores struct {
	companies *company.Store
	contacts  *contact.Store
	notes     *note.Store
	dicts     *dictionary.Store
	users     *auth.Store
}

func (s stores) withTx(tx *sql.Tx) stores {
	return stores{s.companies.WithTx(tx), s.contacts.WithTx(tx), s.notes.WithTx(tx), s.dicts.WithTx(tx), s.users.WithTx(tx)}
}

// writeAll writes through every store in tx: a sphere, a user, a company
// with that sphere, a contact and a note of the company, then edits and
// deletes a little.
func writeAll(ctx context.Context, tx *sql.Tx, s stores, admin access.Scope) error {
	b := s.withTx(tx)
	name := "Логистика"
	sphere, err := b.dicts.Create(ctx, admin, dictionary.Spheres, dictionary.Input{Name: &name})
	if err != nil {
		return err
	}
	login, first, last := "egor", "Егор", "Ершов"
	u, err := b.users.Create(ctx, admin, auth.UserInput{Username: &login, FirstName: &first, LastName: &last})
	if err != nil {
		return err
	}
	c, err := b.companies.Create(ctx, admin, company.Input{
		Name:        company.OptString{Set: true, Value: "ООО «Транзит»"},
		Responsible: company.OptID{Set: true, Value: u.ID},
		Spheres:     company.OptIDs{Set: true, Value: []int64{sphere.ID}},
	})
	if err != nil {
		return err
	}
	if _, err := b.contacts.Create(ctx, admin, contact.Input{Company: &c.ID, LastName: "Петров"}); err != nil {
		return err
	}
	if _, err := b.notes.Create(ctx, admin, note.Input{Company: c.ID, Text: "Договорились о встрече"}); err != nil {
		return err
	}
	_, err = b.companies.Update(ctx, admin, c.ID, company.Input{Website: company.OptString{Set: true, Value: "transit.ru"}}, false)
	return err
}

func TestStoresWriteInOneTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := stores{company.NewStore(db), contact.NewStore(db), note.NewStore(db), dictionary.NewStore(db), auth.NewStore(db)}
		count := func(table string) int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		tables := []string{"spheres", "users", "companies", "company_spheres", "contacts", "company_notes", "audit_log"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = count(tb)
		}

		t.Run("a rolled back transaction leaves nothing of any store", func(t *testing.T) {
			stop := errors.New("stop")
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				if err := writeAll(ctx, tx, s, cast.Admin.Scope); err != nil {
					return err
				}
				return stop
			})
			if !errors.Is(err, stop) {
				t.Fatalf("InTx = %v, want the error that stopped it", err)
			}
			for _, tb := range tables {
				if got := count(tb); got != before[tb] {
					t.Errorf("%s: %d rows, want %d", tb, got, before[tb])
				}
			}
		})

		t.Run("a committed transaction keeps the writes of every store", func(t *testing.T) {
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return writeAll(ctx, tx, s, cast.Admin.Scope) }); err != nil {
				t.Fatal(err)
			}
			res, err := s.companies.Search(ctx, cast.Admin.Scope, company.Query{Text: "Транзит"})
			if err != nil || len(res.Companies) != 1 {
				t.Fatalf("search = %v, %v; want the committed company", res.Companies, err)
			}
			c := res.Companies[0]
			if c.Website != "transit.ru" || len(c.SphereNames) != 1 || c.SphereNames[0] != "Логистика" || c.ResponsibleName != "Егор Ершов" {
				t.Fatalf("company = %+v", c)
			}
			notes, n, err := s.notes.List(ctx, cast.Admin.Scope, note.Filter{CompanyID: c.ID})
			if err != nil || n != 1 || notes[0].Text != "Договорились о встрече" {
				t.Fatalf("notes = %v, %d, %v", notes, n, err)
			}
			for _, tb := range []string{"contacts", "company_notes", "spheres", "users", "companies"} {
				if got := count(tb); got != before[tb]+1 {
					t.Errorf("%s: %d rows, want %d", tb, got, before[tb]+1)
				}
			}
		})

		t.Run("a failed store call undoes only its own writes", func(t *testing.T) {
			name := "Торговля"
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				bound := db.WithTx(tx)
				// A statement that fails in the database (not a check in Go):
				// PostgreSQL aborts the transaction unless the savepoint
				// takes it back.
				dup := bound.InTx(ctx, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ('Дубль')`); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ('Дубль')`)
					return err
				})
				if !database.IsUniqueViolation(dup) {
					t.Errorf("inner InTx = %v, want a unique violation", dup)
				}
				_, err := s.dicts.WithTx(tx).Create(ctx, cast.Admin.Scope, dictionary.Spheres, dictionary.Input{Name: &name})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			rows, err := db.QueryContext(ctx, `SELECT name FROM spheres WHERE name IN ('Дубль', 'Торговля')`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					t.Fatal(err)
				}
				names = append(names, n)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(names) != 1 || names[0] != "Торговля" {
				t.Fatalf("spheres = %v, want only Торговля", names)
			}
		})
	})
}

// TestTxDialectKnowsTheTransactionsOfInTx: a helper given only a
// transaction (audit.Record) learns its database from InTx without asking
// the database, and only while the transaction is open.
func TestTxDialectKnowsTheTransactionsOfInTx(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			db := dbtest.New(t, d)
			ctx := context.Background()
			var seen *sql.Tx
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				seen = tx
				if got, ok := database.TxDialect(tx); !ok || got != d {
					t.Errorf("TxDialect in InTx = %q, %v; want %q", got, ok, d)
				}
				// A store call bound to the transaction sees it too.
				return db.WithTx(tx).InTx(ctx, func(inner *sql.Tx) error {
					if got, ok := database.TxDialect(inner); !ok || got != d {
						t.Errorf("TxDialect in a savepoint = %q, %v; want %q", got, ok, d)
					}
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := database.TxDialect(seen); ok {
				t.Error("TxDialect still knows a transaction that has ended")
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			if _, ok := database.TxDialect(tx); ok {
				t.Error("TxDialect knows a transaction InTx did not begin")
			}
		})
	}
}
