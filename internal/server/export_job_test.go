package server

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/export"
	"github.com/crmprofi/crm/internal/jobs"
)

// exportJobs keeps the export jobs enqueued, for the test to work.
type exportJobs struct{ ids []int64 }

func (j *exportJobs) Enqueue(_ context.Context, _ *sql.Tx, args river.JobArgs) (int64, error) {
	if a, ok := args.(jobs.ExportArgs); ok {
		j.ids = append(j.ids, a.ExportID)
	}
	return int64(len(j.ids)), nil
}

func (j *exportJobs) Cancel(context.Context, *sql.Tx, int64) error { return nil }

func (j *exportJobs) ReadProgress(int64) (int64, int64, bool) { return 0, 0, false }

// barRecord is a progress.Reporter that remembers what it was told.
type barRecord struct {
	total, done int64
	finished    bool
	err         error
}

func (b *barRecord) Start(total int64) { b.total = total }
func (b *barRecord) Add(n int64)       { b.done += n }
func (b *barRecord) Finish(err error)  { b.finished, b.err = true, err }

func TestExportLargeRunsAsAJob(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		exportFixture(t, e)
		q := &exportJobs{}
		e.srv.jobs, e.srv.cfg.ExportJobRows = q, 2
		admin := e.cast.Admin
		// A second admin: an admin, but not the one who asked.
		var other dbtest.Member
		other.Username = "admin2"
		if err := e.db.QueryRowContext(context.Background(), `INSERT INTO users (username, first_name, last_name, email, role, data_scope, date_joined)
			VALUES ('admin2', 'Второй', 'Админ', 'a2@example.ru', 'admin', 'global', $1) RETURNING id`, database.Now()).Scan(&other.ID); err != nil {
			t.Fatal(err)
		}
		other.Scope = access.Scope{UserID: other.ID, Role: access.RoleAdmin, Data: access.Global}

		var body struct {
			ID          int64  `json:"id"`
			Status      string `json:"status"`
			Total       int64  `json:"total"`
			URL         string `json:"url"`
			DownloadURL string `json:"download_url"`
		}
		if code := e.api(&admin, http.MethodGet, "/api/export/companies/?format=csv&ordering=-name", nil, &body); code != http.StatusAccepted {
			t.Fatalf("a large export: %d, want 202", code)
		}
		if len(q.ids) != 1 || body.ID != q.ids[0] || body.Status != export.Queued || body.Total != 5 || body.DownloadURL != "" {
			t.Fatalf("job %+v, enqueued %v", body, q.ids)
		}
		audits := exportAudit(t, e)
		if last := audits[len(audits)-1]; last["_outcome"] != "ok" || last["job"] != float64(body.ID) || last["rows"] != float64(0) ||
			last["expected_rows"] != float64(5) || last["status"] != export.Queued {
			t.Errorf("audit of the job's request %v", last)
		}
		// The page form of the same export goes to the job's page.
		if rec := e.do(&admin, http.MethodGet, "/export/companies/?format=xlsx", nil); rec.Code != http.StatusSeeOther && rec.Code != http.StatusFound {
			t.Fatalf("the page's large export: %d", rec.Code)
		}
		id := body.ID
		page := e.do(&admin, http.MethodGet, fmt.Sprintf("/export/companies/%d/", id), nil)
		if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), fmt.Sprintf(`data-progress="export-%d"`, id)) {
			t.Fatalf("the job's page: %d, no progress bar", page.Code)
		}
		file := fmt.Sprintf("/export/companies/%d/file", id)
		if rec := e.do(&admin, http.MethodGet, file, nil); rec.Code != http.StatusNotFound {
			t.Errorf("download before the file is ready: %d, want 404", rec.Code)
		}

		dir := t.TempDir()
		bar := &barRecord{}
		if err := export.New(e.db).RunJob(context.Background(), id, admin.Scope, dir, time.UTC, bar); err != nil {
			t.Fatal(err)
		}
		if bar.total != 5 || bar.done != 5 || !bar.finished || bar.err != nil {
			t.Errorf("progress %+v", bar)
		}
		// The job's end is audited with the rows it wrote, counted, not expected.
		audits = exportAudit(t, e)
		if last := audits[len(audits)-1]; last["_outcome"] != "ok" || last["_actor"] != float64(admin.ID) || last["job"] != float64(id) ||
			last["rows"] != float64(5) || last["status"] != export.Done || last["format"] != "csv" {
			t.Errorf("audit of the job's end %v", last)
		} else if f, _ := last["filters"].(map[string]any); f["ordering"] != "-name" {
			t.Errorf("audit of the job's end has the filters %v", last["filters"])
		}
		rec := e.do(&admin, http.MethodGet, file, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("download: %d", rec.Code)
		}
		var got []string
		for _, row := range readCSV(t, rec.Body.Bytes())[1:] {
			got = append(got, row[0])
		}
		if want := listIDs(t, e, "ordering=-name"); !slices.Equal(got, want) {
			t.Errorf("the job's file %v, the list %v", got, want)
		}
		if page := e.do(&admin, http.MethodGet, fmt.Sprintf("/export/companies/%d/", id), nil); !strings.Contains(page.Body.String(), `data-testid="export-download"`) {
			t.Error("the finished job's page has no download link")
		}
		for _, m := range append(e.cast.All()[1:], other) {
			for _, path := range []string{file, fmt.Sprintf("/api/export/companies/%d/", id), fmt.Sprintf("/export/companies/%d/", id)} {
				if rec := e.do(&m, http.MethodGet, path, nil); rec.Code != http.StatusNotFound {
					t.Errorf("%s: %s answered %d, want 404", m.Username, path, rec.Code)
				}
			}
		}

		// A day later the file and the job are gone.
		n, err := export.PurgeJobs(context.Background(), e.db, time.Now().Add(export.Retention+time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("purged %d (%v), want the two jobs", n, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("files left after the purge: %v", entries)
		}
		if rec := e.do(&admin, http.MethodGet, file, nil); rec.Code != http.StatusNotFound {
			t.Errorf("download after the purge: %d, want 404", rec.Code)
		}
	})
}
