package export

import (
	"context"
	"io"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/demo"
)

// BenchmarkExportCSV writes the whole export of a demo base of 5,000
// companies and as many contacts as CSV, on each database, and reports
// companies a second and the allocations of an export (-benchmem; run
// with -memprofile to see where a row's allocations come from). The
// figures of a million companies come from `crm bench-export`.
func BenchmarkExportCSV(b *testing.B) {
	const companies = 5000
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.New(b, d)
			ctx := context.Background()
			if _, err := demo.Load(ctx, db, demo.Options{Companies: companies, Contacts: companies, Seed: 10}); err != nil {
				b.Fatal(err)
			}
			e, o := New(db), Options{Scope: access.System("bench"), Format: CSV}
			b.ReportAllocs()
			for b.Loop() {
				n, err := e.Write(ctx, io.Discard, o)
				if err != nil {
					b.Fatal(err)
				}
				if n < companies*9/10 {
					b.Fatalf("%d companies exported", n)
				}
			}
			b.ReportMetric(float64(b.N*companies)/b.Elapsed().Seconds(), "companies/s")
		})
	}
}
