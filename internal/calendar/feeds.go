package calendar

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
)

// Feeds keeps the users' feed tokens. A token is 32 random bytes in
// base64url; only its SHA-256 is stored, so the URL is shown once, when
// it is made, and cannot be read back.
type Feeds struct{ db *database.DB }

// NewFeeds returns the feed token store on db.
func NewFeeds(db *database.DB) *Feeds { return &Feeds{db: db} }

// Enable gives the scope's user a new feed token and returns it; an
// earlier token of theirs stops working in the same transaction. The
// change is audited ("calendar.enable").
func (f *Feeds) Enable(ctx context.Context, by access.Scope) (string, error) {
	if by.UserID == 0 {
		return "", apperr.ErrUnauthenticated
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	err := f.db.InTx(ctx, func(tx *sql.Tx) error {
		var replaced bool
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) > 0 FROM calendar_feeds WHERE user_id = $1`, by.UserID).Scan(&replaced)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
			by.UserID, hashToken(token), database.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: "calendar.enable", ObjectType: "user",
			ObjectID: audit.ID(by.UserID), Detail: map[string]any{"replaced": replaced}})
	})
	if err != nil {
		return "", fmt.Errorf("enable calendar feed: %w", err)
	}
	return token, nil
}

// Disable revokes the scope's user's feed token, if any; audited
// ("calendar.disable") when there was one.
func (f *Feeds) Disable(ctx context.Context, by access.Scope) error {
	if by.UserID == 0 {
		return apperr.ErrUnauthenticated
	}
	err := f.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM calendar_feeds WHERE user_id = $1`, by.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: "calendar.disable", ObjectType: "user", ObjectID: audit.ID(by.UserID)})
	})
	if err != nil {
		return fmt.Errorf("disable calendar feed: %w", err)
	}
	return nil
}

// Enabled reports whether the user has a feed switched on.
func (f *Feeds) Enabled(ctx context.Context, userID int64) (bool, error) {
	var on bool
	err := f.db.QueryRowContext(ctx, `SELECT COUNT(*) > 0 FROM calendar_feeds WHERE user_id = $1`, userID).Scan(&on)
	if err != nil {
		return false, fmt.Errorf("calendar feed: %w", err)
	}
	return on, nil
}

// UserID returns the user whose feed token is token: apperr.ErrNotFound
// for a token that is unknown, revoked, or whose user is inactive.
func (f *Feeds) UserID(ctx context.Context, token string) (int64, error) {
	if len(token) < 40 || len(token) > 60 {
		return 0, apperr.ErrNotFound
	}
	var id int64
	err := f.db.QueryRowContext(ctx, `SELECT u.id FROM calendar_feeds f JOIN users u ON u.id = f.user_id
		WHERE f.token_hash = $1 AND u.is_active`, hashToken(token)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, apperr.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("calendar feed: %w", err)
	}
	return id, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
