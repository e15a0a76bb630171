package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database/dbtest"
)

// suggestFor asks the palette's endpoint as m and checks that it answers
// 200 with the contract's shape.
func (e *testEnv) suggestFor(m dbtest.Member, q string) suggestAnswer {
	e.t.Helper()
	var ans suggestAnswer
	if code := e.api(&m, "GET", "/api/search/?q="+url.QueryEscape(q), nil, &ans); code != http.StatusOK {
		e.t.Fatalf("GET /api/search/?q=%q as %s: status %d", q, m.Username, code)
	}
	if ans.Results == nil || ans.Kinds == nil {
		e.t.Fatalf("q=%q: results or kinds is null: %+v", q, ans)
	}
	return ans
}

func ids(ans suggestAnswer, typ string) []int64 {
	var out []int64
	for _, s := range ans.Results {
		if s.Type == typ {
			out = append(out, s.ID)
		}
	}
	return out
}

func TestThePaletteFindsOnlyWhatTheCallerMaySee(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		names := map[int64]string{set.A1: "Альфа", set.A2: "Бета", set.B1: "Вега", set.B2: "Гамма", set.X: "Икс", set.N: "Ноль"}
		// A contact at every company, named after it, so that a contact
		// search follows the company's visibility.
		contactOf := map[int64]int64{}
		for id, name := range names {
			contactOf[id] = e.seedContact(e.cast.Admin, id, "Сотрудник"+name).ID
		}
		all := set.all()
		c := e.cast
		see := []struct {
			who  dbtest.Member
			sees []int64
		}{
			{c.Admin, all},
			{c.Alisa, []int64{set.A1}},
			{c.Boris, []int64{set.A1, set.A2, set.X}},
			{c.Vera, []int64{set.B1, set.X}},
			{c.Gleb, all},
			{c.Darya, all},
		}
		for _, tc := range see {
			for _, id := range all {
				visible := slices.Contains(tc.sees, id)
				t.Run(tc.who.Username+" searching «"+names[id]+"» finds it: "+strconv.FormatBool(visible), func(t *testing.T) {
					ans := e.suggestFor(tc.who, names[id])
					if got := slices.Contains(ids(ans, "company"), id); got != visible {
						t.Errorf("company found %v, want %v: %+v", got, visible, ans)
					}
					if got := slices.Contains(ids(ans, "contact"), contactOf[id]); got != visible {
						t.Errorf("its contact found %v, want %v: %+v", got, visible, ans)
					}
					for _, s := range ans.Results {
						if s.Type == "company" && !slices.Contains(tc.sees, s.ID) {
							t.Errorf("a hidden company leaked: %+v", s)
						}
					}
				})
			}
		}
		t.Run("a manager does not find a hidden company by its ИНН or phone either", func(t *testing.T) {
			for _, q := range []string{"7707083893", "8 495 123-45-67"} {
				if ans := e.suggestFor(c.Vera, q); len(ids(ans, "company")) != 0 {
					t.Errorf("Вера found %q: %+v", q, ans)
				}
				if ans := e.suggestFor(c.Alisa, q); !slices.Equal(ids(ans, "company"), []int64{set.A1}) {
					t.Errorf("Алиса did not find her own company by %q: %+v", q, ans)
				}
			}
		})
	})
}

func TestThePaletteAnswersInTheContractShape(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		person := e.seedContact(e.cast.Admin, set.A1, "Альфов")

		ans := e.suggestFor(e.cast.Admin, "альф")
		want := []suggestion{
			{Type: "company", ID: set.A1, Title: "Альфа", Subtitle: "ИНН 7707083893 · Алиса Аксёнова",
				URL: "/companies/" + strconv.FormatInt(set.A1, 10) + "/", Match: &suggestMatch{Field: "name", Label: "Найдено: название"}},
			{Type: "contact", ID: person.ID, Title: "Альфов Иван", Subtitle: "Альфа",
				URL: "/contacts/" + strconv.FormatInt(person.ID, 10) + "/", Match: &suggestMatch{Field: "name", Label: "Найдено: ФИО"}},
		}
		if len(ans.Results) != len(want) {
			t.Fatalf("results %+v, want %+v", ans.Results, want)
		}
		for i := range want {
			got := ans.Results[i]
			if got.Type != want[i].Type || got.ID != want[i].ID || got.Title != want[i].Title || got.Subtitle != want[i].Subtitle || got.URL != want[i].URL ||
				got.Match == nil || *got.Match != *want[i].Match {
				t.Errorf("result %d: %+v (match %+v), want %+v", i, got, got.Match, want[i])
			}
		}
		wantKinds := []suggestKind{
			{Type: "company", Label: "Компании", URL: "/companies/?search=%D0%B0%D0%BB%D1%8C%D1%84"},
			{Type: "contact", Label: "Контакты", URL: "/contacts/?search=%D0%B0%D0%BB%D1%8C%D1%84"},
		}
		if !slices.Equal(ans.Kinds, wantKinds) {
			t.Errorf("kinds %+v, want %+v", ans.Kinds, wantKinds)
		}

		t.Run("a phone typed another way says the phone found it", func(t *testing.T) {
			ans := e.suggestFor(e.cast.Admin, "8 495 1234567")
			if len(ans.Results) == 0 || ans.Results[0].ID != set.A1 || ans.Results[0].Match.Field != "phone" {
				t.Fatalf("%+v", ans)
			}
		})
		t.Run("each kind gives at most eight suggestions", func(t *testing.T) {
			for i := range 12 {
				e.seedCompany("Омега "+strconv.Itoa(i), e.cast.BranchA, e.cast.Alisa.ID)
			}
			ans := e.suggestFor(e.cast.Admin, "омега")
			if len(ans.Results) != suggestLimit || !ans.Kinds[0].More {
				t.Fatalf("%d results, kinds %+v; want %d and more", len(ans.Results), ans.Kinds, suggestLimit)
			}
		})
	})
}

func TestThePaletteNeverFailsOnJunkInput(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		newCompanySet(t, e)
		junk := map[string]string{
			"empty":                "",
			"spaces":               "   \t  ",
			"10 KB of letters":     strings.Repeat("а", 10<<10),
			"10 KB of words":       strings.Repeat("альфа бета ", 1<<10),
			"10 KB of digits":      strings.Repeat("7", 10<<10),
			"control characters":   "\x00\x01\x02альфа\x7f\x1b[2J",
			"invalid UTF-8":        "\xff\xfe\xfdальфа",
			"punctuation only":     "%_*?'\"\\;--",
			"SQL":                  "'; DROP TABLE companies; --",
			"LIKE wildcards":       "%а%",
			"an e-mail-like thing": "@@",
			"a bidi override":      "\u202eалф",
		}
		for name, q := range junk {
			t.Run(name+" answers 200", func(t *testing.T) {
				e.suggestFor(e.cast.Alisa, q)
			})
		}
		t.Run("no q at all answers 200 with nothing", func(t *testing.T) {
			var ans suggestAnswer
			if code := e.api(&e.cast.Admin, "GET", "/api/search/", nil, &ans); code != http.StatusOK || len(ans.Results) != 0 {
				t.Fatalf("status %d, %+v", code, ans)
			}
		})
		t.Run("an anonymous caller is refused", func(t *testing.T) {
			if code := e.api(nil, "GET", "/api/search/?q=альфа", nil, nil); code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", code)
			}
		})
	})
}
