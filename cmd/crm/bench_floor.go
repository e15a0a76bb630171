package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmprofi/crm/internal/backup"
	"github.com/crmprofi/crm/internal/database"
)

// floorTables are the product's tables an import of amoCRM's export
// writes — by its own statements (amoimport.Apply and the company,
// contact and note stores it calls) or by their triggers — parents
// before children, so that a copy with foreign keys checked finds every
// parent in place. The floor copies exactly these; outputFloor refuses to
// measure when the import changed any other table that floorSkipped does
// not name, so a table a later migration adds cannot be left out
// silently.
var floorTables = []string{
	"spheres", // the dictionary: «Сфера деятельности» and «Теги» the base lacked
	"companies", "company_amo_ids", "company_phones", "company_emails", "company_spheres", "company_notes",
	"company_terms", "company_names", "name_trigrams", // search words and the trigrams of the names
	"company_months", "company_tallies", "duplicate_dirty", // kept by triggers (SQLite) or the store (PostgreSQL)
	"contacts", "contact_amo_ids", "contact_phones", "contact_emails", "contact_terms", "contact_tallies",
}

// floorSkipped reports whether the floor leaves out table although an
// import writes it: the import's own bookkeeping (imports, its file, its
// staged rows, plans and row ids) and the run's single audit entry, none
// of which is the data a user imports.
func floorSkipped(table string) bool {
	return strings.HasPrefix(table, "import") || table == "audit_log"
}

// floorVariant is one way of writing the rows again.
type floorVariant struct {
	label string // in the benchmark's table
	what  string // in the summary
	// checkFK keeps the foreign keys checked; user triggers are off in
	// both variants, since what they derive is among the rows copied.
	checkFK bool
}

var floorVariants = []floorVariant{
	{label: "граница", what: "без проверок FK"},
	{label: "граница+FK", what: "с проверками FK", checkFK: true},
}

// floorRun is one timed write of the import's output.
type floorRun struct {
	variant floorVariant
	elapsed time.Duration
	rows    int64 // written, all tables
	// cpu is the processor time of whoever writes: the PostgreSQL
	// backend of the copy (read from /proc, so only with the server on
	// this machine), or this process on SQLite; -1 when unknown. On a
	// loaded machine it holds steadier than the wall time.
	cpu time.Duration
	// readCPU is the PostgreSQL backend's reading the imported base by
	// COPY TO, at the same time; -1 on SQLite or when unknown.
	readCPU time.Duration
	load    string
}

// benchFloor is the output floor of one import: the time it takes to
// write exactly the rows the import left in the product's tables, in bulk
// and in one transaction, into a fresh copy of the base the import ran
// on. The importer can be no faster than that on this schema, whatever
// it does, so it is the limit to compare the import with — not COPY of
// the file's raw records (--copy), which ignores that one row of the file
// becomes about fifteen rows under some thirty-five indexes.
type benchFloor struct {
	records  int           // of the file
	imported time.Duration // the import's own time, for the ratio
	// importCPU is the import child's processor time: on SQLite all the
	// import's work, set beside the floor's own (this process), a ratio
	// the machine's load moves less than the wall times'. On PostgreSQL
	// the server's share is not in it, so it is left at 0 there.
	importCPU time.Duration
	tables    []floorCount // rows per table, as the import left them
	runs      []floorRun
}

// floorCount is the rows of one table.
type floorCount struct {
	table string
	rows  int64
}

// outputFloor measures the floor of the import that turned base into
// imported: every variant writes the rows of floorTables from imported
// into a fresh copy of base, timed from BEGIN to COMMIT, then checks that
// the copy holds as many rows per table as imported and drops it.
//
// A table the empty base already fills (the spheres dictionary, the
// contacts' tally row) is emptied first in the same transaction and
// copied whole: the import added to it or changed it in place, and a few
// dozen rows do not move the figure.
func (s *benchServer) outputFloor(ctx context.Context, base, imported string, f *benchFloor) error {
	before, err := s.tableCounts(ctx, base)
	if err != nil {
		return err
	}
	after, err := s.tableCounts(ctx, imported)
	if err != nil {
		return err
	}
	var left []string
	for t, n := range after {
		if n != before[t] && !slices.Contains(floorTables, t) && !floorSkipped(t) {
			left = append(left, t)
		}
	}
	if len(left) > 0 {
		slices.Sort(left)
		return fmt.Errorf("импорт записал в таблицы, которых нет в списке нижней границы (floorTables): %s", strings.Join(left, ", "))
	}
	f.tables = f.tables[:0]
	var refill []string
	for _, t := range floorTables {
		if _, ok := after[t]; !ok {
			return fmt.Errorf("таблицы %s нет в базе", t)
		}
		f.tables = append(f.tables, floorCount{table: t, rows: after[t]})
		if before[t] > 0 {
			refill = append(refill, t)
		}
	}
	for _, v := range floorVariants {
		run, err := s.floorOnce(ctx, base, imported, v, refill, after)
		if err != nil {
			return fmt.Errorf("%s: %w", v.what, err)
		}
		f.runs = append(f.runs, run)
	}
	return nil
}

// floorOnce writes the tables once, into a copy of base made for it and
// dropped after, and checks the copy's counts against want, imported's.
func (s *benchServer) floorOnce(ctx context.Context, base, imported string, v floorVariant, refill []string,
	want map[string]int64) (floorRun, error) {
	run := floorRun{variant: v, cpu: -1, readCPU: -1}
	name := fmt.Sprintf("%sfloor_%d", s.prefix, time.Now().UnixNano()%1e9)
	_ = s.drop(ctx, name)
	if err := s.create(ctx, name, base); err != nil {
		return run, err
	}
	defer func() { _ = s.drop(context.WithoutCancel(ctx), name) }()
	write := s.floorPostgres
	if s.dialect == database.SQLite {
		write = s.floorSQLite
	}
	if err := write(ctx, name, imported, v.checkFK, refill, &run); err != nil {
		return run, err
	}
	got, err := s.tableCounts(ctx, name)
	if err != nil {
		return run, err
	}
	for _, t := range floorTables {
		if got[t] != want[t] {
			return run, fmt.Errorf("%s: в копии %d строк, импорт оставил %d", t, got[t], want[t])
		}
	}
	return run, nil
}

// floorPostgres streams each table from src to dst: COPY … TO STDOUT on
// one connection piped into COPY … FROM STDIN on the other, in binary,
// so nothing is held in memory and no value is parsed as text. Variant
// without FK checks: session_replication_role = replica, which turns off
// user triggers and the foreign keys' (internal) triggers alike, as a
// restore of pg_dump's data does. With FK checks: the user triggers of
// the copied tables are disabled inside the transaction and enabled
// again before COMMIT, so every row is checked against its parent. The
// source's COPY TO runs on the same server at the same time and is in
// the time (about a tenth of it).
func (s *benchServer) floorPostgres(ctx context.Context, dst, src string, checkFK bool, refill []string, run *floorRun) error {
	in, err := pgx.Connect(ctx, s.url(src))
	if err != nil {
		return err
	}
	defer func() { _ = in.Close(context.WithoutCancel(ctx)) }()
	out, err := pgx.Connect(ctx, s.url(dst))
	if err != nil {
		return err
	}
	defer func() { _ = out.Close(context.WithoutCancel(ctx)) }()
	var head, tail []string
	if checkFK {
		for _, t := range floorTables {
			id := pgx.Identifier{t}.Sanitize()
			head = append(head, `ALTER TABLE `+id+` DISABLE TRIGGER USER`)
			tail = append(tail, `ALTER TABLE `+id+` ENABLE TRIGGER USER`)
		}
	} else {
		head = append(head, `SET LOCAL session_replication_role = replica`)
	}
	for _, t := range refill {
		head = append(head, `DELETE FROM `+pgx.Identifier{t}.Sanitize())
	}
	before := loadAverage()
	cpuDst, cpuSrc := postgresCPU(dst), postgresCPU(src)
	start := time.Now()
	tx, err := out.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	for _, q := range head {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for _, t := range floorTables {
		n, err := copyTable(ctx, in, out, t)
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		run.rows += n
	}
	for _, q := range tail {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	run.elapsed = time.Since(start)
	run.load = before + " → " + loadAverage()
	run.cpu = postgresSpent(cpuDst, postgresCPU(dst))
	run.readCPU = postgresSpent(cpuSrc, postgresCPU(src))
	return nil
}

// copyTable pipes COPY TO of table on in into COPY FROM on out and
// returns the rows written.
func copyTable(ctx context.Context, in, out *pgx.Conn, table string) (int64, error) {
	id := pgx.Identifier{table}.Sanitize()
	r, w := io.Pipe()
	read := make(chan error, 1)
	go func() {
		_, err := in.PgConn().CopyTo(ctx, w, `COPY `+id+` TO STDOUT (FORMAT binary)`)
		_ = w.CloseWithError(err) // nil: the reader sees EOF
		read <- err
	}()
	tag, err := out.PgConn().CopyFrom(ctx, r, `COPY `+id+` FROM STDIN (FORMAT binary)`)
	_ = r.CloseWithError(errors.New("copy stopped")) // a writer still blocked gives up
	if rerr := <-read; err == nil && rerr != nil {
		err = fmt.Errorf("COPY TO: %w", rerr)
	}
	return tag.RowsAffected(), err
}

// floorSQLite copies each table from the imported file, attached as src,
// by INSERT … SELECT in one transaction on one connection with the
// import's bulk settings (database.BulkSession). The user triggers of the
// copied tables are dropped inside the transaction, so what they derive
// is not written twice; foreign keys are off, or on for the checked
// variant (a pragma that holds only outside a transaction, so it is set
// before BEGIN).
//
// The SELECT has LIMIT -1 (no limit) to keep SQLite off its transfer
// optimisation: a bare INSERT INTO t SELECT * FROM u of the same schema
// into an empty table without triggers copies the records and the index
// entries as they are, each index filled in its own order — building the
// indexes after the rows rather than maintaining them, a few times faster
// (2,000 rows: 30 ms) than any importer writing its rows could be.
func (s *benchServer) floorSQLite(ctx context.Context, dst, src string, checkFK bool, refill []string, run *floorRun) error {
	db, err := database.Open(ctx, s.url(dst))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	fk := map[bool]string{false: "OFF", true: "ON"}[checkFK]
	for _, q := range []string{`PRAGMA temp_store = MEMORY`, `PRAGMA foreign_keys = ` + fk} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE $1 AS src`, filepath.Join(s.dir, src+".db")); err != nil {
		return err
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE src`) }()
	tables, err := json.Marshal(floorTables)
	if err != nil {
		return err
	}
	triggers, err := database.Column[string](ctx, conn, `SELECT name FROM main.sqlite_master
		WHERE type = 'trigger' AND tbl_name IN (SELECT value FROM json_each($1))`, string(tables))
	if err != nil {
		return err
	}
	before := loadAverage()
	cpu := processCPU()
	start := time.Now()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	restore, err := db.BulkSession(ctx, tx)
	if err != nil {
		return err
	}
	for _, name := range triggers {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER main.`+quote(name)); err != nil {
			return err
		}
	}
	for _, t := range refill {
		if _, err := tx.ExecContext(ctx, `DELETE FROM main.`+quote(t)); err != nil { //nolint:gosec // a quoted name of our own list
			return err
		}
	}
	for _, t := range floorTables {
		res, err := tx.ExecContext(ctx, `INSERT INTO main.`+quote(t)+` SELECT * FROM src.`+quote(t)+` LIMIT -1`) //nolint:gosec // quoted names of our own list
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		run.rows += n
	}
	if err := restore(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	run.elapsed = time.Since(start)
	run.load = before + " → " + loadAverage()
	if cpu >= 0 {
		run.cpu = processCPU() - cpu
	}
	return nil
}

// quote quotes an identifier (PostgreSQL's rules are SQLite's).
func quote(name string) string {
	return pgx.Identifier{name}.Sanitize()
}

// tableCounts is the rows of every table of the benchmark's database
// name.
func (s *benchServer) tableCounts(ctx context.Context, name string) (map[string]int64, error) {
	db, err := database.Open(ctx, s.url(name))
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	return backup.TableCounts(ctx, db, db.Dialect)
}

// print writes the floor's summary: what was written, each variant's time
// and rows of the file a second, how much longer the import took, and
// the rows per table.
func (f benchFloor) print(w io.Writer) {
	var total int64
	for _, t := range f.tables {
		total += t.rows
	}
	fmt.Fprintf(w, "\nНижняя граница импорта %d строк: те же %d строк в %d таблицах, что записал импорт, записаны заново одной транзакцией в чистую копию пустой базы (все индексы, без триггеров):\n",
		f.records, total, len(f.tables))
	for _, r := range f.runs {
		var also string
		if r.readCPU >= 0 {
			also = ", чтения " + cpuText(r.readCPU)
		}
		if f.importCPU > 0 && r.cpu > 0 {
			also += fmt.Sprintf(", ЦП импорта (%s) больше в %.1f раза", cpuText(f.importCPU), f.importCPU.Seconds()/r.cpu.Seconds())
		}
		fmt.Fprintf(w, "  %s: %s, %.0f строк выгрузки/с; импорт (%s) дольше в %.1f раза; ЦП записи %s%s (нагрузка %s)\n", r.variant.what,
			r.elapsed.Round(10*time.Millisecond), float64(f.records)/r.elapsed.Seconds(), f.imported.Round(10*time.Millisecond),
			f.imported.Seconds()/r.elapsed.Seconds(), cpuText(r.cpu), also, r.load)
	}
	parts := make([]string, len(f.tables))
	for i, t := range f.tables {
		parts[i] = fmt.Sprintf("%s=%d", t.table, t.rows)
	}
	fmt.Fprintf(w, "  строк по таблицам: %s\n", strings.Join(parts, " "))
}

// cpuText is a processor time for the report, "—" when unknown.
func cpuText(d time.Duration) string {
	if d < 0 {
		return "—"
	}
	return d.Round(10 * time.Millisecond).String()
}
