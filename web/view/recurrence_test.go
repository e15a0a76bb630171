package view

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func TestRecurrenceBuilder(t *testing.T) {
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 6, 10, 0, 0, 0, msk) // a Tuesday

	t.Run("a weekly rule shows its controls, description and five dates", func(t *testing.T) {
		doc := render(t, RecurrenceBuilder(RecurrenceBuilderData{RRule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", DTStart: start, Location: msk}))
		one(t, doc, `fieldset[data-recurrence] > legend`)
		if v := attr(one(t, doc, `input[type=hidden][name=recurrence_rrule]`), "value"); v != "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH" {
			t.Errorf("hidden rule %q", v)
		}
		if v := attr(one(t, doc, `select[name=recurrence_freq] option[selected]`), "value"); v != "weekly" {
			t.Errorf("frequency %q", v)
		}
		if v := attr(one(t, doc, `input[name=recurrence_interval]`), "value"); v != "2" {
			t.Errorf("interval %q", v)
		}
		if got := strings.TrimSpace(one(t, doc, `[data-recurrence-unit]`).Text()); got != "недели" {
			t.Errorf("unit %q", got)
		}
		var days []string
		doc.Find(`input[name=recurrence_byday][checked]`).Each(func(_ int, s *goquery.Selection) { days = append(days, attr(s, "value")) })
		if strings.Join(days, ",") != "TU,TH" {
			t.Errorf("ticked days %v", days)
		}
		if attr(one(t, doc, `[data-recurrence-preview]`), "aria-live") != "polite" {
			t.Error("the preview is not a live region")
		}
		if got := strings.TrimSpace(one(t, doc, `[data-recurrence-text]`).Text()); got != "каждые 2 недели по вторникам и четвергам" {
			t.Errorf("description %q", got)
		}
		items := doc.Find(`[data-recurrence-next] li`)
		if items.Length() != 5 || strings.TrimSpace(items.First().Text()) != "вт, 06.01.2026, 10:00" || strings.TrimSpace(items.Eq(2).Text()) != "вт, 20.01.2026, 10:00" {
			t.Errorf("dates: %q", items.Text())
		}
	})

	t.Run("every control has a name and an accessible label", func(t *testing.T) {
		doc := render(t, RecurrenceBuilder(RecurrenceBuilderData{DTStart: start, Location: msk}))
		doc.Find(`[data-recurrence] input:not([type=hidden]), [data-recurrence] select`).Each(func(_ int, s *goquery.Selection) {
			name := attr(s, "name")
			if name == "" {
				t.Errorf("a control without a name: %v", s.Nodes[0].Attr)
			}
			id := attr(s, "id")
			labelled := attr(s, "aria-label") != "" || s.ParentsFiltered("label").Length() > 0 ||
				(id != "" && doc.Find(`label[for="`+id+`"]`).Length() == 1)
			if !labelled {
				t.Errorf("%s has no label", name)
			}
		})
		if got := strings.TrimSpace(one(t, doc, `[data-recurrence-text]`).Text()); got != "Не повторяется" {
			t.Errorf("description %q", got)
		}
		if _, hidden := one(t, doc, `[data-recurrence-next-block]`).Attr("hidden"); !hidden {
			t.Error("the date list shows without dates")
		}
	})

	t.Run("a monthly rule selects its month mode", func(t *testing.T) {
		doc := render(t, RecurrenceBuilder(RecurrenceBuilderData{RRule: "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", DTStart: start, Location: msk}))
		if v := attr(one(t, doc, `input[name=recurrence_monthmode][checked]`), "value"); v != "nth" {
			t.Errorf("month mode %q", v)
		}
		if v := attr(one(t, doc, `select[name=recurrence_ordinal] option[selected]`), "value"); v != "-1" {
			t.Errorf("ordinal %q", v)
		}
		if v := attr(one(t, doc, `select[name=recurrence_weekday] option[selected]`), "value"); v != "FR" {
			t.Errorf("weekday %q", v)
		}
		if v := attr(one(t, doc, `input[name=recurrence_end][checked]`), "value"); v != "count" {
			t.Errorf("end %q", v)
		}
	})

	t.Run("a rule the controls cannot show is kept as a custom choice", func(t *testing.T) {
		doc := render(t, RecurrenceBuilder(RecurrenceBuilderData{RRule: "FREQ=YEARLY;BYMONTH=3,9", DTStart: start, Location: msk}))
		opt := one(t, doc, `select[name=recurrence_freq] option[selected]`)
		if attr(opt, "value") != "custom" || !strings.Contains(opt.Text(), "ежегодно в марте и сентябре") {
			t.Errorf("custom option %q %q", attr(opt, "value"), opt.Text())
		}
	})

	t.Run("an error is shown beside the builder and tied to it", func(t *testing.T) {
		form := url.Values{"recurrence_freq": {"daily"}, "recurrence_interval": {"0"}, "recurrence_rrule": {""}}
		doc := render(t, RecurrenceBuilder(RecurrenceBuilderData{DTStart: start, Location: msk, Error: "Интервал повторения — целое число от 1 до 1000.", Form: form}))
		fs := one(t, doc, `fieldset[data-recurrence]`)
		if attr(fs, "aria-describedby") != "recurrence-error" {
			t.Error("the error is not tied to the fieldset")
		}
		if got := one(t, doc, `#recurrence-error`).Text(); !strings.Contains(got, "Интервал") {
			t.Errorf("error %q", got)
		}
		if v := attr(one(t, doc, `input[name=recurrence_interval]`), "value"); v != "0" {
			t.Errorf("the submitted interval is lost: %q", v)
		}
		if v := attr(one(t, doc, `select[name=recurrence_freq] option[selected]`), "value"); v != "daily" {
			t.Errorf("the submitted frequency is lost: %q", v)
		}
	})

	t.Run("an all-day series previews dates without times", func(t *testing.T) {
		doc := render(t, RecurrenceBuilder(RecurrenceBuilderData{RRule: "FREQ=MONTHLY", DTStart: time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), AllDay: true, Location: msk}))
		items := doc.Find(`[data-recurrence-next] li`)
		if items.Length() != 5 || strings.TrimSpace(items.Eq(1).Text()) != "вт, 31.03.2026" {
			t.Errorf("dates: %q", items.Text())
		}
		if attr(one(t, doc, `[data-recurrence]`), "data-dtstart") != "2026-01-31" {
			t.Error("the all-day start is not a date")
		}
	})
}
