package server

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/export"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/web/view"
)

// The export of the base: GET /export/companies/ (the company list's
// «Экспорт» button) and GET /api/export/companies/, with ?format=csv|xlsx
// and exactly the list's filters, read by the list's own companyQuery and
// run through the list's own search. Admins only; every attempt, allowed
// or refused, is one export.companies entry of the audit log with the
// format, the filters, the user agent and the rows written (the IP and
// the time are the entry's own columns).

// exportAction is the audit action of every export attempt.
const exportAction = "export.companies"

// exportDetail is what the audit entry of an attempt keeps.
func exportDetail(r *http.Request) map[string]any {
	filters := map[string]any{}
	q := r.URL.Query()
	for k, v := range q {
		if k == "format" || k == "page" || k == "page_size" {
			continue
		}
		if len(v) == 1 {
			filters[k] = v[0]
		} else {
			filters[k] = slices.Clone(v)
		}
	}
	return map[string]any{"format": q.Get("format"), "filters": filters, "user_agent": r.UserAgent(),
		"method": r.Method, "path": r.URL.Path, "rows": 0}
}

// exportCompanies answers with the file. A refusal (403, recorded by the
// route's s.act with this detail) and bad parameters (400) come before a
// byte of the file is written, so there is never a partial file.
func (s *Server) exportCompanies(w http.ResponseWriter, r *http.Request) error {
	scope := scopeFrom(r)
	detail := exportDetail(r)
	if !scope.IsAdmin() {
		return &apperr.Forbidden{Reason: "Выгрузка базы доступна только администраторам. Если она нужна вам для работы, попросите администратора.", Detail: detail}
	}
	format, ok := export.ParseFormat(r.URL.Query().Get("format"))
	if !ok {
		err := apperr.Invalid{"format": "Формат выгрузки: csv или xlsx"}
		s.recordExport(r, scope, audit.Error, detail, err)
		return err
	}
	detail["format"] = string(format)
	q, err := companyQuery(r)
	if err != nil {
		s.recordExport(r, scope, audit.Error, detail, err)
		return err
	}
	ex := export.New(s.db)
	// Counting first checks the query (a bad one fails here, as a 400
	// or 500 page, not inside a file) and is the audit's expected size.
	// Up to the threshold the file streams straight into the response;
	// above it a job writes it and the admin follows a progress bar.
	total, err := ex.Count(r.Context(), scope, q)
	if err != nil {
		s.recordExport(r, scope, audit.Error, detail, err)
		return err
	}
	detail["expected_rows"] = total
	if total > s.exportJobRows() && s.jobs != nil {
		return s.startExportJob(w, r, scope, q, format, detail, total)
	}
	loc := s.viewerLocation(r)
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": format.FileName(database.Now(), loc)}))
	w.Header().Set("Cache-Control", "no-store")
	n, err := ex.Write(r.Context(), w, export.Options{Scope: scope, Query: q, Format: format, Location: loc})
	detail["rows"] = n
	if err != nil {
		s.recordExport(r, scope, audit.Error, detail, err)
		if r.Context().Err() == nil {
			s.log.ErrorContext(r.Context(), "export failed midway", slog.Any("err", err), slog.Int("rows", n))
		}
		// The status is sent: breaking the connection is the only way left
		// to tell the browser the file is not whole.
		panic(http.ErrAbortHandler)
	}
	s.recordExport(r, scope, audit.OK, detail, nil)
	return nil
}

// recordExport writes the audit entry of an allowed attempt (ok or
// failed); refusals go through s.act. It outlives a client that went
// away mid-download.
func (s *Server) recordExport(r *http.Request, scope access.Scope, outcome string, detail map[string]any, cause error) {
	if cause != nil {
		detail["error"] = cause.Error()
		var inv apperr.Invalid
		if errors.As(cause, &inv) {
			detail["invalid"] = map[string]string(inv)
		}
	}
	ctx := context.WithoutCancel(r.Context())
	err := audit.Record(ctx, s.db, scope, audit.Entry{Action: exportAction, ObjectType: "company", Outcome: outcome, Detail: detail})
	if err != nil {
		s.log.ErrorContext(ctx, "audit of an export failed", slog.Any("err", err))
	}
}

// exportListURL is the export of what the list at u shows, in format.
func exportListURL(u *url.URL, format export.Format) string {
	q := u.Query()
	q.Del("page")
	q.Set("format", string(format))
	return "/export/companies/?" + q.Encode()
}

// exportJobRows is the size above which an export runs as a job.
func (s *Server) exportJobRows() int {
	if s.cfg.ExportJobRows > 0 {
		return s.cfg.ExportJobRows
	}
	return defaultExportJobRows
}

// defaultExportJobRows: up to this many companies stream straight into
// the response (seconds); more go to a job with a progress bar.
const defaultExportJobRows = 20_000

// exportJobBody is an export job in the API.
type exportJobBody struct {
	export.Job
	URL         string `json:"url"`
	DownloadURL string `json:"download_url,omitempty"`
}

func exportJobURL(id int64) string { return "/export/companies/" + strconv.FormatInt(id, 10) + "/" }

func exportFileURL(id int64) string { return exportJobURL(id) + "file" }

func newExportJobBody(r *http.Request, j export.Job) exportJobBody {
	prefix := ""
	if strings.HasPrefix(r.URL.Path, "/api/") {
		prefix = "/api"
	}
	b := exportJobBody{Job: j, URL: prefix + exportJobURL(j.ID)}
	if j.Status == export.Done {
		b.DownloadURL = prefix + exportFileURL(j.ID)
	}
	return b
}

// startExportJob records a large export and its job in one transaction,
// audits the attempt, and sends the browser to the job's page (the API
// gets 202 with the job).
func (s *Server) startExportJob(w http.ResponseWriter, r *http.Request, scope access.Scope, q company.Query, format export.Format,
	detail map[string]any, total int,
) error {
	var id int64
	err := s.db.InTx(r.Context(), func(tx *sql.Tx) error {
		var err error
		if id, err = export.CreateJob(r.Context(), tx, scope.UserID, format, q, total); err != nil {
			return err
		}
		_, err = s.jobs.Enqueue(r.Context(), tx, jobs.ExportArgs{ExportID: id})
		return err
	})
	if err != nil {
		s.recordExport(r, scope, audit.Error, detail, err)
		return err
	}
	// Nothing is written yet: the job's own entry, when it ends, has the
	// rows it wrote; this one has what to expect.
	detail["job"], detail["status"] = id, export.Queued
	s.recordExport(r, scope, audit.OK, detail, nil)
	if wantsJSON(r) {
		j, err := export.GetJob(r.Context(), s.db, scope, id)
		if err != nil {
			return err
		}
		w.Header().Set("Location", newExportJobBody(r, j).URL)
		return writeJSON(w, http.StatusAccepted, newExportJobBody(r, j))
	}
	redirect(w, r, exportJobURL(id))
	return nil
}

// showExport is the page (or JSON) of an export job: only the admin who
// asked sees it; anyone else gets 404, as for a job that does not exist.
func (s *Server) showExport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		j, err := export.GetJob(r.Context(), s.db, scopeFrom(r), id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, newExportJobBody(r, j))
	}
	// The stream's cursor is read before the job: a job that ends between
	// the two reads is then shown running and its last event replayed,
	// instead of shown running with the event already behind the cursor.
	cur, err := live.Latest(r.Context(), s.db)
	if err != nil {
		return err
	}
	j, err := export.GetJob(r.Context(), s.db, scopeFrom(r), id)
	if err != nil {
		return err
	}
	p := view.ExportPage{Job: j, Location: s.viewerLocation(r), LiveCursor: cur.String()}
	if j.Status == export.Done {
		p.DownloadURL = exportFileURL(j.ID)
	}
	return respond(w, r, http.StatusOK, nil, view.ExportPageTemplate(s.shell(r, "Экспорт компаний", "companies"), p))
}

// downloadExport sends a finished job's file to the admin who asked;
// anyone else, and a file not ready or expired, gets 404.
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	j, err := export.GetJob(r.Context(), s.db, scopeFrom(r), id)
	if err != nil {
		return err
	}
	if j.Status != export.Done || j.Path == "" {
		return errNotFound
	}
	f, err := os.Open(j.Path)
	if errors.Is(err, os.ErrNotExist) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	w.Header().Set("Content-Type", j.Format.ContentType())
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": j.Format.FileName(j.CreatedAt, s.viewerLocation(r))}))
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "", *j.FinishedAt, f)
	return nil
}
