package server

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestAPIDocsPageInABrowser opens /api/docs/ in headless Chromium with
// every operation and schema unfolded: axe-core (CRM_AXE_JS) finds no
// violation, and at a phone's 390 px nothing scrolls sideways.
func TestAPIDocsPageInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromium := os.Getenv("CRM_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CRM_TEST_BROWSER") == "require" {
			t.Fatalf("Chromium not found at %s (install Debian's chromium)", chromium)
		}
		t.Skipf("Chromium not found at %s; set CRM_TEST_BROWSER=require to fail instead", chromium)
	}
	e := newTestEnv(t, dbtest.New(t, database.SQLite))
	ts := httptest.NewServer(e.srv)
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/api/docs/"),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=api-operation]"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll("details").forEach(d => d.open = true); true`)); err != nil {
		t.Fatal(err)
	}
	if file := os.Getenv("CRM_AXE_JS"); file != "" {
		src, err := os.ReadFile(filepath.Clean(file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+"; true")); err != nil {
			t.Fatal(err)
		}
		const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
			.then(r => JSON.stringify(r.violations.map(v => v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "))))`
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if raw != "[]" {
			t.Errorf("axe: %s", raw)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 390 {
		t.Errorf("at 390 px the page is %v px wide", width)
	}
	if dir := os.Getenv("CRM_SCREENSHOT_DIR"); dir != "" {
		buf, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(".apidocs-main")))
		if err == nil {
			_ = os.WriteFile(filepath.Join(dir, "apidocs-phone.png"), buf, 0o600)
		}
	}
}
