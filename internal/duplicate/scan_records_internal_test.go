package duplicate

import "testing"

func TestRecordSetFindsEachRecordByID(t *testing.T) {
	for _, tc := range []struct {
		name string
		ids  []int64
	}{
		{"dense ids are found through positions", []int64{5, 3, 4, 9, 7}},
		{"ids far sparser than the records are found through a map", []int64{1, 1 << 40, 77, 1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := &recordSet{}
			for _, id := range tc.ids {
				set.list = append(set.list, Record{ID: id, INN: "inn"})
			}
			set.index()
			for _, id := range tc.ids {
				if r := set.get(id); r == nil || r.ID != id {
					t.Fatalf("get(%d) = %v", id, r)
				}
			}
			for _, id := range []int64{0, 2, 6, 8, 10, 1<<40 + 1, -1} {
				if r := set.get(id); r != nil {
					t.Fatalf("get(%d) = %v, want nil", id, r)
				}
			}
			if m := set.byID(); len(m) != len(tc.ids) {
				t.Fatalf("byID has %d records, want %d", len(m), len(tc.ids))
			}
		})
	}
	if r := (&recordSet{}).get(1); r != nil {
		t.Fatal("an empty set found a record")
	}
}
