package amoimport_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/amoimport/amogen"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// generated writes an export with amogen.
func generated(tb testing.TB, opt amogen.Options, xlsx bool) ([]byte, amogen.Summary) {
	tb.Helper()
	var buf bytes.Buffer
	write := amogen.Write
	if xlsx {
		write = amogen.WriteXLSX
	}
	sum, err := write(&buf, opt)
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), sum
}

// parsedCounts reads a file with Parse and counts its records, skips and
// issues.
type parsedCounts struct {
	companies, contacts int
	skips, issues       map[string]int
}

func parseAll(tb testing.TB, data []byte) parsedCounts {
	tb.Helper()
	p, err := amoimport.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	c := parsedCounts{skips: map[string]int{}, issues: map[string]int{}}
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			return c
		}
		if err != nil {
			tb.Fatal(err)
		}
		if row.Skip != nil {
			c.skips[row.Skip.Reason]++
			continue
		}
		switch row.Record.Kind {
		case amoimport.KindCompany:
			c.companies++
		case amoimport.KindContact:
			c.contacts++
		}
		for _, is := range row.Record.Issues {
			c.issues[is.Code]++
		}
	}
}

// TestParseReadsAGeneratedExportAsPlanted reads generated exports of
// every encoding, delimiter and layout, and .xlsx, with Parse: the rows
// of each kind, the skipped rows by reason and the repaired cells by
// warning are those the generator says it planted.
func TestParseReadsAGeneratedExportAsPlanted(t *testing.T) {
	cases := []struct {
		name string
		opt  amogen.Options
		xlsx bool
	}{
		{"modern layout, UTF-8 with BOM, semicolons", amogen.Options{Layout: amogen.LayoutModern}, false},
		{"classic layout, Windows-1251 re-saved by Excel", amogen.Options{Layout: amogen.LayoutClassic, Encoding: amogen.CP1251}, false},
		{"modern layout, UTF-16, tabs", amogen.Options{Encoding: amogen.UTF16}, false},
		{"classic layout, UTF-8, commas", amogen.Options{Layout: amogen.LayoutClassic, Encoding: amogen.UTF8, Delimiter: ','}, false},
		{"modern layout, .xlsx", amogen.Options{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Rows, tc.opt.Seed = 6000, 21
			data, sum := generated(t, tc.opt, tc.xlsx)
			got := parseAll(t, data)
			if got.companies != sum.CompanyRecords || got.contacts != sum.ContactRecords {
				t.Errorf("Parse read %d company and %d contact records, the generator wrote %d and %d",
					got.companies, got.contacts, sum.CompanyRecords, sum.ContactRecords)
			}
			for reason, n := range sum.InvalidByReason {
				if tc.xlsx && (reason == "blank_line" || reason == "empty_row") {
					continue // a workbook has no blank lines; its empty rows are either
				}
				if got.skips[reason] != n {
					t.Errorf("skipped as %s: %d, planted %d", reason, got.skips[reason], n)
				}
			}
			// The warnings reading finds (deciding adds the rest).
			for _, code := range []string{"inn_leading_zero_lost", "inn_float_suffix", "inn_formatted", "inn_kpp_combined",
				"inn_excel_scientific_unrecoverable", "inn_invalid_checksum", "inn_bad_length", "kpp_leading_zero_lost",
				"kpp_invalid", "email_invalid", "phone_excel_error", "phone_without_area_code", "extra_columns"} {
				if got.issues[code] != sum.WarningsByCode[code] {
					t.Errorf("warning %s: Parse reported %d, planted %d", code, got.issues[code], sum.WarningsByCode[code])
				}
			}
		})
	}
}

// TestPlanOfAGeneratedExportMatchesItsSummary stages and plans a
// generated export into an empty base on both databases: the rows to
// create, merge and skip are the companies, contacts, duplicates and
// skipped rows the generator planted.
func TestPlanOfAGeneratedExportMatchesItsSummary(t *testing.T) {
	data, want := generated(t, amogen.Options{Rows: 3000, Seed: 8}, false)
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		admin := createUsers(t, db)
		p, err := amoimport.Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		var sum amoimport.Summary
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			var importID int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_by, created_at)
				VALUES ('amo.csv', TRUE, $1, $2) RETURNING id`, admin, database.Now()).Scan(&importID); err != nil {
				return err
			}
			if _, err := amoimport.Stage(ctx, tx, db, importID, p); err != nil {
				return err
			}
			sum, err = amoimport.Plan(ctx, tx, db, importID, amoimport.PlanOptions{Fallback: admin})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Created != want.Companies+want.Contacts || sum.Merged != want.DuplicateCompanyRecords+want.DuplicateContactRecords ||
			sum.Skipped != want.InvalidRecords || sum.Errors != 0 {
			t.Errorf("plan %+v; the generator planted %d companies (%d of them from contacts), %d contacts, %d+%d duplicate rows, %d skipped rows",
				sum, want.Companies, want.OrphanCompanyNames, want.Contacts, want.DuplicateCompanyRecords, want.DuplicateContactRecords, want.InvalidRecords)
		}
	})
}

// createUsers adds the generator's sales team and an importing admin.
func createUsers(tb testing.TB, db *database.DB) (admin int64) {
	tb.Helper()
	ctx := context.Background()
	joined := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	if err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, email, role, date_joined)
		VALUES ('admin', 'Иван', 'Петров', 'admin@example.ru', 'admin', $1) RETURNING id`, joined).Scan(&admin); err != nil {
		tb.Fatal(err)
	}
	for _, u := range amogen.Users() {
		if _, err := db.ExecContext(ctx, `INSERT INTO users (username, first_name, last_name, email, date_joined)
			VALUES ($1, $2, $3, $4, $5)`, u.Username, u.FirstName, u.LastName, u.Email, joined); err != nil {
			tb.Fatal(err)
		}
	}
	return admin
}

// BenchmarkGenerate measures the generator: rows a second and bytes.
func BenchmarkGenerate(b *testing.B) {
	const rows = 20_000
	var n int64
	for b.Loop() {
		sum, err := amogen.Write(io.Discard, amogen.Options{Rows: rows, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		n = sum.Bytes
	}
	b.SetBytes(n)
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParseGenerated measures Parse over a generated export (UTF-8
// and Windows-1251): rows a second, and allocations per file.
func BenchmarkParseGenerated(b *testing.B) {
	for _, enc := range []amogen.Encoding{amogen.UTF8BOM, amogen.CP1251} {
		b.Run(string(enc), func(b *testing.B) {
			const rows = 20_000
			data, _ := generated(b, amogen.Options{Rows: rows, Seed: 1, Encoding: enc}, false)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				p, err := amoimport.Parse(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := p.Next(); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
