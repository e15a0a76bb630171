// Package notify keeps the users' notifications: «Вы назначены
// ответственным», «Вам назначена задача», «Срок задачи наступил». A
// notification is written with Add inside the transaction of the change
// that causes it, together with the live events ("notification",
// "unread") that update the recipient's open pages when it commits.
//
// A notification is never made for the recipient's own action, nor for an
// inactive user; a non-empty Key makes it "exactly once" per recipient
// (the due-time notification of a task, whichever process runs the job).
package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/live"
)

// Kinds of notification.
const (
	KindCompanyResponsible = "company.responsible" // made responsible for a company
	KindCompanyMerged      = "company.merged"      // a company I am responsible for was merged
	KindCompanyUnmerged    = "company.unmerged"    // that merge was undone
	KindTaskAssigned       = "task.assigned"       // a task assigned or reassigned to me
	KindTaskComment        = "task.comment"        // a comment on my task
	KindTaskDue            = "task.due"            // my task fell due
	KindTaskNew            = "task.new_reminder"   // a new assignment I have not opened yet
)

// Types of the live events Add emits.
const (
	EventNotification = "notification" // data: the Notification
	EventUnread       = "unread"       // data: Unread
)

// Notification is one message to one user. The JSON fields are the
// contract's; the others say who it is for, who caused it and about what.
type Notification struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	URL       string    `json:"url"`
	IsRead    bool      `json:"is_read"`
	CreatedAt time.Time `json:"created_at"`

	// UserID is the recipient.
	UserID int64 `json:"-"`
	// ActorID is the user whose action caused it; 0 for the system (a
	// timed job). The recipient's own actions notify nobody.
	ActorID int64 `json:"-"`
	// ObjectType and ObjectID name what it is about ("company", 42).
	ObjectType string `json:"-"`
	ObjectID   int64  `json:"-"`
	// Key, when not empty, makes the notification exactly once per
	// recipient: a second Add with the same key does nothing
	// ("task.due:<id>:<due unix>").
	Key string `json:"-"`
}

// Unread is the data of the "unread" live event and of GET
// /api/notifications/unread-count/.
type Unread struct {
	Count int `json:"count"`
}

// Limits of the texts, in characters.
const (
	maxTitle = 300
	maxBody  = 2000
)

// Add writes n in the caller's transaction tx and emits the live events
// "notification" (n) and "unread" (the new count) for the recipient, which
// go out when tx commits. It does nothing — and returns added false —
// when the recipient is the actor, is inactive or unknown, or already has
// a notification with n.Key.
func Add(ctx context.Context, tx *sql.Tx, n Notification) (_ Notification, added bool, err error) {
	if n.UserID == 0 || n.UserID == n.ActorID {
		return n, false, nil
	}
	n.Kind = strings.TrimSpace(n.Kind)
	n.Title = clip(strings.TrimSpace(n.Title), maxTitle)
	n.Body = clip(strings.TrimSpace(n.Body), maxBody)
	if n.Kind == "" || n.Title == "" {
		return n, false, errors.New("notify: a notification needs a kind and a title")
	}
	var active bool
	err = tx.QueryRowContext(ctx, `SELECT is_active FROM users WHERE id = $1`, n.UserID).Scan(&active)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !active) {
		return n, false, nil
	}
	if err != nil {
		return n, false, fmt.Errorf("notify: recipient %d: %w", n.UserID, err)
	}
	n.CreatedAt, n.IsRead = database.Now(), false
	var objectID any
	if n.ObjectID != 0 {
		objectID = n.ObjectID
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO notifications
		(user_id, actor_id, kind, title, body, url, object_type, object_id, dedup_key, is_read, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, $10)
		ON CONFLICT (user_id, dedup_key) WHERE dedup_key <> '' DO NOTHING
		RETURNING id`,
		n.UserID, database.NullInt64(n.ActorID), n.Kind, n.Title, n.Body, n.URL, n.ObjectType, objectID, n.Key, n.CreatedAt).Scan(&n.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return n, false, nil // the key was used: exactly once
	}
	if err != nil {
		return n, false, fmt.Errorf("notify: add: %w", err)
	}
	if _, err := live.Emit(ctx, tx, n.UserID, EventNotification, n); err != nil {
		return n, false, err
	}
	count, err := unreadCount(ctx, tx, n.UserID)
	if err != nil {
		return n, false, err
	}
	if _, err := live.Emit(ctx, tx, n.UserID, EventUnread, Unread{Count: count}); err != nil {
		return n, false, err
	}
	return n, true, nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Store reads the notifications of a user and marks them read. Every
// method takes the user's id: a user only ever sees their own.
type Store struct {
	db *database.DB
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// Filter selects a page of a user's notifications, newest first.
type Filter struct {
	// Unread, when set, keeps only the unread (true) or read (false) ones.
	Unread *bool
	Page   int // 1-based
	Size   int
}

// List returns a page of userID's notifications, newest first, and how
// many match in all.
func (s *Store) List(ctx context.Context, userID int64, f Filter) ([]Notification, int, error) {
	w := database.Where{}
	w.Add("user_id = ?", userID)
	if f.Unread != nil {
		w.Add("is_read = ?", !*f.Unread)
	}
	size := f.Size
	if size <= 0 {
		size = 50
	}
	var count int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications`+w.SQL(), w.Args()...).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count notifications: %w", err)
	}
	if count == 0 {
		return nil, 0, nil
	}
	q := selectNotification + w.SQL() + " ORDER BY id DESC LIMIT " + w.Arg(size) + " OFFSET " + w.Arg(database.PageOffset(f.Page, size))
	list, err := s.query(ctx, q, w.Args()...)
	return list, count, err
}

// Latest returns userID's newest n notifications (the bell's panel).
func (s *Store) Latest(ctx context.Context, userID int64, n int) ([]Notification, error) {
	return s.query(ctx, selectNotification+` WHERE user_id = $1 ORDER BY id DESC LIMIT $2`, userID, n)
}

// Get returns one of userID's notifications; another user's is
// apperr.ErrNotFound, the same as a missing one.
func (s *Store) Get(ctx context.Context, userID, id int64) (Notification, error) {
	list, err := s.query(ctx, selectNotification+` WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return Notification{}, err
	}
	if len(list) == 0 {
		return Notification{}, apperr.ErrNotFound
	}
	return list[0], nil
}

const selectNotification = `SELECT id, user_id, COALESCE(actor_id, 0), kind, title, body, url, object_type,
	COALESCE(object_id, 0), dedup_key, is_read, created_at FROM notifications`

func (s *Store) query(ctx context.Context, q string, args ...any) ([]Notification, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Notification
	for rows.Next() {
		var n Notification
		if err := rows.Scan(&n.ID, &n.UserID, &n.ActorID, &n.Kind, &n.Title, &n.Body, &n.URL, &n.ObjectType,
			&n.ObjectID, &n.Key, &n.IsRead, &n.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan notification: %w", err)
		}
		n.CreatedAt = n.CreatedAt.UTC()
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, nil
}

// UnreadCount is how many of userID's notifications are unread: one
// statement on a partial index, cheap enough for every page's header.
func (s *Store) UnreadCount(ctx context.Context, userID int64) (int, error) {
	return unreadCount(ctx, s.db, userID)
}

func unreadCount(ctx context.Context, q database.Querier, userID int64) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND NOT is_read`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count unread notifications: %w", err)
	}
	return n, nil
}

// MarkRead marks one of userID's notifications read and returns the new
// unread count; another user's is apperr.ErrNotFound. Marking a read one
// again changes nothing. The "unread" live event updates the user's other
// pages.
func (s *Store) MarkRead(ctx context.Context, userID, id int64) (int, error) {
	var count int
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notifications SET is_read = TRUE, read_at = $1
			WHERE id = $2 AND user_id = $3 AND NOT is_read`, database.Now(), id, userID)
		if err != nil {
			return fmt.Errorf("mark notification read: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM notifications WHERE id = $1 AND user_id = $2`, id, userID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return apperr.ErrNotFound
			}
			if err != nil {
				return err
			}
			count, err = unreadCount(ctx, tx, userID)
			return err
		}
		return s.emitUnread(ctx, tx, userID, &count)
	})
	return count, err
}

// MarkAllRead marks every notification of userID read; the unread count
// is then 0.
func (s *Store) MarkAllRead(ctx context.Context, userID int64) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notifications SET is_read = TRUE, read_at = $1
			WHERE user_id = $2 AND NOT is_read`, database.Now(), userID)
		if err != nil {
			return fmt.Errorf("mark notifications read: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		var count int
		return s.emitUnread(ctx, tx, userID, &count)
	})
}

func (s *Store) emitUnread(ctx context.Context, tx *sql.Tx, userID int64, count *int) error {
	n, err := unreadCount(ctx, tx, userID)
	if err != nil {
		return err
	}
	*count = n
	_, err = live.Emit(ctx, tx, userID, EventUnread, Unread{Count: n})
	return err
}

// ReadRetention is how long read notifications are kept.
const ReadRetention = 90 * 24 * time.Hour

// Purge deletes the notifications read before before.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM notifications WHERE is_read AND read_at < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("purge notifications: %w", err)
	}
	return res.RowsAffected()
}
