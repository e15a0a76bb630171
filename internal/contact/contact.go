// Package contact keeps the people of CRM ПРОФИ: contacts, usually of a
// company, with typed phones and e-mails. A contact is visible exactly when
// its company is (access.Scope decides); a contact without a company is
// visible to whoever sees all companies and to its creator.
package contact

import (
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/dedup"
)

// Contact is one person, in the API contract's shape.
type Contact struct {
	ID            int64      `json:"id"`
	CompanyID     *int64     `json:"company"`
	CompanyName   string     `json:"company_name"`
	FirstName     string     `json:"first_name"`
	LastName      string     `json:"last_name"`
	MiddleName    string     `json:"middle_name"`
	FullName      string     `json:"full_name"`
	Position      string     `json:"position"`
	Status        string     `json:"status"`
	Note          string     `json:"note"`
	Phones        []Phone    `json:"phones"`
	Emails        []Email    `json:"emails"`
	CreatedBy     *int64     `json:"created_by"`
	CreatedByName string     `json:"created_by_name"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	DeletedAt     *time.Time `json:"deleted_at,omitempty"`
	Version       int        `json:"version"`
	// Match says why a search found the contact; nil outside a search.
	Match *Match `json:"match,omitempty"`
}

// Phone is the one phone value of companies and contacts alike.
type Phone = contactinfo.Phone

// Email is the one e-mail value of companies and contacts alike.
type Email = contactinfo.Email

// Input is what a person may set on a contact, from a form or JSON. For
// PATCH the server fills it from the stored contact first, so absent JSON
// keys keep their values. Version 0 means "last write wins".
type Input struct {
	Company    *int64  `json:"company"`
	FirstName  string  `json:"first_name"`
	LastName   string  `json:"last_name"`
	MiddleName string  `json:"middle_name"`
	Position   string  `json:"position"`
	Status     string  `json:"status"`
	Note       string  `json:"note"`
	Phones     []Phone `json:"phones"`
	Emails     []Email `json:"emails"`
	Version    int     `json:"version"`
}

// InputOf returns the input that would store c unchanged, the base of a
// partial update.
func InputOf(c Contact) Input {
	return Input{
		Company: c.CompanyID, FirstName: c.FirstName, LastName: c.LastName, MiddleName: c.MiddleName,
		Position: c.Position, Status: c.Status, Note: c.Note,
		Phones: append([]Phone(nil), c.Phones...), Emails: append([]Email(nil), c.Emails...),
	}
}

// Field length limits, generous for real names and short enough that a
// paste accident is caught.
const (
	maxName = 150
	maxText = 10000
)

// clean trims the input, drops empty phone and e-mail rows, normalises
// the rest with internal/dedup and reports every problem in Russian,
// keyed by the contract's field names.
func (in *Input) clean() error {
	inv := apperr.Invalid{}
	for _, f := range []struct {
		key string
		v   *string
		max int
	}{
		{"first_name", &in.FirstName, maxName}, {"last_name", &in.LastName, maxName},
		{"middle_name", &in.MiddleName, maxName}, {"position", &in.Position, 255},
		{"status", &in.Status, 100}, {"note", &in.Note, maxText},
	} {
		*f.v = strings.TrimSpace(*f.v)
		if len([]rune(*f.v)) > f.max {
			inv.Add(f.key, "Слишком длинное значение (не больше "+strconv.Itoa(f.max)+" символов)")
		}
	}
	if in.FirstName == "" && in.LastName == "" {
		inv.Add("last_name", "Укажите фамилию или имя")
	}
	if in.Company != nil && *in.Company <= 0 {
		in.Company = nil
	}
	in.Phones = contactinfo.NormalizePhones(in.Phones, inv)
	in.Emails = contactinfo.NormalizeEmails(in.Emails, inv)
	return inv.Err()
}

// FullName is «Фамилия Имя Отчество», the way Russian business lists people.
func FullName(last, first, middle string) string {
	return strings.Join(strings.Fields(last+" "+first+" "+middle), " ")
}

// nameNorm is the sort and search key of a contact's name.
func nameNorm(last, first, middle string) string {
	return dedup.NormalizeText(last + " " + first + " " + middle)
}

// terms are the contact's word-index entries: names and position.
func terms(in Input) []string {
	return dedup.Tokens(dedup.NormalizeText(in.LastName + " " + in.FirstName + " " + in.MiddleName + " " + in.Position))
}

// companyRef is what the permission rules need of the contact's company.
type companyRef struct {
	access.CompanyRef
	found bool
}

// canChange decides whether scope may edit or delete a contact it can see,
// by the access package's rule.
func canChange(s access.Scope, createdBy int64, company companyRef) error {
	if company.found {
		return s.CanEditContact(createdBy, &company.CompanyRef)
	}
	return s.CanEditContact(createdBy, nil)
}
