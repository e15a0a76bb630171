package amoimport

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/crmprofi/crm/internal/dedup"
)

// User is a CRM user as the responsible matcher knows them.
type User struct {
	ID        int64
	Username  string
	FirstName string
	LastName  string
	Email     string
}

// Matcher finds the CRM user an amoCRM user's display name («Ответственный»,
// «Создатель», «Кем создан») stands for. amoCRM exports the name as each
// account spelled it: a login, an e-mail, «Имя Фамилия», «Фамилия Имя»,
// «Фамилия Имя Отчество», in any case, with ё or е and sometimes a branch
// prefix such as «(МСК) ». Anything less than a whole name — a bare first
// name, initials, «Администратор», a name with «(уволена)» — is unknown:
// two Алексеи on one team make a guess wrong half the time, and a wrong
// owner is worse than the importing admin.
type Matcher struct {
	keys map[string]int64 // folded key → user id; 0 when two users share it
}

// NewMatcher indexes users by every key they can be written as.
func NewMatcher(users []User) *Matcher {
	m := &Matcher{keys: make(map[string]int64, len(users)*5)}
	add := func(key string, id int64) {
		if key == "" {
			return
		}
		if prev, ok := m.keys[key]; ok && prev != id {
			m.keys[key] = 0 // shared: no one
			return
		}
		m.keys[key] = id
	}
	for _, u := range users {
		add(foldLogin(u.Username), u.ID)
		add(foldLogin(u.Email), u.ID)
		first, last := foldPerson(u.FirstName), foldPerson(u.LastName)
		if first != "" && last != "" {
			add(first+" "+last, u.ID)
			add(last+" "+first, u.ID)
		}
	}
	return m
}

// Match returns the user id a display name stands for, or 0 when it is
// empty, unknown or could be more than one user.
func (m *Matcher) Match(display string) int64 {
	s := stripBranch(strings.TrimSpace(display))
	if s == "" {
		return 0
	}
	if strings.ContainsAny(s, "()") {
		return 0 // «Иванова Светлана (уволена)» and the like
	}
	if strings.Contains(s, "@") || !strings.ContainsRune(strings.TrimSpace(s), ' ') {
		if id := m.keys[foldLogin(s)]; id != 0 {
			return id
		}
	}
	words := strings.Fields(foldPerson(s))
	switch len(words) {
	case 2:
		return m.keys[words[0]+" "+words[1]]
	case 3:
		// «Фамилия Имя Отчество»: users keep no patronymic, so the first
		// two words must be the user's «Фамилия Имя».
		return m.keys[words[0]+" "+words[1]]
	}
	return 0
}

// stripBranch removes a leading «(МСК) »-style prefix: a short
// parenthesised tag followed by the name.
func stripBranch(s string) string {
	if !strings.HasPrefix(s, "(") {
		return s
	}
	end := strings.IndexByte(s, ')')
	if end < 0 || end > 40 {
		return s
	}
	return strings.TrimSpace(s[end+1:])
}

// foldLogin folds a login or an e-mail: trimmed, lower case, ё → е.
func foldLogin(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "ё", "е")
}

// foldPerson folds a person's name the way the duplicate engine folds free
// text (case, ё/е, spaces, punctuation).
func foldPerson(s string) string { return dedup.NormalizeText(s) }

// loadUsers reads the active users: an inactive one receives nothing.
func loadUsers(ctx context.Context, tx *sql.Tx) ([]User, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, username, first_name, last_name, email FROM users WHERE is_active ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Username, &u.FirstName, &u.LastName, &u.Email); err != nil {
			return nil, fmt.Errorf("import users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	return out, nil
}
