// Package contact keeps the people of CRM ПРОФИ: contacts, usually of a
// company, with typed phones and e-mails. A contact is visible exactly when
// its company is (access.Scope decides); a contact without a company is
// visible to whoever sees all companies and to its creator.
package contact

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
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

// Phone is a phone number as typed, with its kind and a comment. E164 and
// Ext are the normalised form (dedup.NormalizePhone) that search uses.
type Phone struct {
	Value   string `json:"value"`
	Kind    string `json:"kind"`
	Comment string `json:"comment"`
	E164    string `json:"e164,omitempty"`
	Ext     string `json:"ext,omitempty"`
}

// Display shows a phone the one way a number is written everywhere
// («+7 (495) 123-45-67 доб. 12»), or as typed when it has no normal form.
func (p Phone) Display() string {
	if p.E164 == "" {
		return p.Value
	}
	return dedup.FormatPhone(dedup.Phone{E164: p.E164, Ext: p.Ext})
}

// TelURI is the tel: link that dials the phone exactly, the extension
// after a pause.
func (p Phone) TelURI() string {
	n := p.E164
	if n == "" {
		n = dedup.CleanDigits(p.Value)
	}
	if p.Ext != "" {
		n += ",," + p.Ext
	}
	return "tel:" + n
}

// Email is an e-mail address as typed, with its kind and a comment.
type Email struct {
	Value   string `json:"value"`
	Kind    string `json:"kind"`
	Comment string `json:"comment"`
}

// UnmarshalJSON accepts a bare string as {"value": s, "kind": "work"}, as
// the contract allows.
func (p *Phone) UnmarshalJSON(b []byte) error {
	if s, ok := bareString(b); ok {
		*p = Phone{Value: s}
		return nil
	}
	type plain Phone
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Phone(v) // E164 and Ext, if sent, are recomputed on save
	return nil
}

// UnmarshalJSON accepts a bare string as {"value": s, "kind": "work"}.
func (e *Email) UnmarshalJSON(b []byte) error {
	if s, ok := bareString(b); ok {
		*e = Email{Value: s}
		return nil
	}
	type plain Email
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Email(v)
	return nil
}

func bareString(b []byte) (string, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", false
	}
	return s, true
}

// PhoneKinds are the kinds of a phone, with their Russian labels, in the
// order forms offer them.
var PhoneKinds = []Kind{
	{"mobile", "Мобильный"}, {"work", "Рабочий"}, {"work_direct", "Прямой рабочий"},
	{"home", "Домашний"}, {"fax", "Факс"}, {"other", "Другой"},
}

// EmailKinds are the kinds of an e-mail address.
var EmailKinds = []Kind{{"work", "Рабочий"}, {"personal", "Личный"}, {"other", "Другой"}}

// Kind is a value and its Russian label.
type Kind struct{ Value, Label string }

// KindLabel returns the label of value among kinds, or value itself.
func KindLabel(kinds []Kind, value string) string {
	for _, k := range kinds {
		if k.Value == value {
			return k.Label
		}
	}
	return value
}

func validKind(kinds []Kind, v string) bool {
	for _, k := range kinds {
		if k.Value == v {
			return true
		}
	}
	return false
}

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
	phones := in.Phones[:0:0]
	for _, p := range in.Phones {
		p.Value, p.Comment = strings.TrimSpace(p.Value), strings.TrimSpace(p.Comment)
		if p.Value == "" {
			continue
		}
		if p.Kind == "" {
			p.Kind = "work"
		}
		if !validKind(PhoneKinds, p.Kind) {
			inv.Add("phones", "Неизвестный тип телефона «"+p.Kind+"»")
		}
		n, ok := dedup.NormalizePhone(p.Value)
		if !ok {
			inv.Add("phones", "«"+p.Value+"» не похоже на номер телефона")
		}
		p.E164, p.Ext = n.E164, n.Ext
		phones = append(phones, p)
	}
	in.Phones = phones
	emails := in.Emails[:0:0]
	for _, e := range in.Emails {
		e.Value, e.Comment = strings.TrimSpace(e.Value), strings.TrimSpace(e.Comment)
		if e.Value == "" {
			continue
		}
		if e.Kind == "" {
			e.Kind = "work"
		}
		if !validKind(EmailKinds, e.Kind) {
			inv.Add("emails", "Неизвестный тип e-mail «"+e.Kind+"»")
		}
		if _, ok := dedup.NormalizeEmail(e.Value); !ok {
			inv.Add("emails", "«"+e.Value+"» не похоже на адрес e-mail")
		}
		emails = append(emails, e)
	}
	in.Emails = emails
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
