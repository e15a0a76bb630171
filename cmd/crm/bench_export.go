package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/demo"
	"github.com/crmprofi/crm/internal/export"
)

// cmdExportCompanies writes the export of the base to a file (`crm
// export-companies --format csv|xlsx --out FILE`): the same file as the
// «Экспорт» button of an unfiltered list, for an operator on the server.
// It runs as the system actor and is audited like every export.
func cmdExportCompanies(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("export-companies", flag.ContinueOnError)
	formatFlag := fs.String("format", "csv", "формат: csv или xlsx")
	out := fs.String("out", "", "файл выгрузки (обязательно; «-» — стандартный вывод)")
	ordering := fs.String("ordering", "", "сортировка, как в списке: name, -name, created_at, -created_at, updated_at, -updated_at, inn, -inn")
	search := fs.String("search", "", "поиск, как в списке компаний")
	cpuProfile := fs.String("cpuprofile", "", "записать профиль CPU выгрузки в этот файл (go tool pprof)")
	cfg, _, db, err := setup(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	format, ok := export.ParseFormat(*formatFlag)
	if !ok {
		return errors.New("--format: укажите csv или xlsx")
	}
	if *out == "" {
		return errors.New("укажите файл: crm export-companies --format csv --out ФАЙЛ")
	}
	if !company.ValidOrdering(*ordering) {
		return fmt.Errorf("--ordering: неизвестная сортировка %q", *ordering)
	}
	w := io.Writer(env.stdout)
	var file *os.File
	if *out != "-" {
		if file, err = os.Create(*out); err != nil {
			return fmt.Errorf("не удаётся создать файл: %w", err)
		}
		defer func() { _ = file.Close() }()
		w = file
	}
	buf := bufio.NewWriterSize(w, 256<<10)
	scope := access.System("crm export-companies")
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	start := time.Now()
	o := export.Options{Scope: scope, Query: company.Query{Ordering: *ordering, Text: *search}, Format: format, Location: cfg.Location}
	if env.getenv("GOMEMLIMIT") == "" { // the operator's own limit stays
		o.MemoryLimit = export.DefaultMemoryLimit
	}
	n, err := export.New(db).Write(ctx, buf, o)
	if err == nil {
		err = buf.Flush()
	}
	if err == nil && file != nil {
		err = file.Close()
	}
	outcome := audit.OK
	detail := map[string]any{"format": string(format), "filters": map[string]any{"ordering": *ordering, "search": *search},
		"rows": n, "file": *out, "user_agent": "crm export-companies"}
	if err != nil {
		outcome, detail["error"] = audit.Error, err.Error()
	}
	if aerr := audit.Record(context.WithoutCancel(ctx), db, scope, audit.Entry{Action: "export.companies", ObjectType: "company",
		Outcome: outcome, Detail: detail}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(env.stderr, "Выгружено компаний: %d, за %s, пик памяти %s\n", n, time.Since(start).Round(time.Millisecond), peakRSS())
	}
	return nil
}

// peakRSS is the process's peak resident set (VmHWM), as «123 kB». The
// benchmark reads it from here rather than from the child's rusage: a
// child started by vfork records, at exec, the high-water mark of the
// parent's memory (here a parent that has just loaded the base).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// parsePeakRSS reads peakRSS's figure back from the child's summary, in bytes.
func parsePeakRSS(summary string) int64 {
	_, after, ok := strings.Cut(summary, "пик памяти ")
	if !ok {
		return 0
	}
	var kb int64
	if _, err := fmt.Sscanf(after, "%d kB", &kb); err != nil {
		return 0
	}
	return kb * 1024
}

// cmdBenchExport measures the export (`crm bench-export`): for each size
// a base of that many companies (with as many contacts) is loaded once and
// kept, then `crm export-companies` runs on it as a child process per
// format, so the rows a second and the peak RSS (the child's rusage) are
// the export's alone (the peak is the child's own VmHWM, see peakRSS).
func cmdBenchExport(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("bench-export", flag.ContinueOnError)
	russianUsage(env, fs)
	sizes := fs.String("companies", "100000", "размеры баз через запятую, например 100000,1000000")
	formats := fs.String("format", "csv,xlsx", "форматы через запятую: csv, xlsx")
	dir := fs.String("dir", filepath.Join(os.TempDir(), "crm-bench-export"), "папка для файлов выгрузки")
	crm := fs.String("crm", "", "исполняемый файл crm (по умолчанию — этот)")
	prefix := fs.String("prefix", benchPrefix, "начало имён баз замера (PostgreSQL: базы рядом с указанной, SQLite: файлы рядом с указанным)")
	given := fs.String("base", "", "готовая база (URL): выгружать из неё, ничего не создавая; --companies тогда только подпись")
	cfg, err := config.Load(fs, args, env.getenv)
	if err != nil {
		return err
	}
	list, err := benchSizes(*sizes)
	if err != nil {
		return err
	}
	var fmts []export.Format
	for f := range strings.SplitSeq(*formats, ",") {
		ff, ok := export.ParseFormat(f)
		if !ok || strings.TrimSpace(f) == "" {
			return fmt.Errorf("--format: укажите csv, xlsx или оба через запятую, а не %q", f)
		}
		fmts = append(fmts, ff)
	}
	if *crm == "" {
		if *crm, err = os.Executable(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		return err
	}
	srv, err := newBenchServer(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	srv.prefix = *prefix
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "База\tКомпаний\tФормат\tВремя\tСтрок/с\tПик RSS\tФайл\tНагрузка (1 мин)\t")
	for _, n := range list {
		base := fmt.Sprintf("%sexport_%d", srv.prefix, n)
		baseURL := srv.url(base)
		if *given != "" {
			baseURL = *given
		} else {
			fmt.Fprintf(env.stdout, "База: %s, %d компаний. Подготовка…\n", srv.dialect, n)
			if err := srv.ensureBase(ctx, env, base, demo.Options{Companies: n, Contacts: n}, nil); err != nil {
				return err
			}
		}
		for _, f := range fmts {
			file := filepath.Join(*dir, fmt.Sprintf("export_%d.%s", n, f))
			cmd := exec.CommandContext(ctx, *crm, "export-companies", "--database-url", baseURL, "--format", string(f), "--out", file, //nolint:gosec // our own binary, our own arguments
				"--env-file", filepath.Join(*dir, "none.env"))
			cmd.Env = append(os.Environ(), "CRM_LOG_LEVEL=error")
			var stderr strings.Builder
			cmd.Stdout, cmd.Stderr = io.Discard, &stderr
			before := loadAverage()
			start := time.Now()
			err := cmd.Run()
			elapsed := time.Since(start)
			if err != nil {
				return fmt.Errorf("export-companies %s: %w\n%s", f, err, stderr.String())
			}
			rss := parsePeakRSS(stderr.String())
			size := int64(0)
			if st, err := os.Stat(file); err == nil {
				size = st.Size()
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.0f\t%.0f МБ\t%.0f МБ\t%s\t\n", srv.dialect, n, f, elapsed.Round(10*time.Millisecond),
				float64(n)/elapsed.Seconds(), float64(rss)/(1<<20), float64(size)/(1<<20), before+" → "+loadAverage())
			if err := tw.Flush(); err != nil {
				return err
			}
			_ = os.Remove(file)
		}
	}
	return tw.Flush()
}
