package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// apiPost sends a JSON POST to the instance as the bearer of token and
// decodes the answer into out.
func apiPost(t *testing.T, inst *instance, token, path string, body, out any) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, inst.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: status %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserCommandPalette drives the Ctrl+K palette in headless Chromium
// on the real binary: the shortcut opens an accessible dialog, typing
// suggests companies and contacts with why each was found, the arrows
// choose, Enter opens the card; Esc closes and gives focus back; «/»
// opens it too.
func TestBrowserCommandPalette(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := browser(t, 1280, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			var tokens struct{ Access string }
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &tokens)
			var first, second struct{ ID int64 }
			apiPost(t, inst, tokens.Access, "/api/companies/", map[string]any{"name": "ООО «Ромашка»", "inn": "7707083893"}, &first)
			apiPost(t, inst, tokens.Access, "/api/companies/", map[string]any{"name": "Ромашка-Сервис"}, &second)
			var person struct{ ID int64 }
			apiPost(t, inst, tokens.Access, "/api/contacts/", map[string]any{"last_name": "Ромашин", "first_name": "Пётр", "company": first.ID}, &person)
			base := inst.URL
			ctrlK := chromedp.KeyEvent("k", chromedp.KeyModifiers(chromedp.ModifierCtrl))
			isOpen := `document.querySelector('[data-testid="palette"]').open`

			err := chromedp.Do(ctx,
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/companies/"),
				chromedp.WaitVisible(sel("brand")),
				chromedp.Focus(sel("brand")),
				ctrlK,
				waitJS(t, "Ctrl+K opens the palette", isOpen),
				waitJS(t, "the box has focus", `document.activeElement === document.querySelector('[data-testid="palette-input"]')`),
				waitJS(t, "the dialog is modal and labelled", `(() => { const d = document.querySelector('[data-testid="palette"]');
					return d.getAttribute('role') === 'dialog' && d.getAttribute('aria-modal') === 'true' && !!document.getElementById(d.getAttribute('aria-labelledby')); })()`),
				chromedp.SendKeys(sel("palette-input"), "ромаш"),
				waitJS(t, "two companies, a contact and the «all» links are suggested",
					`document.querySelectorAll('[data-testid="palette-option"]').length === 3 && document.querySelectorAll('[data-testid="palette-all"]').length === 2`),
				waitText(t, sel("palette-list"), "Ромашка-Сервис"),
				waitText(t, sel("palette-list"), "Ромашин Пётр"),
				waitText(t, sel("palette-match"), "Найдено: название"),
				waitJS(t, "the combobox says the list is open", `document.querySelector('[data-testid="palette-input"]').getAttribute('aria-expanded') === 'true'`),
				shot(t, "1-suggestions"),
				chromedp.KeyEvent(kb.ArrowDown),
				waitJS(t, "the first option is active", `(() => { const i = document.querySelector('[data-testid="palette-input"]');
					const o = document.getElementById(i.getAttribute('aria-activedescendant'));
					return !!o && o.getAttribute('aria-selected') === 'true' && o.textContent.includes('Ромашка'); })()`),
				shot(t, "2-first-chosen"),

				// Esc closes; focus goes back to the link that had it.
				chromedp.KeyEvent(kb.Escape),
				waitJS(t, "Esc closes the palette", "!"+isOpen),
				waitJS(t, "focus is back on the opener", `document.activeElement === document.querySelector('[data-testid="brand"]')`),

				// «/» opens it again, with what was typed; arrows and Enter open the card.
				chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
					_, err := chromedp.Evaluate[bool](`(document.activeElement.blur(), true)`)(ctx, target)
					return err
				}),
				chromedp.KeyEvent("/"),
				waitJS(t, "«/» opens the palette", isOpen),
				waitJS(t, "the suggestions are still there", `document.querySelectorAll('[data-testid="palette-option"]').length === 3`),
				chromedp.KeyEvent(kb.ArrowDown),
				chromedp.KeyEvent(kb.ArrowDown),
				chromedp.KeyEvent(kb.ArrowUp),
				waitJS(t, "the first option is active again", `document.querySelector('[aria-selected="true"]').textContent.includes('ООО «Ромашка»')`),
				chromedp.KeyEvent(kb.Enter),
				waitText(t, sel("company-inn"), "7707083893"),
				shot(t, "3-card"),
			)
			if err != nil {
				t.Fatalf("palette flow: %v\nserver log:\n%s", err, inst.log.String())
			}
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			if want := base + "/companies/" + strconv.FormatInt(first.ID, 10) + "/"; loc != want {
				t.Fatalf("landed on %s, want %s", loc, want)
			}
		})
	}
}
