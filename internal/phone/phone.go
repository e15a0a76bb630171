// Package phone pairs a user's Android phone with the CRM and carries
// call requests to it: a click on a number in the CRM becomes a command
// the phone fetches (long-poll, later also a push), shows, and opens in
// the system dialer, acknowledging each step.
//
// Secrets never rest in the database: a pairing's secret and a device's
// token are stored as SHA-256 hashes, and the audit log records the steps,
// never the secrets.
package phone

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// Defaults of the protocol.
const (
	// DefaultPairingTTL is how long a QR code's pairing link may be claimed, and
	// how long after the claim the user has to confirm the code.
	DefaultPairingTTL = 5 * time.Minute
	// MaxPairingAttempts is how many wrong secrets a pairing takes before
	// it refuses every claim (429 too_many_attempts).
	MaxPairingAttempts = 5
	// DefaultCallTTL is how long a call request stays open.
	DefaultCallTTL = 2 * time.Minute
	// MaxWait bounds a long-poll; DefaultWait is what a phone is told.
	MaxWait     = 30 * time.Second
	DefaultWait = 25 * time.Second
)

// Failures a phone or the CRM side can meet; the server maps them to the
// contract's status codes and {"error": code} bodies.
var (
	// ErrInvalidPairing: no such pairing, a wrong secret, or one already used.
	ErrInvalidPairing = errors.New("invalid_pairing")
	// ErrPairingExpired: the pairing's five minutes are over.
	ErrPairingExpired = errors.New("pairing_expired")
	// ErrTooManyAttempts: too many wrong secrets for this pairing.
	ErrTooManyAttempts = errors.New("too_many_attempts")
	// ErrDeviceRevoked: the device credential was revoked (unpaired,
	// replaced by another phone, its user deactivated).
	ErrDeviceRevoked = errors.New("device_revoked")
	// ErrBadCredential: no device credential, or one that matches no device.
	ErrBadCredential = errors.New("device_unauthorized")
	// ErrNoActiveDevice: the user has no confirmed phone to call from.
	ErrNoActiveDevice = errors.New("no_active_device")
	// ErrNotClaimed: the pairing cannot be confirmed (not claimed yet, or
	// finished).
	ErrNotClaimed = errors.New("pairing_not_claimed")
)

// Call request statuses. A request moves forward only, along
// pending → sent → delivered → opened → dialed | cancelled; expired,
// failed, superseded and withdrawn end it from any open status.
const (
	StatusPending    = "pending"
	StatusSent       = "sent"
	StatusDelivered  = "delivered"
	StatusOpened     = "opened"
	StatusDialed     = "dialed"
	StatusCancelled  = "cancelled"
	StatusExpired    = "expired"
	StatusFailed     = "failed"
	StatusSuperseded = "superseded"
	StatusWithdrawn  = "withdrawn"
)

// OpenStatuses are those of a request still on its way; a user has at
// most one request in them.
var OpenStatuses = []string{StatusPending, StatusSent, StatusDelivered, StatusOpened}

// rank orders the statuses of the forward path; every ending status has
// the top rank, so nothing moves a request on from it.
func rank(status string) int {
	switch status {
	case StatusPending:
		return 0
	case StatusSent:
		return 1
	case StatusDelivered:
		return 2
	case StatusOpened:
		return 3
	}
	return 4
}

// IsOpen reports whether a request in status is still on its way.
func IsOpen(status string) bool { return rank(status) < 4 }

// Advance is the status a request in cur takes after an event that
// would move it to next, and whether the event came late (changes
// nothing: the request is already there, further on, or ended).
func Advance(cur, next string) (string, bool) {
	if !IsOpen(cur) || rank(next) <= rank(cur) {
		return cur, true
	}
	return next, false
}

// AckTypes maps a phone's acknowledgement to the status it moves the
// request to.
var AckTypes = map[string]string{
	"delivered": StatusDelivered,
	"opened":    StatusOpened,
	"dialed":    StatusDialed,
	"cancelled": StatusCancelled,
	"error":     StatusFailed,
}

// Channels a phone may name in an acknowledgement.
var Channels = map[string]bool{"fcm": true, "poll": true}

// Device statuses. Queries write DeviceActive into their text, never as a
// bound value: phone_devices_one_active is a partial index WHERE status =
// 'active', and SQLite recompiles on every run a statement that compared a
// bound value with it (so does a PostgreSQL generic plan lose the index).
const (
	DevicePending = "pending"
	DeviceActive  = "active"
	DeviceRevoked = "revoked"
)

// Pairing statuses.
const (
	PairingPending  = "pending"
	PairingClaimed  = "claimed"
	PairingActive   = "active"
	PairingRejected = "rejected"
	PairingExpired  = "expired"
)

// NewSecret returns 32 random bytes as base64url without padding: a
// pairing secret or a device token.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the stored form of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// sameHash compares a secret with a stored hash in constant time.
func sameHash(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(Hash(secret)), []byte(hash)) == 1
}

// newConfirmCode is the 4-digit code shown on the phone and the page.
func newConfirmCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%04d", n.Int64())
}

// ParseLink reads the pairing id and secret from a QR code's link
// (<base>/m/pair#v=1&p=<id>&s=<secret>), as strictly as the app does: no
// credentials in the URL, each parameter once, version 1, a secret of 32
// bytes in base64url without padding.
func ParseLink(link string) (id, secret string, ok bool) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || !strings.HasSuffix(u.Path, "/m/pair") {
		return "", "", false
	}
	v, err := url.ParseQuery(u.Fragment)
	if err != nil || len(v["v"]) != 1 || len(v["p"]) != 1 || len(v["s"]) != 1 || v.Get("v") != "1" {
		return "", "", false
	}
	id, secret = v.Get("p"), v.Get("s")
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/ %") {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(secret)
	if err != nil || len(raw) != 32 {
		return "", "", false
	}
	return id, secret, true
}
