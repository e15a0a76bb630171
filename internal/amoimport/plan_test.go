package amoimport

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/dedup"
)

// shuffleRows gives the rows new numbers (and lines) in a random order,
// and returns them in the new order with the old number of each new one.
func shuffleRows(rows []Row, seed uint64) ([]Row, map[int]int) {
	r := rand.New(rand.NewPCG(seed, seed+1)) //nolint:gosec // a reproducible test order, no secret
	perm := r.Perm(len(rows))
	out := make([]Row, len(rows))
	oldOf := map[int]int{}
	for i, row := range rows {
		n := perm[i] + 1
		switch {
		case row.Record != nil:
			rec := *row.Record
			oldOf[n] = rec.Number
			rec.Number, rec.Line = n, n+1
			out[n-1] = Row{Record: &rec}
		case row.Skip != nil:
			s := *row.Skip
			oldOf[n] = s.Number
			s.Number, s.Line = n, n+1
			out[n-1] = Row{Skip: &s}
		}
	}
	return out, oldOf
}

func TestPlanIsIndependentOfRowOrder(t *testing.T) {
	for _, name := range fixtures {
		tr := loadPlanTruth(t, name)
		rows := fixtureRows(t, name)
		t.Run(name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				env := newPlanEnv(t, db, tr) // one base: each order is its own import
				for _, seed := range []uint64{1, 2, 3} {
					t.Run(fmt.Sprintf("shuffled with seed %d gives the truth's groups", seed), func(t *testing.T) {
						shuffled, oldOf := shuffleRows(rows, seed)
						sum, got, _ := env.run(t, shuffled)
						back := func(n int) int {
							if old, ok := oldOf[n]; ok {
								return old
							}
							return n // a company the plan created
						}
						renumbered := map[int]planned{}
						for n, r := range got {
							r.Number = back(n)
							if r.Entity != 0 {
								r.Entity = back(r.Entity)
							}
							if r.LinkEntity != 0 {
								r.LinkEntity = back(r.LinkEntity)
							}
							renumbered[r.Number] = r
						}
						checkTruth(t, env, tr, sum, renumbered, false)
					})
				}
			})
		})
	}
}

// companyRow is a company row for hand-built tests.
func companyRow(n int, name, inn, kpp, address string) Row {
	return Row{Record: &Record{Number: n, Line: n + 1, Kind: KindCompany, Name: name, INN: inn, KPP: kpp, Address: address,
		Responsible: "Смирнов Алексей"}}
}

// contactRow is a contact row for hand-built tests.
func contactRow(n int, amoID int64, name, company string) Row {
	return Row{Record: &Record{Number: n, Line: n + 1, Kind: KindContact, AmoID: amoID, Name: name, FirstName: name,
		Company: company, Responsible: "Смирнов Алексей"}}
}

func withAmo(r Row, id int64) Row {
	r.Record.AmoID = id
	return r
}

var handUsers = planTruth{Users: []struct {
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}{{Username: "a.smirnov", FirstName: "Алексей", LastName: "Смирнов", Email: "a.smirnov@salesteam.ru"}}}

func TestPlanGroupsCompanies(t *testing.T) {
	const (
		innA = "7707083893"
		innB = "7736207543"
	)
	tests := []struct {
		name    string
		rows    []Row
		groups  [][]int // rows of one entity each; every other record is alone
		reasons map[int]string
	}{
		{
			name: "name and address matching companies of two ИНН join neither",
			rows: []Row{
				companyRow(1, "ООО «Снабстрой»", innA, "", "г. Санкт-Петербург, ул. Мира, д. 33"),
				companyRow(2, "ООО Снабстрой", innB, "", "г. Санкт-Петербург, ул. Мира, д. 33"),
				companyRow(3, `ООО "Снабстрой"`, "", "", "г. Санкт-Петербург, ул. Мира, д. 33"),
				companyRow(4, "Снабстрой, ООО", "", "", "г. Санкт-Петербург, ул. Мира, д. 33"),
			},
			groups:  [][]int{{3, 4}},
			reasons: map[int]string{3: "разными ИНН"},
		},
		{
			name: "name and address matching one ИНН join it",
			rows: []Row{
				companyRow(1, "ООО «Снабстрой»", "", "", "г. Санкт-Петербург, ул. Мира, д. 33"),
				companyRow(2, "ООО Снабстрой", innB, "", "г. Санкт-Петербург, ул. Мира, д. 33"),
				companyRow(3, `ООО "Снабстрой"`, "", "", "г. Санкт-Петербург, ул. Мира, д. 33"),
			},
			groups:  [][]int{{1, 2, 3}},
			reasons: map[int]string{2: "Дубль строки 2: те же название и адрес"},
		},
		{
			name: "another legal form is another company",
			rows: []Row{
				companyRow(1, "ООО «Ромашка»", "", "", "г. Москва, ул. Ленина, д. 5"),
				companyRow(2, "АО «Ромашка»", "", "", "г. Москва, ул. Ленина, д. 5"),
				companyRow(3, "Общество с ограниченной ответственностью Ромашка", "", "", "г. Москва, улица Ленина, дом 5"),
			},
			groups: [][]int{{1, 3}},
		},
		{
			name: "a branch joins its head company and the reason names its КПП and address",
			rows: []Row{
				companyRow(1, "ПАО Сбербанк", innA, "773601001", "г. Москва, ул. Вавилова, д. 19"),
				companyRow(2, "Сбербанк (филиал в г. Омске)", innA, "550102001", "г. Омск, ул. Ленина, д. 2"),
			},
			groups:  [][]int{{1, 2}},
			reasons: map[int]string{2: "филиал: КПП 550102001, адрес г. Омск, ул. Ленина, д. 2"},
		},
		{
			name: "an amoCRM ID joins rows whatever their names",
			rows: []Row{
				withAmo(companyRow(1, "ООО Ромашка", "", "", "Москва"), 100),
				withAmo(companyRow(2, "Ромашка-М", "", "", "Тверь"), 100),
				withAmo(companyRow(3, "ООО Лютик", innB, "", ""), 101),
				companyRow(4, "Лютик", innB, "", ""),
			},
			groups:  [][]int{{1, 2}, {3, 4}},
			reasons: map[int]string{2: "тот же amoCRM ID", 4: "тот же ИНН"},
		},
		{
			name: "a contact's company named twice in the file is not guessed",
			rows: []Row{
				companyRow(1, "ООО Снабстрой", innA, "", "Москва"),
				companyRow(2, "ООО «Снабстрой»", innB, "", "Тверь"),
				contactRow(3, 300, "Иван", "ООО Снабстрой"),
			},
			reasons: map[int]string{3: "неоднозначна (строки 2, 3)"},
		},
	}
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		env := newPlanEnv(t, db, handUsers) // one base: each case is its own import
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, seed := range []uint64{0, 7, 8} {
					rows := tt.rows
					oldOf := map[int]int{}
					for i := range rows {
						oldOf[i+1] = i + 1
					}
					if seed != 0 {
						rows, oldOf = shuffleRows(rows, seed)
					}
					_, got, _ := env.run(t, rows)
					entity := map[int]int{} // old number → old number of its entity
					byOld := map[int]planned{}
					for n, r := range got {
						if old, ok := oldOf[n]; ok {
							entity[old] = oldOf[r.Entity]
							byOld[old] = r
						}
					}
					want := map[int]int{}
					for i := range tt.rows {
						want[i+1] = i + 1
					}
					for _, g := range tt.groups {
						for _, n := range g {
							want[n] = g[0]
						}
					}
					for a := range want {
						for b := range want {
							if (want[a] == want[b]) != (entity[a] == entity[b]) {
								t.Errorf("seed %d: rows %d and %d: one entity is %v, want %v", seed, a, b,
									entity[a] == entity[b], want[a] == want[b])
							}
						}
					}
					if seed != 0 {
						continue // the lines in the reasons are the shuffled ones
					}
					for n, s := range tt.reasons {
						if !strings.Contains(byOld[n].Reason, s) {
							t.Errorf("row %d: reason %q, want it to say %q", n, byOld[n].Reason, s)
						}
					}
				}
			})
		}
	})
}

// applyPlan writes an import's plan into the base with Apply, as the
// importing admin.
func applyPlan(t *testing.T, db *database.DB, importID int64, admin int64) {
	t.Helper()
	ctx := context.Background()
	actor := access.Scope{UserID: admin, Role: access.RoleAdmin, Data: access.Global, Name: "Иван Петров"}
	err := db.InTx(ctx, func(tx *sql.Tx) error { return Apply(ctx, tx, db, importID, actor, nil) })
	if err != nil {
		t.Fatalf("apply the plan: %v", err)
	}
}

func TestPlanAgainstTheBase(t *testing.T) {
	name := fixtures[0]
	tr := loadPlanTruth(t, name)
	rows := fixtureRows(t, name)

	t.Run("planning the same file again after it was imported changes nothing", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, db *database.DB) {
			env := newPlanEnv(t, db, tr)
			_, _, first := env.run(t, rows)
			applyPlan(t, db, first, env.admin)
			sum, got, _ := env.run(t, rows)
			if sum.Created != 0 || sum.Updated != 0 || sum.Errors != 0 {
				t.Errorf("second plan: %+v, want nothing created or updated", sum)
			}
			if sum.Merged != 0 {
				t.Errorf("second plan: %d merged, want none (the duplicates of unchanged companies are skips)", sum.Merged)
			}
			for n, r := range got {
				if r.Action == ActionSkip && r.Kind != "" && !strings.HasPrefix(r.Reason, "Без изменений") && !strings.Contains(r.Reason, "без изменений") {
					t.Errorf("row %d: skipped with reason %q", n, r.Reason)
				}
				if r.Kind == string(KindCompany) && r.CompanyID == 0 {
					t.Errorf("row %d: no company of the base: %s", n, r.Reason)
				}
				if r.Kind == string(KindContact) && r.ContactID == 0 {
					t.Errorf("row %d: no contact of the base: %s", n, r.Reason)
				}
			}
		})
	})

	t.Run("a newer export updates what changed", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, db *database.DB) {
			env := newPlanEnv(t, db, tr)
			_, _, first := env.run(t, rows)
			applyPlan(t, db, first, env.admin)
			newer := make([]Row, len(rows))
			copy(newer, rows)
			rec := *rows[9].Record // record 10, company C2
			rec.Phones = append(append([]contactinfo.Phone(nil), rec.Phones...), contactinfo.Phone{Value: "+7 495 111-22-33", E164: "+74951112233"})
			newer[9] = Row{Record: &rec}
			sum, got, _ := env.run(t, newer)
			if sum.Updated != 1 || sum.Created != 0 {
				t.Errorf("plan of the newer export: %+v, want one update", sum)
			}
			if r := got[10]; r.Action != ActionUpdate || !strings.Contains(r.Reason, "amoCRM ID") {
				t.Errorf("row 10: %s %q, want an update found by amoCRM ID", r.Action, r.Reason)
			}
		})
	})

	t.Run("companies already in the base, whoever owns them, are updated", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, db *database.DB) {
			env := newPlanEnv(t, db, tr)
			cast := dbtest.NewCast(t, db)
			ctx := context.Background()
			add := func(name, inn, address string) int64 {
				var id int64
				now := time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)
				if err := db.QueryRowContext(ctx, `INSERT INTO companies (name, name_norm, inn, address, address_norm, responsible_id,
					branch_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
					name, dedup.NormalizeName(name), inn, address, dedup.NormalizeAddress(address), cast.Vera.ID, cast.BranchB, now).Scan(&id); err != nil {
					t.Fatal(err)
				}
				return id
			}
			// C3 by its ИНН, under another spelling; C2 by name and address
			// (no ИНН in the base); C4's name and address but another legal
			// form: not C4.
			c3 := add("Столичная типография", "7720311179", "Москва")
			c2 := add("ООО «Стройтрест №24»", "", "г. Москва, ул. Суворова, д. 26, корп. 2, пом. V")
			add("АО «Биоком»", "", "Нижегородская обл., г Нижний Новгород, ул Гагарина, д 120, стр. 4")
			sum, got, _ := env.run(t, rows)
			if r := got[12]; r.Action != ActionUpdate || r.CompanyID != c3 || !strings.Contains(r.Reason, "ИНН") {
				t.Errorf("row 12 (C3): %s company %d %q, want an update of %d found by ИНН", r.Action, r.CompanyID, r.Reason, c3)
			}
			for _, n := range []int{34, 46} {
				if r := got[n]; r.Action != ActionMerge || r.CompanyID != c3 {
					t.Errorf("row %d (C3): %s company %d, want a merge into %d", n, r.Action, r.CompanyID, c3)
				}
			}
			if r := got[10]; r.Action != ActionUpdate || r.CompanyID != c2 || !strings.Contains(r.Reason, "названию и адресу") {
				t.Errorf("row 10 (C2): %s company %d %q, want an update of %d found by name and address", r.Action, r.CompanyID, r.Reason, c2)
			}
			if r := got[13]; r.Action != ActionCreate || r.CompanyID != 0 {
				t.Errorf("row 13 (C4, ООО): %s company %d, want a new company (the base's is АО)", r.Action, r.CompanyID)
			}
			if sum.Updated != 2 {
				t.Errorf("%+v, want 2 updates", sum)
			}
		})
	})

	t.Run("a contact whose company the file lacks links to the one such company of the base", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, db *database.DB) {
			env := newPlanEnv(t, db, tr)
			var id int64
			if err := db.QueryRowContext(context.Background(), `INSERT INTO companies (name, name_norm, created_at, updated_at)
				VALUES ('АО "Smart Logistic"', $1, $2, $2) RETURNING id`, dedup.NormalizeName("Smart Logistic"), database.Now()).Scan(&id); err != nil {
				t.Fatal(err)
			}
			_, got, _ := env.run(t, rows)
			if r := got[11]; r.CompanyID != id || r.LinkEntity != 0 {
				t.Errorf("row 11: company %d, link %d, want the base's company %d: %s", r.CompanyID, r.LinkEntity, id, r.Reason)
			}
			for n, r := range got {
				if r.Line == 0 {
					t.Errorf("row %d: a company created from a contact although the base has it: %s", n, r.Reason)
				}
			}
		})
	})
}

func TestPlanAgainOnTheSameImportGivesTheSamePlan(t *testing.T) {
	name := fixtures[1]
	tr := loadPlanTruth(t, name)
	rows := fixtureRows(t, name)
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		env := newPlanEnv(t, db, tr)
		_, _, id := env.run(t, rows)
		before := planDump(t, db, id)
		err := db.InTx(context.Background(), func(tx *sql.Tx) error {
			_, err := Plan(context.Background(), tx, db, id, PlanOptions{Fallback: env.admin})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if after := planDump(t, db, id); after != before {
			t.Errorf("the second plan differs:\n%s\nwant\n%s", after, before)
		}
	})
}

func TestEntitiesOfTheFileThatAreOneCompanyOfTheBaseAreJoined(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		env := newPlanEnv(t, db, planTruth{})
		// After an earlier import a user merged «Альфа» and «Альфа-Сервис» in
		// the CRM: the survivor carries both amoCRM IDs. A newer export still
		// has both records, and a third one with the company's ИНН.
		var id int64
		if err := db.QueryRowContext(ctx, `INSERT INTO companies (name, name_norm, inn, created_at, updated_at)
			VALUES ('ООО «Альфа»', $1, '7707083893', $2, $2) RETURNING id`, dedup.NormalizeName("ООО «Альфа»"), database.Now()).Scan(&id); err != nil {
			t.Fatal(err)
		}
		for _, amo := range []int64{111, 222} {
			if _, err := db.ExecContext(ctx, `INSERT INTO company_amo_ids (amo_id, company_id) VALUES ($1, $2)`, amo, id); err != nil {
				t.Fatal(err)
			}
		}
		rows := []Row{
			{Record: &Record{Number: 1, Line: 2, Kind: KindCompany, AmoID: 222, Name: "ООО «Альфа-Сервис»"}},
			{Record: &Record{Number: 2, Line: 3, Kind: KindCompany, AmoID: 555, Name: "Альфа, ООО", INN: "7707083893"}},
			{Record: &Record{Number: 3, Line: 4, Kind: KindCompany, AmoID: 111, Name: "ООО «Альфа»", Address: "Москва"}},
			{Record: &Record{Number: 4, Line: 5, Kind: KindContact, AmoID: 901, Name: "Иван Петров", Company: "Альфа, ООО"}},
		}
		sum, got, importID := env.run(t, rows)
		if r := got[1]; r.Action != ActionUpdate || r.CompanyID != id || r.Entity != 1 {
			t.Errorf("record 1: %s company %d entity %d %q, want the update of %d", r.Action, r.CompanyID, r.Entity, r.Reason, id)
		}
		for _, n := range []int{2, 3} {
			if r := got[n]; r.Action != ActionMerge || r.CompanyID != id || r.Entity != 1 || !strings.Contains(r.Reason, "Дубль строки 2: та же компания базы") {
				t.Errorf("record %d: %s company %d entity %d %q, want a merge into record 1", n, r.Action, r.CompanyID, r.Entity, r.Reason)
			}
		}
		if r := got[4]; r.LinkEntity != 1 {
			t.Errorf("the contact links to entity %d, want 1: %q", r.LinkEntity, r.Reason)
		}
		if sum.Updated != 1 || sum.Merged != 2 || sum.Created != 1 {
			t.Errorf("%+v, want 1 update, 2 merged and the contact created", sum)
		}

		applyPlan(t, db, importID, env.admin)
		var companies, amoIDs int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM companies`).Scan(&companies)
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM company_amo_ids WHERE company_id = $1`, id).Scan(&amoIDs)
		if companies != 1 || amoIDs != 3 {
			t.Errorf("after the import: %d companies, %d amoCRM IDs on the company, want 1 and 3", companies, amoIDs)
		}
	})
}

// TestPlanFindsBaseCompaniesByINNThroughTheIndex checks SQLite's plan of
// the ИНН lookup against the base: the companies are searched through
// companies_inn_idx, not scanned once per row of the file (which made a
// file against a base of 500,000 companies take hours).
func TestPlanFindsBaseCompaniesByINNThroughTheIndex(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	text := strings.Join(dbtest.SQLitePlan(t, db, matchINNQuery, int64(1)), "\n")
	if !strings.Contains(text, "SEARCH c USING INDEX companies_inn_idx") {
		t.Errorf("the ИНН lookup does not search companies by companies_inn_idx:\n%s", text)
	}
}

// TestPlanGivesTheBulkSessionItsSettingsBack: Plan sorts the staged rows
// in a sort session (database.SortSession) inside the run's bulk
// transaction, and decide and Apply get the bulk session's in-memory
// temporary data and large page cache back; the plan is the same.
func TestPlanGivesTheBulkSessionItsSettingsBack(t *testing.T) {
	name := fixtures[1]
	tr := loadPlanTruth(t, name)
	rows := fixtureRows(t, name)
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		env := newPlanEnv(t, db, tr)
		_, _, id := env.run(t, rows)
		before := planDump(t, db, id)
		pragmas := func(tx *sql.Tx) string {
			t.Helper()
			if db.Dialect != database.SQLite {
				return ""
			}
			var store, cache int64
			if err := tx.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&store); err != nil {
				t.Fatal(err)
			}
			if err := tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("temp_store %d, cache_size %d", store, cache)
		}
		err := db.InBulkTx(ctx, func(tx *sql.Tx) error {
			restore, err := db.BulkSession(ctx, tx)
			if err != nil {
				return err
			}
			bulk := pragmas(tx)
			if _, err := Plan(ctx, tx, db, id, PlanOptions{Fallback: env.admin}); err != nil {
				return err
			}
			if after := pragmas(tx); after != bulk {
				t.Errorf("after Plan: %s, want the bulk session's %s", after, bulk)
			}
			return restore()
		})
		if err != nil {
			t.Fatal(err)
		}
		if after := planDump(t, db, id); after != before {
			t.Errorf("the plan in a bulk transaction differs:\n%s\nwant\n%s", after, before)
		}
	})
}
