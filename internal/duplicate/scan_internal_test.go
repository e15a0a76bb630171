package duplicate

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/dedup"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// The scan reads records in bulk by itself; they must be the engine's.
func TestScanRecordsAreTheEngines(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var ids []int64
		for _, c := range []struct{ name, inn, kpp, ogrn, address, website, phone, email string }{
			{"ООО «Ромашка»", "7707083893", "770701001", "1027700132195", "г. Москва, ул. Ленина, д. 1", "https://www.romashka.ru/about",
				"+74951234567", "info@romashka.ru"},
			{name: "Василёк"},
		} {
			var id int64
			err := db.QueryRowContext(ctx, `INSERT INTO companies (name, name_norm, inn, kpp, ogrn, address, address_norm, website, website_domain, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`, c.name, dedup.NormalizeName(c.name), c.inn, c.kpp, c.ogrn,
				c.address, dedup.NormalizeAddress(c.address), c.website, dedup.NormalizeWebsite(c.website), database.Now()).Scan(&id)
			if err != nil {
				t.Fatal(err)
			}
			if c.phone != "" {
				for _, q := range []string{`INSERT INTO company_phones (company_id, value, e164) VALUES ($1, $2, $2)`,
					`INSERT INTO company_emails (company_id, value, value_norm) VALUES ($1, $2, $2)`} {
					if _, err := db.ExecContext(ctx, q, id, map[bool]string{true: c.phone, false: c.email}[strings.Contains(q, "phones")]); err != nil {
						t.Fatal(err)
					}
				}
			}
			ids = append(ids, id)
		}
		want, err := New(db).Records(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		got, err := NewScanner(db).records(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, the engine has %d", len(got), len(want))
		}
		for _, w := range want {
			g := got[w.ID]
			for _, r := range []*Record{&w, g} {
				slices.Sort(r.Phones)
				slices.Sort(r.Emails)
			}
			if !reflect.DeepEqual(*g, w) {
				t.Errorf("record %d:\n got %+v\nwant %+v", w.ID, *g, w)
			}
		}
	})
}

// Recent keeps a save's answer only when no re-check began or ran
// between the save's check and its commit, and hands it out once, for
// the company as the save checked it.
func TestRecentKeepsOnlyWhatNoRecheckOverlapped(t *testing.T) {
	p := Probe{Exclude: 1, Name: "Сигма", Phones: []string{"+74952222222", "+74953333333"}}
	found := []Match{{ID: 2, Score: Likely}, {ID: 3, Score: Likely - 1}}
	t.Run("a save between re-checks is taken once", func(t *testing.T) {
		r := NewRecent()
		r.Keep(r.Start(), 1, p, found)
		reordered := p
		reordered.Phones = []string{"+74953333333", "8 (495) 222-22-22"}
		if got, ok := r.take(1, reordered); !ok || !slices.Equal(got, []int64{2}) {
			t.Errorf("take = %v, %v; want the likely one, [2]", got, ok)
		}
		if _, ok := r.take(1, p); ok {
			t.Error("taken twice")
		}
	})
	t.Run("a company changed since is not taken", func(t *testing.T) {
		r := NewRecent()
		r.Keep(r.Start(), 1, p, found)
		changed := p
		changed.Name = "Сигма Плюс"
		if _, ok := r.take(1, changed); ok {
			t.Error("taken for another name")
		}
	})
	t.Run("a re-check that ran meanwhile drops the save's answer", func(t *testing.T) {
		r := NewRecent()
		ticket := r.Start()
		r.begin()
		r.end()
		r.Keep(ticket, 1, p, found)
		if _, ok := r.take(1, p); ok {
			t.Error("kept across a re-check")
		}
	})
	t.Run("a save that starts during a re-check is not kept", func(t *testing.T) {
		r := NewRecent()
		r.begin()
		ticket := r.Start()
		r.end()
		r.Keep(ticket, 1, p, found)
		if _, ok := r.take(1, p); ok {
			t.Error("kept though a re-check was running")
		}
	})
}
