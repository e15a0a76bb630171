package server

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/export"
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
	// However large, the file streams: memory stays flat (keyset pages).
	total, err := ex.Count(r.Context(), scope, q)
	if err != nil {
		s.recordExport(r, scope, audit.Error, detail, err)
		return err
	}
	detail["expected_rows"] = total
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
