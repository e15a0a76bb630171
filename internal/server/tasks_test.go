package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
)

func (e *testEnv) seedTask(m dbtest.Member, title, due string, assignee, companyID int64, rule string) task.Task {
	e.t.Helper()
	in := task.Input{Title: company.OptString{Set: true, Value: title}, DueAt: company.OptString{Set: true, Value: due},
		Rule: company.OptString{Set: rule != "", Value: rule}}
	if assignee != 0 {
		in.AssignedTo = task.OptAssignee{Set: true, Value: assignee}
	}
	if companyID != 0 {
		in.Company = company.OptID{Set: true, Value: companyID}
	}
	t, err := e.srv.tasks.Create(context.Background(), m.Scope, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func taskPath(id int64, action string) string {
	return "/api/tasks/" + strconv.FormatInt(id, 10) + "/" + action
}

func TestTasksAPIAccessMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		compA := e.seedCompany("Альфа", c.BranchA, c.Alisa.ID)
		// Борис set it for Алиса on her company.
		tk := e.seedTask(c.Boris, "Позвонить", "2030-01-10T10:00:00+03:00", c.Alisa.ID, compA, "")
		cases := []struct {
			m                      dbtest.Member
			list, get, patch, done int
			del                    int
		}{
			{c.Admin, 1, 200, 200, 200, 204},
			{c.Alisa, 1, 200, 200, 200, 204},
			{c.Boris, 1, 200, 200, 200, 204},
			{c.Vera, 0, 404, 404, 404, 404},
			{c.Gleb, 1, 200, 403, 403, 403},
			{c.Darya, 1, 200, 200, 200, 204},
		}
		for _, tc := range cases {
			t.Run(tc.m.Username+" gets the answers of the rule", func(t *testing.T) {
				cur := e.seedTask(c.Boris, "Копия", "2030-01-10T10:00:00+03:00", c.Alisa.ID, compA, "")
				var page struct {
					Count   int         `json:"count"`
					Results []task.Task `json:"results"`
				}
				if code := e.api(&tc.m, "GET", "/api/tasks/?company="+strconv.FormatInt(compA, 10)+"&search=позвонить", nil, &page); code != 200 || page.Count != tc.list {
					t.Errorf("list: %d, count %d, want %d", code, page.Count, tc.list)
				}
				if code := e.api(&tc.m, "GET", taskPath(tk.ID, ""), nil, nil); code != tc.get {
					t.Errorf("get: %d, want %d", code, tc.get)
				}
				if code := e.api(&tc.m, "PATCH", taskPath(cur.ID, ""), map[string]any{"description": "правка"}, nil); code != tc.patch {
					t.Errorf("patch: %d, want %d", code, tc.patch)
				}
				if code := e.api(&tc.m, "POST", taskPath(cur.ID, "complete/"), map[string]any{"result": "ok"}, nil); code != tc.done {
					t.Errorf("complete: %d, want %d", code, tc.done)
				}
				if code := e.api(&tc.m, "DELETE", taskPath(cur.ID, ""), nil, nil); code != tc.del {
					t.Errorf("delete: %d, want %d", code, tc.del)
				}
			})
		}
		t.Run("assigning follows the roles", func(t *testing.T) {
			for _, a := range []struct {
				by, to dbtest.Member
				want   int
			}{
				{c.Alisa, c.Boris, 403}, {c.Alisa, c.Alisa, 201}, {c.Boris, c.Alisa, 201}, {c.Boris, c.Vera, 403},
				{c.Darya, c.Vera, 201}, {c.Gleb, c.Vera, 403},
			} {
				code := e.api(&a.by, "POST", "/api/tasks/", map[string]any{"title": "x", "due_at": "2030-01-01", "assigned_to": a.to.ID}, nil)
				if code != a.want {
					t.Errorf("%s assigns %s: %d, want %d", a.by.Username, a.to.Username, code, a.want)
				}
			}
		})
		t.Run("a refused change is audited", func(t *testing.T) {
			var n int
			if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'task.%' AND outcome = 'denied'`).Scan(&n); err != nil || n == 0 {
				t.Errorf("denied task entries: %d, %v", n, err)
			}
		})
	})
}

func TestTasksAPIHostileInput(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		compB := e.seedCompany("Бета", c.BranchB, c.Vera.ID)
		tk := e.seedTask(c.Alisa, "Своя", "2030-01-10T10:00:00+03:00", 0, 0, "")
		for _, tc := range []struct {
			name   string
			method string
			path   string
			body   any
			status int
			field  string
		}{
			{"a 10 KB title", "POST", "/api/tasks/", map[string]any{"title": strings.Repeat("Ж", 10240), "due_at": "2030-01-01"}, 400, "title"},
			{"a bad date", "POST", "/api/tasks/", map[string]any{"title": "x", "due_at": "32.13.2030"}, 400, "due_at"},
			{"a date as a number", "POST", "/api/tasks/", map[string]any{"title": "x", "due_at": 20300101}, 400, "due_at"},
			{"an unknown assignee", "POST", "/api/tasks/", map[string]any{"title": "x", "due_at": "2030-01-01", "assigned_to": 99999}, 400, "assigned_to"},
			{"an assignee that is not an id", "POST", "/api/tasks/", map[string]any{"title": "x", "due_at": "2030-01-01", "assigned_to": "кто-то"}, 400, "assigned_to"},
			{"someone else's company", "POST", "/api/tasks/", map[string]any{"title": "x", "due_at": "2030-01-01", "company": compB}, 400, "company"},
			{"a bad rule", "POST", "/api/tasks/", map[string]any{"title": "x", "due_at": "2030-01-01", "recurrence_rrule": "FREQ=HOURLY"}, 400, "recurrence_rrule"},
			{"a bad JSON body", "POST", "/api/tasks/", "{", 400, ""},
			{"a stale version", "PATCH", taskPath(tk.ID, ""), map[string]any{"title": "y", "version": 7}, 409, ""},
			{"a bad filter", "GET", "/api/tasks/?state=вчера", nil, 400, "state"},
			{"a bad due bound", "GET", "/api/tasks/?due_before=вчера", nil, 400, "due_before"},
			{"a huge page", "GET", "/api/tasks/?page=9223372036854775807", nil, 200, ""},
			{"a task id that is not a number", "GET", "/api/tasks/abc/", nil, 404, ""},
			{"someone else's task", "GET", taskPath(tk.ID, ""), nil, 200, ""},
		} {
			t.Run(tc.name+" is answered without a server error", func(t *testing.T) {
				m := c.Alisa
				if tc.name == "someone else's task" {
					m = c.Vera
					tc.status = 404
				}
				body := tc.body
				if s, ok := tc.body.(string); ok {
					rec := e.doJSONRaw(&m, tc.method, tc.path, s)
					if rec.Code != tc.status {
						t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
					}
					return
				}
				var out map[string]any
				code := e.api(&m, tc.method, tc.path, body, &out)
				if code != tc.status {
					t.Errorf("status %d, want %d: %v", code, tc.status, out)
				}
				if tc.field != "" && out[tc.field] == nil {
					t.Errorf("no message for %s: %v", tc.field, out)
				}
			})
		}
	})
}

func TestTasksAPICompleteSeenCommentsHistory(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		var created task.Task
		if code := e.api(&c.Boris, "POST", "/api/tasks/", map[string]any{"title": "Планёрка", "due_at": "2030-01-07T10:00:00+03:00",
			"assigned_to": c.Alisa.ID, "recurrence_rrule": "FREQ=WEEKLY;BYDAY=MO"}, &created); code != 201 {
			t.Fatalf("create: %d", code)
		}
		if created.Seen || created.RuleText == "" || created.AssignedToName != c.Alisa.FullName() {
			t.Errorf("created = %+v", created)
		}
		var got task.Task
		e.api(&c.Alisa, "GET", taskPath(created.ID, ""), nil, &got)
		if !got.Seen {
			t.Error("the assignee's read did not mark it seen")
		}
		var res struct {
			Task task.Task  `json:"task"`
			Next *task.Task `json:"next"`
		}
		if code := e.api(&c.Alisa, "POST", taskPath(created.ID, "complete/"), map[string]any{"result": "Провели", "version": got.Version}, &res); code != 200 {
			t.Fatalf("complete: %d", code)
		}
		if res.Task.Status != task.StatusDone || res.Next == nil || res.Next.Occurrence != 2 {
			t.Fatalf("complete = %+v", res)
		}
		if code := e.api(&c.Alisa, "POST", taskPath(created.ID, "complete/"), map[string]any{"result": "again"}, nil); code != 409 {
			t.Errorf("second complete: %d", code)
		}
		if code := e.api(&c.Alisa, "POST", taskPath(res.Next.ID, "comments/"), map[string]any{"text": "Перенесём"}, nil); code != 201 {
			t.Errorf("comment: %d", code)
		}
		var comments struct {
			Results []task.Comment `json:"results"`
		}
		if e.api(&c.Boris, "GET", taskPath(res.Next.ID, "comments/"), nil, &comments); len(comments.Results) != 1 {
			t.Errorf("comments = %+v", comments)
		}
		var hist struct {
			Results []task.HistoryEntry `json:"results"`
		}
		if e.api(&c.Boris, "GET", taskPath(created.ID, "history/"), nil, &hist); len(hist.Results) < 2 {
			t.Errorf("history = %+v", hist)
		}
		var skipped struct {
			Task task.Task  `json:"task"`
			Next *task.Task `json:"next"`
		}
		if code := e.api(&c.Alisa, "POST", taskPath(res.Next.ID, "skip/"), map[string]any{}, &skipped); code != 200 || skipped.Next == nil {
			t.Errorf("skip: %d %+v", code, skipped)
		}
		var stopped task.Task
		if code := e.api(&c.Alisa, "POST", taskPath(skipped.Next.ID, "stop/"), map[string]any{}, &stopped); code != 200 || stopped.Rule != "" {
			t.Errorf("stop: %d %+v", code, stopped)
		}
		var mine struct {
			Count int `json:"count"`
		}
		if e.api(&c.Alisa, "GET", "/api/tasks/?assigned_to=me&status=new,in_progress", nil, &mine); mine.Count != 1 {
			t.Errorf("my open tasks = %d", mine.Count)
		}
	})
}

func TestTaskPagesAndForms(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		compA := e.seedCompany("Альфа", c.BranchA, c.Alisa.ID)
		tk := e.seedTask(c.Alisa, "Отправить КП", "2030-01-10T10:00:00+03:00", 0, compA, "FREQ=DAILY")
		for _, path := range []string{"/tasks/", "/tasks/?tab=all&state=later", "/tasks/new?company=" + strconv.FormatInt(compA, 10),
			"/tasks/" + strconv.FormatInt(tk.ID, 10) + "/", "/tasks/" + strconv.FormatInt(tk.ID, 10) + "/edit",
			"/companies/" + strconv.FormatInt(compA, 10) + "/"} {
			t.Run(path+" renders", func(t *testing.T) {
				rec := e.do(&c.Alisa, "GET", path, nil)
				if rec.Code != 200 {
					t.Fatalf("status %d: %.500s", rec.Code, rec.Body.String())
				}
				doc, err := goquery.NewDocumentFromReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case strings.HasPrefix(path, "/tasks/?") || path == "/tasks/":
					if doc.Find(`[data-testid="task-row"] input[name="ids"]`).Length() != 1 || doc.Find(`[data-bulk-toolbar]`).Length() != 1 {
						t.Error("the list has no row with a checkbox or no bulk toolbar slot")
					}
				case strings.HasPrefix(path, "/tasks/new"):
					if v, _ := doc.Find(`select[name="company"] option[selected]`).Attr("value"); v != strconv.FormatInt(compA, 10) {
						t.Errorf("?company= is not preselected: %q", v)
					}
				case strings.HasSuffix(path, "/edit"):
					if doc.Find(`[name="scope"][value="series"]`).Length() != 1 {
						t.Error("a recurring task's form does not offer the series")
					}
				case strings.HasPrefix(path, "/companies/"):
					if !strings.Contains(doc.Find(`[data-testid="company-tasks"]`).Text(), "Отправить КП") {
						t.Error("the company card does not list its task")
					}
				default:
					if doc.Find(`[data-testid="task-rule"]`).Text() == "" || doc.Find(`[data-testid="task-complete-form"]`).Length() != 1 {
						t.Error("the card lacks the rule or the complete form")
					}
				}
			})
		}
		t.Run("a refused form comes back with the error beside the field", func(t *testing.T) {
			rec := e.do(&c.Alisa, "POST", "/tasks/", url.Values{"title": {""}, "due_date": {"2030-01-01"}, "due_time": {"10:00"}}.Encode())
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), `data-testid="error-title"`) {
				t.Errorf("status %d", rec.Code)
			}
		})
		t.Run("a form creates a task and goes to its card", func(t *testing.T) {
			rec := e.do(&c.Alisa, "POST", "/tasks/", url.Values{"title": {"Из формы"}, "due_date": {"2030-01-01"}, "due_time": {"10:00"},
				"company": {strconv.FormatInt(compA, 10)}, "recurrence_freq": {"weekly"}, "recurrence_interval": {"2"}, "recurrence_byday": {"TU", "TH"},
				"recurrence_end": {"never"}}.Encode())
			if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/tasks/") {
				t.Fatalf("status %d %s: %.300s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
			}
			var page struct {
				Results []task.Task `json:"results"`
			}
			e.api(&c.Alisa, "GET", "/api/tasks/?search=из+формы", nil, &page)
			if len(page.Results) != 1 || page.Results[0].Rule != "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH" || !page.Results[0].DueAt.Equal(mustTime(t, "2030-01-01T07:00:00Z")) {
				t.Errorf("created = %+v", page.Results)
			}
		})
		t.Run("completing from a form goes back to next, a local path only", func(t *testing.T) {
			one := e.seedTask(c.Alisa, "Раз", "2030-01-10", 0, 0, "")
			rec := e.do(&c.Alisa, "POST", "/tasks/"+strconv.FormatInt(one.ID, 10)+"/complete/", url.Values{"result": {"готово"}, "next": {"/"}}.Encode())
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
				t.Errorf("status %d to %q", rec.Code, rec.Header().Get("Location"))
			}
			two := e.seedTask(c.Alisa, "Два", "2030-01-10", 0, 0, "")
			rec = e.do(&c.Alisa, "POST", "/tasks/"+strconv.FormatInt(two.ID, 10)+"/complete/", url.Values{"next": {"//evil.example"}}.Encode())
			if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/tasks/"+strconv.FormatInt(two.ID, 10)+"/" {
				t.Errorf("status %d to %q", rec.Code, loc)
			}
		})
		t.Run("deleting from a form goes to the list", func(t *testing.T) {
			rec := e.do(&c.Alisa, "POST", "/tasks/"+strconv.FormatInt(tk.ID, 10)+"/delete", "")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/tasks/" {
				t.Errorf("status %d to %q", rec.Code, rec.Header().Get("Location"))
			}
		})
	})
}

// doJSONRaw sends body as it is, labelled JSON (a malformed body).
func (e *testEnv) doJSONRaw(m *dbtest.Member, method, path, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(*m)})
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpeningTheCardMarksTheAssignmentSeen(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		tk := e.seedTask(c.Boris, "Новое поручение", "2030-01-10T10:00:00+03:00", c.Alisa.ID, 0, "")
		path := "/tasks/" + strconv.FormatInt(tk.ID, 10) + "/"
		seen := func() bool {
			var v bool
			if err := e.db.QueryRowContext(context.Background(), `SELECT seen FROM tasks WHERE id = $1`, tk.ID).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		if rec := e.do(&c.Boris, "GET", path, nil); rec.Code != 200 || seen() {
			t.Fatalf("the author's read: %d, seen %v", rec.Code, seen())
		}
		if rec := e.do(&c.Alisa, "GET", path, nil); rec.Code != 200 || !seen() {
			t.Errorf("the assignee's read: %d, seen %v", rec.Code, seen())
		}
	})
}

// TestTheNewAssignmentsFilterIsTheDesks lists, with new_assignments=true,
// exactly what the desk calls «Новые назначения»: tasks someone else
// assigned that the assignee has not opened — not one's own tasks, not an
// assignment once opened. The desk's tile links to it.
func TestTheNewAssignmentsFilterIsTheDesks(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		given := e.seedTask(c.Boris, "Поручение Бориса", "2030-01-10T10:00:00+03:00", c.Alisa.ID, 0, "")
		opened := e.seedTask(c.Boris, "Уже открытое", "2030-01-11T10:00:00+03:00", c.Alisa.ID, 0, "")
		e.seedTask(c.Alisa, "Своя задача", "2030-01-12T10:00:00+03:00", 0, 0, "")
		if rec := e.do(&c.Alisa, "GET", "/tasks/"+strconv.FormatInt(opened.ID, 10)+"/", nil); rec.Code != 200 {
			t.Fatalf("opening: %d", rec.Code)
		}
		var list struct {
			Count   int         `json:"count"`
			Results []task.Task `json:"results"`
		}
		if code := e.api(&c.Alisa, "GET", "/api/tasks/?assigned_to=me&new_assignments=true", nil, &list); code != 200 ||
			list.Count != 1 || list.Results[0].ID != given.ID {
			t.Fatalf("new assignments: %d %+v", code, list)
		}
		if code := e.api(&c.Alisa, "GET", "/api/tasks/?new_assignments=maybe", nil, nil); code != http.StatusBadRequest {
			t.Errorf("a bad value: %d, want 400", code)
		}
		rec := e.do(&c.Alisa, "GET", "/desk/", nil)
		if !strings.Contains(rec.Body.String(), `href="/tasks/?new_assignments=true"`) {
			t.Error("the desk's tile does not link to the filter")
		}
		page := e.do(&c.Alisa, "GET", "/tasks/?new_assignments=true", nil).Body.String()
		if !strings.Contains(page, "Поручение Бориса") || strings.Contains(page, "Своя задача") || strings.Contains(page, "Уже открытое") {
			t.Error("the page lists other than the new assignments")
		}
	})
}
