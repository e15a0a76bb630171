package server

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestSignInAndUserAdminInABrowser drives headless Chromium through the
// sign-in page and the admin's user pages. It is skipped where Chromium is
// missing; CRM_SCREENSHOT_DIR keeps screenshots of each step.
func TestSignInAndUserAdminInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	e := newTestEnv(t, dbtest.New(t, database.SQLite))
	ts := httptest.NewServer(e.srv)
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // start the browser without a timeout
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()

	shot := func(name string) {
		t.Helper()
		dir := os.Getenv("CRM_SCREENSHOT_DIR")
		if dir == "" {
			return
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	signIn := func(password string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(ts.URL+"/admin/users/"),
			chromedp.WaitVisible(chromedp.CSS("[data-testid=login-form]")),
			chromedp.SendKeys(chromedp.CSS("#f-username"), "admin"),
			chromedp.SendKeys(chromedp.CSS("#f-password"), password),
			chromedp.Click(chromedp.CSS("[data-testid=login-submit]")),
			chromedp.Sleep(300*time.Millisecond),
		)
		if err != nil {
			t.Fatal(err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	signIn("wrong password")
	if got := text("[data-testid=login-error]"); got != "Неверный логин или пароль" {
		t.Fatalf("error shown: %q", got)
	}
	shot("login-error")

	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/login")); err != nil {
		t.Fatal(err)
	}
	signIn(dbtest.CastPassword)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("[data-testid=user-table]"))); err != nil {
		t.Fatalf("the user list did not open after sign-in: %v", err)
	}
	if got := text("[data-testid=user-name]"); got != "Админ Системный" {
		t.Errorf("header shows %q", got)
	}
	shot("admin-users")

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("[data-testid=user-new]")),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=user-form]")),
		chromedp.SendKeys(chromedp.CSS("#f-first_name"), "Ирина"),
		chromedp.SendKeys(chromedp.CSS("#f-username"), "alisa"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "длинный-пароль"),
		chromedp.Click(chromedp.CSS("[data-testid=user-save]")),
		chromedp.Sleep(300*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The browser's own check stops the empty required last name first.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#f-last_name"), "Соколова"),
		chromedp.Click(chromedp.CSS("[data-testid=user-save]")),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=error-username]")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text("[data-testid=error-username]"); got != "Пользователь с таким логином уже существует" {
		t.Errorf("username error %q", got)
	}
	shot("user-form-error")

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+"/profile/"),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=profile-form]"))); err != nil {
		t.Fatal(err)
	}
	shot("profile-phone")
}
