package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestWhoMayChangeACompanysResponsibleAndBranch runs every role of the
// cast against the two fields not every editor may change — the
// responsible and the branch — through create, PATCH and PUT. Each
// attempt works on a company the member is responsible for (so editing
// itself is allowed) and must end in 2xx or 403 exactly as the contract
// says; a refusal changes nothing and is in the audit log.
func TestWhoMayChangeACompanysResponsibleAndBranch(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		const allowed, refused = true, false
		cases := []struct {
			who   dbtest.Member
			field string
			value any // nil is JSON null
			ok    bool
			what  string
		}{
			{c.Admin, "branch", c.BranchB, allowed, "admin puts a company in any branch"},
			{c.Admin, "responsible", c.Vera.ID, allowed, "admin makes anyone responsible"},
			{c.Darya, "branch", c.BranchA, allowed, "a group manager puts a company in any branch"},
			{c.Darya, "responsible", c.Vera.ID, allowed, "a group manager makes anyone responsible"},
			{c.Boris, "responsible", c.Alisa.ID, allowed, "a branch director assigns a person of the branch"},
			{c.Boris, "branch", c.BranchA, allowed, "a branch director keeps the company in the branch"},
			{c.Boris, "responsible", c.Vera.ID, refused, "a branch director may not assign a person of another branch"},
			{c.Boris, "responsible", nil, refused, "a branch director may not leave a company without a responsible"},
			{c.Boris, "branch", c.BranchB, refused, "a branch director may not move a company to another branch"},
			{c.Boris, "branch", nil, refused, "a branch director may not take a company out of the branch"},
			{c.Alisa, "responsible", c.Alisa.ID, allowed, "a manager may name themselves, as they are"},
			{c.Alisa, "branch", c.BranchA, allowed, "a manager may name their own branch, as it is"},
			{c.Alisa, "responsible", c.Boris.ID, refused, "a manager may not hand a company to a colleague"},
			{c.Alisa, "branch", c.BranchB, refused, "a manager may not move a company to another branch"},
			{c.Alisa, "branch", nil, refused, "a manager may not take a company out of the branch"},
			{c.Vera, "responsible", c.Gleb.ID, refused, "a manager of branch B may not hand a company to a colleague"},
			{c.Vera, "branch", c.BranchA, refused, "a manager of branch B may not move a company to branch A"},
			{c.Gleb, "responsible", c.Vera.ID, refused, "a manager who sees the whole base still may not reassign"},
			{c.Gleb, "branch", c.BranchA, refused, "a manager who sees the whole base still may not move a company"},
		}
		methods := []struct {
			method string
			ok     int
		}{{"POST", http.StatusCreated}, {"PATCH", http.StatusOK}, {"PUT", http.StatusOK}}
		for _, tc := range cases {
			for _, m := range methods {
				t.Run(fmt.Sprintf("%s: %s (%s)", tc.who.Username, tc.what, m.method), func(t *testing.T) {
					body := map[string]any{tc.field: tc.value}
					path := "/api/companies/"
					var id int64
					if m.method != "PATCH" {
						body["name"] = "Ромашка"
					}
					if m.method != "POST" {
						id = ownCompany(t, e, tc.who)
						path = fmt.Sprintf("/api/companies/%d/", id)
					}
					// On create a null responsible is the caller, the default.
					ok := tc.ok || m.method == "POST" && tc.field == "responsible" && tc.value == nil
					deniedBefore := countDenied(t, e)
					var got company.Company
					code := e.api(&tc.who, m.method, path, body, &got)
					switch {
					case ok && code != m.ok:
						t.Fatalf("status %d, want %d", code, m.ok)
					case !ok && code != http.StatusForbidden:
						t.Fatalf("status %d, want 403", code)
					case ok:
						return
					}
					if n := countDenied(t, e); n != deniedBefore+1 {
						t.Errorf("denied audit entries: %d, want %d", n, deniedBefore+1)
					}
					if id == 0 {
						return
					}
					if code := e.api(&tc.who, "GET", path, nil, &got); code != http.StatusOK ||
						got.ResponsibleID == nil || *got.ResponsibleID != tc.who.ID || branchOf(got) != tc.who.Scope.BranchID {
						t.Errorf("after the refusal: %d, responsible %v, branch %v", code, got.ResponsibleID, got.BranchID)
					}
				})
			}
		}
		t.Run("nobody changes created_by: the field is not input", func(t *testing.T) {
			id := ownCompany(t, e, c.Alisa)
			var got company.Company
			code := e.api(&c.Admin, "PATCH", fmt.Sprintf("/api/companies/%d/", id), map[string]any{"created_by": c.Admin.ID}, &got)
			if code != http.StatusOK || got.CreatedByID == nil || *got.CreatedByID != c.Alisa.ID {
				t.Fatalf("status %d, created_by %v", code, got.CreatedByID)
			}
		})
		t.Run("a manager's new company is theirs and in their branch by default", func(t *testing.T) {
			var got company.Company
			if code := e.api(&c.Vera, "POST", "/api/companies/", map[string]any{"name": "Своя"}, &got); code != http.StatusCreated {
				t.Fatalf("status %d", code)
			}
			if got.ResponsibleID == nil || *got.ResponsibleID != c.Vera.ID || branchOf(got) != c.BranchB {
				t.Fatalf("responsible %v, branch %v", got.ResponsibleID, got.BranchID)
			}
		})
	})
}

// ownCompany inserts a company m is responsible for and created, in m's branch.
func ownCompany(t *testing.T, e *testEnv, m dbtest.Member) int64 {
	t.Helper()
	return insertCompanies(t, e, company.NewCompany{Name: "Своя компания", ResponsibleID: m.ID, CreatedBy: m.ID, BranchID: m.Scope.BranchID})[0]
}

func countDenied(t *testing.T, e *testEnv) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(),
		`SELECT COUNT(*) FROM audit_log WHERE action IN ('company.create', 'company.update') AND outcome = 'denied'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func branchOf(c company.Company) int64 {
	if c.BranchID == nil {
		return 0
	}
	return *c.BranchID
}
