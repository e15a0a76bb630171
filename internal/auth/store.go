package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
)

// Store keeps users and sessions.
type Store struct {
	db    *database.DB
	zones *database.Hooks[int64] // user ids
	// deactivated is told of a user's deactivation (the phone package
	// revokes their paired phones).
	deactivated *database.Hooks[int64]
	// cache remembers request users for CachedUserBySession and
	// CachedRequestUser (PostgreSQL); nil: every request reads them.
	cache *SessionCache
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store {
	return &Store{db: db, zones: &database.Hooks[int64]{}, deactivated: &database.Hooks[int64]{}}
}

// WithTx returns the store working in the caller's transaction tx: its
// writes commit or roll back with the caller's (see database.DB.WithTx).
func (s *Store) WithTx(tx *sql.Tx) *Store {
	return &Store{db: s.db.WithTx(tx), zones: s.zones, deactivated: s.deactivated}
}

// UseCache lets CachedUserBySession and CachedRequestUser answer from c.
// Only PostgreSQL has one (see SessionCache): on SQLite the statement
// that finds a request's user is a call in this process, cheap as it is.
func (s *Store) UseCache(c *SessionCache) { s.cache = c }

// OnDeactivate registers h for every deactivation of a user, called inside
// its transaction (an error rolls the deactivation back).
func (s *Store) OnDeactivate(h ZoneHook) { s.deactivated.Add(h) }

// ZoneHook is told, inside the transaction of a change, that the time
// zone user userID lives in may have changed (their own zone or their
// branch). What it writes with tx commits with the change; an error rolls
// the change back. The task events re-schedule the user's all-day due
// notifications through it without this package knowing of tasks.
type ZoneHook func(ctx context.Context, tx *sql.Tx, userID int64) error

// OnZoneChange registers h for every change of a user's zone or branch,
// by an admin (Update) or by the user (UpdateProfile).
func (s *Store) OnZoneChange(h ZoneHook) { s.zones.Add(h) }

// zoneChanged calls the zone hooks for userID inside tx.
func (s *Store) zoneChanged(ctx context.Context, tx *sql.Tx, userID int64) error {
	return s.zones.Run(ctx, tx, userID)
}

const userColumns = `u.id, u.username, u.first_name, u.last_name, u.email, u.role, u.data_scope,
	COALESCE(u.branch_id, 0), COALESCE(b.name, ''), COALESCE(b.time_zone, ''), u.time_zone, u.is_active,
	u.date_joined, u.last_login, u.version, u.password_hash <> '', u.must_change_password`

const userFrom = ` FROM users u LEFT JOIN branches b ON b.id = u.branch_id`

// scanUser reads userColumns; before are columns selected ahead of them.
func scanUser(row interface{ Scan(...any) error }, before ...any) (*User, error) {
	var u User
	var last sql.NullTime
	err := row.Scan(append(before, &u.ID, &u.Username, &u.FirstName, &u.LastName, &u.Email, &u.Role, &u.DataScope,
		&u.BranchID, &u.BranchName, &u.BranchTZ, &u.TimeZone, &u.IsActive, &u.DateJoined, &last, &u.Version, &u.passwordSet, &u.MustChangePassword)...)
	if err != nil {
		return nil, err
	}
	u.DateJoined = u.DateJoined.UTC()
	if last.Valid {
		t := last.Time.UTC()
		u.LastLogin = &t
	}
	return &u, nil
}

// Get returns a user by id, active or not.
func (s *Store) Get(ctx context.Context, id int64) (*User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, nil
}

// ByUsername returns a user by login, compared case-insensitively.
func (s *Store) ByUsername(ctx context.Context, username string) (*User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.username = $1`, NormalizeUsername(username)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", username, err)
	}
	return u, nil
}

// Authenticate checks a login and password. Unknown logins, wrong
// passwords and inactive users all fail with ErrUnauthenticated and take
// the same time.
func (s *Store) Authenticate(ctx context.Context, username, password string) (*User, error) {
	var id int64
	var hash string
	var active bool
	err := s.db.QueryRowContext(ctx, `SELECT id, password_hash, is_active FROM users WHERE username = $1`,
		NormalizeUsername(username)).Scan(&id, &hash, &active)
	if errors.Is(err, sql.ErrNoRows) {
		CheckPassword(dummyHash(), password)
		return nil, apperr.ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if !CheckPassword(hash, password) || !active {
		return nil, apperr.ErrUnauthenticated
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET last_login = $1 WHERE id = $2`, database.Now(), id); err != nil {
		return nil, fmt.Errorf("record login: %w", err)
	}
	return s.Get(ctx, id)
}

// requestFactColumns read RequestFacts with the user u of a request. The
// phone's status is written out, not bound: the EXISTS is then a probe of
// the partial index phone_devices_one_active (WHERE status = 'active'),
// which a parameter would hide from PostgreSQL's generic plan, and
// SQLite would compile the statement again on every run.
const requestFactColumns = `(SELECT version FROM dictionary_version WHERE id = 1),
	EXISTS (SELECT 1 FROM phone_devices d WHERE d.user_id = u.id AND d.status = 'active')`

// RequestUser returns user id, active or not, with the facts of a
// request (RequestFacts): the user of an API token, whose request then
// needs no more statements than a session's.
func (s *Store) RequestUser(ctx context.Context, id int64) (*User, error) {
	var facts RequestFacts
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+requestFactColumns+`, `+userColumns+userFrom+` WHERE u.id = $1`, id),
		&facts.DictionaryVersion, &facts.Phone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get user %d: %w", id, err)
	}
	facts.PhoneKnown = true
	u.Request = facts
	return u, nil
}

// CachedRequestUser is RequestUser for a request that changes nothing
// (GET, HEAD): an active user this process knows (see SessionCache)
// costs no statement. The user is the caller's own copy.
func (s *Store) CachedRequestUser(ctx context.Context, id int64) (*User, error) {
	c := s.cache
	if c == nil {
		return s.RequestUser(ctx, id)
	}
	gen, on := c.begin()
	if !on {
		return s.RequestUser(ctx, id)
	}
	if u, ok := c.user(id); ok {
		return &u, nil
	}
	u, err := s.RequestUser(ctx, id)
	if err == nil && u.IsActive {
		c.keepUser(gen, *u)
	}
	return u, err
}

// Session lifetimes are extended on use at most this often.
const sessionTouchEvery = 10 * time.Minute

// CreateSession starts a browser session for the user and returns the
// token for its cookie. Only a hash of the token is stored.
func (s *Store) CreateSession(ctx context.Context, userID int64, ttl time.Duration, ip, userAgent string) (string, error) {
	token := randomToken()
	now := database.Now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, hashToken(token), userID, now, now.Add(ttl), now, ip, truncate(userAgent, 300))
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// UserBySession returns the active user of a live session, sliding its
// expiry forward by ttl.
func (s *Store) UserBySession(ctx context.Context, token string, ttl time.Duration) (*User, error) {
	if token == "" {
		return nil, apperr.ErrUnauthenticated
	}
	u, _, err := s.userBySession(ctx, hashToken(token), ttl)
	return u, err
}

// CachedUserBySession is UserBySession for a request that changes
// nothing (GET, HEAD): a session this process knows (see SessionCache)
// costs no statement while it is neither expired nor due for its touch.
// The user is the caller's own copy.
func (s *Store) CachedUserBySession(ctx context.Context, token string, ttl time.Duration) (*User, error) {
	c := s.cache
	if c == nil || token == "" {
		return s.UserBySession(ctx, token, ttl)
	}
	gen, on := c.begin()
	if !on {
		return s.UserBySession(ctx, token, ttl)
	}
	h := hashToken(token)
	now := database.Now()
	if e, ok := c.session(h); ok && now.Before(e.expires) && now.Sub(e.seen) <= sessionTouchEvery {
		return &e.user, nil
	}
	u, e, err := s.userBySession(ctx, h, ttl)
	if err == nil && e != nil {
		c.keepSession(gen, h, *e)
	}
	return u, err
}

// userBySession is UserBySession by the token's hash h. The entry is
// what a cache may keep of the answer: nil when the session was touched
// (its trigger makes the cache forget it anyway).
func (s *Store) userBySession(ctx context.Context, h string, ttl time.Duration) (*User, *sessionEntry, error) {
	// The session, its user, the bell's count and the request's facts in
	// one statement: every page asks this. The count is a range of the
	// partial index notifications_unread_idx.
	var expires, seen time.Time
	var unread int
	var facts RequestFacts
	row := s.db.QueryRowContext(ctx, `SELECT s.expires_at, s.last_seen_at,
		(SELECT COUNT(*) FROM notifications n WHERE n.user_id = u.id AND NOT n.is_read), `+requestFactColumns+`, `+userColumns+userFrom+
		` JOIN sessions s ON s.user_id = u.id WHERE s.token_hash = $1`, h)
	u, err := scanUser(row, &expires, &seen, &unread, &facts.DictionaryVersion, &facts.Phone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, apperr.ErrUnauthenticated
	}
	if err != nil {
		return nil, nil, fmt.Errorf("session: %w", err)
	}
	now := database.Now()
	if !now.Before(expires) {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, h)
		return nil, nil, apperr.ErrUnauthenticated
	}
	if !u.IsActive {
		return nil, nil, apperr.ErrUnauthenticated
	}
	u.Unread, u.UnreadKnown = unread, true
	facts.PhoneKnown = true
	u.Request = facts
	if now.Sub(seen) > sessionTouchEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3`,
			now, now.Add(ttl), h); err != nil {
			return nil, nil, fmt.Errorf("touch session: %w", err)
		}
		return u, nil, nil
	}
	return u, &sessionEntry{user: *u, expires: expires, seen: seen}, nil
}

// DeleteSession ends a browser session.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token))
	return err
}

// DeleteUserSessions ends every session of a user (deactivation, password reset).
func (s *Store) DeleteUserSessions(ctx context.Context, q database.Querier, userID int64) error {
	_, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return err
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// PurgeExpired deletes sessions and refresh tokens that can no longer be
// used, so the tables stay the size of the active user base.
func (s *Store) PurgeExpired(ctx context.Context) (int64, error) {
	now := database.Now()
	var total int64
	for _, q := range []string{
		`DELETE FROM sessions WHERE expires_at < $1`,
		`DELETE FROM refresh_tokens WHERE expires_at < $1`,
	} {
		res, err := s.db.ExecContext(ctx, q, now)
		if err != nil {
			return total, fmt.Errorf("purge expired credentials: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
