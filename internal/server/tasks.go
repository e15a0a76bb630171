package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/task"
	"github.com/crmprofi/crm/web/view"
)

// Tasks is the task store, for the work that subscribes to task changes
// (notifications, live events, timed jobs) with OnChange.
func (s *Server) Tasks() *task.Store { return s.tasks }

// taskQuery reads the list's parameters: status (one or several, comma
// separated or repeated), state, assigned_to (an id or "me"), company,
// contact, type, due_before, due_after (a date — midnight in the viewer's
// zone — or an RFC 3339 time), new_assignments (true: the desk's «Новые
// назначения»), search (words of the title), ordering
// (due_at or -due_at), page, page_size. A bad value is a 400 naming it.
func (s *Server) taskQuery(r *http.Request) (task.Filter, error) {
	inv := apperr.Invalid{}
	q := queryValues(r.URL.RawQuery, inv)
	page, size := readPage(q, inv)
	loc := s.viewerLocation(r)
	f := task.Filter{Page: page, Size: size, Search: q.Get("search"), Loc: loc}
	for _, raw := range q["status"] {
		for _, v := range strings.Split(raw, ",") {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			st := task.Status(v)
			if !st.Valid() {
				inv.Add("status", "Неизвестный статус; допустимо: new, in_progress, done, cancelled")
				continue
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if v := q.Get("state"); v != "" && v != "any" {
		if !task.ValidState(v) {
			inv.Add("state", "Неизвестное состояние; допустимо: overdue, today, week, later, done, cancelled, open")
		}
		f.State = v
	}
	id := func(key, msg string) int64 {
		v := q.Get(key)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			inv.Add(key, msg)
			return 0
		}
		return n
	}
	if q.Get("assigned_to") == "me" {
		f.AssignedTo = scopeFrom(r).UserID
	} else {
		f.AssignedTo = id("assigned_to", "Неверный исполнитель: укажите id или me")
	}
	f.Company = id("company", "Неверный идентификатор компании")
	f.Contact = id("contact", "Неверный идентификатор контакта")
	f.Type = id("type", "Неверный идентификатор типа задачи")
	f.CreatedBy = id("created_by", "Неверный идентификатор автора")
	f.Series = id("series", "Неверный идентификатор серии")
	bound := func(key string) time.Time {
		v := strings.TrimSpace(q.Get(key))
		if v == "" {
			return time.Time{}
		}
		t, dateOnly, err := task.ParseDue(v, loc)
		if err != nil {
			inv.Add(key, err.Error())
			return time.Time{}
		}
		if dateOnly {
			y, m, d := t.Date()
			t = time.Date(y, m, d, 0, 0, 0, 0, loc)
		}
		return t
	}
	f.DueBefore, f.DueAfter = bound("due_before"), bound("due_after")
	switch q.Get("new_assignments") {
	case "", "false", "0":
	case "true", "1":
		f.NewAssignments = true
	default:
		inv.Add("new_assignments", "Укажите true или false")
	}
	switch q.Get("ordering") {
	case "", "due_at":
	case "-due_at":
		f.Desc = true
	default:
		inv.Add("ordering", "Неизвестная сортировка; допустимо: due_at, -due_at")
	}
	return f, inv.Err()
}

// taskCountCap is how far a task list without an assignee counts: past it
// the page says «более 1 000» and the API count_exact: false.
const taskCountCap = 1000

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	sc := scopeFrom(r)
	f, err := s.taskQuery(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	tab := q.Get("tab")
	if !wantsJSON(r) && tab != "all" && r.URL.Query().Get("assigned_to") == "" {
		tab, f.AssignedTo = "mine", sc.UserID // the page opens on «Мои задачи»
	}
	if !wantsJSON(r) && f.State == "" && len(f.Statuses) == 0 && r.URL.Query().Get("state") == "" {
		f.State = "open" // the page shows what is left to do unless asked for more
	}
	// Everything visible is counted up to a bound (see task.Filter.CountCap):
	// an exact count of an administrator's 300,000 open tasks took a
	// second, and the figure says nothing a «более 1 000» does not.
	f.CountCap = taskCountCap
	list, count, err := s.tasks.List(r.Context(), sc, f)
	if err != nil {
		return err
	}
	bound := f.CountBound()
	more := bound > 0 && count >= bound
	if wantsJSON(r) {
		page := newListPage(r, list, count, f.Page, f.Size)
		if more {
			exact := false
			page.CountExact = &exact
		}
		return respond(w, r, http.StatusOK, page, nil)
	}
	// The assignee filter is on «Все доступные» only (view.TaskListPage).
	ch, err := s.tasks.FilterChoices(r.Context(), tab == "all")
	if err != nil {
		return err
	}
	l := view.TaskList{
		Tasks: list, Tab: tab, State: q.Get("state"), Search: f.Search,
		Assignee: q.Get("assigned_to"), Type: q.Get("type"), Company: q.Get("company"),
		Users: taskOptions(ch.Users), Types: taskOptions(ch.Types),
		Location: f.Loc, Viewer: sc.UserID,
		Pager: view.Pager{Page: f.Page, Pages: (count + f.Size - 1) / f.Size, Count: count, URL: pageURL(r)},
	}
	if more {
		l.Pager.Count, l.Pager.More = bound-1, true
	}
	if f.Company != 0 && len(list) > 0 {
		l.CompanyName = list[0].CompanyName
	}
	return respond(w, r, http.StatusOK, nil, view.TaskListPage(s.shell(r, "Задачи", "tasks"), l))
}

func taskOptions(list []task.Choice) []view.Option {
	opts := make([]view.Option, len(list))
	for i, c := range list {
		opts[i] = view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Name}
	}
	return opts
}

// taskInput adapts task.Input to decode: JSON goes straight into the
// input, the HTML form through fromForm.
type taskInput struct{ in *task.Input }

func (f *taskInput) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, f.in) }

// fromForm reads the task form: every field is on it (a full update). The
// due moment comes as a date and a time (due_date, due_time) with the
// all-day checkbox; the rule from the recurrence builder's controls.
func (f *taskInput) fromForm(v url.Values) error {
	in := f.in
	str := func(key string) company.OptString { return company.OptString{Set: true, Value: v.Get(key)} }
	in.Title, in.Description = str("title"), str("description")
	id := func(key string) company.OptID {
		o := company.OptID{Set: true}
		if s := strings.TrimSpace(v.Get(key)); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			o.Value, o.Bad = n, err != nil || n < 0
		}
		return o
	}
	in.Type, in.Company, in.Contact = id("type"), id("company"), id("contact")
	if a := strings.TrimSpace(v.Get("assigned_to")); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		in.AssignedTo = task.OptAssignee{Set: true, Value: n, Bad: err != nil || n <= 0}
	}
	date, clock := strings.TrimSpace(v.Get("due_date")), strings.TrimSpace(v.Get("due_time"))
	allDay := v.Get("all_day") != "" || clock == "" // no time: the whole day, as the hint says
	due := date
	if date != "" && clock != "" && !allDay {
		due = date + "T" + clock
	}
	in.DueAt = company.OptString{Set: true, Value: due}
	in.AllDay = task.OptBool{Set: true, Value: allDay}
	in.IsUrgent = task.OptBool{Set: true, Value: v.Get("is_urgent") != ""}
	if v.Has("status") {
		in.Status = str("status")
	}
	if v.Has("result") {
		in.Result = str("result")
	}
	in.Scope = v.Get("scope")
	if ver := v.Get("version"); ver != "" {
		n, err := strconv.Atoi(ver)
		if err != nil || n <= 0 {
			return apperr.Invalid{apperr.NonField: "Неверная версия формы, обновите страницу"}
		}
		in.Version = company.OptVersion{Set: true, Value: n}
	}
	rule, err := task.RuleFromForm(v)
	in.Rule = company.OptString{Set: true, Value: rule}
	return err
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) error {
	in := task.Input{Loc: s.viewerLocation(r)}
	var t task.Task
	err := decode(w, r, &taskInput{in: &in})
	if err == nil {
		t, err = s.tasks.Create(r.Context(), scopeFrom(r), in)
	}
	return saved(w, r, done{status: http.StatusCreated, body: t, flash: "Задача «" + t.Title + "» создана", to: view.TaskURL(t.ID, "")},
		err, s.taskForm(w, r, 0, in))
}

// updateTask is PATCH and PUT (only the fields sent change: PUT is PATCH
// here, every field of a task having a default) and the edit form's POST.
// {"scope": "series"} applies the change to the series from this task on
// (see task.Store.Update).
func (s *Server) updateTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	in := task.Input{Loc: s.viewerLocation(r)}
	var t task.Task
	if err = decode(w, r, &taskInput{in: &in}); err == nil {
		t, err = s.tasks.Update(r.Context(), scopeFrom(r), id, in)
	}
	return saved(w, r, done{status: http.StatusOK, body: t, flash: "Изменения сохранены", to: view.TaskURL(id, "")},
		err, s.taskForm(w, r, id, in))
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := s.tasks.Delete(r.Context(), scopeFrom(r), id)
	return saved(w, r, done{status: http.StatusNoContent, flash: "Задача «" + t.Title + "» удалена", to: "/tasks/"}, err, nil)
}

// closeInput is the body of complete, skip and stop: the result (complete
// only), the version the client saw, and for a form the page to go back to.
type closeInput struct {
	Result  string             `json:"result"`
	Version company.OptVersion `json:"version"`
	next    string
}

func (c *closeInput) fromForm(v url.Values) error {
	c.Result, c.next = v.Get("result"), v.Get("next")
	if ver := v.Get("version"); ver != "" {
		n, err := strconv.Atoi(ver)
		if err != nil || n <= 0 {
			return apperr.Invalid{apperr.NonField: "Неверная версия формы, обновите страницу"}
		}
		c.Version = company.OptVersion{Set: true, Value: n}
	}
	return nil
}

// backTo is where a form goes after an action on task id: the local path
// in next (the desk sends itself), else the task's card.
func backTo(next string, id int64) string {
	if next != "" && localPath(next) {
		return next
	}
	return view.TaskURL(id, "")
}

// closed is the answer of complete and skip: {"task", "next"}.
type closed struct {
	Task task.Task  `json:"task"`
	Next *task.Task `json:"next"`
}

func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) error {
	return s.closeTask(w, r, true)
}

func (s *Server) skipTask(w http.ResponseWriter, r *http.Request) error {
	return s.closeTask(w, r, false)
}

func (s *Server) closeTask(w http.ResponseWriter, r *http.Request, complete bool) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in closeInput
	var res closed
	if err = decode(w, r, &in); err == nil {
		if in.Version.Bad {
			err = apperr.Invalid{"version": "Неверная версия"}
		} else if complete {
			res.Task, res.Next, err = s.tasks.Complete(r.Context(), scopeFrom(r), id, in.Result, in.Version.Value)
		} else {
			res.Task, res.Next, err = s.tasks.Skip(r.Context(), scopeFrom(r), id, in.Version.Value)
		}
	}
	flash := "Задача выполнена"
	if !complete {
		flash = "Повтор пропущен"
	}
	if res.Next != nil {
		flash += ". Следующая — " + view.TaskDue(res.Next, s.viewerLocation(r))
	}
	if err != nil && !wantsJSON(r) {
		if _, ok := apperr.AsInvalid(err); ok || errorsIsConflict(err) {
			setFlash(w, "error", formMessage(err))
			redirect(w, r, backTo(in.next, id))
			return nil
		}
	}
	return saved(w, r, done{status: http.StatusOK, body: res, flash: flash, to: backTo(in.next, id)}, err, nil)
}

func (s *Server) stopSeries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in closeInput
	var t task.Task
	if err = decode(w, r, &in); err == nil {
		t, err = s.tasks.StopSeries(r.Context(), scopeFrom(r), id, in.Version.Value)
	}
	if err != nil && !wantsJSON(r) && errorsIsConflict(err) {
		setFlash(w, "error", formMessage(err))
		redirect(w, r, backTo(in.next, id))
		return nil
	}
	return saved(w, r, done{status: http.StatusOK, body: t, flash: "Повторы остановлены", to: backTo(in.next, id)}, err, nil)
}

func (s *Server) showTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	t, err := s.tasks.Get(r.Context(), sc, id)
	if err != nil {
		return err
	}
	loc := s.viewerLocation(r)
	if wantsJSON(r) {
		return respond(w, r, http.StatusOK, t, nil)
	}
	comments, err := s.tasks.Comments(r.Context(), sc, id)
	if err != nil {
		return err
	}
	history, err := s.tasks.History(r.Context(), sc, id)
	if err != nil {
		return err
	}
	card := view.TaskCard{Task: t, Comments: comments, History: history, Location: loc,
		CanEdit:   sc.CanChangeTask(t.Ref(), "edit") == nil,
		CanDelete: sc.CanChangeTask(t.Ref(), "delete") == nil,
	}
	return respond(w, r, http.StatusOK, t, view.TaskPage(s.shell(r, t.Title, "tasks"), card))
}

func (s *Server) listTaskComments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	list, err := s.tasks.Comments(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	return respond(w, r, http.StatusOK, newListPage(r, list, len(list), 1, max(len(list), 1)), nil)
}

// commentInput is the body of a new comment.
type commentInput struct {
	Text string `json:"text"`
}

func (c *commentInput) fromForm(v url.Values) error {
	c.Text = v.Get("text")
	return nil
}

func (s *Server) addTaskComment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in commentInput
	var c task.Comment
	if err = decode(w, r, &in); err == nil {
		c, err = s.tasks.AddComment(r.Context(), scopeFrom(r), id, in.Text)
	}
	if err != nil && !wantsJSON(r) {
		if _, ok := apperr.AsInvalid(err); ok {
			setFlash(w, "error", formMessage(err))
			redirect(w, r, view.TaskURL(id, "")+"#comments")
			return nil
		}
	}
	return saved(w, r, done{status: http.StatusCreated, body: c, flash: "Комментарий добавлен", to: view.TaskURL(id, "") + "#comments"}, err, nil)
}

func (s *Server) listTaskHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	list, err := s.tasks.History(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	return respond(w, r, http.StatusOK, newListPage(r, list, len(list), 1, max(len(list), 1)), nil)
}

func (s *Server) newTask(w http.ResponseWriter, r *http.Request) error {
	loc := s.viewerLocation(r)
	tomorrow := time.Now().In(loc).AddDate(0, 0, 1)
	f := view.TaskForm{Title: "Новая задача", DueDate: tomorrow.Format(task.DateRu), DueTime: "10:00",
		AssignedTo: strconv.FormatInt(scopeFrom(r).UserID, 10), Company: r.URL.Query().Get("company"), Contact: r.URL.Query().Get("contact")}
	return s.renderTaskForm(w, r, http.StatusOK, f)
}

func (s *Server) editTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	t, err := s.tasks.Get(r.Context(), sc, id)
	if err != nil {
		return err
	}
	if err := sc.CanChangeTask(t.Ref(), "edit"); err != nil {
		return err
	}
	return s.renderTaskForm(w, r, http.StatusOK, taskFormView(t, s.viewerLocation(r)))
}

// taskFormView fills the form from a stored task, times in loc.
func taskFormView(t task.Task, loc *time.Location) view.TaskForm {
	due := t.DueIn(loc)
	f := view.TaskForm{ID: t.ID, Title: t.Title, Name: t.Title, Description: t.Description, AllDay: t.AllDay, IsUrgent: t.IsUrgent,
		DueDate: due.Format(task.DateRu), AssignedTo: strconv.FormatInt(t.AssignedTo, 10), Rule: t.Rule,
		Status: string(t.Status), Version: t.Version, Recurring: t.Recurring()}
	if !t.AllDay {
		f.DueTime = due.Format("15:04")
	}
	if t.TypeID != nil {
		f.Type = idString(*t.TypeID)
	}
	if t.CompanyID != nil {
		f.Company = idString(*t.CompanyID)
	}
	if t.ContactID != nil {
		f.Contact = idString(*t.ContactID)
	}
	return f
}

// taskForm shows the task form again with what was typed and the
// messages beside the fields.
func (s *Server) taskForm(w http.ResponseWriter, r *http.Request, id int64, in task.Input) formPage {
	return func(status int, errs apperr.Invalid) error {
		f := view.TaskForm{ID: id, Title: "Новая задача", Errors: errs, Name: in.Title.Value, Description: in.Description.Value,
			Type: idString(in.Type.Value), Company: idString(in.Company.Value), Contact: idString(in.Contact.Value),
			AllDay: in.AllDay.Value, IsUrgent: in.IsUrgent.Value, Rule: in.Rule.Value, Status: in.Status.Value,
			Version: in.Version.Value, Scope: in.Scope}
		if in.AssignedTo.Set {
			f.AssignedTo = idString(in.AssignedTo.Value)
		}
		if r.PostForm != nil {
			f.DueDate, f.DueTime, f.Submitted = r.PostForm.Get("due_date"), r.PostForm.Get("due_time"), r.PostForm
		}
		if id != 0 {
			f.Title = "Изменение задачи"
			if t, err := s.tasks.Get(r.Context(), scopeFrom(r), id); err == nil {
				f.Title, f.Recurring = t.Title, t.Recurring()
			}
		}
		return s.renderTaskForm(w, r, status, f)
	}
}

// renderTaskForm adds the select options and writes the form.
func (s *Server) renderTaskForm(w http.ResponseWriter, r *http.Request, status int, f view.TaskForm) error {
	sc := scopeFrom(r)
	companyID, _ := strconv.ParseInt(f.Company, 10, 64)
	ch, err := s.tasks.Choices(r.Context(), sc, companyID, true)
	if err != nil {
		return err
	}
	f.Types = taskOptions(ch.Types)
	f.Assignees = taskOptions(ch.Assignees)
	f.Companies = taskOptions(ch.Companies)
	f.Contacts = taskOptions(ch.Contacts)
	f.Location = s.viewerLocation(r)
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	return respond(w, r, status, nil, view.TaskFormPage(s.shell(r, f.Title, "tasks"), f))
}

// queueCompanyTasks queues the company card's «Задачи» on set: the
// company's open tasks the viewer may see, soonest first, in one
// statement; the function returned renders the section once set has run.
func (s *Server) queueCompanyTasks(set *database.ReadSet, r *http.Request, companyID int64) func() (templ.Component, error) {
	const size = 20
	loc := s.viewerLocation(r)
	read := s.tasks.QueueList(set, scopeFrom(r), task.Filter{Company: companyID,
		Statuses: []task.Status{task.StatusNew, task.StatusInProgress}, Size: size, Loc: loc})
	return func() (templ.Component, error) {
		list, count, err := read()
		if err != nil {
			return nil, err
		}
		return view.CompanyTasks(view.CompanyTasksData{CompanyID: companyID, Tasks: list, Count: count, Location: loc}), nil
	}
}

func errorsIsConflict(err error) bool { return errors.Is(err, apperr.ErrConflict) }

// formMessage is a refused action's message for a toast: the field
// messages joined, or the conflict's.
func formMessage(err error) string {
	_, inv := formFailure(err)
	msgs := make([]string, 0, len(inv))
	for _, m := range inv {
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return "Не удалось выполнить действие"
	}
	return strings.Join(msgs, "; ")
}
