package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/demo"
	"github.com/crmprofi/crm/internal/progress"
	"github.com/crmprofi/crm/internal/server"
)

// cmdBench loads a realistic volume of data (once: a database that already
// holds enough companies is reused) and measures the pages people use
// most, through the real handler stack: p50/p95/p99 latency and SQL
// statements per request.
func cmdBench(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	companies := fs.Int("companies", 500_000, "сколько компаний загрузить")
	contacts := fs.Int("contacts", 1_000_000, "сколько контактов загрузить")
	tasks := fs.Int("tasks", 1_000_000, "сколько задач загрузить (0 — без задач)")
	users := fs.Int("users", 200, "сколько пользователей (не меньше 35 демо-пользователей)")
	samples := fs.Int("samples", 200, "сколько запросов измерить на каждую операцию")
	which := fs.String("ops", "all", "какие операции измерить: all, companies, tasks, duplicates, merge или scan (проверка всей базы на дубли)")
	mergeRuns := fs.Int("merge-runs", 5, "сколько раз измерить объединение компаний и его отмену")
	cpuProfile := fs.String("cpuprofile", "", "записать профиль процессора за время измерений в этот файл (go tool pprof)")
	cfg, _, db, err := setup(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if err := cfg.EnsureSecret(); err != nil {
		return err
	}
	if !slices.Contains([]string{"all", "companies", "tasks", "duplicates", "merge", "scan"}, *which) {
		return errors.New("--ops: укажите all, companies, tasks, duplicates, merge или scan")
	}
	fmt.Fprintf(env.stdout, "База: %s. Загрузка данных…\n", db.Dialect)
	start := time.Now()
	sum, err := demo.Load(ctx, db, demo.Options{Companies: *companies, Contacts: *contacts, Users: *users, Tasks: *tasks,
		Seed: 1, Progress: progress.Terminal(env.stdout)})
	if err != nil {
		return err
	}
	var staff int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE username LIKE 'demo-%'`).Scan(&staff); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Данные: %d компаний, %d контактов, %d заметок, %d задач, %d пользователей (подготовка %s)\n\n",
		sum.Companies, sum.Contacts, sum.Notes, sum.Tasks, staff, time.Since(start).Round(time.Second))
	if err := analyze(ctx, db); err != nil {
		return err
	}
	if *which == "scan" {
		if *cpuProfile != "" {
			stop, err := startCPUProfile(*cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
		}
		return benchScan(ctx, env, db, sum.AdminID)
	}

	quiet := slog.New(slog.DiscardHandler)
	srv := server.New(cfg, quiet, db)
	sessions := auth.NewStore(db)
	admin, err := sessions.CreateSession(ctx, sum.AdminID, time.Hour, "127.0.0.1", "bench")
	if err != nil {
		return err
	}
	manager, err := sessions.CreateSession(ctx, sum.ManagerID, time.Hour, "127.0.0.1", "bench")
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(7, 7)) //nolint:gosec // sampling, not secrets
	pick := func(list []string) string { return list[rnd.IntN(len(list))] }
	var (
		ops []benchOp
		dup *duplicateProbes
	)
	if *which == "duplicates" || *which == "all" {
		dp, err := sampleDuplicates(ctx, db, *samples)
		if err != nil {
			return err
		}
		ops = append(ops, duplicateOps(admin, manager, dp, pick)...)
		dup = &dp
	}
	if *which == "all" || *which == "companies" {
		probe, err := sampleCompanies(ctx, db, *samples)
		if err != nil {
			return err
		}
		ops = append(ops, companyOps(admin, manager, probe, pick)...)
	}
	if sum.Tasks > 0 && (*which == "all" || *which == "tasks") {
		mine, err := benchTaskIDs(ctx, db, sum.ManagerID, *samples)
		if err != nil {
			return err
		}
		card := func() string { return "/tasks/" + strconv.FormatInt(mine[rnd.IntN(len(mine))], 10) + "/" }
		director, err := benchDirector(ctx, db, sessions)
		if err != nil {
			return err
		}
		ops = append(ops, taskOps(admin, director, manager, card)...)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(ops) > 0 {
		fmt.Fprintln(tw, "Операция\tp50\tp95\tp99\tЦП/запрос\tSQL/запрос\tнайдено\t")
	}
	if *cpuProfile != "" && len(ops) > 0 {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	for _, op := range ops {
		res, err := op.measure(srv, db, *samples)
		if err != nil {
			return fmt.Errorf("%s: %w", op.name, err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t\n", op.name, ms(res.p50), ms(res.p95), ms(res.p99), ms(res.cpu), res.statements, res.sizes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if dup != nil {
		found, total, err := misspeltRecall(ctx, db, sum.AdminID, *dup)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "Дубли: название с опечаткой — исходное название среди 20 лучших в %d из %d\n", found, total)
	}
	if *which == "all" || *which == "merge" {
		return benchMerge(ctx, env.stdout, srv, db, admin, sum.AdminID, max(1, *mergeRuns))
	}
	return nil
}

// companyOps are the company lists, cards and searches.
func companyOps(admin, manager string, probe probes, pick func([]string) string) []benchOp {
	return []benchOp{
		{"Список компаний, стр. 1 (HTML, вся база)", admin, func() string { return "/companies/" }},
		{"Карточка компании (HTML)", admin, func() string { return "/companies/" + pick(probe.ids) + "/" }},
		{"Список компаний, стр. 1 (API, вся база)", admin, func() string { return "/api/companies/" }},
		{"Список компаний, стр. 1 (HTML, свои компании)", manager, func() string { return "/companies/" }},
		{"Список компаний, стр. 200 (API)", admin, func() string { return "/api/companies/?page=200" }},
		{"Список, сортировка по дате (API)", admin, func() string { return "/api/companies/?ordering=-created_at" }},
		{"Поиск по названию, начало слова (API)", admin, func() string { return "/api/companies/?search=" + url.QueryEscape(pick(probe.prefixes)) }},
		{"Поиск по названию, два слова (HTML)", admin, func() string { return "/companies/?search=" + url.QueryEscape(pick(probe.names)) }},
		{"Поиск по ИНН (API)", admin, func() string { return "/api/companies/?search=" + pick(probe.inns) }},
		{"Поиск по телефону, другой формат (API)", admin, func() string { return "/api/companies/?search=" + url.QueryEscape(pick(probe.phones)) }},
		{"Поиск по телефону (HTML, свои компании)", manager, func() string { return "/companies/?search=" + url.QueryEscape(pick(probe.phones)) }},
		{"Список контактов, стр. 1 (API)", admin, func() string { return "/api/contacts/" }},
		{"Поиск контактов по фамилии (API)", admin, func() string { return "/api/contacts/?search=" + url.QueryEscape(pick(probe.lastNames)) }},
	}
}

// taskOps are the desk and the task lists, seen by a busy manager (the
// loader's largest share of tasks) and, for the desk's charts and «все
// доступные», an admin and a branch director (who sees a branch's
// companies: a fifth of the base).
func taskOps(admin, director, manager string, card func() string) []benchOp {
	path := func(p string) func() string { return func() string { return p } }
	return []benchOp{
		{"Рабочий стол (HTML, занятой менеджер)", manager, path("/desk/")},
		{"Рабочий стол (API)", manager, path("/api/dashboard/")},
		// The admin's desk charts count the whole base (new companies per
		// month: company_months; done tasks per week: their own).
		{"Рабочий стол (HTML, админ)", admin, path("/desk/")},
		{"Рабочий стол (HTML, директор филиала)", director, path("/desk/")},
		{"Задачи «мои», стр. 1 (HTML)", manager, path("/tasks/")},
		{"Задачи «мои», стр. 1 (API)", manager, path("/api/tasks/?assigned_to=me&state=open")},
		{"Задачи «мои», просроченные (HTML)", manager, path("/tasks/?state=overdue")},
		{"Задачи «все доступные» (HTML, менеджер)", manager, path("/tasks/?tab=all")},
		{"Задачи «все доступные» (HTML, директор филиала)", director, path("/tasks/?tab=all")},
		{"Задачи «все доступные» (HTML, админ)", admin, path("/tasks/?tab=all")},
		{"Задачи «все доступные» (API, админ)", admin, path("/api/tasks/?state=open")},
		{"Карточка задачи (HTML)", manager, card},
	}
}

// benchDirector is a session of the first branch's director.
func benchDirector(ctx context.Context, db *database.DB, sessions *auth.Store) (string, error) {
	var id int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM users WHERE username = 'demo-director-1'`).Scan(&id); err != nil {
		return "", fmt.Errorf("the bench's branch director: %w", err)
	}
	return sessions.CreateSession(ctx, id, time.Hour, "127.0.0.1", "bench")
}

// benchTaskIDs are up to n ids of the tasks assigned to userID, spread over them.
func benchTaskIDs(ctx context.Context, db *database.DB, userID int64, n int) ([]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT id FROM tasks WHERE assigned_to = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var all []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		all = append(all, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, errors.New("the bench manager has no tasks")
	}
	step := max(1, len(all)/max(n, 1))
	var out []int64
	for i := 0; i < len(all); i += step {
		out = append(out, all[i])
	}
	return out, nil
}

type benchOp struct {
	name    string
	session string
	path    func() string
}

type benchResult struct {
	p50, p95, p99 time.Duration
	// cpu is the process's CPU time (user and system, every thread: the
	// handler, SQLite's work, the garbage collector) per sampled request
	// — what a request costs whatever the machine's load, where the
	// latencies wait for a core on a busy machine. PostgreSQL's own work
	// is in its processes, not here.
	cpu        time.Duration
	statements float64
	sizes      string
}

// measure sends a few warm-up requests, then samples requests one at a
// time, recording each one's latency and SQL statement count.
func (op benchOp) measure(h http.Handler, db *database.DB, samples int) (benchResult, error) {
	var lat []time.Duration
	var stmts int64
	var cpu time.Duration
	hits := 0
	for i := -5; i < samples; i++ {
		if i == 0 {
			cpu = processCPU()
		}
		req := httptest.NewRequest(http.MethodGet, op.path(), nil)
		req.AddCookie(&http.Cookie{Name: "crm_session", Value: op.session})
		rec := httptest.NewRecorder()
		before := db.Statements()
		t := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(t)
		if rec.Code != http.StatusOK {
			return benchResult{}, fmt.Errorf("GET %s: status %d: %.300s", req.URL, rec.Code, rec.Body.String())
		}
		if i < 0 {
			continue
		}
		stmts += db.Statements() - before
		lat = append(lat, d)
		if body := rec.Body.String(); strings.Contains(body, `"count":0`) || strings.Contains(body, `"results":[]`) {
			continue
		}
		hits++
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return benchResult{
		p50: q(0.50), p95: q(0.95), p99: q(0.99),
		statements: float64(stmts) / float64(samples),
		cpu:        (processCPU() - cpu) / time.Duration(samples),
		sizes:      fmt.Sprintf("%d/%d", hits, samples),
	}, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f мс", float64(d.Microseconds())/1000) }

// probes are search inputs taken from the loaded data.
type probes struct {
	ids, prefixes, names, inns, phones, lastNames []string
}

// sampleCompanies takes search inputs from random companies and contacts:
// word prefixes and two-word names, ИНН, phones retyped in another common
// format, contact surnames.
func sampleCompanies(ctx context.Context, db *database.DB, n int) (probes, error) {
	var p probes
	rows, err := db.QueryContext(ctx, `SELECT c.id, c.name, c.inn, COALESCE((SELECT e164 FROM company_phones p WHERE p.company_id = c.id ORDER BY position LIMIT 1), '')
		FROM companies c WHERE c.deleted_at IS NULL ORDER BY c.id LIMIT $1`, n*50)
	if err != nil {
		return p, err
	}
	defer func() { _ = rows.Close() }()
	i := 0
	for rows.Next() {
		var id, name, inn, e164 string
		if err := rows.Scan(&id, &name, &inn, &e164); err != nil {
			return p, err
		}
		i++
		if i%50 != 0 {
			continue
		}
		p.ids = append(p.ids, id)
		words := dedup.Tokens(dedup.NormalizeName(name))
		if len(words) > 0 {
			w := []rune(words[0])
			p.prefixes = append(p.prefixes, string(w[:min(len(w), 5)]))
			p.names = append(p.names, strings.Join(words[:min(2, len(words))], " "))
		}
		if inn != "" {
			p.inns = append(p.inns, inn)
		}
		if len(e164) == 12 && strings.HasPrefix(e164, "+7") {
			d := e164[2:]
			p.phones = append(p.phones, "8 ("+d[:3]+") "+d[3:6]+"-"+d[6:8]+"-"+d[8:])
		}
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	names, err := db.QueryContext(ctx, `SELECT last_name FROM contacts WHERE deleted_at IS NULL ORDER BY id LIMIT $1`, n)
	if err != nil {
		return p, err
	}
	defer func() { _ = names.Close() }()
	for names.Next() {
		var s string
		if err := names.Scan(&s); err != nil {
			return p, err
		}
		p.lastNames = append(p.lastNames, s)
	}
	if err := names.Err(); err != nil {
		return p, err
	}
	if len(p.prefixes) == 0 || len(p.inns) == 0 || len(p.phones) == 0 || len(p.lastNames) == 0 {
		return p, errors.New("the database has too little data to sample from")
	}
	return p, nil
}

// analyze refreshes planner statistics after a bulk load. PostgreSQL also
// gets a VACUUM, which sets the visibility map that index-only scans need
// — what autovacuum does for a live base in its own time. SQLite gets the
// statistics `crm serve` keeps (database.RefreshStatistics), so that the
// bench plans its statements as production does.
func analyze(ctx context.Context, db *database.DB) error {
	if db.Dialect == database.SQLite {
		_, err := db.RefreshStatistics(ctx)
		return err
	}
	_, err := db.ExecContext(ctx, "VACUUM ANALYZE")
	return err
}
