package phone

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/live"
)

// Live event types this package emits to the requesting user.
const (
	EventCallRequest = "call_request" // {"id", "status"}
	EventPairing     = "phone_pairing"
	EventDevice      = "phone_device"
)

// Store keeps pairings, devices and call requests.
type Store struct {
	db *database.DB
	// CallTTL is how long a new call request stays open; PairingTTL how
	// long a pairing may be claimed, and then confirmed.
	CallTTL    time.Duration
	PairingTTL time.Duration
	now        func() time.Time
	queue      Queue // nil: no timed expiry, no push (push.go)
	push       bool  // FCM configured: requests are pushed too
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store {
	return &Store{db: db, CallTTL: DefaultCallTTL, PairingTTL: DefaultPairingTTL, now: database.Now}
}

// SetClock replaces the store's clock (tests of expiry).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Pairing is one QR code's pairing link and what became of it.
type Pairing struct {
	ID          int64
	UserID      int64
	Status      string
	ConfirmCode string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	DeviceID    int64
	DeviceName  string
	DeviceModel string
}

// Device is a paired phone.
type Device struct {
	ID           int64
	UserID       int64
	UserName     string
	UserActive   bool
	Name         string
	Model        string
	OS           string
	AppVersion   string
	Status       string
	PushProvider string
	RevokeReason string
	CreatedAt    time.Time
	ActivatedAt  *time.Time
	RevokedAt    *time.Time
	LastSeenAt   *time.Time
	tokenHash    string
}

// actor is the scope a device acts with in the audit log: its user.
func (d Device) actor() access.Scope {
	return access.Scope{UserID: d.UserID, Name: d.UserName}
}

// CredentialID is the device id as the phone holds it.
func (d Device) CredentialID() string { return strconv.FormatInt(d.ID, 10) }

func (s *Store) expire(p *Pairing) {
	if (p.Status == PairingPending || p.Status == PairingClaimed) && !s.now().Before(p.ExpiresAt) {
		p.Status = PairingExpired
	}
}

// CreatePairing starts a pairing for the scope's user and returns it with
// its secret, which exists only in this answer (the QR code).
func (s *Store) CreatePairing(ctx context.Context, scope access.Scope) (Pairing, string, error) {
	if scope.UserID == 0 {
		return Pairing{}, "", apperr.ErrForbidden
	}
	secret := NewSecret()
	now := s.now()
	p := Pairing{UserID: scope.UserID, Status: PairingPending, ConfirmCode: newConfirmCode(), CreatedAt: now, ExpiresAt: now.Add(s.PairingTTL)}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO phone_pairings (user_id, secret_hash, confirm_code, status, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, p.UserID, Hash(secret), p.ConfirmCode, p.Status, p.CreatedAt, p.ExpiresAt).Scan(&p.ID); err != nil {
			return fmt.Errorf("create pairing: %w", err)
		}
		return audit.Record(ctx, tx, scope, audit.Entry{Action: "phone.pair", ObjectType: "phone_pairing", ObjectID: audit.ID(p.ID),
			Detail: map[string]any{"step": "created"}})
	})
	return p, secret, err
}

const pairingColumns = `p.id, p.user_id, p.status, p.confirm_code, p.created_at, p.expires_at, COALESCE(p.device_id, 0),
	COALESCE(d.name, ''), COALESCE(d.model, '')`

func scanPairing(row interface{ Scan(...any) error }) (Pairing, error) {
	var p Pairing
	err := row.Scan(&p.ID, &p.UserID, &p.Status, &p.ConfirmCode, &p.CreatedAt, &p.ExpiresAt, &p.DeviceID, &p.DeviceName, &p.DeviceModel)
	return p, err
}

// pairing reads a pairing of the scope's user (admins: anyone's).
func (s *Store) pairing(ctx context.Context, q database.Querier, scope access.Scope, id int64) (Pairing, error) {
	p, err := scanPairing(q.QueryRowContext(ctx, `SELECT `+pairingColumns+` FROM phone_pairings p
		LEFT JOIN phone_devices d ON d.id = p.device_id WHERE p.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && p.UserID != scope.UserID && !scope.IsAdmin()) {
		return Pairing{}, apperr.ErrNotFound
	}
	if err != nil {
		return Pairing{}, fmt.Errorf("get pairing %d: %w", id, err)
	}
	s.expire(&p)
	return p, nil
}

// GetPairing returns a pairing of the scope's user.
func (s *Store) GetPairing(ctx context.Context, scope access.Scope, id int64) (Pairing, error) {
	return s.pairing(ctx, s.db, scope, id)
}

// DeviceInfo is what a phone says of itself when it pairs.
type DeviceInfo struct {
	Name       string `json:"name"`
	Model      string `json:"model"`
	OS         string `json:"os"`
	AppVersion string `json:"app_version"`
	InstallID  string `json:"install_id"`
}

// Claim is a phone's pairing request (POST /api/phone/v1/pair).
type Claim struct {
	PairingID    string
	Secret       string
	Device       DeviceInfo
	PushProvider string
	PushToken    string
}

// Claimed is the answer to a successful claim: the device credential,
// shown to the phone once.
type Claimed struct {
	Device      Device
	Token       string
	ConfirmCode string
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// Claim lets a phone take a pairing with its secret. A wrong secret
// counts against the pairing (and is committed even though the claim
// fails); a used, unknown or locked pairing is refused the same way
// whatever the secret.
func (s *Store) Claim(ctx context.Context, c Claim) (Claimed, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(c.PairingID), 10, 64)
	if err != nil || id <= 0 || c.Secret == "" {
		return Claimed{}, ErrInvalidPairing
	}
	provider := c.PushProvider
	if provider != "fcm" {
		provider, c.PushToken = "none", ""
	}
	var out Claimed
	var refusal error
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var userID int64
		var hash, status, code, userName string
		var attempts int
		var expires time.Time
		err := tx.QueryRowContext(ctx, `SELECT p.user_id, p.secret_hash, p.status, p.confirm_code, p.attempts, p.expires_at,
			u.first_name || ' ' || u.last_name FROM phone_pairings p JOIN users u ON u.id = p.user_id WHERE p.id = $1`, id).
			Scan(&userID, &hash, &status, &code, &attempts, &expires, &userName)
		if errors.Is(err, sql.ErrNoRows) {
			refusal = ErrInvalidPairing
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim pairing %d: %w", id, err)
		}
		actor := access.Scope{UserID: userID, Name: userName}
		deny := func(reason error) error {
			refusal = reason
			return audit.Record(ctx, tx, actor, audit.Entry{Action: "phone.pair", ObjectType: "phone_pairing", ObjectID: audit.ID(id),
				Outcome: audit.Denied, Detail: map[string]any{"step": "claim", "reason": reason.Error()}})
		}
		switch {
		case attempts >= MaxPairingAttempts:
			return deny(ErrTooManyAttempts)
		case !sameHash(c.Secret, hash):
			if _, err := tx.ExecContext(ctx, `UPDATE phone_pairings SET attempts = attempts + 1 WHERE id = $1`, id); err != nil {
				return fmt.Errorf("count pairing attempt: %w", err)
			}
			if attempts+1 >= MaxPairingAttempts {
				return deny(ErrTooManyAttempts)
			}
			return deny(ErrInvalidPairing)
		case status != PairingPending:
			return deny(ErrInvalidPairing)
		case !s.now().Before(expires):
			return deny(ErrPairingExpired)
		}
		now := s.now()
		out.Token = NewSecret()
		out.ConfirmCode = code
		d := Device{UserID: userID, UserName: userName, Name: clip(c.Device.Name, 100), Model: clip(c.Device.Model, 100),
			OS: clip(c.Device.OS, 100), AppVersion: clip(c.Device.AppVersion, 50), Status: DevicePending, PushProvider: provider, CreatedAt: now}
		if err := tx.QueryRowContext(ctx, `INSERT INTO phone_devices (user_id, name, model, os, app_version, install_id, token_hash,
			push_provider, push_token, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			d.UserID, d.Name, d.Model, d.OS, d.AppVersion, clip(c.Device.InstallID, 100), Hash(out.Token), provider, clip(c.PushToken, 4096),
			d.Status, now).Scan(&d.ID); err != nil {
			return fmt.Errorf("create device: %w", err)
		}
		// The user confirms within the pairing's time, counted from the claim.
		if _, err := tx.ExecContext(ctx, `UPDATE phone_pairings SET status = $1, device_id = $2, expires_at = $3, qr_sealed = NULL WHERE id = $4`,
			PairingClaimed, d.ID, now.Add(s.PairingTTL), id); err != nil {
			return fmt.Errorf("claim pairing %d: %w", id, err)
		}
		out.Device = d
		if err := audit.Record(ctx, tx, actor, audit.Entry{Action: "phone.pair", ObjectType: "phone_pairing", ObjectID: audit.ID(id),
			Detail: map[string]any{"step": "claimed", "device": d.ID, "model": d.Model}}); err != nil {
			return err
		}
		_, err = live.Emit(ctx, tx, userID, EventPairing, map[string]any{"id": id, "status": PairingClaimed})
		return err
	})
	if err != nil {
		return Claimed{}, err
	}
	if refusal != nil {
		return Claimed{}, refusal
	}
	return out, nil
}

// ConfirmPairing makes the claimed phone the user's active one (the code
// matched on both screens); the phone paired before it is revoked. code,
// when given, must be the pairing's.
func (s *Store) ConfirmPairing(ctx context.Context, scope access.Scope, id int64, code string) (Pairing, error) {
	var out Pairing
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := s.pairing(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if p.UserID != scope.UserID {
			return apperr.Forbid("Подтвердить привязку может только владелец телефона")
		}
		if p.Status != PairingClaimed {
			return pairingStateError(p.Status)
		}
		if code = strings.TrimSpace(code); code != "" && code != p.ConfirmCode {
			return apperr.Invalid{"confirm_code": "Код не совпадает с кодом на телефоне"}
		}
		// One active phone per user: the old one goes first.
		old, err := database.Column[int64](ctx, tx, `SELECT id FROM phone_devices WHERE user_id = $1 AND status = '`+DeviceActive+`' AND id <> $2`,
			p.UserID, p.DeviceID)
		if err != nil {
			return err
		}
		for _, d := range old {
			if err := s.revoke(ctx, tx, scope, p.UserID, d, "replaced"); err != nil {
				return err
			}
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE phone_devices SET status = $1, activated_at = $2 WHERE id = $3 AND status = $4`,
			DeviceActive, now, p.DeviceID, DevicePending)
		if err != nil {
			return fmt.Errorf("activate device: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &apperr.Conflict{Message: "Телефон уже отвязан. Создайте новый QR-код."}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE phone_pairings SET status = $1 WHERE id = $2`, PairingActive, id); err != nil {
			return fmt.Errorf("confirm pairing: %w", err)
		}
		if err := audit.Record(ctx, tx, scope, audit.Entry{Action: "phone.confirm", ObjectType: "phone_device", ObjectID: audit.ID(p.DeviceID),
			Detail: map[string]any{"pairing": id, "model": p.DeviceModel}}); err != nil {
			return err
		}
		if _, err := live.Emit(ctx, tx, p.UserID, EventPairing, map[string]any{"id": id, "status": PairingActive}); err != nil {
			return err
		}
		p.Status = PairingActive
		out = p
		return nil
	})
	return out, err
}

// RejectPairing refuses the claimed phone (the codes differed): its
// credential dies at once.
func (s *Store) RejectPairing(ctx context.Context, scope access.Scope, id int64) (Pairing, error) {
	var out Pairing
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := s.pairing(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if p.Status != PairingClaimed && p.Status != PairingPending {
			return pairingStateError(p.Status)
		}
		if p.DeviceID != 0 {
			if err := s.revoke(ctx, tx, scope, p.UserID, p.DeviceID, "rejected"); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE phone_pairings SET status = $1 WHERE id = $2`, PairingRejected, id); err != nil {
			return fmt.Errorf("reject pairing: %w", err)
		}
		if err := audit.Record(ctx, tx, scope, audit.Entry{Action: "phone.reject", ObjectType: "phone_pairing", ObjectID: audit.ID(id)}); err != nil {
			return err
		}
		if _, err := live.Emit(ctx, tx, p.UserID, EventPairing, map[string]any{"id": id, "status": PairingRejected}); err != nil {
			return err
		}
		p.Status = PairingRejected
		out = p
		return nil
	})
	return out, err
}

func pairingStateError(status string) error {
	switch status {
	case PairingExpired:
		return &apperr.Conflict{Message: "Время привязки истекло. Создайте новый QR-код."}
	case PairingPending:
		return &apperr.Conflict{Message: "Телефон ещё не отсканировал QR-код."}
	}
	return &apperr.Conflict{Message: "Привязка уже завершена."}
}

const deviceColumns = `d.id, d.user_id, u.first_name || ' ' || u.last_name, u.is_active, d.name, d.model, d.os, d.app_version, d.status,
	d.push_provider, d.revoke_reason, d.created_at, d.activated_at, d.revoked_at, d.last_seen_at, d.token_hash`

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var act, rev, seen sql.NullTime
	err := row.Scan(&d.ID, &d.UserID, &d.UserName, &d.UserActive, &d.Name, &d.Model, &d.OS, &d.AppVersion, &d.Status,
		&d.PushProvider, &d.RevokeReason, &d.CreatedAt, &act, &rev, &seen, &d.tokenHash)
	d.ActivatedAt, d.RevokedAt, d.LastSeenAt = timePtr(act), timePtr(rev), timePtr(seen)
	return d, err
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

// Devices lists the scope's own phones, newest first; an admin sees
// everyone's (userID, when not 0, picks one user).
func (s *Store) Devices(ctx context.Context, scope access.Scope, userID int64) ([]Device, error) {
	var w database.Where
	switch {
	case !scope.Acts():
		w.Add("1 = 0")
	case !scope.IsAdmin():
		w.Add("d.user_id = ?", scope.UserID)
	case userID != 0:
		w.Add("d.user_id = ?", userID)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceColumns+` FROM phone_devices d JOIN users u ON u.id = d.user_id`+w.SQL()+
		` ORDER BY d.id DESC LIMIT 500`, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	out := []Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Revoke unpairs a phone: its owner or an admin may.
func (s *Store) Revoke(ctx context.Context, scope access.Scope, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var userID int64
		var status string
		err := tx.QueryRowContext(ctx, `SELECT user_id, status FROM phone_devices WHERE id = $1`, id).Scan(&userID, &status)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && userID != scope.UserID && !scope.IsAdmin()) {
			return apperr.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("revoke device %d: %w", id, err)
		}
		if status == DeviceRevoked {
			return nil
		}
		reason := "unpaired"
		if userID != scope.UserID {
			reason = "admin"
		}
		return s.revoke(ctx, tx, scope, userID, id, reason)
	})
}

// revoke kills a device's credential inside tx and ends its open call
// requests (failed: no phone to carry them).
func (s *Store) revoke(ctx context.Context, tx *sql.Tx, by access.Scope, userID, id int64, reason string) error {
	if err := s.scheduleUnpaired(ctx, tx, id); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE phone_devices SET status = $1, revoked_at = $2, revoke_reason = $3, push_token = ''
		WHERE id = $4 AND status <> $1`, DeviceRevoked, s.now(), reason, id)
	if err != nil {
		return fmt.Errorf("revoke device %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	open, err := s.openRequests(ctx, tx, `device_id = $1`, id)
	if err != nil {
		return err
	}
	for _, r := range open {
		if err := s.setStatus(ctx, tx, r, StatusFailed, event{Type: "device_revoked"}); err != nil {
			return err
		}
	}
	if err := audit.Record(ctx, tx, by, audit.Entry{Action: "phone.revoke", ObjectType: "phone_device", ObjectID: audit.ID(id),
		Detail: map[string]any{"reason": reason, "user": userID}}); err != nil {
		return err
	}
	_, err = live.Emit(ctx, tx, userID, EventDevice, map[string]any{"id": id, "status": DeviceRevoked})
	return err
}

// RevokeUser revokes the phones of a deactivated user inside the
// deactivation's transaction (auth's deactivation hook).
func (s *Store) RevokeUser(ctx context.Context, tx *sql.Tx, userID int64) error {
	ids, err := database.Column[int64](ctx, tx, `SELECT id FROM phone_devices WHERE user_id = $1 AND status <> $2`, userID, DeviceRevoked)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.revoke(ctx, tx, access.System("user.deactivate"), userID, id, "user_deactivated"); err != nil {
			return err
		}
	}
	return nil
}

// Authenticate finds the device of a credential "<device_id>.<token>".
// A revoked device (or one whose user was deactivated) is ErrDeviceRevoked;
// anything else that does not match is ErrBadCredential.
func (s *Store) Authenticate(ctx context.Context, credential string) (Device, error) {
	idText, token, ok := strings.Cut(strings.TrimSpace(credential), ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || token == "" {
		return Device{}, ErrBadCredential
	}
	d, err := scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM phone_devices d JOIN users u ON u.id = d.user_id
		WHERE d.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, ErrBadCredential
	}
	if err != nil {
		return Device{}, fmt.Errorf("device credential: %w", err)
	}
	if !sameHash(token, d.tokenHash) {
		return Device{}, ErrBadCredential
	}
	if d.Status == DeviceRevoked || !d.UserActive {
		return Device{}, ErrDeviceRevoked
	}
	return d, nil
}

// Seen records when the phone last called in (at most once a minute).
func (s *Store) Seen(ctx context.Context, d Device) error {
	now := s.now()
	if d.LastSeenAt != nil && now.Sub(*d.LastSeenAt) < time.Minute {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `UPDATE phone_devices SET last_seen_at = $1 WHERE id = $2`, now, d.ID)
	return err
}

// SetPush stores the phone's push token ("fcm") or clears it ("none").
func (s *Store) SetPush(ctx context.Context, d Device, provider, token string) error {
	switch provider {
	case "fcm":
		if strings.TrimSpace(token) == "" {
			return apperr.Invalid{"token": "Укажите токен FCM"}
		}
	case "none":
		token = ""
	case "":
		return apperr.Invalid{"provider": "Укажите провайдера: «fcm» или «none»"}
	default:
		return apperr.Invalid{"provider": "Ожидается «fcm» или «none»"}
	}
	_, err := s.db.ExecContext(ctx, `UPDATE phone_devices SET push_provider = $1, push_token = $2 WHERE id = $3`, provider, clip(token, 4096), d.ID)
	if err != nil {
		return fmt.Errorf("set push token: %w", err)
	}
	return nil
}

// Unpair is the phone revoking its own credential.
func (s *Store) Unpair(ctx context.Context, d Device) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.revoke(ctx, tx, d.actor(), d.UserID, d.ID, "unpaired_by_phone")
	})
}

// CallInput is a call request as the CRM side makes it. The server has
// checked that the company and contact are visible and read their names.
type CallInput struct {
	Phone       string
	Key         string // the Idempotency-Key header; "" makes every request new
	CompanyID   int64
	CompanyName string
	ContactID   int64
	ContactName string
}

// Event is one step of a call request's history.
type Event struct {
	Type    string    `json:"type"`
	At      time.Time `json:"at"`
	Channel string    `json:"channel"`
	Late    bool      `json:"late"`
}

// CallRequest is a number a user asked their phone to dial.
type CallRequest struct {
	ID           int64
	UserID       int64
	DeviceID     int64
	Phone        dedup.Phone
	PhoneDisplay string
	CompanyID    int64
	CompanyName  string
	ContactID    int64
	ContactName  string
	Status       string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Events       []Event
}

const requestColumns = `r.id, r.user_id, r.device_id, r.phone_e164, r.phone_ext, r.phone_display, COALESCE(r.company_id, 0), r.company_name,
	COALESCE(r.contact_id, 0), r.contact_name, r.status, r.created_at, r.expires_at`

func scanRequest(row interface{ Scan(...any) error }) (CallRequest, error) {
	var r CallRequest
	err := row.Scan(&r.ID, &r.UserID, &r.DeviceID, &r.Phone.E164, &r.Phone.Ext, &r.PhoneDisplay, &r.CompanyID, &r.CompanyName,
		&r.ContactID, &r.ContactName, &r.Status, &r.CreatedAt, &r.ExpiresAt)
	return r, err
}

func (s *Store) openRequests(ctx context.Context, q database.Querier, cond string, arg any) ([]CallRequest, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+requestColumns+` FROM phone_call_requests r WHERE `+cond+`
		AND r.status IN ('pending', 'sent', 'delivered', 'opened') ORDER BY r.id`, arg)
	if err != nil {
		return nil, fmt.Errorf("open call requests: %w", err)
	}
	defer rows.Close()
	var out []CallRequest
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("open call requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// event is a step to record with a status change.
type event struct {
	ID       string
	Type     string
	Channel  string
	DeviceAt time.Time
	Late     bool
}

// errRaced is a write that found its row changed since it was read (a
// concurrent transaction on PostgreSQL); inTx runs the whole step again.
var errRaced = errors.New("phone: changed concurrently")

// inTx runs fn in a transaction, again when it lost a race: a status
// changed under it, or a concurrent twin inserted the same key, event id,
// open request or active phone first. The next run reads what won.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.db.InTx(ctx, fn)
		if attempt < 5 && (errors.Is(err, errRaced) || database.IsUniqueViolation(err)) {
			continue
		}
		return err
	}
}

// setStatus moves r to status, records e, and tells the user's pages. The
// update holds only if r is still in the status it was read in, so that
// two acknowledgements at once never move a request backwards.
func (s *Store) setStatus(ctx context.Context, tx *sql.Tx, r CallRequest, status string, e event) error {
	now := s.now()
	if status != r.Status {
		res, err := tx.ExecContext(ctx, `UPDATE phone_call_requests SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`,
			status, now, r.ID, r.Status)
		if err != nil {
			return fmt.Errorf("call request %d: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errRaced
		}
	}
	if err := s.addEvent(ctx, tx, r.ID, e, status, now); err != nil {
		return err
	}
	if status == r.Status {
		return nil
	}
	_, err := live.Emit(ctx, tx, r.UserID, EventCallRequest, map[string]any{"id": r.ID, "status": status})
	return err
}

func (s *Store) addEvent(ctx context.Context, tx *sql.Tx, requestID int64, e event, statusAfter string, at time.Time) error {
	var eventID sql.NullString
	if e.ID != "" {
		eventID = sql.NullString{String: e.ID, Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO phone_call_events (request_id, event_id, type, channel, device_at, at, late, status_after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, requestID, eventID, e.Type, e.Channel, database.NullTime(e.DeviceAt), at, e.Late, statusAfter)
	if err != nil {
		return fmt.Errorf("call request %d event: %w", requestID, err)
	}
	return nil
}

// expireDue ends the user's open requests whose time is over.
func (s *Store) expireDue(ctx context.Context, tx *sql.Tx, userID int64) error {
	open, err := s.openRequests(ctx, tx, `r.user_id = $1`, userID)
	if err != nil {
		return err
	}
	now := s.now()
	for _, r := range open {
		if !now.Before(r.ExpiresAt) {
			if err := s.setStatus(ctx, tx, r, StatusExpired, event{Type: StatusExpired}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Request asks the user's active phone to dial a number. A key seen
// before returns that request (created false); the user's open request,
// if any, is superseded.
func (s *Store) Request(ctx context.Context, scope access.Scope, in CallInput) (CallRequest, bool, error) {
	if scope.UserID == 0 {
		return CallRequest{}, false, apperr.ErrForbidden
	}
	p, ok := dedup.NormalizePhone(in.Phone)
	if !ok {
		return CallRequest{}, false, apperr.Invalid{"phone": "Номер телефона не распознан. Пример: +7 495 123-45-67"}
	}
	in.Key = strings.TrimSpace(in.Key)
	if len(in.Key) > 200 {
		return CallRequest{}, false, apperr.Invalid{"idempotency_key": "Ключ длиннее 200 символов"}
	}
	var out CallRequest
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if in.Key != "" {
			r, err := scanRequest(tx.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM phone_call_requests r
				WHERE r.user_id = $1 AND r.idempotency_key = $2`, scope.UserID, in.Key))
			if err == nil {
				out = r
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("call request by key: %w", err)
			}
		}
		var deviceID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM phone_devices WHERE user_id = $1 AND status = '`+DeviceActive+`'`, scope.UserID).Scan(&deviceID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoActiveDevice
		}
		if err != nil {
			return fmt.Errorf("active device: %w", err)
		}
		if err := s.expireDue(ctx, tx, scope.UserID); err != nil {
			return err
		}
		open, err := s.openRequests(ctx, tx, `r.user_id = $1`, scope.UserID)
		if err != nil {
			return err
		}
		for _, r := range open {
			if err := s.setStatus(ctx, tx, r, StatusSuperseded, event{Type: StatusSuperseded}); err != nil {
				return err
			}
		}
		now := s.now()
		r := CallRequest{UserID: scope.UserID, DeviceID: deviceID, Phone: p, PhoneDisplay: dedup.FormatPhone(p),
			CompanyID: in.CompanyID, CompanyName: in.CompanyName, ContactID: in.ContactID, ContactName: in.ContactName,
			Status: StatusPending, CreatedAt: now, ExpiresAt: now.Add(s.CallTTL)}
		var key sql.NullString
		if in.Key != "" {
			key = sql.NullString{String: in.Key, Valid: true}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO phone_call_requests (user_id, device_id, idempotency_key, phone_e164, phone_ext,
			phone_display, company_id, contact_id, company_name, contact_name, status, created_at, updated_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING id`,
			r.UserID, r.DeviceID, key, p.E164, p.Ext, r.PhoneDisplay, database.NullInt64(r.CompanyID), database.NullInt64(r.ContactID),
			r.CompanyName, r.ContactName, r.Status, now, r.ExpiresAt).Scan(&r.ID); err != nil {
			return fmt.Errorf("create call request: %w", err)
		}
		if err := s.addEvent(ctx, tx, r.ID, event{Type: "created"}, r.Status, now); err != nil {
			return err
		}
		detail := map[string]any{"device": deviceID}
		if r.CompanyID != 0 {
			detail["company"] = r.CompanyID
		}
		if r.ContactID != 0 {
			detail["contact"] = r.ContactID
		}
		if err := audit.Record(ctx, tx, scope, audit.Entry{Action: "phone.call_request", ObjectType: "call_request", ObjectID: audit.ID(r.ID),
			Detail: detail}); err != nil {
			return err
		}
		if _, err := live.Emit(ctx, tx, r.UserID, EventCallRequest, map[string]any{"id": r.ID, "status": r.Status}); err != nil {
			return err
		}
		if err := s.schedule(ctx, tx, r); err != nil {
			return err
		}
		out, created = r, true
		return nil
	})
	return out, created, err
}

// GetRequest returns a call request of the scope's user (admins: anyone's)
// with its history.
func (s *Store) GetRequest(ctx context.Context, scope access.Scope, id int64) (CallRequest, error) {
	var out CallRequest
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.UserID != scope.UserID && !scope.IsAdmin() {
			return apperr.ErrNotFound
		}
		if IsOpen(r.Status) && !s.now().Before(r.ExpiresAt) {
			if err := s.expireDue(ctx, tx, r.UserID); err != nil {
				return err
			}
			if r, err = s.request(ctx, tx, id); err != nil {
				return err
			}
		}
		out = r
		return nil
	})
	if err != nil {
		return CallRequest{}, err
	}
	out.Events, err = s.events(ctx, id)
	return out, err
}

func (s *Store) request(ctx context.Context, q database.Querier, id int64) (CallRequest, error) {
	r, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM phone_call_requests r WHERE r.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return CallRequest{}, apperr.ErrNotFound
	}
	if err != nil {
		return CallRequest{}, fmt.Errorf("call request %d: %w", id, err)
	}
	return r, nil
}

func (s *Store) events(ctx context.Context, id int64) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT type, at, channel, late FROM phone_call_events WHERE request_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("call request events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Type, &e.At, &e.Channel, &e.Late); err != nil {
			return nil, fmt.Errorf("call request events: %w", err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Cancel withdraws the user's request while it is open; an ended one is
// returned as it is.
func (s *Store) Cancel(ctx context.Context, scope access.Scope, id int64) (CallRequest, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.UserID != scope.UserID {
			if scope.IsAdmin() {
				return apperr.Forbid("Отменить запрос звонка может только тот, кто его сделал")
			}
			return apperr.ErrNotFound
		}
		if err := s.expireDue(ctx, tx, r.UserID); err != nil {
			return err
		}
		if r, err = s.request(ctx, tx, id); err != nil || !IsOpen(r.Status) {
			return err
		}
		if err := s.setStatus(ctx, tx, r, StatusWithdrawn, event{Type: StatusWithdrawn}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, scope, audit.Entry{Action: "phone.call_cancel", ObjectType: "call_request", ObjectID: audit.ID(id)})
	})
	if err != nil {
		return CallRequest{}, err
	}
	return s.GetRequest(ctx, scope, id)
}

// Commands are the device's call requests not yet delivered; handing them
// out marks the pending ones sent (channel poll).
func (s *Store) Commands(ctx context.Context, d Device) ([]CallRequest, error) {
	// Most polls find nothing: a read, not a write transaction, says so.
	var waiting int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM phone_call_requests WHERE device_id = $1 AND status IN ($2, $3)`,
		d.ID, StatusPending, StatusSent).Scan(&waiting); err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	if waiting == 0 {
		return nil, nil
	}
	var out []CallRequest
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.expireDue(ctx, tx, d.UserID); err != nil {
			return err
		}
		open, err := s.openRequests(ctx, tx, `r.device_id = $1`, d.ID)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, r := range open {
			if rank(r.Status) > rank(StatusSent) {
				continue
			}
			if r.Status == StatusPending {
				if err := s.setStatus(ctx, tx, r, StatusSent, event{Type: StatusSent, Channel: "poll"}); err != nil {
					return err
				}
				r.Status = StatusSent
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Command returns one of the device's requests (pending becomes sent).
func (s *Store) Command(ctx context.Context, d Device, id int64) (CallRequest, error) {
	var out CallRequest
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.DeviceID != d.ID {
			return apperr.ErrNotFound
		}
		if err := s.expireDue(ctx, tx, d.UserID); err != nil {
			return err
		}
		if r, err = s.request(ctx, tx, id); err != nil {
			return err
		}
		if r.Status == StatusPending {
			if err := s.setStatus(ctx, tx, r, StatusSent, event{Type: StatusSent, Channel: "poll"}); err != nil {
				return err
			}
			r.Status = StatusSent
		}
		out = r
		return nil
	})
	return out, err
}

// Ack is a phone's acknowledgement of a command.
type Ack struct {
	EventID  string
	Type     string
	Channel  string
	DeviceAt time.Time
}

// Acknowledge records a phone's event and returns the request's status
// after it. The same event id again returns the first answer and records
// nothing; an event that would move the request back (or past its end) is
// kept as late and changes nothing.
func (s *Store) Acknowledge(ctx context.Context, d Device, id int64, a Ack) (string, error) {
	inv := apperr.Invalid{}
	a.EventID = strings.TrimSpace(a.EventID)
	if a.EventID == "" || len(a.EventID) > 100 {
		inv.Add("event_id", "Укажите event_id (до 100 символов)")
	}
	target, ok := AckTypes[a.Type]
	if !ok {
		inv.Add("type", "Ожидается delivered, opened, dialed, cancelled или error")
	}
	if a.Channel == "" {
		a.Channel = "poll"
	}
	if !Channels[a.Channel] {
		inv.Add("channel", "Ожидается fcm или poll")
	}
	if err := inv.Err(); err != nil {
		return "", err
	}
	var status string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.DeviceID != d.ID {
			return apperr.ErrNotFound
		}
		err = tx.QueryRowContext(ctx, `SELECT status_after FROM phone_call_events WHERE request_id = $1 AND event_id = $2`, id, a.EventID).Scan(&status)
		if err == nil {
			return nil // a repeat: the first answer
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("call request event: %w", err)
		}
		if err := s.expireDue(ctx, tx, d.UserID); err != nil {
			return err
		}
		if r, err = s.request(ctx, tx, id); err != nil {
			return err
		}
		next, late := Advance(r.Status, target)
		status = next
		return s.setStatus(ctx, tx, r, next, event{ID: a.EventID, Type: a.Type, Channel: a.Channel, DeviceAt: a.DeviceAt, Late: late})
	})
	return status, err
}
