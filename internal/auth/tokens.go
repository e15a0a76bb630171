package auth

import (
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
)

// Tokens issues and checks the API's JWTs. (Skeleton: to be filled in.)
type Tokens struct {
	db         *database.DB
	secret     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
}

// NewTokens returns Tokens signing with secret.
func NewTokens(db *database.DB, secret []byte, accessTTL, refreshTTL time.Duration) *Tokens {
	return &Tokens{db: db, secret: secret, accessTTL: accessTTL, refreshTTL: refreshTTL}
}

// UserID returns the user of a valid access token.
func (t *Tokens) UserID(access string) (int64, error) { return 0, apperr.ErrUnauthenticated }
