package view

import "strconv"

// Desk is the page after sign-in («Рабочий стол»): four count tiles, a
// card per group with its first rows and quick actions, and two charts.
// Every date in it is already in the viewer's time zone.
type Desk struct {
	Today      string // «четверг, 3 декабря»
	Tiles      []DeskTile
	Groups     []DeskGroup
	Done       BarChart // tasks done per week
	Companies  BarChart // new companies per month
	Tomorrow   string   // YYYY-MM-DD: the «На завтра» reschedule
	NextMonday string   // YYYY-MM-DD: the «На понедельник» reschedule
	Next       string   // where the quick actions return: "/desk/"
}

// DeskTile is one count at the top of the desk, linking to the task list
// filtered to it.
type DeskTile struct {
	Key   string // "overdue" | "today" | "week" | "new_assignments"
	Label string // «Просрочено»
	Count int
	Href  string
	Kind  string // badge kind of its colour: danger, warning, info, brand
}

// DeskGroup is one card of the desk: its first rows and «Все (N)».
type DeskGroup struct {
	Key       string
	Title     string
	Count     int
	AllHref   string
	Rows      []DeskRow
	EmptyText string // «Задач на сегодня нет.»
	EmptyLink string // «Создать задачу»
	EmptyHref string
}

// DeskRow is a task as a desk row shows it.
type DeskRow struct {
	ID          int64
	Title       string
	Href        string
	Due         string // «сегодня, 15:30», «пн, 7 декабря», «весь день»
	DueISO      string // the datetime attribute of <time>
	StateKind   string // badge kind
	StateLabel  string // «Просрочено»
	Company     string
	CompanyHref string
	From        string // who assigned it, for new assignments («от Борис Бородин»)
	Urgent      bool
	Recurring   bool
}

// rowID is the id of a row's element, for labels that point into it.
func (r DeskRow) rowID(part string) string {
	return "desk-" + part + "-" + strconv.FormatInt(r.ID, 10)
}

// completeAction is where a row's «Выполнить» form posts.
func (r DeskRow) completeAction() string {
	return "/tasks/" + strconv.FormatInt(r.ID, 10) + "/complete/"
}

// idValue is the task id as a form value.
func (r DeskRow) idValue() string { return strconv.FormatInt(r.ID, 10) }

// allLabel is «Все (12)».
func (g DeskGroup) allLabel() string { return "Все (" + FormatInt(g.Count) + ")" }
