package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/amoimport/amogen"
	"github.com/crmprofi/crm/internal/database"
)

// TestBenchImportMeasuresTheImportAsAChildProcess runs `crm bench-import`
// with a tiny export on both databases: a dry run and a real import are
// measured (time, rows a second, the child's peak RSS), each into a fresh
// copy of the base, and their totals are what the generator planted. The
// benchmark's databases are gone afterwards.
func TestBenchImportMeasuresTheImportAsAChildProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and imports; skipped with -short")
	}
	if !slices.ContainsFunc(commands(), func(c command) bool { return c.name == "import-amo" }) {
		t.Skip("crm import-amo is not in this build")
	}
	const rows = 300
	want, err := amogen.Write(io.Discard, amogen.Options{Rows: rows, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	totals := fmt.Sprintf("%d/0/%d/%d/0", want.Companies+want.Contacts, want.DuplicateCompanyRecords+want.DuplicateContactRecords, want.InvalidRecords)
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			url := newURL()
			tag := fmt.Sprintf("t%d_", os.Getpid())
			args := []string{"bench-import", "--rows", fmt.Sprint(rows), "--crm", crmBinary(t), "--dir", t.TempDir(),
				"--keep-base=false", "--tag", tag}
			if dialect == database.Postgres {
				args = append(args, "--copy")
			}
			out, err := runCrm(t, url, "", args...)
			if err != nil {
				t.Fatalf("bench-import: %v\n%s", err, out)
			}
			for _, mode := range []string{"проверка", "импорт"} {
				var line string
				for l := range strings.SplitSeq(out, "\n") {
					if f := strings.Fields(l); len(f) > 4 && f[4] == mode {
						line = l
					}
				}
				if !strings.Contains(line, " "+totals+" ") || !strings.Contains(line, " МБ") {
					t.Errorf("%s: report line %q, want time, rows/s, peak RSS and totals %s\n%s", mode, line, totals, out)
				}
			}
			if dialect == database.Postgres {
				if !strings.Contains(out, "COPY") || !strings.Contains(out, "медленнее предела") {
					t.Errorf("no COPY limit and ratio:\n%s", out)
				}
				db, err := sql.Open("pgx", url)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = db.Close() }()
				var left int
				if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM pg_database WHERE datname LIKE $1`,
					benchPrefix+tag+"%").Scan(&left); err != nil {
					t.Fatal(err)
				}
				if left != 0 {
					t.Errorf("%d benchmark databases left behind", left)
				}
			}
		})
	}
}
