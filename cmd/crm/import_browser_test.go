package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserImportFromAmo: an admin opens «Импорт из amoCRM» from the
// admin section, uploads the fixture for a dry run, watches the bar
// finish (the live stream reloads the page), reads the report and filters
// it, then imports the same upload for real with one button, and the
// companies are in the list. The page with its report passes axe at 1366
// and at 390 px, where the rows become cards. A manager gets 403 on the
// page and the API, and both attempts are in the audit log.
func TestBrowserImportFromAmo(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			var anna struct{ Access string }
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &anna)
			var boris struct{ ID int64 }
			apiPost(t, inst, anna.Access, "/api/users/", map[string]any{"username": "boris", "password": "Ромашка-2026!",
				"first_name": "Борис", "last_name": "Бородин", "role": "manager"}, &boris)
			tr := readTruth(t, "amo_small.csv")
			base := inst.URL
			rows := `document.querySelectorAll('[data-testid="import-row"]')`
			err := chromedp.Do(ctx,
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/admin/"),
				chromedp.Click(sel("admin-imports-link")),
				waitText(t, sel("page-title"), "Импорт из amoCRM"),
				evalTrue(t, "a dry run is the default", `document.querySelector('[data-testid="import-mode-dry"]').checked`),
				shot(t, "1-form"),
				checkA11y(t, "the import page before the first import"),
				chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{fixturePath("amo_small.csv")}),
				chromedp.Click(sel("import-submit")),
				// The page of the import: its bar, then (reloaded by the
				// stream when the run ends) the report.
				chromedp.WaitVisible(sel("import-state")),
				waitJS(t, "the dry run finishes and the report shows", `!!document.querySelector('[data-testid="import-totals"]')`),
				waitText(t, sel("import-dry-note"), "ничего не записано"),
				waitText(t, sel("import-total-create"), "Будет создано"),
				evalTrue(t, "the unknown responsible users are listed with counts", `document.querySelectorAll('[data-testid="import-unknown-value"]').length > 0`),
				evalTrue(t, "the unknown columns are listed", `document.querySelectorAll('[data-testid="import-unknown-column"]').length > 0`),
				evalTrue(t, "the rows are listed", rows+`.length > 0`),
				evalTrue(t, "the page does not scroll sideways", `document.documentElement.scrollWidth <= window.innerWidth`),
				shot(t, "2-dry-run-report"),
				checkA11y(t, "the report of a dry run"),
				chromedp.Click(sel("import-filter-skip")),
				waitJS(t, "the filter shows the skipped rows only", rows+`.length > 0 && [...`+rows+`].every(r => r.dataset.action === "skip")`),
				evalTrue(t, "the filter is marked current", `document.querySelector('[data-testid="import-filter-skip"]').getAttribute("aria-current") === "page"`),
				shot(t, "3-skipped"),
				// The same upload, for real.
				chromedp.Click(sel("import-run")),
				waitJS(t, "the import finishes", `!!document.querySelector('[data-testid="import-done-note"]')`),
				waitText(t, sel("import-total-create"), "Создано"),
				// Waited for, not read once: the live stream may reload the
				// page as the run's last event arrives after its first render.
				waitJS(t, "created rows link to their company or contact", `document.querySelectorAll('[data-testid="import-row-link"]').length > 0`),
				shot(t, "4-imported"),
				checkA11y(t, "the report of an import"),
				// A phone: the rows become cards.
				chromedp.EmulateViewport(390, 844),
				chromedp.Reload(),
				chromedp.WaitVisible(sel("import-report")),
				evalTrue(t, "the phone page does not scroll sideways", `document.documentElement.scrollWidth <= window.innerWidth`),
				shot(t, "5-phone"),
				checkA11y(t, "the report on a phone"),
				chromedp.EmulateViewport(1366, 900),
				chromedp.Navigate(base+"/companies/"),
				waitJS(t, "the companies are in the list", `document.querySelectorAll('[data-testid="company-row"], tbody tr').length > 0`),
				shot(t, "6-companies"),
			)
			if err != nil {
				t.Fatalf("import page: %v\n%s", err, inst.log.String())
			}
			var companies struct{ Count int }
			apiGet(t, inst, anna.Access, "/api/companies/", &companies)
			if companies.Count != tr.Expected.CompaniesPlusOrphanRefs {
				t.Errorf("companies after the import: %d, truth %d", companies.Count, tr.Expected.CompaniesPlusOrphanRefs)
			}

			// A manager: refused on the page and the API, and audited.
			var b struct{ Access string }
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "boris", "password": "Ромашка-2026!"}, &b)
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/api/imports/", nil)
			req.Header.Set("Authorization", "Bearer "+b.Access)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("the manager's API call: %d", resp.StatusCode)
			}
			manager := browser(t, 1366, 900)
			err = chromedp.Do(manager,
				signIn(t, base, "boris", "Ромашка-2026!"),
				chromedp.Navigate(base+"/admin/imports/"),
				waitText(t, sel("error-title"), "Доступ запрещён"),
			)
			if err != nil {
				t.Fatalf("manager: %v", err)
			}
			var audit struct {
				Count   int `json:"count"`
				Results []struct {
					Outcome string `json:"outcome"`
					Actor   int64  `json:"actor"`
				} `json:"results"`
			}
			apiGet(t, inst, anna.Access, "/api/audit/?action=import.amo", &audit)
			denied := 0
			for _, e := range audit.Results {
				if e.Outcome == "denied" && e.Actor == boris.ID {
					denied++
				}
			}
			if denied != 2 {
				t.Errorf("the manager's refused attempts in the audit log: %d", denied)
			}
		})
	}
}
