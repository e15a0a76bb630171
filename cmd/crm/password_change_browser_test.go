package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserForcedPasswordChange: an admin creates a user in the form
// («Сменить пароль при следующем входе» is on by default); the user signs
// in, lands on «Смените пароль», cannot leave it for the desk, is told
// beside the field that a common password will not do, and then chooses
// their own and reaches the desk. axe-core checks the admin's form and
// the change page, with and without an error.
func TestBrowserForcedPasswordChange(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			axeSource(t)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			base := inst.URL
			admin := browser(t, 1366, 900)
			err := chromedp.Do(admin,
				chromedp.EmulateViewport(1366, 900),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/admin/users/new"),
				chromedp.WaitVisible(sel("user-form")),
				evalTrue(t, "the box is on by default", `document.querySelector('input[name="must_change_password"]').checked`),
				checkA11y(t, "new user form"),
				chromedp.SetValue(chromedp.CSS("#f-first_name"), "Борис"),
				chromedp.SetValue(chromedp.CSS("#f-last_name"), "Бородин"),
				chromedp.SetValue(chromedp.CSS("#f-username"), "boris"),
				chromedp.SetValue(chromedp.CSS("#f-password"), "boris-12345"),
				chromedp.Click(sel("user-save")),
				waitText(t, sel("error-password"), "логином"),
				checkA11y(t, "new user form with an error"),
				chromedp.SetValue(chromedp.CSS("#f-password"), "временный-пароль-9"),
				chromedp.Click(sel("user-save")),
				chromedp.WaitVisible(sel("password-reset-form")),
				shot(t, "password-1-admin"),
			)
			if err != nil {
				t.Fatalf("admin: %v\nserver log:\n%s", err, inst.log.String())
			}
			user := browser(t, 390, 844)
			err = chromedp.Do(user,
				chromedp.EmulateViewport(390, 844),
				chromedp.Navigate(base+"/login"),
				chromedp.WaitVisible(sel("login-form")),
				chromedp.SetValue(chromedp.CSS("#f-username"), "boris"),
				chromedp.SetValue(chromedp.CSS("#f-password"), "временный-пароль-9"),
				chromedp.Click(sel("login-submit")),
				chromedp.WaitVisible(sel("password-change-form")),
				waitText(t, chromedp.CSS("h1"), "Смените пароль"),
				checkA11y(t, "password change page"),
				shot(t, "password-2-change"),
				chromedp.Navigate(base+"/desk/"),
				chromedp.WaitVisible(sel("password-change-form")),
				chromedp.SetValue(chromedp.CSS("#f-current_password"), "временный-пароль-9"),
				chromedp.SetValue(chromedp.CSS("#f-password"), "йцукенгшщз"),
				chromedp.SetValue(chromedp.CSS("#f-password2"), "йцукенгшщз"),
				chromedp.Click(sel("password-change-submit")),
				waitText(t, sel("error-password"), "распространён"),
				checkA11y(t, "password change page with an error"),
				shot(t, "password-3-error"),
				chromedp.SetValue(chromedp.CSS("#f-current_password"), "временный-пароль-9"),
				chromedp.SetValue(chromedp.CSS("#f-password"), "Борис-свой-пароль-2026"),
				chromedp.SetValue(chromedp.CSS("#f-password2"), "Борис-свой-пароль-2026"),
				chromedp.Click(sel("password-change-submit")),
				chromedp.WaitReady(sel("rail")),
				waitJS(t, "the desk opens", `location.pathname === "/desk/"`),
				shot(t, "password-4-desk"),
			)
			if err != nil {
				t.Fatalf("user: %v\nserver log:\n%s", err, inst.log.String())
			}
		})
	}
}
