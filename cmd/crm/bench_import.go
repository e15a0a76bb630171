package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/amoimport/amogen"
	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/demo"
	"github.com/crmprofi/crm/internal/progress"
)

// benchPrefix names every database and file the import benchmark makes,
// so they are easy to find and drop.
const benchPrefix = "gen_bench_"

// cmdBenchImport measures the import of amoCRM's export (`crm
// bench-import`): generated files of the given sizes, imported by `crm
// import-amo` as a child process — dry run and real — into a fresh copy
// of an empty base or of a base already holding --base-companies
// companies. Each run reports rows a second and the child's peak RSS (its
// VmHWM, so the figure is the import's alone), next to the machine's
// load. With --copy (PostgreSQL) it also times COPY of the same records
// into a plain table: the physical limit of reading the file. With
// --floor (both databases, empty base) it times writing again, in bulk,
// exactly the rows each real import wrote (benchFloor): the limit of
// writing the import's output on this schema.
//
// The configured database names the server: on PostgreSQL the benchmark
// creates its databases (gen_bench_…) beside the configured one, on SQLite
// its files beside the configured file; the bases are kept for the next
// run (loading 500,000 companies takes a while), the runs' copies dropped.
func cmdBenchImport(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("bench-import", flag.ContinueOnError)
	russianUsage(env, fs)
	rowsList := fs.String("rows", "100000", "размеры выгрузок через запятую, например 100000,1000000")
	base := fs.Int("base-companies", 0, "сколько компаний уже в базе до импорта (0 — пустая база)")
	modes := fs.String("modes", "dry,real", "что измерить: dry (проверка), real (импорт) через запятую")
	seed := fs.Uint64("seed", 1, "зерно выгрузки")
	dir := fs.String("dir", filepath.Join(os.TempDir(), "crm-bench-import"), "папка для выгрузок")
	copyLimit := fs.Bool("copy", false, "PostgreSQL: измерить COPY тех же строк в простую таблицу (физический предел)")
	floor := fs.Bool("floor", false, "измерить нижнюю границу: запись тех же строк, что записал импорт, одной транзакцией в чистую копию пустой базы (только с --base-companies 0)")
	keep := fs.Bool("keep-base", true, "оставить базу с --base-companies компаниями для следующего запуска")
	crm := fs.String("crm", "", "исполняемый файл crm для импорта (по умолчанию — этот)")
	profiles := fs.String("cpuprofile", "", "папка для профилей CPU каждого импорта (go tool pprof)")
	tag := fs.String("tag", "", "метка в именах баз замера, чтобы два замера на одном сервере не мешали друг другу")
	prefix := fs.String("prefix", benchPrefix, "начало имён баз замера (PostgreSQL: базы рядом с указанной, SQLite: файлы рядом с указанным)")
	cfg, err := config.Load(fs, args, env.getenv)
	if err != nil {
		return err
	}
	sizes, err := benchSizes(*rowsList)
	if err != nil {
		return err
	}
	if *floor && *base != 0 {
		return errors.New("--floor: нижняя граница измеряется на пустой базе, уберите --base-companies")
	}
	runModes := strings.Split(*modes, ",")
	for _, m := range runModes {
		if m != "dry" && m != "real" {
			return fmt.Errorf("--modes: укажите dry, real или оба через запятую, а не %q", m)
		}
	}
	if *crm == "" {
		if *crm, err = os.Executable(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		return err
	}
	if *profiles != "" {
		// The child writes its profile into the folder and cannot make it.
		if err := os.MkdirAll(*profiles, 0o750); err != nil {
			return fmt.Errorf("--cpuprofile: папку для профилей не создать: %w", err)
		}
	}
	srv, err := newBenchServer(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	srv.prefix = *prefix + *tag
	srv.profiles = *profiles
	baseName := fmt.Sprintf("%sbase_%d", srv.prefix, *base)
	fmt.Fprintf(env.stdout, "База: %s, до импорта %d компаний. Подготовка…\n", srv.dialect, *base)
	if err := srv.ensureBase(ctx, env, baseName, demo.Options{Companies: *base}, benchUsers); err != nil {
		return err
	}
	if !*keep {
		defer func() { _ = srv.drop(context.WithoutCancel(ctx), baseName) }()
	}

	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "База\tСтрок\tРежим\tВремя\tСтрок/с\tЦП импорта\tПик RSS\tИтог\tНагрузка (1 мин)\t")
	var limit benchCopy
	var floors []benchFloor
	for _, n := range sizes {
		file, sum, err := benchFile(env, *dir, n, *seed)
		if err != nil {
			return err
		}
		for _, mode := range runModes {
			var then func(run string) error // on the imported base, before it is dropped
			fl := benchFloor{records: sum.Records}
			if *floor && mode == "real" {
				then = func(run string) error { return srv.outputFloor(ctx, baseName, run, &fl) }
			}
			res, err := srv.measure(ctx, *crm, baseName, file, mode == "dry", then)
			if err != nil {
				return fmt.Errorf("%d строк, %s: %w", n, mode, err)
			}
			label := map[string]string{"dry": "проверка", "real": "импорт"}[mode]
			fmt.Fprintf(tw, "%s, %d компаний\t%d\t%s\t%s\t%.0f\t%s\t%.0f МБ\t%s\t%s\t\n", srv.dialect, *base, sum.Records, label,
				res.elapsed.Round(10*time.Millisecond), float64(sum.Records)/res.elapsed.Seconds(), res.cpu.Round(10*time.Millisecond),
				float64(res.maxRSS)/(1<<20),
				res.totals, res.load)
			if then != nil { // the floor's lines under their import's
				fl.imported = res.elapsed
				if srv.dialect == database.SQLite {
					fl.importCPU = res.cpu
				}
				floors = append(floors, fl)
				for _, r := range fl.runs {
					fmt.Fprintf(tw, "%s, %d компаний\t%d\t%s\t%s\t%.0f\t%s\t—\t%d строк\t%s\t\n", srv.dialect, *base, sum.Records, r.variant.label,
						r.elapsed.Round(10*time.Millisecond), float64(sum.Records)/r.elapsed.Seconds(), cpuText(r.cpu), r.rows, r.load)
				}
			}
			if err := tw.Flush(); err != nil { // each figure as soon as it is taken
				return err
			}
			if mode == "real" && limit.importRate == 0 {
				limit.importRate = float64(sum.Records) / res.elapsed.Seconds()
			}
		}
		if *copyLimit && srv.dialect == database.Postgres && limit.rows == 0 {
			limit.file = file
			if err := srv.copyLimit(ctx, &limit); err != nil {
				return fmt.Errorf("COPY: %w", err)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range floors {
		f.print(env.stdout)
	}
	if limit.rows > 0 {
		fmt.Fprintf(env.stdout, "\nCOPY %d записей в простую таблицу тех же столбцов: %s, %.0f записей/с (нагрузка %s)\n",
			limit.rows, limit.elapsed.Round(time.Millisecond), float64(limit.rows)/limit.elapsed.Seconds(), limit.load)
		if limit.importRate > 0 {
			fmt.Fprintf(env.stdout, "Импорт медленнее предела в %.1f раза.\n", float64(limit.rows)/limit.elapsed.Seconds()/limit.importRate)
		}
	}
	return nil
}

func benchSizes(list string) ([]int, error) {
	var out []int
	for s := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 20 {
			return nil, fmt.Errorf("--rows: %q — не число строк (не меньше 20)", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchFile generates the export of n rows once; later runs reuse it.
func benchFile(env *environment, dir string, n int, seed uint64) (string, amogen.Summary, error) {
	path := filepath.Join(dir, fmt.Sprintf("amocrm_export_%d_seed%d.csv", n, seed))
	opt := amogen.Options{Rows: n, Seed: seed}
	if _, err := os.Stat(path); err == nil {
		sum, err := amogen.Write(io.Discard, opt) // the summary only
		return path, sum, err
	}
	tmp := path + ".part"
	f, err := os.Create(filepath.Clean(tmp))
	if err != nil {
		return "", amogen.Summary{}, err
	}
	start := time.Now()
	sum, err := amogen.Write(f, opt)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", sum, err
	}
	fmt.Fprintf(env.stdout, "Выгрузка %d строк (%.0f МБ) записана за %s\n", n, float64(sum.Bytes)/(1<<20), time.Since(start).Round(time.Millisecond))
	return path, sum, os.Rename(tmp, path)
}

// benchServer is where the benchmark keeps its databases: a PostgreSQL
// server (reached through the configured database) or a folder of SQLite
// files.
type benchServer struct {
	prefix  string // of the databases' names
	dialect database.Dialect
	admin   string // PostgreSQL: the configured URL
	dir     string // SQLite: the configured file's folder
	// profiles, if set, is the folder each measured import writes its
	// CPU profile to.
	profiles string
}

func newBenchServer(raw string) (*benchServer, error) {
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		return &benchServer{dialect: database.Postgres, admin: raw}, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite://"), "sqlite:")
	return &benchServer{dialect: database.SQLite, dir: filepath.Dir(path)}, nil
}

// url is the address of the benchmark's database name.
func (s *benchServer) url(name string) string {
	if s.dialect == database.SQLite {
		return "sqlite:" + filepath.Join(s.dir, name+".db")
	}
	u, _ := url.Parse(s.admin)
	u.Path = "/" + name
	return u.String()
}

func (s *benchServer) exists(ctx context.Context, name string) (bool, error) {
	if s.dialect == database.SQLite {
		_, err := os.Stat(filepath.Join(s.dir, name+".db"))
		return err == nil, nil
	}
	db, err := sql.Open("pgx", s.admin)
	if err != nil {
		return false, err
	}
	defer func() { _ = db.Close() }()
	var n int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	return n > 0, err
}

// create makes an empty database, or a copy of from.
func (s *benchServer) create(ctx context.Context, name, from string) error {
	if s.dialect == database.SQLite {
		if from == "" {
			return nil // opening the file creates it
		}
		src, err := os.Open(filepath.Clean(filepath.Join(s.dir, from+".db")))
		if err != nil {
			return err
		}
		defer func() { _ = src.Close() }()
		dst, err := os.Create(filepath.Clean(filepath.Join(s.dir, name+".db")))
		if err != nil {
			return err
		}
		if _, err := io.Copy(dst, src); err != nil {
			_ = dst.Close()
			return err
		}
		return dst.Close()
	}
	db, err := sql.Open("pgx", s.admin)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	q := `CREATE DATABASE ` + pgx.Identifier{name}.Sanitize() //nolint:gosec // a quoted identifier of our own
	if from != "" {
		q += ` TEMPLATE ` + pgx.Identifier{from}.Sanitize()
	}
	_, err = db.ExecContext(ctx, q)
	return err
}

func (s *benchServer) drop(ctx context.Context, name string) error {
	if s.dialect == database.SQLite {
		for _, suffix := range []string{".db", ".db-wal", ".db-shm"} {
			_ = os.Remove(filepath.Join(s.dir, name+suffix))
		}
		return nil
	}
	db, err := sql.Open("pgx", s.admin)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	_, err = db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	return err
}

// ensureBase makes a base the runs copy, once: created, migrated, loaded
// by the demo's loader with opts (seeded, with a terminal bar), then
// given extra (nil: nothing more), analyzed and, on SQLite, checkpointed.
// A base that fails half way is dropped, not kept.
func (s *benchServer) ensureBase(ctx context.Context, env *environment, name string, opts demo.Options,
	extra func(context.Context, *database.DB) error) error {
	ok, err := s.exists(ctx, name)
	if err != nil || ok {
		return err
	}
	if err := s.create(ctx, name, ""); err != nil {
		return err
	}
	err = func() error {
		db, err := database.Open(ctx, s.url(name))
		if err != nil {
			return err
		}
		defer func() { _ = db.Close() }()
		if _, err := db.Migrate(ctx, nil); err != nil {
			return err
		}
		start := time.Now()
		opts.Seed, opts.Progress = 1, progress.Terminal(env.stdout)
		if _, err := demo.Load(ctx, db, opts); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(ctx, db); err != nil {
				return err
			}
		}
		if opts.Companies > 0 {
			fmt.Fprintf(env.stdout, "База с %d компаниями загружена за %s\n", opts.Companies, time.Since(start).Round(time.Second))
		}
		if err := analyze(ctx, db); err != nil {
			return err
		}
		if db.Dialect == database.SQLite {
			_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		}
		return err
	}()
	if err != nil {
		_ = s.drop(context.WithoutCancel(ctx), name)
	}
	return err
}

// benchUsers adds the generated exports' sales team, so their
// «Ответственный» values resolve.
func benchUsers(ctx context.Context, db *database.DB) error {
	for _, u := range amogen.Users() {
		if _, err := db.ExecContext(ctx, `INSERT INTO users (username, first_name, last_name, email, date_joined)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, u.Username, u.FirstName, u.LastName, u.Email, database.Now()); err != nil {
			return err
		}
	}
	return nil
}

// importRun is one measured import.
type importRun struct {
	elapsed time.Duration
	maxRSS  int64 // bytes
	// cpu is the child's own processor time, user and system: on a
	// loaded machine the wall time is mostly waiting for a core, and this
	// is the work itself (on PostgreSQL the server's share is not in it).
	cpu    time.Duration
	totals string // the import's own summary line
	load   string
}

// measure copies the base and runs `crm import-amo` on it as a child
// process: the wall time and the child's peak RSS (its VmHWM, watched
// while it runs) are the import's alone. then, if not nil, is given the
// imported copy's name after a successful import, before it is dropped.
func (s *benchServer) measure(ctx context.Context, crm, base, file string, dry bool, then func(run string) error) (importRun, error) {
	var res importRun
	run := fmt.Sprintf("%srun_%d", s.prefix, os.Getpid())
	_ = s.drop(ctx, run)
	if err := s.create(ctx, run, base); err != nil {
		return res, err
	}
	defer func() { _ = s.drop(context.WithoutCancel(ctx), run) }()
	args := []string{"import-amo", "--csv", file, "--database-url", s.url(run),
		"--env-file", filepath.Join(filepath.Dir(file), "none.env")}
	if dry {
		args = append(args, "--dry-run")
	}
	if s.profiles != "" {
		mode := map[bool]string{true: "dry", false: "real"}[dry]
		args = append(args, "--cpuprofile", filepath.Join(s.profiles,
			fmt.Sprintf("import_%s_%s_%s.pprof", s.dialect, strings.TrimPrefix(base, s.prefix), mode)))
	}
	cmd := exec.CommandContext(ctx, crm, args...) //nolint:gosec // our own binary, our own arguments
	cmd.Env = append(os.Environ(), "CRM_LOG_LEVEL=error")
	var out bytes.Buffer
	cmd.Stdout = &out
	var errOut stderrTail // the progress bar, and why it failed
	cmd.Stderr = &errOut
	before := loadAverage()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("import-amo: %w", err)
	}
	stop := make(chan struct{})
	peak := make(chan int64, 1)
	go func() { peak <- watchPeakRSS(cmd.Process.Pid, stop) }()
	err := cmd.Wait()
	close(stop)
	res.maxRSS = <-peak
	res.elapsed = time.Since(start)
	res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res.load = before + " → " + loadAverage()
	if err != nil {
		return res, fmt.Errorf("import-amo: %w\n%s%s", err, out.String(), errOut.String())
	}
	res.totals = importTotals(out.String())
	if then != nil {
		return res, then(run)
	}
	return res, nil
}

// stderrTail keeps the end of a child's stderr: the terminal's progress
// bar goes there all the run long, and the reason of a failure comes last.
type stderrTail struct {
	b []byte
}

// stderrKeep is how much of the end stderrTail keeps.
const stderrKeep = 8 << 10

func (t *stderrTail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2*stderrKeep {
		t.b = append(t.b[:0], t.b[len(t.b)-stderrKeep:]...)
	}
	return len(p), nil
}

// String is the kept end without the progress bar: the lines a carriage
// return did not overwrite, bar lines dropped.
func (t *stderrTail) String() string {
	var keep []string
	for l := range strings.SplitSeq(string(t.b), "\n") {
		if i := strings.LastIndexByte(l, '\r'); i >= 0 {
			l = l[i+1:]
		}
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "[█") && !strings.Contains(l, "[░") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// watchPeakRSS reads the peak resident memory (VmHWM) of process pid
// from /proc every few milliseconds until stop is closed, and returns the
// last value read: the high-water mark of the importing process itself.
// The rusage of a finished child is no good here: Go starts children with
// vfork, and Linux carries the parent's high-water mark into the child's
// Maxrss at exec, so a benchmark that held a file in memory inflated every
// figure after it.
func watchPeakRSS(pid int, stop <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	var peak int64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if hwm, ok := readVMHWM(path); ok && hwm > peak {
			peak = hwm
		}
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
	}
}

// readVMHWM is the VmHWM line of a /proc/<pid>/status file, in bytes.
func readVMHWM(path string) (int64, bool) {
	return readStatus(path, "VmHWM:")
}

// readStatus is the line of a /proc/<pid>/status file that starts with
// field (a size in kB), in bytes.
func readStatus(path, field string) (int64, bool) {
	b, err := os.ReadFile(path) //nolint:gosec // a /proc path of our own child or our own
	if err != nil {
		return 0, false
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// importTotals condenses import-amo's summary to one line: created,
// updated, merged, skipped, errors.
func importTotals(out string) string {
	var nums []string
	for l := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && slices.Contains([]string{"создано:", "обновлено:", "объединено:", "пропущено:", "ошибки:"}, f[len(f)-2]) {
			nums = append(nums, f[len(f)-1])
		}
	}
	return strings.Join(nums, "/")
}

// loadAverage is the machine's one-minute load (the machine is shared:
// every figure carries it).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// benchCopy is the physical limit: COPY of the file's records into a
// plain table of the same columns, without indexes or triggers.
type benchCopy struct {
	file       string
	rows       int
	elapsed    time.Duration
	load       string
	importRate float64
}

// copyLimit parses the file (not timed) and times COPY of its records.
func (s *benchServer) copyLimit(ctx context.Context, c *benchCopy) error {
	f, err := os.Open(c.file)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	p, err := amoimport.Parse(f, st.Size())
	if err != nil {
		return err
	}
	var rows [][]any
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		r := row.Record
		if r == nil {
			continue
		}
		var phones, emails []string
		for _, ph := range r.Phones {
			phones = append(phones, ph.E164)
		}
		for _, e := range r.Emails {
			emails = append(emails, e.Value)
		}
		rows = append(rows, []any{string(r.Kind), r.AmoID, r.Name, r.FirstName, r.LastName, r.Company, r.INN, r.KPP, r.OGRN,
			r.Address, r.Website, strings.Join(phones, ","), strings.Join(emails, ","), strings.Join(r.Notes, "\n"),
			r.Responsible, r.CreatedAt})
	}
	name := fmt.Sprintf("%scopy_%d", s.prefix, os.Getpid())
	_ = s.drop(ctx, name)
	if err := s.create(ctx, name, ""); err != nil {
		return err
	}
	defer func() { _ = s.drop(context.WithoutCancel(ctx), name) }()
	conn, err := pgx.Connect(ctx, s.url(name))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE records (kind text, amo_id bigint, name text, first_name text, last_name text,
		company text, inn text, kpp text, ogrn text, address text, website text, phones text, emails text, notes text,
		responsible text, created_at timestamptz)`); err != nil {
		return err
	}
	cols := []string{"kind", "amo_id", "name", "first_name", "last_name", "company", "inn", "kpp", "ogrn", "address",
		"website", "phones", "emails", "notes", "responsible", "created_at"}
	before := loadAverage()
	start := time.Now()
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"records"}, cols, pgx.CopyFromRows(rows))
	c.elapsed = time.Since(start)
	c.rows = int(n)
	c.load = before + " → " + loadAverage()
	return err
}
