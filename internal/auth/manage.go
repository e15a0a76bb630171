package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
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

// UserInput is a create or a change of a user by an admin. Nil fields are
// left as they are (PATCH); on create, the defaults apply.
type UserInput struct {
	Username  *string           `json:"username"`
	FirstName *string           `json:"first_name"`
	LastName  *string           `json:"last_name"`
	Email     *string           `json:"email"`
	Role      *access.Role      `json:"role"`
	DataScope *access.DataScope `json:"data_scope"`
	BranchID  OptionalID        `json:"branch"`
	TimeZone  *string           `json:"time_zone"`
	IsActive  *bool             `json:"is_active"`
	Password  *string           `json:"password"`
	// MustChangePassword asks the user to choose a new password at their
	// next sign-in; nil leaves it as it is (off for a new user).
	MustChangePassword *bool `json:"must_change_password"`
	Version            *int  `json:"version"`
}

// OptionalID is a nullable reference in a partial update: Set tells "not
// sent" (leave as is) from null (clear it, ID 0).
type OptionalID struct {
	Set bool
	ID  int64
}

// UnmarshalJSON accepts a number, a string of digits, or null.
func (o *OptionalID) UnmarshalJSON(b []byte) error {
	o.Set = true
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		o.ID = 0
		return nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return apperr.Invalid{"branch": "Неверный идентификатор филиала"}
	}
	o.ID = id
	return nil
}

// UserFilter narrows the user directory.
type UserFilter struct {
	Search    string
	Role      access.Role
	BranchID  int64
	Active    *bool
	DataScope access.DataScope
	Ordering  string // last_name, username, date_joined; "-" for descending
	Page      int    // 1-based
	PageSize  int
}

// userOrderings are the sort keys the directory accepts, with their SQL.
var userOrderings = map[string]string{
	"last_name":   "u.last_name, u.first_name, u.id",
	"username":    "u.username, u.id",
	"date_joined": "u.date_joined, u.id",
}

// ValidOrdering reports whether key (with or without "-") sorts users.
func ValidOrdering(key string) bool {
	_, ok := userOrderings[strings.TrimPrefix(key, "-")]
	return ok
}

// List returns one page of the user directory and the number of users that
// match. Everyone signed in may list users (to pick a responsible, to read
// a name); what the HTTP layer shows non-admins of each user is less.
//
// The free-text search runs in Go: user tables hold tens to hundreds of
// rows, and SQLite cannot fold Cyrillic case, so names are matched after
// dedup.NormalizeText rather than with SQL lower().
func (s *Store) List(ctx context.Context, scope access.Scope, f UserFilter) ([]*User, int, error) {
	if !scope.Acts() {
		return nil, 0, apperr.ErrUnauthenticated
	}
	var w database.Where
	if f.Role != "" {
		w.Add("u.role = ?", string(f.Role))
	}
	if f.DataScope != "" {
		w.Add("u.data_scope = ?", string(f.DataScope))
	}
	if f.BranchID != 0 {
		w.Add("u.branch_id = ?", f.BranchID)
	}
	if f.Active != nil {
		w.Add("u.is_active = ?", *f.Active)
	}
	order := userOrderings["last_name"]
	desc := strings.HasPrefix(f.Ordering, "-")
	if o, ok := userOrderings[strings.TrimPrefix(f.Ordering, "-")]; ok {
		order = o
	}
	if desc {
		order = strings.ReplaceAll(order, ",", " DESC,") + " DESC"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+userFrom+w.SQL()+` ORDER BY `+order, w.Args()...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var all []*User
	words := strings.Fields(dedup.NormalizeText(f.Search))
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		if matchesUser(u, words) {
			all = append(all, u)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	if len(words) > 0 && f.Ordering == "" {
		q := strings.Join(words, " ")
		slices.SortStableFunc(all, func(a, b *User) int { return userRank(a, q, words) - userRank(b, q, words) })
	}
	from, to := database.PageBounds(f.Page, f.PageSize, len(all))
	return all[from:to], len(all), nil
}

// matchesUser reports whether every search word is a prefix of a word of
// the user's login, names or e-mail.
func matchesUser(u *User, words []string) bool {
	if len(words) == 0 {
		return true
	}
	have := strings.Fields(dedup.NormalizeText(u.Username + " " + u.FirstName + " " + u.LastName + " " + u.Email))
	for _, w := range words {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.HasPrefix(h, w) }) {
			return false
		}
	}
	return true
}

// userRank orders the results of a search unless the caller asked for an
// ordering: the user whose login or e-mail is the query comes first, then
// the one whose full name it is, then users each of whose words matched
// whole, then matches by prefix only. Someone typing a full login expects
// that user at the top, not after every longer login sharing its prefix.
// q is the normalised query, words its words.
func userRank(u *User, q string, words []string) int {
	switch q {
	case dedup.NormalizeText(u.Username), dedup.NormalizeText(u.Email):
		return 0
	case dedup.NormalizeText(u.FirstName + " " + u.LastName), dedup.NormalizeText(u.LastName + " " + u.FirstName):
		return 1
	}
	have := strings.Fields(dedup.NormalizeText(u.Username + " " + u.FirstName + " " + u.LastName + " " + u.Email))
	for _, w := range words {
		if !slices.Contains(have, w) {
			return 3
		}
	}
	return 2
}

// usernameRe is what a login may hold, after lower-casing: Latin letters,
// digits and @ . + - _ (Django's rule, so old logins still fit).
var usernameRe = regexp.MustCompile(`^[a-z0-9@.+_-]+$`)

// validTimeZone reports whether name is an IANA zone this system knows.
func validTimeZone(name string) bool {
	if name == "" {
		return true
	}
	if name == "Local" || strings.ContainsAny(name, " \\") {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// apply merges in into u and validates the result, collecting every
// message at once.
func (in UserInput) apply(u *User, inv apperr.Invalid) (password string) {
	if in.Username != nil {
		u.Username = NormalizeUsername(*in.Username)
	}
	if in.FirstName != nil {
		u.FirstName = strings.TrimSpace(*in.FirstName)
	}
	if in.LastName != nil {
		u.LastName = strings.TrimSpace(*in.LastName)
	}
	if in.Email != nil {
		u.Email = strings.TrimSpace(*in.Email)
	}
	if in.Role != nil {
		u.Role = *in.Role
	}
	if in.DataScope != nil {
		u.DataScope = *in.DataScope
	}
	if in.BranchID.Set {
		u.BranchID = in.BranchID.ID
	}
	if in.TimeZone != nil {
		u.TimeZone = strings.TrimSpace(*in.TimeZone)
	}
	if in.IsActive != nil {
		u.IsActive = *in.IsActive
	}
	if in.MustChangePassword != nil {
		u.MustChangePassword = *in.MustChangePassword
	}
	switch {
	case u.Username == "":
		inv.Add("username", "Укажите логин")
	case len(u.Username) > 150:
		inv.Add("username", "Логин должен быть не длиннее 150 символов")
	case !usernameRe.MatchString(u.Username):
		inv.Add("username", "Логин может содержать только латинские буквы, цифры и символы @ . + - _")
	}
	validateProfile(u, inv)
	if !u.Role.Valid() {
		inv.Add("role", "Выберите роль из списка")
	}
	if !u.DataScope.Valid() {
		inv.Add("data_scope", "Выберите область видимости из списка")
	}
	if in.Password != nil {
		password = *in.Password
		inv.Add("password", ValidatePassword(password, u.Username))
	}
	return password
}

// validateProfile checks what a user may also change about themselves.
func validateProfile(u *User, inv apperr.Invalid) {
	if u.FirstName == "" {
		inv.Add("first_name", "Укажите имя")
	} else if len([]rune(u.FirstName)) > 150 {
		inv.Add("first_name", "Имя должно быть не длиннее 150 символов")
	}
	if u.LastName == "" {
		inv.Add("last_name", "Укажите фамилию")
	} else if len([]rune(u.LastName)) > 150 {
		inv.Add("last_name", "Фамилия должна быть не длиннее 150 символов")
	}
	if u.Email != "" {
		if e, ok := dedup.NormalizeEmail(u.Email); ok {
			u.Email = e
		} else {
			inv.Add("email", "Введите правильный адрес электронной почты")
		}
	}
	if !validTimeZone(u.TimeZone) {
		inv.Add("time_zone", "Неизвестный часовой пояс «"+u.TimeZone+"»; выберите из списка или укажите имя IANA, например Europe/Moscow")
	}
}

// checkUsername adds a message when another user already has the login,
// so that the form shows it together with the other problems. The unique
// index still decides a race.
func checkUsername(ctx context.Context, q database.Querier, username string, id int64, inv apperr.Invalid) error {
	if username == "" {
		return nil
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE username = $1 AND id <> $2`, username, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("check login: %w", err)
	}
	inv.Add("username", usernameTaken)
	return nil
}

// checkBranch adds a message when branch id does not exist.
func checkBranch(ctx context.Context, q database.Querier, id int64, inv apperr.Invalid) error {
	if id == 0 {
		return nil
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM branches WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		inv.Add("branch", "Филиал не найден")
		return nil
	}
	return err
}

const usernameTaken = "Пользователь с таким логином уже существует"

// Create adds a user. Only admins may; the attempt of anyone else is
// refused with a reason (the HTTP layer audits it).
func (s *Store) Create(ctx context.Context, scope access.Scope, in UserInput) (*User, error) {
	if err := scope.CanManage(); err != nil {
		return nil, err
	}
	return s.create(ctx, scope, in)
}

// CreateAdmin adds an administrator outside any request: the
// createsuperuser command and the first start of an empty database, where
// there is no one yet to ask for permission.
func (s *Store) CreateAdmin(ctx context.Context, in UserInput) (*User, error) {
	role := access.RoleAdmin
	in.Role = &role
	if in.Password == nil {
		return nil, apperr.Invalid{"password": "Укажите пароль"}
	}
	return s.create(ctx, access.System("cli:createsuperuser"), in)
}

// Count returns how many users exist, active or not.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

func (s *Store) create(ctx context.Context, scope access.Scope, in UserInput) (*User, error) {
	u := &User{Role: access.RoleManager, DataScope: access.Global, IsActive: true}
	inv := apperr.Invalid{}
	password := in.apply(u, inv)
	var id int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := checkUsername(ctx, tx, u.Username, 0, inv); err != nil {
			return err
		}
		if err := checkBranch(ctx, tx, u.BranchID, inv); err != nil {
			return err
		}
		if err := inv.Err(); err != nil {
			return err
		}
		hash := ""
		if password != "" {
			var err error
			if hash, err = HashPassword(password); err != nil {
				return err
			}
		}
		now := database.Now()
		var changed time.Time
		if hash != "" {
			changed = now
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, email, password_hash, is_active,
			role, data_scope, branch_id, time_zone, date_joined, password_changed_at, must_change_password)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			u.Username, u.FirstName, u.LastName, u.Email, hash, u.IsActive, string(u.Role), string(u.DataScope),
			database.NullInt64(u.BranchID), u.TimeZone, now, database.NullTime(changed), u.MustChangePassword).Scan(&id)
		if database.IsUniqueViolation(err) {
			return apperr.Invalid{"username": usernameTaken}
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return audit.Record(ctx, tx, scope, audit.Entry{Action: "user.create", ObjectType: "user", ObjectID: audit.ID(id),
			Detail: map[string]any{"username": u.Username, "role": string(u.Role), "data_scope": string(u.DataScope),
				"must_change_password": u.MustChangePassword}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Update changes a user. Only admins may; an admin may not deactivate or
// demote themselves (the system would lose its last way in). A stale
// version is a conflict. Deactivating a user or setting their password ends
// their sessions and revokes their refresh tokens in the same transaction.
func (s *Store) Update(ctx context.Context, scope access.Scope, id int64, in UserInput) (*User, error) {
	if err := scope.CanManage(); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("get user %d: %w", id, err)
		}
		if in.Version != nil && *in.Version != u.Version {
			return apperr.ErrConflict
		}
		before := *u
		inv := apperr.Invalid{}
		password := in.apply(u, inv)
		if id == scope.UserID {
			if !u.IsActive {
				inv.Add("is_active", "Нельзя деактивировать собственную учётную запись")
			}
			if u.Role != access.RoleAdmin {
				inv.Add("role", "Нельзя снять с себя роль администратора")
			}
		}
		if err := checkUsername(ctx, tx, u.Username, id, inv); err != nil {
			return err
		}
		if err := checkBranch(ctx, tx, u.BranchID, inv); err != nil {
			return err
		}
		if err := inv.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET username = $1, first_name = $2, last_name = $3, email = $4,
			is_active = $5, role = $6, data_scope = $7, branch_id = $8, time_zone = $9, must_change_password = $10,
			version = version + 1 WHERE id = $11 AND version = $12`,
			u.Username, u.FirstName, u.LastName, u.Email, u.IsActive, string(u.Role), string(u.DataScope),
			database.NullInt64(u.BranchID), u.TimeZone, u.MustChangePassword, id, before.Version)
		if database.IsUniqueViolation(err) {
			return apperr.Invalid{"username": usernameTaken}
		}
		if err != nil {
			return fmt.Errorf("update user %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.ErrConflict
		}
		if changed := changedFields(&before, u); len(changed) > 0 {
			if err := audit.Record(ctx, tx, scope, audit.Entry{Action: "user.update", ObjectType: "user", ObjectID: audit.ID(id),
				Detail: accessChange(&before, u, map[string]any{"changed": changed})}); err != nil {
				return err
			}
		}
		if before.TimeZone != u.TimeZone || before.BranchID != u.BranchID {
			if err := s.zoneChanged(ctx, tx, id); err != nil {
				return err
			}
		}
		if before.IsActive != u.IsActive {
			action := "user.activate"
			if !u.IsActive {
				action = "user.deactivate"
				if err := endSignIns(ctx, tx, id); err != nil {
					return err
				}
				if err := s.deactivated.Run(ctx, tx, id); err != nil {
					return err
				}
			}
			if err := audit.Record(ctx, tx, scope, audit.Entry{Action: action, ObjectType: "user", ObjectID: audit.ID(id)}); err != nil {
				return err
			}
		}
		if in.Password != nil {
			return setPassword(ctx, tx, scope, id, password, "user.password_reset", u.MustChangePassword)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// ResetPassword sets a new password for a user (an admin's «Сбросить
// пароль»): the user's sessions end and their refresh tokens die. With
// mustChange the user has to choose their own at the next sign-in.
func (s *Store) ResetPassword(ctx context.Context, scope access.Scope, id int64, password string, mustChange bool) error {
	if err := scope.CanManage(); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var username string
		err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, id).Scan(&username)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.ErrNotFound
		}
		if err != nil {
			return err
		}
		if msg := ValidatePassword(password, username); msg != "" {
			return apperr.Invalid{"password": msg}
		}
		return setPassword(ctx, tx, scope, id, password, "user.password_reset", mustChange)
	})
}

// setPassword stores a new hash, sets whether the user must change it at
// the next sign-in, ends every sign-in of the user and audits it.
func setPassword(ctx context.Context, tx *sql.Tx, by access.Scope, id int64, password, action string, mustChange bool) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2, must_change_password = $3,
		version = version + 1 WHERE id = $4`,
		hash, database.Now(), mustChange, id); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := endSignIns(ctx, tx, id); err != nil {
		return err
	}
	return audit.Record(ctx, tx, by, audit.Entry{Action: action, ObjectType: "user", ObjectID: audit.ID(id),
		Detail: map[string]any{"must_change_password": mustChange}})
}

// endSignIns ends a user's browser sessions, revokes their refresh tokens
// and, when tx commits, ends their open live event streams in every
// process (their reconnects are then refused).
func endSignIns(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	if err := live.EndStreams(ctx, tx, id, ""); err != nil {
		return err
	}
	return revokeRefreshTokens(ctx, tx, id, database.Now())
}

// changedFields names the fields that differ, for the audit entry.
func changedFields(a, b *User) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("username", a.Username != b.Username)
	add("first_name", a.FirstName != b.FirstName)
	add("last_name", a.LastName != b.LastName)
	add("email", a.Email != b.Email)
	add("role", a.Role != b.Role)
	add("data_scope", a.DataScope != b.DataScope)
	add("branch", a.BranchID != b.BranchID)
	add("time_zone", a.TimeZone != b.TimeZone)
	add("is_active", a.IsActive != b.IsActive)
	add("must_change_password", a.MustChangePassword != b.MustChangePassword)
	return out
}

// accessChange adds to detail the old and new values of what decides a
// user's access — role, visibility, branch — where they differ, so the
// audit log says what it was, not only that it changed.
func accessChange(a, b *User, detail map[string]any) map[string]any {
	if a.Role != b.Role {
		detail["role"] = map[string]any{"old": string(a.Role), "new": string(b.Role)}
	}
	if a.DataScope != b.DataScope {
		detail["data_scope"] = map[string]any{"old": string(a.DataScope), "new": string(b.DataScope)}
	}
	if a.BranchID != b.BranchID {
		detail["branch"] = map[string]any{"old": a.BranchID, "new": b.BranchID}
	}
	return detail
}

// ProfileInput is what users may change about themselves. Changing the
// password needs the current one.
type ProfileInput struct {
	FirstName       *string `json:"first_name"`
	LastName        *string `json:"last_name"`
	Email           *string `json:"email"`
	TimeZone        *string `json:"time_zone"`
	Password        *string `json:"password"`
	CurrentPassword *string `json:"current_password"`
	Version         *int    `json:"version"`
}

// UpdateProfile changes the signed-in user's own name, e-mail, time zone
// and password. A new password ends all the user's sessions and refresh
// tokens (the caller starts a fresh session for the current browser);
// passwordChanged says so.
func (s *Store) UpdateProfile(ctx context.Context, userID int64, in ProfileInput) (u *User, passwordChanged bool, err error) {
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var hash string
		cur, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id = $1 AND u.is_active`, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.ErrUnauthenticated
		}
		if err != nil {
			return fmt.Errorf("get user %d: %w", userID, err)
		}
		if in.Version != nil && *in.Version != cur.Version {
			return apperr.ErrConflict
		}
		if err := tx.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&hash); err != nil {
			return err
		}
		before := *cur
		self := before.Scope()
		if in.FirstName != nil {
			cur.FirstName = strings.TrimSpace(*in.FirstName)
		}
		if in.LastName != nil {
			cur.LastName = strings.TrimSpace(*in.LastName)
		}
		if in.Email != nil {
			cur.Email = strings.TrimSpace(*in.Email)
		}
		if in.TimeZone != nil {
			cur.TimeZone = strings.TrimSpace(*in.TimeZone)
		}
		inv := apperr.Invalid{}
		validateProfile(cur, inv)
		newPassword := ""
		if in.Password != nil && *in.Password != "" {
			newPassword = *in.Password
			switch {
			case in.CurrentPassword == nil || *in.CurrentPassword == "":
				inv.Add("current_password", "Введите текущий пароль")
			case !CheckPassword(hash, *in.CurrentPassword):
				inv.Add("current_password", "Текущий пароль введён неверно")
			}
			inv.Add("password", ValidatePassword(newPassword, cur.Username))
		}
		if err := inv.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET first_name = $1, last_name = $2, email = $3, time_zone = $4,
			version = version + 1 WHERE id = $5 AND version = $6`,
			cur.FirstName, cur.LastName, cur.Email, cur.TimeZone, userID, before.Version)
		if err != nil {
			return fmt.Errorf("update profile: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.ErrConflict
		}
		if changed := changedFields(&before, cur); len(changed) > 0 {
			if err := audit.Record(ctx, tx, self, audit.Entry{Action: "user.update", ObjectType: "user", ObjectID: audit.ID(userID),
				Detail: map[string]any{"changed": changed, "self": true}}); err != nil {
				return err
			}
		}
		if before.TimeZone != cur.TimeZone {
			if err := s.zoneChanged(ctx, tx, userID); err != nil {
				return err
			}
		}
		if newPassword != "" {
			passwordChanged = true
			return setPassword(ctx, tx, self, userID, newPassword, "user.password_change", false)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	u, err = s.Get(ctx, userID)
	return u, passwordChanged, err
}
