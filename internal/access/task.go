package access

import (
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
)

// RestrictTasks limits w to the tasks the scope may see; t is the tasks
// table alias. A task is visible to its assignee and its author, and to
// whoever may see its company (Restrict) while the company is not in the
// trash. A task without a company is its assignee's and author's alone —
// admins included, as the contract words it; the system actor sees all.
//
// A scope that sees every company asks only that the task's company is
// not in the trash, and asks it of the trash: the trashed companies are
// few (companies_deleted_idx holds them alone), so both databases read
// that set once and test each task against it. Asked the other way round
// — EXISTS a live company — PostgreSQL hashed every live company (a
// million rows) to answer a page of fifty. company_id names an existing
// company or is NULL (the key is ON DELETE SET NULL), so the two agree.
func (s Scope) RestrictTasks(w *database.Where, t string) {
	switch {
	case !s.Acts():
		w.Add("1 = 0")
	case s.IsSystem():
	case s.SeesAll():
		w.Add("("+t+".assigned_to = ? OR "+t+".created_by = ? OR ("+t+".company_id IS NOT NULL AND "+t+
			".company_id NOT IN (SELECT vc.id FROM companies vc WHERE vc.deleted_at IS NOT NULL)))",
			s.UserID, s.UserID)
	default:
		var inner database.Where
		inner.Add("vc.id = " + t + ".company_id")
		inner.Add("vc.deleted_at IS NULL")
		s.Restrict(&inner, "vc")
		w.Add("("+t+".assigned_to = ? OR "+t+".created_by = ? OR EXISTS (SELECT 1 FROM companies vc"+w.Adopt(&inner)+"))",
			s.UserID, s.UserID)
	}
}

// TaskArms are conditions on the tasks alias t whose union is what
// RestrictTasks lets a scope that sees only part of the base see: the
// tasks assigned to the user, those the user made, and those of the
// companies the scope may see and not in the trash. Each is a range of
// its own index, so a count that stops at a bound reads each arm up to
// the bound and unions them, instead of walking every open task of the
// base to find the one in fifty the user may see. Nil for a scope that
// sees every company (its tasks are most of the base: one index in order
// finds them sooner), for the system actor and for a scope that does not
// act (RestrictTasks alone then).
//
// The companies' arms ask Restrict's question of the task's own copy of
// its live company's owner (migration 00052: company_responsible_id,
// company_branch_id, company_responsible_branch_id, NULL while the task
// has no company or it is in the trash), one arm per way Restrict lets a
// company be seen: each is then one range in due order, where «company_id
// IN (the scope's companies)» sought every visible company — 5,000 for a
// manager at a million companies — and sorted what it found.
func (s Scope) TaskArms(t string) []*database.Where {
	if !s.Acts() || s.IsSystem() || s.SeesAll() {
		return nil
	}
	var mine, made database.Where
	mine.Add(t+".assigned_to = ?", s.UserID)
	made.Add(t+".created_by = ?", s.UserID)
	arms := []*database.Where{&mine, &made}
	if s.Data == Branch && s.BranchID != 0 {
		var branch, staff database.Where
		branch.Add(t+".company_branch_id = ?", s.BranchID)
		staff.Add(t+".company_responsible_branch_id = ?", s.BranchID)
		return append(arms, &branch, &staff)
	}
	var theirs database.Where
	theirs.Add(t+".company_responsible_id = ?", s.UserID)
	return append(arms, &theirs)
}

// TaskRef is what the permission rules need to know of a task: its
// assignee, its author (0: none or deleted) and its company (nil: none, or
// one the scope cannot see).
type TaskRef struct {
	AssignedTo int64
	CreatedBy  int64
	Company    *CompanyRef
}

// Task actions, for CanChangeTask.
const (
	TaskEdit   = "edit"
	TaskDelete = "delete"
)

// CanChangeTask decides whether the scope may change (edit, complete,
// skip, comment on…) or delete a task it can see.
//
//	edit:   the assignee, the author, and whoever may edit the task's
//	        company (CanEditCompany); the system actor.
//	delete: the author and whoever may edit the task's company; not the
//	        assignee of a task someone else set them — it was asked of them.
func (s Scope) CanChangeTask(t TaskRef, action string) error {
	if !s.Acts() {
		return apperr.Forbid("Недостаточно прав")
	}
	if s.IsSystem() {
		return nil
	}
	if s.UserID == t.CreatedBy || (action != TaskDelete && s.UserID == t.AssignedTo) {
		return nil
	}
	if t.Company != nil && s.CanEditCompany(*t.Company) == nil {
		return nil
	}
	if action == TaskDelete {
		return apperr.Forbid("Удалить задачу может её автор или тот, кто может изменять её компанию")
	}
	return apperr.Forbid("Изменять задачу могут её исполнитель, автор и те, кто может изменять её компанию")
}

// CanAssignTask decides whether the scope may make user the assignee of a
// task: managers only themselves; branch directors the people of their
// branch (and themselves); group managers, admins and the system anyone.
func (s Scope) CanAssignTask(user UserRef) error {
	switch {
	case !s.Acts():
		return apperr.Forbid("Недостаточно прав")
	case s.IsSystem(), s.Role == RoleAdmin, s.Role == RoleGroupManager:
		return nil
	case user.ID == s.UserID:
		return nil
	case s.Role == RoleBranchDirector:
		if s.BranchID != 0 && user.BranchID == s.BranchID {
			return nil
		}
		return apperr.Forbid("Директор филиала может назначать задачи только сотрудникам своего филиала")
	case s.Role == RoleManager:
		return apperr.Forbid("Менеджер может ставить задачи только себе")
	}
	return apperr.Forbid("Недостаточно прав")
}
