package company_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestReferenceNamesFollowEveryChange: a company row reads the ids of
// its status, branch and users, and their names come from the
// dictionaries the store keeps in memory; yet a rename, a deactivation
// or a user moved to another branch — made by another process, a
// second database.DB on the same database — shows on the very next
// read of every kind (card, get, list, name search, ИНН search, quick
// search, batch load, trash), and the responsible's branch that access
// decides by follows too. Read again with nothing changed, a company
// costs no statement for its names.
func TestReferenceNamesFollowEveryChange(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, other := dbtest.Twice(t, d)
			cast := dbtest.NewCast(t, db)
			store := company.NewStore(db)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := other.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var status int64
			if err := db.QueryRowContext(ctx, `INSERT INTO company_statuses (name, position) VALUES ('Переговоры', 1) RETURNING id`).Scan(&status); err != nil {
				t.Fatal(err)
			}
			alisa, admin := cast.Alisa.Scope, cast.Admin.Scope
			created, err := store.Create(ctx, alisa, company.Input{Name: company.OptString{Set: true, Value: "Ромашка"},
				INN: company.OptString{Set: true, Value: "7707083893"}, Status: company.OptID{Set: true, Value: status}})
			if err != nil {
				t.Fatal(err)
			}
			gone, err := store.Create(ctx, alisa, company.Input{Name: company.OptString{Set: true, Value: "Лютик"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Delete(ctx, admin, gone.ID); err != nil {
				t.Fatal(err)
			}
			one := func(list []company.Company, err error) (company.Company, error) {
				if err == nil && len(list) != 1 {
					err = errors.New("not one company")
				}
				if err != nil {
					return company.Company{}, err
				}
				return list[0], nil
			}
			search := func(q company.Query) func() (company.Company, error) {
				return func() (company.Company, error) {
					res, err := store.Search(ctx, admin, q)
					return one(res.Companies, err)
				}
			}
			reads := []struct {
				name string
				read func() (company.Company, error)
			}{
				{"the card", func() (company.Company, error) {
					c, _, err := store.Card(ctx, admin, created.ID)
					return c, err
				}},
				{"get", func() (company.Company, error) { return store.Get(ctx, admin, created.ID) }},
				{"the list", search(company.Query{Status: status})},
				{"a name search", search(company.Query{Text: "ромашка"})},
				{"an ИНН search", search(company.Query{Text: "7707083893"})},
				{"a quick search", search(company.Query{Text: "ромаш", Quick: true})},
				{"a batch load", func() (company.Company, error) { return one(store.LoadBatch(ctx, db, []int64{created.ID})) }},
				{"the trash", search(company.Query{Deleted: true})},
			}
			type shown struct {
				status, branch, responsible, createdBy, deletedBy string
				responsibleBranch                                 int64
			}
			show := func(c company.Company) shown {
				return shown{c.StatusName, c.BranchName, c.ResponsibleName, c.CreatedByName, c.DeletedByName, c.Ref().ResponsibleBranchID}
			}
			want := shown{"Переговоры", "", cast.Alisa.FullName(), cast.Alisa.FullName(), "", cast.BranchA}
			if err := db.QueryRowContext(ctx, `SELECT name FROM branches WHERE id = $1`, cast.BranchA).Scan(&want.branch); err != nil {
				t.Fatal(err)
			}
			wantOf := func(read string) shown {
				w := want
				if read == "the trash" {
					w.status, w.deletedBy = "", cast.Admin.FullName()
				}
				return w
			}
			check := func(t *testing.T) {
				t.Helper()
				for _, r := range reads {
					c, err := r.read()
					if err != nil {
						t.Fatalf("%s: %v", r.name, err)
					}
					if got := show(c); got != wantOf(r.name) {
						t.Errorf("%s shows %+v, want %+v", r.name, got, wantOf(r.name))
					}
				}
			}
			check(t)
			for _, tc := range []struct {
				name   string
				change func()
				then   func()
			}{
				{"a status renamed", func() {
					exec(`UPDATE company_statuses SET name = 'Договор' WHERE id = $1`, status)
				}, func() { want.status = "Договор" }},
				{"a branch renamed", func() {
					exec(`UPDATE branches SET name = 'Филиал соседа' WHERE id = $1`, cast.BranchA)
				}, func() { want.branch = "Филиал соседа" }},
				{"the responsible and author renamed", func() {
					exec(`UPDATE users SET first_name = 'Алевтина' WHERE id = $1`, cast.Alisa.ID)
				}, func() {
					want.responsible, want.createdBy = "Алевтина "+cast.Alisa.LastName, "Алевтина "+cast.Alisa.LastName
				}},
				{"who deleted renamed", func() {
					exec(`UPDATE users SET last_name = 'Админов' WHERE id = $1`, cast.Admin.ID)
				}, func() { cast.Admin.LastName = "Админов" }},
				{"the responsible deactivated keeps their name", func() {
					exec(`UPDATE users SET is_active = $1 WHERE id = $2`, false, cast.Alisa.ID)
				}, func() {}},
				{"the responsible moved to another branch", func() {
					exec(`UPDATE users SET branch_id = $1 WHERE id = $2`, cast.BranchB, cast.Alisa.ID)
				}, func() { want.responsibleBranch = cast.BranchB }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tc.change()
					tc.then()
					check(t)
					before := db.Statements()
					if _, err := store.Get(ctx, admin, created.ID); err != nil {
						t.Fatal(err)
					}
					if n := db.Statements() - before; n != 1 {
						t.Errorf("get with nothing changed: %d statements, want 1 (the names from memory)", n)
					}
				})
			}

			// Within a transaction a company shows the transaction's own
			// changes, and nothing of them stays once it rolls back.
			t.Run("a rename in a transaction rolled back", func(t *testing.T) {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
						t.Fatal(err)
					}
				}()
				if _, err := tx.ExecContext(ctx, `UPDATE company_statuses SET name = 'Отменённый' WHERE id = $1`, status); err != nil {
					t.Fatal(err)
				}
				in, err := store.WithTx(tx).Get(ctx, access.System("test"), created.ID)
				if err != nil {
					t.Fatal(err)
				}
				if in.StatusName != "Отменённый" {
					t.Errorf("inside the transaction: %q, want «Отменённый»", in.StatusName)
				}
				if err := tx.Rollback(); err != nil {
					t.Fatal(err)
				}
				check(t)
			})
		})
	}
}

// TestNamesInATransactionNeedNoSecondConnection: a company read inside a
// transaction while the dictionaries in memory are stale reads them
// through the transaction; asking the pool for another connection would
// wait forever once transactions hold them all (here: the only one).
func TestNamesInATransactionNeedNoSecondConnection(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		db.SetMaxOpenConns(1)
		store := company.NewStore(db)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := store.Create(ctx, cast.Alisa.Scope, company.Input{Name: company.OptString{Set: true, Value: "Ромашка"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.ResponsibleName != cast.Alisa.FullName() {
			t.Errorf("responsible %q, want %q", c.ResponsibleName, cast.Alisa.FullName())
		}
	})
}
