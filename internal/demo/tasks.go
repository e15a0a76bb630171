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
	users, err := ids(ctx, db, `SELECT id FROM users WHERE username LIKE 'demo-%' ORDER BY id`)
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
