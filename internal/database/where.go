package database

import (
	"encoding/json"
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

// InIDs returns the test "is one of ids" for a column, adding one
// argument to w: " = ANY($n::bigint[])" with the ids as an array on
// PostgreSQL, " IN (SELECT value FROM json_each($n))" with the ids as a
// JSON array on SQLite. A placeholder per id made every length of the list
// another statement, prepared and planned afresh on each call (a list
// page's children, a duplicate check's candidates: issue 6) — on
// PostgreSQL, and on SQLite, whose compiler took 13 % of the server's CPU
// under load while every other statement came from its per-connection
// cache. One text per query is compiled once per connection; both read
// the column's index once per id.
func (d Dialect) InIDs(w *Where, ids []int64) string {
	if d == Postgres {
		if ids == nil {
			ids = []int64{}
		}
		return " = ANY(" + w.Arg(ids) + "::bigint[])"
	}
	return " IN (SELECT value FROM json_each(" + w.Arg(IDsJSON(ids)) + "))"
}

// InTexts is InIDs for a text column: " = ANY($n::text[])" on PostgreSQL,
// " IN (SELECT value FROM json_each($n))" on SQLite.
func (d Dialect) InTexts(w *Where, values []string) string {
	if d == Postgres {
		if values == nil {
			values = []string{}
		}
		return " = ANY(" + w.Arg(values) + "::text[])"
	}
	return " IN (SELECT value FROM json_each(" + w.Arg(JSONArray(values)) + "))"
}

// JSONArray encodes values as a JSON array, the one argument through which
// a SQLite statement reads a list (json_each) and keeps one text whatever
// the list's length.
func JSONArray(values []string) string {
	if len(values) == 0 {
		return "[]"
	}
	b, err := json.Marshal(values)
	if err != nil { // strings always encode
		panic(err)
	}
	return string(b)
}

// IDsJSON is ids as a JSON array, the argument of json_each on SQLite.
func IDsJSON(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
