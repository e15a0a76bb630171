package calendar

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/task"
)

// Task is what the feed needs of one open task.
type Task struct {
	ID          int64
	Title       string
	Description string
	Company     string
	// DueAt is UTC; for an all-day task, the date at 00:00 UTC.
	DueAt  time.Time
	AllDay bool
	Urgent bool
	// Rule is the series' RRULE ("" for a single task), SeriesID its
	// series and Occurrence this task's number in it (1 for the first).
	Rule       string
	SeriesID   int64
	Occurrence int
	Created    time.Time
	Modified   time.Time
}

// MaxTasks bounds a feed: a phone has no use for more, and a runaway list
// must not make the feed slow for everyone.
const MaxTasks = 2000

// OpenTasks returns the open tasks assigned to userID (new or in
// progress), soonest first, with the names of the user's own and branch
// time zones (either may be ""). The assignee may always see their tasks,
// so no other visibility rule applies here.
func (f *Feeds) OpenTasks(ctx context.Context, userID int64) (tasks []Task, userZone, branchZone string, err error) {
	err = f.db.QueryRowContext(ctx, `SELECT u.time_zone, COALESCE(b.time_zone, '') FROM users u
		LEFT JOIN branches b ON b.id = u.branch_id WHERE u.id = $1`, userID).Scan(&userZone, &branchZone)
	if err != nil {
		return nil, "", "", fmt.Errorf("feed owner: %w", err)
	}
	rows, err := f.db.QueryContext(ctx, `SELECT t.id, t.title, t.description, COALESCE(c.name, ''), t.due_at, t.all_day,
			t.is_urgent, t.recurrence_rrule, COALESCE(t.series_id, 0), t.occurrence, t.created_at, t.updated_at
		FROM tasks t LEFT JOIN companies c ON c.id = t.company_id
		WHERE t.assigned_to = $1 AND `+task.OpenSQL("t")+`
		ORDER BY t.due_at, t.id LIMIT `+strconv.Itoa(MaxTasks), userID)
	if err != nil {
		return nil, "", "", fmt.Errorf("feed tasks: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var t Task
		if err := rows.Scan(&t.ID, &t.Title, &t.Description, &t.Company, &t.DueAt, &t.AllDay, &t.Urgent, &t.Rule,
			&t.SeriesID, &t.Occurrence, &t.Created, &t.Modified); err != nil {
			return nil, "", "", fmt.Errorf("feed tasks: %w", err)
		}
		tasks = append(tasks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", "", fmt.Errorf("feed tasks: %w", err)
	}
	return tasks, userZone, branchZone, nil
}

// Events turns open tasks into the feed's events: timed tasks at their
// time in loc (the assignee's zone, so a weekly 10:00 stays 10:00 across
// daylight saving time), all-day tasks on their date. A recurring series
// is one event whose UID is the series' and whose start is its open
// occurrence, carrying the rule with COUNT reduced by the occurrences
// already past (UNTIL is kept as it is); a second open occurrence of the
// same series is left out. site is the address links start with
// ("https://crm.example"), host the domain part of the UIDs.
func Events(tasks []Task, loc *time.Location, site, host string) []Event {
	if loc == nil {
		loc = time.UTC
	}
	series := map[int64]bool{}
	out := make([]Event, 0, len(tasks))
	for _, t := range tasks {
		e := Event{
			UID:      "task-" + strconv.FormatInt(t.ID, 10) + "@" + host,
			Summary:  t.Title,
			URL:      site + "/tasks/" + strconv.FormatInt(t.ID, 10) + "/",
			AllDay:   t.AllDay,
			Urgent:   t.Urgent,
			Created:  t.Created,
			Modified: t.Modified,
		}
		if t.Company != "" {
			e.Description = "Компания: " + t.Company
		}
		if t.Description != "" {
			if e.Description != "" {
				e.Description += "\n\n"
			}
			e.Description += t.Description
		}
		if t.AllDay {
			y, m, d := t.DueAt.UTC().Date()
			e.Start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		} else {
			e.Start = t.DueAt.In(loc)
		}
		if t.Rule != "" && t.SeriesID != 0 {
			if series[t.SeriesID] {
				continue
			}
			series[t.SeriesID] = true
			e.UID = "series-" + strconv.FormatInt(t.SeriesID, 10) + "@" + host
			e.RRule = untilLike(RemainingRule(t.Rule, t.Occurrence), t.AllDay, loc)
		}
		out = append(out, e)
	}
	return out
}

// RemainingRule is rule as seen from its occurrence-th occurrence: a
// COUNT counts the occurrences from the series' start, so from this one
// on there are COUNT-occurrence+1 left. A leading "RRULE:" is dropped.
func RemainingRule(rule string, occurrence int) string {
	rule = strings.TrimPrefix(strings.TrimSpace(rule), "RRULE:")
	if occurrence <= 1 {
		return rule
	}
	parts := strings.Split(rule, ";")
	for i, p := range parts {
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(name, "COUNT") {
			continue
		}
		n, err := strconv.Atoi(value)
		if err != nil {
			return rule
		}
		parts[i] = "COUNT=" + strconv.Itoa(max(1, n-occurrence+1))
	}
	return strings.Join(parts, ";")
}

// untilLike makes a rule's UNTIL the value type RFC 5545 requires beside
// the event's DTSTART: a DATE for an all-day event, a UTC DATE-TIME for a
// timed one (a date then means the end of that day in loc).
func untilLike(rule string, allDay bool, loc *time.Location) string {
	parts := strings.Split(rule, ";")
	for i, p := range parts {
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(name, "UNTIL") {
			continue
		}
		switch {
		case allDay && len(value) > 8:
			t, err := time.Parse("20060102T150405Z", value)
			if err != nil {
				value = value[:8]
			} else {
				value = t.In(loc).Format("20060102")
			}
		case !allDay && len(value) == 8:
			if d, err := time.ParseInLocation("20060102", value, loc); err == nil {
				value = d.AddDate(0, 0, 1).Add(-time.Second).UTC().Format("20060102T150405Z")
			}
		case !allDay && !strings.HasSuffix(value, "Z"):
			if t, err := time.ParseInLocation("20060102T150405", value, loc); err == nil {
				value = t.UTC().Format("20060102T150405Z")
			}
		}
		parts[i] = "UNTIL=" + value
	}
	return strings.Join(parts, ";")
}
