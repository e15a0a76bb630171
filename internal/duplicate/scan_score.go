package duplicate

import "sync"

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
	bits    int64  // fieldBits(fields)
}

// reasonTable holds the distinct likely answers of Score one scan met,
// shared by its scoring goroutines. A found pair carries the index of its
// answer (foundPair.reason) rather than its own reasons and fields: at
// 1,000,000 companies 5,500,000 pairs held 200 bytes of strings each, and
// every garbage collection walked their pointers.
type reasonTable struct {
	mu    sync.Mutex
	byKey map[uint64]int32 // the index in list; -1: not likely
	list  []scored
}

func newReasonTable() *reasonTable { return &reasonTable{byKey: map[uint64]int32{}} }

// add records s as the answer for k and returns its index (-1 when it is
// not likely); a key another goroutine added first keeps its index.
func (t *reasonTable) add(k uint64, s scored) int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.byKey[k]; ok {
		return i
	}
	i := int32(-1)
	if s.likely {
		i = int32(len(t.list)) //nolint:gosec // a few thousand answers
		t.list = append(t.list, s)
	}
	t.byKey[k] = i
	return i
}

// foundPair is a likely duplicate the full scan found: the index of its
// Score answer in the scan's reasonTable, and its group. No pointers.
type foundPair struct {
	a, b, group int64
	reason      int32
}

// pairScorer scores pairs through a cache of Score's answers by signal
// key: its own (not safe for concurrent use) in front of the table it
// shares with the other goroutines.
type pairScorer struct {
	table *reasonTable
	byKey map[uint64]int32
}

func newPairScorer(t *reasonTable) *pairScorer {
	return &pairScorer{table: t, byKey: map[uint64]int32{}}
}

// score is likelyPair(p, a, b) without allocating (after the first pair
// of each key): whether the pair is likely, and the index of its answer
// in the table.
func (ps *pairScorer) score(p pairKey, a, b *Record) (int32, bool, error) {
	k := signalsOf(a, b)
	if k == 0 {
		return -1, false, nil
	}
	i, ok := ps.byKey[k]
	if !ok {
		sp, likely, err := likelyPair(p, a, b)
		if err != nil {
			return -1, false, err
		}
		i = ps.table.add(k, scored{likely: likely, score: sp.score, reasons: sp.reasons, fields: sp.fields, bits: fieldBits(sp.fields)})
		ps.byKey[k] = i
	}
	return i, i >= 0, nil
}
