// Package note keeps the activity timeline of a company: notes, calls,
// letters and messages. A note is visible exactly when its company is.
// Only its author may edit or delete it — admins included — and every
// deletion and every refused attempt is written to the audit log.
//
// Pinning is a team matter, not the author's private one: a note may be
// pinned or unpinned by its author or by anyone who may edit the company
// (access.Scope.CanEditCompany), so the person responsible for a client can
// keep its most important facts on top without rewriting anyone's text.
package note

import (
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
)

// Note is one entry of a company's timeline, in the API contract's shape.
type Note struct {
	ID         int64      `json:"id"`
	CompanyID  int64      `json:"company"`
	AuthorID   *int64     `json:"author"`
	AuthorName string     `json:"author_name"`
	Text       string     `json:"text"`
	Type       string     `json:"note_type"`
	IsPinned   bool       `json:"is_pinned"`
	CreatedAt  time.Time  `json:"created_at"`
	EditedAt   *time.Time `json:"edited_at"`
	Version    int        `json:"version"`
}

// Edited reports whether the note was changed after it was written.
func (n Note) Edited() bool { return n.EditedAt != nil }

// IsAuthor reports whether user wrote the note (pages show the author's
// buttons by it; the rule itself is access.Scope.CanChangeNote).
func (n Note) IsAuthor(user int64) bool { return user != 0 && n.Author() == user }

// Author is the author's id, 0 when the author's account is gone.
func (n Note) Author() int64 {
	if n.AuthorID == nil {
		return 0
	}
	return *n.AuthorID
}

// Type is a kind of timeline entry with its Russian label.
type Type struct{ Value, Label string }

// Types are the note types, in the order the quick-add form offers them.
var Types = []Type{
	{"note", "Заметка"}, {"call_in", "Входящий звонок"}, {"call_out", "Исходящий звонок"},
	{"email_in", "Входящее письмо"}, {"email_out", "Исходящее письмо"}, {"sms", "SMS"},
}

// TypeLabel is the Russian label of a note type.
func TypeLabel(v string) string {
	for _, t := range Types {
		if t.Value == v {
			return t.Label
		}
	}
	return v
}

func validType(v string) bool {
	for _, t := range Types {
		if t.Value == v {
			return true
		}
	}
	return false
}

// Input is what a person may set on a note. Company is only read on
// create; IsPinned nil leaves the pin as it is. Version 0 means "last
// write wins".
type Input struct {
	Company  int64  `json:"company"`
	Text     string `json:"text"`
	Type     string `json:"note_type"`
	IsPinned *bool  `json:"is_pinned"`
	Version  int    `json:"version"`
}

// maxText bounds a note: long enough for a pasted letter, short enough to
// catch a runaway paste.
const maxText = 20000

func (in *Input) clean() error {
	inv := apperr.Invalid{}
	in.Text = strings.TrimSpace(strings.ReplaceAll(in.Text, "\r\n", "\n"))
	if in.Text == "" {
		inv.Add("text", "Напишите текст заметки")
	} else if len([]rune(in.Text)) > maxText {
		inv.Add("text", "Слишком длинная заметка (не больше 20 000 символов)")
	}
	if in.Type == "" {
		in.Type = "note"
	}
	if !validType(in.Type) {
		inv.Add("note_type", "Неизвестный тип заметки")
	}
	return inv.Err()
}
