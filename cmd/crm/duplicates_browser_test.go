package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDuplicatesScan: an admin opens «Дубли» from the admin
// section, runs «Проверить всю базу», watches the bar finish and finds the
// groups (a branch of one ИНН; a shared phone and e-mail), with their
// reason chips and score; «Не дубль» removes a group for good. The page
// passes axe, and on a phone its groups stack without sideways scrolling.
func TestBrowserDuplicatesScan(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			var anna struct{ Access string }
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &anna)
			for _, c := range []map[string]any{
				{"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "770701001", "address": "Москва, Тверская ул., д. 1"},
				{"name": "Ромашка, филиал на Неве", "inn": "7707083893", "kpp": "781001001", "address": "Санкт-Петербург, Невский пр., д. 10"},
				{"name": "Василёк", "phones": []string{"+7 495 111-22-33"}, "emails": []string{"info@vasilek.ru"}},
				{"name": "ИП Кузнецов", "phones": []string{"8 (495) 111-22-33"}, "emails": []string{"INFO@vasilek.ru"}},
				{"name": "Лютик", "inn": "7736207543"},
			} {
				var out struct{ ID int64 }
				apiPost(t, inst, anna.Access, "/api/companies/", c, &out)
			}
			base := inst.URL
			groups := `document.querySelectorAll('[data-testid="dup-group"]').length`
			finished := `(() => { const b = document.querySelector('[data-testid="dup-scan-progress"]');
				return !window.crmTestOldPage && !!b && b.dataset.state === "done" && b.dataset.dupScanActive === "false"; })()`
			err := chromedp.Do(ctx,
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/admin/"),
				chromedp.Click(sel("admin-duplicates-link")),
				waitText(t, sel("page-title"), "Дубли"),
				chromedp.Click(sel("dup-scan")),
				chromedp.WaitVisible(sel("dup-scan-progress")),
				// The page that shows the finished scan is the one rendered
				// after it (the running page reloads): the re-check that
				// runs at start may have listed the groups already.
				waitJS(t, "the bar finishes", finished),
				waitJS(t, "the groups are listed", groups+` === 2`),
				waitText(t, sel("dup-scan-progress"), "готово"),
				waitJS(t, "the finished bar is full", `(() => { const b = document.querySelector('[data-testid="dup-scan-progress"]');
					return b.querySelector('.live-progress-fill').getBoundingClientRect().width >= b.querySelector('.live-progress-track').getBoundingClientRect().width - 1; })()`),
				waitText(t, sel("dup-summary"), "Групп: 2"),
				evalTrue(t, "the branch is explained", `[...document.querySelectorAll('[data-testid="dup-chip"]')].some(c => c.textContent.includes("вероятно, филиал"))`),
				evalTrue(t, "the shared phone is a chip", `[...document.querySelectorAll('[data-testid="dup-chip"]')].some(c => c.textContent === "общий телефон")`),
				evalTrue(t, "the merge link opens the merge page of the pair", `/^\/companies\/\d+\/merge\/\?with=\d+$/.test(new URL(document.querySelector('[data-testid="dup-merge"]').href).pathname + new URL(document.querySelector('[data-testid="dup-merge"]').href).search)`),
				evalTrue(t, "the page does not scroll sideways", `document.documentElement.scrollWidth <= window.innerWidth`),
				shot(t, "1-groups"),
				checkA11y(t, "the duplicates page with its groups"),
				chromedp.Click(sel("dup-dismiss")),
				waitJS(t, "«Не дубль» removes the group", groups+` === 1`),
				waitText(t, sel("dup-summary"), "Групп: 1"),
				chromedp.Reload(),
				waitJS(t, "and it stays removed", groups+` === 1`),
				// A phone: groups and pairs stack.
				chromedp.EmulateViewport(390, 844),
				chromedp.Reload(),
				chromedp.WaitVisible(sel("dup-group")),
				evalTrue(t, "the phone page does not scroll sideways", `document.documentElement.scrollWidth <= window.innerWidth`),
				evalTrue(t, "the actions are big enough to tap", `[...document.querySelectorAll('[data-testid="dup-dismiss"], [data-testid="dup-merge"]')].every(b => b.getBoundingClientRect().height >= 44)`),
				shot(t, "2-phone"),
				checkA11y(t, "the duplicates page on a phone"),
				// Another scan shows the one running, or the finished one.
				evalTrue(t, "the page before the scan is marked", `(window.crmTestOldPage = true)`),
				chromedp.Click(sel("dup-scan")),
				waitJS(t, "the second scan finishes too", finished),
				waitJS(t, "the dismissed pair stays dismissed after a scan", groups+` === 1`),
			)
			if err != nil {
				t.Fatalf("duplicates page: %v\n%s", err, inst.log.String())
			}
		})
	}
}
