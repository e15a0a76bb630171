package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
)

func newTestThrottle() (*Throttle, *time.Time) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	th := NewThrottle()
	th.Now = func() time.Time { return now }
	return th, &now
}

func TestThrottleStopsALoginAfterFiveFailures(t *testing.T) {
	th, now := newTestThrottle()
	for i := range DefaultLoginFailures {
		if err := th.Check("Alisa", "10.0.0.1"); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		th.Fail("alisa", "10.0.0.1")
	}
	err := th.Check("ALISA ", "10.0.0.1")
	var thr *Throttled
	if !errors.As(err, &thr) || !errors.Is(err, apperr.ErrThrottled) {
		t.Fatalf("sixth attempt: %v, want Throttled", err)
	}
	if thr.RetryAfter != DefaultWindow {
		t.Errorf("RetryAfter = %v, want %v", thr.RetryAfter, DefaultWindow)
	}

	t.Run("the same login from another address is not stopped", func(t *testing.T) {
		if err := th.Check("alisa", "10.0.0.2"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the wait shrinks as time passes", func(t *testing.T) {
		*now = now.Add(10 * time.Minute)
		if err := th.Check("alisa", "10.0.0.1"); !errors.As(err, &thr) || thr.RetryAfter != 5*time.Minute {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("after the window the login may try again", func(t *testing.T) {
		*now = now.Add(5 * time.Minute)
		if err := th.Check("alisa", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestThrottleForgetsFailuresAfterASuccess(t *testing.T) {
	th, _ := newTestThrottle()
	for range DefaultLoginFailures - 1 {
		th.Fail("boris", "10.0.0.1")
	}
	th.Succeed("boris", "10.0.0.1")
	th.Fail("boris", "10.0.0.1")
	if err := th.Check("boris", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

func TestThrottleStopsAnAddressTryingManyLogins(t *testing.T) {
	th, _ := newTestThrottle()
	for i := range DefaultIPFailures {
		th.Fail(fmt.Sprintf("user%d", i), "10.0.0.9")
	}
	if err := th.Check("someone-new", "10.0.0.9"); !errors.Is(err, apperr.ErrThrottled) {
		t.Fatalf("err = %v, want throttled", err)
	}
	if err := th.Check("someone-new", "10.0.0.10"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestThrottleStaysBounded(t *testing.T) {
	th, now := newTestThrottle()
	th.maxKeys = 100
	for i := range 1000 {
		*now = now.Add(time.Millisecond)
		th.Fail(fmt.Sprintf("user%d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250))
	}
	if n := len(th.windows); n > th.maxKeys {
		t.Fatalf("%d windows kept, limit %d", n, th.maxKeys)
	}
}
