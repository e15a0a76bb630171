package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/progress"
)

// benchScan measures the team-wide duplicate scan (`crm bench --ops
// scan`): the full scan of the whole base, twice (the second on a warm
// cache), the page's groups, and the incremental re-check of changed
// companies.
func benchScan(ctx context.Context, env *environment, db *database.DB, adminID int64) error {
	var live int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM companies WHERE deleted_at IS NULL`).Scan(&live); err != nil {
		return err
	}
	sc := duplicate.NewScanner(db)
	sc.CPUTime = processCPU
	fmt.Fprintf(env.stdout, "Проверка всей базы на дубли: %d компаний\n", live)
	// The machine is shared: each pass carries this process's CPU time
	// (the Go side: candidates, scoring, SQLite itself; not PostgreSQL's
	// server) and the load average before and after.
	for run := 1; run <= 2; run++ {
		cpu, load := processCPU(), loadAverage()
		stats, err := sc.Full(ctx, progress.New(env.stdout, fmt.Sprintf("Проверка %d", run), 0))
		if err != nil {
			return err
		}
		round := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
		fmt.Fprintf(env.stdout, "  проход %d: %s — кандидатов %d, пар ≥ %.2f: %d (%.0f компаний/с); кандидаты %s (процессор %s), "+
			"оценка %s (%s), запись %s (%s); процессор %s, load average %s → %s\n", run,
			round(stats.Elapsed), stats.Candidates, duplicate.Likely, stats.Pairs, float64(live)/stats.Elapsed.Seconds(),
			round(stats.Collect), round(stats.CollectCPU), round(stats.Score), round(stats.ScoreCPU), round(stats.Write), round(stats.WriteCPU),
			round(processCPU()-cpu), load, loadAverage())
	}
	admin := access.Scope{UserID: adminID, Role: access.RoleAdmin, Data: access.Global, Name: "bench"}
	start := time.Now()
	list, err := sc.Groups(ctx, admin, duplicate.GroupFilter{Page: 1, Size: 20})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "  страница «Дубли» (группы, стр. 1): %s — групп %d, компаний в них %d, пар %d\n",
		time.Since(start).Round(time.Millisecond), list.Count, list.Companies, list.Pairs)
	start = time.Now()
	if _, err := sc.Groups(ctx, admin, duplicate.GroupFilter{Field: "inn", Page: 1, Size: 20}); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "  страница «Дубли», фильтр «ИНН»: %s\n", time.Since(start).Round(time.Millisecond))

	// The incremental path: 1,000 companies marked changed, re-checked —
	// the first thousand by id, then a thousand of the largest group (each
	// of whose re-checks touches that group).
	const changed = 1000
	if err := benchRecheck(ctx, env, db, sc, "изменённых", `INSERT INTO duplicate_dirty (company_id)
		SELECT id FROM companies WHERE deleted_at IS NULL ORDER BY id LIMIT `+fmt.Sprint(changed)); err != nil {
		return err
	}
	var big, size int64
	err = db.QueryRowContext(ctx, `SELECT id, size FROM duplicate_groups ORDER BY size DESC, id LIMIT 1`).Scan(&big, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return benchRecheck(ctx, env, db, sc, fmt.Sprintf("из самой большой группы (%d компаний)", size), `INSERT INTO duplicate_dirty (company_id)
		SELECT a_id FROM (SELECT DISTINCT a_id FROM duplicate_pairs WHERE group_id = `+fmt.Sprint(big)+`) x ORDER BY a_id LIMIT `+fmt.Sprint(changed)+`
		ON CONFLICT (company_id) DO NOTHING`)
}

// benchRecheck marks the companies mark selects changed and re-checks
// them, and reports the time and this process's CPU per company.
func benchRecheck(ctx context.Context, env *environment, db *database.DB, sc *duplicate.Scanner, what, mark string) error {
	if _, err := db.ExecContext(ctx, mark); err != nil {
		return err
	}
	start, cpu, load := time.Now(), processCPU(), loadAverage()
	n := 0
	for {
		k, more, err := sc.Recheck(ctx)
		if err != nil {
			return err
		}
		n += k
		if !more || k == 0 {
			break
		}
	}
	el := time.Since(start)
	fmt.Fprintf(env.stdout, "  повторная проверка %s: %d компаний за %s (%.1f мс на компанию; процессор %s; load average %s → %s)\n",
		what, n, el.Round(time.Millisecond), float64(el.Microseconds())/1000/float64(max(n, 1)), (processCPU() - cpu).Round(time.Millisecond),
		load, loadAverage())
	return nil
}
