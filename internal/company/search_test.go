package company_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestSearch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		c := f.cast
		ids := f.insert(t,
			company.NewCompany{Name: "ООО «Ёлка-Плюс»", LegalName: "Общество с ограниченной ответственностью «Хвоя»",
				INN: "7707083893", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA,
				Phones: []company.Phone{{Value: "+7 (495) 123-45-67", Kind: "work"}},
				Emails: []company.Email{{Value: "Sales@Elka.ru", Kind: "work"}}},
			company.NewCompany{Name: "Ромашка", ResponsibleID: c.Vera.ID, BranchID: c.BranchB,
				Phones: []company.Phone{{Value: "8 916 000 00 01", Kind: "mobile"}}},
			// Its name holds the ИНН of the first company: found by name, after the exact hit.
			company.NewCompany{Name: "Склад 7707083893", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA},
		)
		elka, romashka, sklad := ids[0], ids[1], ids[2]
		tests := []struct {
			name  string
			who   dbtest.Member
			text  string
			want  []int64
			match string
		}{
			{"an ИНН finds the company exactly, before name hits", c.Admin, "7707083893", []int64{elka, sklad}, "inn"},
			{"an ИНН with spaces is still an ИНН", c.Admin, "7707 083 893", []int64{elka, sklad}, "inn"},
			{"a phone typed with 8 is found", c.Admin, "8 495 123 45 67", []int64{elka}, "phone"},
			{"a phone typed with +7 and brackets is found", c.Admin, "+7 (495) 123-45-67", []int64{elka}, "phone"},
			{"a phone typed as 7495… is found", c.Admin, "74951234567", []int64{elka}, "phone"},
			{"a phone typed as ten digits is found", c.Admin, "4951234567", []int64{elka}, "phone"},
			{"an e-mail in any case is found", c.Admin, "SALES@elka.RU", []int64{elka}, "email"},
			{"a name in any case with е for ё is found", c.Admin, "ЕЛКА", []int64{elka}, "name"},
			{"quotes and legal forms are ignored", c.Admin, "ооо «ёлка плюс»", []int64{elka}, "name"},
			{"the legal name is searched too", c.Admin, "хвоя", []int64{elka}, "legal_name"},
			{"every word must prefix a word of the name", c.Admin, "ел пл", []int64{elka}, "name"},
			{"a word that prefixes nothing finds nothing", c.Admin, "ел хвоинка", nil, ""},
			{"the scope applies to search: Вера does not see Алиса's company", c.Vera, "7707083893", nil, ""},
			{"the scope applies to search by phone", c.Alisa, "89160000001", nil, ""},
			{"Вера finds her own company by phone", c.Vera, "+7 916 000-00-01", []int64{romashka}, "phone"},
			{"punctuation alone finds nothing", c.Admin, "«»", nil, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, err := f.store.Search(context.Background(), tt.who.Scope, company.Query{Text: tt.text})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, co := range res.Companies {
					got = append(got, co.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) || res.Count != len(tt.want) {
					t.Fatalf("found %v (count %d), want %v", got, res.Count, tt.want)
				}
				if len(got) > 0 {
					m := res.Companies[0].Match
					if m == nil || m.Field != tt.match || m.Label == "" {
						t.Errorf("match %+v, want %s", m, tt.match)
					}
				}
			})
		}
	})
}

func TestSearchFiltersOrderingAndPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		admin := f.cast.Admin.Scope
		if _, err := f.store.Update(ctx, admin, f.B1, input(t, fmt.Sprintf(`{"status": %d, "spheres": [%d]}`, f.statuses[1], f.spheres[1])), false); err != nil {
			t.Fatal(err)
		}
		count := func(q company.Query) int {
			t.Helper()
			res, err := f.store.Search(ctx, admin, q)
			if err != nil {
				t.Fatal(err)
			}
			return res.Count
		}
		if n := count(company.Query{Branch: f.cast.BranchA}); n != 3 {
			t.Errorf("branch A: %d", n)
		}
		if n := count(company.Query{Responsible: f.cast.Vera.ID}); n != 2 {
			t.Errorf("Вера: %d", n)
		}
		if n := count(company.Query{Status: f.statuses[1]}); n != 1 {
			t.Errorf("status: %d", n)
		}
		if n := count(company.Query{Sphere: f.spheres[1]}); n != 1 {
			t.Errorf("sphere: %d", n)
		}
		res, err := f.store.Search(ctx, admin, company.Query{Ordering: "-name", PageSize: 2, Page: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.Count != 6 || len(res.Companies) != 2 || res.Companies[0].Name != "Гамма" || res.Companies[1].Name != "Вега" {
			t.Errorf("page 2 by -name: %d %v", res.Count, names(res.Companies))
		}
		beyond, err := f.store.Search(ctx, admin, company.Query{Text: "бета", Page: 5})
		if err != nil || beyond.Count != 1 || len(beyond.Companies) != 0 {
			t.Errorf("a text search past its last page: %d %d %v", beyond.Count, len(beyond.Companies), err)
		}
		if _, err := f.store.Search(ctx, admin, company.Query{Ordering: "password"}); !errors.Is(err, apperr.Invalid{}) {
			if _, ok := apperr.AsInvalid(err); !ok {
				t.Errorf("unknown ordering: %v", err)
			}
		}
	})
}

func names(list []company.Company) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.Name)
	}
	return out
}

func TestByINN(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.insert(t,
			company.NewCompany{Name: "Один", INN: "7707083893", ResponsibleID: f.cast.Alisa.ID},
			company.NewCompany{Name: "Два", INN: "7707083893", ResponsibleID: f.cast.Vera.ID},
		)
		all, err := f.store.ByINN(context.Background(), f.cast.Admin.Scope, "7707083893")
		if err != nil || len(all) != 2 {
			t.Fatalf("admin: %d, %v", len(all), err)
		}
		own, err := f.store.ByINN(context.Background(), f.cast.Alisa.Scope, "7707083893")
		if err != nil || len(own) != 1 {
			t.Fatalf("Алиса: %d, %v", len(own), err)
		}
	})
}

// benchCompanies is how many companies the benchmarks search through.
const benchCompanies = 20000

var benchWords = []string{"альфа", "бета", "вектор", "гранит", "дельта", "енисей", "жемчуг", "звезда",
	"импульс", "кристалл", "лидер", "магистраль", "норд", "орион", "прогресс", "ресурс", "сигма", "техно"}

func benchFixture(b *testing.B, d database.Dialect) (*company.Store, dbtest.Cast) {
	b.Helper()
	db := dbtest.New(b, d)
	cast := dbtest.NewCast(b, db)
	store := company.NewStore(db)
	list := make([]company.NewCompany, benchCompanies)
	resp := []int64{cast.Alisa.ID, cast.Boris.ID, cast.Vera.ID, cast.Gleb.ID}
	for i := range list {
		n := company.NewCompany{
			Name:          fmt.Sprintf("ООО «%s %s %d»", benchWords[i%len(benchWords)], benchWords[(i/7)%len(benchWords)], i),
			INN:           fmt.Sprintf("%010d", 1000000000+i),
			ResponsibleID: resp[i%len(resp)],
			BranchID:      []int64{cast.BranchA, cast.BranchB}[i%2],
			Phones:        []company.Phone{{Value: fmt.Sprintf("8 (495) %03d-%02d-%02d", i/10000, (i/100)%100, i%100), Kind: "work"}},
			Emails:        []company.Email{{Value: fmt.Sprintf("info%d@example.ru", i), Kind: "work"}},
		}
		_ = n.Normalize() // the synthetic ИНН has no valid check digit; the bulk path stores it as given
		list[i] = n
	}
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		_, err := store.InsertBatch(context.Background(), tx, list)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return store, cast
}

func BenchmarkSearch(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		store, cast := benchFixture(b, d)
		for _, q := range []struct {
			name, text string
			page       bool // as the list page asks (only the first phone)
		}{
			{"list", "", false},
			{"name", "кристалл бет", false},
			{"inn", "1000012345", false},
			{"phone", "+7 495 001-23-45", false},
			{"list page", "", true},
			{"name page", "кристалл", true},
		} {
			b.Run(string(d)+"/"+q.name, func(b *testing.B) {
				for b.Loop() {
					res, err := store.Search(context.Background(), cast.Boris.Scope, company.Query{Text: q.text, FirstPhone: q.page})
					if err != nil || res.Count == 0 {
						b.Fatalf("%d, %v", res.Count, err)
					}
				}
			})
		}
	}
}

// TestNameSearchFollowsTheCompany checks the covering word index end to
// end: a rename, a reassignment, deletion and restore change who finds a
// company by name at once.
func TestNameSearchFollowsTheCompany(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := company.NewStore(db)
		in, err := company.ParseJSON([]byte(`{"name": "ООО «Северный ветер»"}`))
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Create(ctx, cast.Alisa.Scope, in)
		if err != nil {
			t.Fatal(err)
		}
		found := func(m dbtest.Member, text string) int {
			t.Helper()
			res, err := s.Search(ctx, m.Scope, company.Query{Text: text})
			if err != nil {
				t.Fatal(err)
			}
			if res.Count != len(res.Companies) {
				t.Fatalf("count %d for %d rows", res.Count, len(res.Companies))
			}
			return res.Count
		}
		if found(cast.Alisa, "север") != 1 || found(cast.Vera, "север") != 0 || found(cast.Gleb, "СЕВЕР ВЕТ") != 1 {
			t.Fatal("the new company is not found as the scopes say")
		}
		patch := func(m dbtest.Member, body string) {
			t.Helper()
			in, err := company.ParseJSON([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, m.Scope, c.ID, in, false); err != nil {
				t.Fatal(err)
			}
		}
		patch(cast.Admin, fmt.Sprintf(`{"responsible": %d, "branch": %d}`, cast.Vera.ID, cast.BranchB))
		if found(cast.Alisa, "север") != 0 || found(cast.Vera, "север") != 1 {
			t.Fatal("reassignment did not move the company between scopes")
		}
		patch(cast.Admin, `{"name": "ООО «Южный ветер»"}`)
		if found(cast.Vera, "север") != 0 || found(cast.Vera, "юж") != 1 {
			t.Fatal("the rename is not searchable")
		}
		if err := s.Delete(ctx, cast.Admin.Scope, c.ID); err != nil {
			t.Fatal(err)
		}
		if found(cast.Admin, "юж") != 0 {
			t.Fatal("a deleted company is still found")
		}
		if _, err := s.Restore(ctx, cast.Admin.Scope, c.ID); err != nil {
			t.Fatal(err)
		}
		if found(cast.Admin, "юж") != 1 {
			t.Fatal("a restored company is not found")
		}
	})
}

// TestFirstPhoneComesWithThePage checks Query.FirstPhone (the company
// list page): each company's first phone — the one Get lists first, by
// position then id — comes in the statement that reads the page, and no
// statement reads child rows; a search by phone or e-mail still reads what
// its "why found" compares; without it everything comes, as the API lists
// it.
func TestFirstPhoneComesWithThePage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		c := f.cast
		id := f.insert(t, company.NewCompany{Name: "ООО «Ёлка»", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA,
			Spheres: []int64{f.spheres[0]},
			Phones:  []company.Phone{{Value: "+7 (495) 123-45-67", Kind: "work"}, {Value: "+7 916 000-00-01", Kind: "mobile", Comment: "директор"}},
			Emails:  []company.Email{{Value: "sales@elka.ru", Kind: "work"}}})[0]
		f.insert(t, company.NewCompany{Name: "Без телефона", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA})
		// The later phone first by position: the order is position's, not
		// the ids'.
		if _, err := db.ExecContext(ctx, `UPDATE company_phones SET position = 1 - position WHERE company_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		got, err := f.store.Get(ctx, c.Admin.Scope, id)
		if err != nil {
			t.Fatal(err)
		}
		first := got.Phones[0]
		if first.E164 != "+79160000001" || first.Comment != "директор" || first.Kind != "mobile" {
			t.Fatalf("Get's first phone %+v, want the mobile", first)
		}
		if _, err := f.store.ChoicesAt(ctx, 0); err != nil { // the names from memory, as on a running server
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name            string
			q               company.Query
			phones          int
			emails, spheres bool
			match           string
			statements      int64
		}{
			{"the list page", company.Query{FirstPhone: true}, 1, false, false, "", 2},
			{"the list page's name search", company.Query{FirstPhone: true, Text: "ёлка"}, 1, false, false, "name", 1},
			{"the list page's two-word search", company.Query{FirstPhone: true, Text: "ооо ёлка"}, 1, false, false, "name", 1},
			{"the list page's phone search", company.Query{FirstPhone: true, Text: "+7 916 000-00-01"}, 2, false, false, "phone", 2},
			{"the list page's e-mail search", company.Query{FirstPhone: true, Text: "sales@elka.ru"}, 2, true, true, "email", 2},
			{"the API's list", company.Query{}, 2, true, true, "", 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := db.Statements()
				res, err := f.store.Search(ctx, c.Admin.Scope, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if n := db.Statements() - before; n != tc.statements {
					t.Errorf("%d statements, want %d", n, tc.statements)
				}
				var elka *company.Company
				for i := range res.Companies {
					switch res.Companies[i].Name {
					case "ООО «Ёлка»":
						elka = &res.Companies[i]
					case "Без телефона":
						if p := res.Companies[i].Phones; p == nil || len(p) != 0 {
							t.Errorf("a company without phones got %#v, want none", p)
						}
					}
				}
				if elka == nil {
					t.Fatalf("not found among %d", len(res.Companies))
				}
				if len(elka.Phones) != tc.phones || elka.Phones[0] != first {
					t.Errorf("phones %+v, want %d starting with %+v", elka.Phones, tc.phones, first)
				}
				if got := len(elka.Emails) > 0; got != tc.emails {
					t.Errorf("e-mails read: %v, want %v", got, tc.emails)
				}
				if got := len(elka.Spheres) > 0; got != tc.spheres {
					t.Errorf("spheres read: %v, want %v", got, tc.spheres)
				}
				if tc.match != "" && (elka.Match == nil || elka.Match.Field != tc.match) {
					t.Errorf("match %+v, want %s", elka.Match, tc.match)
				}
			})
		}
	})
}
