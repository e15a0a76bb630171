package calendar_test

import (
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/calendar"
)

func TestRemainingRule(t *testing.T) {
	tests := []struct {
		name, rule string
		occurrence int
		want       string
	}{
		{"the first occurrence keeps the rule", "FREQ=DAILY;COUNT=10", 1, "FREQ=DAILY;COUNT=10"},
		{"COUNT shrinks by the occurrences past", "FREQ=WEEKLY;BYDAY=TU;COUNT=10", 4, "FREQ=WEEKLY;BYDAY=TU;COUNT=7"},
		{"the last occurrence leaves COUNT=1", "FREQ=MONTHLY;COUNT=6", 6, "FREQ=MONTHLY;COUNT=1"},
		{"UNTIL is kept as it is", "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231T235959Z", 3, "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231T235959Z"},
		{"an RRULE: prefix is dropped", "RRULE:FREQ=YEARLY;COUNT=3", 2, "FREQ=YEARLY;COUNT=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := calendar.RemainingRule(tt.rule, tt.occurrence); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUntilTakesTheValueTypeOfTheStart(t *testing.T) {
	msk := mustZone(t, "Europe/Moscow")
	tests := []struct {
		name   string
		rule   string
		allDay bool
		want   string
	}{
		{"an all-day series ends on a date", "FREQ=DAILY;UNTIL=20270110T205959Z", true, "FREQ=DAILY;UNTIL=20270110"},
		{"a timed series keeps a UTC end", "FREQ=DAILY;UNTIL=20270110T205959Z", false, "FREQ=DAILY;UNTIL=20270110T205959Z"},
		{"a timed series ending on a date ends at that day's end in its zone", "FREQ=DAILY;UNTIL=20270110", false, "FREQ=DAILY;UNTIL=20270110T205959Z"},
		{"a floating end is read in the zone", "FREQ=DAILY;UNTIL=20270110T235959", false, "FREQ=DAILY;UNTIL=20270110T205959Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := calendar.Events([]calendar.Task{{ID: 1, SeriesID: 1, Occurrence: 1, Rule: tt.rule, AllDay: tt.allDay,
				DueAt: time.Date(2027, 1, 1, 7, 0, 0, 0, time.UTC)}}, msk, "https://x", "x")
			if ev[0].RRule != tt.want {
				t.Errorf("got %q, want %q", ev[0].RRule, tt.want)
			}
		})
	}
}

func TestEventsOfTasks(t *testing.T) {
	ekb := mustZone(t, "Asia/Yekaterinburg")
	due := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC) // 10:00 in Yekaterinburg
	tasks := []calendar.Task{
		{ID: 1, Title: "Позвонить", Company: "ООО «Ромашка»", Description: "Про счёт", DueAt: due},
		{ID: 2, Title: "Отчёт", DueAt: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), AllDay: true},
		{ID: 5, Title: "Планёрка", DueAt: due, Rule: "FREQ=WEEKLY;COUNT=8", SeriesID: 3, Occurrence: 3},
		{ID: 6, Title: "Планёрка", DueAt: due.AddDate(0, 0, 7), Rule: "FREQ=WEEKLY;COUNT=8", SeriesID: 3, Occurrence: 4},
	}
	events := calendar.Events(tasks, ekb, "https://crm.example", "crm.example")
	if len(events) != 3 {
		t.Fatalf("%d events, want 3 (one per series)", len(events))
	}
	t.Run("a timed task starts at its local time in the assignee's zone", func(t *testing.T) {
		e := events[0]
		if e.Start.Location() != ekb || e.Start.Hour() != 10 {
			t.Errorf("start %v", e.Start)
		}
		if e.UID != "task-1@crm.example" || e.URL != "https://crm.example/tasks/1/" {
			t.Errorf("UID %q URL %q", e.UID, e.URL)
		}
		if e.Description != "Компания: ООО «Ромашка»\n\nПро счёт" {
			t.Errorf("description %q", e.Description)
		}
	})
	t.Run("an all-day task keeps its date", func(t *testing.T) {
		if e := events[1]; !e.AllDay || e.Start.Format("2006-01-02") != "2026-12-08" {
			t.Errorf("%+v", e)
		}
	})
	t.Run("a series is one event with the series' UID and the remaining COUNT", func(t *testing.T) {
		e := events[2]
		if e.UID != "series-3@crm.example" || e.RRule != "FREQ=WEEKLY;COUNT=6" || !e.Start.Equal(due) {
			t.Errorf("%+v", e)
		}
	})
}
