package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserTaskCreateAndComplete creates a weekly task in the form (an
// error first, beside its field), completes it with a result on its card
// and finds the next occurrence in the list; axe-core checks the list,
// the form and the card, and the list is looked at 390 px wide. The desk's
// big flow is another test's.
func TestBrowserTaskCreateAndComplete(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			axeSource(t)
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			base := inst.URL
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(1366, 900),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/tasks/new"),
				chromedp.WaitVisible(sel("task-form")),
				checkA11y(t, "task form"),
				// A title of spaces: the form comes back with the error under it, focused.
				chromedp.SetValue(chromedp.CSS("#f-title"), "   "),
				chromedp.SetValue(chromedp.CSS("#f-due_date"), "2030-01-07"),
				chromedp.SetValue(chromedp.CSS("#f-due_time"), "10:00"),
				chromedp.Click(sel("task-save")),
				waitText(t, sel("error-title"), "название"),
				waitJS(t, "the first error has the focus", `document.activeElement && document.activeElement.id === "f-title"`),
				shot(t, "task-1-error"),
				chromedp.SetValue(chromedp.CSS("#f-title"), "Планёрка с отделом продаж"),
				chromedp.SetValue(chromedp.CSS("#f-due_date"), "2030-01-07"),
				chromedp.SetValue(chromedp.CSS("#f-due_time"), "10:00"),
				chromedp.SetValue(chromedp.CSS(`select[name="recurrence_freq"]`), "weekly"),
				chromedp.Click(sel("task-save")),
				waitText(t, sel("page-title"), "Планёрка"),
				waitText(t, sel("task-rule"), "недел"),
				checkA11y(t, "task card"),
				shot(t, "task-2-card"),
				chromedp.Click(chromedp.CSS(`[data-testid="task-complete"] summary`)),
				chromedp.WaitVisible(sel("task-complete-form")),
				chromedp.SetValue(chromedp.CSS(`[data-testid="task-complete-form"] textarea[name="result"]`), "Обсудили план на квартал"),
				chromedp.Click(sel("task-complete-submit")),
				waitText(t, sel("task-result"), "Обсудили план"),
				waitText(t, sel("task-state"), "Выполнена"),
				chromedp.Navigate(base+"/tasks/"),
				waitText(t, sel("task-due"), "14.01.2030 10:00"),
				checkA11y(t, "task list"),
				shot(t, "task-3-list"),
			)
			if err != nil {
				t.Fatalf("task flow: %v\nserver log:\n%s", err, inst.log.String())
			}
			phone := browser(t, 390, 844)
			err = chromedp.Do(phone,
				chromedp.EmulateViewport(390, 844),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/tasks/"),
				chromedp.WaitVisible(sel("tasks-table")),
				evalTrue(t, "nothing runs past the screen", `document.documentElement.scrollWidth <= 390`),
				shot(t, "task-4-list-390"),
			)
			if err != nil {
				t.Fatalf("phone list: %v", err)
			}
		})
	}
}

// evalAwait fails the test unless the JavaScript promise resolves true.
func evalAwait(t *testing.T, what, expr string) chromedp.Action[chromedp.Void] {
	t.Helper()
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise)(ctx, target)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if !ok {
			t.Errorf("%s: false", what)
		}
		return nil
	})
}
