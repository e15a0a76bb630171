package company_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// dumpTables are the tables a merge may touch, each with the column that
// names the company, dumped for the two companies of a merge.
var dumpTables = []struct{ table, where, order string }{
	{"companies", "id", "id"},
	{"company_phones", "company_id", "id"},
	{"company_emails", "company_id", "id"},
	{"company_spheres", "company_id", "company_id, sphere_id"},
	{"company_terms", "company_id", "company_id, term"},
	{"contacts", "company_id", "id"},
	{"company_notes", "company_id", "id"},
	{"tasks", "company_id", "id"},
}

// dump is every row of the companies ids and of their children in a
// canonical text form: one line per row, column=value. The companies'
// version and updated_at are left out: undo moves them forward, so that a
// form opened on the merged company is stale.
func dump(t *testing.T, db *database.DB, ids ...int64) string {
	t.Helper()
	var b strings.Builder
	for _, d := range dumpTables {
		var w database.Where
		w.Add(d.where + " IN " + w.In(database.IDs(ids)...))
		dumpRows(t, db, &b, d.table, `SELECT * FROM `+d.table+w.SQL()+` ORDER BY `+d.order, w.Args())
	}
	var tallies string
	if err := db.QueryRowContext(context.Background(), `SELECT COALESCE(SUM(n), 0) || '' FROM company_tallies`).Scan(&tallies); err != nil {
		t.Fatal(err)
	}
	b.WriteString("tallies " + tallies + "\n")
	return b.String()
}

// dumpRows writes the rows of query as lines of column=value.
func dumpRows(t *testing.T, db *database.DB, b *strings.Builder, table, query string, args []any) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		b.WriteString(table)
		for i, c := range cols {
			if table == "companies" && (c == "version" || c == "updated_at") {
				continue
			}
			v := vals[i]
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(b, " %s=%v", c, v)
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// mergeFixture adds to f's companies (see newFixture) a survivor and a
// duplicate with children: contacts (one in the trash), notes and tasks on both.
type mergeFixture struct {
	*fixture
	surv, dup int64
}

func newMergeFixture(t *testing.T, db *database.DB) *mergeFixture {
	t.Helper()
	f := newFixture(t, db)
	c := f.cast
	ids := f.insert(t,
		company.NewCompany{Name: "ООО «Ромашка»", LegalName: "ООО Ромашка", INN: "7707083893", KPP: "773601001",
			Address: "Москва, ул. Ленина, 1", Website: "romashka.ru", StatusID: f.statuses[0], BranchID: c.BranchA,
			ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, Spheres: []int64{f.spheres[0]},
			Phones: []company.Phone{{Value: "+7 495 123-45-67", Kind: "work", Comment: "офис"}},
			Emails: []company.Email{{Value: "info@romashka.ru", Kind: "work"}}},
		company.NewCompany{Name: "Ромашка Плюс", LegalName: "АО «Ромашка»", OGRN: "1027700132195",
			Address: "г. Москва, Ленина 1", StatusID: f.statuses[1], BranchID: c.BranchA,
			ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, Spheres: []int64{f.spheres[0], f.spheres[1]},
			Phones: []company.Phone{{Value: "8 (495) 123-45-67", Kind: "work"}, {Value: "+7 916 000-00-01", Kind: "mobile", Comment: "директор"}},
			Emails: []company.Email{{Value: "sale@romashka.ru", Kind: "work"}}},
	)
	m := &mergeFixture{fixture: f, surv: ids[0], dup: ids[1]}
	now := database.Now()
	for _, id := range ids {
		for i := range 2 {
			m.exec(t, `INSERT INTO contacts (company_id, last_name, first_name, name_norm, created_by, created_at, updated_at) VALUES ($1, $2, 'Иван', $3, $4, $5, $5)`,
				id, fmt.Sprintf("Петров%d", i), fmt.Sprintf("петров%d иван", i), c.Alisa.ID, now)
			m.exec(t, `INSERT INTO company_notes (company_id, author_id, text, created_at) VALUES ($1, $2, $3, $4)`,
				id, c.Alisa.ID, fmt.Sprintf("заметка %d", i), now)
			m.exec(t, `INSERT INTO tasks (title, assigned_to, created_by, company_id, due_at, created_at, updated_at) VALUES ($1, $2, $2, $3, $4, $4, $4)`,
				fmt.Sprintf("позвонить %d", i), c.Alisa.ID, id, now)
		}
	}
	m.exec(t, `INSERT INTO contacts (company_id, last_name, created_at, updated_at, deleted_at) VALUES ($1, 'Удалённый', $2, $2, $2)`, m.dup, now)
	return m
}

func (m *mergeFixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := m.db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatal(err)
	}
}

func (m *mergeFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := m.db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMergeAndUndoRestoreEveryRow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		m := newMergeFixture(t, db)
		ctx := context.Background()
		alisa := m.cast.Alisa.Scope
		before := dump(t, db, m.surv, m.dup)

		got, err := m.store.Merge(ctx, alisa, m.surv, company.MergeInput{Duplicate: m.dup,
			Fields: map[string]string{"name": "duplicate", "ogrn": "duplicate", "status": "duplicate", "inn": "survivor"}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Ромашка Плюс" || got.OGRN != "1027700132195" || got.INN != "7707083893" || *got.StatusID != m.statuses[1] ||
			got.LegalName != "ООО Ромашка" || got.Version != 2 {
			t.Errorf("survivor fields: %+v", got)
		}
		// United: the same number in another spelling is one phone.
		if len(got.Phones) != 2 || got.Phones[0].Comment != "офис" || got.Phones[1].Comment != "директор" {
			t.Errorf("phones united: %+v", got.Phones)
		}
		if len(got.Emails) != 2 || len(got.Spheres) != 2 {
			t.Errorf("emails %+v, spheres %v", got.Emails, got.Spheres)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM contacts WHERE company_id = $1`, m.surv); n != 5 {
			t.Errorf("contacts on the survivor: %d, want 5 (the trashed one too)", n)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM company_notes WHERE company_id = $1`, m.surv); n != 4 {
			t.Errorf("notes on the survivor: %d", n)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM tasks WHERE company_id = $1`, m.surv); n != 4 {
			t.Errorf("tasks on the survivor: %d", n)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM companies WHERE id = $1 AND merged_into = $2 AND deleted_at IS NOT NULL AND merged_at IS NOT NULL`, m.dup, m.surv); n != 1 {
			t.Error("the absorbed company is not marked merged")
		}
		if _, err := m.store.Get(ctx, alisa, m.dup); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Get of the absorbed: %v", err)
		}
		res, err := m.store.Search(ctx, alisa, company.Query{Text: "ромашка"})
		if err != nil || res.Count != 1 || res.Companies[0].ID != m.surv {
			t.Errorf("search after the merge: %+v %v", res, err)
		}
		trash, err := m.store.ListDeleted(ctx, m.cast.Admin.Scope, 1, 50)
		if err != nil || trash.Count != 0 {
			t.Errorf("the trash lists merged companies: %d %v", trash.Count, err)
		}
		if _, err := m.store.Restore(ctx, m.cast.Admin.Scope, m.dup); !isInvalid(err, apperr.NonField) {
			t.Errorf("Restore of a merged company: %v", err)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'company.merge' AND object_id = $1 AND detail LIKE '%"fields"%'`, fmt.Sprint(m.surv)); n != 1 {
			t.Errorf("company.merge audit entries: %d", n)
		}
		list, err := m.store.Merges(ctx, alisa, m.surv)
		if err != nil || len(list) != 1 || list[0].AbsorbedName != "Ромашка Плюс" || !list[0].CanUndo {
			t.Errorf("Merges: %+v %v", list, err)
		}

		// A note added after the merge stays with the survivor.
		m.exec(t, `INSERT INTO company_notes (company_id, text, created_at) VALUES ($1, 'после слияния', $2)`, m.surv, database.Now())

		back, err := m.store.Unmerge(ctx, alisa, m.surv, m.dup)
		if err != nil {
			t.Fatal(err)
		}
		if back.Name != "ООО «Ромашка»" || back.Version != 3 {
			t.Errorf("survivor after undo: %q v%d", back.Name, back.Version)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM company_notes WHERE company_id = $1 AND text = 'после слияния'`, m.surv); n != 1 {
			t.Error("the note added after the merge left the survivor")
		}
		m.exec(t, `DELETE FROM company_notes WHERE text = 'после слияния'`)
		if after := dump(t, db, m.surv, m.dup); after != before {
			t.Errorf("undo did not restore every row:\n--- before\n%s--- after\n%s", before, after)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'company.unmerge'`); n != 1 {
			t.Errorf("company.unmerge audit entries: %d", n)
		}
		if _, err := m.store.Unmerge(ctx, alisa, m.surv, m.dup); !isInvalid(err, "duplicate") {
			t.Errorf("a second undo: %v", err)
		}
		// Merged again, and undone again: the record of the first undo does not get in the way.
		if _, err := m.store.Merge(ctx, alisa, m.surv, company.MergeInput{Duplicate: m.dup}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.store.Unmerge(ctx, alisa, m.surv, m.dup); err != nil {
			t.Fatal(err)
		}
		if after := dump(t, db, m.surv, m.dup); after != before {
			t.Errorf("the second round trip:\n--- before\n%s--- after\n%s", before, after)
		}
	})
}

func isInvalid(err error, field string) bool {
	inv, ok := apperr.AsInvalid(err)
	return ok && inv[field] != ""
}

func TestMergeChoosesListsWithoutUnion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		m := newMergeFixture(t, db)
		none := []string{}
		got, err := m.store.Merge(context.Background(), m.cast.Alisa.Scope, m.surv, company.MergeInput{Duplicate: m.dup, Union: &none,
			Fields: map[string]string{"phones": "duplicate", "address": "duplicate"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Phones) != 2 || got.Phones[0].Value != "8 (495) 123-45-67" || got.Address != "г. Москва, Ленина 1" {
			t.Errorf("phones and address from the duplicate: %+v %q", got.Phones, got.Address)
		}
		if len(got.Emails) != 1 || got.Emails[0].Value != "info@romashka.ru" || len(got.Spheres) != 1 {
			t.Errorf("emails and spheres stay the survivor's: %+v %v", got.Emails, got.Spheres)
		}
		// КПП without the ИНН of an organisation is a field error, nothing written.
		m2 := newMergeFixture(t, dbtest.New(t, db.Dialect))
		_, err = m2.store.Merge(context.Background(), m2.cast.Alisa.Scope, m2.surv, company.MergeInput{Duplicate: m2.dup,
			Fields: map[string]string{"inn": "duplicate"}})
		if !isInvalid(err, "kpp") {
			t.Errorf("КПП without ИНН: %v", err)
		}
		if n := m2.count(t, `SELECT COUNT(*) FROM company_merges`); n != 0 {
			t.Error("a refused merge wrote something")
		}
	})
}

func TestMergeRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		m := newMergeFixture(t, db)
		ctx := context.Background()
		c := m.cast
		deleted := m.insert(t, company.NewCompany{Name: "Удалённая", ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, BranchID: c.BranchA})[0]
		if err := m.store.Delete(ctx, c.Admin.Scope, deleted); err != nil {
			t.Fatal(err)
		}
		other := m.insert(t, company.NewCompany{Name: "Третья", ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, BranchID: c.BranchA})[0]
		if _, err := m.store.Merge(ctx, c.Admin.Scope, other, company.MergeInput{Duplicate: m.dup}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name      string
			by        company.MergeInput
			survivor  int64
			wantField string
			want      error
		}{
			{name: "with itself", survivor: m.surv, by: company.MergeInput{Duplicate: m.surv}, wantField: "duplicate"},
			{name: "with no company", survivor: m.surv, by: company.MergeInput{}, wantField: "duplicate"},
			{name: "with one already merged", survivor: m.surv, by: company.MergeInput{Duplicate: m.dup}, wantField: "duplicate"},
			{name: "into one already merged", survivor: m.dup, by: company.MergeInput{Duplicate: m.surv}, wantField: apperr.NonField},
			{name: "with a deleted one", survivor: m.surv, by: company.MergeInput{Duplicate: deleted}, wantField: "duplicate"},
			{name: "with an unknown field", survivor: m.surv, by: company.MergeInput{Duplicate: m.A1, Fields: map[string]string{"colour": "survivor"}}, wantField: "fields"},
			{name: "with a bad side", survivor: m.surv, by: company.MergeInput{Duplicate: m.A1, Fields: map[string]string{"name": "left"}}, wantField: "fields"},
			{name: "with a company the user cannot see", survivor: m.surv, by: company.MergeInput{Duplicate: m.A2}, want: apperr.ErrNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := m.store.Merge(ctx, c.Alisa.Scope, tc.survivor, tc.by)
				switch {
				case tc.want != nil && !errors.Is(err, tc.want):
					t.Errorf("got %v, want %v", err, tc.want)
				case tc.wantField != "" && !isInvalid(err, tc.wantField):
					t.Errorf("got %v, want a message for %s", err, tc.wantField)
				}
			})
		}
		t.Run("without edit rights on one of them", func(t *testing.T) {
			// Глеб sees every company but edits only his own.
			if _, err := m.store.Merge(ctx, c.Gleb.Scope, m.B2, company.MergeInput{Duplicate: m.surv}); !errors.Is(err, apperr.ErrForbidden) {
				t.Errorf("got %v, want 403", err)
			}
			if _, err := m.store.Merge(ctx, c.Gleb.Scope, m.surv, company.MergeInput{Duplicate: m.B2}); !errors.Is(err, apperr.ErrForbidden) {
				t.Errorf("got %v, want 403", err)
			}
		})
		t.Run("a manager cannot hand the survivor to someone else", func(t *testing.T) {
			// Глеб created it (so may edit it), Борис is responsible.
			x := m.insert(t, company.NewCompany{Name: "Чужая", ResponsibleID: c.Boris.ID, CreatedBy: c.Gleb.ID, BranchID: c.BranchA})[0]
			_, err := m.store.Merge(ctx, c.Gleb.Scope, m.B2, company.MergeInput{Duplicate: x, Fields: map[string]string{"responsible": "duplicate"}})
			if !errors.Is(err, apperr.ErrForbidden) {
				t.Errorf("got %v, want 403", err)
			}
		})
	})
}

func TestMergeConcurrentlyExactlyOneWins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		m := newMergeFixture(t, db)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				surv, dup := m.surv, m.dup
				if i%2 == 1 {
					surv, dup = dup, surv
				}
				_, errs[i] = m.store.Merge(context.Background(), m.cast.Admin.Scope, surv, company.MergeInput{Duplicate: dup})
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			_, invalid := apperr.AsInvalid(err)
			switch {
			case err == nil:
				wins++
			case invalid, errors.Is(err, apperr.ErrConflict):
			default:
				t.Errorf("a losing merge failed otherwise: %v", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d merges won: %v", wins, errs)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM company_merges`); n != 1 {
			t.Errorf("%d merges recorded", n)
		}
		if n := m.count(t, `SELECT COUNT(*) FROM companies WHERE merged_into IS NOT NULL`); n != 1 {
			t.Errorf("%d companies merged", n)
		}
	})
}

func TestUnmergeRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		m := newMergeFixture(t, db)
		ctx := context.Background()
		c := m.cast
		start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		now := start
		m.store.SetClock(func() time.Time { return now })
		if _, err := m.store.Merge(ctx, c.Alisa.Scope, m.surv, company.MergeInput{Duplicate: m.dup}); err != nil {
			t.Fatal(err)
		}
		third := m.insert(t, company.NewCompany{Name: "Третья", ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, BranchID: c.BranchA})[0]
		now = start.Add(time.Hour)
		if _, err := m.store.Merge(ctx, c.Alisa.Scope, m.surv, company.MergeInput{Duplicate: third}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.store.Unmerge(ctx, c.Alisa.Scope, m.surv, m.dup); !isInvalid(err, apperr.NonField) ||
			!strings.Contains(err.Error(), "Третья") {
			t.Errorf("undo of an earlier merge while a later one stands: %v", err)
		}
		if _, err := m.store.Unmerge(ctx, c.Vera.Scope, m.surv, third); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("undo by someone who cannot see them: %v", err)
		}
		if _, err := m.store.Unmerge(ctx, c.Gleb.Scope, m.surv, third); !errors.Is(err, apperr.ErrForbidden) {
			t.Errorf("undo by someone who cannot edit them: %v", err)
		}
		if _, err := m.store.Unmerge(ctx, c.Alisa.Scope, m.surv, m.A1); !isInvalid(err, "duplicate") {
			t.Errorf("undo of companies never merged: %v", err)
		}
		now = start.Add(company.UndoPeriod + 2*time.Hour)
		_, err := m.store.Unmerge(ctx, c.Alisa.Scope, m.surv, third)
		if !isInvalid(err, apperr.NonField) || !strings.Contains(err.Error(), "Срок отмены истёк") {
			t.Errorf("undo after 30 days: %v", err)
		}
		if list, err := m.store.Merges(ctx, c.Alisa.Scope, m.surv); err != nil || len(list) != 0 {
			t.Errorf("the card offers an expired undo: %+v %v", list, err)
		}
		now = start.Add(company.UndoPeriod)
		if _, err := m.store.Unmerge(ctx, c.Alisa.Scope, m.surv, third); err != nil {
			t.Errorf("undo on the 30th day: %v", err)
		}
		info, err := m.store.MergedInto(ctx, c.Alisa.Scope, m.dup)
		if err != nil || info.SurvivorID != m.surv || !info.CanUndo {
			t.Errorf("MergedInto: %+v %v", info, err)
		}
		if _, err := m.store.MergedInto(ctx, c.Alisa.Scope, third); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("MergedInto of a live company: %v", err)
		}
	})
}

func TestUndoKeepsWhatWasChangedOnTheSurvivorSinceTheMerge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		m := newMergeFixture(t, db)
		ctx := context.Background()
		alisa := m.cast.Alisa.Scope
		merged, err := m.store.Merge(ctx, alisa, m.surv, company.MergeInput{Duplicate: m.dup,
			Fields: map[string]string{"name": "duplicate", "ogrn": "duplicate", "status": "duplicate"}})
		if err != nil {
			t.Fatal(err)
		}
		// After the merge a manager corrects the address, drops the director's
		// mobile (it came with the duplicate) and adds a new number.
		phones := company.OptPhones{Set: true, Value: []company.Phone{
			{Value: merged.Phones[0].Value, Kind: merged.Phones[0].Kind, Comment: merged.Phones[0].Comment},
			{Value: "+7 812 555-00-00", Kind: "work", Comment: "склад"},
		}}
		if _, err := m.store.Update(ctx, alisa, m.surv, company.Input{
			Address: company.OptString{Set: true, Value: "Москва, ул. Ленина, 1, офис 5"}, Phones: phones}, false); err != nil {
			t.Fatal(err)
		}

		back, err := m.store.Unmerge(ctx, alisa, m.surv, m.dup)
		if err != nil {
			t.Fatal(err)
		}
		// What the merge changed and nobody touched since goes back...
		if back.Name != "ООО «Ромашка»" || back.OGRN != "" || back.StatusID == nil || *back.StatusID != m.statuses[0] {
			t.Errorf("the merge's fields were not undone: %q ogrn %q status %v", back.Name, back.OGRN, back.StatusID)
		}
		if len(back.Emails) != 1 || back.Emails[0].Value != "info@romashka.ru" || len(back.Spheres) != 1 {
			t.Errorf("the duplicate's e-mails or spheres stayed: %+v %v", back.Emails, back.Spheres)
		}
		// ...and what was changed since stays.
		if back.Address != "Москва, ул. Ленина, 1, офис 5" {
			t.Errorf("the address corrected after the merge was lost: %q", back.Address)
		}
		var got []string
		for _, p := range back.Phones {
			got = append(got, p.Value+" "+p.Comment)
		}
		if strings.Join(got, "; ") != "+7 495 123-45-67 офис; +7 812 555-00-00 склад" {
			t.Errorf("phones after undo: %v, want the survivor's own and the one added since", got)
		}
		var detail string
		if err := db.QueryRowContext(ctx, `SELECT detail FROM audit_log WHERE action = 'company.unmerge'`).Scan(&detail); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(detail, `"kept_since_merge":["address","phones"]`) {
			t.Errorf("the undo's audit entry does not say what it kept: %s", detail)
		}
		// The duplicate is back whole.
		dup, err := m.store.Get(ctx, alisa, m.dup)
		if err != nil || dup.Name != "Ромашка Плюс" || len(dup.Phones) != 2 {
			t.Errorf("the duplicate after undo: %+v %v", dup, err)
		}
	})
}
