package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// axeOnce installs axe-core once per test run.
var (
	axeOnce sync.Once
	axeJS   string
	axeErr  error
)

// axeSource is the axe-core script, installed from the npm registry into
// the user's cache directory on first use (never committed); CRM_AXE_JS
// may name an axe.min.js instead. Without npm the test is skipped, or
// fails under CRM_TEST_BROWSER=require.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		file := os.Getenv("CRM_AXE_JS")
		if file == "" {
			cache, err := os.UserCacheDir()
			if err != nil {
				cache = os.TempDir()
			}
			dir := filepath.Join(cache, "crm-test", "axe-core-4")
			file = filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
			if _, err := os.Stat(file); err != nil {
				npm, err := exec.LookPath("npm")
				if err != nil {
					axeErr = fmt.Errorf("npm is not installed: %w", err)
					return
				}
				cmd := exec.CommandContext(context.Background(), npm, "install", "--prefix", dir,
					"--no-save", "--no-audit", "--no-fund", "--no-package-lock", "axe-core@4")
				if out, err := cmd.CombinedOutput(); err != nil {
					axeErr = fmt.Errorf("npm install axe-core@4: %w\n%s", err, out)
					return
				}
			}
		}
		b, err := os.ReadFile(filepath.Clean(file))
		axeJS, axeErr = string(b), err
	})
	if axeErr != nil {
		if os.Getenv("CRM_TEST_BROWSER") == "require" {
			t.Fatalf("axe-core: %v", axeErr)
		}
		t.Skipf("axe-core: %v", axeErr)
	}
	return axeJS
}

// axeViolation is what a failed accessibility rule reports.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkA11y runs axe-core (WCAG 2.0/2.1 A and AA and best practices) on
// the current page and fails the test on any violation.
func checkA11y(t *testing.T, page string) chromedp.Action[chromedp.Void] {
	t.Helper()
	src := axeSource(t)
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		if _, err := chromedp.Evaluate[chromedp.Void](src)(ctx, target); err != nil {
			return fmt.Errorf("load axe-core: %w", err)
		}
		const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
			.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
				nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary)})))`
		vs, err := chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise)(ctx, target)
		if err != nil {
			return fmt.Errorf("axe.run: %w", err)
		}
		for _, v := range vs {
			t.Errorf("%s: axe %s (%s): %s\n  %s", page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
		}
		return nil
	})
}

// evalTrue fails the test unless the JavaScript expression is true.
func evalTrue(t *testing.T, what, expr string) chromedp.Action[chromedp.Void] {
	t.Helper()
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool](expr)(ctx, target)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if !ok {
			t.Errorf("%s: false: %s", what, expr)
		}
		return nil
	})
}

// evalNumber reads a number from the page into n.
func evalNumber(expr string, n *float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		v, err := chromedp.Evaluate[float64](expr)(ctx, target)
		*n = v
		return err
	})
}

// Page measurements used by TestBrowserComfort.
const (
	// rowsInView counts the list rows whose whole height is on screen.
	rowsInView = `Array.from(document.querySelectorAll("table.table-lines tbody tr")).filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length`
	// oneLineRows is true when no list row is taller than one line plus a
	// muted second line (52 px; a wrapped name would make it 70+).
	oneLineRows = `Array.from(document.querySelectorAll("table.table-lines tbody tr")).every(r => r.getBoundingClientRect().height <= 56)`
	// noSideScroll is true when the page is no wider than the window.
	noSideScroll = `document.documentElement.scrollWidth <= window.innerWidth`
	// shown is a function: is the selected element rendered at all?
	shownFn = `(s => { const e = document.querySelector(s); return !!e && e.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true}); })`
)

// TestBrowserComfort checks the daily-use comfort of the main screens in
// headless Chromium at 1366×900 and 390×844: dense one-line lists, the
// phone's folded filters, the company card's layout, the forms' repeatable
// phone rows and error focus, the Russian audit log, and axe-core's
// WCAG 2.1 AA rules on every page. It keeps screenshots of the list, the
// card and a form at both widths.
func TestBrowserComfort(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			axeSource(t)
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "demo", "--companies", "40", "--contacts", "60", "--notes-per-company", "2", "--password", "Демо-пароль-2026")
			base := inst.URL
			const pw = "Демо-пароль-2026"

			var rows, notesW, commW, firstID float64
			var firstINN string
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(1366, 900),
				signIn(t, base, "demo-admin", pw),

				// The list: at least 12 one-line rows on the first screen.
				chromedp.Navigate(base+"/companies/"),
				chromedp.WaitVisible(sel("companies-table")),
				evalNumber(rowsInView, &rows),
				evalTrue(t, "every row is one line", oneLineRows),
				evalTrue(t, "names carry their full text in title", `Array.from(document.querySelectorAll('[data-testid="company-name"]')).every(a => a.title === a.textContent)`),
				evalTrue(t, "ИНН never breaks", `getComputedStyle(document.querySelector('[data-testid="company-inn"]')).whiteSpace === "nowrap"`),
				evalTrue(t, "the sorted column says so", `document.querySelector('th[aria-sort="ascending"] [data-testid="sort-name"]') !== null`),
				evalTrue(t, "the filters show on a wide screen", shownFn+`('[data-testid="company-filters"]') && !`+shownFn+`('[data-testid="filters-toggle"]')`),
				shot(t, "list-1366"),
				checkA11y(t, "companies 1366"),
				evalNumber(`+document.querySelector('[data-testid="company-row"]').dataset.href.split("/")[2]`, &firstID),
				chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
					var err error
					firstINN, err = chromedp.Evaluate[string](`document.querySelector('[data-testid="company-inn"]').textContent`)(ctx, target)
					return err
				}),
			)
			if err != nil {
				t.Fatalf("list: %v\n%s", err, inst.log.String())
			}
			if rows < 12 {
				t.Errorf("%v rows on the first screen of the list, want at least 12", rows)
			}
			card := base + "/companies/" + strconv.Itoa(int(firstID)) + "/"

			err = chromedp.Do(ctx,
				// The card: the timeline is the main column.
				chromedp.Navigate(card),
				chromedp.WaitVisible(sel("notes")),
				evalNumber(`document.querySelector('[data-testid="notes"]').getBoundingClientRect().width`, &notesW),
				evalNumber(`document.querySelector('[data-testid="company-comm"]').getBoundingClientRect().width`, &commW),
				evalTrue(t, "timestamps are at least 13 px", `Array.from(document.querySelectorAll(".timeline time")).every(e => parseFloat(getComputedStyle(e).fontSize) >= 13)`),
				evalTrue(t, "«Удалить» is the last header button, outlined", `(() => { const b = Array.from(document.querySelectorAll(".company-head .page-actions .btn")); const d = b[b.length-1]; return b.length > 1 && d.dataset.testid === "delete" && d.classList.contains("btn-danger-outline") && getComputedStyle(d).backgroundColor === "rgb(255, 255, 255)"; })()`),
				shot(t, "card-1366"),
				checkA11y(t, "card 1366"),

				// The form: a wrong ИНН comes back with the focus on it.
				chromedp.Navigate(base+"/companies/new"),
				chromedp.WaitVisible(sel("company-form")),
				evalTrue(t, "one blank phone row", `document.querySelectorAll('[data-testid="phone-row"]').length === 1`),
				chromedp.SetValue(chromedp.CSS("#f-name"), "ООО «Удобство»"),
				chromedp.SetValue(chromedp.CSS("#f-inn"), "7707083894"),
				chromedp.Click(sel("company-save")),
				waitText(t, sel("error-inn"), "контрольн"),
				waitJS(t, "the refused field has the focus", `document.activeElement && document.activeElement.id === "f-inn"`),
				waitJS(t, "the refused field is outlined in red", `getComputedStyle(document.activeElement).borderTopColor === "rgb(198, 40, 40)" && document.activeElement.getAttribute("aria-invalid") === "true"`),
				shot(t, "form-errors-1366"),
				checkA11y(t, "company form with errors 1366"),

				// «+ ещё телефон» adds a row; a +7 9xx number is guessed mobile.
				chromedp.SendKeys(chromedp.CSS(`[data-testid="phone-row"] input[name="phone"]`), "8 (495) 123-45-67"),
				chromedp.Click(sel("phone-add")),
				waitJS(t, "a second phone row", `document.querySelectorAll('[data-testid="phone-row"]').length === 2`),
				evalTrue(t, "the new row has the focus", `document.activeElement === document.querySelectorAll('[data-testid="phone-row"] input[name="phone"]')[1]`),
				chromedp.SendKeys(chromedp.CSS(`[data-testid="phone-row"]:nth-of-type(2) input[name="phone"]`), "+7 916 555-12-34"),
				waitJS(t, "the mobile number is guessed mobile", `document.querySelectorAll('[data-testid="phone-row"] select')[1].value === "mobile"`),
				evalTrue(t, "the landline stays work", `document.querySelectorAll('[data-testid="phone-row"] select')[0].value === "work"`),
				chromedp.SetValue(chromedp.CSS("#f-inn"), "7707083893"),
				chromedp.Click(sel("company-save")),
				waitText(t, sel("company-phones"), "916"),
				waitText(t, sel("company-phones"), "Мобильный"),
				waitText(t, sel("company-phones"), "495"),
				evalTrue(t, "the toast covers no header button", `(() => {
					const t = document.querySelector('[data-testid="toast"]'); if (!t) return true;
					const a = t.getBoundingClientRect();
					return Array.from(document.querySelectorAll(".page-actions .btn, .page-actions summary")).every(b => {
						const r = b.getBoundingClientRect();
						return a.right <= r.left || a.left >= r.right || a.bottom <= r.top || a.top >= r.bottom;
					}); })()`),

				// The other lists and pages: axe, one-line rows.
				chromedp.Navigate(base+"/contacts/"),
				chromedp.WaitVisible(sel("contacts-table")),
				evalTrue(t, "contacts are one line a row", oneLineRows),
				checkA11y(t, "contacts 1366"),
				chromedp.Navigate(base+"/admin/users/"),
				chromedp.WaitVisible(sel("user-table")),
				evalTrue(t, "users are one line a row", oneLineRows),
				checkA11y(t, "users 1366"),
				chromedp.Navigate(base+"/admin/audit/"),
				chromedp.WaitVisible(sel("audit-table")),
				evalTrue(t, "audit entries are one line a row", oneLineRows),
				waitText(t, sel("audit-table"), "Вход в систему"),
				evalTrue(t, "the date filters are dd.mm.yyyy text", `document.querySelector("#f-since").type === "text" && document.querySelector("#f-since").placeholder === "дд.мм.гггг"`),
				checkA11y(t, "audit 1366"),
				chromedp.Navigate(base+"/audit-nowhere/"),
				chromedp.WaitVisible(chromedp.CSS(".error-page")),
				checkA11y(t, "404 1366"),
			)
			if err != nil {
				t.Fatalf("card and form: %v\n%s", err, inst.log.String())
			}
			if notesW < 1.5*commW {
				t.Errorf("the timeline is %v px wide beside %v px of contact details; it should be the main column", notesW, commW)
			}

			phone := browser(t, 390, 844)
			err = chromedp.Do(phone,
				chromedp.EmulateViewport(390, 844),
				waitJS(t, "the viewport is 390 px wide", "window.innerWidth === 390"),
				signIn(t, base, "demo-admin", pw),

				// Filters fold behind one button that says how many are set.
				chromedp.Navigate(base+"/companies/?status=&search="+firstINN),
				chromedp.WaitVisible(sel("filters-toggle")),
				waitText(t, sel("filters-toggle"), "Фильтры (1)"),
				evalTrue(t, "the filters start folded", `!`+shownFn+`('[data-testid="company-filters"]')`),
				evalTrue(t, "cards fit the screen", noSideScroll),
				evalTrue(t, "card values stay inside the card", `Array.from(document.querySelectorAll('[data-testid="company-row"] td')).every(td => td.scrollWidth <= td.clientWidth + 1)`),
				shot(t, "list-390"),
				checkA11y(t, "companies 390"),
				chromedp.Click(sel("filters-toggle")),
				waitJS(t, "the button opens the filters", shownFn+`('[data-testid="company-filters"]')`),
				checkA11y(t, "companies 390, filters open"),

				chromedp.Navigate(card),
				chromedp.WaitVisible(sel("notes")),
				evalTrue(t, "the card fits the screen", noSideScroll),
				shot(t, "card-390"),
				checkA11y(t, "card 390"),

				chromedp.Navigate(base+"/companies/new"),
				chromedp.WaitVisible(sel("company-form")),
				chromedp.SetValue(chromedp.CSS("#f-name"), "ООО «Удобство-2»"),
				chromedp.SetValue(chromedp.CSS("#f-inn"), "7707083894"),
				chromedp.Click(sel("company-save")),
				waitText(t, sel("error-inn"), "контрольн"),
				waitJS(t, "the refused field has the focus", `document.activeElement && document.activeElement.id === "f-inn"`),
				shot(t, "form-errors-390"),
				checkA11y(t, "company form with errors 390"),

				chromedp.Navigate(base+"/contacts/"),
				chromedp.WaitVisible(sel("contacts-table")),
				evalTrue(t, "contacts fit the screen", noSideScroll),
				checkA11y(t, "contacts 390"),
				chromedp.Navigate(base+"/admin/users/"),
				chromedp.WaitVisible(sel("user-table")),
				checkA11y(t, "users 390"),
				chromedp.Navigate(base+"/admin/audit/"),
				chromedp.WaitVisible(sel("audit-table")),
				evalTrue(t, "the audit log fits the screen", noSideScroll),
				checkA11y(t, "audit 390"),
				chromedp.Navigate(base+"/audit-nowhere/"),
				chromedp.WaitVisible(chromedp.CSS(".error-page")),
				checkA11y(t, "404 390"),
			)
			if err != nil {
				t.Fatalf("phone: %v\n%s", err, inst.log.String())
			}
		})
	}
}
