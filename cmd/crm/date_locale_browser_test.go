package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// englishBrowser is headless Chromium whose own language is English
// (--lang=en-US, LANGUAGE=en_US): a date input there shows 12/05/2026 and
// a time input 02:30 PM, whatever the page's lang="ru".
func englishBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	exe := os.Getenv("CRM_CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		if os.Getenv("CRM_TEST_BROWSER") == "require" {
			t.Fatalf("Chromium not found at %s (install Debian's chromium)", exe)
		}
		t.Skipf("Chromium not found at %s; set CRM_TEST_BROWSER=require to fail instead", exe)
	}
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("LANG=en_US.UTF-8", "LANGUAGE=en_US"),
		chromedp.WindowSize(width, height),
	)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// TestBrowserDueDatesAreRussianInAnEnglishBrowser: in a Chromium set to
// English the task form still shows and takes the due date as dd.mm.yyyy
// and the time as 24-hour hh:mm (text fields, not the browser's
// pickers); an impossible date comes back with a Russian error beside the
// field; the desk moves a task to a date typed the same way. axe-core
// checks the form and its error at 1366 px, and the form fits 390 px.
func TestBrowserDueDatesAreRussianInAnEnglishBrowser(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			axeSource(t)
			ctx := englishBrowser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			base := inst.URL
			twoDaysAgo := time.Now().AddDate(0, 0, -2).Format("02.01.2006")
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(1366, 900),
				waitJS(t, "the browser speaks English", `navigator.language === "en-US"`),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/tasks/new"),
				chromedp.WaitVisible(sel("task-form")),
				waitJS(t, "the date is a text field in dd.mm.yyyy", `(() => { const d = document.getElementById("f-due_date");
					return d.type === "text" && /^\d{2}\.\d{2}\.\d{4}$/.test(d.value) && d.placeholder === "дд.мм.гггг"; })()`),
				waitJS(t, "the time is 24-hour text", `(() => { const c = document.getElementById("f-due_time");
					return c.type === "text" && c.value === "10:00"; })()`),
				shot(t, "due-1-form-en-1366"),
				// 31 February: the form comes back with the error beside the date.
				chromedp.SetValue(chromedp.CSS("#f-title"), "Позвонить в «Ромашку»"),
				chromedp.SetValue(chromedp.CSS("#f-due_date"), "31.02.2030"),
				chromedp.SetValue(chromedp.CSS("#f-due_time"), "9:30"),
				chromedp.Click(sel("task-save")),
				waitText(t, sel("error-due_date"), "ДД.ММ.ГГГГ"),
				waitJS(t, "the date keeps what was typed", `document.getElementById("f-due_date").value === "31.02.2030"`),
				waitJS(t, "the field points at its error", `document.getElementById("f-due_date").getAttribute("aria-describedby").includes("f-due_date-error")`),
				checkA11y(t, "task form with a date error, English browser"),
				shot(t, "due-2-error-en-1366"),
				chromedp.SetValue(chromedp.CSS("#f-due_date"), "7.1.2030"),
				chromedp.SetValue(chromedp.CSS("#f-due_time"), "9:30"),
				chromedp.Click(sel("task-save")),
				waitText(t, sel("page-title"), "Ромашку"),
				waitText(t, sel("task-due"), "07.01.2030 09:30"),
				// An all-day task two days ago lands in «Просрочено»; the desk
				// moves it to a date typed as dd.mm.yyyy.
				chromedp.Navigate(base+"/tasks/new"),
				chromedp.WaitVisible(sel("task-form")),
				chromedp.SetValue(chromedp.CSS("#f-title"), "Отправить счёт"),
				chromedp.SetValue(chromedp.CSS("#f-due_date"), twoDaysAgo),
				evalTrue(t, "the time is cleared: a whole day", `(() => { document.getElementById("f-due_time").value = ""; return true; })()`),
				chromedp.Click(sel("task-save")),
				waitText(t, sel("page-title"), "Отправить счёт"),
				chromedp.Navigate(base+"/desk/"),
				chromedp.WaitVisible(sel("desk-tiles")),
				waitJS(t, "one task is overdue", tileCount("overdue")+" === 1"),
				chromedp.Click(chromedp.CSS(`[data-testid="group-overdue"] [data-testid="desk-reschedule-toggle"]`)),
				waitJS(t, "the desk's date is dd.mm.yyyy text too", `(() => { const d = document.querySelector('[data-testid="group-overdue"] input[name="due_at"][data-date]');
					return d && d.type === "text" && d.placeholder === "дд.мм.гггг" && document.activeElement === d; })()`),
				chromedp.SendKeys(chromedp.CSS(`[data-testid="group-overdue"] input[name="due_at"][data-date]`), "15.01.2030"),
				shot(t, "due-3-desk-pick-en-1366"),
				chromedp.Click(chromedp.CSS(`[data-testid="group-overdue"] .desk-pick button[type="submit"]`)),
				waitJS(t, "the task left «Просрочено»", tileCount("overdue")+" === 0"),
				chromedp.Navigate(base+"/tasks/?state=later"),
				waitText(t, sel("tasks-table"), "15.01.2030"),
			)
			if err != nil {
				t.Fatalf("due dates in an English browser: %v\nserver log:\n%s", err, inst.log.String())
			}

			phone := englishBrowser(t, 390, 844)
			err = chromedp.Do(phone,
				chromedp.EmulateViewport(390, 844),
				waitJS(t, "the viewport is 390 px wide", "window.innerWidth === 390"),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/tasks/new"),
				chromedp.WaitVisible(sel("task-form")),
				waitJS(t, "the date is dd.mm.yyyy on a phone too", `/^\d{2}\.\d{2}\.\d{4}$/.test(document.getElementById("f-due_date").value)`),
				waitJS(t, "the phone gets a number keypad", `document.getElementById("f-due_date").inputMode === "numeric"`),
				waitJS(t, "no sideways scrolling on a phone", noSideScroll),
				checkA11y(t, "task form on a phone, English browser"),
				shot(t, "due-4-form-en-390"),
			)
			if err != nil {
				t.Fatalf("phone: %v\nserver log:\n%s", err, inst.log.String())
			}
		})
	}
}
