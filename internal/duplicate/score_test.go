package duplicate

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// rec is a Record built the way a probe is, for the score tests.
func rec(id int64, p Probe) Record {
	r := RecordOf(p)
	r.ID = id
	return r
}

// TestScoreOrdering is the contract of the weights: from one company of
// one legal entity at one place down to a similar name alone, each case
// scores strictly above the next.
func TestScoreOrdering(t *testing.T) {
	base := Probe{Name: `ООО "Ромашка"`, INN: "7707083893", KPP: "770701001", OGRN: "1027700132195",
		Address: "г. Москва, ул. Ленина, д. 5", Phones: []string{"8 (495) 123-45-67"}, Emails: []string{"info@romashka.ru"},
		Website: "romashka.ru"}
	a := rec(1, base)
	ordered := []struct {
		name  string
		probe Probe
	}{
		{"the same ИНН and КПП", Probe{Name: "Лютик", INN: "7707083893", KPP: "770701001"}},
		{"the same ОГРН", Probe{Name: "Лютик", OGRN: "1027700132195"}},
		{"the same ИНН, КПП on one side only", Probe{Name: "Лютик", INN: "7707083893"}},
		{"the same ИНН, another КПП (a branch)", Probe{Name: "Лютик", INN: "7707083893", KPP: "770702001"}},
		{"the same name and address, spelled otherwise", Probe{Name: "Общество с ограниченной ответственностью «Ромашка»", Address: "Москва, Ленина ул, дом 5"}},
		{"a phone and an e-mail", Probe{Name: "Лютик", Phones: []string{"+74951234567"}, Emails: []string{"INFO@romashka.ru"}}},
		{"a phone and a similar name", Probe{Name: "Ромашки", Phones: []string{"+7 495 123 45 67"}}},
		{"the same name", Probe{Name: "Ромашка ООО"}},
		{"an e-mail", Probe{Name: "Лютик", Emails: []string{"info@romashka.ru"}}},
		{"a phone", Probe{Name: "Лютик", Phones: []string{"+7 495 123 45 67"}}},
		{"the website", Probe{Name: "Лютик", Website: "https://www.romashka.ru/"}},
		{"a similar name", Probe{Name: "Ромашки"}},
		{"a less similar name", Probe{Name: "Ромашкин"}},
	}
	prev := math.Inf(1)
	for i, o := range ordered {
		s, reasons := Score(a, rec(int64(i+2), o.probe))
		if s >= prev {
			t.Errorf("%s scores %.3f, not below the case before (%.3f)", o.name, s, prev)
		}
		if s < 0 || s > 1 {
			t.Errorf("%s scores %.3f, outside 0..1", o.name, s)
		}
		if (s == 0) != (len(reasons) == 0) {
			t.Errorf("%s: score %.3f with reasons %+v", o.name, s, reasons)
		}
		t.Logf("%-50s %.3f %v", o.name, s, reasons)
		prev = s
	}
	if s, reasons := Score(a, rec(99, Probe{Name: "Лютик", Address: "г. Тверь"})); s != 0 || reasons != nil {
		t.Errorf("nothing in common scores %.3f %v", s, reasons)
	}
}

// TestLikelyThreshold: one strong signal, or two weaker ones, make a
// likely duplicate; one weak signal does not.
func TestLikelyThreshold(t *testing.T) {
	a := rec(1, Probe{Name: "Ромашка", INN: "7707083893", Phones: []string{"+74951234567"}, Emails: []string{"a@romashka.ru"}, Website: "romashka.ru"})
	tests := []struct {
		name   string
		probe  Probe
		likely bool
	}{
		{"the same ИНН", Probe{INN: "7707083893"}, true},
		{"the same name", Probe{Name: "ООО Ромашка"}, true},
		{"a phone and a similar name", Probe{Name: "Ромашки", Phones: []string{"84951234567"}}, true},
		{"a phone alone", Probe{Phones: []string{"84951234567"}}, false},
		{"a similar name alone", Probe{Name: "Ромашки"}, false},
		{"the website alone", Probe{Website: "romashka.ru"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := Score(a, rec(2, tt.probe))
			if (s >= Likely) != tt.likely {
				t.Errorf("score %.3f, likely %v", s, tt.likely)
			}
		})
	}
}

func TestScoreIsSymmetricAndBlockingIsExact(t *testing.T) {
	a := rec(1, Probe{Name: "Ромашка", INN: "7707083893", Address: "Москва, Ленина 5"})
	b := rec(2, Probe{Name: "ООО «Ромашки»", INN: "7707083893", KPP: "770701001", Address: "г. Москва, ул. Ленина, д. 5"})
	sa, ra := Score(a, b)
	sb, rb := Score(b, a)
	if sa != sb || !slices.Equal(ra, rb) {
		t.Errorf("Score(a, b) = %v %v, Score(b, a) = %v %v", sa, ra, sb, rb)
	}
	if Blocking(a, b) {
		t.Error("a КПП on one side only blocks")
	}
	if !Blocking(a, rec(3, Probe{INN: "7707083893"})) {
		t.Error("the same ИНН, no КПП on either side, does not block")
	}
	if s, _ := Score(a, a); s != 0 {
		t.Errorf("a company scores %.3f against itself", s)
	}
}

func TestReasonsNeverQuoteValues(t *testing.T) {
	a := rec(1, Probe{Name: "Ромашка", INN: "7707083893", KPP: "770701001", OGRN: "1027700132195", Address: "г. Москва, ул. Тайная, д. 5",
		Phones: []string{"+74951234567"}, Emails: []string{"secret@romashka.ru"}, Website: "romashka.ru"})
	_, reasons := Score(a, a.withID(2))
	for _, r := range reasons {
		for _, secret := range []string{"7707083893", "770701001", "1027700132195", "Тайная", "тайная", "4951234567", "secret", "romashka"} {
			if containsFold(r.Detail, secret) {
				t.Errorf("reason %+v quotes %q", r, secret)
			}
		}
	}
}

func (r Record) withID(id int64) Record {
	r.ID = id
	return r
}

func containsFold(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && (func() bool {
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				return true
			}
		}
		return false
	})()
}

func TestTrigramsAndSimilarityAgreeWithPgTrgm(t *testing.T) {
	pairs := [][2]string{
		{"ромашка", "ромашки"}, {"ромашка", "ромашка плюс"}, {"ромаш", "ромашка"}, {"рома", "ромашка"},
		{"светлый кедр", "светлоый кедр"}, {"елка плюс", "плюс елка"}, {"иванов и и", "иванов иван иванович"},
		{"a", "ab"}, {"завод 67", "завод 76"}, {"ромашка", "лютик"},
	}
	for _, p := range pairs {
		got := Similarity(p[0], p[1])
		if got < 0 || got > 1 || got != Similarity(p[1], p[0]) {
			t.Errorf("Similarity(%q, %q) = %v", p[0], p[1], got)
		}
	}
	if got := Similarity("ромашка", "ромашки"); math.Abs(got-0.6) > 1e-9 {
		t.Errorf("ромашка/ромашки = %v, pg_trgm says 0.6", got)
	}
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			return
		}
		// The engine does not need pg_trgm; this test compares with it.
		if _, err := db.ExecContext(context.Background(), `CREATE EXTENSION IF NOT EXISTS pg_trgm`); err != nil {
			t.Skipf("pg_trgm is not available: %v", err)
		}
		for _, p := range pairs {
			var want float64
			if err := db.QueryRowContext(context.Background(), `SELECT similarity($1, $2)`, p[0], p[1]).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if got := Similarity(p[0], p[1]); math.Abs(got-want) > 1e-6 {
				t.Errorf("Similarity(%q, %q) = %v, pg_trgm %v", p[0], p[1], got, want)
			}
		}
	})
}

func BenchmarkScore(b *testing.B) {
	a := rec(1, Probe{Name: `ООО "Ромашка"`, INN: "7707083893", KPP: "770701001", Address: "г. Москва, ул. Ленина, д. 5",
		Phones: []string{"+74951234567"}, Emails: []string{"info@romashka.ru"}, Website: "romashka.ru"})
	c := rec(2, Probe{Name: "Ромашки", INN: "7707083893", KPP: "770702001", Address: "Москва, Ленина ул, дом 5",
		Phones: []string{"+74951234568"}, Emails: []string{"office@romashka.ru"}, Website: "romashka.ru"})
	for b.Loop() {
		Score(a, c)
	}
}

func BenchmarkRecordOf(b *testing.B) {
	p := Probe{Name: `ООО "Ромашка"`, INN: "7707 083 893", KPP: "770701001", Address: "123456, г. Москва, ул. Ленина, д. 5, оф. 3",
		Phones: []string{"8 (495) 123-45-67"}, Emails: []string{"Info@Romashka.ru"}, Website: "https://www.romashka.ru/"}
	for b.Loop() {
		RecordOf(p)
	}
}

func TestMatchJSONShowsAHiddenCompanyOnlyByName(t *testing.T) {
	seen, err := json.Marshal(Match{ID: 1, Name: "Ромашка", ResponsibleName: "Вера Волкова", Accessible: true, Score: 0.6,
		Reasons: []Reason{{"name", "normalized", "то же название"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"inn":""`, `"kpp":""`, `"address":""`, `"accessible":true`, `"responsible_genitive":"Веры Волковой"`} {
		if !strings.Contains(string(seen), key) {
			t.Errorf("a visible match lacks %s: %s", key, seen)
		}
	}
	hidden, err := json.Marshal(Match{ID: 1, Name: "Ромашка", INN: "7707083893", Address: "Тайная, 5", ResponsibleName: "Вера Волкова", Score: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"inn"`, `"kpp"`, `"address"`, "7707083893", "Тайная"} {
		if strings.Contains(string(hidden), key) {
			t.Errorf("a hidden match shows %s: %s", key, hidden)
		}
	}
	if !strings.Contains(string(hidden), `"responsible_genitive":"Веры Волковой"`) {
		t.Errorf("a hidden match does not say whose it is: %s", hidden)
	}
}

// Similarity compares packed trigrams; it must be Trigrams' sets compared.
func FuzzSimilarityIsTheTrigramSetsCompared(f *testing.F) {
	for _, p := range [][2]string{
		{"ромашка", "ромашки"}, {"ромашка плюс", "плюс ромашка"}, {"а", "а б"}, {"ооо ёлка", "елка"},
		{"x\xffy", "x\xfey"}, {"очень длинное название " + strings.Repeat("слово ", 20), "очень длинное название"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		want := 0.0
		if a != "" && b != "" {
			ta, tb := Trigrams(a), Trigrams(b)
			common := 0
			for _, g := range ta {
				if slices.Contains(tb, g) {
					common++
				}
			}
			if union := len(ta) + len(tb) - common; union > 0 {
				want = float64(common) / float64(union)
			}
			if a == b {
				want = 1
			}
		}
		if got := Similarity(a, b); got != want {
			t.Errorf("Similarity(%q, %q) = %v, the trigram sets give %v", a, b, got, want)
		}
	})
}

func BenchmarkSimilarity(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Similarity("торговый дом ромашка", "торговый дом ромашки")
	}
}
