package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/task"
	"github.com/crmprofi/crm/web/view"
)

// recurrencePreview is the answer of GET /api/tasks/recurrence/: the rule
// in canonical form, its Russian description and the next dates of the
// series in the caller's time zone (NextText: the same, as the builder
// shows them).
type recurrencePreview struct {
	RRule    string   `json:"rrule"`
	Text     string   `json:"text"`
	Next     []string `json:"next"`
	NextText []string `json:"next_text"`
}

// previewCount is how many dates the builder's preview shows.
const previewCount = 5

// previewRecurrence is GET /api/tasks/recurrence/?rrule=…&dtstart=…&all_day=…:
// the recurrence builder's live preview. dtstart is RFC 3339, a local
// "2006-01-02T15:04" (a datetime-local input) or a date; it defaults to now.
// Every bad input is a 400 with field errors, never a 500.
func (s *Server) previewRecurrence(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	loc := s.viewerLocation(r)
	inv := apperr.Invalid{}

	allDay := false
	switch strings.ToLower(strings.TrimSpace(q.Get("all_day"))) {
	case "", "0", "false", "off", "no":
	case "1", "true", "on", "yes":
		allDay = true
	default:
		inv.Add("all_day", "Ожидается true или false.")
	}
	rule, err := task.ParseRule(q.Get("rrule"))
	if err != nil {
		if fe, ok := apperr.AsInvalid(err); ok {
			inv.Add(task.RuleField, fe[task.RuleField])
		} else {
			return err
		}
	}
	start, ok := parseDTStart(q.Get("dtstart"), loc, allDay, time.Now())
	if !ok {
		inv.Add("dtstart", "Ожидается дата и время в формате RFC 3339 или дата ГГГГ-ММ-ДД (годы 1900–2999).")
	}
	if err := inv.Err(); err != nil {
		return err
	}
	out := recurrencePreview{RRule: rule.String(), Text: rule.Describe(), Next: []string{}, NextText: []string{}}
	for _, t := range view.RecurrencePreviewDates(rule, start, allDay, loc, previewCount) {
		out.Next = append(out.Next, t.Format(time.RFC3339))
		out.NextText = append(out.NextText, view.RecurrenceDateText(t, allDay))
	}
	return respond(w, r, http.StatusOK, out, nil)
}

// parseDTStart reads the series' start for the preview: RFC 3339, a local
// date-time without zone, or a date (an all-day series keeps the date as
// 00:00 UTC). Empty means now (today for all-day).
func parseDTStart(v string, loc *time.Location, allDay bool, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	var t time.Time
	var err error
	switch {
	case v == "":
		t = now.In(loc).Truncate(time.Minute)
	case len(v) == len(time.DateOnly):
		t, err = time.ParseInLocation(time.DateOnly, v, loc)
	case len(v) == len("2006-01-02T15:04"):
		t, err = time.ParseInLocation("2006-01-02T15:04", v, loc)
	case len(v) == len("2006-01-02T15:04:05"):
		t, err = time.ParseInLocation("2006-01-02T15:04:05", v, loc)
	default:
		t, err = time.Parse(time.RFC3339, v)
	}
	if err != nil || t.Year() < 1900 || t.Year() > 2999 {
		return time.Time{}, false
	}
	if allDay {
		y, m, d := t.In(loc).Date()
		t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return t, true
}
