package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
)

// recordingJobs keeps what was enqueued, so a test can work the import
// jobs itself; read is what ReadProgress answers.
type recordingJobs struct {
	imports []int64
	read    map[int64][2]int64
}

func (j *recordingJobs) Enqueue(_ context.Context, _ *sql.Tx, args river.JobArgs) (int64, error) {
	if a, ok := args.(jobs.ImportArgs); ok {
		j.imports = append(j.imports, a.ImportID)
	}
	return int64(len(j.imports)), nil
}

func (j *recordingJobs) Cancel(context.Context, *sql.Tx, int64) error { return nil }

func (j *recordingJobs) ReadProgress(id int64) (int64, int64, bool) {
	p, ok := j.read[id]
	return p[0], p[1], ok
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "amoimport", "testdata", name)) //nolint:gosec // a fixture
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upload sends a multipart upload as m to path; accept asks for JSON on
// page paths.
func (e *testEnv) upload(m *dbtest.Member, path, name string, data []byte, fields map[string]string, accept bool) *httptest.ResponseRecorder {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			e.t.Fatal(err)
		}
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if accept {
		req.Header.Set("Accept", "application/json")
	}
	if m != nil {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(*m)})
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// work runs the import jobs enqueued so far, as the job does.
func (e *testEnv) work(q *recordingJobs) {
	e.t.Helper()
	for _, id := range q.imports {
		if _, err := amoimport.Run(context.Background(), e.db, id, amoimport.RunOptions{Actor: e.cast.Admin.Scope}); err != nil {
			e.t.Fatalf("import %d: %v", id, err)
		}
	}
	q.imports = nil
}

func TestImportsAreForAdminsOnlyAndRefusalsAreAudited(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		e.srv.jobs = &recordingJobs{}
		data := fixture(t, "amo_small.csv")
		for _, m := range e.cast.All() {
			if m.Scope.Role == access.RoleAdmin {
				continue
			}
			t.Run(m.FullName()+" is refused", func(t *testing.T) {
				if code := e.api(&m, http.MethodGet, "/api/imports/", nil, nil); code != http.StatusForbidden {
					t.Errorf("GET /api/imports/: %d", code)
				}
				if rec := e.upload(&m, "/api/imports/", "amo.csv", data, map[string]string{"dry_run": "true"}, true); rec.Code != http.StatusForbidden {
					t.Errorf("POST /api/imports/: %d %s", rec.Code, rec.Body)
				}
				if rec := e.do(&m, http.MethodGet, "/admin/imports/", nil); rec.Code != http.StatusForbidden {
					t.Errorf("GET /admin/imports/: %d", rec.Code)
				}
				var n int
				err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log
					WHERE action = 'import.amo' AND outcome = 'denied' AND actor_id = $1`, m.ID).Scan(&n)
				if err != nil || n != 3 {
					t.Errorf("denied import.amo entries: %d, %v", n, err)
				}
			})
		}
		var count int
		_ = e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM imports`).Scan(&count)
		if count != 0 {
			t.Errorf("refused uploads left %d imports", count)
		}
		admin := e.cast.Admin
		if code := e.api(&admin, http.MethodGet, "/api/imports/", nil, nil); code != http.StatusOK {
			t.Errorf("admin: %d", code)
		}
	})
}

func TestAnUploadQueuesAnImportThatTheAPIFollowsToItsReport(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		q := &recordingJobs{}
		e.srv.jobs = q
		admin := e.cast.Admin
		rec := e.upload(&admin, "/api/imports/", "amo_small.csv", fixture(t, "amo_small.csv"), map[string]string{"dry_run": "true"}, true)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
		var created struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || created.ID == 0 || created.Status != "queued" {
			t.Fatalf("answer: %s", rec.Body)
		}
		if len(q.imports) != 1 || q.imports[0] != created.ID {
			t.Fatalf("jobs: %v", q.imports)
		}
		path := fmt.Sprintf("/api/imports/%d/", created.ID)
		var got map[string]any
		if code := e.api(&admin, http.MethodGet, path, nil, &got); code != http.StatusOK {
			t.Fatalf("get: %d", code)
		}
		for _, k := range []string{"id", "status", "dry_run", "progress", "summary", "report_url"} {
			if _, ok := got[k]; !ok {
				t.Errorf("no %q in %v", k, got)
			}
		}
		if got["status"] != "queued" || got["dry_run"] != true {
			t.Errorf("queued import: %v", got)
		}
		if code := e.api(&admin, http.MethodGet, path+"report/", nil, nil); code != http.StatusConflict {
			t.Errorf("report before the run: %d", code)
		}

		e.work(q)
		var done struct {
			Status   string `json:"status"`
			DryRun   bool   `json:"dry_run"`
			Progress struct {
				Processed int64 `json:"processed"`
				Total     int64 `json:"total"`
			} `json:"progress"`
			Summary   amoimport.Report `json:"summary"`
			ReportURL string           `json:"report_url"`
		}
		if code := e.api(&admin, http.MethodGet, path, nil, &done); code != http.StatusOK || done.Status != "done" {
			t.Fatalf("after the run: %d %+v", code, done)
		}
		if done.Progress.Total == 0 || done.Progress.Processed != done.Progress.Total {
			t.Errorf("progress: %+v", done.Progress)
		}
		s := done.Summary
		if s.Rows == 0 || s.Created+s.Updated+s.Merged+s.Skipped+s.Errors != s.Rows {
			t.Errorf("totals do not add up to the rows: %+v", s)
		}
		if !strings.HasSuffix(done.ReportURL, path+"report/") {
			t.Errorf("report_url: %s", done.ReportURL)
		}

		t.Run("the report is CSV that Excel opens right", func(t *testing.T) {
			rec := e.do(&admin, http.MethodGet, path+"report/", nil)
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
				t.Fatalf("report: %d %s", rec.Code, rec.Header().Get("Content-Type"))
			}
			body := rec.Body.String()
			if !strings.HasPrefix(body, "\uFEFFНомер записи;Строка файла;Действие;Причина;Предупреждения") {
				t.Errorf("head: %q", body[:min(len(body), 120)])
			}
			if lines := strings.Count(body, "\r\n"); lines < s.Rows+1 {
				t.Errorf("lines: %d, rows %d", lines, s.Rows)
			}
		})
		t.Run("the report's rows are a paginated JSON list filtered by action", func(t *testing.T) {
			var list struct {
				Count   int                   `json:"count"`
				Next    *string               `json:"next"`
				Results []amoimport.ReportRow `json:"results"`
			}
			if code := e.api(&admin, http.MethodGet, path+"report/?format=json&action=skip&page_size=2", nil, &list); code != http.StatusOK {
				t.Fatalf("json: %d", code)
			}
			if list.Count != s.Skipped || (list.Count > 2 && list.Next == nil) {
				t.Errorf("count %d, skipped %d, next %v", list.Count, s.Skipped, list.Next)
			}
			for _, r := range list.Results {
				if r.Action != amoimport.ActionSkip || r.Line == 0 {
					t.Errorf("row: %+v", r)
				}
			}
			if code := e.api(&admin, http.MethodGet, path+"report/?format=json&action=delete", nil, nil); code != http.StatusBadRequest {
				t.Errorf("unknown action: %d", code)
			}
		})
		t.Run("the page shows the totals, the filters and the rows", func(t *testing.T) {
			page := e.do(&admin, http.MethodGet, fmt.Sprintf("/admin/imports/%d/?action=skip", created.ID), nil)
			body := page.Body.String()
			if page.Code != http.StatusOK {
				t.Fatalf("page: %d", page.Code)
			}
			for _, want := range []string{`data-testid="import-totals"`, `data-testid="import-filter-skip"`, `data-testid="import-run"`,
				"Это проверка: в базу ничего не записано", `data-testid="import-download"`} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			if n := strings.Count(body, `data-testid="import-row"`); n != min(s.Skipped, 50) {
				t.Errorf("rows shown: %d, skipped %d", n, s.Skipped)
			}
		})
		t.Run("a dry run is imported without uploading the file again", func(t *testing.T) {
			var again struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			}
			if code := e.api(&admin, http.MethodPost, path+"run/", map[string]any{}, &again); code != http.StatusAccepted || again.ID == created.ID {
				t.Fatalf("run: %d %+v", code, again)
			}
			im, err := amoimport.NewStore(e.db).Get(context.Background(), again.ID)
			if err != nil || im.DryRun || im.FileSize != int64(len(fixture(t, "amo_small.csv"))) {
				t.Fatalf("the real import: %+v %v", im, err)
			}
			if code := e.api(&admin, http.MethodPost, fmt.Sprintf("/api/imports/%d/run/", again.ID), map[string]any{}, nil); code != http.StatusConflict {
				t.Errorf("run of a real import: %d", code)
			}
		})
	})
}

func TestBadUploadsAreRefusedWithMessagesNeverWithA500(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		e.srv.jobs = &recordingJobs{}
		e.srv.cfg.ImportMaxBytes = 64 << 10
		admin := e.cast.Admin
		big := bytes.Repeat([]byte("ID;Тип;Наименование\r\n1;компания;ООО Ромашка\r\n"), 3000)
		cases := []struct {
			name, file string
			data       []byte
			status     int
			field      string
		}{
			{"a form without a file is refused", "", nil, http.StatusBadRequest, "file"},
			{"an empty file is refused", "amo.csv", nil, http.StatusBadRequest, "file"},
			{"a picture is refused", "photo.png", []byte("\x89PNG\r\n\x1a\nxxxx"), http.StatusBadRequest, "file"},
			{"a table that is no export is refused", "prices.csv", []byte("Товар;Цена\r\nКирпич;10\r\n"), http.StatusBadRequest, "file"},
			{"a binary file named .csv is refused", "amo.csv", []byte{0, 1, 2, 3, 0, 0, 9, 8, 7}, http.StatusBadRequest, "file"},
			{"a file over the limit is refused with 413", "amo.csv", big, http.StatusRequestEntityTooLarge, "file"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rec := e.upload(&admin, "/api/imports/", c.file, c.data, map[string]string{"dry_run": "true"}, true)
				if rec.Code != c.status {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
				var body map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				msgs, _ := body[c.field].([]any)
				if len(msgs) == 0 || !strings.ContainsAny(fmt.Sprint(msgs[0]), "абвгдеёжзийклмнопрстуфхцчшщьыэюя") {
					t.Errorf("no Russian message for %s: %s", c.field, rec.Body)
				}
				page := e.upload(&admin, "/admin/imports/", c.file, c.data, map[string]string{"dry_run": "true"}, false)
				if page.Code != c.status || !strings.Contains(page.Body.String(), `data-testid="error-file"`) {
					t.Errorf("the form: %d, message shown: %v", page.Code, strings.Contains(page.Body.String(), "error-file"))
				}
			})
		}
		t.Run("an unknown user for the unknown responsible is refused", func(t *testing.T) {
			rec := e.upload(&admin, "/api/imports/", "amo.csv", fixture(t, "amo_small.csv"), map[string]string{"responsible": "999999"}, true)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "responsible") {
				t.Errorf("%d %s", rec.Code, rec.Body)
			}
		})
		var count int
		_ = e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM imports`).Scan(&count)
		if count != 0 {
			t.Errorf("refused uploads left %d imports", count)
		}
	})
}

func TestTheImportsPageOffersTheFormAndFollowsARunningImport(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		q := &recordingJobs{}
		e.srv.jobs = q
		admin := e.cast.Admin
		page := e.do(&admin, http.MethodGet, "/admin/imports/", nil)
		body := page.Body.String()
		if page.Code != http.StatusOK || !strings.Contains(body, `data-testid="import-form"`) ||
			!strings.Contains(body, "Только проверить (ничего не записывать)") || !strings.Contains(body, `data-testid="empty"`) {
			t.Fatalf("page: %d", page.Code)
		}
		if !strings.Contains(body, `value="`+strconv.FormatInt(admin.ID, 10)+`" selected`) {
			t.Error("the importing admin is not the default for unknown responsible")
		}
		rec := e.upload(&admin, "/admin/imports/", "amo_small.csv", fixture(t, "amo_small.csv"),
			map[string]string{"dry_run": "false", "responsible": strconv.FormatInt(e.cast.Alisa.ID, 10)}, false)
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/admin/imports/") {
			t.Fatalf("form upload: %d %s", rec.Code, rec.Header().Get("Location"))
		}
		im, err := amoimport.NewStore(e.db).Get(context.Background(), q.imports[0])
		if err != nil || im.DryRun || im.Fallback != e.cast.Alisa.ID || im.CreatedBy != admin.ID {
			t.Fatalf("import: %+v %v", im, err)
		}
		running := e.do(&admin, http.MethodGet, rec.Header().Get("Location"), nil).Body.String()
		if !strings.Contains(running, `data-progress="`+jobs.ImportProgressID(im.ID)+`"`) || !strings.Contains(running, "data-live-cursor") {
			t.Error("the page of a queued import has no live bar")
		}
		list := e.do(&admin, http.MethodGet, "/admin/imports/", nil).Body.String()
		if !strings.Contains(list, `data-testid="imports-row"`) || !strings.Contains(list, "amo_small.csv") {
			t.Error("the list does not show the import")
		}
		admins := e.do(&admin, http.MethodGet, "/admin/", nil).Body.String()
		if !strings.Contains(admins, `href="/admin/imports/"`) {
			t.Error("the admin section does not link the page")
		}
	})
}

func TestTheAPIFollowsARunningImportThatCannotWriteItsRow(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		q := &recordingJobs{}
		e.srv.jobs = q
		admin := e.cast.Admin
		rec := e.upload(&admin, "/api/imports/", "amo_small.csv", fixture(t, "amo_small.csv"), map[string]string{"dry_run": "true"}, false)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
		id := q.imports[0]
		// The run holds SQLite's writer: the row still says running, 0 of 0;
		// the process running it knows how far it has read.
		if _, err := e.db.ExecContext(context.Background(), `UPDATE imports SET status = 'running' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		q.read = map[int64][2]int64{id: {4096, 10240}}
		var body struct {
			Status   string `json:"status"`
			Progress struct {
				Processed, Total int64
			} `json:"progress"`
		}
		if code := e.acceptJSON(&admin, http.MethodGet, "/api/imports/"+strconv.FormatInt(id, 10)+"/", nil, &body); code != http.StatusOK {
			t.Fatalf("show: %d", code)
		}
		if body.Status != "running" || body.Progress.Processed != 4096 || body.Progress.Total != 10240 {
			t.Errorf("progress of a running import: %+v", body)
		}
	})
}
