package task

import (
	"testing"
	"time"
)

var stateZones = []string{"Europe/Berlin", "America/New_York", "Europe/Moscow", "Asia/Yekaterinburg"}

func TestStateAt(t *testing.T) {
	// Thursday 3 December 2026; the week runs Monday 30 November to Sunday
	// 6 December. Times are the viewer's wall clock in each zone.
	tests := []struct {
		name     string
		now, due string // "2006-01-02 15:04"; an all-day due is a date
		allDay   bool
		want     State
	}{
		{"a task due later today is today", "2026-12-03 10:00", "2026-12-03 18:00", false, StateToday},
		{"a task due at this very minute is today", "2026-12-03 10:00", "2026-12-03 10:00", false, StateToday},
		{"a task due earlier today is overdue", "2026-12-03 10:00", "2026-12-03 09:59", false, StateOverdue},
		{"a task due yesterday is overdue", "2026-12-03 10:00", "2026-12-02 23:00", false, StateOverdue},
		{"an all-day task of today is today until midnight", "2026-12-03 23:59", "2026-12-03", true, StateToday},
		{"an all-day task of yesterday is overdue", "2026-12-03 00:00", "2026-12-02", true, StateOverdue},
		{"right at midnight a task of the day before is overdue", "2026-12-04 00:00", "2026-12-03 23:59", false, StateOverdue},
		{"right at midnight a task of the new day is today", "2026-12-04 00:00", "2026-12-04 00:00", false, StateToday},
		{"right at midnight an all-day task of the new day is today", "2026-12-04 00:00", "2026-12-04", true, StateToday},
		{"a minute before midnight the next day is this week", "2026-12-03 23:59", "2026-12-04 00:00", false, StateWeek},
		{"Sunday 23:59 is this week", "2026-12-03 10:00", "2026-12-06 23:59", false, StateWeek},
		{"Monday 00:00 of next week is later", "2026-12-03 10:00", "2026-12-07 00:00", false, StateLater},
		{"an all-day Sunday task is this week", "2026-12-03 10:00", "2026-12-06", true, StateWeek},
		{"an all-day Monday task of next week is later", "2026-12-03 10:00", "2026-12-07", true, StateLater},
		{"on Sunday night next Monday is later", "2026-12-06 23:59", "2026-12-07 00:00", false, StateLater},
		{"on Monday the week starts again", "2026-12-07 00:00", "2026-12-13 23:59", false, StateWeek},
		{"on Monday next Monday is later", "2026-12-07 00:00", "2026-12-14 09:00", false, StateLater},
		{"on the US switch day the evening is today", "2026-03-08 00:30", "2026-03-08 23:30", false, StateToday},
		{"on the US switch day the next Monday is later", "2026-03-08 00:30", "2026-03-09 00:00", false, StateLater},
		{"on the EU switch day the evening is today", "2026-03-29 00:30", "2026-03-29 23:59", false, StateToday},
		{"before the EU autumn switch Sunday is this week", "2026-10-24 12:00", "2026-10-25 23:30", false, StateWeek},
		{"after the EU autumn switch Monday is later", "2026-10-25 23:30", "2026-10-26 00:30", false, StateLater},
		{"a task far ahead is later", "2026-12-03 10:00", "2027-01-15 10:00", false, StateLater},
	}
	for _, zone := range stateZones {
		loc := mustZone(t, zone)
		for _, tt := range tests {
			t.Run(zone+": "+tt.name, func(t *testing.T) {
				now, err := time.ParseInLocation("2006-01-02 15:04", tt.now, loc)
				if err != nil {
					t.Fatal(err)
				}
				var due time.Time
				if tt.allDay {
					due, err = time.Parse("2006-01-02", tt.due)
				} else {
					due, err = time.ParseInLocation("2006-01-02 15:04", tt.due, loc)
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := StateAt(due, tt.allDay, now, loc); got != tt.want {
					t.Errorf("StateAt = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestStateAtUsesTheViewersDay(t *testing.T) {
	ekb := mustZone(t, "Asia/Yekaterinburg")
	now := time.Date(2026, 12, 3, 20, 30, 0, 0, time.UTC) // 01:30 on 4 December in Yekaterinburg
	due := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)   // all day on 3 December
	if got := StateAt(due, true, now, ekb); got != StateOverdue {
		t.Errorf("in Yekaterinburg: %q, want overdue", got)
	}
	if got := StateAt(due, true, now, time.UTC); got != StateToday {
		t.Errorf("in UTC: %q, want today", got)
	}
	if got := StateAt(due, true, now, nil); got != StateToday {
		t.Errorf("with no zone: %q, want today (UTC)", got)
	}
}

func TestStateLabel(t *testing.T) {
	want := map[State]string{
		StateOverdue: "Просрочено", StateToday: "Сегодня", StateWeek: "На неделе",
		StateLater: "Позже", StateDone: "Выполнена", StateCancelled: "Отменена",
	}
	for s, label := range want {
		t.Run("the label of "+string(s)+" is Russian", func(t *testing.T) {
			if got := s.Label(); got != label {
				t.Errorf("Label() = %q, want %q", got, label)
			}
		})
	}
}
