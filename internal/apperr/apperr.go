// Package apperr names the kinds of failure that cross package borders, so
// the HTTP layer can map them to status codes and messages in one place.
package apperr

import (
	"errors"
	"sort"
	"strings"
)

// Sentinel kinds. Wrap them with fmt.Errorf("…: %w", ErrX) or use the typed
// errors below; callers test with errors.Is.
var (
	// ErrNotFound is returned for missing objects and for objects outside the
	// caller's visibility alike, so that a hidden object's existence never leaks.
	ErrNotFound = errors.New("не найдено")
	// ErrForbidden is for objects the caller can see but may not change.
	ErrForbidden = errors.New("недостаточно прав")
	// ErrConflict is a stale version or a uniqueness clash the caller can resolve.
	ErrConflict = errors.New("конфликт версий")
	// ErrUnauthenticated means no valid credentials came with the request.
	ErrUnauthenticated = errors.New("требуется вход")
	// ErrThrottled means the caller tried too often.
	ErrThrottled = errors.New("слишком много попыток")
	// ErrTooLarge means the request body exceeds the limit.
	ErrTooLarge = errors.New("слишком большой запрос")
)

// NonField is the key of messages that belong to the whole input, not one field.
const NonField = "non_field_errors"

// Forbidden is ErrForbidden with the reason a person can read. Detail,
// when set, is what the audit entry of the refused attempt should keep
// about the object (a note's text), since the server records the entry
// and does not load the object itself.
type Forbidden struct {
	Reason string
	Detail map[string]any
}

func (e *Forbidden) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrForbidden) true.
func (e *Forbidden) Is(target error) bool { return target == ErrForbidden }

// Forbid returns a Forbidden error with a Russian reason.
func Forbid(reason string) error { return &Forbidden{Reason: reason} }

// Conflict is ErrConflict with a message a person can read.
type Conflict struct{ Message string }

func (e *Conflict) Error() string { return e.Message }

// Is makes errors.Is(err, ErrConflict) true.
func (e *Conflict) Is(target error) bool { return target == ErrConflict }

// Invalid maps field names to Russian messages. It is the single shape of a
// validation failure: HTML shows each message beside its field, JSON answers
// 400 with {"field": ["message"]}.
type Invalid map[string]string

func (e Invalid) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e[k])
	}
	return "неверные данные: " + strings.Join(parts, "; ")
}

// Add records msg for field unless the field already has a message, so the
// first (most basic) problem is the one shown.
func (e Invalid) Add(field, msg string) {
	if msg == "" {
		return
	}
	if _, ok := e[field]; !ok {
		e[field] = msg
	}
}

// Err returns e as an error, or nil when it holds no messages.
func (e Invalid) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// AsInvalid extracts the field messages of err, if it is a validation error.
func AsInvalid(err error) (Invalid, bool) {
	var inv Invalid
	if errors.As(err, &inv) {
		return inv, true
	}
	return nil, false
}
