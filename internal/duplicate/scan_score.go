package duplicate

// Scoring millions of candidate pairs without allocating. Score builds
// its reasons (slices, a formatted detail) and the scan wrote them as
// JSON for every pair: at 1,000,000 companies that was most of the
// scoring's CPU and most of its garbage. Yet Score's answer depends only
// on which signals two records share — and, for a similar name, on the
// two counts whose ratio is the similarity — so a pair's signals
// (signalsOf, no allocation) are the key of a cache of Score's answers
// (pairScorer): each distinct key is scored by Score itself once, and
// every other pair with that key gets the same score, reasons and fields.
// TestScorerIsScore holds the two to the same answers.

// The bits of a signal key (the low 16 bits; a similar name's shared and
// total trigram counts sit above them).
const (
	sigINNKPP      = 1 << iota // the same ИНН and КПП
	sigINNOnly                 // the same ИНН, neither has a КПП
	sigINNBranch               // the same ИНН, another КПП
	sigINNOneKPP               // the same ИНН, a КПП on one side only
	sigOGRN                    // the same ОГРН
	sigNameAddress             // the same name and address
	sigName                    // the same name
	sigSimilar                 // a similar name (the counts are in the key)
	sigAddress                 // the same address (another name)
	sigPhone                   // a shared phone
	sigEmail                   // a shared e-mail
	sigWebsite                 // the same website
)

// signalsOf is the key of what Score(a, b) depends on, computed the way
// Score computes it. 0 means nothing matches.
func signalsOf(a, b *Record) uint64 {
	var k uint64
	if a.INN != "" && a.INN == b.INN {
		switch {
		case a.KPP == b.KPP && a.KPP != "":
			k |= sigINNKPP
		case a.KPP == b.KPP:
			k |= sigINNOnly
		case a.KPP != "" && b.KPP != "":
			k |= sigINNBranch
		default:
			k |= sigINNOneKPP
		}
	}
	if a.OGRN != "" && a.OGRN == b.OGRN {
		k |= sigOGRN
	}
	sameAddress := a.AddressNorm != "" && a.AddressNorm == b.AddressNorm
	switch {
	case a.NameNorm != "" && a.NameNorm == b.NameNorm && sameAddress:
		k |= sigNameAddress
		sameAddress = false
	case a.NameNorm != "" && a.NameNorm == b.NameNorm:
		k |= sigName
	case a.NameNorm != "" && b.NameNorm != "":
		common, union := trigramOverlap(a.NameNorm, b.NameNorm)
		if union > 0 && float64(common)/float64(union) >= SimilarName {
			k |= sigSimilar | uint64(common)<<16 | uint64(union)<<40 //nolint:gosec // counts, never negative
		}
	}
	if sameAddress {
		k |= sigAddress
	}
	if shared(a.Phones, b.Phones) {
		k |= sigPhone
	}
	if shared(a.Emails, b.Emails) {
		k |= sigEmail
	}
	if a.Domain != "" && a.Domain == b.Domain {
		k |= sigWebsite
	}
	return k
}

// scored is Score's answer for one signal key, as the scan writes it.
type scored struct {
	likely  bool
	score   float64
	reasons string // JSON
	fields  string // ",inn,phone,"
}

// pairScorer scores pairs through a cache of Score's answers by signal
// key. One per goroutine (it is not safe for concurrent use).
type pairScorer struct {
	byKey map[uint64]scored
}

func newPairScorer() *pairScorer { return &pairScorer{byKey: map[uint64]scored{}} }

// score is likelyPair(p, a, b) without allocating (after the first pair
// of each key).
func (ps *pairScorer) score(p pairKey, a, b *Record) (scoredPair, bool, error) {
	k := signalsOf(a, b)
	if k == 0 {
		return scoredPair{}, false, nil
	}
	s, ok := ps.byKey[k]
	if !ok {
		sp, likely, err := likelyPair(p, a, b)
		if err != nil {
			return scoredPair{}, false, err
		}
		s = scored{likely: likely, score: sp.score, reasons: sp.reasons, fields: sp.fields}
		ps.byKey[k] = s
	}
	if !s.likely {
		return scoredPair{}, false, nil
	}
	return scoredPair{a: p.a, b: p.b, score: s.score, reasons: s.reasons, fields: s.fields}, true, nil
}
