package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func recurrencePath(rrule, dtstart, allDay string) string {
	q := url.Values{}
	if rrule != "" {
		q.Set("rrule", rrule)
	}
	if dtstart != "" {
		q.Set("dtstart", dtstart)
	}
	if allDay != "" {
		q.Set("all_day", allDay)
	}
	return "/api/tasks/recurrence/?" + q.Encode()
}

func TestRecurrencePreview(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		if _, err := e.db.ExecContext(context.Background(), `UPDATE users SET time_zone = $1 WHERE id = $2`, "America/New_York", e.cast.Alisa.ID); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			who      string
			path     string
			rrule    string
			text     string
			next     []string
			nextText string
		}{
			{
				name: "the user's own zone keeps 10:00 across the DST switch", who: "alisa",
				path:  recurrencePath("freq=weekly", "2026-03-02T10:00", ""),
				rrule: "FREQ=WEEKLY", text: "еженедельно",
				next:     []string{"2026-03-02T10:00:00-05:00", "2026-03-09T10:00:00-04:00", "2026-03-16T10:00:00-04:00", "2026-03-23T10:00:00-04:00", "2026-03-30T10:00:00-04:00"},
				nextText: "пн, 02.03.2026, 10:00",
			},
			{
				name: "the branch's zone applies when the user has none", who: "vera",
				path:  recurrencePath("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", "2026-01-01T09:00", "false"),
				rrule: "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", text: "в последнюю пятницу месяца, 6 раз",
				next:     []string{"2026-01-30T09:00:00+07:00", "2026-02-27T09:00:00+07:00", "2026-03-27T09:00:00+07:00", "2026-04-24T09:00:00+07:00", "2026-05-29T09:00:00+07:00"},
				nextText: "пт, 30.01.2026, 09:00",
			},
			{
				name: "the default zone applies without user or branch zone", who: "darya",
				path:  recurrencePath("FREQ=DAILY;UNTIL=20260103", "2026-01-01T07:00:00Z", ""),
				rrule: "FREQ=DAILY;UNTIL=20260103", text: "ежедневно до 03.01.2026",
				next:     []string{"2026-01-01T10:00:00+03:00", "2026-01-02T10:00:00+03:00", "2026-01-03T10:00:00+03:00"},
				nextText: "чт, 01.01.2026, 10:00",
			},
			{
				name: "an all-day series lists dates", who: "vera",
				path:  recurrencePath("FREQ=MONTHLY", "2026-01-31", "true"),
				rrule: "FREQ=MONTHLY", text: "ежемесячно",
				next:     []string{"2026-01-31T00:00:00+07:00", "2026-03-31T00:00:00+07:00", "2026-05-31T00:00:00+07:00", "2026-07-31T00:00:00+07:00", "2026-08-31T00:00:00+07:00"},
				nextText: "сб, 31.01.2026",
			},
			{
				name: "no rule gives no dates", who: "alisa",
				path:  recurrencePath("", "2026-01-31", ""),
				rrule: "", text: "", next: []string{},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := e.cast.Alisa
				switch tt.who {
				case "vera":
					m = e.cast.Vera
				case "darya":
					m = e.cast.Darya
				}
				var got recurrencePreview
				if code := e.api(&m, "GET", tt.path, nil, &got); code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				if got.RRule != tt.rrule || got.Text != tt.text {
					t.Errorf("rrule %q text %q, want %q %q", got.RRule, got.Text, tt.rrule, tt.text)
				}
				if strings.Join(got.Next, " ") != strings.Join(tt.next, " ") {
					t.Errorf("next = %v\nwant   %v", got.Next, tt.next)
				}
				if tt.nextText != "" && (len(got.NextText) == 0 || got.NextText[0] != tt.nextText) {
					t.Errorf("next_text = %v, want first %q", got.NextText, tt.nextText)
				}
			})
		}
	})
}

func TestRecurrencePreviewRefusesBadInput(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		tests := []struct {
			name   string
			path   string
			fields []string
		}{
			{"a 10 KB rule", recurrencePath("FREQ=DAILY;"+strings.Repeat("X", 10*1024), "2026-01-01", ""), []string{"recurrence_rrule"}},
			{"a secondly rule", recurrencePath("FREQ=SECONDLY", "2026-01-01", ""), []string{"recurrence_rrule"}},
			{"an unknown weekday", recurrencePath("FREQ=WEEKLY;BYDAY=XX", "", ""), []string{"recurrence_rrule"}},
			{"a garbage start", recurrencePath("FREQ=DAILY", "вчера'; DROP TABLE tasks", ""), []string{"dtstart"}},
			{"a start in year 1", recurrencePath("FREQ=DAILY", "0001-01-01", ""), []string{"dtstart"}},
			{"a start in year 9999", recurrencePath("FREQ=DAILY", "9999-12-31T23:59:59Z", ""), []string{"dtstart"}},
			{"a bad all-day flag", recurrencePath("FREQ=DAILY", "2026-01-01", "perhaps"), []string{"all_day"}},
			{"everything bad at once", recurrencePath("FREQ=HOURLY", "31.02", "2"), []string{"recurrence_rrule", "dtstart", "all_day"}},
		}
		for _, tt := range tests {
			t.Run(tt.name+" is a 400 naming the field", func(t *testing.T) {
				var body map[string][]string
				if code := e.api(&e.cast.Alisa, "GET", tt.path, nil, &body); code != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %v", code, body)
				}
				if len(body) != len(tt.fields) {
					t.Errorf("fields %v, want %v", body, tt.fields)
				}
				for _, f := range tt.fields {
					if len(body[f]) != 1 || body[f][0] == "" {
						t.Errorf("no message for %s: %v", f, body)
					}
				}
			})
		}
		t.Run("the message names the bad part", func(t *testing.T) {
			var body map[string][]string
			e.api(&e.cast.Alisa, "GET", recurrencePath("FREQ=WEEKLY;BYDAY=XX", "", ""), nil, &body)
			if got := body["recurrence_rrule"]; len(got) != 1 || got[0] != "BYDAY: неизвестный день недели «XX»" {
				t.Errorf("message %v", got)
			}
		})
		t.Run("an anonymous caller is refused", func(t *testing.T) {
			if code := e.api(nil, "GET", recurrencePath("FREQ=DAILY", "", ""), nil, nil); code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", code)
			}
		})
		t.Run("every cast member may ask", func(t *testing.T) {
			for _, m := range e.cast.All() {
				if code := e.api(&m, "GET", recurrencePath("FREQ=DAILY", "", ""), nil, nil); code != http.StatusOK {
					t.Errorf("%s: status %d", m.Username, code)
				}
			}
		})
		t.Run("the page side has no such route", func(t *testing.T) {
			if rec := e.do(&e.cast.Alisa, "GET", "/tasks/recurrence/?rrule=FREQ%3DDAILY", nil); rec.Code == http.StatusOK && strings.Contains(rec.Header().Get("Content-Type"), "json") {
				t.Errorf("the preview is served outside /api: %d", rec.Code)
			}
		})
	})
}
