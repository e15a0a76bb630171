// Package contactinfo is the one phone and e-mail value of CRM ПРОФИ:
// companies and contacts both keep their numbers and addresses as these
// types, read them from JSON and forms the same way, check them with the
// same rules and show them in the same format on every page.
//
// The value stays as the person typed it (the API returns it unchanged);
// E164 and Ext are its normalised key (internal/dedup), which search and
// duplicate detection use and which the JSON shows as well, so that API
// clients need not parse numbers themselves.
package contactinfo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/dedup"
)

// Phone is a phone number as typed, with its kind and a comment
// («секретарь», «после 14:00»). E164 and Ext are filled by NormalizePhones
// on every write; whatever a client sends in them is recomputed.
type Phone struct {
	Value   string `json:"value"`
	Kind    string `json:"kind"`
	Comment string `json:"comment"`
	E164    string `json:"e164,omitempty"`
	Ext     string `json:"ext,omitempty"`
}

// Email is an e-mail address as typed, with its kind and a comment. Norm
// is the search key (dedup.NormalizeEmail), filled on every write.
type Email struct {
	Value   string `json:"value"`
	Kind    string `json:"kind"`
	Comment string `json:"comment"`
	Norm    string `json:"-"`
}

// Default kinds: a bare string in JSON, or a form row without a kind.
const (
	DefaultPhoneKind = "work"
	DefaultEmailKind = "work"
)

// Kind is a kind's value and its Russian label.
type Kind struct{ Value, Label string }

// PhoneKinds are the phone kinds of the contract, in the order forms offer them.
var PhoneKinds = []Kind{
	{"work", "Рабочий"}, {"work_direct", "Рабочий прямой"}, {"mobile", "Мобильный"},
	{"home", "Домашний"}, {"fax", "Факс"}, {"other", "Другой"},
}

// EmailKinds are the e-mail kinds of the contract.
var EmailKinds = []Kind{{"work", "Рабочий"}, {"personal", "Личный"}, {"other", "Другой"}}

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

// KindLabel is the phone's kind in Russian.
func (p Phone) KindLabel() string { return KindLabel(PhoneKinds, p.Kind) }

// KindLabel is the e-mail's kind in Russian.
func (e Email) KindLabel() string { return KindLabel(EmailKinds, e.Kind) }

// Display is the one way every page writes a phone: formatted from the
// normalised number («+7 (495) 123-45-67 доб. 12»), or as typed when the
// number has no normal form. The API keeps Value as typed.
func (p Phone) Display() string {
	n := dedup.Phone{E164: p.E164, Ext: p.Ext}
	if n.E164 == "" {
		var ok bool
		if n, ok = dedup.NormalizePhone(p.Value); !ok {
			return p.Value
		}
	}
	return dedup.FormatPhone(n)
}

// TelURI is the tel: link that dials the phone, the extension after a
// pause; a number without a normal form is dialled by its digits.
func (p Phone) TelURI() string {
	n := dedup.Phone{E164: p.E164, Ext: p.Ext}
	if n.E164 == "" {
		if norm, ok := dedup.NormalizePhone(p.Value); ok {
			n = norm
		} else {
			n.E164 = dedup.CleanDigits(p.Value)
		}
	}
	if n.Ext != "" {
		return "tel:" + n.E164 + ",," + n.Ext
	}
	return "tel:" + n.E164
}

// UnmarshalJSON accepts a bare string as {"value": s, "kind": "work"}, as
// the contract allows, or the object. E164 and Ext, if sent, are read so
// that the JSON round-trips; NormalizePhones recomputes them on every write.
func (p *Phone) UnmarshalJSON(b []byte) error {
	if s, ok := bareString(b); ok {
		*p = Phone{Value: s, Kind: DefaultPhoneKind}
		return nil
	}
	type plain Phone
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Phone(v)
	return nil
}

// UnmarshalJSON accepts a bare string as {"value": s, "kind": "work"}, or
// the object.
func (e *Email) UnmarshalJSON(b []byte) error {
	if s, ok := bareString(b); ok {
		*e = Email{Value: s, Kind: DefaultEmailKind}
		return nil
	}
	var v struct{ Value, Kind, Comment string }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Email{Value: v.Value, Kind: v.Kind, Comment: v.Comment}
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

// maxComment bounds a phone's or an e-mail's comment.
const maxComment = 255

// NormalizePhones trims the phones, drops blank rows (a form's spare
// rows), gives a missing kind the default, fills E164 and Ext and reports
// problems under "phones" in inv, numbering the rows as the person sees them.
func NormalizePhones(ps []Phone, inv apperr.Invalid) []Phone {
	out := ps[:0:0]
	for i, p := range ps {
		p.Value, p.Kind, p.Comment = strings.TrimSpace(p.Value), strings.TrimSpace(p.Kind), strings.TrimSpace(p.Comment)
		if p.Value == "" {
			continue
		}
		if p.Kind == "" {
			p.Kind = DefaultPhoneKind
		}
		label := fmt.Sprintf("Телефон %d: ", i+1)
		norm, ok := dedup.NormalizePhone(p.Value)
		switch {
		case !ok:
			inv.Add("phones", label+"неверный номер")
		case !validKind(PhoneKinds, p.Kind):
			inv.Add("phones", label+"неизвестный тип «"+p.Kind+"»")
		case utf8.RuneCountInString(p.Comment) > maxComment:
			inv.Add("phones", fmt.Sprintf("%sкомментарий не длиннее %d символов", label, maxComment))
		}
		p.E164, p.Ext = norm.E164, norm.Ext
		out = append(out, p)
	}
	return out
}

// NormalizeEmails does for e-mails what NormalizePhones does for phones,
// filling Norm and reporting under "emails".
func NormalizeEmails(es []Email, inv apperr.Invalid) []Email {
	out := es[:0:0]
	for i, e := range es {
		e.Value, e.Kind, e.Comment = strings.TrimSpace(e.Value), strings.TrimSpace(e.Kind), strings.TrimSpace(e.Comment)
		if e.Value == "" {
			continue
		}
		if e.Kind == "" {
			e.Kind = DefaultEmailKind
		}
		label := fmt.Sprintf("E-mail %d: ", i+1)
		norm, ok := dedup.NormalizeEmail(e.Value)
		switch {
		case !ok:
			inv.Add("emails", label+"неверный адрес")
		case !validKind(EmailKinds, e.Kind):
			inv.Add("emails", label+"неизвестный тип «"+e.Kind+"»")
		case utf8.RuneCountInString(e.Comment) > maxComment:
			inv.Add("emails", fmt.Sprintf("%sкомментарий не длиннее %d символов", label, maxComment))
		}
		e.Norm = norm
		out = append(out, e)
	}
	return out
}

// PhonesFromForm reads the phone rows of a form: the repeated fields
// phone, phone_kind and phone_comment, row by row.
func PhonesFromForm(values, kinds, comments []string) []Phone {
	out := make([]Phone, 0, len(values))
	for i, v := range values {
		out = append(out, Phone{Value: v, Kind: at(kinds, i), Comment: at(comments, i)})
	}
	return out
}

// EmailsFromForm reads the e-mail rows of a form, like PhonesFromForm.
func EmailsFromForm(values, kinds, comments []string) []Email {
	out := make([]Email, 0, len(values))
	for i, v := range values {
		out = append(out, Email{Value: v, Kind: at(kinds, i), Comment: at(comments, i)})
	}
	return out
}

func at(vs []string, i int) string {
	if i < len(vs) {
		return vs[i]
	}
	return ""
}
