// Package auth keeps users, their passwords, browser sessions and API
// tokens, and turns any of those credentials into an access.Scope.
package auth

import (
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
)

// User is a person who signs in. The login (Username) is only for signing
// in; everywhere else the user is shown by FullName.
type User struct {
	ID         int64            `json:"id"`
	Username   string           `json:"username"`
	FirstName  string           `json:"first_name"`
	LastName   string           `json:"last_name"`
	Email      string           `json:"email"`
	Role       access.Role      `json:"role"`
	DataScope  access.DataScope `json:"data_scope"`
	BranchID   int64            `json:"branch"`
	BranchName string           `json:"branch_name"`
	TimeZone   string           `json:"time_zone"`
	IsActive   bool             `json:"is_active"`
	// MustChangePassword sends the user to «Смените пароль» until they
	// choose a new password (an admin's «Сменить пароль при следующем входе»).
	MustChangePassword bool       `json:"must_change_password"`
	DateJoined         time.Time  `json:"date_joined"`
	LastLogin          *time.Time `json:"last_login"`
	Version            int        `json:"version"`
	BranchTZ           string     `json:"-"`
	// Unread is how many unread notifications the user had when their
	// browser session was checked (UserBySession reads it in the same
	// statement, so a page's bell costs no query of its own); UnreadKnown
	// says it was read. Other lookups leave both zero.
	Unread      int  `json:"-"`
	UnreadKnown bool `json:"-"`
	passwordSet bool
}

// FullName is «Имя Фамилия», falling back to the login when both are empty.
func (u *User) FullName() string {
	n := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if n == "" {
		return u.Username
	}
	return n
}

// Scope is the user's visibility and permissions.
func (u *User) Scope() access.Scope {
	if u == nil || !u.IsActive {
		return access.Scope{}
	}
	return access.Scope{UserID: u.ID, Role: u.Role, Data: u.DataScope, BranchID: u.BranchID, Name: u.FullName()}
}

// Location is the user's time zone: their own, else their branch's, else def.
func (u *User) Location(def *time.Location) *time.Location {
	for _, name := range []string{u.TimeZone, u.BranchTZ} {
		if name == "" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return def
}

// HasPassword reports whether the user can sign in with a password.
func (u *User) HasPassword() bool { return u.passwordSet }

// NormalizeUsername is how logins are stored and compared: trimmed, lower case.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
