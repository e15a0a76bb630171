package main

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmprofi/crm/internal/database"
)

// TestBrowserAuditLog opens the audit log as an admin on the real binary:
// the chain's state above the filters, the CSV link carrying the filters,
// a page that fits a laptop (1366 px) and a phone (390 px) and passes
// axe-core; then, with an entry edited behind the application's back, the
// red alert naming it.
func TestBrowserAuditLog(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := browser(t, 1366, 900)
			url := newURL()
			inst := startCRM(t, url)
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			base := inst.URL
			err := chromedp.Do(ctx,
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/admin/audit/?action=auth."),
				waitText(t, sel("page-title"), "Журнал аудита"),
				waitText(t, sel("audit-chain"), "Цепочка цела"),
				evalTrue(t, "the chain is verified to its end", `document.querySelector('[data-testid="audit-chain"]').dataset.state === "verified"`),
				evalTrue(t, "the sign-in is listed", `document.querySelectorAll('[data-testid="audit-row"]').length > 0`),
				evalTrue(t, "the CSV link keeps the filter", `document.querySelector('[data-testid="audit-export"]').getAttribute("href") === "/admin/audit/export/?action=auth."`),
				evalTrue(t, "the page does not scroll sideways", `document.documentElement.scrollWidth <= window.innerWidth`),
				shot(t, "1-laptop"),
				checkA11y(t, "the audit log at 1366 px"),
				chromedp.EmulateViewport(390, 844),
				chromedp.Reload(),
				chromedp.WaitVisible(sel("audit-chain")),
				evalTrue(t, "the phone page does not scroll sideways", `document.documentElement.scrollWidth <= window.innerWidth`),
				shot(t, "2-phone"),
				checkA11y(t, "the audit log at 390 px"),
			)
			if err != nil {
				t.Fatal(err)
			}

			db := openDB(t, url)
			stmts := []string{`UPDATE audit_log SET ip = '203.0.113.9' WHERE id = (SELECT MIN(id) FROM audit_log)`}
			if dialect == database.Postgres {
				stmts = append(append([]string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}, stmts...), `ALTER TABLE audit_log ENABLE TRIGGER USER`)
			} else {
				stmts = append([]string{`DROP TRIGGER audit_log_no_update`}, stmts...)
			}
			// The page's check goes on from what it verified last; start it
			// over so that it meets the edited entry (crm audit verify
			// always walks all of it).
			stmts = append(stmts, `UPDATE audit_lane SET verified_seq = 0, verified_hash = ''`)
			for _, s := range stmts {
				if _, err := db.ExecContext(context.Background(), s); err != nil {
					t.Fatal(err)
				}
			}
			err = chromedp.Do(ctx,
				chromedp.EmulateViewport(1366, 900),
				chromedp.Reload(),
				waitText(t, sel("audit-chain"), "Цепочка нарушена на записи 1"),
				evalTrue(t, "the alert is an alert", `document.querySelector('[data-testid="audit-chain"]').getAttribute("role") === "alert"`),
				shot(t, "3-broken"),
				checkA11y(t, "the audit log with a broken chain"),
			)
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
