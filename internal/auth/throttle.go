package auth

import (
	"fmt"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
)

// Throttled is ErrThrottled with how long to wait, for the Retry-After header.
type Throttled struct{ RetryAfter time.Duration }

func (e *Throttled) Error() string {
	return fmt.Sprintf("слишком много попыток входа, повторите через %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, apperr.ErrThrottled) true.
func (e *Throttled) Is(target error) bool { return target == apperr.ErrThrottled }

// Default limits: a person who mistypes a password five times waits a
// quarter of an hour; one address guessing many logins is stopped at fifty.
const (
	DefaultLoginFailures = 5
	DefaultIPFailures    = 50
	DefaultWindow        = 15 * time.Minute
	defaultMaxKeys       = 10_000
)

// Throttle limits failed sign-ins per login and address, and per address
// alone. It lives in memory (one process serves one CRM) and holds at most
// maxKeys windows, so a flood of made-up logins cannot grow it without end.
type Throttle struct {
	mu            sync.Mutex
	windows       map[string]*window
	loginFailures int
	ipFailures    int
	period        time.Duration
	maxKeys       int
	// Now is the clock; tests move it.
	Now func() time.Time
}

// window counts failures since start.
type window struct {
	start    time.Time
	failures int
}

// NewThrottle returns a Throttle with the default limits.
func NewThrottle() *Throttle {
	return &Throttle{
		windows:       make(map[string]*window),
		loginFailures: DefaultLoginFailures,
		ipFailures:    DefaultIPFailures,
		period:        DefaultWindow,
		maxKeys:       defaultMaxKeys,
		Now:           time.Now,
	}
}

func loginKey(login, ip string) string { return "l\x00" + NormalizeUsername(login) + "\x00" + ip }
func ipKey(ip string) string           { return "i\x00" + ip }

// Check returns a *Throttled error when the login from ip, or ip itself,
// has failed too often within the window.
func (t *Throttle) Check(login, ip string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	var wait time.Duration
	for _, k := range []struct {
		key   string
		limit int
	}{{loginKey(login, ip), t.loginFailures}, {ipKey(ip), t.ipFailures}} {
		w := t.live(k.key, now)
		if w != nil && w.failures >= k.limit {
			wait = max(wait, w.start.Add(t.period).Sub(now))
		}
	}
	if wait > 0 {
		return &Throttled{RetryAfter: max(wait, time.Second)}
	}
	return nil
}

// Fail counts a failed sign-in of login from ip.
func (t *Throttle) Fail(login, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	for _, key := range []string{loginKey(login, ip), ipKey(ip)} {
		w := t.live(key, now)
		if w == nil {
			t.makeRoom(now)
			w = &window{start: now}
			t.windows[key] = w
		}
		w.failures++
	}
}

// Succeed forgets the failures of login from ip: the person got in.
func (t *Throttle) Succeed(login, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.windows, loginKey(login, ip))
}

// live returns the window of key unless it has expired (then it is dropped).
func (t *Throttle) live(key string, now time.Time) *window {
	w := t.windows[key]
	if w != nil && !now.Before(w.start.Add(t.period)) {
		delete(t.windows, key)
		return nil
	}
	return w
}

// makeRoom drops expired windows when the map is full and, if that is not
// enough, the oldest one.
func (t *Throttle) makeRoom(now time.Time) {
	if len(t.windows) < t.maxKeys {
		return
	}
	var oldestKey string
	var oldest time.Time
	for k, w := range t.windows {
		if !now.Before(w.start.Add(t.period)) {
			delete(t.windows, k)
			continue
		}
		if oldestKey == "" || w.start.Before(oldest) {
			oldestKey, oldest = k, w.start
		}
	}
	if len(t.windows) >= t.maxKeys {
		delete(t.windows, oldestKey)
	}
}
