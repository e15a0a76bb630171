package database

import (
	"math"
	"strconv"
)

// maxOffset is the furthest into a list a page may start: more rows than
// any table of this product holds, and small enough that offset plus page
// size fits every integer type of both databases and of a 32-bit Go int.
const maxOffset = math.MaxInt32 / 2

// PageOffset returns how many rows come before page (numbered from 1) of
// size rows each: the OFFSET of a paged query. It saturates instead of
// overflowing, so ?page=9223372036854775807 reads an empty page rather
// than sending a negative OFFSET or panicking on a slice. A page below 1
// is the first page.
func PageOffset(page, size int) int {
	if page <= 1 || size <= 0 {
		return 0
	}
	if page-1 > maxOffset/size {
		return maxOffset
	}
	return (page - 1) * size
}

// PageBounds returns the bounds [from:to] of page in a list of n entries
// held in memory (dictionaries, users). A page past the end is empty;
// size 0 or less means the whole list.
func PageBounds(page, size, n int) (from, to int) {
	if size <= 0 {
		return 0, n
	}
	from = min(PageOffset(page, size), n)
	return from, from + min(size, n-from)
}

// Limit returns " LIMIT size OFFSET offset" with both numbers written into
// the SQL, never bound as parameters. PostgreSQL plans a prepared
// statement once (a generic plan) only when that plan looks no dearer
// than planning for each call's values; a generic plan guesses that
// "LIMIT $n" keeps a tenth of the rows, so a paged query with bound limits
// was planned anew on every call — most of the database's time per
// request under load (README, «Время процессора на запрос»). Written in,
// the limit is known to every plan; each page size and offset is its own
// statement text, prepared once per connection.
func Limit(size, offset int) string {
	return " LIMIT " + strconv.Itoa(size) + " OFFSET " + strconv.Itoa(offset)
}
