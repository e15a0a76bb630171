package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sel is a CSS selector for a data-testid hook.
func sel(testID string) chromedp.CSS {
	return chromedp.CSS(`[data-testid="` + testID + `"]`)
}

// waitText polls until the element's visible text contains want.
func waitText(t *testing.T, s chromedp.CSS, want string) chromedp.Action[chromedp.Void] {
	t.Helper()
	js := `(() => { const e = document.querySelector(` + strconv.Quote(string(s)) + `); return e ? e.innerText : ""; })()`
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		deadline := time.Now().Add(15 * time.Second)
		last := ""
		for {
			text, err := chromedp.Evaluate[string](js)(ctx, target)
			if err == nil && strings.Contains(text, want) {
				return nil
			}
			last = text
			if time.Now().After(deadline) {
				t.Errorf("%s: text %q does not contain %q", s, last, want)
				return context.DeadlineExceeded
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// waitJS polls until the JavaScript expression is true.
func waitJS(t *testing.T, what, expr string) chromedp.Action[chromedp.Void] {
	t.Helper()
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		deadline := time.Now().Add(15 * time.Second)
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, target)
			if err == nil && ok {
				return nil
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: still false after 15 s: %s", what, expr)
				return context.DeadlineExceeded
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// railShown is true when the rail is on screen (not slid off to the left).
const railShown = `(() => { const r = document.querySelector('[data-testid="rail"]').getBoundingClientRect(); return r.right > 0 && r.left >= 0; })()`

// signIn opens the sign-in page and signs in.
func signIn(t *testing.T, base, username, password string) chromedp.Action[chromedp.Void] {
	t.Helper()
	return chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(sel("login-form")),
		chromedp.SetValue(chromedp.CSS("#f-username"), username),
		chromedp.SetValue(chromedp.CSS("#f-password"), password),
		chromedp.Click(sel("login-submit")),
		chromedp.WaitReady(sel("rail")),
	)
}

// TestBrowserSalesDay walks a salesperson's path through the real binary in
// headless Chromium: sign in, create a company with a wrong ИНН (the error
// shows beside the field) and then a right one, find it by a phone typed
// another way, add a note and delete it; then the phone-sized menu.
func TestBrowserSalesDay(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := browser(t, 1280, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			base := inst.URL

			err := chromedp.Do(ctx,
				signIn(t, base, "anna", "Ромашка-2026!"),
				waitText(t, sel("user-name"), "Анна Смирнова"),
				shot(t, "1-signed-in"),

				// A wrong check digit: the form comes back with the error under ИНН.
				chromedp.Navigate(base+"/companies/new"),
				chromedp.WaitVisible(sel("company-form")),
				chromedp.SetValue(chromedp.CSS("#f-name"), "ООО «Ромашка»"),
				chromedp.SetValue(chromedp.CSS("#f-inn"), "7707083894"),
				chromedp.SetValue(chromedp.CSS(`input[name="phone"]`), "8 (495) 123-45-67"),
				chromedp.Click(sel("company-save")),
				waitText(t, sel("error-inn"), "контрольн"),
				shot(t, "2-invalid-inn"),

				// Corrected, it saves and opens the card.
				chromedp.SetValue(chromedp.CSS("#f-inn"), "7707083893"),
				chromedp.Click(sel("company-save")),
				waitText(t, sel("company-inn"), "7707083893"),
				waitText(t, sel("company-phones"), "495"),
				shot(t, "3-company-card"),

				// The header search finds it by the phone typed another way.
				chromedp.Navigate(base+"/companies/"),
				chromedp.SetValue(chromedp.CSS("#global-search"), "+7 495 1234567"),
				chromedp.Submit(chromedp.CSS("#global-search")),
				waitText(t, sel("match-label"), "телефон"),
				waitText(t, sel("company-name"), "Ромашка"),
				shot(t, "4-found-by-phone"),

				// A note: added to the timeline, then deleted after confirmation.
				chromedp.Click(sel("company-name")),
				chromedp.WaitVisible(sel("note-add")),
				chromedp.SetValue(chromedp.CSS(`[data-testid="note-add"] textarea[name="text"]`), "Позвонить в четверг насчёт поставки"),
				chromedp.Click(sel("note-add-submit")),
				waitText(t, sel("note-text"), "Позвонить в четверг"),
				shot(t, "5-note-added"),
				chromedp.Click(chromedp.CSS(`[data-testid="note-delete"] button`)),
				chromedp.WaitVisible(sel("confirm-dialog")),
				shot(t, "6-confirm-delete"),
				chromedp.Click(sel("confirm-ok")),
				chromedp.WaitNotPresent(sel("note-text")),
				shot(t, "7-note-deleted"),
			)
			if err != nil {
				t.Fatalf("browser flow: %v\nserver log:\n%s", err, inst.log.String())
			}

			// The phone: the rail is an off-canvas drawer opened by the menu button.
			phone := browser(t, 390, 844)
			err = chromedp.Do(phone,
				// Headless windows have a minimum width; the viewport is exact.
				chromedp.EmulateViewport(390, 844),
				waitJS(t, "the viewport is 390 px wide", "window.innerWidth === 390"),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/companies/"),
				chromedp.WaitVisible(sel("menu-toggle")),
				waitJS(t, "the drawer starts closed", "!"+railShown),
				shot(t, "8-phone-menu-closed"),
				chromedp.Click(sel("menu-toggle")),
				waitJS(t, "the menu button opens the drawer", railShown),
				shot(t, "9-phone-menu-open"),
				chromedp.KeyEvent("\x1b"),
				waitJS(t, "Esc closes the drawer", "!"+railShown),
			)
			if err != nil {
				t.Fatalf("phone menu: %v", err)
			}
		})
	}
}
