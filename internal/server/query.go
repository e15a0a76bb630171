package server

import (
	"errors"
	"net/url"
	"strings"

	"github.com/crmprofi/crm/internal/apperr"
)

// queryValues reads a raw query string for a parser that reports bad
// values in inv. A pair net/url cannot read (one with a «;» in it, or a
// broken %-escape) is one of them, named by its parameter: url.Values
// drops such a pair and keeps the rest, so a filter the user gave would
// vanish without a word — «?status=1;2» listed every status, and an
// export of it held the whole base.
func queryValues(raw string, inv apperr.Invalid) url.Values {
	q, err := url.ParseQuery(raw) // the pairs that read
	if err != nil {
		inv.Add(badQueryPair(raw))
	}
	return q
}

// badQueryPair finds the first pair of a raw query that url.ParseQuery
// refuses and says why, keyed by the pair's parameter (apperr.NonField
// when the pair has no readable name).
func badQueryPair(raw string) (string, string) {
	for pair := range strings.SplitSeq(raw, "&") {
		key, value, _ := strings.Cut(pair, "=")
		field, err := url.QueryUnescape(key)
		if err != nil || field == "" || strings.Contains(key, ";") {
			field = apperr.NonField
		}
		if strings.Contains(pair, ";") {
			return field, "Точка с запятой не разделяет параметры запроса: передайте каждое значение " +
				"отдельным параметром (status=1&status=2) или закодируйте «;» как %3B."
		}
		if err == nil {
			_, err = url.QueryUnescape(value)
		}
		if escape, ok := errors.AsType[url.EscapeError](err); ok {
			return field, "Неверная %-последовательность в строке запроса: «" + string(escape) +
				"». Знак «%» кодируется как %25."
		}
	}
	// url.ParseQuery refused what no pair shows (it does not today).
	return apperr.NonField, "Строка запроса не читается."
}
