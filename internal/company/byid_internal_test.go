package company

import "testing"

// TestByIDGivesWhatWasSetAndZeroForTheRest: ids in the slice, beyond it
// (the map), negative ones, and ids never set, which give the zero
// value, as a map would.
func TestByIDGivesWhatWasSetAndZeroForTheRest(t *testing.T) {
	var m byID[string]
	set := map[int64]string{0: "ноль", 7: "семь", 300: "триста", denseIDs - 1: "последний в срезе", denseIDs: "первый в карте",
		1 << 40: "большой", -5: "отрицательный"}
	for id, v := range set {
		m.set(id, v)
	}
	m.set(7, "семь снова")
	set[7] = "семь снова"
	for _, id := range []int64{0, 1, 6, 7, 8, 299, 300, 301, denseIDs - 1, denseIDs, denseIDs + 1, 1 << 40, -5, -1} {
		if got := m.get(id); got != set[id] {
			t.Errorf("get(%d) = %q, want %q", id, got, set[id])
		}
	}
	if len(m.dense) != denseIDs {
		t.Errorf("the slice holds %d ids, want %d (up to the greatest small id set)", len(m.dense), denseIDs)
	}
}
