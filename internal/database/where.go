package database

import (
	"strconv"
	"strings"
)

// Where collects AND-ed conditions and their arguments. Conditions are
// written with "?" and numbered "$1…$N" as they are added, which both
// drivers bind by position.
type Where struct {
	parts []string
	args  []any
}

// Add appends cond, replacing each "?" in it by the next "$N" placeholder
// bound to the matching value of args.
func (w *Where) Add(cond string, args ...any) {
	w.parts = append(w.parts, w.bind(cond, args))
}

// Or appends a disjunction of conds, each written like in Add; the values
// of all conds are given in order.
func (w *Where) Or(conds []string, args ...any) {
	if len(conds) == 0 {
		w.parts = append(w.parts, "1 = 0")
		return
	}
	w.parts = append(w.parts, w.bind("("+strings.Join(conds, " OR ")+")", args))
}

// Arg adds v as an argument and returns its placeholder, for LIMIT, OFFSET
// or a value used outside the WHERE clause.
func (w *Where) Arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// In returns "(…)" with one placeholder per value, for "x IN " + w.In(…).
// An empty list yields "(NULL)", which matches nothing.
func (w *Where) In(values ...any) string {
	if len(values) == 0 {
		return "(NULL)"
	}
	ph := make([]string, len(values))
	for i, v := range values {
		ph[i] = w.Arg(v)
	}
	return "(" + strings.Join(ph, ", ") + ")"
}

// SQL returns " WHERE a AND b …", or "" when there are no conditions.
func (w *Where) SQL() string {
	if len(w.parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.parts, " AND ")
}

// Args returns the bound values in placeholder order.
func (w *Where) Args() []any { return w.args }

func (w *Where) bind(cond string, args []any) string {
	var b strings.Builder
	i := 0
	for _, r := range cond {
		if r == '?' && i < len(args) {
			b.WriteString(w.Arg(args[i]))
			i++
			continue
		}
		b.WriteRune(r)
	}
	if i != len(args) {
		panic("database.Where: placeholder count does not match arguments in " + strconv.Quote(cond))
	}
	return b.String()
}

// IDs converts ids for Where.In.
func IDs(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// Adopt renumbers the conditions of inner into w's placeholders and
// returns them as " WHERE …" (or "" when inner is empty), for subqueries
// built by code that writes its own Where.
func (w *Where) Adopt(inner *Where) string {
	if len(inner.parts) == 0 {
		return ""
	}
	offset := len(w.args)
	w.args = append(w.args, inner.args...)
	sql := inner.SQL()
	// Replace $N by $(N+offset), longest numbers first so $1 does not hit $12.
	for i := len(inner.args); i >= 1; i-- {
		sql = strings.ReplaceAll(sql, "$"+strconv.Itoa(i), "$#"+strconv.Itoa(i+offset))
	}
	return strings.ReplaceAll(sql, "$#", "$")
}

// InIDs returns the test "is one of ids" for a column, adding its
// arguments to w: " IN ($1, …)" on SQLite, " = ANY($n::bigint[])" with
// the ids as one array on PostgreSQL. On PostgreSQL a placeholder per id
// made every length of the list another statement, prepared and planned
// afresh on each call (a list page's children, a duplicate check's
// candidates: issue 6); the array keeps one text, which PostgreSQL plans
// once per connection. SQLite has no arrays, and its IN lists cost no
// planning worth the name.
func (d Dialect) InIDs(w *Where, ids []int64) string {
	if d == Postgres {
		if ids == nil {
			ids = []int64{}
		}
		return " = ANY(" + w.Arg(ids) + "::bigint[])"
	}
	return " IN " + w.In(IDs(ids)...)
}
