package amoimport

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// planTruth is the part of a fixture's .truth.json that planning answers
// for.
type planTruth struct {
	Expected struct {
		Companies              int            `json:"companies"`
		CompaniesPlusOrphanRef int            `json:"companies_plus_orphan_refs"`
		Contacts               int            `json:"contacts"`
		WarningsByCode         map[string]int `json:"warnings_by_code"`
	} `json:"expected"`
	Duplicates []struct {
		Record int    `json:"record"`
		Type   string `json:"type"`
		Entity string `json:"entity"`
		Of     int    `json:"duplicate_of_record"`
		Match  string `json:"match"`
	} `json:"duplicates"`
	Invalid []struct {
		Record int `json:"record"`
	} `json:"invalid"`
	RowEntity      []*string          `json:"row_entity"`
	RowResponsible []*string          `json:"row_responsible"`
	ContactCompany map[string]*string `json:"contact_company"`
	Users          []struct {
		Username  string `json:"username"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
	} `json:"users"`
}

func loadPlanTruth(t *testing.T, name string) planTruth {
	t.Helper()
	b, err := fs.ReadFile(testdata, name+".truth.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr planTruth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// planned is one import_rows row after Plan.
type planned struct {
	Number, Line         int
	Kind, Action, Reason string
	Entity, LinkEntity   int
	CompanyID, ContactID int64
	Responsible, Creator int64
	Issues               []Issue
}

// sliceRows is Rows over a slice, for tests.
type sliceRows struct {
	rows []Row
	i    int
}

func (s *sliceRows) Next() (Row, error) {
	if s.i >= len(s.rows) {
		return Row{}, io.EOF
	}
	s.i++
	return s.rows[s.i-1], nil
}

// fixtureRows parses a fixture into Rows.
func fixtureRows(t *testing.T, name string) []Row {
	t.Helper()
	data, err := fs.ReadFile(testdata, name)
	if err != nil {
		t.Fatal(err)
	}
	return parseRows(t, data)
}

// planEnv is a database with the truth's users, an admin who imports and
// an import.
type planEnv struct {
	db    *database.DB
	admin int64
	users map[string]int64 // username → id
}

func newPlanEnv(t *testing.T, db *database.DB, tr planTruth) *planEnv {
	t.Helper()
	ctx := context.Background()
	env := &planEnv{db: db, users: map[string]int64{}}
	joined := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, email, role, date_joined)
		VALUES ('importer', 'Иван', 'Петров', 'importer@example.ru', 'admin', $1) RETURNING id`, joined).Scan(&env.admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range tr.Users {
		var id int64
		if err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, email, date_joined)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, u.Username, u.FirstName, u.LastName, u.Email, joined).Scan(&id); err != nil {
			t.Fatal(err)
		}
		env.users[u.Username] = id
	}
	return env
}

// run stages rows as a new import, plans it and returns its rows by
// number.
func (env *planEnv) run(t *testing.T, rows []Row) (Summary, map[int]planned, int64) {
	t.Helper()
	ctx := context.Background()
	var (
		importID int64
		sum      Summary
	)
	err := env.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_by, created_at)
			VALUES ('amo.csv', TRUE, $1, $2) RETURNING id`, env.admin, database.Now()).Scan(&importID); err != nil {
			return err
		}
		n, err := Stage(ctx, tx, env.db, importID, &sliceRows{rows: rows})
		if err != nil {
			return err
		}
		if n != len(rows) {
			t.Errorf("Stage staged %d rows of %d", n, len(rows))
		}
		sum, err = Plan(ctx, tx, env.db, importID, PlanOptions{Fallback: env.admin})
		return err
	})
	if err != nil {
		t.Fatalf("stage and plan: %v", err)
	}
	return sum, env.rows(t, importID), importID
}

// rows reads an import's planned rows.
func (env *planEnv) rows(t *testing.T, importID int64) map[int]planned {
	t.Helper()
	rows, err := env.db.QueryContext(context.Background(), `SELECT r.number, r.line, r.kind, `+rowAction+`, COALESCE(d.reason, r.reason), COALESCE(r.entity, 0),
		COALESCE(d.link_entity, r.link_entity, 0), COALESCE(x.company_id, d.company_id, r.company_id, 0),
		COALESCE(x.contact_id, d.contact_id, r.contact_id, 0), COALESCE(d.responsible_id, r.responsible_id, 0),
		COALESCE(d.created_by_id, r.created_by_id, 0), COALESCE(d.issues, r.issues)`+rowsFrom+`
		WHERE r.import_id = $1 ORDER BY r.number`, importID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[int]planned{}
	for rows.Next() {
		var (
			r      planned
			issues string
		)
		if err := rows.Scan(&r.Number, &r.Line, &r.Kind, &r.Action, &r.Reason, &r.Entity, &r.LinkEntity, &r.CompanyID,
			&r.ContactID, &r.Responsible, &r.Creator, &issues); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(issues), &r.Issues); err != nil {
			t.Fatalf("row %d issues %q: %v", r.Number, issues, err)
		}
		out[r.Number] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTruth compares a plan of a fixture with its truth.
// In the file's own order (ordered) the truth's duplicates are the rows
// merged; in another order the first row of an entity there leads it, so
// only the number of merges is compared.
func checkTruth(t *testing.T, env *planEnv, tr planTruth, sum Summary, got map[int]planned, ordered bool) {
	t.Helper()
	// row_entity: one entity per truth label and one label per entity.
	labelOf := map[int]string{} // our entity → truth label
	entityOf := map[string]int{}
	for i, label := range tr.RowEntity {
		n := i + 1
		r := got[n]
		if label == nil {
			if r.Action != ActionSkip {
				t.Errorf("row %d: action %q, want skip (an invalid row): %s", n, r.Action, r.Reason)
			}
			continue
		}
		if r.Entity == 0 {
			t.Errorf("row %d (%s): no entity", n, *label)
			continue
		}
		if e, ok := entityOf[*label]; ok && e != r.Entity {
			t.Errorf("row %d: entity %d, but %s is entity %d", n, r.Entity, *label, e)
		}
		if l, ok := labelOf[r.Entity]; ok && l != *label {
			t.Errorf("row %d: entity %d is %s and %s", n, r.Entity, l, *label)
		}
		entityOf[*label] = r.Entity
		labelOf[r.Entity] = *label
	}
	// duplicates: each is a merge into its entity.
	for _, d := range tr.Duplicates {
		if r := got[d.Record]; ordered && r.Action != ActionMerge {
			t.Errorf("row %d (duplicate of %d by %s): action %q, want merge: %s", d.Record, d.Of, d.Match, r.Action, r.Reason)
		}
	}
	// row_responsible.
	for i, username := range tr.RowResponsible {
		n := i + 1
		r := got[n]
		if tr.RowEntity[i] == nil {
			continue
		}
		want := env.admin
		if username != nil {
			want = env.users[*username]
		}
		if r.Responsible != want {
			t.Errorf("row %d: responsible %d, want %d (%v): %s", n, r.Responsible, want, strOr(username), r.Reason)
		}
	}
	// contact_company.
	for label, want := range tr.ContactCompany {
		head := got[entityOf[label]]
		w := strOr(want)
		switch {
		case want == nil:
			if head.LinkEntity != 0 || hasIssue(head, "contact_company_ambiguous") {
				t.Errorf("%s (row %d): linked to %d, want no company", label, head.Number, head.LinkEntity)
			}
		case w == "orphan":
			if c := got[head.LinkEntity]; head.LinkEntity == 0 || c.Line != 0 || c.Action != ActionCreate || !hasIssue(head, "contact_company_orphan") {
				t.Errorf("%s (row %d): linked to %d (%+v), want a company created from the contact", label, head.Number, head.LinkEntity, c)
			}
		case strings.HasPrefix(w, "ambiguous:"):
			if head.LinkEntity != 0 || !hasIssue(head, "contact_company_ambiguous") {
				t.Errorf("%s (row %d): linked to %d, want ambiguous (%s)", label, head.Number, head.LinkEntity, w)
			}
		default:
			if labelOf[head.LinkEntity] != w {
				t.Errorf("%s (row %d): linked to %d (%s), want %s", label, head.Number, head.LinkEntity, labelOf[head.LinkEntity], w)
			}
		}
	}
	// The entities created and the plan's warnings.
	companies, contacts := map[int]bool{}, map[int]bool{}
	codes := map[string]int{}
	for _, r := range got {
		switch Kind(r.Kind) {
		case KindCompany:
			companies[r.Entity] = true
		case KindContact:
			contacts[r.Entity] = true
		}
		for _, is := range r.Issues {
			codes[is.Code]++
		}
	}
	if len(companies) != tr.Expected.CompaniesPlusOrphanRef {
		t.Errorf("%d companies, want %d", len(companies), tr.Expected.CompaniesPlusOrphanRef)
	}
	if len(contacts) != tr.Expected.Contacts {
		t.Errorf("%d contacts, want %d", len(contacts), tr.Expected.Contacts)
	}
	for _, code := range []string{"responsible_unknown", "contact_company_orphan", "contact_company_ambiguous"} {
		if codes[code] != tr.Expected.WarningsByCode[code] {
			t.Errorf("%d %s warnings, want %d", codes[code], code, tr.Expected.WarningsByCode[code])
		}
	}
	if want := tr.Expected.CompaniesPlusOrphanRef + tr.Expected.Contacts; sum.Created != want {
		t.Errorf("summary: %d created, want %d (%+v)", sum.Created, want, sum)
	}
	if sum.Merged != len(tr.Duplicates) {
		t.Errorf("summary: %d merged, want %d (%+v)", sum.Merged, len(tr.Duplicates), sum)
	}
}

func hasIssue(r planned, code string) bool {
	for _, is := range r.Issues {
		if is.Code == code {
			return true
		}
	}
	return false
}

func strOr(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestPlanFixtures(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			tr := loadPlanTruth(t, name)
			rows := fixtureRows(t, name)
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				env := newPlanEnv(t, db, tr)
				sum, got, _ := env.run(t, rows)
				checkTruth(t, env, tr, sum, got, true)
			})
		})
	}
}
