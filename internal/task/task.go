// Package task keeps tasks: who does what by when, for which company, done
// with which result; their recurring series (RFC 5545 RRULE), comments and
// history. Visibility and permissions are access's (Scope.RestrictTasks,
// CanChangeTask, CanAssign); every write calls the hooks registered with
// Store.OnChange inside its transaction.
package task

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
)

// Status is where a task is in its life.
type Status string

// The statuses of a task. New and InProgress are open.
const (
	StatusNew        Status = "new"
	StatusInProgress Status = "in_progress"
	StatusDone       Status = "done"
	StatusCancelled  Status = "cancelled"
)

// Statuses lists the statuses in the order the UI offers them.
var Statuses = []Status{StatusNew, StatusInProgress, StatusDone, StatusCancelled}

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusNew, StatusInProgress, StatusDone, StatusCancelled:
		return true
	}
	return false
}

// Open reports whether the task still has to be done.
func (s Status) Open() bool { return s == StatusNew || s == StatusInProgress }

// Label is the status's Russian name.
func (s Status) Label() string {
	switch s {
	case StatusNew:
		return "Новая"
	case StatusInProgress:
		return "В работе"
	case StatusDone:
		return "Выполнена"
	case StatusCancelled:
		return "Отменена"
	}
	return string(s)
}

// Limits of the text fields.
const (
	MaxTitle       = 300
	MaxDescription = 10000
	MaxResult      = 10000
	MaxComment     = 10000
)

// Task is one thing to do. DueAt is UTC; for an all-day task it is the
// date at 00:00 UTC, a floating date that is the same day in every zone.
// State is computed for the viewer (their time zone, now) by the store.
type Task struct {
	ID             int64      `json:"id"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	TypeID         *int64     `json:"type"`
	TypeName       string     `json:"type_name"`
	TypeIcon       string     `json:"type_icon"`
	TypeColor      string     `json:"type_color"`
	Status         Status     `json:"status"`
	DueAt          time.Time  `json:"due_at"`
	AllDay         bool       `json:"all_day"`
	IsUrgent       bool       `json:"is_urgent"`
	CreatedBy      *int64     `json:"created_by"`
	CreatedByName  string     `json:"created_by_name"`
	AssignedTo     int64      `json:"assigned_to"`
	AssignedToName string     `json:"assigned_to_name"`
	CompanyID      *int64     `json:"company"`
	CompanyName    string     `json:"company_name"`
	ContactID      *int64     `json:"contact"`
	ContactName    string     `json:"contact_name"`
	Rule           string     `json:"recurrence_rrule"`
	RuleText       string     `json:"recurrence_text"`
	SeriesID       *int64     `json:"series"`
	SeriesStart    *time.Time `json:"series_start"`
	Occurrence     int        `json:"occurrence"`
	Result         string     `json:"result"`
	CompletedAt    *time.Time `json:"completed_at"`
	State          string     `json:"state"`
	Seen           bool       `json:"seen"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Version        int        `json:"version"`

	// The company's owner, for the permission rules (not in JSON).
	companyRef *access.CompanyRef
	// assigneeBranch is the assignee's branch, for the permission rules.
	assigneeBranch int64
}

// Recurring reports whether completing the task creates the next one.
func (t *Task) Recurring() bool { return t.Rule != "" }

// Ref is what the permission rules need to know of the task.
func (t *Task) Ref() access.TaskRef {
	r := access.TaskRef{AssignedTo: t.AssignedTo, Company: t.companyRef}
	if t.CreatedBy != nil {
		r.CreatedBy = *t.CreatedBy
	}
	return r
}

// DueIn is the due time in loc, or for an all-day task the floating date
// as midnight in loc.
func (t *Task) DueIn(loc *time.Location) time.Time {
	if t.AllDay {
		y, m, d := t.DueAt.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	return t.DueAt.In(loc)
}

// Comment is a remark on a task.
type Comment struct {
	ID         int64     `json:"id"`
	TaskID     int64     `json:"task"`
	AuthorID   *int64    `json:"author"`
	AuthorName string    `json:"author_name"`
	Text       string    `json:"text"`
	CreatedAt  time.Time `json:"created_at"`
}

// HistoryEntry is one changed field of a task: who, when, from what to what.
type HistoryEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	ActorID   *int64    `json:"actor"`
	ActorName string    `json:"actor_name"`
	Field     string    `json:"field"`
	Old       string    `json:"old"`
	New       string    `json:"new"`
}

// FieldLabel is the Russian name of a history field.
func FieldLabel(field string) string {
	switch field {
	case "title":
		return "Название"
	case "description":
		return "Описание"
	case "type":
		return "Тип"
	case "status":
		return "Статус"
	case "due_at":
		return "Срок"
	case "all_day":
		return "Весь день"
	case "is_urgent":
		return "Срочная"
	case "assigned_to":
		return "Исполнитель"
	case "company":
		return "Компания"
	case "contact":
		return "Контакт"
	case "recurrence_rrule":
		return "Повтор"
	case "result":
		return "Результат"
	case "created":
		return "Создана"
	}
	return field
}

// Input is a task as the client sends it, for create, PUT and PATCH alike:
// an absent field stays as it is (on create: its default). DueAt is
// RFC 3339, "YYYY-MM-DDTHH:MM" in Loc, or "YYYY-MM-DD" (with AllDay).
type Input struct {
	Title       company.OptString  `json:"title"`
	Description company.OptString  `json:"description"`
	Type        company.OptID      `json:"type"`
	Status      company.OptString  `json:"status"`
	DueAt       company.OptString  `json:"due_at"`
	AllDay      OptBool            `json:"all_day"`
	IsUrgent    OptBool            `json:"is_urgent"`
	AssignedTo  OptAssignee        `json:"assigned_to"`
	Company     company.OptID      `json:"company"`
	Contact     company.OptID      `json:"contact"`
	Rule        company.OptString  `json:"recurrence_rrule"`
	Result      company.OptString  `json:"result"`
	Version     company.OptVersion `json:"version"`
	// Scope "series" applies the change to the series from this task on
	// (see Store.Update); "" or "occurrence" to this task alone.
	Scope string `json:"scope"`
	// Loc is the zone a due time without an offset is read in: the
	// caller's (set by the handler, not from JSON).
	Loc *time.Location `json:"-"`
}

// OptBool is a boolean that may be absent; null reads as false.
type OptBool struct {
	Set   bool
	Value bool
	Bad   bool
}

// UnmarshalJSON accepts true, false, null, "true"/"false", 1/0.
func (o *OptBool) UnmarshalJSON(b []byte) error {
	o.Set = true
	switch strings.Trim(string(bytes.TrimSpace(b)), `"`) {
	case "true", "1", "on":
		o.Value = true
	case "false", "0", "null", "", "off":
		o.Value = false
	default:
		o.Bad = true
	}
	return nil
}

// OptAssignee is the assignee: a user id, "me", or absent (the caller on
// create, unchanged on update).
type OptAssignee struct {
	Set   bool
	Me    bool
	Value int64
	Bad   bool
}

// UnmarshalJSON accepts an id (number or string), "me" or null (= absent).
func (o *OptAssignee) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "null" || s == "" {
		return nil
	}
	o.Set = true
	if s == "me" {
		o.Me = true
		return nil
	}
	var id company.OptID
	_ = json.Unmarshal([]byte(s), &id)
	o.Value, o.Bad = id.Value, id.Bad || id.Value <= 0
	return nil
}
