package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
)

// Throttled is ErrThrottled with how long to wait, for the Retry-After header.
type Throttled struct{ RetryAfter time.Duration }

func (e *Throttled) Error() string {
	return fmt.Sprintf("слишком много попыток входа, повторите через %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, apperr.ErrThrottled) true.
func (e *Throttled) Is(target error) bool { return target == apperr.ErrThrottled }

// Default limits: a person who mistypes a password five times waits a
// quarter of an hour. An address past fifty failures — an office behind
// one NAT address, or someone guessing many logins — is slowed down, each
// further attempt waiting longer, up to DefaultMaxDelay, but never shut
// out: the people of that office still sign in.
const (
	DefaultLoginFailures = 5
	DefaultIPFailures    = 50
	DefaultWindow        = 15 * time.Minute
	DefaultFirstDelay    = 200 * time.Millisecond
	DefaultMaxDelay      = 3 * time.Second
)

// Throttle limits failed sign-ins. It keeps its counts in the database
// (table login_throttle), so they survive a restart and several server
// processes on one database share them. A window that has ended restarts
// at its next failure; the rows of windows nobody returns to are deleted
// by PurgeExpired, which the periodic purge job calls (internal/jobs).
type Throttle struct {
	db *database.DB
	// LoginFailures failures of one login from one address within Window
	// lock that login from that address until the window ends.
	LoginFailures int
	// IPFailures failures from one address within Window slow every
	// further attempt from it: FirstDelay, doubling, at most MaxDelay.
	IPFailures           int
	Window               time.Duration
	FirstDelay, MaxDelay time.Duration
	// Now is the clock and Sleep the wait of a slowed attempt; tests
	// replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewThrottle returns a Throttle on db with the default limits.
func NewThrottle(db *database.DB) *Throttle {
	return &Throttle{
		db:            db,
		LoginFailures: DefaultLoginFailures,
		IPFailures:    DefaultIPFailures,
		Window:        DefaultWindow,
		FirstDelay:    DefaultFirstDelay,
		MaxDelay:      DefaultMaxDelay,
		Now:           time.Now,
		Sleep:         sleep,
	}
}

// sleep waits d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// subjectPart keeps a key short enough for any index whatever a client
// sends as its login or (through a proxy) its address.
func subjectPart(s string) string {
	if len(s) <= 64 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "#" + hex.EncodeToString(sum[:16])
}

// loginSubject names one login from one address. The address comes first
// and holds no space, so no two pairs share a subject.
func loginSubject(login, ip string) string {
	return "login " + subjectPart(ip) + " " + subjectPart(NormalizeUsername(login))
}

func ipSubject(ip string) string { return "ip " + subjectPart(ip) }

// attemptSubject counts the attempts of login from ip, failed or still
// being checked (see Reserve).
func attemptSubject(login, ip string) string {
	return "try " + subjectPart(ip) + " " + subjectPart(NormalizeUsername(login))
}

// Check refuses login from ip with a *Throttled error while that login is
// locked there. When ip itself is past its limit it first waits (honouring
// ctx, holding no connection or lock) — the attempt goes on afterwards, so
// a right password from a busy address still signs in.
func (t *Throttle) Check(ctx context.Context, login, ip string) error {
	now := t.Now().UnixMilli()
	rows, err := t.db.QueryContext(ctx, `SELECT subject, failures, expires_ms FROM login_throttle
		WHERE subject IN ($1, $2) AND expires_ms > $3`, loginSubject(login, ip), ipSubject(ip), now)
	if err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	var lockedUntil int64
	var ipFailures int
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var subject string
			var failures int
			var expires int64
			if err := rows.Scan(&subject, &failures, &expires); err != nil {
				return err
			}
			if subject == ipSubject(ip) {
				ipFailures = failures
			} else if failures >= t.LoginFailures {
				lockedUntil = expires
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	if lockedUntil > 0 {
		wait := time.Duration(lockedUntil-now) * time.Millisecond
		return &Throttled{RetryAfter: max(wait, time.Second)}
	}
	if d := t.Delay(ipFailures); d > 0 {
		return t.Sleep(ctx, d)
	}
	return nil
}

// Delay is how long an attempt waits from an address that has failed
// failures times in the current window: nothing below IPFailures, then
// FirstDelay doubling with each further failure, at most MaxDelay.
func (t *Throttle) Delay(failures int) time.Duration {
	over := failures - t.IPFailures
	if over < 0 {
		return 0
	}
	d := t.FirstDelay
	for range min(over, 30) {
		d *= 2
		if d >= t.MaxDelay {
			break
		}
	}
	return min(d, t.MaxDelay)
}

// Failures are the counts of the current windows after a failure.
type Failures struct {
	Login int // of the login from the address
	IP    int // of the address, whatever the login
}

// Fail counts a failed sign-in of login from ip, for the login there and
// for the address, and returns the new counts. Each count is one atomic
// upsert, so concurrent failures from several processes are all counted;
// a window that has ended starts again at one.
func (t *Throttle) Fail(ctx context.Context, login, ip string) (Failures, error) {
	var f Failures
	now := t.Now()
	nowMS := now.UnixMilli()
	expires := now.Add(t.Window).UnixMilli()
	for _, c := range []struct {
		subject string
		count   *int
	}{{loginSubject(login, ip), &f.Login}, {ipSubject(ip), &f.IP}} {
		n, _, err := t.bump(ctx, c.subject, nowMS, expires)
		if err != nil {
			return f, fmt.Errorf("login throttle: count failure: %w", err)
		}
		*c.count = n
	}
	return f, nil
}

// bump adds one to subject's count in its window, one atomic upsert; a
// window that has ended starts again at one. It returns the count and when
// the window ends.
func (t *Throttle) bump(ctx context.Context, subject string, nowMS, expires int64) (int, int64, error) {
	var n int
	var ends int64
	err := t.db.QueryRowContext(ctx, `INSERT INTO login_throttle (subject, failures, started_ms, expires_ms)
		VALUES ($1, 1, $2, $3)
		ON CONFLICT (subject) DO UPDATE SET
			failures   = CASE WHEN login_throttle.expires_ms <= $2 THEN 1 ELSE login_throttle.failures + 1 END,
			started_ms = CASE WHEN login_throttle.expires_ms <= $2 THEN $2 ELSE login_throttle.started_ms END,
			expires_ms = CASE WHEN login_throttle.expires_ms <= $2 THEN $3 ELSE login_throttle.expires_ms END
		RETURNING failures, expires_ms`, subject, nowMS, expires).Scan(&n, &ends)
	return n, ends, err
}

// Reserve counts an attempt of login from ip before its password is
// checked, and refuses it with a *Throttled error past LoginFailures
// attempts in the window. Check alone reads the failures counted so far,
// so attempts sent at once would all pass it before the first failure is
// counted; the attempt count closes that gap. Succeed forgets it.
func (t *Throttle) Reserve(ctx context.Context, login, ip string) error {
	now := t.Now()
	n, ends, err := t.bump(ctx, attemptSubject(login, ip), now.UnixMilli(), now.Add(t.Window).UnixMilli())
	if err != nil {
		return fmt.Errorf("login throttle: count attempt: %w", err)
	}
	if n > t.LoginFailures {
		return &Throttled{RetryAfter: max(time.Duration(ends-now.UnixMilli())*time.Millisecond, time.Second)}
	}
	return nil
}

// Succeed forgets the failures of login from ip: the person got in. The
// address keeps its count; one colleague signing in does not vouch for
// the rest of the office.
func (t *Throttle) Succeed(ctx context.Context, login, ip string) error {
	if _, err := t.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE subject IN ($1, $2)`,
		loginSubject(login, ip), attemptSubject(login, ip)); err != nil {
		return fmt.Errorf("login throttle: forget failures: %w", err)
	}
	return nil
}

// PurgeExpired deletes the windows that have ended (an index range scan)
// and returns how many. The periodic purge job calls it, so the table
// holds only the windows of the last DefaultWindow or so.
func (t *Throttle) PurgeExpired(ctx context.Context) (int64, error) {
	res, err := t.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE expires_ms <= $1`, t.Now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("login throttle: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
