package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
)

// deskTask creates a task through the store as sc for assignee; due is
// RFC 3339 or a date (all day).
func deskTask(t *testing.T, e *testEnv, sc access.Scope, title, due string, assignee int64) task.Task {
	t.Helper()
	tk, err := e.srv.tasks.Create(context.Background(), sc, task.Input{
		Title:      company.OptString{Set: true, Value: title},
		DueAt:      company.OptString{Set: true, Value: due},
		AssignedTo: task.OptAssignee{Set: true, Value: assignee},
	})
	if err != nil {
		t.Fatalf("create %s: %v", title, err)
	}
	return tk
}

// todayInMoscow is today's date in the test server's default zone (the
// cast's users have no zone of their own; Алиса's branch is Moscow).
func todayInMoscow(t *testing.T) string {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	return time.Now().In(loc).Format(time.DateOnly)
}

// TestDeskIsTheLandingPage: / leads to the desk, which shows the caller's
// counts, rows with their quick actions, and both charts; anonymous
// visitors are sent to sign in.
func TestDeskIsTheLandingPage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		now := time.Now().UTC()
		overdue := deskTask(t, e, c.Alisa.Scope, "Просроченный звонок", now.Add(-49*time.Hour).Format(time.RFC3339), c.Alisa.ID)
		deskTask(t, e, c.Alisa.Scope, "Сегодняшнее дело", todayInMoscow(t), c.Alisa.ID)
		fresh := deskTask(t, e, c.Boris.Scope, "Поручение Бориса", now.Add(30*24*time.Hour).Format(time.RFC3339), c.Alisa.ID)
		deskTask(t, e, c.Vera.Scope, "Дело Веры", todayInMoscow(t), c.Vera.ID)

		if rec := e.do(&c.Alisa, "GET", "/", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/desk/" {
			t.Fatalf("/ → %d %q, want the desk", rec.Code, rec.Header().Get("Location"))
		}
		if rec := e.do(nil, "GET", "/desk/", nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
			t.Fatalf("anonymous desk → %d %q", rec.Code, rec.Header().Get("Location"))
		}

		rec := e.do(&c.Alisa, "GET", "/desk/", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("desk: %d %.300s", rec.Code, rec.Body.String())
		}
		doc := parseHTML(t, rec.Body.String())
		for key, want := range map[string]string{"overdue": "1", "today": "1", "week": "0", "new_assignments": "1"} {
			if got := doc.Find(`[data-testid="tile-` + key + `-count"]`).Text(); got != want {
				t.Errorf("tile %s = %q, want %s", key, got, want)
			}
		}
		if href, _ := doc.Find(`[data-testid="tile-overdue"]`).Attr("href"); href != "/tasks/?state=overdue" {
			t.Errorf("overdue tile links to %q", href)
		}
		// Each tile opens the task list filtered to its group.
		for key, want := range map[string]string{"overdue": "Просроченный звонок", "today": "Сегодняшнее дело"} {
			href, _ := doc.Find(`[data-testid="tile-` + key + `"]`).Attr("href")
			list := e.do(&c.Alisa, "GET", href, nil)
			if list.Code != http.StatusOK || !strings.Contains(list.Body.String(), want) || strings.Contains(list.Body.String(), "Поручение Бориса") {
				t.Errorf("tile %s → %s: %d, want %q alone", key, href, list.Code, want)
			}
		}
		if got := doc.Find(`[data-testid="nav-desk"]`).AttrOr("aria-current", ""); got != "page" {
			t.Errorf("the rail's desk item is not current: %q", got)
		}
		row := doc.Find(`[data-testid="group-overdue"] [data-testid="desk-row"]`)
		if row.Length() != 1 || !strings.Contains(row.Text(), "Просроченный звонок") {
			t.Fatalf("overdue rows: %q", row.Text())
		}
		if action, _ := row.Find(`[data-testid="desk-complete-form"]`).Attr("action"); action != fmt.Sprintf("/tasks/%d/complete/", overdue.ID) {
			t.Errorf("complete form posts to %q", action)
		}
		if next, _ := row.Find(`[data-testid="desk-complete-form"] input[name="next"]`).Attr("value"); next != "/desk/" {
			t.Errorf("complete form returns to %q", next)
		}
		if n := row.Find(`form[action="/tasks/bulk/"]`).Length(); n != 3 {
			t.Errorf("%d reschedule forms, want tomorrow, Monday and a date", n)
		}
		if got := doc.Find(`[data-testid="group-new_assignments"] [data-testid="desk-row"]`).Text(); !strings.Contains(got, "Поручение Бориса") || !strings.Contains(got, "от Борис Бородин") {
			t.Errorf("new assignment row: %q", got)
		}
		if got := doc.Find(`[data-testid="group-week-empty"]`).Text(); !strings.Contains(got, "Запланировать задачу") {
			t.Errorf("empty week card: %q", got)
		}
		if strings.Contains(rec.Body.String(), "Дело Веры") {
			t.Error("Алиса's desk shows Вера's task")
		}
		for _, chart := range []string{"chart-done", "chart-companies"} {
			svg := doc.Find(`[data-testid="` + chart + `"] svg[role="img"]`)
			if svg.Length() != 1 || svg.Find("title").Text() == "" || svg.Find("desc").Text() == "" {
				t.Errorf("%s: no accessible SVG", chart)
			}
		}
		if n := doc.Find(`[data-testid="chart-done"] rect.chart-bar`).Length(); n != 8 {
			t.Errorf("done chart has %d weeks, want 8", n)
		}
		if n := doc.Find(`[data-testid="chart-companies"] rect.chart-bar`).Length(); n != 12 {
			t.Errorf("companies chart has %d months, want 12", n)
		}

		// The body alone, for the page's script.
		frag := e.do(&c.Alisa, "GET", "/desk/?fragment=body", nil)
		if frag.Code != http.StatusOK || strings.Contains(frag.Body.String(), "<html") || !strings.Contains(frag.Body.String(), `data-testid="desk-tiles"`) {
			t.Errorf("fragment: %d %.200s", frag.Code, frag.Body.String())
		}
		if frag.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("fragment Cache-Control %q", frag.Header().Get("Cache-Control"))
		}
		_ = fresh
	})
}

// TestDashboardAPI answers the contract's shape in the caller's zone, with
// ?limit= rows per group; a bad limit is a field error, no session a 401.
func TestDashboardAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		now := time.Now().UTC()
		for i := range 7 {
			deskTask(t, e, c.Alisa.Scope, fmt.Sprintf("Просрочена %d", i), now.Add(-time.Duration(49+i)*time.Hour).Format(time.RFC3339), c.Alisa.ID)
		}
		deskTask(t, e, c.Boris.Scope, "Поручение", todayInMoscow(t), c.Alisa.ID)
		var d struct {
			Overdue, Today, Week, NewAssignments []struct {
				ID    int64  `json:"id"`
				State string `json:"state"`
			}
			Counts map[string]int `json:"counts"`
		}
		if code := e.api(&c.Alisa, "GET", "/api/dashboard/", nil, &d); code != http.StatusOK {
			t.Fatalf("dashboard: %d", code)
		}
		if len(d.Overdue) != 7 || d.Counts["overdue"] != 7 || d.Counts["today"] != 1 || d.Counts["new_assignments"] != 1 || d.Counts["week"] != 0 {
			t.Errorf("dashboard: %d overdue rows, counts %v", len(d.Overdue), d.Counts)
		}
		if len(d.Today) != 1 || d.Today[0].State != "today" {
			t.Errorf("today: %+v", d.Today)
		}
		raw := e.do(&c.Alisa, "GET", "/api/dashboard/?limit=2", nil).Body.String()
		for _, key := range []string{`"overdue":[`, `"today":[`, `"week":[]`, `"new_assignments":[`, `"counts":{`} {
			if !strings.Contains(raw, key) {
				t.Errorf("answer lacks %s: %.300s", key, raw)
			}
		}
		if code := e.api(&c.Alisa, "GET", "/api/dashboard/?limit=2", nil, &d); code != http.StatusOK || len(d.Overdue) != 2 || d.Counts["overdue"] != 7 {
			t.Errorf("limit 2: %d, %d rows, count %d", code, len(d.Overdue), d.Counts["overdue"])
		}
		for _, bad := range []string{"0", "101", "abc", "-1", "1e9"} {
			var errs map[string][]string
			if code := e.api(&c.Alisa, "GET", "/api/dashboard/?limit="+bad, nil, &errs); code != http.StatusBadRequest || len(errs["limit"]) == 0 {
				t.Errorf("limit=%s: %d %v", bad, code, errs)
			}
		}
		if code := e.api(nil, "GET", "/api/dashboard/", nil, nil); code != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", code)
		}
		var vera struct {
			Counts map[string]int `json:"counts"`
		}
		if code := e.api(&c.Vera, "GET", "/api/dashboard/", nil, &vera); code != http.StatusOK || vera.Counts["overdue"] != 0 {
			t.Errorf("Вера's dashboard: %d %v", code, vera.Counts)
		}
	})
}

// maxDeskStatements is the most SQL statements the desk page may send,
// the session check included: the session (the viewer's zone comes with
// it), the groups, two charts. The API has no charts.
const (
	maxDeskStatements    = 4
	maxDeskAPIStatements = 2
)

// TestDeskSendsFewStatements: the desk page and its API send a constant
// number of statements however many tasks the caller has.
func TestDeskSendsFewStatements(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		session := e.session(c.Alisa)
		count := func(path string) int64 {
			t.Helper()
			rec, n := e.serveCounting(httptest.NewRequest("GET", path, nil), session)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d", path, rec.Code)
			}
			return n
		}
		now := time.Now().UTC()
		var first map[string]int64
		for round, n := range []int{1, 30} {
			for i := range n {
				deskTask(t, e, c.Boris.Scope, fmt.Sprintf("Задача %d-%d", round, i), now.Add(time.Duration(i-n/2)*5*time.Hour).Format(time.RFC3339), c.Alisa.ID)
			}
			got := map[string]int64{"/desk/": count("/desk/"), "/api/dashboard/": count("/api/dashboard/")}
			if got["/desk/"] > maxDeskStatements {
				t.Errorf("desk: %d statements, want at most %d", got["/desk/"], maxDeskStatements)
			}
			if got["/api/dashboard/"] > maxDeskAPIStatements {
				t.Errorf("desk API: %d statements, want at most %d", got["/api/dashboard/"], maxDeskAPIStatements)
			}
			if first == nil {
				first = got
			} else if got["/desk/"] != first["/desk/"] || got["/api/dashboard/"] != first["/api/dashboard/"] {
				t.Errorf("statements grew with the tasks: %v, then %v", first, got)
			}
			t.Logf("%d tasks: %v", n, got)
		}
	})
}

// TestDeskForEveryoneInTheCast: every member of the cast opens the desk
// and its API (no tasks, empty states), never a 500.
func TestDeskForEveryoneInTheCast(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		for _, m := range e.cast.All() {
			t.Run(m.Username+" opens the desk", func(t *testing.T) {
				rec := e.do(&m, "GET", "/desk/", nil)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Задач на сегодня нет.") {
					t.Errorf("desk: %d", rec.Code)
				}
				if code := e.api(&m, "GET", "/api/dashboard/", nil, nil); code != http.StatusOK {
					t.Errorf("api: %d", code)
				}
			})
		}
	})
}

// TestDueLabelSpeaksTheViewersDay: the desk names days as a person does,
// in the viewer's zone.
func TestDueLabelSpeaksTheViewersDay(t *testing.T) {
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	ekb, err := time.LoadLocation("Asia/Yekaterinburg")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC) // Thursday 22:00 in Moscow, Friday 00:00 in Yekaterinburg
	timed := func(at time.Time) task.Task { return task.Task{DueAt: at} }
	allDay := func(y int, m time.Month, d int) task.Task {
		return task.Task{DueAt: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), AllDay: true}
	}
	for _, tc := range []struct {
		name string
		t    task.Task
		loc  *time.Location
		want string
	}{
		{"23:30 Moscow is today in Moscow", timed(time.Date(2026, 12, 3, 20, 30, 0, 0, time.UTC)), msk, "сегодня, 23:30"},
		{"and 01:30 today in Yekaterinburg", timed(time.Date(2026, 12, 3, 20, 30, 0, 0, time.UTC)), ekb, "сегодня, 01:30"},
		{"an all-day Thursday is yesterday in Yekaterinburg", allDay(2026, 12, 3), ekb, "вчера, весь день"},
		{"an all-day Friday is tomorrow in Moscow", allDay(2026, 12, 4), msk, "завтра, весь день"},
		{"next Tuesday has its weekday", timed(time.Date(2026, 12, 8, 7, 0, 0, 0, time.UTC)), msk, "вт, 8 декабря, 10:00"},
		{"a date this year has no year", allDay(2026, 11, 20), msk, "20 ноября, весь день"},
		{"another year says which", allDay(2027, 1, 20), msk, "20 января 2027, весь день"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dueLabel(tc.t, now, tc.loc); got != tc.want {
				t.Errorf("dueLabel = %q, want %q", got, tc.want)
			}
		})
	}
}

// maxTaskListStatements is the most SQL statements a task list page may
// send, the session check included: the session, the filters'
// dictionaries (HTML), the page with its total. The API has no
// dictionaries.
const (
	maxTaskListStatements    = 3
	maxTaskListAPIStatements = 2
)

// TestTaskListsSendFewStatements: «мои», «все доступные» (bounded count)
// and a state filter, as a manager and as the admin, in HTML and JSON,
// send a constant number of statements however many tasks there are.
func TestTaskListsSendFewStatements(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		count := func(m dbtest.Member, path string) int64 {
			t.Helper()
			req := httptest.NewRequest("GET", path, nil)
			if strings.HasPrefix(path, "/api/") {
				req.Header.Set("Accept", "application/json")
			}
			rec, n := e.serveCounting(req, e.session(m))
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d", path, rec.Code)
			}
			return n
		}
		pages := []struct {
			who  dbtest.Member
			path string
			max  int64
		}{
			{c.Alisa, "/tasks/", maxTaskListStatements},
			{c.Alisa, "/tasks/?state=overdue", maxTaskListStatements},
			{c.Alisa, "/tasks/?tab=all", maxTaskListStatements},
			{c.Admin, "/tasks/?tab=all", maxTaskListStatements},
			{c.Alisa, "/api/tasks/?assigned_to=me&state=open", maxTaskListAPIStatements},
			{c.Admin, "/api/tasks/?state=open", maxTaskListAPIStatements},
		}
		co := newCompanySet(t, e).A1
		now := time.Now().UTC()
		var first []int64
		for round, n := range []int{1, 30} {
			for i := range n {
				tk := deskTask(t, e, c.Boris.Scope, fmt.Sprintf("Задача %d-%d", round, i), now.Add(time.Duration(i-n/2)*5*time.Hour).Format(time.RFC3339), c.Alisa.ID)
				if i%2 == 0 {
					if _, err := e.db.ExecContext(context.Background(), `UPDATE tasks SET company_id = $1 WHERE id = $2`, co, tk.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			var got []int64
			for _, p := range pages {
				n := count(p.who, p.path)
				if n > p.max {
					t.Errorf("%s as %s: %d statements, want at most %d", p.path, p.who.Username, n, p.max)
				}
				got = append(got, n)
			}
			if first == nil {
				first = got
			} else if !slices.Equal(first, got) {
				t.Errorf("statements grew with the tasks: %v, then %v", first, got)
			}
			t.Logf("%d tasks: %v", n, got)
		}
	})
}
