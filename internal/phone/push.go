package phone

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/notify"
)

// Push: a call request also goes to the phone as an FCM data message
// (api.md, «FCM message»), sent by a River job enqueued in the request's
// own transaction. The message carries only the request's id and expiry;
// the phone fetches the number from the CRM. Whatever becomes of the push,
// the request stays available on the long-poll.

// Queue is what the store needs of the job queue (jobs.Jobs): to add a job
// in the caller's transaction.
type Queue interface {
	Enqueue(ctx context.Context, tx *sql.Tx, args river.JobArgs) (int64, error)
}

// SendArgs is the job that pushes a call request to its phone.
type SendArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind names the job kind in River's table.
func (SendArgs) Kind() string { return "phone.send" }

// InsertOpts bounds the attempts of real errors only: the worker stops at
// the request's expiry by itself (it snoozes, not fails, between tries).
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, Queue: PushQueue}
}

// PushQueue is the River queue of the pushes: its own workers, so that a
// burst of call requests is not queued behind imports and exports, nor
// they behind it.
const PushQueue = "phone_push"

// ExpireArgs is the job, scheduled at a request's expires_at, that ends
// it if it is still open.
type ExpireArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind names the job kind in River's table.
func (ExpireArgs) Kind() string { return "phone.expire" }

// InsertOpts retries a failed expiry a few times.
func (ExpireArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// UnpairedArgs is the best-effort «unpaired» message to a revoked phone
// that had a push token (the token is cleared with the revocation).
type UnpairedArgs struct {
	DeviceID int64  `json:"device_id"`
	Token    string `json:"token"`
}

// Kind names the job kind in River's table.
func (UnpairedArgs) Kind() string { return "phone.unpaired" }

// InsertOpts makes it one try: best effort.
func (UnpairedArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: PushQueue}
}

// Push message limits.
const (
	// MaxPushTTL is the longest time FCM keeps a message for an offline
	// phone; never beyond the request's own expiry.
	MaxPushTTL = 90 * time.Second
	// PushCollapseKey makes a newer request replace an older one waiting
	// in FCM for the same phone.
	PushCollapseKey = "call_request"
)

// PushMessage is one data-only message to a phone: its token, the data
// (strings only, no personal data) and how long FCM may keep it.
type PushMessage struct {
	Token string
	Data  map[string]string
	TTL   time.Duration
}

// CallMessage is the push of call request r at now: {"v", "type", "id",
// "exp"}, with a TTL of at most MaxPushTTL and never past the expiry. ok
// is false when the request has no time left.
func CallMessage(r CallRequest, token string, now time.Time) (PushMessage, bool) {
	ttl := min(MaxPushTTL, r.ExpiresAt.Sub(now).Truncate(time.Second))
	if ttl < time.Second {
		return PushMessage{}, false
	}
	return PushMessage{Token: token, TTL: ttl, Data: map[string]string{
		"v": "1", "type": "call_request", "id": strconv.FormatInt(r.ID, 10), "exp": r.ExpiresAt.UTC().Format(time.RFC3339),
	}}, true
}

// UnpairedMessage tells a revoked phone to forget its credential.
func UnpairedMessage(deviceID int64, token string) PushMessage {
	return PushMessage{Token: token, TTL: MaxPushTTL, Data: map[string]string{
		"v": "1", "type": "unpaired", "id": strconv.FormatInt(deviceID, 10),
	}}
}

// PushFault classifies a failed push by what the CRM does about it.
type PushFault int

// Kinds of push failure.
const (
	// PushRetry: FCM is busy or broken for a moment (QUOTA_EXCEEDED,
	// UNAVAILABLE, INTERNAL, the network): try again later, never past
	// the request's expiry.
	PushRetry PushFault = iota + 1
	// PushBadToken: the token is no longer valid (UNREGISTERED, or refused
	// as an invalid argument): clear it; the phone keeps the long-poll.
	PushBadToken
	// PushConfig: the server's FCM set-up is wrong (SENDER_ID_MISMATCH,
	// the key refused): only an administrator can fix it.
	PushConfig
)

// PushError is a push that failed, classified.
type PushError struct {
	Fault PushFault
	// Code is FCM's error code (UNREGISTERED, QUOTA_EXCEEDED, …) or a
	// short name of the failure.
	Code string
	// RetryAfter is FCM's Retry-After, when it sent one.
	RetryAfter time.Duration
	Err        error
}

func (e *PushError) Error() string { return "push " + e.Code + ": " + e.Err.Error() }
func (e *PushError) Unwrap() error { return e.Err }

// Pusher sends push messages (fcm.Sender); it returns a *PushError when
// FCM refused.
type Pusher interface {
	Push(ctx context.Context, m PushMessage) error
}

// SetQueue gives the store the job queue: a call request schedules its
// timed expiry, and, when push is on, its push to the phone.
func (s *Store) SetQueue(q Queue, push bool) {
	s.queue, s.push = q, push
}

// PushOn reports whether call requests are pushed through FCM.
func (s *Store) PushOn() bool { return s.queue != nil && s.push }

// schedule enqueues, in a new request's transaction, its expiry and its
// push (when the device has a token and FCM is configured).
func (s *Store) schedule(ctx context.Context, tx *sql.Tx, r CallRequest) error {
	if s.queue == nil {
		return nil
	}
	if _, err := s.queue.Enqueue(ctx, tx, scheduledExpiry{ExpireArgs{RequestID: r.ID}, r.ExpiresAt}); err != nil {
		return err
	}
	if !s.push {
		return nil
	}
	var token string
	if err := tx.QueryRowContext(ctx, `SELECT push_token FROM phone_devices WHERE id = $1 AND push_provider = 'fcm'`, r.DeviceID).
		Scan(&token); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("push token: %w", err)
	}
	if token == "" {
		return nil
	}
	_, err := s.queue.Enqueue(ctx, tx, SendArgs{RequestID: r.ID})
	return err
}

// scheduledExpiry is ExpireArgs with the time it runs at.
type scheduledExpiry struct {
	ExpireArgs
	at time.Time
}

// InsertOpts schedules the expiry at the request's expires_at.
func (e scheduledExpiry) InsertOpts() river.InsertOpts {
	o := e.ExpireArgs.InsertOpts()
	o.ScheduledAt = e.at
	return o
}

// PushTarget is what the send job needs: the request and its device's
// current push token ("" when it has none any more).
func (s *Store) PushTarget(ctx context.Context, id int64) (CallRequest, string, error) {
	r, err := s.request(ctx, s.db, id)
	if err != nil {
		return CallRequest{}, "", err
	}
	var token string
	err = s.db.QueryRowContext(ctx, `SELECT push_token FROM phone_devices WHERE id = $1 AND status = '`+DeviceActive+`' AND push_provider = 'fcm'`,
		r.DeviceID).Scan(&token)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return CallRequest{}, "", fmt.Errorf("push token: %w", err)
	}
	return r, token, nil
}

// Pushed records that FCM accepted the push of request id: a pending
// request becomes sent (channel fcm); one the phone already fetched keeps
// its status and the push is noted as late. A configuration problem, if
// one was recorded, is over.
func (s *Store) Pushed(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM phone_push_problems WHERE provider = 'fcm'`); err != nil {
			return fmt.Errorf("push problem: %w", err)
		}
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		next, late := Advance(r.Status, StatusSent)
		return s.setStatus(ctx, tx, r, next, event{Type: StatusSent, Channel: "fcm", Late: late})
	})
}

// PushFailed records that the push of request id gave up (reason: FCM's
// code); the request stays on the long-poll, its status unchanged.
func (s *Store) PushFailed(ctx context.Context, id int64, reason string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.addEvent(ctx, tx, r.ID, event{Type: "push_failed", Channel: "fcm"}, r.Status, s.now())
	})
}

// PushActor is the system actor of the push jobs in the audit log.
const PushActor = "job:phone.send"

// DropPushToken clears a device's push token that FCM no longer accepts
// (UNREGISTERED), unless the phone sent a new one meanwhile. The device
// keeps working through the long-poll.
func (s *Store) DropPushToken(ctx context.Context, deviceID int64, token, code string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE phone_devices SET push_provider = 'none', push_token = '' WHERE id = $1 AND push_token = $2`,
			deviceID, token)
		if err != nil {
			return fmt.Errorf("drop push token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, access.System(PushActor), audit.Entry{Action: "phone.push_token_cleared", ObjectType: "phone_device",
			ObjectID: audit.ID(deviceID), Detail: map[string]any{"reason": code}})
	})
}

// KindPushProblem is the notification to administrators of a push
// configuration problem.
const KindPushProblem = "phone.push_problem"

// PushProblem is a recorded configuration problem of the push channel.
type PushProblem struct {
	Code   string
	Detail string // Russian, for the administrator
	Since  time.Time
}

// pushProblemDetail is what the administrator reads about code.
func pushProblemDetail(code string) string {
	switch code {
	case "SENDER_ID_MISMATCH":
		return "FCM отклоняет отправку: ключ сервисного аккаунта (CRM_FCM_CREDENTIALS) из другого проекта Firebase, чем приложение на телефонах. " +
			"Возьмите ключ проекта, в котором зарегистрировано приложение. Пока не исправлено, телефоны получают запросы только через long-poll."
	case "THIRD_PARTY_AUTH_ERROR", "UNAUTHENTICATED", "PERMISSION_DENIED":
		return "FCM не принимает ключ сервисного аккаунта (CRM_FCM_CREDENTIALS): ключ отозван или у аккаунта нет прав на Firebase Cloud Messaging. " +
			"Пока не исправлено, телефоны получают запросы только через long-poll."
	}
	return "FCM отклоняет отправку из-за настройки сервера (" + code + "). Пока не исправлено, телефоны получают запросы только через long-poll."
}

// SetPushProblem records a configuration problem of FCM and tells every
// active administrator once per problem code.
func (s *Store) SetPushProblem(ctx context.Context, code string) error {
	now := s.now()
	detail := pushProblemDetail(code)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO phone_push_problems (provider, code, detail, since, updated_at) VALUES ('fcm', $1, $2, $3, $3)
			ON CONFLICT (provider) DO UPDATE SET code = excluded.code, detail = excluded.detail, updated_at = excluded.updated_at`,
			code, detail, now); err != nil {
			return fmt.Errorf("push problem: %w", err)
		}
		var since time.Time
		if err := tx.QueryRowContext(ctx, `SELECT since FROM phone_push_problems WHERE provider = 'fcm'`).Scan(&since); err != nil {
			return fmt.Errorf("push problem: %w", err)
		}
		admins, err := adminIDs(ctx, tx)
		if err != nil {
			return err
		}
		for _, id := range admins {
			// The key holds the problem's start: told once per problem,
			// again if it comes back after a good send.
			if _, _, err := notify.Add(ctx, tx, notify.Notification{UserID: id, Kind: KindPushProblem,
				Title: "Push-уведомления на телефоны не работают", Body: detail, URL: "/readyz",
				Key: "phone.push_problem:" + code + ":" + strconv.FormatInt(since.Unix(), 10)}); err != nil {
				return err
			}
		}
		return nil
	})
}

func adminIDs(ctx context.Context, tx *sql.Tx) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE role = $1 AND is_active = $2 ORDER BY id`, string(access.RoleAdmin), true)
	if err != nil {
		return nil, fmt.Errorf("admins: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// CurrentPushProblem returns the recorded configuration problem of FCM,
// if there is one.
func (s *Store) CurrentPushProblem(ctx context.Context) (PushProblem, bool, error) {
	var p PushProblem
	err := s.db.QueryRowContext(ctx, `SELECT code, detail, since FROM phone_push_problems WHERE provider = 'fcm'`).Scan(&p.Code, &p.Detail, &p.Since)
	if errors.Is(err, sql.ErrNoRows) {
		return PushProblem{}, false, nil
	}
	if err != nil {
		return PushProblem{}, false, fmt.Errorf("push problem: %w", err)
	}
	return p, true, nil
}

// ExpireRequest ends request id if it is still open and its time is over
// (the timed job at expires_at): status expired, and the live event. It
// returns how long to wait when the time is not over yet (a clock ahead
// of this one scheduled it), and does nothing to an ended request.
func (s *Store) ExpireRequest(ctx context.Context, id int64) (time.Duration, error) {
	var wait time.Duration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		if !IsOpen(r.Status) {
			return nil
		}
		if left := r.ExpiresAt.Sub(s.now()); left > 0 {
			wait = left
			return nil
		}
		return s.setStatus(ctx, tx, r, StatusExpired, event{Type: StatusExpired})
	})
	return wait, err
}

// scheduleUnpaired enqueues, in a revocation's transaction, the
// «unpaired» push to a device that has a token (read before the
// revocation clears it).
func (s *Store) scheduleUnpaired(ctx context.Context, tx *sql.Tx, deviceID int64) error {
	if !s.PushOn() {
		return nil
	}
	var token string
	err := tx.QueryRowContext(ctx, `SELECT push_token FROM phone_devices WHERE id = $1 AND status <> $2 AND push_provider = 'fcm'`,
		deviceID, DeviceRevoked).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && token == "") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("push token: %w", err)
	}
	_, err = s.queue.Enqueue(ctx, tx, UnpairedArgs{DeviceID: deviceID, Token: token})
	return err
}
