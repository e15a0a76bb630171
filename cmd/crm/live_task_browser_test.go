package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAWeeklyTaskReachesTheAssigneeLive is the whole flow
// across two people: Борис builds a weekly rule in the task form's builder
// for Анна, saves it and completes it; Анна, signed in elsewhere with the
// desk in one tab and another page in a second, sees — without a reload —
// the bell count change in the second tab and, on the desk, the task
// among her new assignments and then its next occurrence in its place.
func TestBrowserAWeeklyTaskReachesTheAssigneeLive(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			inst := startCRM(t, newURL())
			for _, u := range [][3]string{{"anna", "Анна", "Смирнова"}, {"boris", "Борис", "Бородин"}} {
				inst.crm(t, "createsuperuser", "--username", u[0], "--password", "Ромашка-2026!",
					"--first-name", u[1], "--last-name", u[2])
			}
			var anna struct{ Access string }
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &anna)
			var me struct{ ID int64 }
			apiGet(t, inst, anna.Access, "/api/me/", &me)
			base := inst.URL
			connected := `window.crmLive && window.crmLive.connected()`
			bell := `(() => { const b = document.querySelector('[data-testid="bell-count"]'); return b.hidden ? "" : b.textContent.trim(); })()`
			newCount := `document.querySelector('[data-testid="tile-new_assignments-count"]').textContent.trim()`
			rowIDs := `Array.from(document.querySelectorAll('[data-testid="group-new_assignments"] [data-testid="desk-row"]')).map(r => r.dataset.taskId).join(",")`

			// Анна: the desk in one tab, the companies in a second.
			desk := browser(t, 1366, 900)
			err := chromedp.Do(desk,
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/desk/"),
				chromedp.WaitVisible(sel("desk")),
				waitJS(t, "the desk's stream is open", connected),
				evalTrue(t, "no new assignments yet", newCount+` === "0"`),
			)
			if err != nil {
				t.Fatalf("Анна's desk: %v\n%s", err, inst.log.String())
			}
			other, cancel := chromedp.NewContext(desk)
			defer cancel()
			if err := chromedp.Do(other,
				chromedp.Navigate(base+"/companies/"),
				waitJS(t, "the second tab's stream is open", connected),
				evalTrue(t, "the bell has no count", bell+` === ""`),
			); err != nil {
				t.Fatalf("Анна's second tab: %v\n%s", err, inst.log.String())
			}

			// Борис builds the rule in the form and saves the task for Анна.
			due := time.Now().AddDate(0, 0, 10)
			weekday := [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}[due.Weekday()]
			author := browser(t, 1366, 900)
			var cardPath string
			err = chromedp.Do(author,
				signIn(t, base, "boris", "Ромашка-2026!"),
				chromedp.Navigate(base+"/tasks/new"),
				chromedp.WaitVisible(sel("task-form")),
				chromedp.SetValue(chromedp.CSS("#f-title"), "Еженедельный отчёт"),
				chromedp.SetValue(chromedp.CSS("#f-due_date"), due.Format(time.DateOnly)),
				chromedp.SetValue(chromedp.CSS("#f-due_time"), "10:00"),
				chromedp.SetValue(chromedp.CSS(`select[name="assigned_to"]`), strconv.FormatInt(me.ID, 10)),
				evalTrue(t, "the builder repeats weekly", `(() => { const s = document.querySelector('select[name="recurrence_freq"]');
					s.value = "weekly"; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`),
				chromedp.Click(chromedp.CSS(`input[name="recurrence_byday"][value="`+weekday+`"]`)),
				waitJS(t, "the builder wrote the rule", `document.querySelector('input[type="hidden"][name="recurrence_rrule"]').value.includes("FREQ=WEEKLY")`),
				chromedp.Click(sel("task-save")),
				waitText(t, sel("page-title"), "Еженедельный отчёт"),
				waitText(t, sel("task-rule"), "кажд"), // «каждый вторник», «каждое воскресенье»
				chromedp.Func(func(ctx context.Context, target *chromedp.Target) (err error) {
					cardPath, err = chromedp.Evaluate[string]("location.pathname")(ctx, target)
					return err
				}),
			)
			if err != nil {
				t.Fatalf("Борис's form: %v\n%s", err, inst.log.String())
			}
			first := strings.Trim(strings.TrimPrefix(cardPath, "/tasks/"), "/")

			// Анна sees it arrive in both tabs, no reload.
			if err := chromedp.Do(other, waitJS(t, "the bell counts the assignment", bell+` === "1"`)); err != nil {
				t.Fatalf("second tab: %v", err)
			}
			if err := chromedp.Do(desk,
				waitJS(t, "the desk lists the new assignment", rowIDs+` === "`+first+`"`),
				evalTrue(t, "its tile counts it", newCount+` === "1"`),
			); err != nil {
				t.Fatalf("desk after the assignment: %v", err)
			}

			// Борис completes it; the next occurrence takes its place on Анна's desk.
			err = chromedp.Do(author,
				chromedp.Click(chromedp.CSS(`[data-testid="task-complete"] summary`)),
				chromedp.WaitVisible(sel("task-complete-form")),
				chromedp.SetValue(chromedp.CSS(`[data-testid="task-complete-form"] textarea[name="result"]`), "Отчёт отправлен"),
				chromedp.Click(sel("task-complete-submit")),
				waitText(t, sel("task-state"), "Выполнена"),
			)
			if err != nil {
				t.Fatalf("Борис completes: %v\n%s", err, inst.log.String())
			}
			next := due.AddDate(0, 0, 7)
			if err := chromedp.Do(desk,
				waitJS(t, "the next occurrence replaces the first", `(() => { const ids = `+rowIDs+`; return ids !== "" && ids !== "`+first+`" && !ids.includes(","); })()`),
				waitJS(t, "it is due a week later", `document.querySelector('[data-testid="group-new_assignments"]').textContent.includes("`+strconv.Itoa(next.Day())+`")`),
				evalTrue(t, "still one new assignment", newCount+` === "1"`),
				shot(t, "live-desk-next-occurrence"),
			); err != nil {
				t.Fatalf("desk after completion: %v\n%s", err, inst.log.String())
			}
		})
	}
}
