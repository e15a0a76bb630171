package server

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/export"
	"github.com/crmprofi/crm/web/view"
)

// auditJSON is an entry as the contract gives it: the time in the
// viewer's zone, a null actor for system actions.
type auditJSON struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	Actor      *int64         `json:"actor"`
	ActorName  string         `json:"actor_name"`
	Action     string         `json:"action"`
	ObjectType string         `json:"object_type"`
	ObjectID   string         `json:"object_id"`
	Outcome    string         `json:"outcome"`
	IP         string         `json:"ip"`
	Detail     map[string]any `json:"detail"`
}

// listAudit is GET /api/audit/: admins only; anyone else's attempt is
// itself audited.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	if err := scopeFrom(r).CanManage(); err != nil {
		return err
	}
	loc := s.viewerLocation(r)
	f, err := auditFilter(r.URL.RawQuery, loc)
	if err != nil {
		return err
	}
	entries, count, err := s.audit.List(r.Context(), scopeFrom(r), f)
	if err != nil {
		return err
	}
	out := make([]auditJSON, len(entries))
	for i, e := range entries {
		out[i] = auditJSON{ID: e.ID, At: e.At.In(loc), ActorName: e.ActorName, Action: e.Action,
			ObjectType: e.ObjectType, ObjectID: e.ObjectID, Outcome: e.Outcome, IP: e.IP, Detail: e.Detail}
		if e.ActorID != 0 {
			out[i].Actor = &e.ActorID
		}
	}
	return respond(w, r, http.StatusOK, newListPage(r, out, count, f.Page, f.PageSize), nil)
}

// viewerLocation is the signed-in user's zone, else the server default.
func (s *Server) viewerLocation(r *http.Request) *time.Location {
	def := s.cfg.Location
	if def == nil {
		def = time.UTC
	}
	if u := userFrom(r); u != nil {
		return u.Location(def)
	}
	return def
}

// auditFilter reads the log's query parameters from the raw query
// string (a pair that does not read is a bad value: queryValues). Dates
// are days in loc: since a day means from its midnight, until a day
// includes that day.
func auditFilter(raw string, loc *time.Location) (audit.Filter, error) {
	inv := apperr.Invalid{}
	q := queryValues(raw, inv)
	f := audit.Filter{
		Action:     strings.TrimSpace(q.Get("action")),
		ObjectType: strings.TrimSpace(q.Get("object_type")),
		ObjectID:   strings.TrimSpace(q.Get("object_id")),
		Outcome:    q.Get("outcome"),
	}
	if v := q.Get("actor"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			inv.Add("actor", "Укажите id пользователя")
		}
		f.Actor = id
	}
	switch f.Outcome {
	case "", audit.OK, audit.Denied, audit.Error:
	default:
		inv.Add("outcome", "Результат — ok, denied или error")
	}
	var err error
	if f.Since, err = parseDay(q.Get("since"), loc, false); err != nil {
		inv.Add("since", "Дата «с» — в виде дд.мм.гггг, например 03.12.2026")
	}
	if f.Until, err = parseDay(q.Get("until"), loc, true); err != nil {
		inv.Add("until", "Дата «по» — в виде дд.мм.гггг, например 03.12.2026")
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		inv.Add("until", "Дата «по» раньше даты «с»")
	}
	f.Page, f.PageSize = readPage(q, inv)
	return f, inv.Err()
}

// parseDay reads a day as people type it on the page (dd.mm.yyyy, also
// d.m.yyyy), as the API sends it (YYYY-MM-DD) or an RFC 3339 moment; a
// date as an upper bound means the end of that day (the next midnight,
// exclusive).
func parseDay(v string, loc *time.Location, end bool) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		d, err = time.ParseInLocation("2.1.2006", v, loc)
	}
	if err != nil {
		return time.Time{}, err
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// adminAudit is the page /admin/audit/: filters above the table. Bad
// filters are shown beside their fields with 400, never a 500.
func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) error {
	loc := s.viewerLocation(r)
	q := r.URL.Query()
	users, _, err := s.users.List(r.Context(), scopeFrom(r), auth.UserFilter{Ordering: "last_name"})
	if err != nil {
		return err
	}
	chain, err := s.audit.Check(r.Context(), scopeFrom(r), audit.CheckStep)
	if err != nil {
		return err
	}
	page := view.AuditPage{
		Location: loc, Chain: chain, ExportURL: "/admin/audit/export/" + exportQuery(q),
		Action: q.Get("action"), Actor: q.Get("actor"), Outcome: q.Get("outcome"),
		ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"),
		Since: q.Get("since"), Until: q.Get("until"),
	}
	for _, u := range users {
		page.Actors = append(page.Actors, view.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.FullName()})
	}
	status := http.StatusOK
	f, err := auditFilter(r.URL.RawQuery, loc)
	if inv, ok := apperr.AsInvalid(err); ok {
		page.Errors, status = inv, http.StatusBadRequest
	} else if err != nil {
		return err
	} else {
		entries, count, err := s.audit.List(r.Context(), scopeFrom(r), f)
		if err != nil {
			return err
		}
		page.Entries = entries
		page.Pager = view.Pager{Page: f.Page, Pages: (count + f.PageSize - 1) / f.PageSize, Count: count, URL: pageURL(r)}
	}
	return respond(w, r, status, nil, view.AuditLogPage(s.shell(r, "Журнал аудита", "admin"), page))
}

// auditFilterKeys are the query parameters of the log's filters, in the
// order the export's audit entry lists them.
var auditFilterKeys = []string{"action", "actor", "outcome", "object_type", "object_id", "since", "until"}

// exportQuery is the filters of q (not its page) as a query string, for
// the export link beside the table.
func exportQuery(q url.Values) string {
	out := url.Values{}
	for _, k := range auditFilterKeys {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			out.Set(k, v)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "?" + out.Encode()
}

// exportAudit is GET /admin/audit/export/ and /api/audit/export/: every
// entry the filters match (all pages), newest first, as CSV for Excel —
// UTF-8 with BOM, «;», cells that Excel would take for a formula
// neutralised. Admins only; the export is itself audited (audit.export)
// with its filters and row count, a refusal too (by s.act), and a
// refusal writes nothing of the file.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	scope := scopeFrom(r)
	if err := scope.CanManage(); err != nil {
		return err
	}
	loc := s.viewerLocation(r)
	q := r.URL.Query()
	f, err := auditFilter(r.URL.RawQuery, loc)
	if err != nil {
		return err
	}
	name := "audit-" + time.Now().In(loc).Format("2006-01-02-1504") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	cw.Comma, cw.UseCRLF = ';', true
	_, _ = bw.WriteString("\uFEFF")
	_ = cw.Write([]string{"№", "Время", "Кто", "ID пользователя", "IP", "Действие", "Код действия",
		"Тип объекта", "ID объекта", "Результат", "Детали", "Хеш"})
	rows := 0
	err = s.audit.Each(r.Context(), scope, f, func(e audit.Entry) error {
		rows++
		actorID := ""
		if e.ActorID != 0 {
			actorID = strconv.FormatInt(e.ActorID, 10)
		}
		detail, _ := json.Marshal(e.Detail)
		_, outcome := view.OutcomeLabel(e.Outcome)
		return cw.Write(csvSafe(strconv.FormatInt(e.ID, 10), e.At.In(loc).Format("02.01.2006 15:04:05"), e.ActorName, actorID, e.IP,
			view.ActionLabel(e.Action), e.Action, e.ObjectType, e.ObjectID, outcome, string(detail), e.Hash))
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	filters := map[string]any{}
	for _, k := range auditFilterKeys {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			filters[k] = v
		}
	}
	e := audit.Entry{Action: "audit.export", ObjectType: "audit", Detail: map[string]any{
		"format": "csv", "rows": rows, "filters": filters}}
	if err != nil {
		e.Outcome, e.Detail["error"] = audit.Error, err.Error()
	}
	// The client may be gone (a cancelled download): the entry is written all the same.
	if rerr := audit.Record(context.WithoutCancel(r.Context()), s.db, scope, e); rerr != nil {
		s.log.ErrorContext(r.Context(), "audit of an export failed", slog.Any("err", rerr))
	}
	if err != nil {
		// The file is cut short; the status is already sent, so the
		// connection is broken off for the client to see a failed download.
		s.log.ErrorContext(r.Context(), "audit export failed", slog.Any("err", err))
		panic(http.ErrAbortHandler)
	}
	return nil
}

// csvSafe neutralises every cell of a row as the export of the base
// does (export.Neutralize).
func csvSafe(cells ...string) []string {
	for i, c := range cells {
		cells[i] = export.Neutralize(c)
	}
	return cells
}
