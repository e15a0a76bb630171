package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserExport: an admin sees «Экспорт CSV» and «Экспорт XLSX» over
// the company list; with a filter the CSV streams at once and holds the
// filtered rows (a fetch of the button's link); without one the base is
// over the job threshold (CRM_EXPORT_JOB_ROWS=30), so the XLSX button
// leads to the job's page, whose bar the live stream fills and which
// then offers the file. The list and the job's page pass axe at 1366 and
// 390 px. A manager sees no buttons and gets 403 with the reason.
func TestBrowserExport(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			t.Setenv("CRM_EXPORT_JOB_ROWS", "30")
			t.Setenv("CRM_EXPORT_DIR", t.TempDir())
			ctx := browser(t, 1366, 900)
			inst := startCRM(t, newURL())
			inst.crm(t, "demo", "--companies", "40", "--contacts", "40", "--notes-per-company", "0")
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			var anna struct{ Access string }
			apiPost(t, inst, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &anna)
			apiPost(t, inst, anna.Access, "/api/users/", map[string]any{"username": "boris", "password": "Ромашка-2026!",
				"first_name": "Борис", "last_name": "Бородин", "role": "manager"}, &struct{ ID int64 }{})
			base := inst.URL
			// The filtered CSV, fetched as the browser would download it.
			fetchCSV := `fetch(document.querySelector('[data-testid="company-export-csv"]').href)
				.then(r => r.arrayBuffer().then(b => { const u = new Uint8Array(b); const t = new TextDecoder().decode(u);
					return r.status + "|" + r.headers.get("content-type") + "|" + (t.split("\r\n").filter(l => /^\d+;/.test(l)).length) + "|" + (u[0] === 0xEF && u[1] === 0xBB && u[2] === 0xBF); }))`
			var csvState, status string
			var listRows float64
			err := chromedp.Do(ctx,
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/companies/"),
				chromedp.WaitVisible(sel("company-export-csv")),
				// Filter by the first status: a few rows.
				evalString(`(() => { const o = [...document.querySelectorAll('select[name="status"] option')].find(o => o.value); return o ? o.value : ""; })()`, false, &status),
				chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
					_, err := chromedp.Navigate(base+"/companies/?ordering=-name&status="+status)(ctx, target)
					return err
				}),
				chromedp.WaitVisible(sel("company-export-csv")),
				evalTrue(t, "the XLSX button is there too", `!!document.querySelector('[data-testid="company-export-xlsx"]')`),
				evalTrue(t, "the buttons carry the list's filter", `document.querySelector('[data-testid="company-export-csv"]').href.includes("status=")`),
				evalNumber(`document.querySelectorAll('[data-testid="companies-table"] tbody tr').length`, &listRows),
				evalString(fetchCSV, true, &csvState),
				shot(t, "1-list"),
				checkA11y(t, "the company list with the export buttons"),
				chromedp.EmulateViewport(390, 844),
				chromedp.Reload(),
				chromedp.WaitVisible(sel("company-export-csv")),
				evalTrue(t, "the phone page does not scroll sideways", `document.documentElement.scrollWidth <= window.innerWidth`),
				shot(t, "2-list-phone"),
				checkA11y(t, "the company list with the export buttons on a phone"),
				chromedp.EmulateViewport(1366, 900),
				// The whole base: over the threshold, a job.
				chromedp.Navigate(base+"/companies/"),
				chromedp.WaitVisible(sel("company-export-xlsx")),
				chromedp.Click(sel("company-export-xlsx")),
				chromedp.WaitVisible(sel("export-state")),
				waitJS(t, "the job finishes and the page offers the file", `!!document.querySelector('[data-testid="export-download"]')`),
				waitText(t, sel("export-done"), "Файл готов"),
				shot(t, "3-job-done"),
				checkA11y(t, "the finished export job"),
				chromedp.EmulateViewport(390, 844),
				chromedp.Reload(),
				chromedp.WaitVisible(sel("export-download")),
				evalTrue(t, "the job page does not scroll sideways on a phone", `document.documentElement.scrollWidth <= window.innerWidth`),
				shot(t, "4-job-phone"),
				checkA11y(t, "the finished export job on a phone"),
			)
			if err != nil {
				t.Fatalf("export as an admin: %v\n%s", err, inst.log.String())
			}
			parts := strings.Split(csvState, "|")
			if len(parts) != 4 || parts[0] != "200" || !strings.HasPrefix(parts[1], "text/csv") || parts[3] != "true" {
				t.Fatalf("the filtered CSV: %q", csvState)
			}
			if parts[2] != fmt.Sprint(listRows) || listRows == 0 {
				t.Errorf("the filtered CSV has %s rows, the list %v", parts[2], listRows)
			}
			var download string
			err = chromedp.Do(ctx,
				evalString(`fetch(document.querySelector('[data-testid="export-download"]').href).then(r => r.status + "|" + r.headers.get("content-type"))`,
					true, &download),
			)
			if err != nil || !strings.HasPrefix(download, "200|application/vnd.openxmlformats") {
				t.Fatalf("the job's file: %q %v", download, err)
			}

			// A manager: no buttons, and a refusal that says why.
			ctx2 := browser(t, 1366, 900)
			var title string
			err = chromedp.Do(ctx2,
				signIn(t, base, "boris", "Ромашка-2026!"),
				chromedp.Navigate(base+"/companies/"),
				chromedp.WaitVisible(sel("company-new")),
				evalTrue(t, "a manager has no export buttons", `!document.querySelector('[data-testid="company-export-csv"]')`),
				chromedp.Navigate(base+"/export/companies/?format=csv"),
				evalString(`document.body.innerText`, false, &title),
			)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(title, "только администраторам") {
				t.Errorf("the manager's refusal does not say why: %q", title)
			}
			out := inst.crm(t, "export-companies", "--format", "csv", "--out", "-")
			if !strings.Contains(out, "ID;Название") {
				t.Errorf("crm export-companies: %.200s", out)
			}
		})
	}
}

// evalString reads a string from the page into out, awaiting a promise
// when await is set.
func evalString(expr string, await bool, out *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		var opts []chromedp.EvaluateOption
		if await {
			opts = append(opts, chromedp.EvalAwaitPromise)
		}
		v, err := chromedp.Evaluate[string](expr, opts...)(ctx, target)
		*out = v
		return err
	})
}
