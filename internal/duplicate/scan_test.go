package duplicate_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/progress"
)

type scanFixture struct {
	db        *database.DB
	cast      dbtest.Cast
	companies *company.Store
	scanner   *duplicate.Scanner
}

func newScanFixture(t *testing.T, db *database.DB) *scanFixture {
	t.Helper()
	return &scanFixture{db: db, cast: dbtest.NewCast(t, db), companies: company.NewStore(db), scanner: duplicate.NewScanner(db)}
}

// add writes companies the way loaders do (the dirty-marking triggers
// fire as for any write) and returns their ids.
func (f *scanFixture) add(t *testing.T, list ...company.NewCompany) []int64 {
	t.Helper()
	for i := range list {
		if list[i].ResponsibleID == 0 {
			list[i].ResponsibleID, list[i].CreatedBy, list[i].BranchID = f.cast.Alisa.ID, f.cast.Alisa.ID, f.cast.BranchA
		}
		if inv := list[i].Normalize(); len(inv) > 0 {
			t.Fatalf("company %q: %v", list[i].Name, inv)
		}
	}
	var ids []int64
	err := f.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		ids, err = f.companies.InsertBatch(context.Background(), tx, list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (f *scanFixture) full(t *testing.T) duplicate.ScanStats {
	t.Helper()
	st, err := f.scanner.Full(context.Background(), progress.Discard(""))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (f *scanFixture) recheck(t *testing.T) int {
	t.Helper()
	total := 0
	for {
		n, more, err := f.scanner.Recheck(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if !more {
			return total
		}
	}
}

// pairs maps "a-b" to the reason fields of every listed pair.
func (f *scanFixture) pairs(t *testing.T) map[string][]string {
	t.Helper()
	list, err := f.scanner.Groups(context.Background(), f.cast.Admin.Scope, duplicate.GroupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, g := range list.Groups {
		for _, p := range g.Pairs {
			var fields []string
			for _, r := range p.Reasons {
				fields = append(fields, r.Field)
			}
			out[key(p.A, p.B)] = fields
		}
	}
	return out
}

func key(a, b int64) string { return fmt.Sprintf("%d-%d", min(a, b), max(a, b)) }

func phone(v string) []company.Phone { return []company.Phone{{Value: v, Kind: "work"}} }
func email(v string) []company.Email { return []company.Email{{Value: v, Kind: "work"}} }

func TestFullScanFindsAPairForEachSignal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newScanFixture(t, db)
		ids := f.add(t,
			company.NewCompany{Name: "Альфа", INN: "7707083893"},
			company.NewCompany{Name: "Альфа-Центр", INN: "7707083893"},
			company.NewCompany{Name: "Бета", OGRN: "1027700132195"},
			company.NewCompany{Name: "Бета Групп", OGRN: "1027700132195"},
			company.NewCompany{Name: "ООО «Гамма»", Address: "г. Москва, ул. Ленина, д. 1"},
			company.NewCompany{Name: "Гамма", Address: "г. Москва, ул. Ленина, д. 1"},
			company.NewCompany{Name: "Дельта", Phones: phone("+7 (495) 123-45-67"), Website: "delta.ru"},
			company.NewCompany{Name: "Трейд", Phones: phone("8 495 1234567"), Website: "www.delta.ru"},
			company.NewCompany{Name: "Эпсилон", Emails: email("info@epsilon.ru"), Website: "epsilon.ru"},
			company.NewCompany{Name: "Плюс", Emails: email("INFO@epsilon.ru"), Website: "http://epsilon.ru"},
			company.NewCompany{Name: "Зета", Website: "https://www.zeta.ru/", Phones: phone("+74957654321")},
			company.NewCompany{Name: "Строй", Website: "zeta.ru", Phones: phone("+74957654321")},
			company.NewCompany{Name: "Омега", Address: "Казань"},
			company.NewCompany{Name: "Совсем другое", Address: "Томск"},
		)
		st := f.full(t)
		got := f.pairs(t)
		for _, c := range []struct {
			name  string
			a, b  int
			field string
		}{
			{"the same ИНН", 0, 1, "inn"},
			{"the same ОГРН", 2, 3, "ogrn"},
			{"the same name and address", 4, 5, "name"},
			{"a shared phone", 6, 7, "phone"},
			{"a shared e-mail", 8, 9, "email"},
			{"the same website", 10, 11, "website"},
		} {
			t.Run(c.name+" makes a pair", func(t *testing.T) {
				fields, ok := got[key(ids[c.a], ids[c.b])]
				if !ok {
					t.Fatalf("no pair %d-%d; pairs %v", ids[c.a], ids[c.b], got)
				}
				if !slices.Contains(fields, c.field) {
					t.Errorf("pair reasons %v, want %s among them", fields, c.field)
				}
			})
		}
		if _, ok := got[key(ids[12], ids[13])]; ok {
			t.Errorf("unrelated neighbours paired: %v", got)
		}
		if st.Pairs != len(got) || st.Candidates < st.Pairs {
			t.Errorf("stats %+v, %d pairs listed", st, len(got))
		}
		var dirty int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM duplicate_dirty`).Scan(&dirty); err != nil || dirty != 0 {
			t.Errorf("dirty marks after a full scan: %d, %v", dirty, err)
		}
	})
}

func TestGroupsAreConnectedComponentsBestFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newScanFixture(t, db)
		ids := f.add(t,
			company.NewCompany{Name: "Каппа", INN: "7736207543", Phones: phone("+74951111111"), Emails: email("k@kappa.ru")},
			company.NewCompany{Name: "Каппа Сервис", INN: "7736207543"},
			company.NewCompany{Name: "Лямбда", Phones: phone("+74951111111"), Emails: email("k@kappa.ru")},
			company.NewCompany{Name: "Мю", Emails: email("mu@mu.ru"), Phones: phone("+74953333333")},
			company.NewCompany{Name: "Ню", Emails: email("mu@mu.ru"), Phones: phone("+74953333333")},
		)
		f.full(t)
		list, err := f.scanner.Groups(context.Background(), f.cast.Admin.Scope, duplicate.GroupFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if list.Count != 2 || list.Companies != 5 {
			t.Fatalf("groups %d, companies %d; want 2 and 5: %+v", list.Count, list.Companies, list.Groups)
		}
		var first []int64
		for _, c := range list.Groups[0].Companies {
			first = append(first, c.ID)
		}
		if !slices.Equal(first, ids[:3]) {
			t.Errorf("first group %v, want %v (the ИНН, linked by the phone)", first, ids[:3])
		}
		if list.Groups[0].Score < list.Groups[1].Score {
			t.Errorf("groups not best first: %v then %v", list.Groups[0].Score, list.Groups[1].Score)
		}
		// The filter keeps the pairs with the reason; groups form of those.
		byINN, err := f.scanner.Groups(context.Background(), f.cast.Admin.Scope, duplicate.GroupFilter{Field: "inn"})
		if err != nil {
			t.Fatal(err)
		}
		if byINN.Count != 1 || len(byINN.Groups[0].Companies) != 2 || byINN.Groups[0].Companies[1].ID != ids[1] {
			t.Errorf("filter by ИНН: %+v", byINN)
		}
		paged, err := f.scanner.Groups(context.Background(), f.cast.Admin.Scope, duplicate.GroupFilter{Page: 2, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		if paged.Count != 2 || len(paged.Groups) != 1 || paged.Groups[0].Companies[0].ID != ids[3] {
			t.Errorf("page 2 of 1: %+v", paged)
		}
	})
}

func TestOnlyAdminsSeeAndDismissGroups(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newScanFixture(t, db)
		ids := f.add(t, company.NewCompany{Name: "Альфа", INN: "7707083893"}, company.NewCompany{Name: "Альфа 2", INN: "7707083893"})
		f.full(t)
		for _, m := range f.cast.All() {
			t.Run(m.Username, func(t *testing.T) {
				_, err := f.scanner.Groups(context.Background(), m.Scope, duplicate.GroupFilter{})
				dErr := f.scanner.Dismiss(context.Background(), m.Scope, ids[0], ids[1])
				_, _, sErr := f.scanner.StartScan(context.Background(), m.Scope, func(context.Context, *sql.Tx, int64) (int64, error) { return 0, nil })
				if m.ID == f.cast.Admin.ID {
					return
				}
				for _, e := range []error{err, dErr, sErr} {
					if !errors.Is(e, apperr.ErrForbidden) {
						t.Errorf("got %v, want forbidden", e)
					}
				}
			})
		}
	})
}

func TestDismissalSticksIsSharedAndRevivesOnChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newScanFixture(t, db)
		ids := f.add(t,
			company.NewCompany{Name: "Сигма", Address: "Москва, Тверская 1", Phones: phone("+74952222222"), Emails: email("s@sigma.ru")},
			company.NewCompany{Name: "Сигма Плюс", Address: "Москва, Тверская 2", Phones: phone("+74952222222"), Emails: email("s@sigma.ru")},
		)
		pair := key(ids[0], ids[1])
		f.full(t)
		if _, ok := f.pairs(t)[pair]; !ok {
			t.Fatal("the shared phone gave no pair")
		}
		if err := f.scanner.Dismiss(ctx, f.cast.Admin.Scope, ids[1], ids[0]); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.pairs(t)[pair]; ok {
			t.Fatal("a dismissed pair is still listed")
		}
		var audited int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'duplicate.dismiss'`).Scan(&audited); err != nil || audited != 1 {
			t.Errorf("audit entries %d, %v", audited, err)
		}

		t.Run("a full scan does not bring it back", func(t *testing.T) {
			f.full(t)
			if _, ok := f.pairs(t)[pair]; ok {
				t.Error("listed again after a full scan")
			}
		})
		t.Run("a change outside ИНН, name and address does not bring it back", func(t *testing.T) {
			_, err := f.companies.Update(ctx, f.cast.Admin.Scope, ids[1], input(t, `{"legal_name": "ООО «Сигма Плюс»"}`), false)
			if err != nil {
				t.Fatal(err)
			}
			if f.recheck(t) != 1 {
				t.Error("the changed company was not re-checked")
			}
			if _, ok := f.pairs(t)[pair]; ok {
				t.Error("listed again after a website change")
			}
		})
		t.Run("a changed address revives it for everyone", func(t *testing.T) {
			_, err := f.companies.Update(ctx, f.cast.Admin.Scope, ids[1], input(t, `{"address": "Москва, Тверская 3"}`), false)
			if err != nil {
				t.Fatal(err)
			}
			f.recheck(t)
			if _, ok := f.pairs(t)[pair]; !ok {
				t.Error("not revived by the address change")
			}
		})
	})
}

func input(t *testing.T, js string) company.Input {
	t.Helper()
	in, err := company.ParseJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestRecheckFindsANewDuplicateWithoutAFullScan(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newScanFixture(t, db)
		var base []company.NewCompany
		for i := range 50 {
			base = append(base, company.NewCompany{Name: fmt.Sprintf("Компания %03d", i)})
		}
		base = append(base, company.NewCompany{Name: "Тау", INN: "7710140679"})
		ids := f.add(t, base...)
		f.full(t)
		if n := len(f.pairs(t)); n != 0 {
			t.Fatalf("pairs before the change: %d", n)
		}
		c, err := f.companies.Create(ctx, f.cast.Alisa.Scope, input(t, `{"name": "Тау-Сервис", "inn": "7710140679", "confirm_duplicate": true}`))
		if err != nil {
			t.Fatal(err)
		}
		if n := f.recheck(t); n != 1 {
			t.Errorf("re-checked %d companies, want only the new one", n)
		}
		if _, ok := f.pairs(t)[key(ids[len(ids)-1], c.ID)]; !ok {
			t.Errorf("the new duplicate was not found: %v", f.pairs(t))
		}
		var scans int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM duplicate_scans`).Scan(&scans); err != nil || scans != 0 {
			t.Errorf("scans %d, %v", scans, err)
		}
	})
}

func TestDeletedAndMergedCompaniesDropOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newScanFixture(t, db)
		ids := f.add(t,
			company.NewCompany{Name: "Фи", INN: "7740000076"},
			company.NewCompany{Name: "Фи 2", INN: "7740000076"},
			company.NewCompany{Name: "Хи", Emails: email("chi@chi.ru"), Phones: phone("+74954444444")},
			company.NewCompany{Name: "Хи 2", Emails: email("chi@chi.ru"), Phones: phone("+74954444444")},
		)
		f.full(t)
		if len(f.pairs(t)) != 2 {
			t.Fatalf("pairs %v", f.pairs(t))
		}
		if err := f.companies.Delete(ctx, f.cast.Admin.Scope, ids[1]); err != nil {
			t.Fatal(err)
		}
		// Merged-away companies are deleted_at too (the merge marks them).
		if _, err := db.ExecContext(ctx, `UPDATE companies SET deleted_at = $1 WHERE id = $2`, database.Now(), ids[3]); err != nil {
			t.Fatal(err)
		}
		if got := f.pairs(t); len(got) != 0 {
			t.Errorf("listed at once after delete and merge: %v", got)
		}
		f.recheck(t)
		var stored int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM duplicate_pairs`).Scan(&stored); err != nil || stored != 0 {
			t.Errorf("stored pairs after the re-check: %d, %v", stored, err)
		}
	})
}

func TestOneScanAtATime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newScanFixture(t, db)
		enqueued := 0
		enqueue := func(context.Context, *sql.Tx, int64) (int64, error) { enqueued++; return int64(100 + enqueued), nil }
		first, started, err := f.scanner.StartScan(ctx, f.cast.Admin.Scope, enqueue)
		if err != nil || !started || first.State != duplicate.ScanQueued || first.JobID != 101 {
			t.Fatalf("first start: %+v %v %v", first, started, err)
		}
		second, started, err := f.scanner.StartScan(ctx, f.cast.Admin.Scope, enqueue)
		if err != nil || started || second.ID != first.ID || enqueued != 1 {
			t.Fatalf("second start while queued: %+v %v %v (enqueued %d)", second, started, err, enqueued)
		}
		if n, _, err := f.scanner.Recheck(ctx); err != nil || n != 0 {
			t.Errorf("a re-check during a scan took %d, %v", n, err)
		}
		if err := f.scanner.RunScan(ctx, first.ID, progress.Discard("")); err != nil {
			t.Fatal(err)
		}
		last, ok, err := f.scanner.LastScan(ctx)
		if err != nil || !ok || last.State != duplicate.ScanDone || last.FinishedAt == nil {
			t.Fatalf("after the run: %+v %v %v", last, ok, err)
		}
		third, started, err := f.scanner.StartScan(ctx, f.cast.Admin.Scope, enqueue)
		if err != nil || !started || third.ID == first.ID {
			t.Errorf("start after the end: %+v %v %v", third, started, err)
		}
	})
}

// Rechecks run at once (several job workers, several server processes)
// may take the same dirty companies; each writes the pairs it found, and
// on PostgreSQL two of them used to fail on the pair's primary key.
func TestConcurrentRechecksShareThePairs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newScanFixture(t, db)
		f.full(t)
		var list []company.NewCompany
		for i := range 12 {
			list = append(list, company.NewCompany{Name: fmt.Sprintf("Альфа %d", i), INN: "7710140679"})
		}
		ids := f.add(t, list...)
		errs := make(chan error, 4)
		for range cap(errs) {
			go func() {
				for {
					_, more, err := f.scanner.Recheck(context.Background())
					if err != nil || !more {
						errs <- err
						return
					}
				}
			}()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Fatalf("a recheck failed: %v", err)
			}
		}
		together := f.pairs(t)
		if len(together) == 0 {
			t.Fatal("no pairs")
		}
		// The same companies re-checked one at a time give the same pairs.
		for _, id := range ids {
			if _, err := db.ExecContext(context.Background(), `INSERT INTO duplicate_dirty (company_id) VALUES ($1)`, id); err != nil {
				t.Fatal(err)
			}
		}
		f.recheck(t)
		if alone := f.pairs(t); !maps.EqualFunc(together, alone, slices.Equal) {
			t.Errorf("pairs of concurrent rechecks %v, one at a time %v", together, alone)
		}
	})
}

// storedGroupsAreTheComponents checks the groups stored with the pairs
// against the connected components of the pairs, computed here: the
// pairs of a component all carry one group id, a company of that
// component, and duplicate_groups holds each component once under it with
// its best score, size, pair count and the fields of its pairs' reasons.
// It returns the components as sorted company ids by their smallest id.
func storedGroupsAreTheComponents(t *testing.T, db *database.DB) map[int64][]int64 {
	t.Helper()
	ctx := context.Background()
	type pair struct {
		a, b, group int64
		score       float64
		fields      string
	}
	var pairs []pair
	rows, err := db.QueryContext(ctx, `SELECT a_id, b_id, group_id, score, fields FROM duplicate_pairs`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.a, &p.b, &p.group, &p.score, &p.fields); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Components by repeated relabelling: slow and plain.
	label := map[int64]int64{}
	for _, p := range pairs {
		label[p.a], label[p.b] = p.a, p.b
	}
	for changed := true; changed; {
		changed = false
		for _, p := range pairs {
			if m := min(label[p.a], label[p.b]); label[p.a] != m || label[p.b] != m {
				label[p.a], label[p.b], changed = m, m, true
			}
		}
	}
	type group struct {
		score       float64
		size, pairs int64
		fields      int64
	}
	members := map[int64][]int64{}
	for c, g := range label {
		members[g] = append(members[g], c)
	}
	stored := map[int64]int64{} // component → its stored group id
	for _, p := range pairs {
		c := label[p.a]
		if g, ok := stored[c]; ok && g != p.group {
			t.Errorf("pair %d-%d in group %d, another pair of its component in group %d", p.a, p.b, p.group, g)
		}
		stored[c] = p.group
	}
	want := map[int64]group{}
	for c, ids := range members {
		slices.Sort(ids)
		if !slices.Contains(ids, stored[c]) {
			t.Errorf("component %v stored as group %d, not one of its companies", ids, stored[c])
		}
		want[stored[c]] = group{size: int64(len(ids))}
	}
	bits := map[string]int64{"inn": 1, "kpp": 2, "ogrn": 4, "name": 8, "address": 16, "phone": 32, "email": 64, "website": 128}
	for _, p := range pairs {
		w := want[p.group]
		w.pairs++
		w.score = max(w.score, p.score)
		for f := range strings.SplitSeq(strings.Trim(p.fields, ","), ",") {
			w.fields |= bits[f]
		}
		want[p.group] = w
	}
	got := map[int64]group{}
	groupRows, err := db.QueryContext(ctx, `SELECT id, score, size, pair_count, field_bits FROM duplicate_groups`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = groupRows.Close() }()
	for groupRows.Next() {
		var id int64
		var g group
		if err := groupRows.Scan(&id, &g.score, &g.size, &g.pairs, &g.fields); err != nil {
			t.Fatal(err)
		}
		got[id] = g
	}
	if err := groupRows.Err(); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("stored groups %v, components of the pairs %v", got, want)
	}
	return members
}

func TestStoredGroupsAreTheComponentsOfThePairs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newScanFixture(t, db)
		ids := f.add(t,
			company.NewCompany{Name: "Сигма", INN: "7736207543"},
			company.NewCompany{Name: "Сигма Плюс", INN: "7736207543", Phones: phone("+74955550001"), Emails: email("s@sigma.ru")},
			company.NewCompany{Name: "Омега", Phones: phone("+74955550001"), Emails: email("s@sigma.ru")},
			company.NewCompany{Name: "Дельта", Phones: phone("+74955550002"), Emails: email("d@delta.ru")},
			company.NewCompany{Name: "Дельта Групп", Phones: phone("+74955550002"), Emails: email("d@delta.ru")},
			company.NewCompany{Name: "Одиночка"},
		)
		f.full(t)
		groups := storedGroupsAreTheComponents(t, db)
		if !slices.Equal(groups[ids[0]], ids[:3]) || !slices.Equal(groups[ids[3]], ids[3:5]) || len(groups) != 2 {
			t.Fatalf("groups after the scan %v, want %v and %v", groups, ids[:3], ids[3:5])
		}

		// A change that joins two groups: Омега takes Дельта's phone and
		// e-mail too.
		omega := ids[2]
		if _, err := db.ExecContext(ctx, `INSERT INTO company_emails (company_id, value, value_norm, kind, position) VALUES ($1, 'd@delta.ru', 'd@delta.ru', 'work', 1)`, omega); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO company_phones (company_id, value, e164, kind, position) VALUES ($1, '+74955550002', '+74955550002', 'work', 1)`, omega); err != nil {
			t.Fatal(err)
		}
		f.recheck(t)
		groups = storedGroupsAreTheComponents(t, db)
		if len(groups) != 1 || !slices.Equal(groups[ids[0]], ids[:5]) {
			t.Fatalf("groups after joining %v, want one of %v", groups, ids[:5])
		}

		// A change that splits it again: Омега loses its e-mails (a shared
		// phone alone is not a likely duplicate).
		if _, err := db.ExecContext(ctx, `DELETE FROM company_emails WHERE company_id = $1`, omega); err != nil {
			t.Fatal(err)
		}
		f.recheck(t)
		groups = storedGroupsAreTheComponents(t, db)
		if len(groups) != 2 || !slices.Equal(groups[ids[0]], ids[:2]) || !slices.Equal(groups[ids[3]], ids[3:5]) {
			t.Fatalf("groups after splitting %v, want %v and %v", groups, ids[:2], ids[3:5])
		}

		// The smallest company leaves its group: the group takes the next id.
		if err := f.companies.Delete(ctx, f.cast.Admin.Scope, ids[3]); err != nil {
			t.Fatal(err)
		}
		if list, err := f.scanner.Groups(ctx, f.cast.Admin.Scope, duplicate.GroupFilter{}); err != nil || list.Count != 1 {
			t.Errorf("groups listed right after the delete: %+v, %v", list, err)
		}
		f.recheck(t)
		groups = storedGroupsAreTheComponents(t, db)
		if len(groups) != 1 || !slices.Equal(groups[ids[0]], ids[:2]) {
			t.Fatalf("groups after the delete %v, want %v", groups, ids[:2])
		}

		// «Не дубль» on the last pair empties the list.
		if err := f.scanner.Dismiss(ctx, f.cast.Admin.Scope, ids[0], ids[1]); err != nil {
			t.Fatal(err)
		}
		if groups = storedGroupsAreTheComponents(t, db); len(groups) != 0 {
			t.Errorf("groups after «Не дубль» %v", groups)
		}

		// Pairs stored before groups were (migration 00039) are grouped by
		// the next re-check, with nothing dirty.
		f.add(t, company.NewCompany{Name: "Тета", INN: "7707083893"}, company.NewCompany{Name: "Тета 2", INN: "7707083893"})
		f.full(t)
		if _, err := db.ExecContext(ctx, `UPDATE duplicate_pairs SET group_id = 0`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM duplicate_groups`); err != nil {
			t.Fatal(err)
		}
		f.recheck(t)
		if groups = storedGroupsAreTheComponents(t, db); len(groups) != 1 {
			t.Errorf("groups of the pairs stored before groups %v", groups)
		}
	})
}

// TestRechecksKeepTheGroupsAndTheirReasons changes companies at random —
// their ИНН, phone, e-mail, website; deletes one; dismisses a pair — and
// after each re-check holds the stored groups to the components of the
// pairs, and the page filtered by each reason to that filter applied to
// all the pairs. The re-check regroups around what changed (joins,
// splits, a group falling apart), never from the groups' pairs.
func TestRechecksKeepTheGroupsAndTheirReasons(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newScanFixture(t, db)
		inns := []string{"", "3982597915", "9074833780", "8762328602", "1290404798"}
		phones := []string{"", "+74955550101", "+74955550102", "+74955550103"}
		emails := []string{"", "a@one.ru", "b@two.ru", "c@three.ru"}
		sites := []string{"", "one.ru", "two.ru"}
		rnd := rand.New(rand.NewPCG(8, 47)) //nolint:gosec // a fixed sequence of changes, not a secret
		names := strings.Fields("Ромашка Василёк Берёза Клён Дуб Сосна Ель Липа Ольха Ива Тополь Рябина Вишня Слива Груша Яблоня " +
			"Калина Малина Смородина Крыжовник Черника Брусника Клюква Морошка")
		var list []company.NewCompany
		for _, name := range names {
			c := company.NewCompany{Name: name, INN: inns[rnd.IntN(len(inns))]}
			if p := phones[rnd.IntN(len(phones))]; p != "" {
				c.Phones = phone(p)
			}
			if e := emails[rnd.IntN(len(emails))]; e != "" {
				c.Emails = email(e)
			}
			list = append(list, c)
		}
		ids := f.add(t, list...)
		f.full(t)
		check := func(when string) {
			t.Helper()
			storedGroupsAreTheComponents(t, db)
			filteredPagesAreTheFilteredPairs(t, f, when)
		}
		check("after the scan")
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		for round := range 40 {
			for range 1 + rnd.IntN(3) {
				id := ids[rnd.IntN(len(ids))]
				switch rnd.IntN(4) {
				case 0:
					exec(`UPDATE companies SET inn = $1 WHERE id = $2`, inns[rnd.IntN(len(inns))], id)
				case 1:
					exec(`DELETE FROM company_phones WHERE company_id = $1`, id)
					if p := phones[rnd.IntN(len(phones))]; p != "" {
						exec(`INSERT INTO company_phones (company_id, value, e164, kind, position) VALUES ($1, $2, $2, 'work', 0)`, id, p)
					}
				case 2:
					exec(`DELETE FROM company_emails WHERE company_id = $1`, id)
					if e := emails[rnd.IntN(len(emails))]; e != "" {
						exec(`INSERT INTO company_emails (company_id, value, value_norm, kind, position) VALUES ($1, $2, $2, 'work', 0)`, id, e)
					}
				case 3:
					s := sites[rnd.IntN(len(sites))]
					exec(`UPDATE companies SET website = $1, website_domain = $1 WHERE id = $2`, s, id)
				}
			}
			switch round {
			case 20:
				if err := f.companies.Delete(ctx, f.cast.Admin.Scope, ids[5]); err != nil {
					t.Fatal(err)
				}
			case 30:
				var a, b int64
				err := db.QueryRowContext(ctx, `SELECT a_id, b_id FROM duplicate_pairs ORDER BY score, a_id, b_id LIMIT 1`).Scan(&a, &b)
				if err == nil {
					if err := f.scanner.Dismiss(ctx, f.cast.Admin.Scope, a, b); err != nil {
						t.Fatal(err)
					}
				}
			}
			f.recheck(t)
			check(fmt.Sprintf("after round %d", round))
		}
		// And a full scan of what the re-checks left finds the same groups.
		before := storedGroupsAreTheComponents(t, db)
		f.full(t)
		if after := storedGroupsAreTheComponents(t, db); !maps.EqualFunc(before, after, slices.Equal) {
			t.Errorf("groups after the re-checks %v, after a full scan %v", before, after)
		}
	})
}

// filteredPagesAreTheFilteredPairs holds the page «Дубли» filtered by each
// reason to the groups (stored) with a pair that has it, in the page's
// order, each listing only such pairs.
func filteredPagesAreTheFilteredPairs(t *testing.T, f *scanFixture, when string) {
	t.Helper()
	ctx := context.Background()
	type group struct {
		id, size int64
		score    float64
		fields   map[string]bool
	}
	byID := map[int64]*group{}
	rows, err := f.db.QueryContext(ctx, `SELECT p.group_id, g.size, g.score, p.fields FROM duplicate_pairs p JOIN duplicate_groups g ON g.id = p.group_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var g group
		var fields string
		if err := rows.Scan(&g.id, &g.size, &g.score, &fields); err != nil {
			t.Fatal(err)
		}
		if byID[g.id] == nil {
			g.fields = map[string]bool{}
			byID[g.id] = &g
		}
		for f := range strings.SplitSeq(strings.Trim(fields, ","), ",") {
			byID[g.id].fields[f] = true
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"inn", "kpp", "ogrn", "name", "address", "phone", "email", "website"} {
		var want []int64
		for _, g := range byID {
			if g.fields[field] {
				want = append(want, g.id)
			}
		}
		slices.SortFunc(want, func(x, y int64) int {
			gx, gy := byID[x], byID[y]
			return cmp.Or(cmp.Compare(gy.score, gx.score), cmp.Compare(gy.size, gx.size), cmp.Compare(x, y))
		})
		list, err := f.scanner.Groups(ctx, f.cast.Admin.Scope, duplicate.GroupFilter{Field: field})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, g := range list.Groups {
			got = append(got, g.ID)
			for _, p := range g.Pairs {
				if !slices.ContainsFunc(p.Reasons, func(r duplicate.Reason) bool { return r.Field == field }) {
					t.Errorf("%s: group %d filtered by %s lists pair %d-%d without it", when, g.ID, field, p.A, p.B)
				}
			}
		}
		if !slices.Equal(got, want) || list.Count != len(want) {
			t.Errorf("%s: groups filtered by %s %v (count %d), want %v", when, field, got, list.Count, want)
		}
	}
}

// limitProbe is a progress reporter that notes the Go runtime's memory
// limit when the scan starts scoring.
type limitProbe struct{ during int64 }

func (p *limitProbe) Start(int64)  { p.during = debug.SetMemoryLimit(-1) }
func (p *limitProbe) Add(int64)    {}
func (p *limitProbe) Finish(error) {}

func TestFullScanRunsUnderItsMemoryLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newScanFixture(t, db)
		f.add(t, company.NewCompany{Name: "Альфа", INN: "7707083893"}, company.NewCompany{Name: "Альфа-Центр", INN: "7707083893"})
		before := debug.SetMemoryLimit(-1)
		const limit = 900<<20 + 1
		f.scanner.MemoryLimit = limit
		var probe limitProbe
		if _, err := f.scanner.Full(context.Background(), &probe); err != nil {
			t.Fatal(err)
		}
		if probe.during != limit {
			t.Errorf("memory limit during the scan %d, want %d", probe.during, limit)
		}
		if after := debug.SetMemoryLimit(-1); after != before {
			t.Errorf("memory limit after the scan %d, want %d as before", after, before)
		}
		if duplicate.DefaultMemoryLimit >= 1<<30 || duplicate.NewScanner(db).MemoryLimit != duplicate.DefaultMemoryLimit {
			t.Errorf("a new scanner's memory limit %d, want %d (under 1 GB)", duplicate.NewScanner(db).MemoryLimit, duplicate.DefaultMemoryLimit)
		}
	})
}
