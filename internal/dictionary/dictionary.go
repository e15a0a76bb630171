// Package dictionary keeps the small lists admins manage and everyone picks
// from: branches, company statuses, spheres of activity and task types.
// The four share one store because they differ only in a column or two;
// Kind says which one a call is about.
package dictionary

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/apperr"
)

// Kind names a dictionary; its value is the URL segment and the audit
// object_type.
type Kind string

// The dictionaries.
const (
	Branches        Kind = "branches"
	CompanyStatuses Kind = "company-statuses"
	Spheres         Kind = "spheres"
	TaskTypes       Kind = "task-types"
)

// Kinds lists the dictionaries in the order the admin section shows them.
var Kinds = []Kind{Branches, CompanyStatuses, Spheres, TaskTypes}

// ParseKind returns the Kind named by s, or false.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// Label is the dictionary's Russian name, as a page title.
func (k Kind) Label() string {
	switch k {
	case Branches:
		return "Филиалы"
	case CompanyStatuses:
		return "Статусы компаний"
	case Spheres:
		return "Сферы деятельности"
	case TaskTypes:
		return "Типы задач"
	}
	return string(k)
}

// ItemLabel names one entry of the dictionary, for buttons and headings.
func (k Kind) ItemLabel() string {
	switch k {
	case Branches:
		return "филиал"
	case CompanyStatuses:
		return "статус"
	case Spheres:
		return "сферу"
	case TaskTypes:
		return "тип задачи"
	}
	return "запись"
}

// table is the SQL table behind the kind.
func (k Kind) table() string {
	switch k {
	case Branches:
		return "branches"
	case CompanyStatuses:
		return "company_statuses"
	case Spheres:
		return "spheres"
	case TaskTypes:
		return "task_types"
	}
	panic("dictionary: unknown kind " + string(k))
}

// HasCode reports whether entries carry a code and a time zone (branches).
func (k Kind) HasCode() bool { return k == Branches }

// HasLook reports whether entries carry an icon and a colour (task types).
func (k Kind) HasLook() bool { return k == TaskTypes }

// TaskIcons are the symbols of the sprite a task type may show, with
// their Russian names for the admin's select.
var TaskIcons = []struct{ Name, Label string }{
	{"tasks", "Задача"}, {"phone", "Звонок"}, {"mail", "Письмо"}, {"users", "Встреча"},
	{"companies", "Визит"}, {"note", "Документ"}, {"check", "Проверка"}, {"desk", "План"},
}

// Defaults of a task type's look.
const (
	DefaultTaskIcon  = "tasks"
	DefaultTaskColor = "#01948E"
)

// HasPosition reports whether entries are ordered by hand (statuses).
func (k Kind) HasPosition() bool { return k == CompanyStatuses }

// DefaultTimeZone is a new branch's zone when none is given.
const DefaultTimeZone = "Europe/Moscow"

// Item is one dictionary entry. Code and TimeZone belong to branches,
// Position to statuses; JSON shows only the fields of the item's kind.
type Item struct {
	Kind     Kind
	ID       int64
	Code     string
	Name     string
	TimeZone string
	Position int
	Icon     string // task types: a symbol of the sprite (TaskIcons)
	Color    string // task types: #RRGGBB
	Version  int
}

// MarshalJSON writes the contract's shape: branch {id, code, name,
// time_zone}, status {id, name, position}, others {id, name}; all with version.
func (it Item) MarshalJSON() ([]byte, error) {
	switch it.Kind {
	case Branches:
		return json.Marshal(struct {
			ID       int64  `json:"id"`
			Code     string `json:"code"`
			Name     string `json:"name"`
			TimeZone string `json:"time_zone"`
			Version  int    `json:"version"`
		}{it.ID, it.Code, it.Name, it.TimeZone, it.Version})
	case CompanyStatuses:
		return json.Marshal(struct {
			ID       int64  `json:"id"`
			Name     string `json:"name"`
			Position int    `json:"position"`
			Version  int    `json:"version"`
		}{it.ID, it.Name, it.Position, it.Version})
	case TaskTypes:
		return json.Marshal(struct {
			ID      int64  `json:"id"`
			Name    string `json:"name"`
			Icon    string `json:"icon"`
			Color   string `json:"color"`
			Version int    `json:"version"`
		}{it.ID, it.Name, it.Icon, it.Color, it.Version})
	}
	return json.Marshal(struct {
		ID      int64  `json:"id"`
		Name    string `json:"name"`
		Version int    `json:"version"`
	}{it.ID, it.Name, it.Version})
}

// Input is a create or an update. A nil field is left as it is (PATCH)
// unless Replace is set (PUT), when it is required like on create;
// Version, when non-zero, must match the stored one.
type Input struct {
	Code     *string `json:"code"`
	Name     *string `json:"name"`
	TimeZone *string `json:"time_zone"`
	Position *int    `json:"position"`
	Icon     *string `json:"icon"`
	Color    *string `json:"color"`
	Version  int     `json:"version"`
	Replace  bool    `json:"-"`
}

// Limits on entry fields.
const (
	maxName = 200
	maxCode = 20
)

// apply validates in and writes it over it; create requires the name (and
// a branch's code).
func (in Input) apply(it *Item, create bool) error {
	create = create || in.Replace
	inv := apperr.Invalid{}
	if in.Name != nil || create {
		name := ""
		if in.Name != nil {
			name = strings.Join(strings.Fields(*in.Name), " ")
		}
		switch {
		case name == "":
			inv.Add("name", "Укажите название")
		case utf8.RuneCountInString(name) > maxName:
			inv.Add("name", "Название длиннее 200 символов")
		}
		it.Name = name
	}
	if it.Kind.HasCode() {
		if in.Code != nil || create {
			code := ""
			if in.Code != nil {
				code = strings.TrimSpace(*in.Code)
			}
			switch {
			case code == "":
				inv.Add("code", "Укажите код филиала")
			case utf8.RuneCountInString(code) > maxCode:
				inv.Add("code", "Код длиннее 20 символов")
			}
			it.Code = code
		}
		if in.TimeZone != nil || create {
			tz := ""
			if in.TimeZone != nil {
				tz = strings.TrimSpace(*in.TimeZone)
			}
			if tz == "" {
				tz = DefaultTimeZone
			}
			inv.Add("time_zone", ValidateTimeZone(tz))
			it.TimeZone = tz
		}
	}
	if it.Kind.HasLook() {
		if in.Icon != nil || create {
			it.Icon = DefaultTaskIcon
			if in.Icon != nil && strings.TrimSpace(*in.Icon) != "" {
				it.Icon = strings.TrimSpace(*in.Icon)
			}
			if !validIcon(it.Icon) {
				inv.Add("icon", "Неизвестный значок; выберите из списка")
			}
		}
		if in.Color != nil || create {
			it.Color = DefaultTaskColor
			if in.Color != nil && strings.TrimSpace(*in.Color) != "" {
				it.Color = strings.ToUpper(strings.TrimSpace(*in.Color))
			}
			if !validColor(it.Color) {
				inv.Add("color", "Цвет — в виде #RRGGBB, например #01948E")
			}
		}
	}
	if it.Kind.HasPosition() && in.Position != nil {
		if *in.Position < 0 {
			inv.Add("position", "Порядок не может быть отрицательным")
		}
		it.Position = *in.Position
	}
	return inv.Err()
}

// ValidateTimeZone returns "" for an IANA zone name this server knows,
// or a Russian message.
func ValidateTimeZone(tz string) string {
	if tz == "" || tz == "Local" {
		return "Укажите часовой пояс в формате IANA, например Europe/Moscow"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return "Неизвестный часовой пояс «" + tz + "»; пример: Europe/Moscow"
	}
	return ""
}

func validIcon(name string) bool {
	for _, ic := range TaskIcons {
		if ic.Name == name {
			return true
		}
	}
	return false
}

func validColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for _, r := range c[1:] {
		if !strings.ContainsRune("0123456789ABCDEF", r) {
			return false
		}
	}
	return true
}
