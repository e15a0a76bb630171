package company_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// fixture is a database with the cast, two statuses, two spheres and six
// companies spread over the branches and responsibles.
type fixture struct {
	db       *database.DB
	store    *company.Store
	cast     dbtest.Cast
	statuses [2]int64
	spheres  [2]int64
	// A1: Алиса, branch A (created by Алиса). A2: Борис, branch A.
	// B1: Вера, branch B. B2: Глеб, branch B. X: Вера, but branch A.
	// N: Дарья, no branch.
	A1, A2, B1, B2, X, N int64
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: db, store: company.NewStore(db), cast: dbtest.NewCast(t, db)}
	for i, name := range []string{"Новый", "В работе"} {
		if err := db.QueryRowContext(ctx, `INSERT INTO company_statuses (name, position) VALUES ($1, $2) RETURNING id`, name, i).Scan(&f.statuses[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"Строительство", "Торговля"} {
		if err := db.QueryRowContext(ctx, `INSERT INTO spheres (name) VALUES ($1) RETURNING id`, name).Scan(&f.spheres[i]); err != nil {
			t.Fatal(err)
		}
	}
	c := f.cast
	ids := f.insert(t,
		company.NewCompany{Name: "ООО «Альфа»", ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, BranchID: c.BranchA},
		company.NewCompany{Name: "Бета", ResponsibleID: c.Boris.ID, CreatedBy: c.Boris.ID, BranchID: c.BranchA},
		company.NewCompany{Name: "Вега", ResponsibleID: c.Vera.ID, CreatedBy: c.Vera.ID, BranchID: c.BranchB},
		company.NewCompany{Name: "Гамма", ResponsibleID: c.Gleb.ID, CreatedBy: c.Gleb.ID, BranchID: c.BranchB},
		company.NewCompany{Name: "Икс", ResponsibleID: c.Vera.ID, CreatedBy: c.Admin.ID, BranchID: c.BranchA},
		company.NewCompany{Name: "Ноль", ResponsibleID: c.Darya.ID, CreatedBy: c.Darya.ID},
	)
	f.A1, f.A2, f.B1, f.B2, f.X, f.N = ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]
	return f
}

func (f *fixture) insert(t testing.TB, list ...company.NewCompany) []int64 {
	t.Helper()
	for i := range list {
		if inv := list[i].Normalize(); len(inv) > 0 {
			t.Fatalf("fixture company %d: %v", i, inv)
		}
	}
	var ids []int64
	err := f.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		ids, err = f.store.InsertBatch(context.Background(), tx, list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// input builds an Input from JSON, the way the API receives it.
func input(t *testing.T, js string) company.Input {
	t.Helper()
	in, err := company.ParseJSON([]byte(js))
	if err != nil {
		t.Fatalf("parse %s: %v", js, err)
	}
	return in
}

func TestCreateStoresNormalisedData(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		in := input(t, fmt.Sprintf(`{"name": " ЗАО «Ёлка-Плюс» ", "legal_name": "Общество с ограниченной ответственностью Ёлочка",
			"inn": "7707 083 893", "kpp": "773601001", "status": %d, "spheres": [%d, %d, %d],
			"phones": ["8 (495) 123-45-67 доб. 12", {"value": "+7 916 000-00-01", "kind": "mobile", "comment": "директор"}, ""],
			"emails": ["Info@Elka.RU", {"value": "boss@elka.ru", "kind": "personal"}]}`,
			f.statuses[0], f.spheres[0], f.spheres[1], f.spheres[0]))
		c, err := f.store.Create(ctx, f.cast.Alisa.Scope, in)
		if err != nil {
			t.Fatal(err)
		}
		if c.INN != "7707083893" || c.Name != "ЗАО «Ёлка-Плюс»" || c.Version != 1 {
			t.Errorf("stored %+v", c)
		}
		if *c.ResponsibleID != f.cast.Alisa.ID || *c.BranchID != f.cast.BranchA || *c.CreatedByID != f.cast.Alisa.ID {
			t.Errorf("responsible/branch/author defaults: %v %v %v", *c.ResponsibleID, *c.BranchID, *c.CreatedByID)
		}
		if c.ResponsibleName != "Алиса Аксёнова" || c.StatusName != "Новый" || len(c.Spheres) != 2 {
			t.Errorf("names: %q %q %v", c.ResponsibleName, c.StatusName, c.SphereNames)
		}
		if len(c.Phones) != 2 || c.Phones[0].E164 != "+74951234567" || c.Phones[0].Ext != "12" ||
			c.Phones[0].Value != "8 (495) 123-45-67 доб. 12" || c.Phones[1].Kind != "mobile" || c.Phones[1].Comment != "директор" {
			t.Errorf("phones: %+v", c.Phones)
		}
		if len(c.Emails) != 2 || c.Emails[0].Norm != "info@elka.ru" || c.Emails[1].Kind != "personal" {
			t.Errorf("emails: %+v", c.Emails)
		}
		var nameNorm, legalNorm string
		if err := db.QueryRowContext(ctx, `SELECT name_norm, legal_name_norm FROM companies WHERE id = $1`, c.ID).Scan(&nameNorm, &legalNorm); err != nil {
			t.Fatal(err)
		}
		if nameNorm != "елка плюс" || legalNorm != "елочка" {
			t.Errorf("norms %q %q", nameNorm, legalNorm)
		}
		if got := terms(t, db, c.ID); !slices.Equal(got, []string{"елка", "елочка", "плюс"}) {
			t.Errorf("terms %v", got)
		}
		var actions int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'company.create' AND object_id = $1`, fmt.Sprint(c.ID)).Scan(&actions); err != nil || actions != 1 {
			t.Errorf("audit entries %d, %v", actions, err)
		}
	})
}

func terms(t *testing.T, db *database.DB, id int64) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT term FROM company_terms WHERE company_id = $1 ORDER BY term`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTheSystemActorCreatesACompanyForSomeone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		in := input(t, fmt.Sprintf(`{"name": "ООО «Из импорта»", "responsible": %d}`, f.cast.Vera.ID))
		c, err := f.store.Create(context.Background(), access.System("job:test"), in)
		if err != nil {
			t.Fatal(err)
		}
		if *c.ResponsibleID != f.cast.Vera.ID || *c.BranchID != f.cast.BranchB || c.CreatedByID != nil {
			t.Errorf("responsible %v, branch %v, author %v", *c.ResponsibleID, *c.BranchID, c.CreatedByID)
		}
		var actor string
		if err := db.QueryRowContext(context.Background(), `SELECT actor_name FROM audit_log WHERE action = 'company.create'`).Scan(&actor); err != nil || actor != "job:test" {
			t.Errorf("audit actor %q, %v", actor, err)
		}
		if _, err := f.store.Create(context.Background(), access.Scope{}, in); !errors.Is(err, apperr.ErrForbidden) {
			t.Errorf("no one created a company: %v", err)
		}
	})
}

func TestCreateRejectsBadInputWithRussianMessages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		tests := []struct {
			name, body, field, msg string
		}{
			{"a company needs a name", `{"name": "  "}`, "name", "Укажите название компании"},
			{"an ИНН with a wrong check digit is refused", `{"name": "А", "inn": "7707083894"}`, "inn", "Неверная контрольная сумма ИНН"},
			{"an ИНН of 11 digits is refused", `{"name": "А", "inn": "77070838931"}`, "inn", "ИНН должен состоять из 10 или 12 цифр"},
			{"a КПП needs a 10-digit ИНН", `{"name": "А", "inn": "500100732259", "kpp": "773601001"}`, "kpp", "КПП указывается только вместе с ИНН организации из 10 цифр"},
			{"an unusable phone names its row", `{"name": "А", "phones": ["+7 495 123-45-67", "12-34"]}`, "phones", "Телефон 2: неверный номер"},
			{"an unknown phone kind is refused", `{"name": "А", "phones": [{"value": "84951234567", "kind": "pager"}]}`, "phones", "Телефон 1: неизвестный тип «pager»"},
			{"a bad e-mail is refused", `{"name": "А", "emails": ["not-an-email"]}`, "emails", "E-mail 1: неверный адрес"},
			{"an unknown status is refused", `{"name": "А", "status": 999999}`, "status", "Такого статуса нет"},
			{"an unknown sphere is refused", `{"name": "А", "spheres": [999999]}`, "spheres", "Такой сферы деятельности нет"},
			{"a status that is not an id is refused", `{"name": "А", "status": "abc"}`, "status", "Неверный идентификатор статуса"},
			{"a bad website is refused", `{"name": "А", "website": "не сайт"}`, "website", "Неверный адрес сайта"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var in company.Input
				if err := json.Unmarshal([]byte(tt.body), &in); err != nil {
					t.Fatal(err)
				}
				_, err := f.store.Create(context.Background(), f.cast.Admin.Scope, in)
				inv, ok := apperr.AsInvalid(err)
				if !ok {
					t.Fatalf("err = %v, want a validation error", err)
				}
				if inv[tt.field] != tt.msg {
					t.Errorf("%s: %q, want %q (all: %v)", tt.field, inv[tt.field], tt.msg, inv)
				}
			})
		}
		res, err := f.store.Search(context.Background(), f.cast.Admin.Scope, company.Query{})
		if err != nil || res.Count != 6 {
			t.Errorf("refused creates left rows: %d, %v", res.Count, err)
		}
	})
}

func TestUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		admin := f.cast.Admin.Scope

		t.Run("PATCH changes only the given fields and keeps terms in step", func(t *testing.T) {
			c, err := f.store.Update(ctx, admin, f.A1, input(t, `{"name": "Омега Трейд", "phones": ["84951112233"]}`), false)
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != "Омега Трейд" || *c.ResponsibleID != f.cast.Alisa.ID || c.Version != 2 || c.Phones[0].E164 != "+74951112233" {
				t.Errorf("after patch: %+v", c)
			}
			if got := terms(t, db, f.A1); !slices.Equal(got, []string{"омега", "трейд"}) {
				t.Errorf("terms %v", got)
			}
			old, _ := f.store.Search(ctx, admin, company.Query{Text: "альфа"})
			renamed, _ := f.store.Search(ctx, admin, company.Query{Text: "трей"})
			if old.Count != 0 || renamed.Count != 1 {
				t.Errorf("search after rename: old %d, new %d", old.Count, renamed.Count)
			}
		})
		t.Run("a stale version is a conflict and changes nothing", func(t *testing.T) {
			_, err := f.store.Update(ctx, admin, f.A1, input(t, `{"name": "Stale", "version": 1}`), false)
			if !errors.Is(err, apperr.ErrConflict) {
				t.Fatalf("err = %v, want conflict", err)
			}
			c, _ := f.store.Get(ctx, admin, f.A1)
			if c.Name != "Омега Трейд" {
				t.Errorf("name %q", c.Name)
			}
		})
		t.Run("the current version is accepted", func(t *testing.T) {
			if _, err := f.store.Update(ctx, admin, f.A1, input(t, `{"website": "omega.ru", "version": 2}`), false); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("PUT clears what it does not name", func(t *testing.T) {
			c, err := f.store.Update(ctx, admin, f.A1, input(t, `{"name": "Омега"}`), true)
			if err != nil {
				t.Fatal(err)
			}
			if c.Website != "" || len(c.Phones) != 0 || *c.ResponsibleID != f.cast.Alisa.ID {
				t.Errorf("after put: %+v", c)
			}
		})
		t.Run("a new responsible brings their branch", func(t *testing.T) {
			c, err := f.store.Update(ctx, admin, f.A1, input(t, fmt.Sprintf(`{"responsible": %d}`, f.cast.Vera.ID)), false)
			if err != nil {
				t.Fatal(err)
			}
			if *c.BranchID != f.cast.BranchB {
				t.Errorf("branch %v", *c.BranchID)
			}
		})
	})
}

func TestDeleteAndRestore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		if err := f.store.Delete(ctx, f.cast.Boris.Scope, f.A2); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Get(ctx, f.cast.Admin.Scope, f.A2); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("deleted company still found: %v", err)
		}
		if _, err := f.store.ListDeleted(ctx, f.cast.Gleb.Scope, 1, 50); !errors.Is(err, apperr.ErrForbidden) {
			t.Errorf("trash for a manager: %v", err)
		}
		trash, err := f.store.ListDeleted(ctx, f.cast.Admin.Scope, 1, 50)
		if err != nil || trash.Count != 1 || trash.Companies[0].DeletedByName != "Борис Бородин" || trash.Companies[0].DeletedAt == nil {
			t.Fatalf("trash: %+v, %v", trash, err)
		}
		if _, err := f.store.Restore(ctx, f.cast.Darya.Scope, f.A2); !errors.Is(err, apperr.ErrForbidden) {
			t.Errorf("restore by a group manager: %v", err)
		}
		c, err := f.store.Restore(ctx, f.cast.Admin.Scope, f.A2)
		if err != nil || c.Name != "Бета" {
			t.Fatalf("restore: %+v, %v", c, err)
		}
		if _, err := f.store.Restore(ctx, f.cast.Admin.Scope, f.A2); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("restoring a live company: %v", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action IN ('company.delete', 'company.restore')`).Scan(&n); err != nil || n != 2 {
			t.Errorf("audit entries %d, %v", n, err)
		}
	})
}

// want lists, per cast member, which fixture companies they see, edit and
// delete; everything else visible answers ErrForbidden, invisible ErrNotFound.
func TestAuthorizationMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		all := []int64{f.A1, f.A2, f.B1, f.B2, f.X, f.N}
		c := f.cast
		matrix := []struct {
			who          dbtest.Member
			see, edit    []int64
			deleteAllows []int64
		}{
			{c.Admin, all, all, all},
			{c.Alisa, []int64{f.A1}, []int64{f.A1}, nil},
			{c.Boris, []int64{f.A1, f.A2, f.X}, []int64{f.A1, f.A2, f.X}, []int64{f.A1, f.A2, f.X}},
			{c.Vera, []int64{f.B1, f.X}, []int64{f.B1, f.X}, nil},
			{c.Gleb, all, []int64{f.B2}, nil},
			{c.Darya, all, all, all},
		}
		for _, m := range matrix {
			t.Run(m.who.Username+" sees, edits and deletes exactly what the role allows", func(t *testing.T) {
				res, err := f.store.Search(ctx, m.who.Scope, company.Query{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Count != len(m.see) {
					t.Errorf("list count %d, want %d", res.Count, len(m.see))
				}
				for _, id := range all {
					_, err := f.store.Get(ctx, m.who.Scope, id)
					if sees := slices.Contains(m.see, id); sees != (err == nil) {
						t.Errorf("get %d: %v, sees=%v", id, err, sees)
					}
					_, err = f.store.Update(ctx, m.who.Scope, id, input(t, `{"address": "Москва"}`), false)
					checkKind(t, "update", id, err, m.see, m.edit)
				}
			})
		}
		// Deletion last: it changes what the others see.
		for _, m := range matrix {
			t.Run(m.who.Username+" deletes only what the role allows", func(t *testing.T) {
				for _, id := range all {
					if slices.Contains(m.deleteAllows, id) {
						continue // checked below on a copy
					}
					checkKind(t, "delete", id, f.store.Delete(ctx, m.who.Scope, id), m.see, nil)
				}
			})
		}
		for _, who := range []dbtest.Member{c.Admin, c.Boris, c.Darya} {
			t.Run(who.Username+" may delete a company they see", func(t *testing.T) {
				id := f.insert(t, company.NewCompany{Name: "Удаляемая", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA})[0]
				if err := f.store.Delete(ctx, who.Scope, id); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

// checkKind asserts err is nil for allowed ids, ErrForbidden for visible
// ones and ErrNotFound for the rest.
func checkKind(t *testing.T, action string, id int64, err error, see, allowed []int64) {
	t.Helper()
	switch {
	case slices.Contains(allowed, id):
		if err != nil {
			t.Errorf("%s %d: %v, want success", action, id, err)
		}
	case slices.Contains(see, id):
		if !errors.Is(err, apperr.ErrForbidden) {
			t.Errorf("%s %d: %v, want forbidden", action, id, err)
		}
	default:
		if !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("%s %d: %v, want not found", action, id, err)
		}
	}
}

func TestReassignmentFollowsTheRoleRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.cast
		tests := []struct {
			name    string
			who     dbtest.Member
			id      int64
			body    string
			allowed bool
		}{
			{"a manager may not hand their company to a colleague", c.Alisa, f.A1, fmt.Sprintf(`{"responsible": %d}`, c.Boris.ID), false},
			{"a manager may not create a company for a colleague", c.Alisa, 0, fmt.Sprintf(`{"name": "Н", "responsible": %d}`, c.Boris.ID), false},
			{"a branch director may assign within the branch", c.Boris, f.A1, fmt.Sprintf(`{"responsible": %d}`, c.Boris.ID), true},
			{"a branch director may not assign to another branch's user", c.Boris, f.A2, fmt.Sprintf(`{"responsible": %d}`, c.Vera.ID), false},
			{"a branch director may not move a company to another branch", c.Boris, f.A2, fmt.Sprintf(`{"branch": %d}`, c.BranchB), false},
			{"a group manager may assign anyone", c.Darya, f.B1, fmt.Sprintf(`{"responsible": %d}`, c.Alisa.ID), true},
			{"an admin may move a company to another branch", c.Admin, f.B2, fmt.Sprintf(`{"branch": %d}`, c.BranchA), true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var err error
				if tt.id == 0 {
					_, err = f.store.Create(ctx, tt.who.Scope, input(t, tt.body))
				} else {
					_, err = f.store.Update(ctx, tt.who.Scope, tt.id, input(t, tt.body), false)
				}
				if tt.allowed && err != nil {
					t.Errorf("err = %v, want success", err)
				}
				if !tt.allowed && !errors.Is(err, apperr.ErrForbidden) {
					t.Errorf("err = %v, want forbidden", err)
				}
			})
		}
	})
}

// TestTalliesStayExact checks that the trigger-kept company_tallies equal a
// fresh count after creates, reassignments, status changes, deletion and
// restore, and that list counts come out the same through them.
func TestTalliesStayExact(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		patch := func(scope dbtest.Member, id int64, body string) {
			t.Helper()
			in, err := company.ParseJSON([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.Update(ctx, scope.Scope, id, in, false); err != nil {
				t.Fatalf("update %d with %s: %v", id, body, err)
			}
		}
		patch(f.cast.Admin, f.A1, fmt.Sprintf(`{"responsible": %d, "status": %d}`, f.cast.Gleb.ID, f.statuses[1]))
		patch(f.cast.Admin, f.B1, fmt.Sprintf(`{"branch": %d}`, f.cast.BranchA))
		if err := f.store.Delete(ctx, f.cast.Admin.Scope, f.A2); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Delete(ctx, f.cast.Admin.Scope, f.N); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Restore(ctx, f.cast.Admin.Scope, f.N); err != nil {
			t.Fatal(err)
		}
		var drift int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (
			SELECT COALESCE(branch_id, 0) AS b, COALESCE(responsible_id, 0) AS r, COALESCE(status_id, 0) AS s, COUNT(*) AS n
			FROM companies WHERE deleted_at IS NULL GROUP BY 1, 2, 3) actual
			FULL OUTER JOIN (SELECT branch_id AS b, responsible_id AS r, status_id AS s, n FROM company_tallies WHERE n <> 0) tally
			ON actual.b = tally.b AND actual.r = tally.r AND actual.s = tally.s
			WHERE actual.n IS NULL OR tally.n IS NULL OR actual.n <> tally.n`).Scan(&drift)
		if err != nil {
			t.Fatal(err)
		}
		if drift != 0 {
			t.Fatalf("%d tally groups differ from a fresh count", drift)
		}
		patch(f.cast.Admin, f.B2, `{"name": "ООО «Переименованная»"}`)
		var stale int
		err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM company_terms t JOIN companies c ON c.id = t.company_id
			WHERE t.name_norm <> c.name_norm OR t.live <> (c.deleted_at IS NULL)
			   OR t.branch_id <> COALESCE(c.branch_id, 0) OR t.responsible_id <> COALESCE(c.responsible_id, 0)`).Scan(&stale)
		if err != nil {
			t.Fatal(err)
		}
		if stale != 0 {
			t.Fatalf("%d search index rows lag behind their company", stale)
		}
		for _, m := range f.cast.All() {
			res, err := f.store.Search(ctx, m.Scope, company.Query{PageSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			full, err := f.store.Search(ctx, m.Scope, company.Query{PageSize: 500})
			if err != nil {
				t.Fatal(err)
			}
			if res.Count != len(full.Companies) {
				t.Errorf("%s: tally count %d, visible companies %d", m.Username, res.Count, len(full.Companies))
			}
		}
	})
}

// TestVisibleRef: contacts and notes read their company's access facts
// through one lookup that honours the scope and the trash.
func TestVisibleRef(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.cast
		t.Run("a visible company gives its responsible, creator and branches", func(t *testing.T) {
			ref, err := company.VisibleRef(ctx, db, c.Boris.Scope, f.X)
			if err != nil {
				t.Fatal(err)
			}
			if ref.ResponsibleID != c.Vera.ID || ref.CreatedBy != c.Admin.ID || ref.BranchID != c.BranchA || ref.ResponsibleBranchID != c.BranchB {
				t.Errorf("ref = %+v", ref)
			}
		})
		t.Run("a company outside the scope is not found", func(t *testing.T) {
			if _, err := company.VisibleRef(ctx, db, c.Alisa.Scope, f.B1); !errors.Is(err, apperr.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("a deleted company is not found", func(t *testing.T) {
			if err := f.store.Delete(ctx, c.Admin.Scope, f.A2); err != nil {
				t.Fatal(err)
			}
			if _, err := company.VisibleRef(ctx, db, c.Admin.Scope, f.A2); !errors.Is(err, apperr.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

// TestUpdateStillChecksChangedReferences: an update checks again only
// the references it changes (issue 6), so a changed one that does not
// exist is still refused, and nothing is written.
func TestUpdateStillChecksChangedReferences(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		var create company.Input
		if err := json.Unmarshal([]byte(`{"name": "Ромашка"}`), &create); err != nil {
			t.Fatal(err)
		}
		c, err := f.store.Create(ctx, f.cast.Admin.Scope, create)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, body, field, msg string
		}{
			{"an unknown status is refused", `{"status": 999999}`, "status", "Такого статуса нет"},
			{"an unknown branch is refused", `{"branch": 999999}`, "branch", "Такого филиала нет"},
			{"an unknown sphere is refused", `{"spheres": [999999]}`, "spheres", "Такой сферы деятельности нет"},
			{"an unknown responsible is refused", `{"responsible": 999999}`, "responsible", "Пользователь не найден или неактивен"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var in company.Input
				if err := json.Unmarshal([]byte(tt.body), &in); err != nil {
					t.Fatal(err)
				}
				_, err := f.store.Update(ctx, f.cast.Admin.Scope, c.ID, in, false)
				inv, ok := apperr.AsInvalid(err)
				if !ok {
					t.Fatalf("err = %v, want a validation error", err)
				}
				if inv[tt.field] != tt.msg {
					t.Errorf("%s: %q, want %q (all: %v)", tt.field, inv[tt.field], tt.msg, inv)
				}
			})
		}
		got, err := f.store.Get(ctx, f.cast.Admin.Scope, c.ID)
		if err != nil || got.Version != c.Version {
			t.Errorf("refused updates wrote: version %d → %d, %v", c.Version, got.Version, err)
		}
	})
}
