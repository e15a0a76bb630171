package note

import (
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestCardNotesLookUpOneCompany checks the plan of a company card's notes
// for the scopes that do not see everything: the company's visibility is
// one primary-key look-up, never a scan of every company (it was
// "company_id IN (SELECT id FROM companies WHERE …)", a scan on every card).
// SQLite's plans are stable without statistics, so they are checked there.
func TestCardNotesLookUpOneCompany(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	for _, sc := range []access.Scope{
		{UserID: 2, Role: access.RoleManager, Data: access.Self, BranchID: 1},
		{UserID: 3, Role: access.RoleBranchDirector, Data: access.Branch, BranchID: 1},
	} {
		q, args, _, _ := listQuery(sc, Filter{CompanyID: 7})
		plan := dbtest.SQLitePlan(t, db, q, args...)
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "SCAN vc") || strings.Contains(text, "SCAN companies") {
			t.Errorf("%s scope scans the companies for one card's notes:\n%s", sc.Data, text)
		}
		if !strings.Contains(text, "SEARCH vc EXISTS USING INTEGER PRIMARY KEY") {
			t.Errorf("%s scope does not look the company up by id:\n%s", sc.Data, text)
		}
	}
}
