package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/task"
	"github.com/crmprofi/crm/web/view"
)

// Desk charts: how far back they look.
const (
	deskChartWeeks  = 8
	deskChartMonths = 12
	// deskAPIRows is how many rows of each group GET /api/dashboard/
	// returns unless ?limit= says otherwise (1…task.MaxDeskRows).
	deskAPIRows = 20
)

// showDashboard is GET /api/dashboard/: the caller's desk as JSON, in the
// contract's shape, in the caller's time zone. ?limit= sets the rows per
// group.
func (s *Server) showDashboard(w http.ResponseWriter, r *http.Request) error {
	sc := scopeFrom(r)
	n := deskAPIRows
	if v := r.URL.Query().Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || l > task.MaxDeskRows {
			return apperr.Invalid{"limit": "Число от 1 до " + strconv.Itoa(task.MaxDeskRows)}
		}
		n = l
	}
	d, err := s.tasks.DashboardN(r.Context(), sc, sc.UserID, time.Now(), s.viewerLocation(r), n)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, d)
}

// showDesk is the desk page, the page after sign-in: the four groups of
// the caller's open tasks and two charts, all in the caller's time zone,
// in a constant number of statements (the groups, each chart; the zone
// came with the session).
// With ?fragment=body it is only the body, which the page's script asks
// for when a live event says the desk may have changed.
func (s *Server) showDesk(w http.ResponseWriter, r *http.Request) error {
	sc := scopeFrom(r)
	ctx := r.Context()
	// The zone comes with the signed-in user (the session's statement).
	loc := s.viewerLocation(r)
	now := time.Now()
	d, err := s.tasks.Dashboard(ctx, sc, sc.UserID, now, loc)
	if err != nil {
		return err
	}
	done, err := s.tasks.DoneByWeek(ctx, sc, sc.UserID, now, loc, deskChartWeeks)
	if err != nil {
		return err
	}
	companies, err := s.tasks.NewCompaniesByMonth(ctx, sc, now, loc, deskChartMonths)
	if err != nil {
		return err
	}
	page := deskView(d, done, companies, now, loc)
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("fragment") == "body" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		return render(ctx, w, view.DeskBody(page))
	}
	if wantsJSON(r) {
		return writeJSON(w, http.StatusOK, d)
	}
	return respond(w, r, http.StatusOK, d, view.DeskPage(s.shell(r, "Рабочий стол", "desk"), page))
}

// deskGroupDef is how the desk shows one group: its title, the list it
// links to, and its empty state.
type deskGroupDef struct {
	key, title, tile, kind, href string
	empty, emptyLink, emptyHref  string
}

var deskGroups = []deskGroupDef{
	{key: task.GroupOverdue, title: "Просрочено", tile: "Просрочено", kind: "danger",
		href:  "/tasks/?state=overdue",
		empty: "Просроченных задач нет — так держать.", emptyLink: "Все мои задачи", emptyHref: "/tasks/"},
	{key: task.GroupToday, title: "На сегодня", tile: "На сегодня", kind: "warning",
		href:  "/tasks/?state=today",
		empty: "Задач на сегодня нет.", emptyLink: "Создать задачу", emptyHref: "/tasks/new"},
	{key: task.GroupWeek, title: "На неделю", tile: "На неделю", kind: "info",
		href:  "/tasks/?state=week",
		empty: "До конца недели задач больше нет.", emptyLink: "Запланировать задачу", emptyHref: "/tasks/new"},
	{key: task.GroupNewAssignments, title: "Новые назначения", tile: "Новые назначения", kind: "brand",
		href:  "/tasks/?new_assignments=true",
		empty: "Новых назначений нет: всё, что вам поручили, вы уже видели.", emptyLink: "Все мои задачи", emptyHref: "/tasks/"},
}

// deskView turns the desk's data into the page's view model, every date
// in loc.
func deskView(d task.Dashboard, done, companies []task.Period, now time.Time, loc *time.Location) view.Desk {
	local := now.In(loc)
	y, m, day := local.Date()
	toMonday := (8 - int(local.Weekday())) % 7
	if toMonday == 0 {
		toMonday = 7
	}
	v := view.Desk{
		Today:      weekdayRu[local.Weekday()] + ", " + strconv.Itoa(day) + " " + monthGenRu[m-1],
		Tomorrow:   time.Date(y, m, day+1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
		NextMonday: time.Date(y, m, day+toMonday, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
		Next:       "/desk/",
	}
	groups := map[string][]task.Task{
		task.GroupOverdue: d.Overdue, task.GroupToday: d.Today, task.GroupWeek: d.Week, task.GroupNewAssignments: d.NewAssignments,
	}
	counts := map[string]int{
		task.GroupOverdue: d.Counts.Overdue, task.GroupToday: d.Counts.Today, task.GroupWeek: d.Counts.Week,
		task.GroupNewAssignments: d.Counts.NewAssignments,
	}
	for _, g := range deskGroups {
		v.Tiles = append(v.Tiles, view.DeskTile{Key: g.key, Label: g.tile, Count: counts[g.key], Href: g.href, Kind: g.kind})
		grp := view.DeskGroup{Key: g.key, Title: g.title, Count: counts[g.key], AllHref: g.href,
			EmptyText: g.empty, EmptyLink: g.emptyLink, EmptyHref: g.emptyHref}
		for _, t := range groups[g.key] {
			grp.Rows = append(grp.Rows, deskRow(t, g.key, now, loc))
		}
		v.Groups = append(v.Groups, grp)
	}
	v.Done = view.BarChart{ID: "chart-done", Title: "Выполнено задач по неделям", Column: "Неделя", Unit: "Выполнено задач",
		Empty: "За последние 8 недель выполненных задач нет."}
	for _, p := range done {
		end := p.End.AddDate(0, 0, -1)
		v.Done.Bars = append(v.Done.Bars, view.Bar{Label: p.Start.Format("02.01"),
			Long: p.Start.Format("02.01") + "–" + end.Format("02.01.2006"), Value: p.Count})
	}
	v.Done.Summary = "Всего за 8 недель: " + view.FormatInt(v.Done.Total())
	v.Companies = view.BarChart{ID: "chart-companies", Title: "Новые компании по месяцам", Column: "Месяц", Unit: "Новых компаний",
		Empty: "За последний год новых компаний нет."}
	for _, p := range companies {
		v.Companies.Bars = append(v.Companies.Bars, view.Bar{Label: monthShortRu[p.Start.Month()-1],
			Long: monthRu[p.Start.Month()-1] + " " + strconv.Itoa(p.Start.Year()), Value: p.Count})
	}
	v.Companies.Summary = "Всего за 12 месяцев: " + view.FormatInt(v.Companies.Total())
	return v
}

// stateBadge is the badge kind of a task state: colour and text together.
func stateBadge(state string) string {
	switch state {
	case string(task.StateOverdue):
		return "danger"
	case string(task.StateToday):
		return "warning"
	case string(task.StateWeek):
		return "info"
	case string(task.StateDone):
		return "success"
	}
	return "neutral"
}

func deskRow(t task.Task, group string, now time.Time, loc *time.Location) view.DeskRow {
	row := view.DeskRow{
		ID:         t.ID,
		Title:      t.Title,
		Href:       "/tasks/" + strconv.FormatInt(t.ID, 10) + "/",
		Due:        dueLabel(t, now, loc),
		DueISO:     t.DueIn(loc).Format(time.RFC3339),
		StateKind:  stateBadge(t.State),
		StateLabel: task.State(t.State).Label(),
		Urgent:     t.IsUrgent,
		Recurring:  t.Recurring(),
	}
	if t.AllDay {
		row.DueISO = t.DueAt.UTC().Format(time.DateOnly)
	}
	if t.CompanyID != nil && t.CompanyName != "" {
		row.Company = t.CompanyName
		row.CompanyHref = "/companies/" + strconv.FormatInt(*t.CompanyID, 10) + "/"
	}
	if group == task.GroupNewAssignments && t.CreatedByName != "" {
		row.From = "от " + t.CreatedByName
	}
	return row
}

// dueLabel is a due time as the desk says it, in loc: «сегодня, 15:30»,
// «завтра, весь день», «пн, 7 декабря, 10:00», «28 ноября 2025».
func dueLabel(t task.Task, now time.Time, loc *time.Location) string {
	due := t.DueIn(loc)
	ny, nm, nd := now.In(loc).Date()
	today := time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)
	dy, dm, dd := due.Date()
	day := time.Date(dy, dm, dd, 0, 0, 0, 0, time.UTC)
	days := int(day.Sub(today).Hours() / 24)
	var date string
	switch {
	case days == 0:
		date = "сегодня"
	case days == 1:
		date = "завтра"
	case days == -1:
		date = "вчера"
	case days > 1 && days < 7:
		date = weekdayShortRu[due.Weekday()] + ", " + strconv.Itoa(dd) + " " + monthGenRu[dm-1]
	case dy == ny:
		date = strconv.Itoa(dd) + " " + monthGenRu[dm-1]
	default:
		date = strconv.Itoa(dd) + " " + monthGenRu[dm-1] + " " + strconv.Itoa(dy)
	}
	if t.AllDay {
		return date + ", весь день"
	}
	return date + ", " + fmt.Sprintf("%02d:%02d", due.Hour(), due.Minute())
}

var (
	weekdayRu      = [...]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}
	weekdayShortRu = [...]string{"вс", "пн", "вт", "ср", "чт", "пт", "сб"}
	monthGenRu     = [...]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
	monthRu        = [...]string{"январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"}
	monthShortRu   = [...]string{"янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"}
)
