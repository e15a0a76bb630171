// Package access decides, in one place, which companies a user may see and
// what they may change. Every store query that touches companies (and what
// hangs off them: contacts, notes, tasks) goes through Scope.Restrict.
package access

import (
	"strings"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
)

// Role is what a user may do.
type Role string

// The four roles of the first version.
const (
	RoleManager        Role = "manager"
	RoleBranchDirector Role = "branch_director"
	RoleGroupManager   Role = "group_manager"
	RoleAdmin          Role = "admin"
)

// Roles lists the roles in the order the UI offers them.
var Roles = []Role{RoleManager, RoleBranchDirector, RoleGroupManager, RoleAdmin}

// Label is the role's Russian name.
func (r Role) Label() string {
	switch r {
	case RoleManager:
		return "Менеджер"
	case RoleBranchDirector:
		return "Директор филиала"
	case RoleGroupManager:
		return "Управляющий группой компаний"
	case RoleAdmin:
		return "Администратор"
	}
	return string(r)
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleManager, RoleBranchDirector, RoleGroupManager, RoleAdmin:
		return true
	}
	return false
}

// DataScope is which companies a user sees.
type DataScope string

// The data scopes; Global is the default.
const (
	Global DataScope = "global"
	Branch DataScope = "branch"
	Self   DataScope = "self"
)

// DataScopes lists the scopes in the order the UI offers them.
var DataScopes = []DataScope{Global, Branch, Self}

// Label is the scope's Russian name.
func (d DataScope) Label() string {
	switch d {
	case Global:
		return "Вся база"
	case Branch:
		return "Свой филиал"
	case Self:
		return "Только свои компании"
	}
	return string(d)
}

// Valid reports whether d is one of the three scopes.
func (d DataScope) Valid() bool {
	switch d {
	case Global, Branch, Self:
		return true
	}
	return false
}

// Scope is the signed-in user as far as visibility and permissions go. The
// zero Scope sees nothing and may do nothing (fail closed).
type Scope struct {
	UserID   int64
	Role     Role
	Data     DataScope
	BranchID int64 // 0 when the user has no branch
	// Name is who acts, as the audit log names them: the user's full
	// name, or the system actor's name (see System).
	Name string
	// system marks the application acting on its own; only System sets it.
	system bool
}

// System is the scope of work the application does on its own rather
// than for a signed-in user: a background job, a command, a store
// re-reading what it has just written. It sees every company and may do
// what an admin may; the audit log records name ("job:purge",
// "cli:createsuperuser") as the actor instead of a user.
func System(name string) Scope {
	return Scope{Role: RoleAdmin, Data: Global, Name: name, system: true}
}

// IsSystem reports whether the scope is the application's own (System).
func (s Scope) IsSystem() bool { return s.system }

// Acts reports whether the scope is someone: a user or the system. The
// zero Scope is no one and sees nothing; stores refuse it before anything.
func (s Scope) Acts() bool { return s.UserID != 0 || s.system }

// SeesAll reports whether the scope sees every company.
func (s Scope) SeesAll() bool {
	return s.Acts() && (s.Role == RoleAdmin || s.Role == RoleGroupManager || s.Data == Global)
}

// IsAdmin reports whether the user administers the system (the system
// actor does).
func (s Scope) IsAdmin() bool { return s.Acts() && s.Role == RoleAdmin }

// Restrict limits w to the companies the scope may see; c is the companies
// table alias. A branch scope without a branch sees only its own companies.
func (s Scope) Restrict(w *database.Where, c string) {
	switch {
	case !s.Acts():
		w.Add("1 = 0")
	case s.SeesAll():
	case s.Data == Branch && s.BranchID != 0:
		w.Add("("+c+".branch_id = ? OR "+c+".responsible_id IN (SELECT id FROM users WHERE branch_id = ?))",
			s.BranchID, s.BranchID)
	default:
		w.Add(c+".responsible_id = ?", s.UserID)
	}
}

// OwnOnly reports whether the scope sees only the companies its user is
// responsible for — Restrict's last case — so pages can speak to them
// («У вас пока нет компаний») and hide the filters they cannot use.
func (s Scope) OwnOnly() bool {
	return s.Acts() && !s.SeesAll() && (s.Data != Branch || s.BranchID == 0)
}

// RestrictCompanyID limits w to rows whose company column col (for example
// "n.company_id") names a company the scope may see.
func (s Scope) RestrictCompanyID(w *database.Where, col string) {
	if s.SeesAll() {
		return
	}
	var inner database.Where
	s.Restrict(&inner, "vc")
	// The inner conditions' placeholders are numbered by w itself.
	w.Add(col + " IN (SELECT vc.id FROM companies vc" + w.Adopt(&inner) + ")")
}

// CompanyRef is what the permission rules need to know of a company.
type CompanyRef struct {
	ResponsibleID       int64
	CreatedBy           int64
	BranchID            int64
	ResponsibleBranchID int64
}

func (s Scope) inBranch(c CompanyRef) bool {
	return s.BranchID != 0 && (c.BranchID == s.BranchID || c.ResponsibleBranchID == s.BranchID)
}

// CanEditCompany decides whether the scope may change a company it can see.
func (s Scope) CanEditCompany(c CompanyRef) error {
	switch s.Role {
	case RoleAdmin, RoleGroupManager:
		return nil
	case RoleBranchDirector:
		if s.inBranch(c) {
			return nil
		}
		return apperr.Forbid("Директор филиала может изменять только компании своего филиала")
	case RoleManager:
		if s.UserID != 0 && (c.ResponsibleID == s.UserID || c.CreatedBy == s.UserID) {
			return nil
		}
		return apperr.Forbid("Менеджер может изменять только компании, за которые отвечает или которые создал")
	}
	return apperr.Forbid("Недостаточно прав")
}

// CanDeleteCompany decides whether the scope may delete a company it can see.
func (s Scope) CanDeleteCompany(c CompanyRef) error {
	switch s.Role {
	case RoleAdmin, RoleGroupManager:
		return nil
	case RoleBranchDirector:
		if s.inBranch(c) {
			return nil
		}
		return apperr.Forbid("Директор филиала может удалять только компании своего филиала")
	}
	return apperr.Forbid("Удалять компании могут администратор, управляющий группой компаний и директор филиала")
}

// UserRef is what the assignment rules need to know of a user.
type UserRef struct {
	ID       int64
	BranchID int64
}

// CanAssign decides whether the scope may make user the responsible of a
// company (or the assignee of a task) in branchID (0: no branch given).
// Managers may only assign themselves, within their own branch; branch
// directors stay within their branch; group managers and admins assign
// anyone anywhere.
func (s Scope) CanAssign(user UserRef, branchID int64) error {
	switch s.Role {
	case RoleAdmin, RoleGroupManager:
		return nil
	case RoleBranchDirector:
		if s.BranchID == 0 || user.BranchID != s.BranchID {
			return apperr.Forbid("Директор филиала может назначать ответственными только сотрудников своего филиала")
		}
		if branchID != 0 && branchID != s.BranchID {
			return apperr.Forbid("Директор филиала не может переносить компании в другой филиал")
		}
		return nil
	case RoleManager:
		if s.UserID == 0 || user.ID != s.UserID {
			return apperr.Forbid("Менеджер не может назначать ответственным другого сотрудника")
		}
		if branchID != 0 && branchID != user.BranchID {
			return apperr.Forbid("Менеджер не может переносить компании в другой филиал")
		}
		return nil
	}
	return apperr.Forbid("Недостаточно прав")
}

// Owner is who a company belongs to: its responsible user (ID 0: nobody)
// and its branch (0: none). These are the fields of a company that not
// every role that may edit it may change.
type Owner struct {
	Responsible UserRef
	BranchID    int64
}

// CanSetOwner decides whether the scope may give a company the owner to.
// from is the company's owner now, nil when the company is being created
// (the store has then already filled the defaults: the caller as the
// responsible, the responsible's branch as the branch). Leaving the owner
// as it is is always allowed here — whether the company may be edited at
// all is CanEditCompany's question. Otherwise: a manager changes neither
// the responsible nor the branch (on create both must be their own); a
// branch director assigns the people of their branch and keeps the
// company in it; group managers and admins do as they like.
func (s Scope) CanSetOwner(from *Owner, to Owner) error {
	if !s.Acts() {
		return apperr.Forbid("Недостаточно прав")
	}
	if s.Role == RoleAdmin || s.Role == RoleGroupManager {
		return nil
	}
	newResp, newBranch := true, true
	if from != nil {
		newResp = from.Responsible.ID != to.Responsible.ID
		newBranch = from.BranchID != to.BranchID
	}
	switch s.Role {
	case RoleManager:
		switch {
		case from != nil && newResp:
			return apperr.Forbid("Менеджер не может менять ответственного за компанию")
		case from != nil && newBranch:
			return apperr.Forbid("Менеджер не может переносить компанию в другой филиал")
		case from == nil && to.Responsible.ID != s.UserID:
			return apperr.Forbid("Менеджер не может назначать ответственным другого сотрудника")
		case from == nil && to.BranchID != to.Responsible.BranchID:
			return apperr.Forbid("Менеджер не может указывать компании другой филиал")
		}
		return nil
	case RoleBranchDirector:
		switch {
		case newResp && (s.BranchID == 0 || to.Responsible.ID == 0 || to.Responsible.BranchID != s.BranchID):
			return apperr.Forbid("Директор филиала может назначать ответственными только сотрудников своего филиала")
		case newBranch && (s.BranchID == 0 || to.BranchID != s.BranchID):
			return apperr.Forbid("Директор филиала не может переносить компании в другой филиал")
		}
		return nil
	}
	return apperr.Forbid("Недостаточно прав")
}

// CanManage reports whether the scope administers users, dictionaries,
// imports, exports and the audit log.
func (s Scope) CanManage() error {
	if s.IsAdmin() {
		return nil
	}
	return apperr.Forbid("Это действие доступно только администратору")
}

// RestrictContacts limits w to the contacts the scope may see; ct is the
// contacts table alias. A contact is visible when its company is; one
// without a company is visible to whoever sees every company and to its
// creator.
func (s Scope) RestrictContacts(w *database.Where, ct string) {
	switch {
	case !s.Acts():
		w.Add("1 = 0")
	case s.SeesAll():
	default:
		var inner database.Where
		s.Restrict(&inner, "vc")
		visible := ct + ".company_id IN (SELECT vc.id FROM companies vc" + w.Adopt(&inner) + ")"
		w.Add("("+visible+" OR ("+ct+".company_id IS NULL AND "+ct+".created_by = ?))", s.UserID)
	}
}

// RestrictJoinedContacts is RestrictContacts for a query that has joined
// each contact ct to its company c (a LEFT JOIN: contacts without a company
// stay): the same rule, checked on the joined row. A walk that stops after
// a page needs it; RestrictContacts first collects every visible company.
func (s Scope) RestrictJoinedContacts(w *database.Where, ct, c string) {
	switch {
	case !s.Acts():
		w.Add("1 = 0")
	case s.SeesAll():
	default:
		var inner database.Where
		s.Restrict(&inner, c)
		company := strings.TrimPrefix(w.Adopt(&inner), " WHERE ")
		w.Add("(("+company+") OR ("+ct+".company_id IS NULL AND "+ct+".created_by = ?))", s.UserID)
	}
}

// CanEditContact decides whether the scope may change a contact it can
// see: with a company, whoever may edit that company; without one, its
// creator, an admin or a group manager.
func (s Scope) CanEditContact(createdBy int64, company *CompanyRef) error {
	if company != nil {
		return s.CanEditCompany(*company)
	}
	if s.Role == RoleAdmin || s.Role == RoleGroupManager || (s.UserID != 0 && s.UserID == createdBy) {
		return nil
	}
	return apperr.Forbid("Контакт без компании может изменять только его автор, администратор или управляющий группой компаний")
}

// Note actions, for CanChangeNote.
const (
	NoteEdit   = "edit"
	NoteDelete = "delete"
)

// CanChangeNote decides whether the scope may edit or delete a note it can
// see: only its author may, admins included — a note is someone's own words.
func (s Scope) CanChangeNote(authorID int64, action string) error {
	if s.UserID != 0 && authorID == s.UserID {
		return nil
	}
	if action == NoteDelete {
		return apperr.Forbid("Удалить заметку может только её автор")
	}
	return apperr.Forbid("Изменить заметку может только её автор")
}

// CanPinNote decides whether the scope may pin or unpin a note: its
// author, or anyone who may edit the note's company.
func (s Scope) CanPinNote(authorID int64, company CompanyRef) error {
	if s.UserID != 0 && authorID == s.UserID {
		return nil
	}
	if s.CanEditCompany(company) != nil {
		return apperr.Forbid("Закрепить заметку может её автор или тот, кто может изменять компанию")
	}
	return nil
}
