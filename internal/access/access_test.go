package access_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
)

// The cast without a database: the same people as dbtest.NewCast.
const (
	branchA, branchB = 1, 2
)

var (
	admin = access.Scope{UserID: 1, Role: access.RoleAdmin, Data: access.Global}
	alisa = access.Scope{UserID: 2, Role: access.RoleManager, Data: access.Self, BranchID: branchA}
	boris = access.Scope{UserID: 3, Role: access.RoleBranchDirector, Data: access.Branch, BranchID: branchA}
	vera  = access.Scope{UserID: 4, Role: access.RoleManager, Data: access.Self, BranchID: branchB}
	gleb  = access.Scope{UserID: 5, Role: access.RoleManager, Data: access.Global, BranchID: branchB}
	darya = access.Scope{UserID: 6, Role: access.RoleGroupManager, Data: access.Self}
)

// Алиса's company in branch A, created by her.
var alisasCompany = access.CompanyRef{ResponsibleID: alisa.UserID, CreatedBy: alisa.UserID, BranchID: branchA, ResponsibleBranchID: branchA}

// Вера's company in branch B.
var verasCompany = access.CompanyRef{ResponsibleID: vera.UserID, CreatedBy: vera.UserID, BranchID: branchB, ResponsibleBranchID: branchB}

func verdict(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, apperr.ErrForbidden):
		return "403"
	}
	return "error: " + err.Error()
}

func TestWhoMayEditAndDeleteCompanies(t *testing.T) {
	cases := []struct {
		who          string
		s            access.Scope
		c            access.CompanyRef
		edit, delete string
	}{
		{"admin edits and deletes anything", admin, verasCompany, "ok", "ok"},
		{"a group manager edits and deletes anything", darya, verasCompany, "ok", "ok"},
		{"a branch director edits and deletes in the branch", boris, alisasCompany, "ok", "ok"},
		{"a branch director may not touch another branch", boris, verasCompany, "403", "403"},
		{"a manager edits their own company but may not delete it", alisa, alisasCompany, "ok", "403"},
		{"a manager with the whole base in view may not edit others' companies", gleb, verasCompany, "403", "403"},
		{"nobody signed in may do nothing", access.Scope{}, alisasCompany, "403", "403"},
	}
	for _, c := range cases {
		t.Run(c.who, func(t *testing.T) {
			if got := verdict(c.s.CanEditCompany(c.c)); got != c.edit {
				t.Errorf("edit: %s, want %s", got, c.edit)
			}
			if got := verdict(c.s.CanDeleteCompany(c.c)); got != c.delete {
				t.Errorf("delete: %s, want %s", got, c.delete)
			}
		})
	}
}

func TestWhoMayAssignWhom(t *testing.T) {
	cases := []struct {
		who    string
		s      access.Scope
		user   access.UserRef
		branch int64
		want   string
	}{
		{"a manager assigns themselves", alisa, access.UserRef{ID: alisa.UserID, BranchID: branchA}, branchA, "ok"},
		{"a manager may not assign a colleague", alisa, access.UserRef{ID: boris.UserID, BranchID: branchA}, branchA, "403"},
		{"a branch director assigns within the branch", boris, access.UserRef{ID: alisa.UserID, BranchID: branchA}, branchA, "ok"},
		{"a branch director may not assign someone from another branch", boris, access.UserRef{ID: vera.UserID, BranchID: branchB}, branchB, "403"},
		{"a branch director may not move a company to another branch", boris, access.UserRef{ID: alisa.UserID, BranchID: branchA}, branchB, "403"},
		{"a group manager assigns anyone anywhere", darya, access.UserRef{ID: vera.UserID, BranchID: branchB}, branchA, "ok"},
		{"admin assigns anyone anywhere", admin, access.UserRef{ID: vera.UserID, BranchID: branchB}, branchA, "ok"},
	}
	for _, c := range cases {
		t.Run(c.who, func(t *testing.T) {
			if got := verdict(c.s.CanAssign(c.user, c.branch)); got != c.want {
				t.Errorf("%s, want %s", got, c.want)
			}
		})
	}
}

func TestOnlyAdminsManage(t *testing.T) {
	for _, s := range []access.Scope{admin, alisa, boris, vera, gleb, darya} {
		want := "403"
		if s == admin {
			want = "ok"
		}
		if got := verdict(s.CanManage()); got != want {
			t.Errorf("%s (%d): %s, want %s", s.Role, s.UserID, got, want)
		}
	}
}

func TestContactsWithoutACompanyBelongToTheirCreator(t *testing.T) {
	if err := alisa.CanEditContact(alisa.UserID, nil); err != nil {
		t.Errorf("the creator: %v", err)
	}
	if got := verdict(gleb.CanEditContact(alisa.UserID, nil)); got != "403" {
		t.Errorf("another manager: %s", got)
	}
	if err := darya.CanEditContact(alisa.UserID, nil); err != nil {
		t.Errorf("a group manager: %v", err)
	}
	if got := verdict(vera.CanEditContact(alisa.UserID, &alisasCompany)); got != "403" {
		t.Errorf("a contact follows its company's rule: %s", got)
	}
}

func TestRestrictPutsTheScopeInTheWhereClause(t *testing.T) {
	cases := []struct {
		who  string
		s    access.Scope
		sql  string
		args string
	}{
		{"nobody sees nothing", access.Scope{}, " WHERE 1 = 0", "[]"},
		{"admin sees all", admin, "", "[]"},
		{"a group manager sees all whatever the scope", darya, "", "[]"},
		{"a global manager sees all", gleb, "", "[]"},
		{"a self scope sees its own", alisa, " WHERE c.responsible_id = $1", "[2]"},
		{"a branch scope sees the branch and its people's companies", boris,
			" WHERE (c.branch_id = $1 OR c.responsible_id IN (SELECT id FROM users WHERE branch_id = $2))", "[1 1]"},
		{"a branch scope without a branch falls back to its own",
			access.Scope{UserID: 9, Role: access.RoleManager, Data: access.Branch}, " WHERE c.responsible_id = $1", "[9]"},
	}
	for _, c := range cases {
		t.Run(c.who, func(t *testing.T) {
			var w database.Where
			c.s.Restrict(&w, "c")
			if w.SQL() != c.sql || fmt.Sprint(w.Args()) != c.args {
				t.Errorf("got %q %v, want %q %s", w.SQL(), w.Args(), c.sql, c.args)
			}
		})
	}
}

func TestOnlyTheAuthorChangesANoteButEditorsMayPinIt(t *testing.T) {
	for _, s := range []access.Scope{admin, boris, darya, gleb} {
		if got := verdict(s.CanChangeNote(alisa.UserID, access.NoteDelete)); got != "403" {
			t.Errorf("%s deleting Алиса's note: %s, want 403", s.Role, got)
		}
	}
	if err := alisa.CanChangeNote(alisa.UserID, access.NoteEdit); err != nil {
		t.Errorf("the author: %v", err)
	}
	if got := verdict(access.Scope{}.CanChangeNote(0, access.NoteEdit)); got != "403" {
		t.Errorf("a note whose author is gone, by nobody: %s", got)
	}
	if err := boris.CanPinNote(alisa.UserID, alisasCompany); err != nil {
		t.Errorf("the branch director pins in his branch: %v", err)
	}
	if got := verdict(vera.CanPinNote(alisa.UserID, alisasCompany)); got != "403" {
		t.Errorf("another branch's manager pins: %s", got)
	}
}

func TestTheSystemActorSeesAllAndOnlyItsConstructorMakesIt(t *testing.T) {
	sys := access.System("job:purge")
	if !sys.IsSystem() || sys.Name != "job:purge" || sys.UserID != 0 {
		t.Fatalf("System = %+v", sys)
	}
	if !sys.SeesAll() || !sys.IsAdmin() || sys.CanManage() != nil {
		t.Fatal("the system actor must see all and manage")
	}
	var w database.Where
	sys.Restrict(&w, "c")
	sys.RestrictCompanyID(&w, "n.company_id")
	sys.RestrictContacts(&w, "ct")
	if w.SQL() != "" {
		t.Fatalf("system scope restricted: %q", w.SQL())
	}
	// An admin-looking scope without a user is still no one.
	fake := access.Scope{Role: access.RoleAdmin, Data: access.Global, Name: "job:purge"}
	if fake.IsSystem() || fake.SeesAll() || fake.IsAdmin() {
		t.Fatal("a hand-made scope without a user must not pass for the system")
	}
	var fw database.Where
	fake.Restrict(&fw, "c")
	if fw.SQL() != " WHERE 1 = 0" {
		t.Fatalf("a hand-made scope restricts to %q, want nothing", fw.SQL())
	}
}
