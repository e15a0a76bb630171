package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// output floor (--floor) writes again every row the import wrote, in both
// variants, and lists the rows per table: all of floorTables, as many
// companies and contacts as the generator planted, and as many rows
// written as the tables hold. The benchmark's databases are gone
// afterwards.
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
				"--keep-base=false", "--tag", tag, "--floor"}
			profiles := filepath.Join(t.TempDir(), "not", "yet") // bench-import makes the folder
			if dialect == database.Postgres {
				args = append(args, "--copy")
			} else {
				args = append(args, "--cpuprofile", profiles)
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
			checkFloor(t, out, want)
			if dialect == database.SQLite {
				if got, _ := filepath.Glob(filepath.Join(profiles, "*.pprof")); len(got) != 2 {
					t.Errorf("--cpuprofile %s: profiles %v, want one per run", profiles, got)
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

// checkFloor checks the output floor's report in out: a table line per
// variant whose rows written are the sum of the per-table counts, and
// those counts cover every table of floorTables, with the generator's
// companies and contacts.
func checkFloor(t *testing.T, out string, want amogen.Summary) {
	t.Helper()
	counts := map[string]int64{}
	var total int64
	for l := range strings.SplitSeq(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "строк по таблицам:"); ok {
			for _, kv := range strings.Fields(rest) {
				var n int64
				name, num, _ := strings.Cut(kv, "=")
				if _, err := fmt.Sscan(num, &n); err != nil {
					t.Fatalf("table count %q: %v", kv, err)
				}
				counts[name] = n
				total += n
			}
		}
	}
	for _, table := range floorTables {
		if counts[table] == 0 {
			t.Errorf("floor: table %s missing or empty in %v\n%s", table, counts, out)
		}
	}
	if counts["companies"] != int64(want.Companies) || counts["contacts"] != int64(want.Contacts) {
		t.Errorf("floor: %d companies, %d contacts; the generator planted %d, %d", counts["companies"], counts["contacts"], want.Companies, want.Contacts)
	}
	for _, v := range floorVariants {
		var line string
		for l := range strings.SplitSeq(out, "\n") {
			if f := strings.Fields(l); len(f) > 4 && f[4] == v.label {
				line = l
			}
		}
		if !strings.Contains(line, fmt.Sprintf(" %d строк ", total)) {
			t.Errorf("floor %s: line %q, want %d rows written (the tables' sum)\n%s", v.label, line, total, out)
		}
		if !strings.Contains(out, "  "+v.what+": ") || !strings.Contains(out, "дольше в") {
			t.Errorf("floor %s: no summary with the import's ratio\n%s", v.what, out)
		}
	}
}

// TestBenchImportSaysWhyTheImportFailed runs `crm bench-import` with an
// importer that fails: the error carries what the importer said on
// stderr, not only its exit status, and not the progress bar.
func TestBenchImportSaysWhyTheImportFailed(t *testing.T) {
	if testing.Short() {
		t.Skip("imports; skipped with -short")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "crm")
	script := "#!/bin/sh\nprintf 'Чтение файла [░░░░] 0%%\\r' >&2\necho 'ошибка: файл профиля не создать' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o700); err != nil { //nolint:gosec // a test's own script
		t.Fatal(err)
	}
	url := "sqlite:" + filepath.Join(dir, "bench.db")
	out, err := runCrm(t, url, "", "bench-import", "--rows", "20", "--modes", "dry", "--crm", fake, "--dir", dir, "--keep-base=false")
	if err == nil {
		t.Fatalf("bench-import with a failing importer succeeded:\n%s", out)
	}
	if msg := err.Error(); !strings.Contains(msg, "файл профиля не создать") || strings.Contains(msg, "░") {
		t.Errorf("error %q: want the importer's own message, without its progress bar", msg)
	}
}
