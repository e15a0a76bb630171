// Package view renders the HTML pages of CRM ПРОФИ with templ. Views take
// plain values and never reach for the database or the server: handlers load
// what a page needs and pass it in, so every page can be rendered in a test.
package view

import (
	"context"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/a-h/templ"
)

// Shell is what every page's frame needs.
type Shell struct {
	Title  string     // page title (without the product name)
	User   *ShellUser // nil on the sign-in page
	Active string     // menu key: "desk", "tasks", "companies", "contacts", "admin"
	Search string     // current global search text, echoed in the header box
	Toasts []Toast
}

// ShellUser is the signed-in user as the frame shows them.
type ShellUser struct {
	FullName string
	IsAdmin  bool
	Unread   int // unread notifications: the bell's count
}

// Toast is a short message shown in the top-right corner after an action,
// for example «Компания сохранена».
type Toast struct {
	Kind string // "success" | "error" | "info"
	Text string
}

// MenuItem is one rail entry.
type MenuItem struct {
	Key       string // matches Shell.Active
	Label     string
	Href      string
	Icon      string // sprite symbol id, e.g. "i-companies"
	AdminOnly bool
}

// menu is the rail, in order: the day's work first (the desk is the page
// after sign-in), then the base. Adding a section is one line here.
var menu = []MenuItem{
	{Key: "desk", Label: "Рабочий стол", Href: "/desk/", Icon: "i-desk"},
	{Key: "tasks", Label: "Задачи", Href: "/tasks/", Icon: "i-tasks"},
	{Key: "companies", Label: "Компании", Href: "/companies/", Icon: "i-companies"},
	{Key: "contacts", Label: "Контакты", Href: "/contacts/", Icon: "i-contacts"},
	{Key: "admin", Label: "Администрирование", Href: "/admin/", Icon: "i-settings", AdminOnly: true},
}

// Menu returns the rail entries the user may see: admins also get
// Администрирование. A nil user gets nothing.
func Menu(u *ShellUser) []MenuItem {
	if u == nil {
		return nil
	}
	items := make([]MenuItem, 0, len(menu))
	for _, m := range menu {
		if m.AdminOnly && !u.IsAdmin {
			continue
		}
		items = append(items, m)
	}
	return items
}

// FieldProps describes one form field. Name is the form key and also the
// suffix of the data-testid hooks ("field-<name>", "error-<name>").
type FieldProps struct {
	Name, Label, Type, Value, Error, Hint, Placeholder string
	Required, Autofocus                                bool
	Rows                                               int              // textarea height in lines; 0 means 4
	Attrs                                              templ.Attributes // extra attributes for the control (autocomplete, inputmode, maxlength…)
}

// Option is one choice of a select or a multiselect.
type Option struct {
	Value, Label string
	Selected     bool
}

// Pager is what Pagination needs: the current page (1-based), the number of
// pages, the number of rows found, and how to link to a page. More says
// Count is a lower bound (a list that stops counting): the page shows
// «Найдено: более 1 000» and «Стр. 3» without the number of pages.
type Pager struct {
	Page, Pages, Count int
	More               bool
	URL                func(page int) string
}

// thinNBSP is U+202F NARROW NO-BREAK SPACE, the group separator of Russian
// typography: it keeps "1 234 567" on one line.
const thinNBSP = "\u202f"

// FormatInt formats n with thin non-breaking spaces between groups of three
// digits, as Russian text writes numbers: FormatInt(1234567) == "1 234 567".
func FormatInt(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var b strings.Builder
	b.WriteString(sign)
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if i > 0 {
			b.WriteString(thinNBSP)
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// fieldID is the element id of a field's control.
func fieldID(name string) string { return "f-" + name }

// describedBy joins the ids of the hint and the error of a field, the
// value of aria-describedby; empty when there is neither.
func describedBy(f FieldProps) string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, fieldID(f.Name)+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, fieldID(f.Name)+"-error")
	}
	return strings.Join(ids, " ")
}

// controlAttrs is the attribute set shared by input, select and textarea.
func controlAttrs(f FieldProps) templ.Attributes {
	a := templ.Attributes{}
	for k, v := range f.Attrs {
		a[k] = v
	}
	a["id"] = fieldID(f.Name)
	a["name"] = f.Name
	if f.Required {
		a["required"] = true
	}
	if f.Autofocus {
		a["autofocus"] = true
	}
	if f.Error != "" {
		a["aria-invalid"] = "true"
	}
	if d := describedBy(f); d != "" {
		a["aria-describedby"] = d
	}
	return a
}

// inputType maps FieldProps.Type to an <input type>; unknown kinds fall
// back to text.
func inputType(t string) string {
	switch t {
	case "email", "password", "tel", "number", "date", "search", "url", "time", "datetime-local", "color":
		return t
	}
	return "text"
}

func textareaRows(n int) int {
	if n <= 0 {
		return 4
	}
	return n
}

// badgeKinds are the Badge variants the stylesheet knows.
var badgeKinds = map[string]bool{
	"success": true, "warning": true, "danger": true, "info": true, "neutral": true, "brand": true,
}

// Badge is a status label: colour plus text. kind is one of success,
// warning, danger, info, neutral, brand (anything else is neutral).
//
// It is written in Go, not templ: every row of the company list carries
// one, and templ writes an element whose class is an expression through
// a pooled buffer of its own and a class-list builder, about a fifth of
// the list table's rendering in the load test's profile. The markup is
// the same (TestBadgeMarkup).
func Badge(kind, text string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		for _, s := range [...]string{`<span class="`, badgeClass(kind), `">`, templ.EscapeString(text), `</span>`} {
			if _, err := io.WriteString(w, s); err != nil {
				return err
			}
		}
		return nil
	})
}

func badgeClass(kind string) string {
	if !badgeKinds[kind] {
		kind = "neutral"
	}
	return "badge badge-" + kind
}

func toastKind(kind string) string {
	switch kind {
	case "success", "error":
		return kind
	}
	return "info"
}

func toastIcon(kind string) string {
	switch toastKind(kind) {
	case "success":
		return "i-check"
	case "error":
		return "i-close"
	}
	return "i-bell"
}

// toastRole makes errors interrupt (alert) and the rest wait (status).
func toastRole(kind string) string {
	if toastKind(kind) == "error" {
		return "alert"
	}
	return "status"
}

// initials gives up to two capital letters for the avatar: «Анна Смирнова» → «АС».
func initials(name string) string {
	var b strings.Builder
	n := 0
	for w := range strings.FieldsSeq(name) {
		r, _ := utf8.DecodeRuneInString(w)
		b.WriteString(strings.ToUpper(string(r)))
		if n++; n == 2 {
			break
		}
	}
	return b.String()
}

// pageTitle is the <title>: the page first, so tabs stay tellable apart.
func pageTitle(title string) string {
	if title == "" {
		return "CRM ПРОФИ"
	}
	return title + " · CRM ПРОФИ"
}

// pagerURL links to page p, or "" when p is out of range.
func pagerURL(p Pager, page int) string {
	if p.URL == nil || page < 1 || page > p.Pages {
		return ""
	}
	return p.URL(page)
}

// sortNext is the sort key a header link switches to: ascending first,
// descending on the second click. current uses a leading "-" for descending.
func sortNext(key, current string) string {
	if current == key {
		return "-" + key
	}
	return key
}

// orDefault is the list's ordering, or def when the page was opened
// without one: the column the list is sorted by anyway shows its arrow.
func orDefault(ordering, def string) string {
	if ordering == "" {
		return def
	}
	return ordering
}

// sortState is the aria-sort value of a column, or "" when it is not sorted.
func sortState(key, current string) string {
	switch current {
	case key:
		return "ascending"
	case "-" + key:
		return "descending"
	}
	return ""
}

// countSelected counts the options that are selected.
func countSelected(opts []Option) int {
	n := 0
	for _, o := range opts {
		if o.Selected {
			n++
		}
	}
	return n
}

func checkboxValue(v string) string {
	if v == "" {
		return "on"
	}
	return v
}

// buttonClass is the class list of a button variant; unknown variants are
// secondary, the quiet default.
func buttonClass(variant string) string {
	switch variant {
	case "primary", "accent", "secondary", "ghost", "danger", "danger-outline":
		return "btn btn-" + variant
	}
	return "btn btn-secondary"
}

// filtersLabel is the text of the phone's filter button: «Фильтры» or
// «Фильтры (2)».
func filtersLabel(active int) string {
	if active <= 0 {
		return "Фильтры"
	}
	return "Фильтры (" + strconv.Itoa(active) + ")"
}

// countSet counts the values that are not empty: the filters in use.
func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			n++
		}
	}
	return n
}

// withArrow ends a next-step link with "→" unless it already has one.
func withArrow(s string) string {
	if strings.HasSuffix(s, "→") {
		return s
	}
	return s + " →"
}
