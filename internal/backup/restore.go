package backup

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/migrations"
	"github.com/pressly/goose/v3"
)

// Restored is what Restore reports.
type Restored struct {
	Kind Kind
	// From is the schema version the backup was made at, Current the
	// restored database's after Restore brought it up to date, Latest the
	// newest this binary knows.
	From, Current, Latest int64
	// Migrated is how many migrations (ours and River's) were applied to
	// bring the copy up to date.
	Migrated int
}

// Restore restores the backup file into the empty database at rawURL
// and brings it to this binary's schema: a SQLite file is copied into
// place (after an integrity check), a pg_dump archive is restored with
// pg_restore in one transaction, and then the migrations a copy made by
// an older version of the CRM lacks are applied, as crm migrate and crm
// serve apply them. A database that holds any table is refused, and so is
// a backup made at a newer schema than this binary knows (it could not
// run on it) or one without a schema version (not a CRM database); both
// are refused before the target is touched.
func Restore(ctx context.Context, rawURL, file string, o Options) (Restored, error) {
	kind, err := Detect(file)
	if err != nil {
		return Restored{}, err
	}
	path := SQLitePath(rawURL)
	dialect := database.Postgres
	if kind == KindSQLite {
		dialect = database.SQLite
	}
	latest, err := latestSchema(dialect)
	if err != nil {
		return Restored{}, err
	}
	var from int64
	fits := func(schema int64) error {
		from = schema
		return fitsBinary(file, schema, latest)
	}
	switch {
	case kind == KindSQLite && path == "":
		return Restored{}, fmt.Errorf("%s — копия SQLite, а база назначения PostgreSQL: восстановите её в файл SQLite (--database-url sqlite:путь/к/файлу.db)", file)
	case kind == KindPostgres && path != "":
		return Restored{}, fmt.Errorf("%s — архив pg_dump, а база назначения SQLite: восстановите его в пустую базу PostgreSQL (--database-url postgres://…)", file)
	case kind == KindSQLite:
		err = restoreSQLite(ctx, file, path, fits)
	default:
		err = restorePostgres(ctx, file, rawURL, o, fits)
	}
	if err != nil {
		return Restored{}, err
	}
	db, err := database.Open(ctx, rawURL)
	if err != nil {
		return Restored{}, err
	}
	defer func() { _ = db.Close() }()
	r := Restored{Kind: kind, From: from, Latest: latest}
	if r.Migrated, err = db.Migrate(ctx, nil); err != nil {
		return r, fmt.Errorf("копия восстановлена (схема версии %d), но обновить её схему до версии %d этой версии CRM не удалось: %w; база осталась такой, какой была в копии — устраните причину и выполните crm migrate", from, latest, err)
	}
	if r.Current, _, err = db.MigrationStatus(ctx); err != nil {
		return r, err
	}
	return r, nil
}

// latestSchema is the newest goose schema version this binary carries
// for the dialect.
func latestSchema(d database.Dialect) (int64, error) {
	fsys, err := migrations.For(string(d))
	if err != nil {
		return 0, err
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, n := range names {
		v, err := goose.NumericComponent(n)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", n, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// fitsBinary refuses a backup this binary cannot run on: one made at a
// newer schema, or one without a schema version at all.
func fitsBinary(file string, schema, latest int64) error {
	switch {
	case schema == 0:
		return fmt.Errorf("в копии %s нет версии схемы (таблицы goose_db_version): это не копия базы CRM; база назначения не тронута", file)
	case schema > latest:
		return fmt.Errorf("копия %s сделана более новой версией CRM: схема копии — версия %d, а эта версия CRM знает схему только до версии %d и работать с такой базой не сможет; восстановите копию той версией CRM, которая её сделала (или более новой). База назначения не тронута", file, schema, latest)
	}
	return nil
}

// Report is the outcome of Verify.
type Report struct {
	File     string
	Manifest Manifest
	// Size and SHA256 of the file as it is now.
	Size   int64
	SHA256 string
	// Tables compares the manifest's counts with the restored copy's.
	Tables []TableCheck
	// Schema is the restored copy's schema version.
	Schema int64
	// AuditHead is the restored copy's audit chain head.
	AuditHead *AuditHead
	// ChainChecked is true when the audit chain of the copy was walked
	// and found whole.
	ChainChecked bool
	// Problems lists every mismatch; none means the backup is proven.
	Problems []string
	Took     time.Duration
}

// TableCheck is one table's row count in the manifest and in the copy
// (-1 when the table is missing on that side).
type TableCheck struct {
	Name      string
	Want, Got int64
}

// OK reports whether the backup restored and matched its manifest.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Verify proves a backup: it checks the file against its manifest's size
// and SHA-256, restores it into a scratch database (a temporary SQLite
// file, or a PostgreSQL database created on the server of serverURL and
// dropped afterwards), and compares the row count of every table, the
// schema version and the audit chain's head with the manifest; with
// o.VerifyChain it also walks the restored audit chain. Mismatches are
// the report's Problems; the error is for what kept the check from
// running at all.
func Verify(ctx context.Context, file, serverURL string, o Options) (Report, error) {
	start := time.Now()
	r := Report{File: file}
	m, err := ReadManifest(file)
	if err != nil {
		return r, err
	}
	r.Manifest = m

	s, err := sum(file)
	if err != nil {
		return r, err
	}
	r.Size, r.SHA256 = s.Size, s.SHA256
	if s.Size != m.File.Size {
		r.problem("размер файла %d байт, при записи был %d: копия обрезана или изменена", s.Size, m.File.Size)
	} else if s.SHA256 != m.File.SHA256 {
		r.problem("контрольная сумма SHA-256 не совпадает с записанной: файл копии изменён")
	}

	db, cleanup, err := restoreScratch(ctx, file, serverURL, m, o)
	if err != nil {
		r.problem("копия не восстанавливается: %v", err)
		return r, nil
	}
	defer cleanup()
	c, err := readContents(ctx, db, db.Dialect)
	if err != nil {
		r.problem("восстановленная копия не читается: %v", err)
		return r, nil
	}
	compare(&r, m, c)
	if o.VerifyChain != nil && m.AuditHead != nil {
		if err := o.VerifyChain(ctx, db); err != nil {
			r.problem("цепочка журнала аудита в копии нарушена: %v", err)
		} else {
			r.ChainChecked = true
		}
	}
	r.Took = time.Since(start)
	return r, nil
}

// restoreScratch restores file into a scratch database of its kind.
func restoreScratch(ctx context.Context, file, serverURL string, m Manifest, o Options) (*database.DB, func(), error) {
	kind, err := Detect(file)
	if err != nil {
		return nil, nil, err
	}
	if string(kind) != m.Dialect {
		return nil, nil, fmt.Errorf("в описании копия %s, а файл — %s", m.Dialect, kind)
	}
	var (
		url  string
		drop func()
	)
	if kind == KindSQLite {
		dir, err := os.MkdirTemp("", "crm-verify-*")
		if err != nil {
			return nil, nil, err
		}
		drop = func() { _ = os.RemoveAll(dir) }
		path := filepath.Join(dir, "crm.db")
		if err := restoreSQLite(ctx, file, path, nil); err != nil {
			drop()
			return nil, nil, err
		}
		url = "sqlite:" + path
	} else {
		if url, drop, err = scratchPostgres(ctx, serverURL); err != nil {
			return nil, nil, err
		}
		if err := restorePostgres(ctx, file, url, o, nil); err != nil {
			drop()
			return nil, nil, err
		}
	}
	db, err := database.Open(ctx, url)
	if err != nil {
		drop()
		return nil, nil, err
	}
	return db, func() { _ = db.Close(); drop() }, nil
}

// compare fills the report's table checks and problems.
func compare(r *Report, m Manifest, c contents) {
	names := map[string]bool{}
	for n := range m.Tables {
		names[n] = true
	}
	for n := range c.Tables {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		want, inManifest := m.Tables[n]
		got, inCopy := c.Tables[n]
		tc := TableCheck{Name: n, Want: want, Got: got}
		switch {
		case !inManifest:
			tc.Want = -1
			r.problem("таблица %s есть в копии, но не в описании", n)
		case !inCopy:
			tc.Got = -1
			r.problem("таблицы %s нет в копии (в описании %d строк)", n, want)
		case want != got:
			r.problem("таблица %s: в копии %d строк, при записи было %d", n, got, want)
		}
		r.Tables = append(r.Tables, tc)
	}
	r.Schema, r.AuditHead = c.Schema, c.AuditHead
	if c.Schema != m.Schema {
		r.problem("версия схемы копии %d, при записи была %d", c.Schema, m.Schema)
	}
	switch {
	case m.AuditHead == nil && c.AuditHead != nil:
		r.problem("в копии есть цепочка журнала аудита, а в описании её нет")
	case m.AuditHead != nil && c.AuditHead == nil:
		r.problem("в описании есть цепочка журнала аудита (последняя запись %d), а в копии её нет", m.AuditHead.ID)
	case m.AuditHead != nil && *m.AuditHead != *c.AuditHead:
		r.problem("последнее звено цепочки журнала аудита: в копии запись %d с хешем %s, при записи была %d с хешем %s",
			c.AuditHead.ID, short(c.AuditHead.Hash), m.AuditHead.ID, short(m.AuditHead.Hash))
	}
	if !slices.Equal(m.AuditLanes, c.AuditLanes) {
		copied := map[int64]AuditLane{}
		for _, l := range c.AuditLanes {
			copied[l.Lane] = l
		}
		for _, want := range m.AuditLanes {
			got, ok := copied[want.Lane]
			switch {
			case !ok:
				r.problem("ветвь %d цепочки журнала аудита: в копии её записей нет, при записи последней была №%d (запись %d)", want.Lane, want.Seq, want.ID)
			case got != want:
				r.problem("ветвь %d цепочки журнала аудита: в копии последняя №%d (запись %d, хеш %s), при записи была №%d (запись %d, хеш %s)",
					want.Lane, got.Seq, got.ID, short(got.Hash), want.Seq, want.ID, short(want.Hash))
			}
		}
		for _, extra := range c.AuditLanes {
			if !slices.ContainsFunc(m.AuditLanes, func(l AuditLane) bool { return l.Lane == extra.Lane }) {
				r.problem("ветвь %d цепочки журнала аудита: в копии есть записи (последняя №%d), а в описании нет", extra.Lane, extra.Seq)
			}
		}
	}
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// Write prints the report for a person.
func (r Report) Write(w io.Writer) {
	fmt.Fprintf(w, "Проверка копии %s\n", r.File)
	fmt.Fprintf(w, "  записана: %s, %s, схема %d\n", r.Manifest.CreatedAt.Format(time.RFC3339), r.Manifest.Tool, r.Manifest.Schema)
	fmt.Fprintf(w, "  файл: %d байт, SHA-256 %s\n", r.Size, short(r.SHA256))
	var rows int64
	for _, t := range r.Tables {
		if t.Got > 0 {
			rows += t.Got
		}
	}
	if len(r.Tables) > 0 {
		fmt.Fprintf(w, "  восстановлена во временную базу: %d таблиц, %d строк\n", len(r.Tables), rows)
		for _, t := range r.Tables {
			mark := "ok"
			if t.Want != t.Got {
				mark = "НЕ СОВПАДАЕТ"
			}
			if t.Want != t.Got || important[t.Name] {
				fmt.Fprintf(w, "    %-28s %10s  (при записи %s) %s\n", t.Name, count(t.Got), count(t.Want), mark)
			}
		}
	}
	switch {
	case r.AuditHead != nil && r.ChainChecked:
		fmt.Fprintf(w, "  журнал аудита: цепочка цела, последняя запись %d\n", r.AuditHead.ID)
	case r.AuditHead != nil:
		fmt.Fprintf(w, "  журнал аудита: последняя запись %d, хеш %s\n", r.AuditHead.ID, short(r.AuditHead.Hash))
	case len(r.Tables) > 0:
		fmt.Fprintln(w, "  журнал аудита: без цепочки хешей в этой версии схемы")
	}
	if r.OK() {
		fmt.Fprintf(w, "Копия проверена: всё совпадает (%s).\n", r.Took.Round(time.Millisecond))
		return
	}
	fmt.Fprintln(w, "КОПИЯ НЕ ПРОШЛА ПРОВЕРКУ:")
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  - "+p)
	}
}

// important tables are listed in the report even when they match.
var important = map[string]bool{
	"companies": true, "contacts": true, "company_notes": true, "tasks": true, "users": true, "audit_log": true,
}

func count(n int64) string {
	if n < 0 {
		return "—"
	}
	return fmt.Sprint(n)
}
