package duplicate

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// FindStepwise is Find as it was before it was folded into two statements
// (issue 6): every step of the candidates, the load and the visibility
// its own query. Tests hold Find to its answers.
func (e *Engine) FindStepwise(ctx context.Context, scope access.Scope, p Probe, limit int) ([]Match, error) {
	if !scope.Acts() || limit <= 0 {
		return nil, nil
	}
	probe := RecordOf(p)
	ids, err := e.candidates(ctx, probe)
	if err != nil {
		return nil, err
	}
	rows, err := e.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].visible = true // hide decides, below
	}
	out := matches(probe, p.Exclude, rows, limit)
	return out, e.hide(ctx, scope, out)
}

// hide (FindStepwise's last step; Find reads visibility with the
// candidates) strips from the matches the scope may not see everything but the
// id, the name, the responsible and the reasons (whose details never
// quote the other company's values). Visibility is access.Scope.Restrict's
// rule, asked of the database for exactly these ids.
func (e *Engine) hide(ctx context.Context, scope access.Scope, list []Match) error {
	if len(list) == 0 {
		return nil
	}
	visible := map[int64]bool{}
	if scope.SeesAll() {
		for _, m := range list {
			visible[m.ID] = true
		}
	} else {
		ids := make([]int64, len(list))
		for i, m := range list {
			ids[i] = m.ID
		}
		var w database.Where
		w.Add("c.id" + e.db.Dialect.InIDs(&w, ids))
		scope.Restrict(&w, "c")
		err := e.each(ctx, `SELECT c.id FROM companies c`+w.SQL(), w.Args(), func(rows *sql.Rows) error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			visible[id] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("duplicate visibility: %w", err)
		}
	}
	for i := range list {
		m := &list[i]
		m.Accessible = visible[m.ID]
		if !m.Accessible {
			m.INN, m.KPP, m.Address = "", "", ""
		}
	}
	return nil
}
