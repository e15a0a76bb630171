package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/auth"
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
	f, err := auditFilter(r.URL.Query(), loc)
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

// auditFilter reads the log's query parameters. Dates are days in loc:
// since a day means from its midnight, until a day includes that day.
func auditFilter(q url.Values, loc *time.Location) (audit.Filter, error) {
	inv := apperr.Invalid{}
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
	page := view.AuditPage{
		Location: loc,
		Action:   q.Get("action"), Actor: q.Get("actor"), Outcome: q.Get("outcome"),
		ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"),
		Since: q.Get("since"), Until: q.Get("until"),
	}
	for _, u := range users {
		page.Actors = append(page.Actors, view.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.FullName()})
	}
	status := http.StatusOK
	f, err := auditFilter(q, loc)
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
