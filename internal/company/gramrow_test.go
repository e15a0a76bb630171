package company

import (
	"cmp"
	"slices"
	"testing"
)

// TestGramRowsSortAsThePrimaryKey: the two packed integers of gramRow sort
// as (trigram, ntri, name_id) do and give the three back; a name_id or
// ntri that does not fit is refused, not sorted wrong.
func TestGramRowsSortAsThePrimaryKey(t *testing.T) {
	type row struct {
		gram string
		ntri int
		id   int64
	}
	rows := []row{
		{"ром", 7, 12}, {" ро", 7, 12}, {"ром", 3, 900}, {"ром", 7, 5}, {"abc", 65_535, 1<<48 - 1},
		{"ёжи", 2, 1}, {"abc", 0, 0}, {"рот", 7, 12}, {"  р", 12, 40_000_000_000},
	}
	packed := make([]gramRow, len(rows))
	for i, r := range rows {
		p, ok := newGramRow(r.gram, r.ntri, r.id)
		if !ok {
			t.Fatalf("%v refused", r)
		}
		packed[i] = p
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.gram, b.gram), cmp.Compare(a.ntri, b.ntri), cmp.Compare(a.id, b.id))
	})
	slices.SortFunc(packed, func(a, b gramRow) int { return cmp.Or(cmp.Compare(a.gram, b.gram), cmp.Compare(a.key, b.key)) })
	for i, p := range packed {
		if got := (row{unpackGram(p.gram), p.ntri(), p.id()}); got != rows[i] {
			t.Errorf("row %d: %v, want %v", i, got, rows[i])
		}
	}
	for _, r := range []row{{"abc", 1, 1 << 48}, {"abc", 1 << 16, 1}, {"abc", 1, -1}} {
		if _, ok := newGramRow(r.gram, r.ntri, r.id); ok {
			t.Errorf("%v packed, want refused", r)
		}
	}
}
