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
