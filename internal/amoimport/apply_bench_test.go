package amoimport_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// BenchmarkApply applies plans of 5,000 rows (4,000 companies, each with
// two phones, an e-mail, a sphere and a note, and 1,000 contacts linked
// to them), a new import per iteration into a growing base, and reports
// rows per second.
func BenchmarkApply(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.New(b, d)
			cast := dbtest.NewCast(b, db)
			ctx := context.Background()
			const companies, contacts = 4000, 1000
			run := 0
			for b.Loop() {
				b.StopTimer()
				id := stageBench(b, db, run, companies, contacts, cast.Alisa.ID)
				run++
				b.StartTimer()
				if err := db.InTx(ctx, func(tx *sql.Tx) error {
					return amoimport.Apply(ctx, tx, db, id, access.System("bench"), nil)
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(run*(companies+contacts))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// stageBench writes a planned import of fresh companies and contacts.
func stageBench(b *testing.B, db *database.DB, run, companies, contacts int, responsible int64) int64 {
	b.Helper()
	ctx := context.Background()
	var id int64
	if err := db.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_at) VALUES ('bench.csv', FALSE, $1) RETURNING id`,
		database.Now()).Scan(&id); err != nil {
		b.Fatal(err)
	}
	at := time.Date(2023, 5, 1, 9, 0, 0, 0, time.UTC)
	var rows [][]any
	for i := 1; i <= companies+contacts; i++ {
		k := run*(companies+contacts) + i
		r := amoimport.Record{Number: i, Line: i + 1, Kind: amoimport.KindCompany, AmoID: int64(10_000_000 + k), CreatedAt: at,
			Name: fmt.Sprintf("ООО «Компания %d» Торговый дом", k), Address: fmt.Sprintf("г. Москва, ул. Ленина, д. %d", k%300),
			Phones: []contactinfo.Phone{{Value: fmt.Sprintf("+7 495 %03d-%02d-%02d", k%1000, k/1000%100, k%97), Kind: "work"},
				{Value: fmt.Sprintf("+7 916 %03d-%02d-%02d", k%997, k/997%100, k%89), Kind: "mobile"}},
			Emails:  []contactinfo.Email{{Value: fmt.Sprintf("office%d@example.ru", k), Kind: "work"}},
			Spheres: []string{fmt.Sprintf("Сфера %d", k%20)}, Notes: []string{fmt.Sprintf("Заметка о компании %d", k)}}
		link := any(nil)
		if i > companies {
			r.Kind, r.Name, r.LastName, r.FirstName, r.Spheres, r.Notes = amoimport.KindContact, "", fmt.Sprintf("Иванов%d", k), "Пётр", nil, nil
			link = 1 + (i % companies)
		}
		rec, err := json.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, []any{id, i, i + 1, string(r.Kind), r.AmoID, string(rec), amoimport.ActionCreate, i, link, responsible})
	}
	if err := db.InsertRows(ctx, db, `INSERT INTO import_rows (import_id, number, line, kind, amo_id, record, action, entity, link_entity, responsible_id)`, rows); err != nil {
		b.Fatal(err)
	}
	return id
}
