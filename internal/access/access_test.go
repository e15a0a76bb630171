package access_test

import (
	"errors"
	"fmt"
	"strings"
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
		{"a manager may not assign themselves in another branch", alisa, access.UserRef{ID: alisa.UserID, BranchID: branchA}, branchB, "403"},
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

func TestWhoMaySetACompanysResponsibleAndBranch(t *testing.T) {
	me := func(s access.Scope) access.UserRef { return access.UserRef{ID: s.UserID, BranchID: s.BranchID} }
	own := func(s access.Scope) access.Owner { return access.Owner{Responsible: me(s), BranchID: s.BranchID} }
	with := func(o access.Owner, resp *access.UserRef, branch *int64) access.Owner {
		if resp != nil {
			o.Responsible = *resp
		}
		if branch != nil {
			o.BranchID = *branch
		}
		return o
	}
	nobody := access.UserRef{}
	a, b, none := int64(branchA), int64(branchB), int64(0)
	// Each member tries, on a company they are responsible for in their
	// branch (and on a new one), to set the responsible or the branch.
	cases := []struct {
		who    string
		s      access.Scope
		resp   *access.UserRef
		branch *int64
		want   string
	}{
		{"admin makes anyone responsible", admin, ptr(me(vera)), nil, "ok"},
		{"admin moves a company to any branch", admin, nil, &b, "ok"},
		{"a group manager makes anyone responsible", darya, ptr(me(vera)), nil, "ok"},
		{"a group manager moves a company to any branch", darya, nil, &a, "ok"},
		{"a branch director assigns a person of the branch", boris, ptr(me(alisa)), nil, "ok"},
		{"a branch director may not assign a person of another branch", boris, ptr(me(vera)), nil, "403"},
		{"a branch director may not leave a company without a responsible", boris, &nobody, nil, "403"},
		{"a branch director may not move a company to another branch", boris, nil, &b, "403"},
		{"a branch director may not take a company out of the branch", boris, nil, &none, "403"},
		{"a manager keeps themselves and their branch", alisa, ptr(me(alisa)), &a, "ok"},
		{"a manager may not hand a company to a colleague", alisa, ptr(me(boris)), nil, "403"},
		{"a manager may not move a company to another branch", alisa, nil, &b, "403"},
		{"a manager may not take a company out of the branch", alisa, nil, &none, "403"},
		{"a manager of branch B may not move a company to branch A", vera, nil, &a, "403"},
		{"a manager who sees the whole base may not reassign", gleb, ptr(me(vera)), nil, "403"},
		{"a manager who sees the whole base may not move a company", gleb, nil, &a, "403"},
	}
	for _, c := range cases {
		t.Run(c.who, func(t *testing.T) {
			from := own(c.s)
			to := with(from, c.resp, c.branch)
			if got := verdict(c.s.CanSetOwner(&from, to)); got != c.want {
				t.Errorf("update: %s, want %s", got, c.want)
			}
			if got := verdict(c.s.CanSetOwner(nil, to)); got != c.want {
				t.Errorf("create: %s, want %s", got, c.want)
			}
		})
	}
	t.Run("leaving the owner as it is needs no right", func(t *testing.T) {
		for _, s := range []access.Scope{admin, alisa, boris, vera, gleb, darya} {
			from := own(vera)
			if err := s.CanSetOwner(&from, from); err != nil {
				t.Errorf("%s (%d): %v", s.Role, s.UserID, err)
			}
		}
	})
	t.Run("nobody signed in sets nothing", func(t *testing.T) {
		if got := verdict(access.Scope{}.CanSetOwner(nil, access.Owner{})); got != "403" {
			t.Errorf("%s, want 403", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }

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
	// A job (an import, a merge) gives companies their owners.
	someone := access.Owner{Responsible: access.UserRef{ID: 7, BranchID: 2}, BranchID: 2}
	if err := sys.CanSetOwner(nil, someone); err != nil {
		t.Fatalf("the system actor may not set an owner: %v", err)
	}
	if err := sys.CanSetOwner(&access.Owner{}, someone); err != nil {
		t.Fatalf("the system actor may not change an owner: %v", err)
	}
	var w database.Where
	sys.Restrict(&w, "c")
	sys.RestrictCompanyID(&w, "n.company_id")
	sys.RestrictContacts(&w, "ct")
	sys.RestrictJoinedContacts(&w, "ct", "vc")
	var one database.Where
	sys.RestrictToCompany(&one, "n.company_id", 5)
	if one.SQL() != " WHERE n.company_id = $1" {
		t.Fatalf("system scope on one company: %q", one.SQL())
	}
	if w.SQL() != "" {
		t.Fatalf("system scope restricted: %q", w.SQL())
	}
	// An admin-looking scope without a user is still no one.
	fake := access.Scope{Role: access.RoleAdmin, Data: access.Global, Name: "job:purge"}
	if fake.IsSystem() || fake.SeesAll() || fake.IsAdmin() || fake.CanSetOwner(nil, access.Owner{}) == nil {
		t.Fatal("a hand-made scope without a user must not pass for the system")
	}
	var fw database.Where
	fake.Restrict(&fw, "c")
	if fw.SQL() != " WHERE 1 = 0" {
		t.Fatalf("a hand-made scope restricts to %q, want nothing", fw.SQL())
	}
	var fone database.Where
	fake.RestrictToCompany(&fone, "n.company_id", 5)
	if !strings.Contains(fone.SQL(), "1 = 0") {
		t.Fatalf("a hand-made scope on one company: %q", fone.SQL())
	}
	if fw.SQL() != " WHERE 1 = 0" {
		t.Fatalf("a hand-made scope restricts to %q, want nothing", fw.SQL())
	}
}

func TestOwnOnlyIsRestrictsLastCase(t *testing.T) {
	cases := []struct {
		s    access.Scope
		want bool
	}{
		{access.Scope{UserID: 1, Role: access.RoleManager, Data: access.Self, BranchID: 1}, true},
		{access.Scope{UserID: 1, Role: access.RoleManager, Data: access.Branch}, true}, // a branch scope without a branch
		{access.Scope{UserID: 1, Role: access.RoleManager, Data: access.Branch, BranchID: 1}, false},
		{access.Scope{UserID: 1, Role: access.RoleManager, Data: access.Global}, false},
		{access.Scope{UserID: 1, Role: access.RoleAdmin, Data: access.Self}, false},
		{access.System("job:test"), false},
		{access.Scope{}, false},
	}
	for _, c := range cases {
		var w database.Where
		c.s.Restrict(&w, "c")
		if got := c.s.OwnOnly(); got != c.want {
			t.Errorf("%+v: OwnOnly %v, want %v (Restrict: %q)", c.s, got, c.want, w.SQL())
		}
		if c.want && !strings.Contains(w.SQL(), "c.responsible_id = $1") {
			t.Errorf("%+v: OwnOnly but Restrict is %q", c.s, w.SQL())
		}
	}
}
