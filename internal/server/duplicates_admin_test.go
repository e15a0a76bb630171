package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/progress"
)

// countingJobs is a job queue that only counts what it is given.
type countingJobs struct{ n int64 }

func (j *countingJobs) Enqueue(context.Context, *sql.Tx, river.JobArgs) (int64, error) {
	j.n++
	return j.n, nil
}

func (j *countingJobs) Cancel(context.Context, *sql.Tx, int64) error { return nil }

func (j *countingJobs) ReadProgress(int64) (int64, int64, bool) { return 0, 0, false }

// acceptJSON sends a request as m asking for JSON (the admin pages answer
// JSON by Accept), decoding the answer into out.
func (e *testEnv) acceptJSON(m *dbtest.Member, method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(*m)})
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
		}
	}
	return rec.Code
}

// twoDuplicates writes two companies with one ИНН and runs a full scan.
func twoDuplicates(t *testing.T, e *testEnv) (a, b int64) {
	t.Helper()
	ctx := context.Background()
	for i, name := range []string{"Ромашка", "Ромашка-Сервис"} {
		c, err := e.srv.companies.Create(ctx, e.cast.Admin.Scope, company.Input{
			Name: company.OptString{Set: true, Value: name}, INN: company.OptString{Set: true, Value: "7707083893"},
			KPP: company.OptString{Set: true, Value: []string{"770701001", "770702001"}[i]}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			a = c.ID
		} else {
			b = c.ID
		}
	}
	if _, err := duplicate.NewScanner(e.db).Full(ctx, progress.Discard("")); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestDuplicatesPageIsForAdminsOnly(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		twoDuplicates(t, e)
		for _, m := range e.cast.All() {
			rec := e.do(&m, http.MethodGet, "/admin/duplicates/", nil)
			admin := m.ID == e.cast.Admin.ID
			if admin != (rec.Code == http.StatusOK) {
				t.Errorf("%s: %d", m.Username, rec.Code)
			}
			if !admin && strings.Contains(rec.Body.String(), "Ромашка") {
				t.Errorf("%s sees the groups", m.Username)
			}
			post := e.do(&m, http.MethodPost, "/admin/duplicates/scan", "")
			if !admin && post.Code != http.StatusForbidden && post.Code != http.StatusNotFound {
				t.Errorf("%s starts a scan: %d", m.Username, post.Code)
			}
		}
	})
}

func TestDuplicatesPageListsGroupsAndDismisses(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		a, b := twoDuplicates(t, e)
		admin := e.cast.Admin
		page := e.do(&admin, http.MethodGet, "/admin/duplicates/", nil)
		body := page.Body.String()
		for _, want := range []string{`data-testid="dup-group"`, "совпадает ИНН, другой КПП — вероятно, филиал",
			"/companies/" + strconv.FormatInt(a, 10) + "/merge/?with=" + strconv.FormatInt(b, 10)} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		var list struct {
			Count   int `json:"count"`
			Results []struct {
				Pairs []struct {
					A, B int64
				} `json:"pairs"`
			} `json:"results"`
		}
		rec := e.do(&admin, http.MethodGet, "/admin/duplicates/?reason=kpp", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("filter: %d", rec.Code)
		}
		if code := e.acceptJSON(&admin, http.MethodGet, "/admin/duplicates/", nil, &list); code != http.StatusOK || list.Count != 1 || list.Results[0].Pairs[0].A != a {
			t.Fatalf("JSON: %d %+v", code, list)
		}
		if rec := e.do(&admin, http.MethodGet, "/admin/duplicates/?reason=нет", nil); rec.Code != http.StatusBadRequest ||
			!strings.Contains(rec.Body.String(), "Неизвестная причина") {
			t.Errorf("unknown reason: %d", rec.Code)
		}
		var bad struct {
			Errors map[string]any `json:"errors"`
		}
		if code := e.acceptJSON(&admin, http.MethodPost, "/admin/duplicates/dismiss", map[string]any{"a": 0, "b": b}, &bad); code != http.StatusBadRequest {
			t.Errorf("a bad pair: %d %+v", code, bad)
		}
		if rec := e.do(&admin, http.MethodPost, "/admin/duplicates/dismiss", "a=x&b=1"); rec.Code != http.StatusBadRequest {
			t.Errorf("a bad form: %d", rec.Code)
		}
		form := "a=" + strconv.FormatInt(a, 10) + "&b=" + strconv.FormatInt(b, 10) + "&back=" + "%2Fadmin%2Fduplicates%2F%3Freason%3Dkpp"
		rec = e.do(&admin, http.MethodPost, "/admin/duplicates/dismiss", form)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/duplicates/?reason=kpp" {
			t.Fatalf("dismiss: %d %s", rec.Code, rec.Header().Get("Location"))
		}
		if code := e.acceptJSON(&admin, http.MethodGet, "/admin/duplicates/", nil, &list); code != http.StatusOK || list.Count != 0 {
			t.Errorf("after «Не дубль»: %+v", list)
		}
	})
}

func TestDuplicateScanStartsOnceAtATime(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		q := &countingJobs{}
		e.srv.jobs = q
		admin := e.cast.Admin
		var first, second duplicate.Scan
		if code := e.acceptJSON(&admin, http.MethodPost, "/admin/duplicates/scan", map[string]any{}, &first); code != http.StatusAccepted {
			t.Fatalf("start: %d", code)
		}
		rec := e.do(&admin, http.MethodPost, "/admin/duplicates/scan", "")
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("second click: %d", rec.Code)
		}
		if code := e.acceptJSON(&admin, http.MethodPost, "/admin/duplicates/scan", map[string]any{}, &second); code != http.StatusOK || second.ID != first.ID {
			t.Errorf("a start while one is queued: %d %+v", code, second)
		}
		if q.n != 1 {
			t.Errorf("jobs enqueued: %d", q.n)
		}
		page := e.do(&admin, http.MethodGet, "/admin/duplicates/", nil).Body.String()
		if !strings.Contains(page, `data-progress="`+first.ProgressID()+`"`) || !strings.Contains(page, "ждёт очереди") {
			t.Error("the page does not show the queued scan's bar")
		}
	})
}
