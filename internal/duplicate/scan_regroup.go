package duplicate

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/crmprofi/crm/internal/database"
)

// Keeping the groups right after a few pairs change (a re-check, «Не
// дубль») without reading the groups they touch. The demo base has groups
// of thousands of companies; rebuilding such a group from all its pairs
// on every re-check of one of its companies made a re-check of 1,000
// companies take minutes.
//
// The companies the changed pairs touch (the terminals) are searched from
// at once over the pair graph as it is now, level by level through the
// indexes on a_id and b_id, each search in turn except the largest one
// (a balanced search: its cost is about the smaller sides). Searches that
// meet are one component; a search that runs out has found a whole
// component, which becomes a group of its own. When at most one search
// is still going it is the rest: the groups the terminals were in, joined
// under the label of the largest of them (union by size: only the smaller
// groups' pairs are relabelled), less what split off. Its size and pair
// count follow by arithmetic from the old groups' rows. A group's id is
// one of its own companies — labels never collide — though no longer
// always the smallest. A search that grows past searchLimit companies
// gives up and the groups are rebuilt from their pairs (regroup).

// searchLimit is how many companies the searches of one regroupAround may
// visit before the groups are rebuilt from their pairs instead.
const searchLimit = 5000

// groupsOf reads the group of each of ids that is in a pair. ok is false
// when one of them is in a pair not grouped yet or in pairs of two groups
// (stored before migration 00039, or not consistent): the caller then
// rebuilds. On PostgreSQL the ids are one array parameter (boundIDs), so
// every re-check sends the same text, prepared and planned once per
// connection; SQLite gets them written in, as the rest of the scan.
func groupsOf(ctx context.Context, d database.Dialect, q database.Querier, ids []int64) (of map[int64]int64, ok bool, err error) {
	if ids == nil {
		ids = []int64{} // an empty array, not NULL
	}
	query, args := `SELECT a_id, group_id FROM duplicate_pairs WHERE a_id IN `+boundIDs+`
		UNION SELECT b_id, group_id FROM duplicate_pairs WHERE b_id IN `+boundIDs, []any{ids}
	if d != database.Postgres {
		in := idList(ids)
		query, args = `SELECT a_id, group_id FROM duplicate_pairs WHERE a_id IN `+in+`
		UNION SELECT b_id, group_id FROM duplicate_pairs WHERE b_id IN `+in, nil
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("groups of companies: %w", err)
	}
	defer func() { _ = rows.Close() }()
	of, ok = map[int64]int64{}, true
	err = eachRow(rows, func() error {
		var id, g int64
		if err := rows.Scan(&id, &g); err != nil {
			return err
		}
		if old, seen := of[id]; g == 0 || (seen && old != g) {
			ok = false
		}
		of[id] = g
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("groups of companies: %w", err)
	}
	return of, ok, nil
}

// pairChange is a change of the pair graph: the pairs removed and added
// (as they were and are stored; added ones in group 0), the companies they
// touch, and the groups those were in before (groupsOf, read before the
// change).
type pairChange struct {
	terminals      []int64
	groupOf        map[int64]int64
	consistent     bool
	removed, added []scoredPair
}

// components is what the searches of regroupAround found: the whole
// components (done), the companies the one search still going had
// reached (rest), and every pair read.
type components struct {
	done  [][]int64
	rest  []int64
	pairs map[pairKey]scoredPair
}

// searchComponents searches from starts (distinct) over the pairs as they
// are (see the top of this file). ok is false past limit companies.
func searchComponents(ctx context.Context, q database.Querier, starts []int64, limit int) (components, bool, error) {
	n := len(starts)
	parent := make([]int, n)
	visited := make([][]int64, n)
	frontier := make([][]int64, n)
	owner := make(map[int64]int, n)
	for i, id := range starts {
		parent[i], visited[i], frontier[i], owner[id] = i, []int64{id}, []int64{id}, i
	}
	find := func(c int) int {
		for parent[c] != c {
			parent[c] = parent[parent[c]]
			c = parent[c]
		}
		return c
	}
	union := func(c, d int) {
		c, d = find(c), find(d)
		if c == d {
			return
		}
		if len(visited[c]) < len(visited[d]) {
			c, d = d, c
		}
		parent[d] = c
		visited[c] = append(visited[c], visited[d]...)
		frontier[c] = append(frontier[c], frontier[d]...)
		visited[d], frontier[d] = nil, nil
	}
	out := components{pairs: map[pairKey]scoredPair{}}
	total := n
	for {
		var active []int
		for c := range n {
			if find(c) == c && len(frontier[c]) > 0 {
				active = append(active, c)
			}
		}
		if len(active) <= 1 {
			break
		}
		// The largest search waits: the others either run out or reach it.
		largest := slices.MaxFunc(active, func(c, d int) int { return cmp.Compare(len(visited[c]), len(visited[d])) })
		var expand []int64
		for _, c := range active {
			if c != largest {
				expand = append(expand, frontier[c]...)
				frontier[c] = nil
			}
		}
		in := idList(expand)
		rows, err := q.QueryContext(ctx, `SELECT a_id, b_id, score, fields, group_id FROM duplicate_pairs WHERE a_id IN `+in+`
			UNION ALL SELECT a_id, b_id, score, fields, group_id FROM duplicate_pairs WHERE b_id IN `+in)
		if err != nil {
			return components{}, false, fmt.Errorf("regroup: %w", err)
		}
		err = eachRow(rows, func() error {
			var p scoredPair
			if err := rows.Scan(&p.a, &p.b, &p.score, &p.fields, &p.group); err != nil {
				return err
			}
			out.pairs[pairKey{p.a, p.b}] = p
			ca, okA := owner[p.a]
			cb, okB := owner[p.b]
			switch {
			case okA && okB:
				union(ca, cb)
			case okA:
				c := find(ca)
				owner[p.b] = c
				visited[c], frontier[c] = append(visited[c], p.b), append(frontier[c], p.b)
				total++
			case okB:
				c := find(cb)
				owner[p.a] = c
				visited[c], frontier[c] = append(visited[c], p.a), append(frontier[c], p.a)
				total++
			}
			return nil
		})
		if err != nil {
			return components{}, false, fmt.Errorf("regroup: %w", err)
		}
		if total > limit {
			return components{}, false, nil
		}
	}
	for c := range n {
		if find(c) != c {
			continue
		}
		if len(frontier[c]) > 0 {
			out.rest = visited[c]
		} else {
			out.done = append(out.done, visited[c])
		}
	}
	return out, true, nil
}

// regroupAround keeps the groups right after ch (see the top of this
// file).
func (s *Scanner) regroupAround(ctx context.Context, tx *sql.Tx, ch pairChange) error {
	var old []int64
	for _, g := range ch.groupOf {
		old = append(old, g)
	}
	slices.Sort(old)
	old = slices.Compact(old)
	rebuild := func() error { return s.regroup(ctx, tx, old) }
	if !ch.consistent || slices.ContainsFunc(ch.removed, func(p scoredPair) bool { return p.group == 0 }) {
		return rebuild()
	}
	rows, err := groupRows(ctx, tx, old)
	if err != nil {
		return err
	}
	if len(rows) != len(old) {
		return rebuild()
	}
	comps, ok, err := searchComponents(ctx, tx, ch.terminals, searchLimit)
	if err != nil {
		return err
	}
	if !ok {
		return rebuild()
	}

	// rest is what the old groups and the terminals hold, less the whole
	// components found.
	rest := groupRow{pairs: int64(len(ch.added) - len(ch.removed))}
	for _, g := range old {
		rest.size += rows[g].size
		rest.pairs += rows[g].pairs
		rest.bits |= rows[g].bits
	}
	for _, t := range ch.terminals {
		if _, ok := ch.groupOf[t]; !ok {
			rest.size++
		}
	}
	var lost int64 // bits the rest may have lost with the pairs that left it
	for _, p := range ch.removed {
		lost |= fieldBits(p.fields)
	}
	inDone := map[int64]int{} // company → its whole component, by index in comps.done
	for i, nodes := range comps.done {
		for _, id := range nodes {
			inDone[id] = i
		}
	}
	whole := make([]groupRow, len(comps.done))
	keys := make([][]pairKey, len(comps.done))
	for i, nodes := range comps.done {
		whole[i] = groupRow{id: slices.Min(nodes), size: int64(len(nodes))}
	}
	for k, p := range comps.pairs {
		if i, ok := inDone[p.a]; ok {
			g := &whole[i]
			g.pairs++
			g.score = max(g.score, p.score)
			g.bits |= fieldBits(p.fields)
			keys[i] = append(keys[i], k)
		}
	}
	for _, g := range whole {
		rest.size -= g.size
		rest.pairs -= g.pairs
		lost |= g.bits
	}
	var kept int64 // bits an added pair keeps in the rest
	var addedToRest []pairKey
	for _, p := range ch.added {
		if _, ok := inDone[p.a]; !ok {
			kept |= fieldBits(p.fields)
			addedToRest = append(addedToRest, pairKey{p.a, p.b})
		}
	}
	rest.bits |= kept
	if rest.pairs < 0 || (rest.pairs > 0 && (rest.size < 2 || len(comps.rest) == 0)) {
		return rebuild() // the stored rows do not add up: rebuild them
	}

	// The rest is named by the largest old group whose company is in it.
	if rest.pairs > 0 {
		rest.id = 0
		var best int64 = -1
		for _, g := range old {
			if _, ok := inDone[g]; !ok && rows[g].size > best {
				rest.id, best = g, rows[g].size
			}
		}
		if rest.id == 0 {
			rest.id = slices.Min(comps.rest)
		}
		var others []int64
		for _, g := range old {
			if g != rest.id {
				others = append(others, g)
			}
		}
		if len(others) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE duplicate_pairs SET group_id = $1 WHERE group_id IN `+idList(others), rest.id); err != nil { //nolint:gosec // integers written by idList
				return fmt.Errorf("regroup: %w", err)
			}
		}
		for start := 0; start < len(addedToRest); start += looseChunk {
			if err := relabel(ctx, tx, rest.id, addedToRest[start:min(start+looseChunk, len(addedToRest))]); err != nil {
				return err
			}
		}
	}
	// The whole components last: one may take the label an old group
	// the rest was relabelled from had.
	var split []groupRow
	for i, g := range whole {
		if g.pairs == 0 {
			continue // a company left without pairs
		}
		slices.SortFunc(keys[i], func(x, y pairKey) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
		for start := 0; start < len(keys[i]); start += looseChunk {
			if err := relabel(ctx, tx, g.id, keys[i][start:min(start+looseChunk, len(keys[i]))]); err != nil {
				return err
			}
		}
		split = append(split, g)
	}
	if rest.pairs > 0 {
		if err := tx.QueryRowContext(ctx, `SELECT score FROM duplicate_pairs WHERE group_id = $1 ORDER BY score DESC LIMIT 1`, rest.id).Scan(&rest.score); err != nil {
			return fmt.Errorf("regroup: %w", err)
		}
		if rest.bits, err = verifyBits(ctx, tx, rest.id, rest.bits, lost&^kept); err != nil {
			return err
		}
		split = append(split, rest)
	}
	if len(old) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM duplicate_groups WHERE id IN `+idList(old)); err != nil { //nolint:gosec // integers written by idList
			return fmt.Errorf("regroup: %w", err)
		}
	}
	return s.insertGroups(ctx, tx, split)
}

// groupRows reads the rows of groups ids.
func groupRows(ctx context.Context, q database.Querier, ids []int64) (map[int64]groupRow, error) {
	out := map[int64]groupRow{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT id, score, size, pair_count, field_bits FROM duplicate_groups WHERE id IN `+idList(ids))
	if err != nil {
		return nil, fmt.Errorf("group rows: %w", err)
	}
	err = eachRow(rows, func() error {
		var g groupRow
		if err := rows.Scan(&g.id, &g.score, &g.size, &g.pairs, &g.bits); err != nil {
			return err
		}
		out[g.id] = g
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("group rows: %w", err)
	}
	return out, nil
}

// pairsOfCompany reads the stored pairs of company id.
func pairsOfCompany(ctx context.Context, q database.Querier, id int64) ([]scoredPair, error) {
	out, err := readPairs(ctx, q, `SELECT a_id, b_id, score, fields, group_id FROM duplicate_pairs WHERE a_id = $1
		UNION ALL SELECT a_id, b_id, score, fields, group_id FROM duplicate_pairs WHERE b_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("pairs of %d: %w", id, err)
	}
	return out, nil
}

// samePartners reports whether a re-check's pairs (added) join the same
// pairs of companies as before (removed), all in one group g: then the
// groups keep their shape.
func samePartners(removed, added []scoredPair) (g int64, ok bool) {
	if len(removed) == 0 || len(removed) != len(added) {
		return 0, false
	}
	g = removed[0].group
	keys := make(map[pairKey]bool, len(removed))
	for _, p := range removed {
		if p.group != g {
			return 0, false
		}
		keys[pairKey{p.a, p.b}] = true
	}
	for _, p := range added {
		if !keys[pairKey{p.a, p.b}] {
			return 0, false
		}
	}
	return g, g != 0
}

// refreshGroup keeps the row of group g right after its pairs removed
// were replaced by added, the same pairs of companies rescored: its best
// score is read from the index, and a reason field only removed pairs
// had is looked for among its pairs.
func refreshGroup(ctx context.Context, tx *sql.Tx, g int64, removed, added []scoredPair) error {
	var bits int64
	var score float64
	err := tx.QueryRowContext(ctx, `SELECT g.field_bits, (SELECT p.score FROM duplicate_pairs p WHERE p.group_id = g.id ORDER BY p.score DESC LIMIT 1)
		FROM duplicate_groups g WHERE g.id = $1`, g).Scan(&bits, &score)
	if err != nil {
		return fmt.Errorf("regroup: %w", err)
	}
	var lost, kept int64
	for _, p := range removed {
		lost |= fieldBits(p.fields)
	}
	for _, p := range added {
		kept |= fieldBits(p.fields)
	}
	if bits, err = verifyBits(ctx, tx, g, bits|kept, lost&^kept); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE duplicate_groups SET score = $1, field_bits = $2 WHERE id = $3`, score, bits, g); err != nil {
		return fmt.Errorf("regroup: %w", err)
	}
	return nil
}

// verifyBits clears from bits (of group g) each of the bits in doubt that
// no pair of the group has any more.
func verifyBits(ctx context.Context, tx *sql.Tx, g, bits, doubt int64) (int64, error) {
	for _, f := range reasonFieldList {
		bit := fieldBit(f)
		if bits&doubt&bit == 0 {
			continue
		}
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM duplicate_pairs WHERE group_id = $1 AND fields LIKE $2 LIMIT 1) x`,
			g, "%,"+f+",%").Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("regroup: %w", err)
		}
		if n == 0 {
			bits &^= bit
		}
	}
	return bits, nil
}
