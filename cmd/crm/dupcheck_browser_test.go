package main

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// dupItem is the panel's entry for the seeded «Ромашка».
const dupItem = `[data-testid="dup-panel"] [data-testid="dup-item"]`

// dupChip is true when the panel shows a reason chip of the given field.
func dupChip(field string) string {
	return `!!document.querySelector('[data-testid="dup-panel"] [data-testid="dup-reason"][data-field="` + field + `"]')`
}

// TestBrowserDuplicateCheck types a company that already exists into the
// form on the real binary: the panel beside the fields lists it with the
// «Название» chip while the name is typed and the «ИНН» chip once the ИНН
// is, without a reload; saving asks for «Всё равно создать», which creates
// it and leaves an audit entry; the new company's edit form offers
// «Объединить» with the first, which merges them and undoes the merge
// from the survivor's card. On the phone, an answer that arrives after
// a newer question is dropped. axe-core checks the form with the panel
// open and the confirmation; screenshots at 1366 and 390 px; the time from
// the last keystroke to the panel is logged.
func TestBrowserDuplicateCheck(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			axeSource(t)
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			base := inst.URL
			var firstID, secondID, shownAfter float64
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(1366, 900),
				signIn(t, base, "anna", "Ромашка-2026!"),
				evalAwait(t, "«Ромашка» is made through the API", `(async () => {
					const r = await fetch("/api/companies/", {method: "POST", headers: {"Content-Type": "application/json"},
						body: JSON.stringify({name: 'ООО "Ромашка"', inn: "7707083893", address: "г. Москва, ул. Ленина, д. 1"})});
					return r.status === 201;
				})()`),
				awaitNumber(`fetch("/api/companies/?search=7707083893").then(r => r.json()).then(b => b.results[0].id)`, &firstID),

				chromedp.Navigate(base+"/companies/new"),
				chromedp.WaitVisible(sel("company-form")),
				evalTrue(t, "the panel is empty before typing", `document.querySelector('[data-testid="dup-panel"]').childElementCount === 0`),
				evalTrue(t, "the panel is a polite live region", `document.querySelector('[data-testid="dup-panel"]').getAttribute("aria-live") === "polite"`),
				// Timestamps of the last keystroke and of the panel's updates.
				evalTrue(t, "the timing hooks are set", `(() => {
					window.dupKey = 0; window.dupShown = [];
					document.querySelector("#f-name").addEventListener("input", () => { window.dupKey = performance.now(); });
					new MutationObserver(() => window.dupShown.push(performance.now()))
						.observe(document.querySelector('[data-testid="dup-panel"]'), {childList: true});
					return true; })()`),
				chromedp.SendKeys(chromedp.CSS("#f-name"), "Ромашка"),
				waitText(t, chromedp.CSS(dupItem+` [data-testid="dup-name"]`), "Ромашка"),
				waitJS(t, "the name chip", dupChip("name")),
				evalNumber(`window.dupShown.find(x => x > window.dupKey) - window.dupKey`, &shownAfter),
				waitText(t, chromedp.CSS(dupItem+` [data-testid="dup-score"]`), "%"),
				waitJS(t, "the page was not reloaded", `performance.getEntriesByType("navigation").length === 1 && document.querySelector("#f-name").value === "Ромашка"`),
				chromedp.SendKeys(chromedp.CSS("#f-inn"), "7707083893"),
				waitJS(t, "the ИНН chip", dupChip("inn")),
				evalTrue(t, "the panel is in the Tab order", `document.querySelector('[data-testid="dup-panel"] section').tabIndex === 0`),
				evalTrue(t, "the panel lists the match once", `document.querySelectorAll('`+dupItem+`').length === 1`),
				evalTrue(t, "the name links to the card", `/^\/companies\/\d+\/$/.test(document.querySelector('`+dupItem+` a[data-testid="dup-name"]').getAttribute("href"))`),
				evalTrue(t, "the panel sits beside the fields", `(() => {
					const p = document.querySelector('[data-testid="dup-panel"]').getBoundingClientRect();
					const f = document.querySelector('[data-testid="field-name"]').getBoundingClientRect();
					return p.left >= f.right && p.top < f.bottom + 200; })()`),
				evalTrue(t, "nothing runs past the screen", noSideScroll),
				shot(t, "1-panel-1366"),
				checkA11y(t, "company form with the panel"),

				chromedp.Click(sel("company-save")),
				waitText(t, sel("dup-confirm"), "Похоже, такая компания уже есть"),
				waitText(t, sel("dup-confirm"), "Ромашка"),
				waitText(t, sel("dup-confirm"), "ИНН"),
				evalTrue(t, "what was typed is kept", `document.querySelector("#f-name").value === "Ромашка" && document.querySelector("#f-inn").value === "7707083893"`),
				evalTrue(t, "Enter still sends the plain «Создать», not the confirmation", `document.querySelector('[data-testid="company-form"] [type="submit"]').dataset.testid === "company-save"`),
				shot(t, "2-confirm-1366"),
				checkA11y(t, "duplicate confirmation"),

				chromedp.Click(sel("dup-confirm-save")),
				waitText(t, sel("page-title"), "Ромашка"),
				waitText(t, sel("company-inn"), "7707083893"),
				evalNumber(`+location.pathname.split("/")[2]`, &secondID),
			)
			if err != nil {
				t.Fatalf("duplicate flow: %v\nserver log:\n%s", err, inst.log.String())
			}
			// A figure, not an assertion: 150 ms of debounce plus the answer.
			t.Logf("the panel showed the match %.0f ms after the last keystroke", shownAfter)
			if secondID == 0 || secondID == firstID {
				t.Fatalf("the confirmed company is %v, the first %v", secondID, firstID)
			}
			second := strconvID(secondID)
			err = chromedp.Do(ctx,
				evalAwait(t, "the confirmation is in the audit log", `fetch("/api/audit/?object_type=company&object_id=`+second+`").then(r => r.json())
					.then(b => b.results.some(e => JSON.stringify(e.detail || {}).includes("duplicate")))`),

				// The edit form checks at once and offers to merge the two.
				chromedp.Navigate(base+"/companies/"+second+"/edit"),
				chromedp.WaitVisible(sel("company-form")),
				waitText(t, chromedp.CSS(dupItem+` [data-testid="dup-name"]`), "Ромашка"),
				waitJS(t, "«Объединить» opens the merge page for the two", `(() => {
					const a = document.querySelector('`+dupItem+` [data-testid="dup-merge"]');
					return !!a && a.getAttribute("href") === "/companies/`+second+`/merge/?with=`+strconvID(firstID)+`"; })()`),
				evalTrue(t, "the company itself is not its own duplicate", `Array.from(document.querySelectorAll('`+dupItem+`')).every(e => e.dataset.id !== "`+second+`")`),
				shot(t, "5-edit-1366"),
				checkA11y(t, "edit form with the panel"),

				// The whole path: from the panel to the merge, and back.
				chromedp.Click(chromedp.CSS(dupItem+` [data-testid="dup-merge"]`)),
				chromedp.WaitVisible(sel("merge-submit")),
				chromedp.Click(sel("merge-submit")),
				waitText(t, sel("toasts"), "Компании объединены"),
				waitJS(t, "the survivor's card", `location.pathname === "/companies/`+second+`/"`),
				chromedp.WaitVisible(sel("merge-notice")),
				chromedp.Navigate(base+"/companies/"+strconvID(firstID)+"/"),
				waitJS(t, "the absorbed company's link opens the survivor", `location.pathname === "/companies/`+second+`/"`),
				chromedp.Click(sel("merge-undo")),
				chromedp.WaitVisible(sel("confirm-dialog")),
				chromedp.Click(sel("confirm-ok")),
				waitText(t, sel("toasts"), "Объединение отменено"),
				waitJS(t, "the notice is gone", `!document.querySelector('[data-testid="merge-notice"]')`),
				chromedp.Navigate(base+"/companies/"+strconvID(firstID)+"/"),
				waitJS(t, "the first company is back on its own", `location.pathname === "/companies/`+strconvID(firstID)+`/"`),
			)
			if err != nil {
				t.Fatalf("edit form: %v\nserver log:\n%s", err, inst.log.String())
			}

			phone := browser(t, 390, 844)
			err = chromedp.Do(phone,
				chromedp.EmulateViewport(390, 844),
				waitJS(t, "the viewport is 390 px wide", "window.innerWidth === 390"),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/companies/new"),
				chromedp.WaitVisible(sel("company-form")),
				chromedp.SendKeys(chromedp.CSS("#f-name"), "Ромашка"),
				waitJS(t, "the name chip", dupChip("name")),

				// An answer that comes late, after a newer question, is dropped:
				// the question about «Зета» is held back 1.5 s (and deaf to abort).
				evalTrue(t, "fetch holds back the question about «Зета»", `(() => {
					const orig = window.fetch;
					window.dupSlow = 0;
					window.fetch = (url, opts) => {
						if (decodeURIComponent(String(url)).includes("name=Зета")) {
							window.dupSlow++;
							const {signal, ...rest} = opts || {};
							return new Promise(res => setTimeout(() => res(orig(url, rest)), 1500)).then(r => {
								const json = r.json.bind(r);
								r.json = () => json().then(b => { window.dupLateDone = true; return b; });
								return r;
							});
						}
						return orig(url, opts);
					};
					const f = document.querySelector("#f-name");
					const type = v => { f.value = v; f.dispatchEvent(new Event("input", {bubbles: true})); };
					type("Зета");
					setTimeout(() => type("Ромашка"), 400);
					return true; })()`),
				waitJS(t, "the slow question was asked", `window.dupSlow === 1`),
				waitJS(t, "the late answer has arrived", `window.dupLateDone === true`),
				evalTrue(t, "the panel still answers «Ромашка»", `!!document.querySelector('`+dupItem+`') && `+dupChip("name")),
				evalTrue(t, "the panel is below the fields", `document.querySelector('[data-testid="dup-panel"]').getBoundingClientRect().top >= document.querySelector('[data-testid="field-website"]').getBoundingClientRect().bottom`),
				evalTrue(t, "nothing runs past the screen", noSideScroll),
				chromedp.ScrollIntoView(sel("dup-panel")),
				shot(t, "3-panel-390"),
				checkA11y(t, "company form with the panel 390"),
				chromedp.Click(sel("company-save")),
				waitText(t, sel("dup-confirm"), "Похоже, такая компания уже есть"),
				evalTrue(t, "the confirmation fits the screen", noSideScroll),
				shot(t, "4-confirm-390"),
				checkA11y(t, "duplicate confirmation 390"),
			)
			if err != nil {
				t.Fatalf("phone: %v\nserver log:\n%s", err, inst.log.String())
			}
		})
	}
}

// strconvID writes an id read from the page as a number.
func strconvID(id float64) string { return strconv.Itoa(int(id)) }

// awaitNumber reads into n the number a JavaScript promise resolves to.
func awaitNumber(expr string, n *float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		v, err := chromedp.Evaluate[float64](expr, chromedp.EvalAwaitPromise)(ctx, target)
		*n = v
		return err
	})
}
