package amoimport_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// planRow is one hand-made appliedRow row of import_rows.
type planRow struct {
	action      string
	entity      int
	companyID   int64
	contactID   int64
	link        int
	responsible int64
	rec         amoimport.Record
}

// stage writes a new import and its appliedRow rows, numbered by their
// records, and returns the import's id.
func stage(t *testing.T, db *database.DB, rows []planRow) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := db.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_at) VALUES ('amo.csv', FALSE, $1) RETURNING id`,
		database.Now()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		b, err := json.Marshal(r.rec)
		if err != nil {
			t.Fatal(err)
		}
		var entity any
		if r.entity != 0 {
			entity = r.entity
		}
		var link any
		if r.link != 0 {
			link = r.link
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO import_rows (import_id, number, line, kind, amo_id, record, action, entity,
			company_id, contact_id, link_entity, responsible_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			id, r.rec.Number, r.rec.Number+1, string(r.rec.Kind), database.NullInt64(r.rec.AmoID), string(b), r.action, entity,
			database.NullInt64(r.companyID), database.NullInt64(r.contactID), link, database.NullInt64(r.responsible)); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// apply runs Apply on import id in its own transaction.
func apply(t *testing.T, db *database.DB, id int64, actor access.Scope) error {
	t.Helper()
	return db.InTx(context.Background(), func(tx *sql.Tx) error {
		return amoimport.Apply(context.Background(), tx, db, id, actor, nil)
	})
}

// baseTables are every table an import writes to, each with its order.
var baseTables = []struct{ table, order string }{
	{"companies", "id"}, {"company_phones", "id"}, {"company_emails", "id"}, {"company_spheres", "company_id, sphere_id"},
	{"company_terms", "company_id, term"}, {"company_names", "id"}, {"name_trigrams", "name_id, trigram, ntri"},
	{"company_tallies", "branch_id, responsible_id, status_id"},
	{"company_notes", "id"}, {"company_amo_ids", "amo_id"}, {"spheres", "id"},
	{"contacts", "id"}, {"contact_phones", "id"}, {"contact_emails", "id"}, {"contact_terms", "contact_id, term"},
	{"contact_tallies", "id"}, {"contact_amo_ids", "amo_id"}, {"duplicate_dirty", "company_id"}, {"audit_log", "id"},
}

// dumpBase is every row of the base's tables as text, one line a row.
func dumpBase(t *testing.T, db *database.DB) string {
	t.Helper()
	var b strings.Builder
	for _, d := range baseTables {
		dumpTable(t, db, &b, d.table, d.order)
	}
	return b.String()
}

func dumpTable(t *testing.T, db *database.DB, b *strings.Builder, table, order string) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT * FROM `+table+` ORDER BY `+order)
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
			v := vals[i]
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(b, " %s=%v", c, v)
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func phone(v string) contactinfo.Phone { return contactinfo.Phone{Value: v, Kind: "work"} }
func email(v string) contactinfo.Email { return contactinfo.Email{Value: v, Kind: "work"} }

// fixture is a base with one company and one contact, and a plan over it.
type fixture struct {
	cast      dbtest.Cast
	yandex    int64 // a company already in the base
	petrov    int64 // a contact already in the base, without a company
	importID  int64
	createdAt time.Time
}

func newFixture(t *testing.T, db *database.DB) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{cast: dbtest.NewCast(t, db), createdAt: time.Date(2024, 1, 2, 10, 30, 0, 0, time.UTC)}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		n := company.NewCompany{Name: "Яндекс", INN: "7736207543", ResponsibleID: f.cast.Vera.ID, BranchID: f.cast.BranchB,
			Phones: []company.Phone{phone("+7 495 000-00-01")}}
		if inv := n.Normalize(); len(inv) > 0 {
			return inv
		}
		ids, err := company.NewStore(db).InsertBatch(ctx, tx, []company.NewCompany{n})
		if err != nil {
			return err
		}
		f.yandex = ids[0]
		cids, err := contact.NewStore(db).InsertBatchIDs(ctx, tx, []contact.NewContact{{LastName: "Петров", FirstName: "Пётр"}})
		f.petrov = cids[0]
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	alisa := f.cast.Alisa.ID
	rec := func(n int, kind amoimport.Kind, amo int64, name string) amoimport.Record {
		return amoimport.Record{Number: n, Kind: kind, AmoID: amo, Name: name}
	}
	r1 := rec(1, amoimport.KindCompany, 101, "ООО Ромашка")
	r1.INN, r1.KPP, r1.Phones, r1.Spheres, r1.Notes, r1.CreatedAt = "7707083893", "773601001",
		[]contactinfo.Phone{phone("8 (495) 123-45-67")}, []string{"Опт"}, []string{"Первая заметка", "Из первой строки"}, f.createdAt
	r2 := rec(2, amoimport.KindCompany, 102, "Ромашка")
	r2.INN, r2.KPP, r2.Phones, r2.Emails, r2.Notes = "7707083893", "773601001",
		[]contactinfo.Phone{phone("+7 495 123-45-67")}, []contactinfo.Email{email("info@romashka.ru")}, []string{"Вторая заметка", "Первая заметка"}
	r3 := rec(3, amoimport.KindCompany, 103, "Ромашка (филиал в Казани)")
	r3.INN, r3.KPP, r3.Address = "7707083893", "773643001", "Казань, ул. Баумана, 1"
	r4 := rec(4, amoimport.KindCompany, 104, "Яндекс")
	r4.INN, r4.Address, r4.Phones, r4.Spheres = "7736207543", "Москва, ул. Льва Толстого, 16",
		[]contactinfo.Phone{phone("+7 495 000-00-01"), phone("+7 495 000-00-02")}, []string{"ИТ"}
	r5 := rec(5, amoimport.KindContact, 201, "Иванов Иван")
	r5.LastName, r5.FirstName, r5.Company, r5.Phones = "Иванов", "Иван", "Ромашка", []contactinfo.Phone{{Value: "+7 916 123-45-67", Kind: "mobile"}}
	r6 := rec(6, amoimport.KindContact, 202, "Сидоров")
	r6.LastName, r6.Company = "Сидоров", "Яндекс"
	r7 := rec(7, amoimport.KindContact, 203, "Петров Пётр")
	r7.LastName, r7.FirstName, r7.Emails, r7.Position = "Петров", "Пётр", []contactinfo.Email{email("petrov@yandex.ru")}, "Директор"
	r8 := rec(8, amoimport.KindContact, 204, "Орлов Олег")
	r8.LastName, r8.FirstName, r8.Company = "Орлов", "Олег", "Орфей"
	r10 := rec(10, amoimport.KindCompany, 0, "Орфей")
	f.importID = stage(t, db, []planRow{
		{action: amoimport.ActionMerge, entity: 2, responsible: alisa, rec: r1},
		{action: amoimport.ActionCreate, entity: 2, responsible: alisa, rec: r2},
		{action: amoimport.ActionMerge, entity: 2, responsible: alisa, rec: r3},
		{action: amoimport.ActionUpdate, entity: 4, companyID: f.yandex, responsible: alisa, rec: r4},
		{action: amoimport.ActionCreate, entity: 5, link: 2, responsible: alisa, rec: r5},
		{action: amoimport.ActionCreate, entity: 6, companyID: f.yandex, rec: r6},
		{action: amoimport.ActionUpdate, entity: 7, contactID: f.petrov, link: 4, rec: r7},
		{action: amoimport.ActionCreate, entity: 8, link: 10, rec: r8},
		{action: amoimport.ActionSkip, rec: amoimport.Record{Number: 9}},
		{action: amoimport.ActionCreate, entity: 10, rec: r10},
	})
	return f
}

// companyByName reads the live company named name with its children.
func companyByName(t *testing.T, db *database.DB, name string) company.Company {
	t.Helper()
	ids, err := database.Column[int64](context.Background(), db, `SELECT id FROM companies WHERE name = $1 AND deleted_at IS NULL`, name)
	if err != nil || len(ids) != 1 {
		t.Fatalf("companies named %q: %v, %v", name, ids, err)
	}
	list, err := company.NewStore(db).LoadBatch(context.Background(), db, ids)
	if err != nil {
		t.Fatal(err)
	}
	return list[0]
}

func contactByName(t *testing.T, db *database.DB, last string) contact.Contact {
	t.Helper()
	ids, err := database.Column[int64](context.Background(), db, `SELECT id FROM contacts WHERE last_name = $1`, last)
	if err != nil || len(ids) != 1 {
		t.Fatalf("contacts named %q: %v, %v", last, ids, err)
	}
	list, err := contact.NewStore(db).LoadBatch(context.Background(), db, ids)
	if err != nil {
		t.Fatal(err)
	}
	return list[0]
}

func column[T any](t *testing.T, db *database.DB, q string, args ...any) []T {
	t.Helper()
	out, err := database.Column[T](context.Background(), db, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestApply(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		if err := apply(t, db, f.importID, f.cast.Admin.Scope); err != nil {
			t.Fatal(err)
		}
		romashka := companyByName(t, db, "Ромашка")
		yandex := companyByName(t, db, "Яндекс")
		orphan := companyByName(t, db, "Орфей")

		t.Run("the base holds the created companies and the existing one, nothing more", func(t *testing.T) {
			if n := column[int64](t, db, `SELECT COUNT(*) FROM companies`); n[0] != 3 {
				t.Errorf("companies = %d, want 3", n[0])
			}
		})
		t.Run("rows of one entity become one company, its own row first", func(t *testing.T) {
			if romashka.INN != "7707083893" || romashka.KPP != "773601001" {
				t.Errorf("ИНН/КПП = %s/%s", romashka.INN, romashka.KPP)
			}
			if romashka.Address != "Казань, ул. Баумана, 1" {
				t.Errorf("address = %q, want the branch row's (the only one)", romashka.Address)
			}
			if len(romashka.Phones) != 1 || romashka.Phones[0].E164 != "+74951234567" {
				t.Errorf("phones = %+v, want the one number once", romashka.Phones)
			}
			if len(romashka.Emails) != 1 || romashka.Emails[0].Value != "info@romashka.ru" {
				t.Errorf("emails = %+v", romashka.Emails)
			}
			if !slices.Equal(romashka.SphereNames, []string{"Опт"}) {
				t.Errorf("spheres = %v", romashka.SphereNames)
			}
			if romashka.ResponsibleID == nil || *romashka.ResponsibleID != f.cast.Alisa.ID ||
				romashka.BranchID == nil || *romashka.BranchID != f.cast.BranchA {
				t.Errorf("responsible/branch = %v/%v, want Алиса and her branch", romashka.ResponsibleID, romashka.BranchID)
			}
			if romashka.CreatedByID == nil || *romashka.CreatedByID != f.cast.Admin.ID {
				t.Errorf("created_by = %v, want the admin who imports", romashka.CreatedByID)
			}
		})
		t.Run("notes are the union of the rows' notes, by the row's responsible", func(t *testing.T) {
			texts := column[string](t, db, `SELECT text FROM company_notes WHERE company_id = $1 ORDER BY text`, romashka.ID)
			if !slices.Equal(texts, []string{"Вторая заметка", "Из первой строки", "Первая заметка"}) {
				t.Errorf("notes = %q", texts)
			}
			authors := column[int64](t, db, `SELECT DISTINCT author_id FROM company_notes WHERE company_id = $1`, romashka.ID)
			if !slices.Equal(authors, []int64{f.cast.Alisa.ID}) {
				t.Errorf("authors = %v", authors)
			}
		})
		t.Run("a note takes the record's creation date when it has one", func(t *testing.T) {
			var at time.Time
			if err := db.QueryRowContext(context.Background(), `SELECT created_at FROM company_notes WHERE company_id = $1 AND text = 'Первая заметка'`,
				romashka.ID).Scan(&at); err != nil {
				t.Fatal(err)
			}
			// «Первая заметка» comes first from row 2, the entity's own row, which has no date.
			if at.Equal(f.createdAt) {
				t.Errorf("created_at = %v: the head row's note has no date of its own", at)
			}
			if err := db.QueryRowContext(context.Background(), `SELECT created_at FROM company_notes WHERE company_id = $1 AND text = 'Из первой строки'`,
				romashka.ID).Scan(&at); err != nil {
				t.Fatal(err)
			}
			if !at.Equal(f.createdAt) {
				t.Errorf("created_at = %v, want the record's %v", at, f.createdAt)
			}
		})
		t.Run("every amoCRM ID of an entity points to its company", func(t *testing.T) {
			got := column[int64](t, db, `SELECT amo_id FROM company_amo_ids WHERE company_id = $1 ORDER BY amo_id`, romashka.ID)
			if !slices.Equal(got, []int64{101, 102, 103}) {
				t.Errorf("amo ids of Ромашка = %v", got)
			}
			got = column[int64](t, db, `SELECT amo_id FROM company_amo_ids WHERE company_id = $1`, yandex.ID)
			if !slices.Equal(got, []int64{104}) {
				t.Errorf("amo ids of Яндекс = %v", got)
			}
		})
		t.Run("an update fills what the base lacks and adds phones and spheres without repeats", func(t *testing.T) {
			if yandex.ID != f.yandex {
				t.Fatalf("Яндекс is %d, want the existing %d", yandex.ID, f.yandex)
			}
			if yandex.Address != "Москва, ул. Льва Толстого, 16" {
				t.Errorf("address = %q", yandex.Address)
			}
			var e164 []string
			for _, p := range yandex.Phones {
				e164 = append(e164, p.E164)
			}
			if !slices.Equal(e164, []string{"+74950000001", "+74950000002"}) {
				t.Errorf("phones = %v", e164)
			}
			if !slices.Equal(yandex.SphereNames, []string{"ИТ"}) {
				t.Errorf("spheres = %v", yandex.SphereNames)
			}
			if *yandex.ResponsibleID != f.cast.Vera.ID {
				t.Errorf("responsible = %d, want Вера kept", *yandex.ResponsibleID)
			}
		})
		t.Run("spheres named in the file are added to the dictionary once", func(t *testing.T) {
			got := column[string](t, db, `SELECT name FROM spheres WHERE name IN ('Опт', 'ИТ') ORDER BY name`)
			if !slices.Equal(got, []string{"ИТ", "Опт"}) {
				t.Errorf("spheres = %v", got)
			}
		})
		t.Run("a contact links to a created company, an existing one and an orphan-created one", func(t *testing.T) {
			for _, c := range []struct {
				last string
				want int64
			}{{"Иванов", romashka.ID}, {"Сидоров", f.yandex}, {"Петров", f.yandex}, {"Орлов", orphan.ID}} {
				got := contactByName(t, db, c.last)
				if got.CompanyID == nil || *got.CompanyID != c.want {
					t.Errorf("%s: company = %v, want %d", c.last, got.CompanyID, c.want)
				}
			}
		})
		t.Run("an existing contact gets what the file adds", func(t *testing.T) {
			p := contactByName(t, db, "Петров")
			if p.ID != f.petrov || p.Position != "Директор" || len(p.Emails) != 1 {
				t.Errorf("Петров = %+v", p)
			}
		})
		t.Run("contacts keep their amoCRM IDs", func(t *testing.T) {
			got := column[int64](t, db, `SELECT amo_id FROM contact_amo_ids ORDER BY amo_id`)
			if !slices.Equal(got, []int64{201, 202, 203, 204}) {
				t.Errorf("contact amo ids = %v", got)
			}
		})
		t.Run("the report's rows name the company or contact they were written to", func(t *testing.T) {
			got := column[string](t, db, `SELECT r.number || ':' || COALESCE(x.company_id, r.company_id, 0) || ':' || COALESCE(x.contact_id, r.contact_id, 0)
				FROM import_rows r LEFT JOIN import_row_ids x ON x.import_id = r.import_id AND x.number = r.number
				WHERE r.import_id = $1 ORDER BY r.number`, f.importID)
			iv, sd, pt, ol := contactByName(t, db, "Иванов").ID, contactByName(t, db, "Сидоров").ID, f.petrov, contactByName(t, db, "Орлов").ID
			want := []string{
				fmt.Sprintf("1:%d:0", romashka.ID), fmt.Sprintf("2:%d:0", romashka.ID), fmt.Sprintf("3:%d:0", romashka.ID),
				fmt.Sprintf("4:%d:0", f.yandex), fmt.Sprintf("5:%d:%d", romashka.ID, iv), fmt.Sprintf("6:%d:%d", f.yandex, sd),
				fmt.Sprintf("7:%d:%d", f.yandex, pt), fmt.Sprintf("8:%d:%d", orphan.ID, ol), "9:0:0", fmt.Sprintf("10:%d:0", orphan.ID),
			}
			if !slices.Equal(got, want) {
				t.Errorf("rows = %v\nwant   %v", got, want)
			}
		})
		t.Run("the tallies count the created companies and contacts", func(t *testing.T) {
			if n := column[int64](t, db, `SELECT SUM(n) FROM company_tallies`); n[0] != 3 {
				t.Errorf("company tallies = %d", n[0])
			}
			if n := column[int64](t, db, `SELECT n FROM contact_tallies`); n[0] != 4 {
				t.Errorf("contact tallies = %d", n[0])
			}
		})
		t.Run("nothing differs, so the company says so", func(t *testing.T) {
			recs := column[string](t, db, `SELECT record FROM import_rows WHERE import_id = $1 AND number IN (2, 1, 3) ORDER BY number = 2 DESC, number`, f.importID)
			var list []amoimport.Record
			for _, s := range recs {
				var r amoimport.Record
				if err := json.Unmarshal([]byte(s), &r); err != nil {
					t.Fatal(err)
				}
				list = append(list, r)
			}
			notes := column[string](t, db, `SELECT text FROM company_notes WHERE company_id = $1`, romashka.ID)
			if got := amoimport.CompanyChanges(romashka, notes, []int64{101, 102, 103}, list); len(got) != 0 {
				t.Errorf("changes = %v, want none", got)
			}
			if got := amoimport.CompanyChanges(romashka, nil, []int64{101}, list); !slices.Equal(got, []string{"notes", "amo_ids"}) {
				t.Errorf("changes = %v, want notes and amo_ids", got)
			}
		})

		t.Run("applying an identical plan again changes nothing", func(t *testing.T) {
			before := dumpBase(t, db)
			again := reimport(t, db, f.importID)
			if err := apply(t, db, again, f.cast.Admin.Scope); err != nil {
				t.Fatal(err)
			}
			if after := dumpBase(t, db); after != before {
				t.Errorf("the base changed:\n%s", diffLines(before, after))
			}
			if err := apply(t, db, f.importID, f.cast.Admin.Scope); err != nil {
				t.Fatal(err)
			}
			if after := dumpBase(t, db); after != before {
				t.Errorf("the same import applied twice changed the base:\n%s", diffLines(before, after))
			}
		})
	})
}

// reimport stages the rows of import id again as a new import planned
// against the base they were written to: what plan makes of the same
// file run a second time.
func reimport(t *testing.T, db *database.DB, id int64) int64 {
	t.Helper()
	next := stage(t, db, nil)
	if _, err := db.ExecContext(context.Background(), `INSERT INTO import_rows (import_id, number, line, kind, amo_id, record, action, entity,
		company_id, contact_id, link_entity, responsible_id)
		SELECT $1, r.number, r.line, r.kind, r.amo_id, r.record, CASE r.action WHEN 'create' THEN 'update' ELSE r.action END, r.entity,
			COALESCE(x.company_id, r.company_id), COALESCE(x.contact_id, r.contact_id), r.link_entity, r.responsible_id
		FROM import_rows r LEFT JOIN import_row_ids x ON x.import_id = r.import_id AND x.number = r.number
		WHERE r.import_id = $2`, next, id); err != nil {
		t.Fatal(err)
	}
	return next
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func TestApplyFailureLeavesTheBaseAsItWas(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		good := amoimport.Record{Number: 1, Kind: amoimport.KindCompany, AmoID: 501, Name: "Новая", Spheres: []string{"Новая сфера"},
			Notes: []string{"Заметка"}}
		bad := amoimport.Record{Number: 2, Kind: amoimport.KindCompany, AmoID: 502, Name: "Чужая"}
		id := stage(t, db, []planRow{
			{action: amoimport.ActionCreate, entity: 1, responsible: f.cast.Alisa.ID, rec: good},
			// A responsible who is no user: the companies' foreign key refuses the row.
			{action: amoimport.ActionCreate, entity: 2, responsible: 999999, rec: bad},
		})
		before := dumpBase(t, db)
		if err := apply(t, db, id, f.cast.Admin.Scope); err == nil {
			t.Fatal("Apply succeeded, want the foreign key's error")
		}
		if after := dumpBase(t, db); after != before {
			t.Errorf("a failed import changed the base:\n%s", diffLines(before, after))
		}
		if ids := column[int64](t, db, `SELECT COUNT(*) FROM import_row_ids WHERE import_id = $1`, id); ids[0] != 0 {
			t.Errorf("%d report rows name a company that was rolled back", ids[0])
		}
	})
}
