package amoimport

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// synthRows is a Rows of n made-up records, generated as read so that a
// large file costs no memory: companies (some with an ИНН, every tenth a
// second row of an earlier company by ИНН, every fifteenth by name and
// address) and contacts naming them, every fiftieth naming a company
// the file lacks.
type synthRows struct {
	n, i int
}

func (s *synthRows) Next() (Row, error) {
	if s.i >= s.n {
		return Row{}, io.EOF
	}
	s.i++
	i := s.i
	rec := &Record{Number: i, Line: i + 1, AmoID: int64(10_000_000 + i), Responsible: "Смирнов Алексей",
		Phones: []contactinfo.Phone{{Value: fmt.Sprintf("+7 495 %07d", i%10_000_000), E164: fmt.Sprintf("+7495%07d", i%10_000_000)}}}
	c := i / 5 // the company a row is about
	switch {
	case i%5 == 0 && i%10 == 0 && c > 2:
		rec.Kind, rec.Name, rec.INN = KindCompany, fmt.Sprintf("ООО «Компания %d»", c-1), synthINN(c-1)
	case i%5 == 0 && i%15 == 0 && c > 2:
		rec.Kind, rec.Name, rec.Address = KindCompany, fmt.Sprintf("Компания %d, ООО", c-2), fmt.Sprintf("г. Москва, ул. Ленина, д. %d", c-2)
	case i%5 == 0:
		rec.Kind, rec.Name, rec.Address = KindCompany, fmt.Sprintf("ООО «Компания %d»", c), fmt.Sprintf("г. Москва, ул. Ленина, д. %d", c)
		if c%2 == 0 {
			rec.INN = synthINN(c)
		}
	default:
		rec.Kind, rec.Name, rec.FirstName, rec.LastName = KindContact, fmt.Sprintf("Иван Иванов %d", i), "Иван", fmt.Sprintf("Иванов %d", i)
		rec.Company = fmt.Sprintf("ООО «Компания %d»", c)
		if i%50 == 1 {
			rec.Company = fmt.Sprintf("АО «Нет в файле %d»", i%1000)
		}
	}
	return Row{Record: rec}, nil
}

// synthINN is a valid 10-digit ИНН made from n.
func synthINN(n int) string {
	d := fmt.Sprintf("77%07d", n%10_000_000)
	w := []int{2, 4, 10, 3, 5, 9, 4, 6, 8}
	sum := 0
	for i, r := range d {
		sum += int(r-'0') * w[i]
	}
	return d + fmt.Sprint(sum%11%10)
}

// BenchmarkStagePlan stages and plans 100,000 made-up rows into an empty
// base and reports rows per second and the heap in use afterwards.
func BenchmarkStagePlan(b *testing.B) {
	n := benchRows()
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.New(b, d)
			ctx := context.Background()
			var admin int64
			if err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, role, date_joined)
				VALUES ('a.smirnov', 'Алексей', 'Смирнов', 'admin', $1) RETURNING id`, database.Now()).Scan(&admin); err != nil {
				b.Fatal(err)
			}
			var stage, plan time.Duration
			steps := map[string]time.Duration{}
			Trace = func(step string, took time.Duration) { steps[step] += took }
			defer func() { Trace = nil }()
			for b.Loop() {
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					var id int64
					if err := tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_at) VALUES ('bench.csv', TRUE, $1) RETURNING id`,
						database.Now()).Scan(&id); err != nil {
						return err
					}
					t0 := time.Now()
					if _, err := Stage(ctx, tx, db, id, &synthRows{n: n}); err != nil {
						return err
					}
					t1 := time.Now()
					_, err := Plan(ctx, tx, db, id, PlanOptions{Fallback: admin})
					stage += t1.Sub(t0)
					plan += time.Since(t1)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("%d rows: stage %s, plan steps %v", n, stage, steps)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(n*b.N)/(stage+plan).Seconds(), "rows/s")
			b.ReportMetric(float64(n*b.N)/stage.Seconds(), "staged/s")
			b.ReportMetric(float64(n*b.N)/plan.Seconds(), "planned/s")
			b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heapMB")
		})
	}
}

// benchRows is the size of BenchmarkStagePlan's file: 100,000, or
// CRM_BENCH_ROWS.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("CRM_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}
