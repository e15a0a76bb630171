package view

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/internal/task"
)

// taskIconOptions are the symbols a task type may show, for the admin's
// select.
func taskIconOptions() []Option {
	opts := make([]Option, len(dictionary.TaskIcons))
	for i, ic := range dictionary.TaskIcons {
		opts[i] = Option{Value: ic.Name, Label: ic.Label}
	}
	return opts
}

// TaskURL is the address of a task's card, or of one of its actions
// ("edit", "delete", "complete/", …).
func TaskURL(id int64, action string) string {
	return "/tasks/" + strconv.FormatInt(id, 10) + "/" + action
}

// TaskDue is a task's due moment as lists show it, in loc: «03.12.2026
// 10:00», or the date alone («03.12.2026, весь день») for a whole day.
func TaskDue(t *task.Task, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	if t.AllDay {
		return t.DueAt.UTC().Format("02.01.2006") + ", весь день"
	}
	return t.DueAt.In(loc).Format("02.01.2006 15:04")
}

func taskStamp(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("02.01.2006 15:04")
}

// taskStateKind is the badge colour of a state.
func taskStateKind(state string) string {
	switch task.State(state) {
	case task.StateOverdue:
		return "danger"
	case task.StateToday:
		return "warning"
	case task.StateWeek:
		return "info"
	case task.StateDone:
		return "success"
	case task.StateLater:
		return "brand"
	}
	return "neutral"
}

func taskStateOptions() []Option {
	return []Option{
		{Value: "overdue", Label: "Просрочено"}, {Value: "today", Label: "Сегодня"}, {Value: "week", Label: "На неделе"},
		{Value: "later", Label: "Позже"}, {Value: "done", Label: "Выполнены"}, {Value: "cancelled", Label: "Отменены"},
		{Value: "any", Label: "Все, включая закрытые"},
	}
}

func taskStatusOptions(current string) []Option {
	var out []Option
	for _, st := range task.Statuses {
		if st == task.StatusDone && current != string(task.StatusDone) {
			continue // done is reached with «Выполнить» and its result
		}
		out = append(out, Option{Value: string(st), Label: st.Label()})
	}
	return out
}

// taskTypeStyle colours a type's icon; only a #RRGGBB value is used.
func taskTypeStyle(color string) templ.SafeCSS {
	if len(color) != 7 || color[0] != '#' {
		return ""
	}
	for _, r := range color[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return ""
		}
	}
	return templ.SafeCSS("color: " + color + ";")
}

func taskNewURL(company string) string {
	if company == "" {
		return "/tasks/new"
	}
	return "/tasks/new?company=" + url.QueryEscape(company)
}

func taskFormAction(id int64) string {
	if id == 0 {
		return "/tasks/"
	}
	return TaskURL(id, "")
}

func taskCancelURL(f TaskForm) string {
	switch {
	case f.ID != 0:
		return TaskURL(f.ID, "")
	case f.Company != "":
		return "/companies/" + url.PathEscape(f.Company) + "/"
	}
	return "/tasks/"
}

func taskNonField(errs map[string]string) []string {
	var out []string
	for _, k := range []string{"non_field_errors", "version", "scope"} {
		if m := errs[k]; m != "" {
			out = append(out, m)
		}
	}
	return out
}

func taskContactHint(f TaskForm) string {
	if f.Company == "" {
		return "Сначала выберите компанию и сохраните — или оставьте без контакта"
	}
	return ""
}

// taskFormStart is the due moment the recurrence builder previews from.
func taskFormStart(f TaskForm) time.Time {
	loc := f.Location
	if loc == nil {
		loc = time.UTC
	}
	if f.AllDay || f.DueTime == "" {
		if d, err := time.Parse(time.DateOnly, f.DueDate); err == nil {
			return d
		}
		return time.Time{}
	}
	if d, err := time.ParseInLocation("2006-01-02T15:04", f.DueDate+"T"+f.DueTime, loc); err == nil {
		return d
	}
	return time.Time{}
}

// taskBuilderForm gives the builder the posted values when the form comes
// back with errors, so its controls show what was chosen.
// dueDateAttrs are the attributes of a date field typed as text: the
// browser's date picker shows the browser's locale (a Russian user with
// an English Chromium saw 12/05/2026), so the field is dd.mm.yyyy text,
// read by task.ParseDue with a Russian error beside it.
func dueDateAttrs() templ.Attributes {
	return templ.Attributes{"inputmode": "numeric", "autocomplete": "off", "maxlength": "10", "data-date": true}
}

// dueTimeAttrs: the same for a time of day, 24-hour hh:mm whatever the
// browser's locale (a time input shows 02:30 PM in an English one).
func dueTimeAttrs() templ.Attributes {
	return templ.Attributes{"inputmode": "numeric", "autocomplete": "off", "maxlength": "5", "data-due-time": true}
}

func taskBuilderForm(f TaskForm) url.Values {
	if len(f.Errors) == 0 {
		return nil
	}
	return f.Submitted
}

func taskHistoryText(h task.HistoryEntry) string {
	label := task.FieldLabel(h.Field)
	switch {
	case h.Field == "created":
		return "создал(а) задачу"
	case h.Old == "":
		return label + ": «" + h.New + "»"
	case h.New == "":
		return label + ": убрано «" + h.Old + "»"
	}
	return label + ": «" + h.Old + "» → «" + h.New + "»"
}

func taskTabURL(tab string, l TaskList) string {
	q := url.Values{}
	if tab == "all" {
		q.Set("tab", "all")
	}
	for k, v := range map[string]string{"state": l.State, "type": l.Type, "company": l.Company, "search": l.Search} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return "/tasks/"
	}
	return "/tasks/?" + q.Encode()
}

func taskWithout(l TaskList, key string) string {
	switch key {
	case "company":
		l.Company = ""
	}
	u := taskTabURL(l.Tab, l)
	if l.Tab == "all" && l.Assignee != "" {
		sep := "&"
		if u == "/tasks/" {
			sep = "?"
		}
		u += sep + "assigned_to=" + url.QueryEscape(l.Assignee)
	}
	return u
}

func taskAssigneeFilter(l TaskList) string {
	if l.Tab == "all" {
		return l.Assignee
	}
	return ""
}
