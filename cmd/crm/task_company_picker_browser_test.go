package main

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserTaskCompanyPicker chooses the task's company in the form's
// search box with the keyboard only: type part of the name, arrows to the
// company, Enter (which chooses, not submits); the contact select fills
// with that company's contacts; Esc puts back the chosen name over stray
// typing; the saved task has the company and the contact. axe-core checks
// the form with the list open; the list is looked at 1366 and 390 px wide.
func TestBrowserTaskCompanyPicker(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			axeSource(t)
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			base := inst.URL
			input := `document.querySelector('[data-testid="company-picker-input"]')`
			active := `(() => { const i = ` + input + `; const o = document.getElementById(i.getAttribute('aria-activedescendant') || '');
				return o ? o.dataset.name : ''; })()`
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(1366, 900),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/tasks/"),
				chromedp.WaitVisible(sel("brand")),
				evalAwait(t, "two companies and a contact are made through the API", `(async () => {
					const post = (path, body) => fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)}).then(r => r.json());
					const a = await post("/api/companies/", {name: "Ромашково", inn: "7707083893"});
					const b = await post("/api/companies/", {name: "Ромашка"});
					const p = await post("/api/contacts/", {company: b.id, last_name: "Петров", first_name: "Пётр"});
					sessionStorage.setItem("want", JSON.stringify({company: b.id, contact: p.id}));
					return !!a.id && !!p.id;
				})()`),
				chromedp.Navigate(base+"/tasks/new"),
				chromedp.WaitVisible(sel("company-picker-input")),
				evalTrue(t, "the select became a labelled combobox with a hidden field", `(() => { const i = `+input+`;
					const l = document.querySelector('label[for="' + i.id + '"]');
					return !document.querySelector('select[name="company"]') && i.getAttribute('role') === 'combobox' &&
						i.getAttribute('aria-expanded') === 'false' && !!l && l.textContent.includes('Компания') &&
						document.querySelector('input[type="hidden"][name="company"]').value === ''; })()`),
				chromedp.SetValue(chromedp.CSS("#f-title"), "Позвонить в Ромашку"),
				chromedp.SetValue(chromedp.CSS("#f-due_date"), "2030-01-07"),
				chromedp.SetValue(chromedp.CSS("#f-due_time"), "10:00"),
				chromedp.Click(sel("company-picker-input")),
				chromedp.SendKeys(sel("company-picker-input"), "ромаш"),
				waitJS(t, "both companies are offered and the list is open", `document.querySelectorAll('[data-testid="company-picker-option"]').length === 2 &&
					`+input+`.getAttribute('aria-expanded') === 'true'`),
				waitText(t, sel("company-picker-list"), "ИНН 7707083893"),
				chromedp.KeyEvent(kb.ArrowDown),
				waitJS(t, "ArrowDown makes the first option active", `(`+active+`) !== ''`),
				checkA11y(t, "task form with the company list open"),
				shot(t, "1-list"),
				// Down again and back up; then on to «Ромашка», wherever the search put it.
				chromedp.KeyEvent(kb.ArrowDown),
				chromedp.KeyEvent(kb.ArrowUp),
				chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
					for range 3 {
						name, err := chromedp.Evaluate[string](active)(ctx, target)
						if err != nil || name == "Ромашка" {
							return err
						}
						if _, err := chromedp.KeyEvent(kb.ArrowDown)(ctx, target); err != nil {
							return err
						}
					}
					return nil
				}),
				waitJS(t, "«Ромашка» is the active option", `(`+active+`) === 'Ромашка'`),
				chromedp.KeyEvent(kb.Enter),
				waitJS(t, "Enter chose the company without submitting the form", `(() => {
					const want = JSON.parse(sessionStorage.getItem("want"));
					return `+input+`.value === 'Ромашка' && `+input+`.getAttribute('aria-expanded') === 'false' &&
						document.querySelector('input[type="hidden"][name="company"]').value === String(want.company) &&
						!!document.querySelector('[data-testid="task-form"]'); })()`),
				waitJS(t, "the contact select offers the company's contact", `Array.from(document.querySelectorAll('select[name="contact"] option')).some(o => o.textContent.includes("Петров"))`),
				// Stray typing that finds nothing: Esc puts the chosen name back.
				chromedp.SendKeys(sel("company-picker-input"), "яя"),
				waitJS(t, "nothing is found", `document.querySelector('.combo [role="status"]').textContent.includes('Ничего не найдено')`),
				chromedp.KeyEvent(kb.Escape),
				waitJS(t, "Esc restored the chosen company", input+`.value === 'Ромашка'`),
				evalTrue(t, "the contact is chosen", `(() => { const s = document.querySelector('select[name="contact"]');
					s.value = Array.from(s.options).find(o => o.textContent.includes("Петров")).value; return s.value !== ''; })()`),
				shot(t, "2-chosen"),
				chromedp.Click(sel("task-save")),
				waitText(t, sel("page-title"), "Позвонить в Ромашку"),
				waitText(t, sel("task-company"), "Ромашка"),
				evalAwait(t, "the saved task has the company and the contact", `(async () => {
					const want = JSON.parse(sessionStorage.getItem("want"));
					const t = await fetch(location.pathname.replace("/tasks/", "/api/tasks/"), {headers: {Accept: "application/json"}}).then(r => r.json());
					return t.company === want.company && t.contact === want.contact;
				})()`),
				// Editing the task: the box shows the company it has.
				chromedp.Click(sel("task-edit")),
				chromedp.WaitVisible(sel("company-picker-input")),
				waitJS(t, "the edit form's box holds the company", input+`.value === 'Ромашка' &&
					document.querySelector('input[type="hidden"][name="company"]').value === String(JSON.parse(sessionStorage.getItem("want")).company)`),
			)
			if err != nil {
				t.Fatalf("company picker: %v\nserver log:\n%s", err, inst.log.String())
			}
			phone := browser(t, 390, 844)
			err = chromedp.Do(phone,
				chromedp.EmulateViewport(390, 844),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/tasks/new"),
				chromedp.WaitVisible(sel("company-picker-input")),
				chromedp.ScrollIntoView(sel("company-picker-input")),
				chromedp.Click(sel("company-picker-input")),
				chromedp.SendKeys(sel("company-picker-input"), "ром"),
				waitJS(t, "the list is open", input+`.getAttribute('aria-expanded') === 'true'`),
				evalTrue(t, "nothing runs past the screen", `document.documentElement.scrollWidth <= 390`),
				shot(t, "3-list-390"),
			)
			if err != nil {
				t.Fatalf("phone picker: %v", err)
			}
		})
	}
}
