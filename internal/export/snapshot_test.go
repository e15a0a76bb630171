package export

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/demo"
)

// TestExportReadsOneSnapshotWhileAWriterCommits: a writer commits step
// after step while exports run, each step renaming a company (which moves
// it in the list's order by name) together with its contact, and moving
// another company to the trash or back. The export reads its streams in
// several goroutines, on SQLite on four connections: every file still shows
// the base at one moment — the renamed company once, its contact named as
// it is, the other company in or out with the count of rows — and no
// export fails for streams that disagree.
func TestExportReadsOneSnapshotWhileAWriterCommits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := demo.Load(ctx, db, demo.Options{Companies: 1200, Contacts: 1500, Seed: 3}); err != nil {
			t.Fatal(err)
		}
		var moved, trashed, person int64
		var live int
		err := db.QueryRowContext(ctx, `SELECT MIN(c.id), MAX(c.id), COUNT(*) FROM companies c WHERE c.deleted_at IS NULL`).Scan(&moved, &trashed, &live)
		if err != nil {
			t.Fatal(err)
		}
		err = db.QueryRowContext(ctx, `INSERT INTO contacts (company_id, last_name, first_name, created_at, updated_at)
			SELECT id, 'Шаг 0', 'Пётр', created_at, updated_at FROM companies WHERE id = $1 RETURNING id`,
			moved).Scan(&person)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE companies SET name = 'Шаг 0', name_norm = 'шаг 0' WHERE id = $1`, moved); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var steps int
		var writeErr error
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				steps++
				// Names from «а» to «я» and back, so the company moves
				// from one end of the list to the other.
				name := fmt.Sprintf("%c Шаг %d", []rune("аоя")[steps%3], steps)
				writeErr = db.InTx(ctx, func(tx *sql.Tx) error {
					for _, q := range []struct {
						sql  string
						args []any
					}{
						{`UPDATE companies SET name = $1, name_norm = $2 WHERE id = $3`, []any{name, strings.ToLower(name), moved}},
						{`UPDATE contacts SET last_name = $1 WHERE id = $2`, []any{name, person}},
						{`UPDATE companies SET deleted_at = CASE WHEN deleted_at IS NULL THEN updated_at END WHERE id = $1`, []any{trashed}},
					} {
						if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
							return err
						}
					}
					return nil
				})
				if writeErr != nil {
					return
				}
			}
		})
		e := New(db)
		for i := range 12 {
			ordering := []string{"", "name", "-name", "-updated_at"}[i%4]
			var out bytes.Buffer
			n, err := e.Write(ctx, &out, Options{Scope: access.System("test"), Query: company.Query{Ordering: ordering}, Format: CSV})
			if err != nil {
				close(stop)
				wg.Wait()
				t.Fatalf("export %d: %v", i, err)
			}
			checkOneMoment(t, out.Bytes(), n, live, moved, trashed)
		}
		close(stop)
		wg.Wait()
		if writeErr != nil {
			t.Fatal(writeErr)
		}
		if steps < 2 {
			t.Fatalf("the writer committed %d steps", steps)
		}
		t.Logf("%d steps committed during 12 exports", steps)
	})
}

// checkOneMoment checks that a file of n companies is the base at one
// step of the writer: the company moved has one row, its contact has its
// name; the company trashed is there when the count, of a base of live
// companies but for it, says so.
func checkOneMoment(t *testing.T, file []byte, n, live int, moved, trashed int64) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\ufeff"))))
	r.Comma = ';'
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != n+1 {
		t.Fatalf("%d rows for %d companies", len(records)-1, n)
	}
	var seen []string
	hasTrashed := false
	for _, rec := range records[1:] {
		switch rec[0] {
		case fmt.Sprint(moved):
			seen = append(seen, rec[1])
			if !strings.Contains(rec[len(rec)-1], rec[1]+" Пётр") {
				t.Errorf("company %q, its contacts %q: two moments in one file", rec[1], rec[len(rec)-1])
			}
		case fmt.Sprint(trashed):
			hasTrashed = true
		}
	}
	if len(seen) != 1 {
		t.Errorf("the renamed company has %d rows: %q", len(seen), seen)
	}
	if hasTrashed != (n == live) {
		t.Errorf("%d companies of %d, company %d in the file: %v", n, live, trashed, hasTrashed)
	}
}
