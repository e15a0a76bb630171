package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
)

// ErrTokenInvalid is a bad, expired, used or revoked token. It is an
// ErrUnauthenticated, so anything that only knows the general kind still
// answers 401; the token endpoints answer it with code "token_not_valid".
var ErrTokenInvalid = fmt.Errorf("%w: токен недействителен или просрочен", apperr.ErrUnauthenticated)

// Token types, as SimpleJWT names them in the token_type claim; an access
// token is never accepted where a refresh token is expected and vice versa.
const (
	tokenAccess  = "access"
	tokenRefresh = "refresh"
)

// Pair is what the token endpoints answer: a short-lived access token for
// the Authorization header and a one-time refresh token to get the next pair.
type Pair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// claims are SimpleJWT's: token_type, user_id, jti, iat, exp.
type claims struct {
	TokenType string `json:"token_type"`
	UserID    int64  `json:"user_id"`
	jwt.RegisteredClaims
}

// Tokens issues and checks the API's JWTs (HS256). Access tokens are
// stateless; every refresh token's jti is stored so that it can be used
// once (rotation), revoked (sign-out, deactivation, password reset) and
// recognised when reused — a stolen token's tell.
type Tokens struct {
	db         *database.DB
	secret     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	// Now is the clock; tests move it to expire tokens.
	Now func() time.Time
}

// NewTokens returns Tokens signing with secret.
func NewTokens(db *database.DB, secret []byte, accessTTL, refreshTTL time.Duration) *Tokens {
	return &Tokens{db: db, secret: secret, accessTTL: accessTTL, refreshTTL: refreshTTL, Now: database.Now}
}

// WithTx returns Tokens working in the caller's transaction tx (see
// database.DB.WithTx).
func (t *Tokens) WithTx(tx *sql.Tx) *Tokens {
	bound := *t
	bound.db = t.db.WithTx(tx)
	return &bound
}

// SetTTL changes the lifetimes of tokens issued from now on (tests use tiny ones).
func (t *Tokens) SetTTL(access, refresh time.Duration) { t.accessTTL, t.refreshTTL = access, refresh }

// Issue returns a new pair for the user and records its refresh token.
func (t *Tokens) Issue(ctx context.Context, userID int64) (Pair, error) {
	return t.issue(ctx, t.db, userID)
}

func (t *Tokens) issue(ctx context.Context, q database.Querier, userID int64) (Pair, error) {
	now := t.now()
	access, _, err := t.sign(tokenAccess, userID, now, t.accessTTL)
	if err != nil {
		return Pair{}, err
	}
	refresh, jti, err := t.sign(tokenRefresh, userID, now, t.refreshTTL)
	if err != nil {
		return Pair{}, err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO refresh_tokens (jti, user_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)`,
		jti, userID, now, now.Add(t.refreshTTL)); err != nil {
		return Pair{}, fmt.Errorf("store refresh token: %w", err)
	}
	return Pair{Access: access, Refresh: refresh}, nil
}

// UserID returns the user of a valid access token.
func (t *Tokens) UserID(access string) (int64, error) {
	id, _, err := t.Verify(access)
	return id, err
}

// Verify returns the user of a valid access token and when the token
// stops being valid: what a long-lived request made with it (an event
// stream) must not outlive.
func (t *Tokens) Verify(access string) (userID int64, expires time.Time, err error) {
	c, err := t.parse(access, tokenAccess)
	if err != nil {
		return 0, time.Time{}, err
	}
	if c.ExpiresAt != nil {
		expires = c.ExpiresAt.Time
	}
	return c.UserID, expires, nil
}

// Refresh spends a refresh token and returns the next pair. A token that
// was already spent revokes every refresh token of its user: either the
// user or a thief is replaying it, and both must sign in again.
func (t *Tokens) Refresh(ctx context.Context, refresh string) (Pair, error) {
	c, err := t.parse(refresh, tokenRefresh)
	if err != nil {
		return Pair{}, err
	}
	var pair Pair
	reused := false
	err = t.db.InTx(ctx, func(tx *sql.Tx) error {
		var userID int64
		var expires time.Time
		var used, revoked sql.NullTime
		var active bool
		err := tx.QueryRowContext(ctx, `SELECT r.user_id, r.expires_at, r.used_at, r.revoked_at, u.is_active
			FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE r.jti = $1`, c.ID).
			Scan(&userID, &expires, &used, &revoked, &active)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrTokenInvalid
		case err != nil:
			return fmt.Errorf("read refresh token: %w", err)
		case used.Valid:
			reused = true
			return ErrTokenInvalid
		case revoked.Valid, !t.now().Before(expires), !active, userID != c.UserID:
			return ErrTokenInvalid
		}
		// used_at IS NULL makes two concurrent refreshes of one token
		// produce one pair, not two.
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE jti = $2 AND used_at IS NULL`, t.now(), c.ID)
		if err != nil {
			return fmt.Errorf("spend refresh token: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			reused = true
			return ErrTokenInvalid
		}
		pair, err = t.issue(ctx, tx, userID)
		return err
	})
	if reused {
		if rerr := t.RevokeUser(ctx, t.db, c.UserID); rerr != nil {
			return Pair{}, rerr
		}
	}
	return pair, err
}

// Blacklist revokes a refresh token (sign-out of an app). An unknown or
// malformed token is refused like any bad token.
func (t *Tokens) Blacklist(ctx context.Context, refresh string) error {
	c, err := t.parse(refresh, tokenRefresh)
	if err != nil {
		return err
	}
	res, err := t.db.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1 WHERE jti = $2 AND revoked_at IS NULL`, t.now(), c.ID)
	if err != nil {
		return fmt.Errorf("revoke refresh token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var exists int
		err := t.db.QueryRowContext(ctx, `SELECT 1 FROM refresh_tokens WHERE jti = $1`, c.ID).Scan(&exists)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTokenInvalid
		}
		return err
	}
	return nil
}

// RevokeUser revokes every live refresh token of a user, with q — the
// transaction of a deactivation or password reset.
func (t *Tokens) RevokeUser(ctx context.Context, q database.Querier, userID int64) error {
	return revokeRefreshTokens(ctx, q, userID, t.now())
}

func revokeRefreshTokens(ctx context.Context, q database.Querier, userID int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, now, userID)
	if err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	return nil
}

func (t *Tokens) now() time.Time { return t.Now().UTC().Truncate(time.Microsecond) }

func (t *Tokens) sign(kind string, userID int64, now time.Time, ttl time.Duration) (token, jti string, err error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	jti = hex.EncodeToString(b)
	c := claims{TokenType: kind, UserID: userID, RegisteredClaims: jwt.RegisteredClaims{
		ID:        jti,
		Subject:   strconv.FormatInt(userID, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", "", fmt.Errorf("sign token: %w", err)
	}
	return token, jti, nil
}

// parse checks signature, algorithm, expiry and type.
func (t *Tokens) parse(raw, kind string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(t.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	if err != nil || c.TokenType != kind || c.UserID <= 0 || c.ID == "" {
		return nil, ErrTokenInvalid
	}
	return &c, nil
}
