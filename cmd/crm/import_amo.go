package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/memlimit"
	"github.com/crmprofi/crm/internal/progress"
)

// importActor is the system actor of the command line's imports in the
// audit log.
const importActor = "import-amo"

// importHeapLimit is the Go heap at which an import-amo process collects
// garbage (memlimit.CollectWithin), unless GOGC or GOMEMLIMIT say otherwise.
// The import's live heap is 10–25 MB at any file size; with GOGC=100 it
// was collected every few tens of MB. 100,000 rows into SQLite, runs
// alternating on a busy machine (medians of CPU user + system): GOGC=100
// 18.1 s (5 runs), this limit 14.5 s (2 runs), peak RSS 176 → 198 MB
// (SQLite's page cache and sorter are outside the Go heap and the
// limit); GOGC=400 took 15.9 s (3 runs) but peaked at 224–239 MB, its
// heap growing with the live one. A soft limit alone, with GOGC=100 left
// on (40 MB: PostgreSQL, 100,000 rows, peak 81–84 → 74–75 MB), holds the
// peak a little lower but collects as often as before; with pacing off
// the limit is what bounds the heap, so the peak is as flat as the live
// heap is, whatever the file's size.
const importHeapLimit = 64 << 20

// importMemoryBudget is the resident memory an import-amo process keeps
// to (memlimit.CollectWithin): the Go heap gets importHeapLimit or, when
// the memory outside Go grows past budget−limit, what the budget leaves.
// Outside Go are the program's code (35–45 MB, more when its file is
// fresh in the page cache) and, on SQLite, the C heap and the WAL index,
// 110–122 MB at 100,000 rows and 3–11 MB more at 1,000,000 (the WAL index
// grows with the transaction's frames; the C heap most in Apply); the Go
// runtime held 61–64 MB at both sizes with 10–20 MB of it live. The
// budget is about the peak of 100,000 rows into SQLite. Measured (peak
// RSS, real import into SQLite): 1,000,000 rows 195–199 → 190 MB, Apply's
// steps 194 → 185 MB with the Go heap at 53 MB; 100,000 rows unchanged
// (181–185 MB) at the same CPU. The rest of the gap is the moment Apply
// starts, when SQLite's cache fills faster than the Go heap is collected
// and given back. On PostgreSQL the rest is the code alone and the
// budget never binds.
const importMemoryBudget = 180 << 20

// cmdImportAmo is `crm import-amo --csv FILE [--dry-run] [--report FILE]
// [--responsible LOGIN]`: the import of amoCRM's export run in this
// process (not through the job queue), with a progress bar in the
// terminal, the totals in Russian and, when asked, the report as CSV for
// Excel. The import is recorded like the page's (the imports list, the
// audit log), by the system actor.
func cmdImportAmo(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("import-amo", flag.ContinueOnError)
	file := fs.String("csv", "", "файл выгрузки amoCRM: CSV или XLSX (обязательно)")
	dry := fs.Bool("dry-run", false, "только проверить: показать, что будет сделано, ничего не записывая")
	reportPath := fs.String("report", "", "записать отчёт по каждой строке в этот файл (CSV для Excel)")
	responsible := fs.String("responsible", "", "логин пользователя, которому отдать записи с неизвестным «Ответственным» (по умолчанию — первый администратор)")
	trace := fs.Bool("trace", false, "писать в stderr, сколько занял каждый шаг импорта")
	cpuProfile := fs.String("cpuprofile", "", "записать профиль CPU импорта в этот файл (go tool pprof)")
	_, _, db, err := setup(ctx, env, fs, args)
	if err != nil {
		return err
	}
	if *file == "" {
		_ = db.Close()
		return errors.New("укажите файл выгрузки: crm import-amo --csv ФАЙЛ [--dry-run] [--report ОТЧЁТ.csv]")
	}
	defer func() { _ = db.Close() }()
	if env.getenv("GOGC") == "" && env.getenv("GOMEMLIMIT") == "" {
		defer memlimit.CollectWithin(importHeapLimit, importMemoryBudget)()
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}

	if *trace {
		stderr := env.stderr
		// With each step, the SQL statements it sent (the plan's and
		// Apply's steps nest in their whole: "apply" counts its kinds').
		// With the process's memory as the step ends (resident now and
		// its peak so far, and the Go heap in use): which step makes the
		// run's peak, and what grows with the file.
		statements := db.Statements()
		peak := watchStepPeak()
		amoimport.Trace = func(step string, took time.Duration) {
			now := db.Statements()
			fmt.Fprintf(stderr, "\n%-22s %-10s %d SQL  %s, %s\n", step, took.Round(time.Millisecond), now-statements,
				peak.take(), memoryNow())
			statements = now
		}
		defer func() { amoimport.Trace = nil; peak.stop() }()
	}

	f, err := os.Open(*file)
	if err != nil {
		return fmt.Errorf("не удаётся открыть файл: %w", err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("не удаётся прочитать файл: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s — это папка, а нужен файл выгрузки", *file)
	}
	start := time.Now()
	if err := amoimport.Check(f, st.Size()); err != nil {
		return fmt.Errorf("файл %s не импортирован: %s", filepath.Base(*file), amoimport.FailureText(err))
	}
	fallback, err := importFallback(ctx, db, *responsible)
	if err != nil {
		return err
	}
	var im amoimport.Import
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		im, err = amoimport.NewStore(db).Create(ctx, tx, amoimport.New{FileName: filepath.Base(*file), DryRun: *dry,
			Fallback: fallback}, io.NewSectionReader(f, 0, st.Size()))
		return err
	})
	if err != nil {
		return fmt.Errorf("файл не загружен в базу: %w", err)
	}
	if amoimport.Trace != nil {
		amoimport.Trace("upload", time.Since(start))
	}
	sum, err := amoimport.Run(ctx, db, im.ID, amoimport.RunOptions{
		Actor:    access.System(importActor),
		Progress: progress.Terminal(env.stderr),
	})
	if err != nil {
		return fmt.Errorf("импорт не выполнен, база не изменена: %s", amoimport.FailureText(err))
	}
	if im, err = amoimport.NewStore(db).Get(ctx, im.ID); err != nil {
		return err
	}
	if err := printImportSummary(env.stdout, im, sum); err != nil {
		return err
	}
	if *reportPath != "" {
		if err := writeImportReport(ctx, db, im.ID, *reportPath); err != nil {
			return err
		}
		_, err = fmt.Fprintf(env.stdout, "Отчёт по строкам: %s\n", *reportPath)
		return err
	}
	return nil
}

// importFallback is the user who gets the records whose «Ответственный»
// is unknown: the one named, or the first active administrator.
func importFallback(ctx context.Context, db *database.DB, login string) (int64, error) {
	if login != "" {
		u, err := auth.NewStore(db).ByUsername(ctx, strings.ToLower(strings.TrimSpace(login)))
		if errors.Is(err, apperr.ErrNotFound) || (err == nil && !u.IsActive) {
			return 0, fmt.Errorf("--responsible: активного пользователя с логином %q нет", login)
		}
		if err != nil {
			return 0, err
		}
		return u.ID, nil
	}
	ids, err := database.Column[int64](ctx, db, `SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id LIMIT 1`)
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, errors.New("в базе нет администратора, которому отдать записи с неизвестным «Ответственным»: создайте его (crm createsuperuser) или укажите --responsible ЛОГИН")
	}
	return ids[0], nil
}

// printImportSummary writes the totals and the report's other sections.
func printImportSummary(w io.Writer, im amoimport.Import, sum amoimport.Summary) error {
	var b strings.Builder
	if im.DryRun {
		fmt.Fprintf(&b, "Проверка файла %s: в базу ничего не записано. Импорт этого файла сделает так:\n", im.FileName)
		fmt.Fprintf(&b, "  будет создано:     %d\n  будет обновлено:   %d\n  будет объединено:  %d\n  будет пропущено:   %d\n  ошибки:            %d\n",
			sum.Created, sum.Updated, sum.Merged, sum.Skipped, sum.Errors)
	} else {
		fmt.Fprintf(&b, "Импорт файла %s выполнен:\n", im.FileName)
		fmt.Fprintf(&b, "  создано:     %d\n  обновлено:   %d\n  объединено:  %d\n  пропущено:   %d\n  ошибки:      %d\n",
			sum.Created, sum.Updated, sum.Merged, sum.Skipped, sum.Errors)
	}
	fmt.Fprintf(&b, "Строк в отчёте: %d, из них с предупреждениями: %d\n", im.Report.Rows, im.Report.Warnings)
	if len(im.Report.UnknownResponsible) > 0 {
		fmt.Fprintf(&b, "Ответственные, которых нет среди пользователей (их записи получает %s):\n", im.FallbackName)
		for _, v := range im.Report.UnknownResponsible {
			fmt.Fprintf(&b, "  %s — %d\n", v.Value, v.Count)
		}
	}
	if len(im.Report.UnknownColumns) > 0 {
		fmt.Fprintf(&b, "Столбцы, которые не импортируются: %s\n", strings.Join(im.Report.UnknownColumns, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeImportReport writes the report to path, whole or not at all.
func writeImportReport(ctx context.Context, db *database.DB, id int64, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".import-report-*")
	if err != nil {
		return fmt.Errorf("отчёт не записан: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := amoimport.NewStore(db).WriteReport(ctx, id, tmp); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("отчёт не записан: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("отчёт не записан: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("отчёт не записан: %w", err)
	}
	return nil
}

// memoryNow says the process's resident memory, its peak so far and the
// Go heap in use, in MB, for --trace.
func memoryNow() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := readStatus("/proc/self/status", "VmRSS:")
	hwm, _ := readStatus("/proc/self/status", "VmHWM:")
	return fmt.Sprintf("RSS %.0f МБ, пик %.0f МБ, куча Go %.0f МБ", float64(rss)/(1<<20), float64(hwm)/(1<<20),
		float64(ms.HeapInuse)/(1<<20))
}

// goMemory reads what the Go runtime holds (everything it mapped and has
// not given back to the system: the heap with its garbage, stacks, its
// own structures) and the live heap after the last collection. The rest
// of a step's resident memory is the program's code and data and, on
// SQLite, the C library's heap (the page cache, sorters, the WAL index),
// which neither the collector nor the memory limit sees.
func goMemory() (held, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64(), s[2].Value.Uint64()
}

// stepPeak watches the process's resident memory for --trace: the
// highest VmRSS since the last step ended, read every 10 ms, and what the
// Go runtime held at that moment.
type stepPeak struct {
	mu     sync.Mutex
	max    int64
	goHeld uint64 // the Go runtime's memory when max was read
	goLive uint64 // the largest live heap since the last step ended
	done   chan struct{}
}

func watchStepPeak() *stepPeak {
	p := &stepPeak{done: make(chan struct{})}
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			p.sample()
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *stepPeak) sample() {
	rss, ok := readStatus("/proc/self/status", "VmRSS:")
	if !ok {
		return
	}
	held, live := goMemory()
	p.mu.Lock()
	defer p.mu.Unlock()
	if rss > p.max {
		p.max, p.goHeld = rss, held
	}
	p.goLive = max(p.goLive, live)
}

// take is the peak since the last take, in words for --trace: the peak,
// the Go runtime's share of it, and the largest live Go heap.
func (p *stepPeak) take() string {
	p.sample() // a step shorter than a tick
	p.mu.Lock()
	defer p.mu.Unlock()
	const mb = 1 << 20
	peak, held := float64(p.max)/mb, float64(p.goHeld)/mb
	s := fmt.Sprintf("пик шага %.0f МБ (Go %.0f, вне Go %.0f; живая куча до %.0f МБ)", peak, held, max(0, peak-held),
		float64(p.goLive)/mb)
	p.max, p.goHeld, p.goLive = 0, 0, 0
	return s
}

func (p *stepPeak) stop() { close(p.done) }
