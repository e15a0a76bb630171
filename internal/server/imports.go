package server

import (
	"database/sql"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/web/view"
)

// The import of amoCRM's export: the admin page «Импорт из amoCRM»
// (/admin/imports/) and the API (/api/imports/). Admins only: every
// handler checks first, and its route (s.act "import.amo") audits a
// refusal, so a manager's attempt is in the log whichever way it came.
// The upload becomes an imports row with its file and a River job in one
// transaction; the job runs the import (internal/jobs, amoimport.Run).

// defaultImportMax is the upload limit when the configuration has none.
const defaultImportMax = 200 << 20

// importMax is the largest upload accepted.
func (s *Server) importMax() int64 {
	if s.cfg.ImportMaxBytes > 0 {
		return s.cfg.ImportMaxBytes
	}
	return defaultImportMax
}

// importUploadMemory is how much of an upload stays in memory; the rest
// goes to a temporary file (the reader needs an io.ReaderAt either way).
const importUploadMemory = 8 << 20

// importExtensions are the file types the importer reads.
var importExtensions = map[string]bool{".csv": true, ".txt": true, ".tsv": true, ".xlsx": true}

func (s *Server) imports() *amoimport.Store { return amoimport.NewStore(s.db) }

// importBody is an import in the API: api.md's fields, then the rest.
type importBody struct {
	ID        int64            `json:"id"`
	Status    string           `json:"status"`
	DryRun    bool             `json:"dry_run"`
	Progress  importProgress   `json:"progress"`
	Summary   amoimport.Report `json:"summary"`
	ReportURL string           `json:"report_url"`
	Error     string           `json:"error,omitempty"`
	FileName  string           `json:"file_name"`
	FileSize  int64            `json:"file_size"`
	CreatedBy int64            `json:"created_by"`
	CreatedAt time.Time        `json:"created_at"`
	Started   *time.Time       `json:"started_at"`
	Finished  *time.Time       `json:"finished_at"`
	Fallback  int64            `json:"fallback_responsible"`
}

type importProgress struct {
	Processed int64 `json:"processed"`
	Total     int64 `json:"total"`
}

func (s *Server) importBody(r *http.Request, im amoimport.Import) importBody {
	b := importBody{ID: im.ID, Status: im.Status, DryRun: im.DryRun, Summary: im.Report, Error: im.Error,
		Progress:  importProgress{Processed: im.Processed, Total: im.Total},
		ReportURL: requestScheme(r) + "://" + r.Host + importReportURL(im.ID),
		FileName:  im.FileName, FileSize: im.FileSize, CreatedBy: im.CreatedBy, CreatedAt: im.CreatedAt,
		Fallback: im.Fallback}
	if im.Status == amoimport.StatusRunning && im.Processed == 0 && s.jobs != nil {
		// SQLite: the run cannot write its progress on the row meanwhile.
		if done, total, ok := s.jobs.ReadProgress(im.ID); ok {
			b.Progress = importProgress{Processed: done, Total: total}
		}
	}
	if !im.StartedAt.IsZero() {
		b.Started = &im.StartedAt
	}
	if !im.FinishedAt.IsZero() {
		b.Finished = &im.FinishedAt
	}
	return b
}

func importReportURL(id int64) string {
	return "/api/imports/" + strconv.FormatInt(id, 10) + "/report/"
}

func importPageURL(id int64) string { return "/admin/imports/" + strconv.FormatInt(id, 10) + "/" }

// listImports is GET /api/imports/ and the page /admin/imports/ (its
// upload form and the past imports).
func (s *Server) listImports(w http.ResponseWriter, r *http.Request) error {
	if err := scopeFrom(r).CanManage(); err != nil {
		return err
	}
	page, size, err := pageParams(r)
	if err != nil {
		return err
	}
	if !wantsJSON(r) {
		size = 20
	}
	list, count, err := s.imports().List(r.Context(), page, size)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		out := make([]importBody, len(list))
		for i, im := range list {
			out[i] = s.importBody(r, im)
		}
		return writeJSON(w, http.StatusOK, newListPage(r, out, count, page, size))
	}
	p, err := s.importsPage(r, importForm{DryRun: true}, nil)
	if err != nil {
		return err
	}
	p.Imports = list
	p.Pager = view.Pager{Page: page, Pages: (count + size - 1) / size, Count: count, URL: pageURL(r)}
	return respond(w, r, http.StatusOK, nil, view.ImportsPageTemplate(s.shell(r, "Импорт из amoCRM", "admin"), p))
}

// importForm is what the upload form sends besides the file.
type importForm struct {
	DryRun      bool
	Responsible int64
}

// importsPage is the page's frame: the form as sent, its errors, the
// users to pick from and the latest imports.
func (s *Server) importsPage(r *http.Request, f importForm, errs apperr.Invalid) (view.ImportsPage, error) {
	p := view.ImportsPage{DryRun: f.DryRun, Errors: errs, MaxMB: s.importMax() >> 20, Location: s.viewerLocation(r)}
	active := true
	users, _, err := s.users.List(r.Context(), scopeFrom(r), auth.UserFilter{Active: &active})
	if err != nil {
		return p, err
	}
	me := scopeFrom(r).UserID
	sel := f.Responsible
	if sel == 0 {
		sel = me
	}
	for _, u := range users {
		label := u.FullName() + " (" + u.Username + ")"
		if u.ID == me {
			label += " — вы"
		}
		p.Users = append(p.Users, view.Option{Value: strconv.FormatInt(u.ID, 10), Label: label, Selected: u.ID == sel})
	}
	cur, err := live.Latest(r.Context(), s.db)
	if err != nil {
		return p, err
	}
	p.LiveCursor = cur.String()
	return p, nil
}

// upload is a read upload: the file and what came with it.
type upload struct {
	file multipart.File
	name string
	size int64
	form importForm
}

// errUploadTooLarge is an upload over the limit (413, said with the limit).
type errUploadTooLarge struct{ limit int64 }

func (e errUploadTooLarge) Error() string {
	return fmt.Sprintf("Файл больше %d МБ — столько импорт не принимает. Выгрузите из amoCRM часть контактов и компаний (например, по тегу или ответственному) и импортируйте по частям.", e.limit>>20)
}

// readUpload reads the multipart form within the limit and checks the
// file: present, not empty, a CSV or XLSX that reads as amoCRM's export.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (upload, error) {
	var up upload
	limit := s.importMax()
	// The body's limit (limits.go) leaves room for the form's other
	// parts and boundaries.
	if r.ContentLength > s.bodyLimit(r) {
		return up, errUploadTooLarge{limit}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.bodyLimit(r))
	if err := r.ParseMultipartForm(importUploadMemory); err != nil { //nolint:gosec // the body is bounded just above
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return up, errUploadTooLarge{limit}
		}
		if errors.Is(err, errBodyTimeout) || r.Context().Err() != nil {
			return up, err
		}
		return up, apperr.Invalid{"file": "Прикрепите файл выгрузки (форма отправлена без файла)."}
	}
	inv := apperr.Invalid{}
	up.form.DryRun = formBool(r.FormValue("dry_run"))
	if v := strings.TrimSpace(r.FormValue("responsible")); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			inv.Add("responsible", "Выберите пользователя из списка")
		} else if u, err := s.users.Get(r.Context(), id); err != nil || !u.IsActive {
			inv.Add("responsible", "Такого активного пользователя нет — выберите из списка")
		} else {
			up.form.Responsible = id
		}
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		inv.Add("file", "Выберите файл выгрузки из amoCRM (CSV или XLSX)")
		return up, inv
	}
	up.file, up.name, up.size = file, filepath.Base(hdr.Filename), hdr.Size
	if hdr.Size > limit {
		_ = file.Close()
		return up, errUploadTooLarge{limit}
	}
	switch ext := strings.ToLower(filepath.Ext(up.name)); {
	case hdr.Size == 0:
		inv.Add("file", "Файл пустой. Выберите выгрузку из amoCRM (CSV или XLSX).")
	case !importExtensions[ext]:
		inv.Add("file", "Это не CSV и не XLSX. Выгрузите контакты и компании из amoCRM («Ещё» → «Экспорт») и выберите этот файл.")
	default:
		if err := amoimport.Check(file, hdr.Size); err != nil {
			fi, _ := apperr.AsInvalid(err)
			for k, m := range fi {
				inv.Add(k, m)
			}
			if fi == nil {
				return up, err
			}
		}
	}
	if len(inv) > 0 {
		_ = file.Close()
		return up, inv
	}
	return up, nil
}

// formBool reads a checkbox or radio value the ways forms and scripts send it.
func formBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "on", "yes", "да":
		return true
	}
	return false
}

// createImport is POST /api/imports/ (multipart file, dry_run) and the
// page's upload form: 202 {"id", "status"}, or the page of the import.
func (s *Server) createImport(w http.ResponseWriter, r *http.Request) error {
	if err := scopeFrom(r).CanManage(); err != nil {
		return err
	}
	up, err := s.readUpload(w, r)
	var tooLarge errUploadTooLarge
	if errors.As(err, &tooLarge) {
		return s.uploadTooLarge(w, r, up.form, tooLarge)
	}
	if err == nil && s.jobs == nil {
		// The upload is fine, but nothing would run the import.
		_ = up.file.Close()
		return fmt.Errorf("import: %w", errNoJobQueue)
	}
	var im amoimport.Import
	if err == nil {
		defer func() { _ = up.file.Close() }()
		me := scopeFrom(r).UserID
		err = s.db.InTx(r.Context(), func(tx *sql.Tx) error {
			var err error
			im, err = s.imports().Create(r.Context(), tx, amoimport.New{FileName: up.name, DryRun: up.form.DryRun,
				CreatedBy: me, Fallback: up.form.Responsible}, up.file)
			if err != nil {
				return err
			}
			_, err = s.jobs.Enqueue(r.Context(), tx, jobs.ImportArgs{ImportID: im.ID})
			return err
		})
	}
	flash := "Файл загружен, импорт запущен"
	if up.form.DryRun {
		flash = "Файл загружен, идёт проверка — в базу ничего не записывается"
	}
	return saved(w, r, done{status: http.StatusAccepted, body: map[string]any{"id": im.ID, "status": im.Status},
		flash: flash, to: importPageURL(im.ID)}, err, s.importFormPage(w, r, up.form))
}

// importFormPage shows the upload form again with its messages.
func (s *Server) importFormPage(w http.ResponseWriter, r *http.Request, f importForm) formPage {
	return func(status int, errs apperr.Invalid) error {
		p, err := s.importsPage(r, f, errs)
		if err != nil {
			return err
		}
		list, count, err := s.imports().List(r.Context(), 1, 20)
		if err != nil {
			return err
		}
		p.Imports = list
		p.Pager = view.Pager{Page: 1, Pages: (count + 19) / 20, Count: count, URL: func(int) string { return "/admin/imports/" }}
		return respond(w, r, status, nil, view.ImportsPageTemplate(s.shell(r, "Импорт из amoCRM", "admin"), p))
	}
}

// uploadTooLarge answers 413 with the limit: JSON, or the form with the
// message beside the file field.
func (s *Server) uploadTooLarge(w http.ResponseWriter, r *http.Request, f importForm, e errUploadTooLarge) error {
	// The rest of the body is not read: the connection closes after this.
	w.Header().Set("Connection", "close")
	if wantsJSON(r) {
		return writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"detail": e.Error(), "file": []string{e.Error()},
			"code": "too_large", "limit_bytes": e.limit})
	}
	return s.importFormPage(w, r, f)(http.StatusRequestEntityTooLarge, apperr.Invalid{"file": e.Error()})
}

// importFromDryRun is «Импортировать этот файл» after a dry run
// (POST /api/imports/{id}/run/, the page's button): a real import of the
// same upload, which is not sent again.
func (s *Server) importFromDryRun(w http.ResponseWriter, r *http.Request) error {
	if err := scopeFrom(r).CanManage(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	src, err := s.imports().Get(r.Context(), id)
	if err != nil {
		return err
	}
	if !src.DryRun || src.Status != amoimport.StatusDone {
		return &apperr.Conflict{Message: "Импортировать файл можно после завершённой проверки (пробного запуска)."}
	}
	if s.jobs == nil {
		return fmt.Errorf("import: %w", errNoJobQueue)
	}
	var im amoimport.Import
	err = s.db.InTx(r.Context(), func(tx *sql.Tx) error {
		var err error
		if im, err = s.imports().CreateFrom(r.Context(), tx, id, scopeFrom(r).UserID); err != nil {
			return err
		}
		_, err = s.jobs.Enqueue(r.Context(), tx, jobs.ImportArgs{ImportID: im.ID})
		return err
	})
	return saved(w, r, done{status: http.StatusAccepted, body: map[string]any{"id": im.ID, "status": im.Status},
		flash: "Импорт файла запущен", to: importPageURL(im.ID)}, err, nil)
}

// showImport is GET /api/imports/{id}/ and the page of one import: its
// state (a live bar while it runs), then its report with the filters.
func (s *Server) showImport(w http.ResponseWriter, r *http.Request) error {
	if err := scopeFrom(r).CanManage(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	// The stream's cursor before the import's state: the bar then misses
	// no state written after this read.
	cur, err := live.Latest(r.Context(), s.db)
	if err != nil {
		return err
	}
	im, err := s.imports().Get(r.Context(), id)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return writeJSON(w, http.StatusOK, s.importBody(r, im))
	}
	inv := apperr.Invalid{}
	q := queryValues(r.URL.RawQuery, inv)
	page, size := readPage(q, inv)
	action := q.Get("action")
	if action != "" && !amoimport.ValidAction(action) {
		inv.Add("action", "Неизвестный фильтр")
		action = ""
	}
	p := view.ImportPage{Import: im, Action: action, Errors: inv, LiveCursor: cur.String(), Location: s.viewerLocation(r),
		ProgressID: jobs.ImportProgressID(im.ID), ReportURL: importReportURL(im.ID),
		FilterURL: func(a string) string { return withParam(r, "action", a) }}
	if im.Status == amoimport.StatusDone {
		if p.Counts, err = s.imports().ActionCounts(r.Context(), id); err != nil {
			return err
		}
		list, err := s.imports().Rows(r.Context(), id, amoimport.RowFilter{Action: action, Page: page, Size: size})
		if err != nil {
			return err
		}
		p.Rows = list.Rows
		p.Pager = view.Pager{Page: page, Pages: (list.Count + size - 1) / size, Count: list.Count, URL: pageURL(r)}
	}
	title := "Импорт из amoCRM"
	if im.DryRun {
		title = "Проверка файла amoCRM"
	}
	status := http.StatusOK
	if len(inv) > 0 {
		status = http.StatusBadRequest
	}
	return respond(w, r, status, nil, view.ImportPageTemplate(s.shell(r, title, "admin"), p))
}

// importReport is GET /api/imports/{id}/report/ (report_url): the report
// as CSV for Excel (UTF-8 with BOM, «;»), or its rows as a paginated JSON
// list (?format=json or Accept: application/json) filtered by ?action=.
func (s *Server) importReport(w http.ResponseWriter, r *http.Request) error {
	if err := scopeFrom(r).CanManage(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	im, err := s.imports().Get(r.Context(), id)
	if err != nil {
		return err
	}
	inv := apperr.Invalid{}
	q := queryValues(r.URL.RawQuery, inv)
	if err := inv.Err(); err != nil {
		return err
	}
	format := q.Get("format")
	if format == "" && strings.HasPrefix(r.Header.Get("Accept"), "application/json") {
		format = "json"
	}
	if format != "" && format != "csv" && format != "json" {
		return apperr.Invalid{"format": "Формат отчёта: csv или json"}
	}
	if im.Status != amoimport.StatusDone {
		return &apperr.Conflict{Message: "Отчёт будет готов, когда импорт закончится."}
	}
	if format == "json" {
		page, size := readPage(q, inv)
		if err := inv.Err(); err != nil {
			return err
		}
		list, err := s.imports().Rows(r.Context(), id, amoimport.RowFilter{Action: q.Get("action"), Page: page, Size: size})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, newListPage(r, list.Rows, list.Count, page, size))
	}
	name := fmt.Sprintf("amocrm-import-%d-report.csv", im.ID)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return s.imports().WriteReport(r.Context(), id, w)
}
