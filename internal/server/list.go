package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/crmprofi/crm/internal/apperr"
)

// Page sizes of every list, as the contract gives them.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// pageParams reads ?page= and ?page_size=. Bad values are validation
// errors naming the parameter, and so is a pair of the query that does
// not read (queryValues): every list that pages checks its whole query.
func pageParams(r *http.Request) (page, size int, err error) {
	inv := apperr.Invalid{}
	page, size = readPage(queryValues(r.URL.RawQuery, inv), inv)
	return page, size, inv.Err()
}

// readPage reads ?page= and ?page_size= into page and size, adding a
// message to inv for each bad value. Any page from 1 up is accepted: one
// past the end is empty, and the stores bound the offset
// (database.PageOffset), so a huge number is never a server error.
func readPage(q url.Values, inv apperr.Invalid) (page, size int) {
	page, size = 1, defaultPageSize
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			inv.Add("page", "Номер страницы должен быть целым числом от 1")
		} else {
			page = n
		}
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			inv.Add("page_size", "Размер страницы должен быть целым числом от 1 до 500")
		} else {
			size = min(n, maxPageSize)
		}
	}
	return page, size
}

// listPage is the contract's paginated list: {"count", "next", "previous", "results"}.
//
// CountExact is false (and present) only for a list that stops counting
// (the tasks everyone may see): Count is then a lower bound.
type listPage[T any] struct {
	Count      int     `json:"count"`
	CountExact *bool   `json:"count_exact,omitempty"`
	Next       *string `json:"next"`
	Previous   *string `json:"previous"`
	Results    []T     `json:"results"`
}

// newListPage builds the list answer with absolute next/previous links
// that keep the request's other parameters.
func newListPage[T any](r *http.Request, results []T, count, page, size int) listPage[T] {
	if results == nil {
		results = []T{}
	}
	lp := listPage[T]{Count: count, Results: results}
	link := func(p int) *string {
		u := *r.URL
		q := u.Query()
		if p == 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.Itoa(p))
		}
		u.RawQuery = q.Encode()
		u.Scheme, u.Host = requestScheme(r), r.Host
		s := u.String()
		return &s
	}
	pages := (count + max(size, 1) - 1) / max(size, 1)
	if page < pages {
		lp.Next = link(page + 1)
	}
	if page > 1 {
		// From a page past the end, back leads to the last page.
		lp.Previous = link(min(page-1, max(pages, 1)))
	}
	return lp
}

// pageURL returns the request's URL with the page parameter set, for the
// HTML pagination links.
func pageURL(r *http.Request) func(int) string {
	return func(p int) string {
		q := r.URL.Query()
		if p <= 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.Itoa(p))
		}
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return u.String()
	}
}

// withParam returns the request's URL with one parameter replaced (sort
// links, filter chips); page is reset.
func withParam(r *http.Request, key, value string) string {
	q := r.URL.Query()
	q.Del("page")
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}

func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		return p
	}
	return "http"
}
