package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The profile's «Календарь на телефоне» at phone width: switched on, it
// shows the feed's URL once with a copy button, the URL serves the
// calendar, and switched off it stops working. The page passes axe.
func TestBrowserCalendarFeed(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := browser(t, 390, 844)
			inst := startCRM(t, newURL())
			inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Смирнова")
			base := inst.URL
			var feedURL string
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(390, 844),
				waitJS(t, "the viewport is 390 px wide", "window.innerWidth === 390"),
				signIn(t, base, "anna", "Ромашка-2026!"),
				chromedp.Navigate(base+"/profile/"),
				chromedp.WaitVisible(sel("calendar-feed-enable")),
				checkA11y(t, "profile, feed off"),
				chromedp.Click(sel("calendar-feed-enable")),
				chromedp.WaitVisible(sel("calendar-feed-url")),
				chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
					v, err := chromedp.Value(sel("calendar-feed-url"))(ctx, target)
					feedURL = v
					return err
				}),
				chromedp.Click(sel("calendar-feed-copy")),
				waitJS(t, "the copy button says what it did", `document.querySelector("[data-copy-status]").textContent !== ""`),
				evalTrue(t, "nothing is wider than the phone", "document.documentElement.scrollWidth <= 390"),
				checkA11y(t, "profile, feed URL shown"),
				shot(t, "calendar-1-url-shown"),
			)
			if err != nil {
				t.Fatalf("switch on: %v\nserver log:\n%s", err, inst.log.String())
			}
			if !strings.HasPrefix(feedURL, base+"/calendar/") || !strings.HasSuffix(feedURL, ".ics") {
				t.Fatalf("feed URL %q", feedURL)
			}
			if code, ct := fetch(t, feedURL); code != http.StatusOK || ct != "text/calendar; charset=utf-8" {
				t.Fatalf("the feed answers %d %q", code, ct)
			}
			err = chromedp.Do(ctx,
				chromedp.Navigate(base+"/profile/"),
				chromedp.WaitVisible(sel("calendar-feed-disable")),
				evalTrue(t, "the URL is not shown again", `document.querySelector('[data-testid="calendar-feed-url"]') === null`),
				chromedp.Click(sel("calendar-feed-disable")),
				chromedp.WaitVisible(sel("calendar-feed-enable")),
				shot(t, "calendar-2-off"),
			)
			if err != nil {
				t.Fatalf("switch off: %v", err)
			}
			if code, _ := fetch(t, feedURL); code != http.StatusNotFound {
				t.Fatalf("the feed still answers %d after switching off", code)
			}
		})
	}
}

// fetch GETs url without a session and returns the status and type.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	return resp.StatusCode, resp.Header.Get("Content-Type")
}
