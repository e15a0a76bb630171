package duplicate

// recordSet holds the Records a full scan reads — every live company —
// in one slice, found by id through a slice of positions rather than a
// map: at 1,000,000 companies the map's million small allocations were
// work for every garbage collection, and each of the scoring's ten
// million look-ups a hash and a random probe. Company ids are a sequence,
// dense enough for the positions (4 bytes an id); a base whose ids are
// far sparser than its companies (maxDenseSpread) keeps a map instead.
type recordSet struct {
	list []Record
	// base is the smallest id; pos[id-base] is the index in list plus
	// one (0: no live company has that id). Nil when sparse is used.
	base   int64
	pos    []int32
	sparse map[int64]int32
}

// maxDenseSpread is how many ids per record the positions may span
// before the set falls back to a map.
const maxDenseSpread = 8

// index builds the look-up of list (each id once).
func (s *recordSet) index() {
	s.pos, s.sparse = nil, nil
	if len(s.list) == 0 {
		return
	}
	lo, hi := s.list[0].ID, s.list[0].ID
	for i := range s.list {
		lo, hi = min(lo, s.list[i].ID), max(hi, s.list[i].ID)
	}
	if span := hi - lo + 1; span <= int64(maxDenseSpread*len(s.list)+1024) {
		s.base, s.pos = lo, make([]int32, span)
		for i := range s.list {
			s.pos[s.list[i].ID-lo] = int32(i + 1) //nolint:gosec // fewer records than int32 holds
		}
		return
	}
	s.sparse = make(map[int64]int32, len(s.list))
	for i := range s.list {
		s.sparse[s.list[i].ID] = int32(i) //nolint:gosec // fewer records than int32 holds
	}
}

// get is the record of company id, nil when it is not in the set.
func (s *recordSet) get(id int64) *Record {
	if s.pos != nil {
		if id < s.base || id-s.base >= int64(len(s.pos)) {
			return nil
		}
		if i := s.pos[id-s.base]; i > 0 {
			return &s.list[i-1]
		}
		return nil
	}
	if i, ok := s.sparse[id]; ok {
		return &s.list[i]
	}
	return nil
}

// byID is the set as a map (the re-check's few records).
func (s *recordSet) byID() map[int64]*Record {
	out := make(map[int64]*Record, len(s.list))
	for i := range s.list {
		out[s.list[i].ID] = &s.list[i]
	}
	return out
}
