package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/calendar"
	"github.com/crmprofi/crm/web/view"
)

// feedPath is where a calendar feed is served: /calendar/<token>.ics.
const feedPath = "/calendar/"

// feedURL is the absolute address of the feed with token: a phone
// subscribes from elsewhere, so the public base URL when configured, else
// the address this request came to.
func (s *Server) feedURL(r *http.Request, token string) string {
	return s.siteURL(r) + feedPath + token + ".ics"
}

// siteURL is the site's public address without a trailing slash.
func (s *Server) siteURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if s.isTLS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// calendarFeedJSON is the answer of POST /api/me/calendar-feed/.
type calendarFeedJSON struct {
	URL string `json:"url"`
}

// enableCalendarFeed is POST /api/me/calendar-feed/ and the profile
// page's switch: a new secret URL, shown this once (only its token's hash
// is kept); the old URL stops working.
func (s *Server) enableCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	me := userFrom(r)
	token, err := s.feeds.Enable(r.Context(), scopeFrom(r))
	if err != nil {
		return err
	}
	u := s.feedURL(r, token)
	if wantsJSON(r) {
		return writeJSON(w, http.StatusCreated, calendarFeedJSON{URL: u})
	}
	// The page shows the URL once, in the answer to this post: a redirect
	// would have to carry the secret in a cookie or a URL.
	w.Header().Set("Cache-Control", "no-store")
	f := profileView(me)
	f.CalendarOn, f.CalendarURL = true, u
	return respond(w, r, http.StatusOK, nil, view.ProfilePage(s.shell(r, "Мой профиль", ""), f))
}

// disableCalendarFeed is DELETE /api/me/calendar-feed/ and the profile
// page's «Выключить»: the URL stops working.
func (s *Server) disableCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	err := s.feeds.Disable(r.Context(), scopeFrom(r))
	return saved(w, r, done{status: http.StatusNoContent, flash: "Календарь на телефоне выключен", to: "/profile/"}, err, nil)
}

// calendarFeed serves GET /calendar/<token>.ics without a session: the
// token is the credential. Unknown and revoked tokens are 404; each token
// (and, for unknown ones, each address) is held to a few requests a
// minute, far more than any calendar app polls.
func (s *Server) calendarFeed(w http.ResponseWriter, r *http.Request) error {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok || token == "" {
		return apperr.ErrNotFound
	}
	if !s.feedLimit.allow("ip "+s.clientIP(r)) || !s.feedLimit.allow("token "+token) {
		w.Header().Set("Retry-After", "60")
		return apperr.ErrThrottled
	}
	userID, err := s.feeds.UserID(r.Context(), token)
	if err != nil {
		return err
	}
	tasks, own, branch, err := s.feeds.OpenTasks(r.Context(), userID)
	if err != nil {
		return err
	}
	site := s.siteURL(r)
	host := r.Host
	if pu, err := url.Parse(site); err == nil && pu.Hostname() != "" {
		host = pu.Hostname()
	}
	feed := calendar.Feed{
		Name:   "Задачи — CRM ПРОФИ",
		Stamp:  time.Now().UTC().Truncate(time.Second),
		Events: calendar.Events(tasks, s.zoneOf(own, branch), site, host),
	}
	var buf bytes.Buffer
	if err := calendar.Write(&buf, feed); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `inline; filename="crm-tasks.ics"`)
	h.Set("Cache-Control", "private, max-age=300")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	// The token is in the path: keep it out of other sites' logs.
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = buf.WriteTo(w)
	return err
}

// zoneOf is the zone a user lives in: their own, else their branch's,
// else the configured default.
func (s *Server) zoneOf(own, branch string) *time.Location {
	for _, name := range []string{own, branch, s.cfg.TimeZone} {
		if name == "" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.UTC
}

// feedRequestsPerMinute is how many feed requests one token, or one
// address, may make a minute. Calendar apps poll every 15 minutes or
// less often; Google's fetchers share addresses, hence a generous limit
// per address.
const feedRequestsPerMinute = 30

// rateLimiter counts requests per key in fixed windows, in this process's
// memory: a feed request is cheap to refuse and needs no shared state.
type rateLimiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	started time.Time
	counts  map[string]int
}

func newRateLimiter(limit int, window time.Duration) *rateLimiter {
	return &rateLimiter{limit: limit, window: window, counts: map[string]int{}}
}

// allow counts a request of key and reports whether it is within the
// limit of the current window.
func (l *rateLimiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.started) >= l.window {
		l.started, l.counts = now, map[string]int{}
	}
	l.counts[key]++
	return l.counts[key] <= l.limit
}
