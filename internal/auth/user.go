// Package auth keeps users, their passwords, browser sessions and API
// tokens, and turns any of those credentials into an access.Scope.
package auth

import (
	"strings"
	"sync"
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
	// Request holds what the statement that found the user of a request
	// (UserBySession, RequestUser) read with it, so that a page need not
	// ask again; other lookups leave it zero.
	Request     RequestFacts `json:"-"`
	passwordSet bool
}

// RequestFacts are read with the user of a request, in the same statement.
type RequestFacts struct {
	// DictionaryVersion is the number of the dictionaries the company
	// list and forms offer (statuses, spheres, branches, active users;
	// table dictionary_version) when the request began: a process that
	// keeps those lists reads them again only when it differs. 0: not read.
	DictionaryVersion int64
	// Phone says the user had a paired, active phone to call from
	// (the pages show the call buttons only then); PhoneKnown says it was read.
	Phone, PhoneKnown bool
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
	return ResolveZone(u.TimeZone, u.BranchTZ, def)
}

// ResolveZone is the rule of whose time a user lives in: their own zone,
// else their branch's, else def (UTC when def is nil).
func ResolveZone(userZone, branchZone string, def *time.Location) *time.Location {
	for _, name := range []string{userZone, branchZone} {
		if loc := LoadZone(name); loc != nil {
			return loc
		}
	}
	if def == nil {
		return time.UTC
	}
	return def
}

// zones caches time.LoadLocation by name: a page asks for the viewer's
// zone several times and a list resolves the same few zones row after
// row, and LoadLocation opens and parses the zone file each time.
var zones sync.Map // name → *time.Location (nil for a bad name)

// LoadZone is the zone named name, or nil when the name is empty or not
// an IANA zone.
func LoadZone(name string) *time.Location {
	if name == "" {
		return nil
	}
	if v, ok := zones.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	zones.Store(name, loc)
	return loc
}

// HasPassword reports whether the user can sign in with a password.
func (u *User) HasPassword() bool { return u.passwordSet }

// NormalizeUsername is how logins are stored and compared: trimmed, lower case.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
