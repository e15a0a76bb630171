package company_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/demo"
)

// TestEachGivesTheSameChildrenFromTheirOwnGoroutine: a whole export's
// companies read with their children stepped in a goroutine of their
// own (Each's children queriers) are, company by company, the ones read
// with one goroutine stepping all — with deleted companies skipped,
// the last company by id among them (its children come after every
// selected one), on both databases; and an error of fn stops both.
func TestEachGivesTheSameChildrenFromTheirOwnGoroutine(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := demo.Load(ctx, db, demo.Options{Companies: 700, Contacts: 0, Seed: 3}); err != nil {
			t.Fatal(err)
		}
		var last int64
		if err := db.QueryRowContext(ctx, `SELECT MAX(id) FROM companies`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO company_phones (company_id, position, value, comment) VALUES ($1, 99, '+7 495 000-00-00', 'последней')`,
			`UPDATE companies SET deleted_at = updated_at WHERE id % 9 = 0 OR id = $1`,
		} {
			if _, err := db.ExecContext(ctx, q, last); err != nil {
				t.Fatal(err)
			}
		}
		sel, err := company.NewStore(db).Select(access.System("test"), company.Query{})
		if err != nil {
			t.Fatal(err)
		}
		sel = sel.ByID()
		streams := func() (database.Streamer, error) { return database.SQLStreamer{Q: db}, nil }
		read := func(children company.Queriers) []string {
			var out []string
			err := sel.Each(ctx, streams, children, func(c *company.Company) error {
				out = append(out, fmt.Sprintf("%d %v %v %v", c.ID, c.Phones, c.Emails, c.SphereNames))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		want, got := read(nil), read(streams)
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("%d companies from their own goroutine, %d from one", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("company %d:\n got %s\nwant %s", i, got[i], want[i])
			}
		}
		stop := errors.New("stop")
		n := 0
		err = sel.Each(ctx, streams, streams, func(*company.Company) error {
			if n++; n == 10 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 10 {
			t.Errorf("after fn's error Each gave %v, %d companies", err, n)
		}
	})
}
