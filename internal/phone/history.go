package phone

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// What the CRM's pages read of the phones: whether the user has a phone
// to call from (the call buttons), that phone (the «Мой телефон» page),
// and the call requests made about a company or a contact (their cards'
// history). Read-only; every list is one query.

// ActiveDevice returns the user's confirmed phone, or false when there is
// none.
func (s *Store) ActiveDevice(ctx context.Context, userID int64) (Device, bool, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM phone_devices d JOIN users u ON u.id = d.user_id
		WHERE d.user_id = $1 AND d.status = '`+DeviceActive+`' ORDER BY d.id DESC LIMIT 1`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, false, nil
	}
	if err != nil {
		return Device{}, false, fmt.Errorf("active device of user %d: %w", userID, err)
	}
	return d, true, nil
}

// HasActiveDevice reports whether the user has a confirmed phone: the
// pages show the call buttons only then.
func (s *Store) HasActiveDevice(ctx context.Context, userID int64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM phone_devices WHERE user_id = $1 AND status = '`+DeviceActive+`'`, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("has active device %d: %w", userID, err)
	}
	return n > 0, nil
}

// CallEntry is one call request in a card's history.
type CallEntry struct {
	ID           int64
	UserName     string
	PhoneDisplay string
	ContactName  string
	Status       string // an open request past its expiry reads as expired
	CreatedAt    time.Time
}

// HistoryLimit is how many call requests a card shows.
const HistoryLimit = 20

// CompanyCalls lists the latest call requests made about a company,
// newest first, and whether viewer has a phone to call from — one query
// for the card. The caller has checked that the viewer sees the company;
// a request could only be made by someone who saw it too.
func (s *Store) CompanyCalls(ctx context.Context, viewer, companyID int64) (bool, []CallEntry, error) {
	return s.calls(ctx, viewer, "company_id", companyID)
}

// QueueCompanyCalls queues CompanyCalls' query on set (database.ReadSet);
// the function returned gives its answer once set has run. The caller
// shows it only if the company read with it in set was visible.
func (s *Store) QueueCompanyCalls(set *database.ReadSet, viewer, companyID int64) func() (bool, []CallEntry, error) {
	var (
		on   bool
		list []CallEntry
		err  = database.ErrNotRun
	)
	q, args := callsQuery(viewer, "company_id", companyID)
	set.Query(q, args, func(rows database.Rows) error {
		on, list, err = s.callRows(rows)
		return err
	})
	return func() (bool, []CallEntry, error) { return on, list, err }
}

// ContactCalls is CompanyCalls for a contact's card.
func (s *Store) ContactCalls(ctx context.Context, viewer, contactID int64) (bool, []CallEntry, error) {
	return s.calls(ctx, viewer, "contact_id", contactID)
}

func (s *Store) calls(ctx context.Context, viewer int64, column string, id int64) (bool, []CallEntry, error) {
	q, args := callsQuery(viewer, column, id)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return false, nil, fmt.Errorf("call history: %w", err)
	}
	defer rows.Close()
	on, list, err := s.callRows(rows)
	if err == nil {
		err = rows.Err()
	}
	return on, list, err
}

// callsQuery is the one query of a card's history: a row for the viewer's
// phone count joined with the latest requests (none: one row of NULLs).
// column is a constant of the callers above.
func callsQuery(viewer int64, column string, id int64) (string, []any) {
	return `SELECT d.n, h.id, h.user_name, h.phone_display, h.contact_name, h.status, h.created_at, h.expires_at
		FROM (SELECT COUNT(*) AS n FROM phone_devices WHERE user_id = $1 AND status = '` + DeviceActive + `') d
		LEFT JOIN (SELECT r.id, u.first_name || ' ' || u.last_name AS user_name, r.phone_display, r.contact_name,
				r.status, r.created_at, r.expires_at
			FROM phone_call_requests r JOIN users u ON u.id = r.user_id
			WHERE r.` + column + ` = $2 ORDER BY r.id DESC LIMIT $3) h ON 1 = 1
		ORDER BY h.id DESC`, []any{viewer, id, HistoryLimit}
}

// callRows reads callsQuery's rows.
func (s *Store) callRows(rows database.Rows) (bool, []CallEntry, error) {
	now := s.now()
	var devices int
	out := []CallEntry{}
	for rows.Next() {
		var (
			rid                            sql.NullInt64
			user, display, contact, status sql.NullString
			created, expires               sql.NullTime
		)
		if err := rows.Scan(&devices, &rid, &user, &display, &contact, &status, &created, &expires); err != nil {
			return false, nil, fmt.Errorf("call history: %w", err)
		}
		if !rid.Valid {
			continue
		}
		e := CallEntry{ID: rid.Int64, UserName: user.String, PhoneDisplay: display.String, ContactName: contact.String,
			Status: status.String, CreatedAt: created.Time}
		if IsOpen(e.Status) && !now.Before(expires.Time) {
			e.Status = StatusExpired
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return false, nil, fmt.Errorf("call history: %w", err)
	}
	return devices > 0, out, nil
}

// KeepQR stores a pairing's QR code link sealed by the server (encrypted
// with its key), so that any process can draw the image for the owner
// while the pairing waits. The plain secret is never stored.
func (s *Store) KeepQR(ctx context.Context, pairingID int64, sealed string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE phone_pairings SET qr_sealed = $1 WHERE id = $2`, sealed, pairingID); err != nil {
		return fmt.Errorf("keep qr of pairing %d: %w", pairingID, err)
	}
	return nil
}

// SealedQR returns what KeepQR stored for a pairing ("" when nothing).
func (s *Store) SealedQR(ctx context.Context, pairingID int64) (string, error) {
	var sealed sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT qr_sealed FROM phone_pairings WHERE id = $1`, pairingID).Scan(&sealed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("qr of pairing %d: %w", pairingID, err)
	}
	return sealed.String, nil
}

// PurgeSealedQR forgets the sealed QR links of the pairings that expired
// unclaimed (a claim drops its own): nothing can draw them any more.
func (s *Store) PurgeSealedQR(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE phone_pairings SET qr_sealed = NULL WHERE qr_sealed IS NOT NULL AND expires_at < $1`, s.now())
	if err != nil {
		return 0, fmt.Errorf("purge sealed qr: %w", err)
	}
	return res.RowsAffected()
}
