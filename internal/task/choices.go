package task

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// Choice is one option of a task form or filter select.
type Choice struct {
	ID       int64
	Name     string
	BranchID int64  // users
	Icon     string // types
	Color    string // types
}

// Choices are the options of the task form and the list's filters.
type Choices struct {
	Types     []Choice
	Users     []Choice // every active user (the assignee filter)
	Assignees []Choice // those the caller may assign (CanAssignTask)
	Companies []Choice // visible companies by name, at most MaxCompanyChoices
	Contacts  []Choice // the contacts of the company asked for
}

// MaxCompanyChoices bounds the company select of the task form; a company
// beyond it is reached from its card («+ Задача»), which preselects it.
const MaxCompanyChoices = 300

// Choices reads the form's options for sc. companyID, when not 0, is
// the company chosen: it is always among Companies (when visible), and
// its contacts fill Contacts. withCompanies says whether the company and
// contact lists are wanted at all (the list page needs neither).
func (s *Store) Choices(ctx context.Context, sc access.Scope, companyID int64, withCompanies bool) (Choices, error) {
	ch, err := s.typesAndUsers(ctx, &sc, true)
	if err != nil {
		return ch, err
	}
	if !withCompanies {
		return ch, nil
	}
	var w database.Where
	w.Add("c.deleted_at IS NULL")
	sc.Restrict(&w, "c")
	order := " ORDER BY c.name_norm, c.id"
	if companyID != 0 {
		order = " ORDER BY CASE WHEN c.id = " + w.Arg(companyID) + " THEN 0 ELSE 1 END, c.name_norm, c.id"
	}
	if ch.Companies, err = s.choiceRows(ctx, `SELECT c.id, c.name FROM companies c`+w.SQL()+order+" LIMIT "+w.Arg(MaxCompanyChoices), w.Args()); err != nil {
		return ch, err
	}
	if companyID != 0 {
		var cw database.Where
		cw.Add("ct.deleted_at IS NULL")
		sc.RestrictToCompany(&cw, "ct.company_id", companyID)
		if ch.Contacts, err = s.choiceRows(ctx, `SELECT ct.id, TRIM(ct.last_name || ' ' || ct.first_name || ' ' || ct.middle_name) FROM contacts ct`+cw.SQL()+
			" ORDER BY ct.name_norm, ct.id LIMIT 500", cw.Args()); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// FilterChoices reads the options of the task list's filters: the types
// and, with users, every active user (the assignee filter, which only
// «Все доступные» shows). Unlike Choices it skips what the list does not
// show: who the caller may assign to, and on «Мои задачи» the 200 users
// of a large base — a seventh of the list page's CPU.
func (s *Store) FilterChoices(ctx context.Context, users bool) (Choices, error) {
	return s.typesAndUsers(ctx, nil, users)
}

// typesAndUsers reads the task types and, with users, the active users in
// one statement; with sc set, it also fills Assignees.
func (s *Store) typesAndUsers(ctx context.Context, sc *access.Scope, users bool) (Choices, error) {
	var ch Choices
	q := `SELECT 1, id, name, 0, icon, color FROM task_types ORDER BY 3, 2`
	if users {
		q = `SELECT 1, id, name, 0, icon, color FROM task_types
		UNION ALL SELECT 2, id, first_name, COALESCE(branch_id, 0), last_name, username FROM users WHERE is_active
		ORDER BY 1, 3, 2`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return ch, fmt.Errorf("task choices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var list int
		var c Choice
		var a, b string
		if err := rows.Scan(&list, &c.ID, &c.Name, &c.BranchID, &a, &b); err != nil {
			return ch, fmt.Errorf("task choices: %w", err)
		}
		if list == 1 {
			c.Icon, c.Color = a, b
			ch.Types = append(ch.Types, c)
			continue
		}
		c.Name = personName(c.Name, a, b)
		ch.Users = append(ch.Users, c)
		if sc != nil && sc.CanAssignTask(access.UserRef{ID: c.ID, BranchID: c.BranchID}) == nil {
			ch.Assignees = append(ch.Assignees, c)
		}
	}
	if err := rows.Err(); err != nil {
		return ch, fmt.Errorf("task choices: %w", err)
	}
	return ch, nil
}

func (s *Store) choiceRows(ctx context.Context, q string, args []any) ([]Choice, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("choices: %w", err)
	}
	defer rows.Close()
	var out []Choice
	for rows.Next() {
		var c Choice
		var name sql.NullString
		if err := rows.Scan(&c.ID, &name); err != nil {
			return nil, fmt.Errorf("choices: %w", err)
		}
		c.Name = name.String
		out = append(out, c)
	}
	return out, rows.Err()
}
