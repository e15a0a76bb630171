package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
)

type bulkAnswer struct {
	Done    []int64 `json:"done"`
	Refused []struct {
		ID     int64  `json:"id"`
		Detail string `json:"detail"`
	} `json:"refused"`
	UndoToken string `json:"undo_token"`
}

func TestBulkAPIOneRefusedOfThreeAndUndo(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		a := deskTask(t, e, c.Alisa.Scope, "Первая", "2026-12-01T10:00:00Z", c.Alisa.ID)
		b := deskTask(t, e, c.Alisa.Scope, "Вторая", "2026-12-02", c.Alisa.ID)
		v := deskTask(t, e, c.Vera.Scope, "Верина", "2026-12-02", c.Vera.ID)

		var res bulkAnswer
		code := e.api(&c.Alisa, "POST", "/api/tasks/bulk/", map[string]any{
			"ids": []int64{a.ID, v.ID, b.ID}, "action": "reschedule", "due_at": "2026-12-24",
		}, &res)
		if code != http.StatusOK || len(res.Done) != 2 || len(res.Refused) != 1 || res.Refused[0].ID != v.ID || res.UndoToken == "" {
			t.Fatalf("bulk: %d %+v", code, res)
		}
		got, err := e.srv.tasks.Get(context.Background(), access.System("test"), b.ID)
		if err != nil || got.DueAt.Format(time.DateOnly) != "2026-12-24" {
			t.Errorf("moved to %v, %v", got.DueAt, err)
		}

		var detail map[string]any
		if code := e.api(&c.Boris, "POST", "/api/tasks/bulk/undo/", map[string]string{"undo_token": res.UndoToken}, &detail); code != http.StatusNotFound {
			t.Errorf("another user's undo: %d, want 404", code)
		}
		var undo struct {
			Restored []int64 `json:"restored"`
		}
		if code := e.api(&c.Alisa, "POST", "/api/tasks/bulk/undo/", map[string]string{"undo_token": res.UndoToken}, &undo); code != http.StatusOK || len(undo.Restored) != 2 {
			t.Errorf("undo: %d %+v", code, undo)
		}
		if got, _ := e.srv.tasks.Get(context.Background(), access.System("test"), b.ID); !got.DueAt.Equal(b.DueAt) {
			t.Errorf("after undo due %v, want %v", got.DueAt, b.DueAt)
		}

		// Past ten minutes: 410.
		if code := e.api(&c.Alisa, "POST", "/api/tasks/bulk/", map[string]any{"ids": []int64{a.ID}, "action": "complete", "result": "Готово"}, &res); code != http.StatusOK || len(res.Done) != 1 {
			t.Fatalf("complete: %d %+v", code, res)
		}
		e.srv.tasks.SetClock(func() time.Time { return time.Now().Add(task.UndoWindow + time.Minute) })
		defer e.srv.tasks.SetClock(nil)
		if code := e.api(&c.Alisa, "POST", "/api/tasks/bulk/undo/", map[string]string{"undo_token": res.UndoToken}, &detail); code != http.StatusGone || detail["code"] != "undo_expired" {
			t.Errorf("late undo: %d %v, want 410", code, detail)
		}
	})
}

func TestBulkAPIRefusesHostileInput(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		many := make([]string, task.MaxBulkIDs+1)
		for i := range many {
			many[i] = fmt.Sprint(i + 1)
		}
		for _, tc := range []struct {
			name, body, field string
		}{
			{"ids as a string", `{"ids": "1,2", "action": "complete"}`, "ids"},
			{"an id that is a fraction", `{"ids": [1.5], "action": "complete"}`, "ids"},
			{"501 ids", `{"ids": [` + strings.Join(many, ",") + `], "action": "complete"}`, "ids"},
			{"an unknown action", `{"ids": [1], "action": "delete"}`, "action"},
			{"a date that is not one", `{"ids": [1], "action": "reschedule", "due_at": "31.02.2026"}`, "due_at"},
			{"an assignee that is not an id", `{"ids": [1], "action": "reassign", "assigned_to": "кто-нибудь"}`, "assigned_to"},
			{"not JSON at all", `{"ids": [1`, "non_field_errors"},
		} {
			t.Run(tc.name+" is a 400", func(t *testing.T) {
				rec := e.doJSON(&c.Alisa, "/api/tasks/bulk/", tc.body)
				if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"`+tc.field+`"`) {
					t.Errorf("%d %.300s", rec.Code, rec.Body.String())
				}
			})
		}
		if rec := e.doJSON(&c.Alisa, "/api/tasks/bulk/undo/", `{}`); rec.Code != http.StatusBadRequest {
			t.Errorf("undo without a token: %d", rec.Code)
		}
		if rec := e.doJSON(&c.Alisa, "/api/tasks/bulk/undo/", `{"undo_token": "x"}`); rec.Code != http.StatusNotFound {
			t.Errorf("undo with a made-up token: %d", rec.Code)
		}
		if rec := e.doJSON(nil, "/api/tasks/bulk/", `{"ids": [1], "action": "complete"}`); rec.Code != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", rec.Code)
		}
	})
}

// doJSON posts body to path as JSON exactly as written (broken JSON too).
func (e *testEnv) doJSON(m *dbtest.Member, path, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if m != nil {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(*m)})
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func TestBulkFormFromTheDeskGoesBack(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		a := deskTask(t, e, c.Alisa.Scope, "Первая", "2026-12-01T10:00:00Z", c.Alisa.ID)
		rec := e.do(&c.Alisa, "POST", "/tasks/bulk/", fmt.Sprintf("ids=%d&action=reschedule&due_at=2026-12-25&next=/desk/", a.ID))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/desk/" {
			t.Fatalf("form: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		if flash := rec.Header().Get("Set-Cookie"); !strings.Contains(flash, flashCookie) {
			t.Errorf("no toast: %q", flash)
		}
		if got, _ := e.srv.tasks.Get(context.Background(), access.System("test"), a.ID); got.DueAt.In(e.srv.cfg.Location).Format(time.DateOnly) != "2026-12-25" {
			t.Errorf("moved to %v", got.DueAt)
		}
		for _, next := range []string{"//evil.example/", "https://evil.example/"} {
			rec := e.do(&c.Alisa, "POST", "/tasks/bulk/", fmt.Sprintf("ids=%d&action=reschedule&due_at=2026-12-26&next=%s", a.ID, next))
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/tasks/" {
				t.Errorf("next=%s → %q", next, rec.Header().Get("Location"))
			}
		}
		if rec := e.do(&c.Alisa, "POST", "/tasks/bulk/", "ids=abc&action=reschedule&next=/desk/"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/desk/" {
			t.Errorf("a bad form: %d %q, want back with an error toast", rec.Code, rec.Header().Get("Location"))
		}
	})
}
