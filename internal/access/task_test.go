package access_test

import (
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// TestTaskChangeMatrix writes down who may edit and delete a task they
// can see, over the cast. Tasks: one Борис set for Алиса on her company;
// Вера's own without a company; one Глеб set himself on Вера's company.
func TestTaskChangeMatrix(t *testing.T) {
	alisasTask := access.TaskRef{AssignedTo: alisa.UserID, CreatedBy: boris.UserID, Company: &alisasCompany}
	verasOwn := access.TaskRef{AssignedTo: vera.UserID, CreatedBy: vera.UserID}
	glebsOnVeras := access.TaskRef{AssignedTo: gleb.UserID, CreatedBy: gleb.UserID, Company: &verasCompany}
	cast := []struct {
		name string
		sc   access.Scope
	}{{"admin", admin}, {"alisa", alisa}, {"boris", boris}, {"vera", vera}, {"gleb", gleb}, {"darya", darya}}
	for _, tc := range []struct {
		task   string
		ref    access.TaskRef
		action string
		want   string // verdicts of admin alisa boris vera gleb darya
	}{
		{"Алиса's task from Борис", alisasTask, access.TaskEdit, "ok ok ok 403 403 ok"},
		// The assignee may not delete what was asked of her — but Алиса
		// may edit her company, so she may.
		{"Алиса's task from Борис", alisasTask, access.TaskDelete, "ok ok ok 403 403 ok"},
		{"Вера's own task", verasOwn, access.TaskEdit, "403 403 403 ok 403 403"},
		{"Вера's own task", verasOwn, access.TaskDelete, "403 403 403 ok 403 403"},
		{"Глеб's task on Вера's company", glebsOnVeras, access.TaskEdit, "ok 403 403 ok ok ok"},
		{"Глеб's task on Вера's company", glebsOnVeras, access.TaskDelete, "ok 403 403 ok ok ok"},
		{"a task Борис set Алиса without a company", access.TaskRef{AssignedTo: alisa.UserID, CreatedBy: boris.UserID}, access.TaskDelete,
			"403 403 ok 403 403 403"},
	} {
		t.Run(tc.task+" "+tc.action+" goes by the rule", func(t *testing.T) {
			var got []string
			for _, m := range cast {
				got = append(got, verdict(m.sc.CanChangeTask(tc.ref, tc.action)))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %s, want %s", g, tc.want)
			}
		})
	}
	if (access.Scope{}).CanChangeTask(alisasTask, access.TaskEdit) == nil {
		t.Error("the zero scope may edit")
	}
}

func TestTaskAssignMatrix(t *testing.T) {
	users := []access.UserRef{{ID: admin.UserID}, {ID: alisa.UserID, BranchID: branchA}, {ID: boris.UserID, BranchID: branchA},
		{ID: vera.UserID, BranchID: branchB}, {ID: gleb.UserID, BranchID: branchB}, {ID: darya.UserID}}
	for _, tc := range []struct {
		name string
		sc   access.Scope
		want string // verdicts for assigning admin alisa boris vera gleb darya
	}{
		{"admin", admin, "ok ok ok ok ok ok"},
		{"alisa", alisa, "403 ok 403 403 403 403"},
		{"boris", boris, "403 ok ok 403 403 403"},
		{"vera", vera, "403 403 403 ok 403 403"},
		{"gleb", gleb, "403 403 403 403 ok 403"},
		{"darya", darya, "ok ok ok ok ok ok"},
		{"the system", access.System("job:test"), "ok ok ok ok ok ok"},
	} {
		t.Run(tc.name+" assigns tasks as the roles say", func(t *testing.T) {
			var got []string
			for _, u := range users {
				got = append(got, verdict(tc.sc.CanAssignTask(u)))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %s, want %s", g, tc.want)
			}
		})
	}
}

func TestRestrictTasksFailsClosed(t *testing.T) {
	var w database.Where
	access.Scope{}.RestrictTasks(&w, "t")
	if w.SQL() != " WHERE 1 = 0" {
		t.Errorf("zero scope: %q", w.SQL())
	}
	var all database.Where
	access.System("job:test").RestrictTasks(&all, "t")
	if all.SQL() != "" {
		t.Errorf("system: %q", all.SQL())
	}
	var a database.Where
	alisa.RestrictTasks(&a, "t")
	if !strings.Contains(a.SQL(), "t.assigned_to = $2 OR t.created_by = $3") || !strings.Contains(a.SQL(), "vc.deleted_at IS NULL") {
		t.Errorf("alisa: %q", a.SQL())
	}
	// A scope that sees every company asks the trash, not every live
	// company (see RestrictTasks).
	for _, sc := range []access.Scope{admin, darya} {
		var g database.Where
		sc.RestrictTasks(&g, "t")
		if !strings.Contains(g.SQL(), "t.company_id NOT IN (SELECT vc.id FROM companies vc WHERE vc.deleted_at IS NOT NULL)") ||
			strings.Contains(g.SQL(), "deleted_at IS NULL") {
			t.Errorf("%d: %q", sc.UserID, g.SQL())
		}
	}
}
