// Package company keeps the companies of the CRM: their fields and rules,
// the store that writes them under the caller's visibility, and the one
// search every list, the API, the header search box and later exports use.
package company

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/duplicate"
)

// Company is one client organisation as the API and the pages show it.
// The *_name fields come from the dictionaries the store holds in memory
// (fillNames), so a list never needs a query per row, nor a join.
type Company struct {
	ID              int64      `json:"id"`
	Name            string     `json:"name"`
	LegalName       string     `json:"legal_name"`
	INN             string     `json:"inn"`
	KPP             string     `json:"kpp"`
	OGRN            string     `json:"ogrn"`
	Address         string     `json:"address"`
	Website         string     `json:"website"`
	StatusID        *int64     `json:"status"`
	StatusName      string     `json:"status_name"`
	Spheres         []int64    `json:"spheres"`
	SphereNames     []string   `json:"sphere_names"`
	Phones          []Phone    `json:"phones"`
	Emails          []Email    `json:"emails"`
	BranchID        *int64     `json:"branch"`
	BranchName      string     `json:"branch_name"`
	ResponsibleID   *int64     `json:"responsible"`
	ResponsibleName string     `json:"responsible_name"`
	CreatedByID     *int64     `json:"created_by"`
	CreatedByName   string     `json:"created_by_name"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	DeletedAt       *time.Time `json:"deleted_at,omitempty"`
	DeletedByName   string     `json:"deleted_by_name,omitempty"`
	Version         int        `json:"version"`
	Match           *Match     `json:"match,omitempty"`
	// Duplicates are the likely duplicates a create or an update found
	// and saved anyway (a branch: the same ИНН with another КПП, or a
	// confirmed duplicate), so the caller can show them.
	Duplicates []duplicate.Match `json:"duplicates,omitempty"`

	// responsibleBranch is the responsible user's branch, read with the
	// row so that permission checks need no second query.
	responsibleBranch int64
	// deletedBy is who moved the company to the trash (0: nobody known),
	// whose name DeletedByName shows.
	deletedBy int64
}

// Ref is what the access rules need to know of the company.
func (c *Company) Ref() access.CompanyRef {
	return access.CompanyRef{
		ResponsibleID:       deref(c.ResponsibleID),
		CreatedBy:           deref(c.CreatedByID),
		BranchID:            deref(c.BranchID),
		ResponsibleBranchID: c.responsibleBranch,
	}
}

// owner is the company's responsible and branch as the access rules see them.
func (c *Company) owner() access.Owner {
	return access.Owner{
		Responsible: access.UserRef{ID: deref(c.ResponsibleID), BranchID: c.responsibleBranch},
		BranchID:    deref(c.BranchID),
	}
}

// Match says why a search found a company, so the list can show it
// («Найдено: телефон») and nobody wonders why a row is there.
type Match struct {
	Field string `json:"field"` // inn, phone, email, name, legal_name
	Label string `json:"label"`
}

// Match fields.
const (
	MatchINN       = "inn"
	MatchPhone     = "phone"
	MatchEmail     = "email"
	MatchName      = "name"
	MatchLegalName = "legal_name"
)

var matchLabels = map[string]string{
	MatchINN:       "Найдено: ИНН",
	MatchPhone:     "Найдено: телефон",
	MatchEmail:     "Найдено: e-mail",
	MatchName:      "Найдено: название",
	MatchLegalName: "Найдено: юридическое название",
}

func newMatch(field string) *Match { return &Match{Field: field, Label: matchLabels[field]} }

// Phone is the one phone value of companies and contacts alike.
type Phone = contactinfo.Phone

// Email is the one e-mail value of companies and contacts alike.
type Email = contactinfo.Email

// NewCompany is a company about to be written: by Create and Update after
// the input is applied, and directly by loaders through InsertBatch. Its
// normalise method is the single place company data is cleaned and checked.
type NewCompany struct {
	Name, LegalName, INN, KPP, OGRN, Address, Website string
	StatusID, BranchID, ResponsibleID, CreatedBy      int64
	Spheres                                           []int64
	Phones                                            []Phone
	Emails                                            []Email
	CreatedAt                                         time.Time
}

// Field length limits.
const (
	maxNameLen = 255
	maxTextLen = 1000
)

// Normalize cleans n in place (trims text, strips spaces from ИНН/КПП/ОГРН,
// fills the phones' E.164 keys and the e-mails' keys, drops blank phone
// and e-mail rows and repeated spheres) and returns the field errors in
// Russian. Loaders call it before InsertBatch; Create and Update call it
// themselves.
func (n *NewCompany) Normalize() apperr.Invalid {
	inv := apperr.Invalid{}
	n.Name = strings.TrimSpace(n.Name)
	n.LegalName = strings.TrimSpace(n.LegalName)
	n.Address = strings.TrimSpace(n.Address)
	n.Website = strings.TrimSpace(n.Website)
	switch {
	case n.Name == "":
		inv.Add("name", "Укажите название компании")
	case utf8.RuneCountInString(n.Name) > maxNameLen:
		inv.Add("name", fmt.Sprintf("Название не длиннее %d символов", maxNameLen))
	}
	if utf8.RuneCountInString(n.LegalName) > maxNameLen {
		inv.Add("legal_name", fmt.Sprintf("Юридическое название не длиннее %d символов", maxNameLen))
	}
	if utf8.RuneCountInString(n.Address) > maxTextLen {
		inv.Add("address", fmt.Sprintf("Адрес не длиннее %d символов", maxTextLen))
	}
	n.INN = strings.ToUpper(dedup.CleanDigits(n.INN))
	n.KPP = strings.ToUpper(dedup.CleanDigits(n.KPP))
	n.OGRN = strings.ToUpper(dedup.CleanDigits(n.OGRN))
	if n.INN != "" {
		inv.Add("inn", dedup.ValidateINN(n.INN))
	}
	if n.KPP != "" {
		if msg := dedup.ValidateKPP(n.KPP); msg != "" {
			inv.Add("kpp", msg)
		} else if len(n.INN) != 10 {
			inv.Add("kpp", "КПП указывается только вместе с ИНН организации из 10 цифр")
		}
	}
	if n.OGRN != "" {
		inv.Add("ogrn", dedup.ValidateOGRN(n.OGRN))
	}
	if n.Website != "" {
		inv.Add("website", validateWebsite(n.Website))
	}

	n.Phones = contactinfo.NormalizePhones(n.Phones, inv)
	n.Emails = contactinfo.NormalizeEmails(n.Emails, inv)

	seen := make(map[int64]bool, len(n.Spheres))
	spheres := n.Spheres[:0:0]
	for _, id := range n.Spheres {
		if id != 0 && !seen[id] {
			seen[id] = true
			spheres = append(spheres, id)
		}
	}
	n.Spheres = spheres
	return inv
}

// validateWebsite accepts "example.ru", "www.example.ru/page" and http(s)
// URLs; it returns a Russian message otherwise.
func validateWebsite(s string) string {
	if utf8.RuneCountInString(s) > maxNameLen {
		return fmt.Sprintf("Адрес сайта не длиннее %d символов", maxNameLen)
	}
	host := s
	if i := strings.Index(host, "://"); i >= 0 {
		scheme := strings.ToLower(host[:i])
		if scheme != "http" && scheme != "https" {
			return "Адрес сайта должен начинаться с http:// или https://"
		}
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	if strings.ContainsAny(s, " \t\n<>\"") || !strings.Contains(host, ".") ||
		strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") {
		return "Неверный адрес сайта"
	}
	return ""
}

// Norms are the search keys derived from a company's names and address.
type norms struct {
	name, legalName, address, domain string
	terms                            []string
}

func (n *NewCompany) norms() norms {
	nm := norms{
		name:      dedup.NormalizeName(n.Name),
		legalName: dedup.NormalizeName(n.LegalName),
		address:   dedup.NormalizeAddress(n.Address),
		domain:    dedup.NormalizeWebsite(n.Website),
	}
	nm.terms = dedup.Tokens(strings.TrimSpace(nm.name + " " + nm.legalName))
	return nm
}

// Input is the body of a create or an update, from JSON or from the form.
// Every field is optional so that PATCH changes only what it names; Set
// tells a field that was sent from one that was not.
type Input struct {
	Name        OptString  `json:"name"`
	LegalName   OptString  `json:"legal_name"`
	INN         OptString  `json:"inn"`
	KPP         OptString  `json:"kpp"`
	OGRN        OptString  `json:"ogrn"`
	Address     OptString  `json:"address"`
	Website     OptString  `json:"website"`
	Status      OptID      `json:"status"`
	Branch      OptID      `json:"branch"`
	Responsible OptID      `json:"responsible"`
	Spheres     OptIDs     `json:"spheres"`
	Phones      OptPhones  `json:"phones"`
	Emails      OptEmails  `json:"emails"`
	Version     OptVersion `json:"version"`

	// ConfirmDuplicate saves although the duplicate check found a
	// blocking (or, in strict mode, a likely) duplicate; the save's audit
	// entry names them (detail "confirmed_duplicate": [ids]).
	ConfirmDuplicate bool `json:"confirm_duplicate"`
	// StrictDuplicates makes any likely duplicate (score ≥
	// duplicate.Likely) block the save unless confirmed, not only the
	// same ИНН and КПП: the company form sets it, so that nobody creates a
	// likely double without pressing «Всё равно создать».
	StrictDuplicates bool `json:"-"`
}

// OptString is a string field that may be absent; null reads as "".
type OptString struct {
	Set   bool
	Value string
}

// UnmarshalJSON accepts a string, a number (an ИНН sent as a number) or null.
func (o *OptString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = ""
		return nil
	}
	if len(b) > 0 && b[0] != '"' {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errType
		}
		o.Value = n.String()
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// OptID is a reference (status, branch, responsible) that may be absent;
// null or 0 clears it.
type OptID struct {
	Set   bool
	Value int64
	Bad   bool // not an id at all; reported as a field error
}

// UnmarshalJSON accepts an integer, a string of digits or null.
func (o *OptID) UnmarshalJSON(b []byte) error {
	o.Set = true
	id, ok := parseJSONID(b)
	o.Value, o.Bad = id, !ok
	return nil
}

func parseJSONID(b []byte) (int64, bool) {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return 0, true
	}
	s := strings.Trim(string(b), `"`)
	if s == "" {
		return 0, true
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, false
	}
	return id, true
}

// OptIDs is the list of spheres; absent leaves them, [] or null clears them.
type OptIDs struct {
	Set   bool
	Value []int64
	Bad   bool
}

// UnmarshalJSON accepts an array of ids or null.
func (o *OptIDs) UnmarshalJSON(b []byte) error {
	o.Set = true
	o.Value = nil
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		o.Bad = true
		return nil
	}
	for _, r := range raw {
		id, ok := parseJSONID(r)
		if !ok || id == 0 {
			o.Bad = true
			continue
		}
		o.Value = append(o.Value, id)
	}
	return nil
}

// OptPhones is the list of phones: each a bare string or an object.
type OptPhones = OptList[Phone]

// OptEmails is the list of e-mails: each a bare string or an object.
type OptEmails = OptList[Email]

// OptList is a list field that may be absent, whose items come as a bare
// string ("+7 495 …", "a@b.ru") or as an object with the value and its
// kind. Bad is set when an item is neither, so the input can name the
// field instead of failing as a whole.
type OptList[T Phone | Email] struct {
	Set   bool
	Value []T
	Bad   bool
}

// UnmarshalJSON accepts [ "…", {"value", "kind", …} ] or null.
func (o *OptList[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	o.Value = nil
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		o.Bad = true
		return nil
	}
	for _, r := range raw {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			o.Bad = true
			continue
		}
		var value string
		switch p := any(&v).(type) {
		case *Phone:
			value = p.Value
		case *Email:
			value = p.Value
		}
		if strings.TrimSpace(value) == "" && bytes.TrimSpace(r)[0] == '{' {
			o.Bad = true // an object without a value is a mistake, a blank string a blank row
			continue
		}
		o.Value = append(o.Value, v)
	}
	return nil
}

// OptVersion is the version the client edited; absent means last write wins.
type OptVersion struct {
	Set   bool
	Value int
	Bad   bool
}

// UnmarshalJSON accepts an integer, a string of digits or null (= absent).
func (o *OptVersion) UnmarshalJSON(b []byte) error {
	id, ok := parseJSONID(b)
	o.Set, o.Value, o.Bad = ok && id > 0, int(id), !ok
	return nil
}

var errType = fmt.Errorf("неверный тип значения")

// ParseJSON reads an Input from a JSON body; shapes that are not JSON of
// the right kind become field errors, never a failure of the server.
func ParseJSON(b []byte) (Input, error) {
	var in Input
	if err := json.Unmarshal(b, &in); err != nil {
		return in, apperr.Invalid{apperr.NonField: "Неверный JSON"}
	}
	return in, in.shapeErrors().Err()
}

// shapeErrors reports fields whose JSON had the wrong shape.
func (in *Input) shapeErrors() apperr.Invalid {
	inv := apperr.Invalid{}
	if in.Status.Bad {
		inv.Add("status", "Неверный идентификатор статуса")
	}
	if in.Branch.Bad {
		inv.Add("branch", "Неверный идентификатор филиала")
	}
	if in.Responsible.Bad {
		inv.Add("responsible", "Неверный идентификатор пользователя")
	}
	if in.Spheres.Bad {
		inv.Add("spheres", "Ожидается список идентификаторов сфер деятельности")
	}
	if in.Phones.Bad {
		inv.Add("phones", "Телефон — строка или объект {\"value\", \"kind\", \"comment\"}")
	}
	if in.Emails.Bad {
		inv.Add("emails", "E-mail — строка или объект {\"value\", \"kind\", \"comment\"}")
	}
	if in.Version.Bad {
		inv.Add("version", "Версия должна быть целым числом")
	}
	return inv
}

// apply writes the fields of in onto n. With full (PUT, create) an absent
// field is reset to empty; otherwise (PATCH) it is left as it is. The
// responsible and the branch are never reset by absence: they have their
// own defaults.
func (in *Input) apply(n *NewCompany, full bool) {
	str := func(dst *string, o OptString) {
		if o.Set {
			*dst = o.Value
		} else if full {
			*dst = ""
		}
	}
	str(&n.Name, in.Name)
	str(&n.LegalName, in.LegalName)
	str(&n.INN, in.INN)
	str(&n.KPP, in.KPP)
	str(&n.OGRN, in.OGRN)
	str(&n.Address, in.Address)
	str(&n.Website, in.Website)
	if in.Status.Set {
		n.StatusID = in.Status.Value
	} else if full {
		n.StatusID = 0
	}
	if in.Spheres.Set || full {
		n.Spheres = append([]int64(nil), in.Spheres.Value...)
	}
	if in.Phones.Set || full {
		n.Phones = append([]Phone(nil), in.Phones.Value...)
	}
	if in.Emails.Set || full {
		n.Emails = append([]Email(nil), in.Emails.Value...)
	}
	if in.Responsible.Set {
		n.ResponsibleID = in.Responsible.Value
	}
	if in.Branch.Set {
		n.BranchID = in.Branch.Value
	}
}

// owner is the responsible and branch n would give its company; resp is
// the responsible as the store read it (zero when not found).
func (n *NewCompany) owner(resp access.UserRef) access.Owner {
	return access.Owner{Responsible: access.UserRef{ID: n.ResponsibleID, BranchID: resp.BranchID}, BranchID: n.BranchID}
}

// draft is the company as a NewCompany, the starting point of an update.
func (c *Company) draft() NewCompany {
	n := NewCompany{
		Name: c.Name, LegalName: c.LegalName, INN: c.INN, KPP: c.KPP, OGRN: c.OGRN,
		Address: c.Address, Website: c.Website,
		StatusID: deref(c.StatusID), BranchID: deref(c.BranchID),
		ResponsibleID: deref(c.ResponsibleID), CreatedBy: deref(c.CreatedByID),
		Spheres: append([]int64(nil), c.Spheres...),
		Phones:  append([]Phone(nil), c.Phones...),
		Emails:  append([]Email(nil), c.Emails...),
	}
	return n
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func ptr(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}
