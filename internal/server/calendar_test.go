package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-ical"

	"github.com/crmprofi/crm/internal/database/dbtest"
)

// feedPathOf is the path of a feed URL answered by the API.
func feedPathOf(t *testing.T, url string) string {
	t.Helper()
	i := strings.Index(url, feedPath)
	if i < 0 || !strings.HasSuffix(url, ".ics") {
		t.Fatalf("not a feed URL: %q", url)
	}
	return url[i:]
}

// fetchFeed gets a feed without a session, from a fresh address each
// time unless ip is given.
func (e *testEnv) fetchFeed(path, ip string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if ip != "" {
		req.RemoteAddr = ip + ":5555"
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func (e *testEnv) enableFeed(m dbtest.Member) string {
	e.t.Helper()
	var out struct {
		URL string `json:"url"`
	}
	if code := e.api(&m, http.MethodPost, "/api/me/calendar-feed/", nil, &out); code != http.StatusCreated {
		e.t.Fatalf("enable: %d", code)
	}
	return feedPathOf(e.t, out.URL)
}

func TestTheCalendarFeedServesTheUsersOpenTasks(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		e.seedTask(c.Boris, "Позвонить, уточнить; счёт", "2030-01-10T10:00:00+03:00", c.Alisa.ID, 0, "")
		e.seedTask(c.Alisa, "Отчёт", "2030-01-11", c.Alisa.ID, 0, "")
		e.seedTask(c.Alisa, "Планёрка", "2030-01-14T09:00:00+03:00", c.Alisa.ID, 0, "FREQ=WEEKLY;BYDAY=MO;COUNT=4")
		done := e.seedTask(c.Alisa, "Уже сделано", "2030-01-12T10:00:00+03:00", c.Alisa.ID, 0, "")
		if _, _, err := e.srv.tasks.Complete(context.Background(), c.Alisa.Scope, done.ID, "ok", 0); err != nil {
			t.Fatal(err)
		}
		e.seedTask(c.Boris, "Чужая", "2030-01-10T10:00:00+03:00", c.Boris.ID, 0, "")
		path := e.enableFeed(c.Alisa)

		rec := e.fetchFeed(path, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("feed: %d %s", rec.Code, rec.Body.String())
		}
		t.Run("it is private iCalendar, cached for five minutes", func(t *testing.T) {
			h := rec.Header()
			if h.Get("Content-Type") != "text/calendar; charset=utf-8" || h.Get("Cache-Control") != "private, max-age=300" {
				t.Fatalf("headers %v", h)
			}
		})
		t.Run("a HEAD request gets the headers only", func(t *testing.T) {
			req := httptest.NewRequest(http.MethodHead, path, nil)
			head := httptest.NewRecorder()
			e.srv.ServeHTTP(head, req)
			if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Length") != rec.Header().Get("Content-Length") {
				t.Fatalf("HEAD: %d, %d bytes, length %q", head.Code, head.Body.Len(), head.Header().Get("Content-Length"))
			}
		})
		cal, err := ical.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode()
		if err != nil {
			t.Fatalf("an RFC 5545 parser refuses the feed: %v\n%s", err, rec.Body.String())
		}
		summaries := map[string]ical.Event{}
		for _, ev := range cal.Events() {
			s, _ := ev.Props.Text(ical.PropSummary)
			summaries[s] = ev
		}
		t.Run("it has the user's open tasks and nothing else", func(t *testing.T) {
			if len(summaries) != 3 {
				t.Fatalf("events %v", summaries)
			}
			for _, want := range []string{"Позвонить, уточнить; счёт", "Отчёт", "Планёрка"} {
				if _, ok := summaries[want]; !ok {
					t.Errorf("no %q in %v", want, summaries)
				}
			}
		})
		t.Run("a recurring task carries its rule", func(t *testing.T) {
			ev := summaries["Планёрка"]
			if p := ev.Props.Get(ical.PropRecurrenceRule); p == nil || p.Value != "FREQ=WEEKLY;BYDAY=MO;COUNT=4" {
				t.Fatalf("RRULE %+v", p)
			}
			uid, _ := ev.Props.Text(ical.PropUID)
			if !strings.HasPrefix(uid, "series-") {
				t.Errorf("UID %q is not the series'", uid)
			}
			set, err := ev.RecurrenceSet(nil)
			if err != nil || len(set.All()) != 4 {
				t.Fatalf("occurrences: %v (%v)", set, err)
			}
		})
		t.Run("a timed task is in the user's zone, with a link to it", func(t *testing.T) {
			ev := summaries["Позвонить, уточнить; счёт"]
			p := ev.Props.Get(ical.PropDateTimeStart)
			// Алиса's branch is in Moscow.
			if p.Params.Get(ical.ParamTimezoneID) != "Europe/Moscow" || p.Value != "20300110T100000" {
				t.Fatalf("DTSTART %+v", p)
			}
			desc, _ := ev.Props.Text(ical.PropDescription)
			if !strings.Contains(desc, "/tasks/") {
				t.Errorf("description %q has no link", desc)
			}
		})
	})
}

func TestTheCalendarFeedURLIsSecretRevocableAndShownOnce(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		first := e.enableFeed(c.Alisa)
		t.Run("a new URL replaces the old one", func(t *testing.T) {
			second := e.enableFeed(c.Alisa)
			if second == first {
				t.Fatal("the same URL twice")
			}
			if rec := e.fetchFeed(first, ""); rec.Code != http.StatusNotFound {
				t.Fatalf("old URL: %d", rec.Code)
			}
			if rec := e.fetchFeed(second, ""); rec.Code != http.StatusOK {
				t.Fatalf("new URL: %d", rec.Code)
			}
			if code := e.api(&c.Alisa, http.MethodDelete, "/api/me/calendar-feed/", nil, nil); code != http.StatusNoContent {
				t.Fatalf("revoke: %d", code)
			}
			if rec := e.fetchFeed(second, ""); rec.Code != http.StatusNotFound {
				t.Fatalf("revoked URL: %d", rec.Code)
			}
		})
		t.Run("unknown tokens are not found", func(t *testing.T) {
			for _, p := range []string{"/calendar/nope.ics", "/calendar/" + strings.Repeat("A", 43) + ".ics", "/calendar/x"} {
				if rec := e.fetchFeed(p, ""); rec.Code != http.StatusNotFound {
					t.Errorf("%s: %d", p, rec.Code)
				}
			}
		})
		t.Run("no one signed in cannot make one", func(t *testing.T) {
			if code := e.api(nil, http.MethodPost, "/api/me/calendar-feed/", nil, nil); code != http.StatusUnauthorized {
				t.Fatalf("%d", code)
			}
		})
		t.Run("one address asking too often is throttled", func(t *testing.T) {
			got := 0
			for range feedRequestsPerMinute + 1 {
				got = e.fetchFeed("/calendar/"+strings.Repeat("B", 43)+".ics", "203.0.113.9").Code
			}
			if got != http.StatusTooManyRequests {
				t.Fatalf("request %d: %d", feedRequestsPerMinute+1, got)
			}
		})
		t.Run("the profile page shows the URL once, then only that it is on", func(t *testing.T) {
			rec := e.do(&c.Vera, http.MethodPost, "/profile/calendar-feed", "")
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-testid="calendar-feed-url"`) {
				t.Fatalf("enable: %d", rec.Code)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("the page with the secret may be cached: %q", rec.Header().Get("Cache-Control"))
			}
			page := e.do(&c.Vera, http.MethodGet, "/profile/", nil).Body.String()
			if strings.Contains(page, feedPath) || !strings.Contains(page, `data-testid="calendar-feed-disable"`) {
				t.Fatal("the profile shows the URL again, or not that the feed is on")
			}
			rec = e.do(&c.Vera, http.MethodPost, "/profile/calendar-feed/delete", "")
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("disable: %d", rec.Code)
			}
			page = e.do(&c.Vera, http.MethodGet, "/profile/", nil).Body.String()
			if !strings.Contains(page, `data-testid="calendar-feed-enable"`) {
				t.Fatal("the profile does not offer to switch the feed on again")
			}
		})
	})
}
