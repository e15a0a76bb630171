package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// apiGet sends a GET to the instance as the bearer of token and decodes
// the answer into out.
func apiGet(t *testing.T, inst *instance, token, path string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, inst.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserBellInTwoTabs signs in, opens a second tab, and makes
// another user assign a company to the signed-in one: the bell's count
// changes in both tabs without a reload (the live stream, no polling);
// the panel opens on the bell, lists the notification, passes axe, and
// closes with Esc, giving focus back to the bell; «Прочитать все» empties
// the count everywhere; on a phone the panel fits the screen.
func TestBrowserBellInTwoTabs(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			first := browser(t, 1280, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			inst.crm(t, "createsuperuser", "--username", "boris", "--password", "Ромашка-2026!",
				"--first-name", "Борис", "--last-name", "Бородин")
			var anna, boris struct{ Access string }
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &anna)
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "boris", "password": "Ромашка-2026!"}, &boris)
			var me struct{ ID int64 }
			apiGet(t, inst, anna.Access, "/api/me/", &me)
			base := inst.URL
			connected := `window.crmLive && window.crmLive.connected()`
			count := `(() => { const b = document.querySelector('[data-testid="bell-count"]'); return b.hidden ? "" : b.textContent; })()`

			err := chromedp.Do(first,
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/companies/"),
				waitJS(t, "the first tab's stream is open", connected),
				evalTrue(t, "no count yet", count+` === ""`),
			)
			if err != nil {
				t.Fatalf("first tab: %v\n%s", err, inst.log.String())
			}
			second, cancel := chromedp.NewContext(first) // a second tab of the same browser
			defer cancel()
			err = chromedp.Do(second,
				chromedp.Navigate(base+"/contacts/"),
				waitJS(t, "the second tab's stream is open", connected),
			)
			if err != nil {
				t.Fatalf("second tab: %v\n%s", err, inst.log.String())
			}

			var co struct{ ID int64 }
			apiPost(t, inst, boris.Access, "/api/companies/", map[string]any{"name": "ООО «Ромашка»", "responsible": me.ID}, &co)

			err = chromedp.Do(second,
				waitJS(t, "the second tab's bell counts the notification without a reload", count+` === "1"`),
				evalTrue(t, "the bell's label says it", `document.querySelector('[data-testid="bell"]').getAttribute('aria-label') === 'Уведомления: 1 непрочитанное'`),
				evalTrue(t, "the page was not reloaded", `performance.getEntriesByType('navigation').length === 1 && location.pathname === '/contacts/'`),
			)
			if err != nil {
				t.Fatalf("second tab after the assignment: %v\n%s", err, inst.log.String())
			}
			err = chromedp.Do(first,
				waitJS(t, "the first tab counts it too", count+` === "1"`),
				chromedp.Click(sel("bell")),
				chromedp.WaitVisible(sel("bell-panel")),
				waitText(t, sel("bell-list"), "Вы назначены ответственным: ООО «Ромашка»"),
				evalTrue(t, "the bell says the panel is open", `document.querySelector('[data-testid="bell"]').getAttribute('aria-expanded') === 'true'`),
				evalTrue(t, "the item is marked unread", `document.querySelectorAll('[data-testid="bell-list"] .is-unread').length === 1`),
				shot(t, "1-panel"),
				checkA11y(t, "the companies page with the bell's panel open"),
				chromedp.KeyEvent(kb.Escape),
				waitJS(t, "Esc closes the panel", `document.querySelector('[data-testid="bell-panel"]').hidden`),
				waitJS(t, "focus is back on the bell", `document.activeElement === document.querySelector('[data-testid="bell"]')`),
				// Keyboard: Enter on the focused bell opens it again.
				chromedp.KeyEvent(kb.Enter),
				waitJS(t, "Enter opens the panel", `!document.querySelector('[data-testid="bell-panel"]').hidden`),
				chromedp.Click(sel("bell-read-all")),
				waitJS(t, "«Прочитать все» empties the count", count+` === ""`),
			)
			if err != nil {
				t.Fatalf("first tab's panel: %v\n%s", err, inst.log.String())
			}
			err = chromedp.Do(second,
				waitJS(t, "the second tab's count empties too", count+` === ""`),
				// A phone: the panel spans the screen under the top bar.
				chromedp.EmulateViewport(390, 844),
				chromedp.Navigate(base+"/contacts/"),
				waitJS(t, "the stream is open again", connected),
				chromedp.Click(sel("bell")),
				chromedp.WaitVisible(sel("bell-panel")),
				waitText(t, sel("bell-list"), "ООО «Ромашка»"),
				evalTrue(t, "the panel fits the phone's width", `(() => { const r = document.querySelector('[data-testid="bell-panel"]').getBoundingClientRect();
					return r.left >= 0 && r.right <= window.innerWidth && r.top >= document.querySelector('.topbar').getBoundingClientRect().bottom; })()`),
				evalTrue(t, "the page does not scroll sideways", `document.documentElement.scrollWidth <= window.innerWidth`),
				shot(t, "2-phone-panel"),
				checkA11y(t, "the contacts page on a phone with the bell's panel open"),
			)
			if err != nil {
				t.Fatalf("second tab after read-all: %v\n%s", err, inst.log.String())
			}
		})
	}
}
