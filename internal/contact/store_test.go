package contact_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/dedup"
)

// world is the cast with three companies and a contact on each, plus a
// contact without a company written by Алиса.
type world struct {
	db                    *database.DB
	store                 *contact.Store
	cast                  dbtest.Cast
	compA, compA2, compB  int64 // Алиса's (branch A), Борис's (branch A), Вера's (branch B)
	onA, onB, companyless int64
}

// insertCompany writes a company row (and its name terms) directly: the
// company store belongs to another package.
func insertCompany(t *testing.T, db *database.DB, name string, branch, responsible int64) int64 {
	t.Helper()
	ctx := context.Background()
	now := database.Now()
	var id int64
	err := db.QueryRowContext(ctx, `INSERT INTO companies (name, name_norm, branch_id, responsible_id, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4, $5, $5) RETURNING id`, name, dedup.NormalizeName(name), branch, responsible, now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	for _, term := range dedup.Tokens(dedup.NormalizeName(name)) {
		if _, err := db.ExecContext(ctx, `INSERT INTO company_terms (term, company_id) VALUES ($1, $2)`, term, id); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func newWorld(t *testing.T, db *database.DB) *world {
	t.Helper()
	w := &world{db: db, store: contact.NewStore(db), cast: dbtest.NewCast(t, db)}
	c := w.cast
	w.compA = insertCompany(t, db, "ООО «Ромашка»", c.BranchA, c.Alisa.ID)
	w.compA2 = insertCompany(t, db, "АО Василёк", c.BranchA, c.Boris.ID)
	w.compB = insertCompany(t, db, "ИП Сибирский кедр", c.BranchB, c.Vera.ID)
	ctx := context.Background()
	mk := func(by dbtest.Member, company *int64, last string) int64 {
		t.Helper()
		got, err := w.store.Create(ctx, by.Scope, contact.Input{Company: company, LastName: last, FirstName: "Иван"})
		if err != nil {
			t.Fatalf("create %s: %v", last, err)
		}
		return got.ID
	}
	w.onA = mk(c.Alisa, &w.compA, "Петров")
	w.onB = mk(c.Vera, &w.compB, "Сидоров")
	w.companyless = mk(c.Alisa, nil, "Безкомпаньонов")
	return w
}

func TestContactCRUD(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		alisa := w.cast.Alisa.Scope
		in := contact.Input{
			Company: &w.compA, LastName: " Ёлкина ", FirstName: "Анна", MiddleName: "Сергеевна", Position: "Главный бухгалтер",
			Phones: []contact.Phone{{Value: "8 (495) 123-45-67 доб. 12", Kind: "work", Comment: "через секретаря"}, {Value: ""}},
			Emails: []contact.Email{{Value: "Anna@Romashka.RU"}},
		}
		c, err := w.store.Create(ctx, alisa, in)
		if err != nil {
			t.Fatal(err)
		}
		if c.FullName != "Ёлкина Анна Сергеевна" || c.CompanyName != "ООО «Ромашка»" || c.Version != 1 {
			t.Fatalf("created %+v", c)
		}
		if len(c.Phones) != 1 || c.Phones[0].E164 != "+74951234567" || c.Phones[0].Ext != "12" || c.Phones[0].Value != "8 (495) 123-45-67 доб. 12" {
			t.Fatalf("phones %+v", c.Phones)
		}
		if len(c.Emails) != 1 || c.Emails[0].Kind != "work" {
			t.Fatalf("emails %+v", c.Emails)
		}
		if c.CreatedByName != "Алиса Аксёнова" {
			t.Fatalf("created_by_name %q", c.CreatedByName)
		}

		t.Run("an update bumps the version and a stale one conflicts", func(t *testing.T) {
			up := contact.InputOf(c)
			up.Position = "Финансовый директор"
			up.Version = c.Version
			got, err := w.store.Update(ctx, alisa, c.ID, up)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != 2 || got.Position != "Финансовый директор" || len(got.Phones) != 1 {
				t.Fatalf("updated %+v", got)
			}
			if _, err := w.store.Update(ctx, alisa, c.ID, up); !errors.Is(err, apperr.ErrConflict) {
				t.Fatalf("stale update: %v, want conflict", err)
			}
		})

		t.Run("bad input names the fields in Russian", func(t *testing.T) {
			missing := int64(999999)
			_, err := w.store.Create(ctx, alisa, contact.Input{Company: &missing, Phones: []contact.Phone{{Value: "позвонить"}}, Emails: []contact.Email{{Value: "нет"}}})
			inv, ok := apperr.AsInvalid(err)
			if !ok {
				t.Fatalf("err %v, want Invalid", err)
			}
			for _, f := range []string{"last_name", "phones", "emails"} {
				if inv[f] == "" {
					t.Errorf("no message for %s: %v", f, inv)
				}
			}
			_, err = w.store.Create(ctx, alisa, contact.Input{Company: &missing, LastName: "Иванов"})
			if inv, _ := apperr.AsInvalid(err); inv["company"] != "Компания не найдена" {
				t.Fatalf("missing company: %v", err)
			}
			_, err = w.store.Create(ctx, alisa, contact.Input{Company: &w.compB, LastName: "Иванов"})
			if inv, _ := apperr.AsInvalid(err); inv["company"] != "Компания не найдена" {
				t.Fatalf("hidden company: %v", err)
			}
		})

		t.Run("deleted contacts leave the list and come back when an admin restores them", func(t *testing.T) {
			if _, err := w.store.Delete(ctx, alisa, c.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.store.Get(ctx, alisa, c.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("get deleted: %v", err)
			}
			if _, _, err := w.store.List(ctx, alisa, contact.Filter{Deleted: true}); !errors.Is(err, apperr.ErrForbidden) {
				t.Fatalf("trash for a manager: %v", err)
			}
			if err := w.store.Restore(ctx, alisa, c.ID); !errors.Is(err, apperr.ErrForbidden) {
				t.Fatalf("restore by a manager: %v", err)
			}
			trash, n, err := w.store.List(ctx, w.cast.Admin.Scope, contact.Filter{Deleted: true})
			if err != nil || n != 1 || trash[0].ID != c.ID || trash[0].DeletedAt == nil {
				t.Fatalf("trash %v %d %v", trash, n, err)
			}
			if err := w.store.Restore(ctx, w.cast.Admin.Scope, c.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.store.Get(ctx, alisa, c.ID); err != nil {
				t.Fatalf("get restored: %v", err)
			}
			var actions []string
			rows, err := db.QueryContext(ctx, `SELECT action FROM audit_log WHERE object_type = 'contact' AND object_id = $1 ORDER BY id`, strconv.FormatInt(c.ID, 10))
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var a string
				if err := rows.Scan(&a); err != nil {
					t.Fatal(err)
				}
				actions = append(actions, a)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			want := []string{"contact.create", "contact.update", "contact.delete", "contact.restore"}
			if len(actions) != len(want) {
				t.Fatalf("audit %v, want %v", actions, want)
			}
			for i := range want {
				if actions[i] != want[i] {
					t.Fatalf("audit %v, want %v", actions, want)
				}
			}
		})
	})
}

func TestContactAccessMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		c := w.cast
		ctx := context.Background()
		// Expected per cast member (Admin, Alisa, Boris, Vera, Gleb, Darya):
		// 's' sees and may change, 'r' sees but may not change, '-' sees nothing.
		cases := []struct {
			name string
			id   int64
			want string
		}{
			{"a contact of Алиса's company in branch A", w.onA, "sss-rs"},
			{"a contact of Вера's company in branch B", w.onB, "s--srs"},
			{"Алиса's contact without a company", w.companyless, "ss--rs"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for i, m := range c.All() {
					want := tc.want[i]
					t.Run(m.Username, func(t *testing.T) {
						_, err := w.store.Get(ctx, m.Scope, tc.id)
						list, _, lerr := w.store.List(ctx, m.Scope, contact.Filter{Size: 100})
						if lerr != nil {
							t.Fatal(lerr)
						}
						listed := false
						for _, x := range list {
							listed = listed || x.ID == tc.id
						}
						if want == '-' {
							if !errors.Is(err, apperr.ErrNotFound) || listed {
								t.Fatalf("get %v, listed %v; want hidden", err, listed)
							}
						} else if err != nil || !listed {
							t.Fatalf("get %v, listed %v; want visible", err, listed)
						}
						cur, _ := w.store.Get(ctx, c.Admin.Scope, tc.id)
						up := contact.InputOf(cur)
						up.Note = "правка " + m.Username
						_, err = w.store.Update(ctx, m.Scope, tc.id, up)
						switch want {
						case 's':
							if err != nil {
								t.Fatalf("update: %v", err)
							}
						case 'r':
							if !errors.Is(err, apperr.ErrForbidden) {
								t.Fatalf("update: %v, want forbidden", err)
							}
							if _, err := w.store.Delete(ctx, m.Scope, tc.id); !errors.Is(err, apperr.ErrForbidden) {
								t.Fatalf("delete: %v, want forbidden", err)
							}
						case '-':
							if !errors.Is(err, apperr.ErrNotFound) {
								t.Fatalf("update: %v, want not found", err)
							}
							if _, err := w.store.Delete(ctx, m.Scope, tc.id); !errors.Is(err, apperr.ErrNotFound) {
								t.Fatalf("delete: %v, want not found", err)
							}
						}
					})
				}
			})
		}
	})
}

func TestContactSearch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		gleb := w.cast.Gleb.Scope
		c, err := w.store.Create(ctx, gleb, contact.Input{Company: &w.compB, LastName: "Шевчук", FirstName: "Юрий", Position: "Коммерческий директор",
			Phones: []contact.Phone{{Value: "+7 (916) 123-45-67", Kind: "mobile"}}, Emails: []contact.Email{{Value: "Yuri@Kedr.ru"}}})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			query string
			found bool
			match string // why it was found
		}{
			{"89161234567", true, contact.MatchPhone},
			{"8 916 123-45-67", true, contact.MatchPhone},
			{"+7 (916) 123-45-67", true, contact.MatchPhone},
			{"79161234567", true, contact.MatchPhone},
			{"9161234567", true, contact.MatchPhone},
			{"8 916 123-45-68", false, ""},
			{"yuri@kedr.ru", true, contact.MatchEmail},
			{"YURI@KEDR.RU", true, contact.MatchEmail},
			{"шевч", true, contact.MatchName},
			{"юрий шевчук", true, contact.MatchName},
			{"коммерч", true, contact.MatchPosition},
			{"ДИРЕКТОР", true, contact.MatchPosition},
			{"шевчук директор", true, contact.MatchPosition},
			{"кедр", true, contact.MatchCompany},
			{"сибирский", true, contact.MatchCompany},
			{"ромашка", false, ""},
			{"шевчук ромашка", false, ""},
		}
		for _, tc := range cases {
			t.Run("«"+tc.query+"» finds the contact: "+map[bool]string{true: "yes", false: "no"}[tc.found], func(t *testing.T) {
				list, n, err := w.store.List(ctx, gleb, contact.Filter{Search: tc.query})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, x := range list {
					if x.ID != c.ID {
						continue
					}
					found = true
					if x.Match == nil || x.Match.Field != tc.match || x.Match.Label == "" {
						t.Errorf("match %+v, want field %q with a label", x.Match, tc.match)
					}
				}
				if found != tc.found || n != len(list) {
					t.Fatalf("found %v (count %d, %d rows), want %v", found, n, len(list), tc.found)
				}
			})
		}
		t.Run("search respects visibility", func(t *testing.T) {
			list, _, err := w.store.List(ctx, w.cast.Alisa.Scope, contact.Filter{Search: "89161234567"})
			if err != nil || len(list) != 0 {
				t.Fatalf("Алиса found %v (%v)", list, err)
			}
		})
		t.Run("the company filter and ordering work together", func(t *testing.T) {
			list, n, err := w.store.List(ctx, gleb, contact.Filter{CompanyID: w.compB, Ordering: "-last_name"})
			if err != nil || n != 2 || list[0].LastName != "Шевчук" {
				t.Fatalf("list %v %d %v", list, n, err)
			}
			if _, _, err := w.store.List(ctx, gleb, contact.Filter{Ordering: "salary"}); err == nil {
				t.Fatal("unknown ordering accepted")
			}
		})
	})
}

// TestTheTallyCountsLiveContacts checks that the trigger-kept total that
// counts an unfiltered list follows deletion and restore.
func TestTheTallyCountsLiveContacts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		count := func() int {
			t.Helper()
			_, n, err := w.store.List(ctx, w.cast.Admin.Scope, contact.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := count(); got != 3 {
			t.Fatalf("count %d, want 3", got)
		}
		if _, err := w.store.Delete(ctx, w.cast.Alisa.Scope, w.onA); err != nil {
			t.Fatal(err)
		}
		if got := count(); got != 2 {
			t.Fatalf("after delete: count %d, want 2", got)
		}
		if err := w.store.Restore(ctx, w.cast.Admin.Scope, w.onA); err != nil {
			t.Fatal(err)
		}
		if got := count(); got != 3 {
			t.Fatalf("after restore: count %d, want 3", got)
		}
	})
}

// TestSearchByOneWordFollowsTheContact checks the covering word index: a
// rename, deletion and restore change what a one-word search finds at
// once, and contacts of a company named so are found too.
func TestSearchByOneWordFollowsTheContact(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		found := func(text string) []string {
			t.Helper()
			list, n, err := w.store.List(ctx, w.cast.Admin.Scope, contact.Filter{Search: text})
			if err != nil {
				t.Fatal(err)
			}
			if n != len(list) {
				t.Fatalf("count %d for %d rows", n, len(list))
			}
			var names []string
			for _, c := range list {
				names = append(names, c.LastName)
			}
			return names
		}
		if got := found("петр"); len(got) != 1 || got[0] != "Петров" {
			t.Fatalf("by surname prefix: %v", got)
		}
		if got := found("ромаш"); len(got) != 1 || got[0] != "Петров" {
			t.Fatalf("by company name: %v", got)
		}
		if got := found("иван"); len(got) != 3 || got[0] != "Безкомпаньонов" {
			t.Fatalf("by first name, in name order: %v", got)
		}
		c, err := w.store.Get(ctx, w.cast.Admin.Scope, w.onB)
		if err != nil {
			t.Fatal(err)
		}
		in := contact.InputOf(c)
		in.LastName = "Аардварков"
		if _, err := w.store.Update(ctx, w.cast.Vera.Scope, w.onB, in); err != nil {
			t.Fatal(err)
		}
		if got := found("иван"); len(got) != 3 || got[0] != "Аардварков" {
			t.Fatalf("after a rename the order follows: %v", got)
		}
		if len(found("сидор")) != 0 {
			t.Fatal("the old surname is still found")
		}
		if _, err := w.store.Delete(ctx, w.cast.Alisa.Scope, w.onA); err != nil {
			t.Fatal(err)
		}
		if len(found("петр")) != 0 || len(found("иван")) != 2 {
			t.Fatal("a deleted contact is still found")
		}
		if err := w.store.Restore(ctx, w.cast.Admin.Scope, w.onA); err != nil {
			t.Fatal(err)
		}
		if len(found("петр")) != 1 {
			t.Fatal("a restored contact is not found")
		}
		if _, n, err := w.store.List(ctx, w.cast.Admin.Scope, contact.Filter{Search: "иван", Page: 5}); err != nil || n != 3 {
			t.Fatalf("past the last page: count %d, %v", n, err)
		}
	})
}
