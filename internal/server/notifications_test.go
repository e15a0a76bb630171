package server

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/notify"
)

// notifyMember gives m a notification caused by someone else.
func notifyMember(t *testing.T, e *testEnv, m dbtest.Member, title string) notify.Notification {
	t.Helper()
	by := e.cast.Admin.ID
	if m.ID == by {
		by = e.cast.Alisa.ID
	}
	var n notify.Notification
	err := e.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		n, _, err = notify.Add(context.Background(), tx, notify.Notification{Kind: notify.KindCompanyResponsible,
			Title: title, URL: "/companies/", UserID: m.ID, ActorID: by})
		return err
	})
	if err != nil || n.ID == 0 {
		t.Fatalf("notify %s: %+v, %v", m.Username, n, err)
	}
	return n
}

type noticePage struct {
	Count   int                   `json:"count"`
	Next    *string               `json:"next"`
	Results []notify.Notification `json:"results"`
}

func TestTheNotificationsAPIOverTheCast(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		own := map[int64]notify.Notification{}
		for _, m := range e.cast.All() {
			own[m.ID] = notifyMember(t, e, m, "Для "+m.FirstName)
		}
		for _, m := range e.cast.All() {
			t.Run(m.Username+" sees, counts and reads only their own notifications", func(t *testing.T) {
				var page noticePage
				if code := e.api(&m, "GET", "/api/notifications/", nil, &page); code != http.StatusOK {
					t.Fatalf("list: %d", code)
				}
				if page.Count != 1 || len(page.Results) != 1 || page.Results[0].ID != own[m.ID].ID || page.Results[0].Title != "Для "+m.FirstName {
					t.Fatalf("list %+v", page)
				}
				var unread notify.Unread
				if code := e.api(&m, "GET", "/api/notifications/unread-count/", nil, &unread); code != http.StatusOK || unread.Count != 1 {
					t.Fatalf("unread count: %d %+v", code, unread)
				}
				for _, other := range e.cast.All() {
					if other.ID == m.ID {
						continue
					}
					path := "/api/notifications/" + strconv.FormatInt(own[other.ID].ID, 10) + "/read/"
					if code := e.api(&m, "POST", path, nil, nil); code != http.StatusNotFound {
						t.Fatalf("reading %s's: %d, want 404", other.Username, code)
					}
				}
				path := "/api/notifications/" + strconv.FormatInt(own[m.ID].ID, 10) + "/read/"
				if code := e.api(&m, "POST", path, nil, &unread); code != http.StatusOK || unread.Count != 0 {
					t.Fatalf("reading one's own: %d %+v", code, unread)
				}
				var unreadOnly noticePage
				if code := e.api(&m, "GET", "/api/notifications/?is_read=false", nil, &unreadOnly); code != http.StatusOK || unreadOnly.Count != 0 {
					t.Fatalf("unread after reading: %d %+v", code, unreadOnly)
				}
				if code := e.api(&m, "GET", "/api/notifications/?is_read=true", nil, &page); code != http.StatusOK || page.Count != 1 || !page.Results[0].IsRead {
					t.Fatalf("read ones: %d %+v", code, page)
				}
			})
		}
		// Nobody's reading touched anyone else's.
		for _, m := range e.cast.All() {
			var n int
			if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND is_read`, m.ID).Scan(&n); err != nil || n != 1 {
				t.Fatalf("%s has %d read, want 1 (%v)", m.Username, n, err)
			}
		}

		t.Run("read-all marks every one read and answers a zero count", func(t *testing.T) {
			vera := e.cast.Vera
			for i := range 3 {
				notifyMember(t, e, vera, "Ещё "+strconv.Itoa(i))
			}
			var unread notify.Unread
			if code := e.api(&vera, "POST", "/api/notifications/read-all/", nil, &unread); code != http.StatusOK || unread.Count != 0 {
				t.Fatalf("read-all: %d %+v", code, unread)
			}
			if code := e.api(&vera, "GET", "/api/notifications/unread-count/", nil, &unread); code != http.StatusOK || unread.Count != 0 {
				t.Fatalf("after read-all: %d %+v", code, unread)
			}
		})

		t.Run("the list pages like the others and refuses a bad filter", func(t *testing.T) {
			gleb := e.cast.Gleb
			for i := range 3 {
				notifyMember(t, e, gleb, "Страница "+strconv.Itoa(i))
			}
			var page noticePage
			if code := e.api(&gleb, "GET", "/api/notifications/?page_size=2", nil, &page); code != http.StatusOK ||
				page.Count != 4 || len(page.Results) != 2 || page.Next == nil || page.Results[0].Title != "Страница 2" {
				t.Fatalf("page 1: %d %+v", code, page)
			}
			var bad map[string]any
			if code := e.api(&gleb, "GET", "/api/notifications/?is_read=maybe", nil, &bad); code != http.StatusBadRequest || bad["is_read"] == nil {
				t.Fatalf("a bad filter: %d %v", code, bad)
			}
		})

		t.Run("an anonymous caller is refused", func(t *testing.T) {
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/notifications/"}, {"GET", "/api/notifications/unread-count/"},
				{"POST", "/api/notifications/read-all/"}, {"POST", "/api/notifications/1/read/"},
			} {
				if code := e.api(nil, c.method, c.path, nil, nil); code != http.StatusUnauthorized {
					t.Fatalf("%s %s: %d, want 401", c.method, c.path, code)
				}
			}
		})
	})
}

func TestTheNotificationsPageAndTheBell(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		boris := e.cast.Boris
		n := notifyMember(t, e, boris, "Вы назначены ответственным: ООО «Ромашка»")
		notifyMember(t, e, boris, "Вы назначены ответственным: ООО «Лютик»")
		notifyMember(t, e, boris, "Вы назначены ответственным: ООО «Василёк»")

		t.Run("every page's bell shows the unread count in its label", func(t *testing.T) {
			body := e.do(&boris, "GET", "/companies/", nil).Body.String()
			if !strings.Contains(body, `aria-label="Уведомления: 3 непрочитанных"`) || !strings.Contains(body, `data-testid="bell-count">3<`) {
				t.Fatalf("the bell: %.2000s", body[strings.Index(body, "bell"):])
			}
			body = e.do(&e.cast.Darya, "GET", "/companies/", nil).Body.String()
			if !strings.Contains(body, `aria-label="Уведомления: нет непрочитанных"`) {
				t.Fatal("a user with no notifications has a count")
			}
		})

		t.Run("the page lists them, unread marked, and a form marks one read", func(t *testing.T) {
			rec := e.do(&boris, "GET", "/notifications/", nil)
			body := rec.Body.String()
			if rec.Code != http.StatusOK || strings.Count(body, `data-testid="notification"`) != 3 || strings.Count(body, "Непрочитано: ") != 3 ||
				!strings.Contains(body, "ООО «Лютик»") {
				t.Fatalf("page %d: %.3000s", rec.Code, body)
			}
			rec = e.do(&boris, "POST", "/notifications/"+strconv.FormatInt(n.ID, 10)+"/read/", "next=/notifications/")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/notifications/" {
				t.Fatalf("mark read: %d %s", rec.Code, rec.Header().Get("Location"))
			}
			body = e.do(&boris, "GET", "/notifications/?is_read=false", nil).Body.String()
			if strings.Count(body, `data-testid="notification"`) != 2 || !strings.Contains(body, "Уведомления: 2 непрочитанных") {
				t.Fatalf("unread tab: %.3000s", body)
			}
			rec = e.do(&e.cast.Vera, "POST", "/notifications/"+strconv.FormatInt(n.ID, 10)+"/read/", "next=/")
			if rec.Code != http.StatusNotFound {
				t.Fatalf("Вера marking Борис's: %d, want 404", rec.Code)
			}
		})

		t.Run("«Прочитать все» empties the count; a foreign next is not followed", func(t *testing.T) {
			rec := e.do(&boris, "POST", "/notifications/read-all/", "next=//evil.example/")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/notifications/" {
				t.Fatalf("read-all: %d %s", rec.Code, rec.Header().Get("Location"))
			}
			if body := e.do(&boris, "GET", "/notifications/", nil).Body.String(); strings.Contains(body, "Непрочитано: ") {
				t.Fatal("unread ones left after read-all")
			}
		})
	})
}

func TestANewResponsibleIsNotified(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		srv := httptest.NewServer(e.srv)
		defer srv.Close()
		defer e.srv.Close() // first: ends the open stream, which srv.Close waits for
		c := e.cast
		gleb := openEvents(t, srv, sessionHeader(e, c.Gleb))
		waitFor(t, "Глеб's stream", func() bool { return e.srv.Live().Subscribers(c.Gleb.ID) == 1 })

		count := func(m dbtest.Member) int {
			var u notify.Unread
			if code := e.api(&m, "GET", "/api/notifications/unread-count/", nil, &u); code != http.StatusOK {
				t.Fatalf("count: %d", code)
			}
			return u.Count
		}
		var co struct {
			ID int64 `json:"id"`
		}
		t.Run("creating a company for oneself notifies nobody", func(t *testing.T) {
			if code := e.api(&c.Alisa, "POST", "/api/companies/", map[string]any{"name": "Своя"}, &co); code != http.StatusCreated {
				t.Fatalf("create: %d", code)
			}
			if n := count(c.Alisa); n != 0 {
				t.Fatalf("Алиса has %d for her own company", n)
			}
		})

		t.Run("reassigning a company notifies the new responsible, live, with a link", func(t *testing.T) {
			path := "/api/companies/" + strconv.FormatInt(co.ID, 10) + "/"
			if code := e.api(&c.Admin, "PATCH", path, map[string]any{"responsible": c.Gleb.ID}, nil); code != http.StatusOK {
				t.Fatalf("reassign: %d", code)
			}
			var page noticePage
			if code := e.api(&c.Gleb, "GET", "/api/notifications/", nil, &page); code != http.StatusOK || page.Count != 1 {
				t.Fatalf("Глеб's list: %d %+v", code, page)
			}
			got := page.Results[0]
			if got.Title != "Вы назначены ответственным: Своя" || got.URL != "/companies/"+strconv.FormatInt(co.ID, 10)+"/" ||
				got.Kind != notify.KindCompanyResponsible || !strings.Contains(got.Body, "Админ Системный") {
				t.Fatalf("notification %+v", got)
			}
			first := gleb.next(t, false)
			second := gleb.next(t, false)
			if first.Event != "notification" || !strings.Contains(first.Data, "Вы назначены ответственным: Своя") ||
				second.Event != "unread" || second.Data != `{"count":1}` {
				t.Fatalf("live events %+v, %+v", first, second)
			}
			// Another edit that keeps the responsible tells nobody again.
			if code := e.api(&c.Admin, "PATCH", path, map[string]any{"website": "https://svoya.ru"}, nil); code != http.StatusOK {
				t.Fatalf("edit: %d", code)
			}
			if n := count(c.Gleb); n != 1 {
				t.Fatalf("Глеб has %d, want still 1", n)
			}
		})

		t.Run("creating a company for someone else notifies them", func(t *testing.T) {
			if code := e.api(&c.Boris, "POST", "/api/companies/", map[string]any{"name": "Для Алисы", "responsible": c.Alisa.ID}, nil); code != http.StatusCreated {
				t.Fatalf("create: %d", code)
			}
			if n := count(c.Alisa); n != 1 {
				t.Fatalf("Алиса has %d, want 1", n)
			}
		})

		t.Run("a refused reassignment notifies nobody", func(t *testing.T) {
			path := "/api/companies/" + strconv.FormatInt(co.ID, 10) + "/"
			if code := e.api(&c.Vera, "PATCH", path, map[string]any{"responsible": c.Vera.ID}, nil); code < 400 {
				t.Fatalf("Вера took a company she cannot see: %d", code)
			}
			if n := count(c.Vera); n != 0 {
				t.Fatalf("Вера has %d", n)
			}
		})
	})
}
