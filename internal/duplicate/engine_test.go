package duplicate_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/duplicate"
)

// seed normalises and writes companies through the company store (which
// keeps the trigram table) and returns their ids.
func seed(t testing.TB, db *database.DB, list ...company.NewCompany) []int64 {
	t.Helper()
	for i := range list {
		if err := list[i].Normalize().Err(); err != nil {
			t.Fatalf("seed %q: %v", list[i].Name, err)
		}
	}
	var ids []int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		ids, err = company.NewStore(db).InsertBatch(context.Background(), tx, list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func phones(values ...string) []company.Phone {
	var out []company.Phone
	for _, v := range values {
		out = append(out, company.Phone{Value: v, Kind: "work"})
	}
	return out
}

func emails(values ...string) []company.Email {
	var out []company.Email
	for _, v := range values {
		out = append(out, company.Email{Value: v, Kind: "work"})
	}
	return out
}

func TestFindGivesEachSignalItsReason(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		a := cast.Alisa.ID
		ids := seed(t, db,
			company.NewCompany{Name: `ООО "Ромашка"`, INN: "7707083893", KPP: "770701001", Address: "г. Москва, ул. Ленина, д. 5",
				Phones: phones("8 (495) 123-45-67"), Emails: emails("info@romashka.ru"), Website: "https://www.romashka.ru/", ResponsibleID: a},
			company.NewCompany{Name: "Лютик", OGRN: "1027700132195", ResponsibleID: a},
			company.NewCompany{Name: "Ромашки", ResponsibleID: a},
			company.NewCompany{Name: "Совсем другая", ResponsibleID: a},
		)
		eng := duplicate.New(db)
		find := func(p duplicate.Probe) []duplicate.Match {
			t.Helper()
			got, err := eng.Find(ctx, cast.Admin.Scope, p, 20)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		tests := []struct {
			name  string
			probe duplicate.Probe
			want  int64
			field string
			kind  string
		}{
			{"the same ИНН and КПП", duplicate.Probe{INN: "7707083893", KPP: "770701001"}, ids[0], "inn", "exact"},
			{"the same ИНН with another КПП is a branch", duplicate.Probe{INN: "7707083893", KPP: "770702001"}, ids[0], "kpp", "exact"},
			{"the same ОГРН", duplicate.Probe{OGRN: "1027700132195"}, ids[1], "ogrn", "exact"},
			{"the full legal form spelled out is the same name", duplicate.Probe{Name: "Общество с ограниченной ответственностью «Ромашка»"}, ids[0], "name", "normalized"},
			{"the name and the address spelled otherwise", duplicate.Probe{Name: "Ромашка ООО", Address: "Москва, Ленина ул, дом 5"}, ids[0], "name", "normalized"},
			{"a similar name", duplicate.Probe{Name: "Ромашк"}, ids[0], "name", "similar"},
			{"a phone in another format", duplicate.Probe{Phones: []string{"+7 495 1234567"}}, ids[0], "phone", "normalized"},
			{"an e-mail in capitals", duplicate.Probe{Emails: []string{"INFO@Romashka.RU"}}, ids[0], "email", "normalized"},
			{"the website's domain", duplicate.Probe{Website: "romashka.ru/contacts"}, ids[0], "website", "normalized"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := find(tt.probe)
				for _, m := range got {
					if m.ID != tt.want {
						continue
					}
					for _, r := range m.Reasons {
						if r.Field == tt.field && r.Kind == tt.kind {
							return
						}
					}
					t.Fatalf("match %d has reasons %+v, want %s/%s", m.ID, m.Reasons, tt.field, tt.kind)
				}
				t.Fatalf("company %d not found: %+v", tt.want, got)
			})
		}
		t.Run("the company being edited is not its own duplicate", func(t *testing.T) {
			if got := find(duplicate.Probe{Exclude: ids[0], INN: "7707083893", KPP: "770701001"}); len(got) != 0 {
				t.Fatalf("got %+v", got)
			}
		})
		t.Run("a deleted company is not a candidate", func(t *testing.T) {
			if err := company.NewStore(db).Delete(ctx, cast.Admin.Scope, ids[1]); err != nil {
				t.Fatal(err)
			}
			if got := find(duplicate.Probe{OGRN: "1027700132195", Name: "Лютик"}); len(got) != 0 {
				t.Fatalf("got %+v", got)
			}
		})
		t.Run("the same ИНН and КПП blocks, another КПП does not", func(t *testing.T) {
			same := find(duplicate.Probe{INN: "7707083893", KPP: "770701001"})
			other := find(duplicate.Probe{INN: "7707083893", KPP: "770702001"})
			if !same[0].Blocking || other[0].Blocking {
				t.Fatalf("same %+v, other %+v", same[0], other[0])
			}
		})
	})
}

func TestFindWithoutAScopeFindsNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		seed(t, db, company.NewCompany{Name: "Ромашка", ResponsibleID: cast.Alisa.ID})
		got, err := duplicate.New(db).Find(context.Background(), access.Scope{}, duplicate.Probe{Name: "Ромашка"}, 20)
		if err != nil || len(got) != 0 {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}
