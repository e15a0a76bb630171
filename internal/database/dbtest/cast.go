package dbtest

import (
	"context"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// Member is one user of the fixed test cast.
type Member struct {
	ID        int64
	Username  string
	FirstName string
	LastName  string
	Scope     access.Scope
}

// FullName is «Имя Фамилия».
func (m Member) FullName() string { return m.FirstName + " " + m.LastName }

// Cast is the fixed cast of every access test: an admin; Алиса (manager,
// scope self, branch A); Борис (branch director, scope branch, branch A);
// Вера (manager, scope self, branch B); Глеб (manager, scope global,
// branch B); Дарья (group manager, no branch).
type Cast struct {
	BranchA, BranchB                       int64
	Admin, Alisa, Boris, Vera, Gleb, Darya Member
}

// All lists the cast in a stable order, for matrix tests.
func (c Cast) All() []Member {
	return []Member{c.Admin, c.Alisa, c.Boris, c.Vera, c.Gleb, c.Darya}
}

// CastPassword is every cast member's password.
const CastPassword = "пароль-для-тестов"

// CastPasswordHash is an argon2id hash of CastPassword, precomputed so tests
// don't pay for hashing.
const CastPasswordHash = "$argon2id$v=19$m=65536,t=3,p=2$P6IKYcxboS51Du268E6ZUA$aYwvCjAqbgyTApyJzpqvw8am9aouplQt4OGxL1nOEQY"

// NewCast inserts the two branches and the six users into db.
func NewCast(tb testing.TB, db *database.DB) Cast {
	tb.Helper()
	var c Cast
	c.BranchA = insertID(tb, db, `INSERT INTO branches (code, name, time_zone) VALUES ('A', 'Филиал А (Москва)', 'Europe/Moscow') RETURNING id`)
	c.BranchB = insertID(tb, db, `INSERT INTO branches (code, name, time_zone) VALUES ('B', 'Филиал Б (Новосибирск)', 'Asia/Novosibirsk') RETURNING id`)
	add := func(username, first, last string, role access.Role, data access.DataScope, branch int64) Member {
		id := insertID(tb, db, `INSERT INTO users (username, first_name, last_name, email, password_hash, role, data_scope, branch_id, date_joined)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			username, first, last, username+"@example.ru", CastPasswordHash, string(role), string(data), database.NullInt64(branch),
			time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC))
		return Member{ID: id, Username: username, FirstName: first, LastName: last,
			Scope: access.Scope{UserID: id, Role: role, Data: data, BranchID: branch, Name: first + " " + last}}
	}
	c.Admin = add("admin", "Админ", "Системный", access.RoleAdmin, access.Global, 0)
	c.Alisa = add("alisa", "Алиса", "Аксёнова", access.RoleManager, access.Self, c.BranchA)
	c.Boris = add("boris", "Борис", "Бородин", access.RoleBranchDirector, access.Branch, c.BranchA)
	c.Vera = add("vera", "Вера", "Волкова", access.RoleManager, access.Self, c.BranchB)
	c.Gleb = add("gleb", "Глеб", "Громов", access.RoleManager, access.Global, c.BranchB)
	c.Darya = add("darya", "Дарья", "Давыдова", access.RoleGroupManager, access.Self, 0)
	return c
}

func insertID(tb testing.TB, db *database.DB, q string, args ...any) int64 {
	tb.Helper()
	var id int64
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&id); err != nil {
		tb.Fatalf("cast: %v", err)
	}
	return id
}
