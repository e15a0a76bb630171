package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// testThrottle is a Throttle on db with a clock the test moves and a
// sleep that only records how long it was asked to wait.
type testThrottle struct {
	*auth.Throttle
	now    *time.Time
	mu     sync.Mutex
	waited []time.Duration
}

func newTestThrottle(db *database.DB, now *time.Time) *testThrottle {
	tt := &testThrottle{Throttle: auth.NewThrottle(db), now: now}
	tt.Now = func() time.Time { return *tt.now }
	tt.Sleep = func(_ context.Context, d time.Duration) error {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		tt.waited = append(tt.waited, d)
		return nil
	}
	return tt
}

func (tt *testThrottle) fail(t *testing.T, login, ip string) auth.Failures {
	t.Helper()
	f, err := tt.Fail(t.Context(), login, ip)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func start() *time.Time {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	return &now
}

func TestThrottleLocksALoginAfterFiveFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		now := start()
		th := newTestThrottle(db, now)
		for i := range auth.DefaultLoginFailures {
			if err := th.Check(t.Context(), "Alisa", "10.0.0.1"); err != nil {
				t.Fatalf("attempt %d refused: %v", i+1, err)
			}
			if f := th.fail(t, "alisa", "10.0.0.1"); f.Login != i+1 {
				t.Fatalf("failure %d counted as %d", i+1, f.Login)
			}
		}
		err := th.Check(t.Context(), "ALISA ", "10.0.0.1")
		var thr *auth.Throttled
		if !errors.As(err, &thr) || !errors.Is(err, apperr.ErrThrottled) {
			t.Fatalf("sixth attempt: %v, want Throttled", err)
		}
		if thr.RetryAfter != auth.DefaultWindow {
			t.Errorf("RetryAfter = %v, want %v", thr.RetryAfter, auth.DefaultWindow)
		}
		t.Run("the same login from another address is not stopped", func(t *testing.T) {
			if err := th.Check(t.Context(), "alisa", "10.0.0.2"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("the wait shrinks as time passes", func(t *testing.T) {
			*now = now.Add(10 * time.Minute)
			if err := th.Check(t.Context(), "alisa", "10.0.0.1"); !errors.As(err, &thr) || thr.RetryAfter != 5*time.Minute {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("after the window the login may try again, counted afresh", func(t *testing.T) {
			*now = now.Add(5 * time.Minute)
			if err := th.Check(t.Context(), "alisa", "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
			if f := th.fail(t, "alisa", "10.0.0.1"); f.Login != 1 {
				t.Fatalf("the new window starts at %d", f.Login)
			}
		})
		if len(th.waited) != 0 {
			t.Errorf("a few failures slowed the address down: %v", th.waited)
		}
	})
}

func TestThrottleForgetsFailuresAfterASuccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		th := newTestThrottle(db, start())
		for range auth.DefaultLoginFailures - 1 {
			th.fail(t, "boris", "10.0.0.1")
		}
		if err := th.Succeed(t.Context(), "boris", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if f := th.fail(t, "boris", "10.0.0.1"); f.Login != 1 || f.IP != auth.DefaultLoginFailures {
			t.Fatalf("after a success: %+v, want the login at 1 and the address still counting", f)
		}
		if err := th.Check(t.Context(), "boris", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	})
}

// An office behind one NAT address: many people mistype their passwords
// within a quarter of an hour. The address is slowed down, more with each
// failure and never beyond the cap, but nobody is shut out.
func TestThrottleSlowsABusyOfficeDownWithoutShuttingItOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		th := newTestThrottle(db, start())
		const office = "203.0.113.7"
		for i := range auth.DefaultIPFailures + 20 {
			login := fmt.Sprintf("user%d", i%30)
			if err := th.Check(t.Context(), login, office); err != nil {
				t.Fatalf("attempt %d refused: %v", i+1, err)
			}
			th.fail(t, login, office)
		}
		th.waited = nil
		if err := th.Check(t.Context(), "someone-new", office); err != nil {
			t.Fatalf("a new login from the office: %v, want only a delay", err)
		}
		if len(th.waited) != 1 || th.waited[0] != auth.DefaultMaxDelay {
			t.Fatalf("waited %v, want one wait of %v", th.waited, auth.DefaultMaxDelay)
		}
		if err := th.Check(t.Context(), "someone-new", "203.0.113.8"); err != nil || len(th.waited) != 1 {
			t.Fatalf("another address: %v, waits %v", err, th.waited)
		}
	})
}

func TestThrottleDelayGrowsToTheCap(t *testing.T) {
	th := auth.NewThrottle(nil)
	cases := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0},
		{auth.DefaultIPFailures - 1, 0},
		{auth.DefaultIPFailures, 200 * time.Millisecond},
		{auth.DefaultIPFailures + 1, 400 * time.Millisecond},
		{auth.DefaultIPFailures + 3, 1600 * time.Millisecond},
		{auth.DefaultIPFailures + 4, auth.DefaultMaxDelay},
		{auth.DefaultIPFailures + 1_000_000, auth.DefaultMaxDelay},
	}
	for _, c := range cases {
		if got := th.Delay(c.failures); got != c.want {
			t.Errorf("Delay(%d) = %v, want %v", c.failures, got, c.want)
		}
	}
}

func TestThrottleWaitEndsWithTheRequest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		th := auth.NewThrottle(db)
		th.MaxDelay, th.FirstDelay = time.Hour, time.Hour
		for range auth.DefaultIPFailures {
			if _, err := th.Fail(t.Context(), "x", "10.9.9.9"); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := th.Check(ctx, "y", "10.9.9.9"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the request's deadline", err)
		}
	})
}

// The counts are in the database: a new Throttle (a restarted server, or
// a second process on the same database) sees them.
func TestThrottleStateSurvivesARestart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		now := start()
		first := newTestThrottle(db, now)
		for range auth.DefaultLoginFailures {
			first.fail(t, "vera", "10.0.0.5")
		}
		second := newTestThrottle(db, now)
		if err := second.Check(t.Context(), "vera", "10.0.0.5"); !errors.Is(err, apperr.ErrThrottled) {
			t.Fatalf("a new Throttle: %v, want throttled", err)
		}
	})
}

// TestThrottleLetsThroughOnlyFiveOfManyAttemptsSentAtOnce: attempts at one
// login that arrive together are counted before their passwords are
// checked, so no more than the limit are ever checked in one window.
func TestThrottleLetsThroughOnlyFiveOfManyAttemptsSentAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		now := start()
		const attempts = 20
		var wg sync.WaitGroup
		passed := make(chan error, attempts)
		for range attempts {
			th := newTestThrottle(db, now)
			wg.Go(func() { passed <- th.Reserve(context.Background(), "boss", "10.2.2.2") })
		}
		wg.Wait()
		close(passed)
		ok := 0
		for err := range passed {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, apperr.ErrThrottled):
				t.Fatal(err)
			}
		}
		if ok != auth.DefaultLoginFailures {
			t.Fatalf("%d of %d attempts sent at once were let through, want %d", ok, attempts, auth.DefaultLoginFailures)
		}
		// Signing in forgets the attempts.
		th := newTestThrottle(db, now)
		if err := th.Succeed(context.Background(), "boss", "10.2.2.2"); err != nil {
			t.Fatal(err)
		}
		if err := th.Reserve(context.Background(), "boss", "10.2.2.2"); err != nil {
			t.Fatalf("after a sign-in: %v", err)
		}
	})
}

func TestThrottleCountsConcurrentFailuresExactly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		now := start()
		const workers, each = 8, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			// Each worker is its own Throttle, as each server process is.
			th := newTestThrottle(db, now)
			wg.Go(func() {
				for range each {
					if _, err := th.Fail(context.Background(), fmt.Sprintf("login%d", w), "10.1.1.1"); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if f := newTestThrottle(db, now).fail(t, "login0", "10.1.1.1"); f.IP != workers*each+1 || f.Login != each+1 {
			t.Fatalf("counts %+v, want IP %d and login %d", f, workers*each+1, each+1)
		}
	})
}

func TestThrottlePurgesEndedWindows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		now := start()
		th := newTestThrottle(db, now)
		th.fail(t, "gleb", "10.0.0.3")
		*now = now.Add(auth.DefaultWindow - time.Second)
		th.fail(t, "darya", "10.0.0.4")
		*now = now.Add(2 * time.Second)
		n, err := th.PurgeExpired(t.Context())
		if err != nil || n != 2 {
			t.Fatalf("purged %d, %v; want the two rows of gleb's window", n, err)
		}
		var left int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM login_throttle`).Scan(&left); err != nil || left != 2 {
			t.Fatalf("rows left %d, %v; want darya's two", left, err)
		}
	})
}
