package duplicate

import (
	"cmp"
	"context"
	"slices"

	"github.com/crmprofi/crm/internal/access"
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
	var out []Match
	for _, row := range rows {
		if row.rec.ID == p.Exclude {
			continue
		}
		score, reasons := Score(probe, row.rec)
		if score == 0 {
			continue
		}
		out = append(out, Match{ID: row.rec.ID, Name: row.name, INN: row.rec.INN, KPP: row.rec.KPP,
			Address: row.address, ResponsibleName: row.responsible, Score: score, Reasons: reasons,
			Blocking: Blocking(probe, row.rec)})
	}
	slices.SortFunc(out, func(a, b Match) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, e.hide(ctx, scope, out)
}
