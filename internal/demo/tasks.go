package demo

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// taskTitles are the demo's tasks, a sales manager's usual day.
var taskTitles = []string{
	"Позвонить по поводу поставки",
	"Отправить коммерческое предложение",
	"Согласовать договор с юристом",
	"Выставить счёт",
	"Напомнить об оплате",
	"Встреча в офисе клиента",
	"Уточнить реквизиты",
	"Подготовить спецификацию",
	"Перезвонить главному инженеру",
	"Отправить акт сверки",
	"Презентация нового каталога",
	"Обсудить условия отсрочки",
}

// loadTasks gives every demo user perUser tasks as the assignee, unless
// the base has that many already: a spread over the last and next two
// weeks (overdue, today, this week, later; some all day, some urgent),
// about a tenth done in the last eight weeks (the desk's chart), and
// about a fifth assigned by someone else and not opened yet (the desk's
// «Новые назначения»). Plain inserts: no history, audit or jobs — it is
// demo data.
func loadTasks(ctx context.Context, db *database.DB, g *Generator, perUser, companies int) (int, error) {
	users, err := database.Column[int64](ctx, db, `SELECT id FROM users WHERE username LIKE 'demo-%' ORDER BY id`)
	if err != nil || len(users) == 0 || perUser <= 0 {
		return 0, err
	}
	have, err := count(ctx, db, "tasks")
	if err != nil {
		return 0, err
	}
	want := perUser * len(users)
	if have >= want {
		return have, nil
	}
	now := time.Now().UTC().Truncate(time.Minute)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		for i := have; i < want; i++ {
			assignee := users[i%len(users)]
			author := assignee
			seen := true
			if g.Intn(5) == 0 {
				author, seen = users[g.Intn(len(users))], false
			}
			title := taskTitles[g.Intn(len(taskTitles))]
			allDay := g.Intn(4) == 0
			due := now.Add(time.Duration(g.Intn(20*24*60)-5*24*60) * time.Minute)
			if allDay {
				due = today.AddDate(0, 0, g.Intn(20)-5)
			}
			status, result := "new", ""
			var completed any
			if g.Intn(10) == 0 {
				status, result = "done", "Сделано"
				completed = now.Add(-time.Duration(g.Intn(8*7*24)) * time.Hour)
			}
			var company any
			if companies > 0 {
				company = int64(1 + g.Intn(companies))
			}
			created := now.Add(-time.Duration(g.Intn(30*24)) * time.Hour)
			if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (title, title_norm, status, due_at, all_day, is_urgent,
				created_by, assigned_to, company_id, result, completed_at, seen, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
				title, dedup.NormalizeText(title), status, due, allDay, g.Intn(8) == 0,
				author, assignee, company, result, completed, seen || author == assignee, created); err != nil {
				return fmt.Errorf("demo task %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return want, nil
}

// taskRules are the recurrence rules of the benchmark's recurring tasks.
var taskRules = []string{"FREQ=WEEKLY;BYDAY=MO", "FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=DAILY;INTERVAL=2", "FREQ=WEEKLY;BYDAY=MO,WE,FR"}

// taskTxRows is the number of tasks written per transaction by
// loadTaskHistory (each transaction holds several multi-row statements).
const taskTxRows = 10_000

// loadTaskHistory bulk-loads tasks up to opt.Tasks over every demo user,
// busy getting a larger share (1 %, twice the average of 200 users): a
// year of history, about 70 % done or cancelled, 30 % open with due
// times from a month ago to four months ahead, a quarter all day, one
// open task in twenty recurring (its own series), one in seven assigned
// by someone else (a third of those still unseen), most linked to a
// company. Multi-row inserts, no history, audit or jobs: it is
// benchmark data. It returns the number of tasks in the base.
func loadTaskHistory(ctx context.Context, db *database.DB, opt Options, busy int64, companies int) (int, error) {
	users, err := database.Column[int64](ctx, db, `SELECT id FROM users WHERE username LIKE 'demo-%' ORDER BY id`)
	if err != nil || len(users) == 0 {
		return 0, err
	}
	types, err := database.Column[int64](ctx, db, `SELECT id FROM task_types ORDER BY id`)
	if err != nil {
		return 0, err
	}
	have, err := count(ctx, db, "tasks")
	if err != nil || have >= opt.Tasks {
		return have, err
	}
	g := New(opt.Seed ^ 0x7a5c)
	now := time.Now().UTC().Truncate(time.Second)
	const day = 24 * time.Hour
	minutes := func(d time.Duration) time.Duration { return time.Duration(g.Intn(int(d/time.Minute))) * time.Minute }
	one := func() []any {
		assignee := users[g.Intn(len(users))]
		if busy != 0 && g.Intn(100) == 0 {
			assignee = busy
		}
		author, seen := assignee, true
		title := taskTitles[g.Intn(len(taskTitles))]
		var typeID, company, completed, start any
		if len(types) > 0 && g.Intn(5) != 0 {
			typeID = types[g.Intn(len(types))]
		}
		if companies > 0 && g.Intn(7) != 0 {
			company = int64(1 + g.Intn(companies))
		}
		allDay := g.Intn(4) == 0
		status, result, rule := "new", "", ""
		var due, updated time.Time
		switch r := g.Intn(100); {
		case r < 70:
			status, result = "done", "Сделано"
			if r >= 62 {
				status, result = "cancelled", ""
			}
			due = now.Add(-minutes(365 * day))
			done := earlier(now, due.Add(minutes(5*day)-2*day))
			completed, updated = done, done
		default:
			if r >= 93 {
				status = "in_progress"
			}
			due = now.Add(minutes(150*day) - 30*day)
			if g.Intn(20) == 0 {
				rule = taskRules[g.Intn(len(taskRules))]
			}
		}
		if allDay {
			due = time.Date(due.Year(), due.Month(), due.Day(), 0, 0, 0, 0, time.UTC)
		}
		created := earlier(now, due).Add(-minutes(30 * day))
		if updated.IsZero() {
			updated = created
		}
		if g.Intn(7) == 0 {
			author = users[g.Intn(len(users))]
			seen = completed != nil || g.Intn(3) != 0
		}
		if rule != "" {
			start = due
		}
		return []any{title, dedup.NormalizeText(title), typeID, status, due, allDay, g.Intn(10) == 0,
			author, assignee, company, rule, start, result, completed, seen || author == assignee, created, updated}
	}
	const head = `INSERT INTO tasks (title, title_norm, type_id, status, due_at, all_day, is_urgent,
		created_by, assigned_to, company_id, recurrence_rrule, series_start, result, completed_at, seen, created_at, updated_at)`
	bar := opt.Progress("Задачи")
	bar.Start(int64(opt.Tasks - have))
	for from := have; from < opt.Tasks; from += taskTxRows {
		to := min(from+taskTxRows, opt.Tasks)
		rows := make([][]any, 0, to-from)
		for range to - from {
			rows = append(rows, one())
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			var last int64
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM tasks`).Scan(&last); err != nil {
				return err
			}
			if err := db.InsertRows(ctx, tx, head, rows); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE tasks SET series_id = id WHERE id > $1 AND recurrence_rrule <> ''`, last)
			return err
		})
		if err != nil {
			err = fmt.Errorf("tasks %d–%d: %w", from, to, err)
			bar.Finish(err)
			return 0, err
		}
		bar.Add(int64(to - from))
	}
	bar.Finish(nil)
	return count(ctx, db, "tasks")
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
