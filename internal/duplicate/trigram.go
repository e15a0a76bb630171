package duplicate

import (
	"slices"
	"strings"
)

// Trigrams returns the distinct trigrams of a normalised name the way
// PostgreSQL's pg_trgm makes them: each word padded with two spaces in
// front and one behind. Keeping pg_trgm's definition keeps the meaning of
// "similar" that of PostgreSQL's similarity(): both databases find
// candidates through the name_trigrams rows filled from this function
// (company.Store writes them) and verify them with Similarity.
func Trigrams(norm string) []string {
	var out []string
	seen := map[string]struct{}{}
	for w := range strings.FieldsSeq(norm) {
		r := []rune("  " + w + " ")
		for i := 0; i+3 <= len(r); i++ {
			g := string(r[i : i+3])
			if _, dup := seen[g]; dup {
				continue
			}
			seen[g] = struct{}{}
			out = append(out, g)
		}
	}
	return out
}

// Similarity is pg_trgm's similarity of two normalised names: the shared
// trigrams over all the trigrams of both (0..1; 0 when either is empty).
// It is Trigrams' sets compared, without building them: each trigram is
// packed into one integer (three runes of 21 bits), both lists sorted in
// buffers on the stack and merged — no allocation for a name of up to 60
// runes, since the bulk scan calls it for millions of pairs.
func Similarity(a, b string) float64 {
	if a == "" || b == "" {
		return 0
	}
	if a == b {
		return 1
	}
	common, union := trigramOverlap(a, b)
	if union == 0 {
		return 0
	}
	return float64(common) / float64(union)
}

// trigramOverlap is how many distinct trigrams a and b share and how many
// they have together: Similarity is their ratio. The bulk scan keys its
// cache of scores by the two counts (scan_score.go).
func trigramOverlap(a, b string) (common, union int) {
	var bufA, bufB [64]uint64
	ta, tb := trigramKeys(a, bufA[:0]), trigramKeys(b, bufB[:0])
	i, j := 0, 0
	for i < len(ta) && j < len(tb) {
		switch {
		case ta[i] < tb[j]:
			i++
		case ta[i] > tb[j]:
			j++
		default:
			common++
			i++
			j++
		}
	}
	return common, len(ta) + len(tb) - common
}

// trigramKeys appends the distinct trigrams of norm (as Trigrams makes
// them: each word padded with two spaces in front and one behind) to buf,
// packed, sorted.
func trigramKeys(norm string, buf []uint64) []uint64 {
	for w := range strings.FieldsSeq(norm) {
		r0, r1 := ' ', ' '
		for _, r := range w {
			buf = append(buf, packTrigram(r0, r1, r))
			r0, r1 = r1, r
		}
		buf = append(buf, packTrigram(r0, r1, ' '))
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// packTrigram packs three runes of a string (0..0x10FFFF, 21 bits each).
func packTrigram(a, b, c rune) uint64 {
	return uint64(a)<<42 | uint64(b)<<21 | uint64(c) //nolint:gosec // a string's runes are never negative
}
