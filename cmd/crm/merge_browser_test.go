package main

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMergeAndUndo walks a merge on the real binary in headless
// Chromium: from the card's «Объединить с…» (the picker suggests the
// duplicate while typing), the side-by-side page (axe-clean, stacked on a
// phone), a field taken from the duplicate and e-mails not united; the
// survivor's card says what was merged, the duplicate's old link leads
// there, and «Отменить объединение» brings both companies back.
func TestBrowserMergeAndUndo(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			axeSource(t)
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			var tokens struct{ Access string }
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &tokens)
			var surv, dup struct{ ID int64 }
			apiPost(t, inst, tokens.Access, "/api/companies/", map[string]any{"name": "ООО «Ромашка»", "inn": "7707083893",
				"phones": []string{"+7 495 123-45-67"}, "emails": []string{"info@romashka.ru"}}, &surv)
			apiPost(t, inst, tokens.Access, "/api/companies/", map[string]any{"name": "Ромашка-Сервис", "address": "Москва, ул. Ленина, 1",
				"phones": []string{"8 (916) 000-00-01"}, "emails": []string{"service@romashka.ru"}}, &dup)
			var person, note struct{ ID int64 }
			apiPost(t, inst, tokens.Access, "/api/contacts/", map[string]any{"last_name": "Ромашин", "first_name": "Пётр", "company": dup.ID}, &person)
			apiPost(t, inst, tokens.Access, "/api/company-notes/", map[string]any{"company": dup.ID, "text": "Звонили из сервиса"}, &note)
			base := inst.URL
			card := base + "/companies/" + strconv.FormatInt(surv.ID, 10) + "/"
			dupID := strconv.FormatInt(dup.ID, 10)

			err := chromedp.Do(ctx,
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(card),
				chromedp.Click(sel("merge-open")),
				chromedp.WaitVisible(sel("merge-with")),
				chromedp.SendKeys(sel("merge-with"), "Сервис"),
				waitJS(t, "the picker suggests the duplicate by its number",
					`Array.from(document.querySelectorAll("#merge-with-list option")).some(o => o.value === "`+dupID+`" && o.label.includes("Ромашка-Сервис"))`),
				shot(t, "merge-1-picker"),
				chromedp.SetValue(sel("merge-with"), dupID),
				chromedp.Click(sel("merge-go")),
				chromedp.WaitVisible(sel("merge-table")),
				waitText(t, sel("merge-moves"), "1 контакт, 1 заметка, 0 задач"),
				waitJS(t, "the survivor's empty address starts on the duplicate's side",
					`document.querySelector('[data-testid="merge-address-duplicate"]').checked`),
				waitJS(t, "united lists disable their radios", `document.querySelector('[data-testid="merge-phones-survivor"]').disabled`),
				shot(t, "merge-2-page-1366"),
				checkA11y(t, "merge page"),

				// The duplicate's name stays; e-mails are chosen, not united.
				chromedp.Click(sel("merge-name-duplicate")),
				chromedp.Click(sel("merge-union-emails")),
				waitJS(t, "e-mails can be chosen again", `!document.querySelector('[data-testid="merge-emails-survivor"]').disabled`),
				chromedp.Click(sel("merge-submit")),
				waitText(t, sel("page-title"), "Ромашка-Сервис"),
				waitText(t, sel("toasts"), "Компании объединены"),
				waitText(t, sel("merge-notice"), "Объединена с «Ромашка-Сервис»"),
				waitText(t, sel("company-phones"), "916"),
				waitText(t, sel("company-emails"), "info@romashka.ru"),
				waitJS(t, "the duplicate's e-mail was not kept", `!document.querySelector('[data-testid="company-emails"]').textContent.includes("service@")`),
				waitJS(t, "the contact and the note moved", `document.body.textContent.includes("Ромашин") && document.body.textContent.includes("Звонили из сервиса")`),
				shot(t, "merge-3-survivor"),
				checkA11y(t, "the survivor's card"),

				// The duplicate's old link leads to the survivor.
				chromedp.Navigate(base+"/companies/"+dupID+"/"),
				waitJS(t, "the old link opens the survivor", `location.pathname === "/companies/`+strconv.FormatInt(surv.ID, 10)+`/"`),
				waitText(t, sel("toasts"), "объединена с"),

				// Undo: both come back.
				chromedp.Click(sel("merge-undo")),
				chromedp.WaitVisible(sel("confirm-dialog")),
				shot(t, "merge-4-undo-confirm"),
				chromedp.Click(sel("confirm-ok")),
				waitText(t, sel("toasts"), "Объединение отменено"),
				waitText(t, sel("page-title"), "ООО «Ромашка»"),
				waitJS(t, "the notice is gone", `!document.querySelector('[data-testid="merge-notice"]')`),
				waitJS(t, "the contact went back", `!document.body.textContent.includes("Ромашин")`),
				chromedp.Navigate(base+"/companies/"+dupID+"/"),
				waitText(t, sel("page-title"), "Ромашка-Сервис"),
				waitJS(t, "the duplicate has its contact again", `document.body.textContent.includes("Ромашин")`),
				shot(t, "merge-5-undone"),
			)
			if err != nil {
				t.Fatalf("merge: %v\nserver log:\n%s", err, inst.log.String())
			}

			phone := browser(t, 390, 844)
			err = chromedp.Do(phone,
				chromedp.EmulateViewport(390, 844),
				waitJS(t, "the viewport is 390 px wide", "window.innerWidth === 390"),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(card),
				chromedp.Click(sel("merge-open")),
				chromedp.WaitVisible(sel("merge-with")),
				waitJS(t, "the picker fits the phone", `document.querySelector(".merge-entry-form").getBoundingClientRect().right <= window.innerWidth`),
				shot(t, "merge-6-picker-390"),
				chromedp.Navigate(base+"/companies/"+strconv.FormatInt(surv.ID, 10)+"/merge/?with="+dupID),
				chromedp.WaitVisible(sel("merge-table")),
				waitJS(t, "no sideways scrolling on a phone", noSideScroll),
				waitJS(t, "the two values stack", `(() => { const r = document.querySelector('[data-testid="merge-row-name"]');
					const c = r.querySelectorAll("td"); return c[1].getBoundingClientRect().top > c[0].getBoundingClientRect().top; })()`),
				shot(t, "merge-7-page-390"),
				checkA11y(t, "merge page on a phone"),
			)
			if err != nil {
				t.Fatalf("phone: %v\nserver log:\n%s", err, inst.log.String())
			}
		})
	}
}
