package duplicate

import "strings"

// Trigrams returns the distinct trigrams of a normalised name the way
// PostgreSQL's pg_trgm makes them: each word padded with two spaces in
// front and one behind. Keeping pg_trgm's definition keeps the meaning of
// "similar" that of PostgreSQL's similarity(): both databases find
// candidates through the company_trigrams rows filled from this function
// (and name_trigrams, which follows them) and verify them with Similarity.
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
func Similarity(a, b string) float64 {
	if a == "" || b == "" {
		return 0
	}
	if a == b {
		return 1
	}
	ta, tb := Trigrams(a), Trigrams(b)
	set := make(map[string]struct{}, len(ta))
	for _, g := range ta {
		set[g] = struct{}{}
	}
	common := 0
	for _, g := range tb {
		if _, ok := set[g]; ok {
			common++
		}
	}
	union := len(ta) + len(tb) - common
	if union == 0 {
		return 0
	}
	return float64(common) / float64(union)
}
