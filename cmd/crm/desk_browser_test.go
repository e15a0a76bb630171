package main

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// tileCount is the JavaScript number shown on a desk tile.
func tileCount(key string) string {
	return `parseInt(document.querySelector('[data-testid="tile-` + key + `-count"]').textContent.replace(/\D/g, ""), 10)`
}

// TestBrowserDesk walks a sales manager's morning on the real binary in
// headless Chromium: signing in lands on the desk; its tiles show the
// counts; a task is completed from the desk with a result and the count
// drops without a reload; another is moved to tomorrow and the move is
// undone from the toast; the page passes axe-core and fits a phone.
func TestBrowserDesk(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			axeSource(t)
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "demo", "--companies", "40", "--contacts", "40", "--notes-per-company", "0", "--tasks-per-user", "30")
			base := inst.URL
			const user, password = "demo-manager-1-1", "demo-пароль"

			var overdue float64
			err := chromedp.Do(ctx,
				signIn(t, base, user, password),
				waitJS(t, "the desk is the page after sign-in", `location.pathname === "/desk/"`),
				chromedp.WaitVisible(sel("desk-tiles")),
				waitJS(t, "the rail's desk item is current", `document.querySelector('[data-testid="nav-desk"]').getAttribute("aria-current") === "page"`),
				evalNumber(tileCount("overdue"), &overdue),
				shot(t, "1-desk-1366"),
				checkA11y(t, "desk"),
			)
			if err != nil {
				t.Fatalf("desk: %v\nserver log:\n%s", err, inst.log.String())
			}
			if overdue < 2 {
				t.Fatalf("the demo user has %v overdue tasks, the test needs two", overdue)
			}
			firstOverdue := `[data-testid="group-overdue"] [data-testid="desk-row"]:first-child `
			err = chromedp.Do(ctx,
				// The desk re-reads its body twice after an action: at
				// once, and when the live event arrives. A click between
				// the two can find its button replaced, so the test waits
				// for both (see the step «the desk has settled»).
				waitJS(t, "the desk's stream is open", `window.crmLive && window.crmLive.connected()`),
				evalTrue(t, "the test counts the desk's refreshes", `window.deskRefreshes = 0;
					document.querySelector("[data-desk]").addEventListener("desk:refreshed", () => {
						window.deskRefreshes++;
						window.deskRefreshedAt = performance.now();
					});
					true`),
				// Complete the first overdue task with a result, in place.
				chromedp.Click(chromedp.CSS(firstOverdue+`[data-testid="desk-complete-toggle"]`)),
				chromedp.WaitVisible(chromedp.CSS(firstOverdue+`textarea[name="result"]`)),
				waitJS(t, "the result box has focus", `document.activeElement.name === "result"`),
				chromedp.SendKeys(chromedp.CSS(firstOverdue+`textarea[name="result"]`), "Договорились о поставке"),
				shot(t, "2-complete-form"),
				chromedp.Click(chromedp.CSS(firstOverdue+`[data-testid="desk-complete-submit"]`)),
				waitJS(t, "the overdue count drops by one", tileCount("overdue")+" === "+strconv.Itoa(int(overdue)-1)),
				waitText(t, sel("toasts"), "Задача выполнена"),
				waitJS(t, "the page was not reloaded", `!!window.crmDeskRefresh && performance.getEntriesByType("navigation").length === 1`),
				waitJS(t, "the desk has settled", `window.deskRefreshes >= 2 && performance.now() - window.deskRefreshedAt > 300`),
				shot(t, "3-completed"),

				// Move the next one to tomorrow, then undo from the toast.
				chromedp.Click(chromedp.CSS(firstOverdue+`[data-testid="desk-reschedule-toggle"]`)),
				chromedp.WaitVisible(chromedp.CSS(firstOverdue+`[data-testid="desk-tomorrow"]`)),
				shot(t, "3a-reschedule-menu"),
				chromedp.Click(chromedp.CSS(firstOverdue+`[data-testid="desk-tomorrow"]`)),
				waitJS(t, "the moved task leaves the overdue group", tileCount("overdue")+" === "+strconv.Itoa(int(overdue)-2)),
				chromedp.WaitVisible(sel("undo")),
				shot(t, "4-undo-toast"),
				chromedp.Click(sel("undo")),
				waitJS(t, "undo brings it back", tileCount("overdue")+" === "+strconv.Itoa(int(overdue)-1)),
				waitText(t, sel("toasts"), "Восстановлена 1 задача"),
			)
			if err != nil {
				t.Fatalf("quick actions: %v\nserver log:\n%s", err, inst.log.String())
			}

			// Bulk: two tasks of the list moved at once, then put back.
			err = chromedp.Do(ctx,
				chromedp.Navigate(base+"/tasks/?state=overdue"),
				chromedp.WaitVisible(chromedp.CSS(`input[name="ids"]`)),
				waitJS(t, "the toolbar hides while nothing is selected", `document.querySelector("[data-bulk-toolbar]").hidden`),
				chromedp.Click(chromedp.CSS(`tbody tr:nth-child(1) input[name="ids"]`)),
				chromedp.Click(chromedp.CSS(`tbody tr:nth-child(2) input[name="ids"]`)),
				waitText(t, sel("bulk-count"), "Выбрано: 2"),
				chromedp.SetValue(chromedp.CSS("#bulk-date"), "2030-01-15"),
				shot(t, "7-bulk-toolbar"),
				chromedp.Click(sel("bulk-reschedule")),
				waitText(t, sel("toasts"), "Перенесены 2 задачи"),
				chromedp.WaitVisible(sel("undo")),
				shot(t, "8-bulk-undo-toast"),
				chromedp.Click(sel("undo")),
				waitText(t, sel("toasts"), "Восстановлены 2 задачи"),
			)
			if err != nil {
				t.Fatalf("bulk: %v\nserver log:\n%s", err, inst.log.String())
			}

			// The same desk on a phone.
			phone := browser(t, 390, 844)
			err = chromedp.Do(phone,
				chromedp.EmulateViewport(390, 844),
				waitJS(t, "the viewport is 390 px wide", "window.innerWidth === 390"),
				signIn(t, base, user, password),
				chromedp.WaitVisible(sel("desk-tiles")),
				waitJS(t, "no sideways scrolling on a phone", noSideScroll),
				waitJS(t, "the tiles sit two by two", `(() => { const t = document.querySelectorAll(".desk-tile");
					return t[0].getBoundingClientRect().top === t[1].getBoundingClientRect().top && t[2].getBoundingClientRect().top > t[0].getBoundingClientRect().top; })()`),
				waitJS(t, "the charts' labels are readable (12 px or more)", `Array.from(document.querySelectorAll(".chart-labels span")).every(s => parseFloat(getComputedStyle(s).fontSize) >= 12)`),
				shot(t, "5-desk-390"),
				chromedp.Click(sel("quick-add-toggle")),
				chromedp.WaitVisible(sel("quick-add-task")),
				shot(t, "6-quick-add-390"),
				checkA11y(t, "desk on a phone"),
			)
			if err != nil {
				t.Fatalf("phone: %v\nserver log:\n%s", err, inst.log.String())
			}
		})
	}
}

// TestBrowserQuickAddByKeyboard: the header's «+» opens with Enter and its
// items are reachable with Tab; Esc closes it and gives focus back.
func TestBrowserQuickAddByKeyboard(t *testing.T) {
	ctx := browser(t, 1366, 900)
	inst := startCRM(t, dbtest.URL(t, database.SQLite))
	inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
		"--first-name", "Анна", "--last-name", "Смирнова")
	isOpen := `document.querySelector('[data-testid="quick-add"]').open`
	err := chromedp.Do(ctx,
		signIn(t, inst.URL, "anna", "Ромашка-2026!"),
		chromedp.Focus(sel("quick-add-toggle")),
		chromedp.KeyEvent("\r"),
		waitJS(t, "Enter opens the menu", isOpen),
		chromedp.KeyEvent("\t"),
		waitJS(t, "Tab reaches «Задача»", `document.activeElement.dataset.testid === "quick-add-task"`),
		chromedp.KeyEvent("\t"),
		waitJS(t, "Tab reaches «Компания»", `document.activeElement.dataset.testid === "quick-add-company"`),
		chromedp.KeyEvent("\x1b"),
		waitJS(t, "Esc closes it", "!"+isOpen),
		waitJS(t, "focus is back on «+»", `document.activeElement.dataset.testid === "quick-add-toggle"`),
		chromedp.Click(sel("quick-add-toggle")),
		chromedp.Click(sel("quick-add-company")),
		chromedp.WaitVisible(sel("company-form")),
	)
	if err != nil {
		t.Fatalf("quick add: %v\nserver log:\n%s", err, inst.log.String())
	}
}
