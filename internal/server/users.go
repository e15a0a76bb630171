package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/web/view"
)

// userJSON is the contract's User as admins (and the user themselves) see it.
type userJSON struct {
	ID         int64            `json:"id"`
	Username   string           `json:"username"`
	FirstName  string           `json:"first_name"`
	LastName   string           `json:"last_name"`
	FullName   string           `json:"full_name"`
	Email      string           `json:"email"`
	Role       access.Role      `json:"role"`
	RoleLabel  string           `json:"role_label"`
	DataScope  access.DataScope `json:"data_scope"`
	Branch     *int64           `json:"branch"`
	BranchName string           `json:"branch_name"`
	TimeZone   string           `json:"time_zone"`
	IsActive   bool             `json:"is_active"`
	// MustChangePassword: the user has to choose a new password at the
	// next sign-in (set by an admin).
	MustChangePassword bool       `json:"must_change_password"`
	DateJoined         time.Time  `json:"date_joined"`
	LastLogin          *time.Time `json:"last_login"`
	Version            int        `json:"version"`
}

// userBrief is what everyone else sees of a user: enough to show a name
// and pick a responsible, nothing about how they sign in.
type userBrief struct {
	ID       int64       `json:"id"`
	FullName string      `json:"full_name"`
	Branch   *int64      `json:"branch"`
	Role     access.Role `json:"role"`
	IsActive bool        `json:"is_active"`
}

func branchRef(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func toUserJSON(u *auth.User) userJSON {
	return userJSON{
		ID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName, FullName: u.FullName(),
		Email: u.Email, Role: u.Role, RoleLabel: u.Role.Label(), DataScope: u.DataScope, Branch: branchRef(u.BranchID),
		BranchName: u.BranchName, TimeZone: u.TimeZone, IsActive: u.IsActive, DateJoined: u.DateJoined,
		LastLogin: u.LastLogin, Version: u.Version, MustChangePassword: u.MustChangePassword,
	}
}

// userFor is the representation of u for the caller: full for admins,
// brief for everyone else (their own full record is at /api/me/).
func userFor(scope access.Scope, u *auth.User) any {
	if scope.IsAdmin() {
		return toUserJSON(u)
	}
	return userBrief{ID: u.ID, FullName: u.FullName(), Branch: branchRef(u.BranchID), Role: u.Role, IsActive: u.IsActive}
}

// userFilter reads the directory's query: search, role, branch,
// is_active, data_scope, ordering and the page.
func userFilter(r *http.Request) (auth.UserFilter, error) {
	q := r.URL.Query()
	f := auth.UserFilter{Search: strings.TrimSpace(q.Get("search")), Ordering: q.Get("ordering")}
	page, size, err := pageParams(r)
	inv := apperr.Invalid{}
	if pinv, ok := apperr.AsInvalid(err); ok {
		for k, v := range pinv {
			inv.Add(k, v)
		}
	}
	f.Page, f.PageSize = page, size
	if v := q.Get("role"); v != "" {
		f.Role = access.Role(v)
		if !f.Role.Valid() {
			inv.Add("role", "Выберите корректный вариант. «"+v+"» нет среди допустимых значений.")
		}
	}
	if v := q.Get("data_scope"); v != "" {
		f.DataScope = access.DataScope(v)
		if !f.DataScope.Valid() {
			inv.Add("data_scope", "Выберите корректный вариант. «"+v+"» нет среди допустимых значений.")
		}
	}
	if v := q.Get("branch"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			inv.Add("branch", "Неверный идентификатор филиала")
		}
		f.BranchID = id
	}
	if v := q.Get("is_active"); v != "" {
		b, ok := parseBool(v)
		if !ok {
			inv.Add("is_active", "Ожидается true или false")
		}
		f.Active = &b
	}
	if f.Ordering != "" && !auth.ValidOrdering(f.Ordering) {
		inv.Add("ordering", "Сортировка возможна по last_name, username или date_joined")
	}
	return f, inv.Err()
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true, true
	case "false", "0", "no", "off":
		return false, true
	}
	return false, false
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	f, err := userFilter(r)
	if err != nil {
		return err
	}
	scope := scopeFrom(r)
	users, count, err := s.users.List(r.Context(), scope, f)
	if err != nil {
		return err
	}
	out := make([]any, len(users))
	for i, u := range users {
		out[i] = userFor(scope, u)
	}
	return respond(w, r, http.StatusOK, newListPage(r, out, count, f.Page, f.PageSize), nil)
}

func (s *Server) showUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.users.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return respond(w, r, http.StatusOK, userFor(scopeFrom(r), u), nil)
}

// createUser is POST /api/users/ and the admin's new-user form. Only
// admins create users; anyone else is refused before the body is read.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	scope := scopeFrom(r)
	if err := scope.CanManage(); err != nil {
		return err
	}
	var in auth.UserInput
	var u *auth.User
	err := decodeUserInput(w, r, &in)
	if err == nil {
		if in.Password == nil && !wantsJSON(r) {
			empty := ""
			in.Password = &empty // the form requires a password: say so beside the field
		}
		u, err = s.users.Create(r.Context(), scope, in)
	}
	ok := done{status: http.StatusCreated}
	if u != nil {
		ok.body, ok.flash, ok.to = toUserJSON(u), "Пользователь "+u.FullName()+" создан", adminUserPath(u.ID)
	}
	return saved(w, r, ok, err, func(status int, errs apperr.Invalid) error {
		f := withInput(view.UserForm{}, in)
		f.Errors = errs
		return s.renderUserForm(w, r, status, f)
	})
}

// adminUserPath is a user's page in the admin section.
func adminUserPath(id int64) string { return "/admin/users/" + strconv.FormatInt(id, 10) + "/" }

// updateUser is PATCH (what is sent), PUT (the names required) and the
// admin's user form, which never sets a password (the reset form does).
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	scope := scopeFrom(r)
	if err := scope.CanManage(); err != nil {
		return err
	}
	var in auth.UserInput
	var u *auth.User
	if err = decodeUserInput(w, r, &in); err == nil {
		err = requiredOnPut(r, in)
	}
	if err == nil {
		if !wantsJSON(r) {
			in.Password = nil
		}
		u, err = s.users.Update(r.Context(), scope, id, in)
	}
	ok := done{status: http.StatusOK, flash: "Изменения сохранены", to: adminUserPath(id)}
	if u != nil {
		ok.body = toUserJSON(u)
	}
	return saved(w, r, ok, err, func(status int, errs apperr.Invalid) error {
		cur, err := s.users.Get(r.Context(), id)
		if err != nil {
			return err
		}
		f := userFormView(cur, userFrom(r).Location(s.cfg.Location))
		if status == http.StatusConflict {
			// The stored values with the new version, so a second save is deliberate.
			errs = apperr.Invalid{apperr.NonField: "Пользователя уже изменил кто-то другой. Проверьте данные и сохраните ещё раз."}
		} else {
			f = withInput(f, in)
		}
		f.Errors = errs
		return s.renderUserForm(w, r, status, f)
	})
}

// requiredOnPut: a PUT replaces the user, so it must name them.
func requiredOnPut(r *http.Request, in auth.UserInput) error {
	if r.Method != http.MethodPut {
		return nil
	}
	inv := apperr.Invalid{}
	for name, v := range map[string]*string{"username": in.Username, "first_name": in.FirstName, "last_name": in.LastName} {
		if v == nil {
			inv.Add(name, "Обязательное поле.")
		}
	}
	return inv.Err()
}

// decodeUserInput reads a user from JSON; forms come through the admin
// pages' own handlers.
func decodeUserInput(w http.ResponseWriter, r *http.Request, in *auth.UserInput) error {
	f := userForm{in: in}
	return decode(w, r, &f)
}

// userForm adapts auth.UserInput to decode: JSON goes straight into the
// input, a form through fromForm.
type userForm struct{ in *auth.UserInput }

func (f *userForm) UnmarshalJSON(b []byte) error { return jsonUnmarshal(b, f.in) }

func (f *userForm) fromForm(v url.Values) error {
	in := f.in
	str := func(key string) *string {
		if !v.Has(key) {
			return nil
		}
		s := v.Get(key)
		return &s
	}
	in.Username, in.FirstName, in.LastName = str("username"), str("first_name"), str("last_name")
	in.Email, in.TimeZone = str("email"), str("time_zone")
	if p := str("password"); p != nil && *p != "" {
		in.Password = p
	}
	if v.Has("role") {
		role := access.Role(v.Get("role"))
		in.Role = &role
	}
	if v.Has("data_scope") {
		ds := access.DataScope(v.Get("data_scope"))
		in.DataScope = &ds
	}
	if v.Has("branch") {
		if err := in.BranchID.UnmarshalJSON([]byte(strconv.Quote(v.Get("branch")))); err != nil {
			return err
		}
	}
	if v.Has("is_active_field") {
		active := v.Has("is_active")
		in.IsActive = &active
	}
	if v.Has("must_change_password_field") {
		must := v.Has("must_change_password")
		in.MustChangePassword = &must
	}
	if ver := v.Get("version"); ver != "" {
		n, err := strconv.Atoi(ver)
		if err != nil {
			return apperr.Invalid{apperr.NonField: "Неверная версия формы, обновите страницу"}
		}
		in.Version = &n
	}
	return nil
}

func (s *Server) showMe(w http.ResponseWriter, r *http.Request) error {
	return respond(w, r, http.StatusOK, toUserJSON(userFrom(r)), nil)
}

// updateMe is PATCH /api/me/ and both forms of the profile page:
// personal data, and the password change (which the form asks for twice).
// A changed password ends the user's other sessions and renews this one.
func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error {
	var in auth.ProfileInput
	me := userFrom(r)
	var u *auth.User
	changed := false
	err := decode(w, r, &profileForm{in: &in})
	if err == nil && !wantsJSON(r) {
		err = passwordTwice(r, in)
	}
	if err == nil {
		u, changed, err = s.users.UpdateProfile(r.Context(), me.ID, in)
	}
	if err == nil && changed {
		err = s.renewSession(w, r, u)
	}
	ok := done{status: http.StatusOK, flash: "Профиль сохранён", to: "/profile/"}
	if u != nil {
		ok.body = toUserJSON(u)
	}
	if changed {
		ok.flash = "Пароль изменён. Другие сеансы завершены."
	}
	return saved(w, r, ok, err, func(status int, errs apperr.Invalid) error {
		f := profileView(me)
		if in.FirstName != nil {
			f.FirstName, f.LastName = *in.FirstName, deref(in.LastName)
			f.Email, f.TimeZone = deref(in.Email), deref(in.TimeZone)
		}
		if status == http.StatusConflict {
			errs = apperr.Invalid{apperr.NonField: "Профиль изменён в другом окне. Проверьте данные и сохраните ещё раз."}
		}
		f.Errors = errs
		f.CalendarOn, _ = s.feeds.Enabled(r.Context(), me.ID)
		return respond(w, r, status, nil, view.ProfilePage(s.shell(r, "Мой профиль", ""), f))
	})
}

// passwordTwice checks the password form: the new password, typed twice.
func passwordTwice(r *http.Request, in auth.ProfileInput) error {
	switch {
	case in.Password == nil:
		return nil
	case r.PostForm.Get("password2") != *in.Password:
		return apperr.Invalid{"password2": "Пароли не совпадают"}
	case *in.Password == "":
		return apperr.Invalid{"password": "Введите новый пароль"}
	}
	return nil
}

// profileForm adapts auth.ProfileInput to decode.
type profileForm struct{ in *auth.ProfileInput }

func (f *profileForm) UnmarshalJSON(b []byte) error { return jsonUnmarshal(b, f.in) }

func (f *profileForm) fromForm(v url.Values) error {
	str := func(key string) *string {
		if !v.Has(key) {
			return nil
		}
		s := v.Get(key)
		return &s
	}
	in := f.in
	in.FirstName, in.LastName, in.Email, in.TimeZone = str("first_name"), str("last_name"), str("email"), str("time_zone")
	in.Password, in.CurrentPassword = str("password"), str("current_password")
	if ver := v.Get("version"); ver != "" {
		if n, err := strconv.Atoi(ver); err == nil {
			in.Version = &n
		}
	}
	return nil
}

// renewSession gives the current browser a fresh session after its user's
// sessions were ended (own password change), so they stay signed in.
func (s *Server) renewSession(w http.ResponseWriter, r *http.Request, u *auth.User) error {
	if _, err := r.Cookie(sessionCookie); err != nil {
		return nil // an API client with a token: nothing to renew
	}
	return s.startSession(w, r, u)
}

func itoa(n int) string { return strconv.Itoa(n) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// profileForm builds the profile page's values from the user.
func profileView(u *auth.User) view.ProfileForm {
	return view.ProfileForm{Username: u.Username, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email,
		TimeZone: u.TimeZone, RoleLabel: u.Role.Label(), Branch: u.BranchName, Version: u.Version}
}

func (s *Server) showProfile(w http.ResponseWriter, r *http.Request) error {
	u := userFrom(r)
	f := profileView(u)
	on, err := s.feeds.Enabled(r.Context(), u.ID)
	if err != nil {
		return err
	}
	f.CalendarOn = on
	return respond(w, r, http.StatusOK, toUserJSON(u), view.ProfilePage(s.shell(r, "Мой профиль", ""), f))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) branchOptions(r *http.Request, current int64) ([]view.Option, error) {
	items, err := s.dicts.All(r.Context(), dictionary.Branches)
	if err != nil {
		return nil, err
	}
	opts := make([]view.Option, len(items))
	for i, b := range items {
		opts[i] = view.Option{Value: strconv.FormatInt(b.ID, 10), Label: b.Name, Selected: b.ID == current}
	}
	return opts, nil
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	f, err := userFilter(r)
	if err != nil {
		return err
	}
	users, count, err := s.users.List(r.Context(), scopeFrom(r), f)
	if err != nil {
		return err
	}
	branches, err := s.branchOptions(r, f.BranchID)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l := view.UserList{
		Users: users, Search: f.Search, Role: q.Get("role"), Branch: q.Get("branch"), Active: q.Get("is_active"),
		Ordering: f.Ordering, Branches: branches,
		Pager:    view.Pager{Page: f.Page, Pages: (count + f.PageSize - 1) / f.PageSize, Count: count, URL: pageURL(r)},
		SortURL:  func(key string) string { return withParam(r, "ordering", key) },
		Location: userFrom(r).Location(s.cfg.Location),
	}
	return respond(w, r, http.StatusOK, nil, view.UserListPage(s.shell(r, "Пользователи", "admin"), l))
}

// userFormView fills the admin form from a stored user.
func userFormView(u *auth.User, loc *time.Location) view.UserForm {
	f := view.UserForm{ID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email,
		Role: string(u.Role), DataScope: string(u.DataScope), TimeZone: u.TimeZone, IsActive: u.IsActive,
		MustChangePassword: u.MustChangePassword, Version: u.Version, FullName: u.FullName(), DateJoined: u.DateJoined.In(loc).Format("02.01.2006")}
	if u.BranchID != 0 {
		f.Branch = strconv.FormatInt(u.BranchID, 10)
	}
	f.LastLogin = "ещё не входил"
	if u.LastLogin != nil {
		f.LastLogin = u.LastLogin.In(loc).Format("02.01.2006 15:04")
	}
	return f
}

// withInput overlays what the admin typed on the form, for a re-render.
func withInput(f view.UserForm, in auth.UserInput) view.UserForm {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&f.Username, in.Username)
	set(&f.FirstName, in.FirstName)
	set(&f.LastName, in.LastName)
	set(&f.Email, in.Email)
	set(&f.TimeZone, in.TimeZone)
	if in.Role != nil {
		f.Role = string(*in.Role)
	}
	if in.DataScope != nil {
		f.DataScope = string(*in.DataScope)
	}
	if in.BranchID.Set {
		f.Branch = ""
		if in.BranchID.ID != 0 {
			f.Branch = strconv.FormatInt(in.BranchID.ID, 10)
		}
	}
	if in.IsActive != nil {
		f.IsActive = *in.IsActive
	}
	if in.MustChangePassword != nil {
		f.MustChangePassword = *in.MustChangePassword
	}
	return f
}

func (s *Server) renderUserForm(w http.ResponseWriter, r *http.Request, status int, f view.UserForm) error {
	branchID, _ := strconv.ParseInt(f.Branch, 10, 64)
	branches, err := s.branchOptions(r, branchID)
	if err != nil {
		return err
	}
	f.Branches = branches
	f.Self = f.ID != 0 && f.ID == userFrom(r).ID
	title := "Новый пользователь"
	if f.ID != 0 {
		title = f.FullName
	}
	return respond(w, r, status, nil, view.UserFormPage(s.shell(r, title, "admin"), f))
}

func (s *Server) adminNewUser(w http.ResponseWriter, r *http.Request) error {
	return s.renderUserForm(w, r, http.StatusOK, view.UserForm{Role: string(access.RoleManager), DataScope: string(access.Global), IsActive: true,
		MustChangePassword: true})
}

func (s *Server) adminEditUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.users.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return s.renderUserForm(w, r, http.StatusOK, userFormView(u, userFrom(r).Location(s.cfg.Location)))
}

// resetPassword is the admin's reset form: a new password, and the
// user's sessions end; with «Сменить пароль при следующем входе» (on in
// the form by default) the user then chooses their own.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.Invalid{"new_password": "Неверные данные формы"}
	}
	mustChange := r.PostForm.Has("must_change_password")
	err = s.users.ResetPassword(r.Context(), scopeFrom(r), id, r.PostForm.Get("new_password"), mustChange)
	return saved(w, r, done{status: http.StatusNoContent, flash: "Пароль изменён, сеансы пользователя завершены", to: adminUserPath(id)},
		err, func(status int, errs apperr.Invalid) error {
			cur, err := s.users.Get(r.Context(), id)
			if err != nil {
				return err
			}
			f := userFormView(cur, userFrom(r).Location(s.cfg.Location))
			f.Errors = map[string]string{"new_password": errs["password"]}
			f.ResetMustChange = &mustChange
			return s.renderUserForm(w, r, status, f)
		})
}

// setActive is the admin's switch ?active=true|false on a user's page; a
// refusal (one's own account) comes back as a toast.
func (s *Server) setActive(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	active, ok := parseBool(r.URL.Query().Get("active"))
	if !ok {
		return apperr.Invalid{"active": "Ожидается true или false"}
	}
	u, err := s.users.Update(r.Context(), scopeFrom(r), id, auth.UserInput{IsActive: &active})
	msg := "Пользователь отключён, его сеансы завершены"
	if active {
		msg = "Пользователь снова может входить"
	}
	var body any
	if u != nil {
		body = toUserJSON(u)
	}
	return saved(w, r, done{status: http.StatusOK, body: body, flash: msg, to: adminUserPath(id)},
		err, func(_ int, errs apperr.Invalid) error {
			setFlash(w, "error", firstMessage(errs))
			redirect(w, r, adminUserPath(id))
			return nil
		})
}

func firstMessage(inv apperr.Invalid) string {
	for _, k := range []string{"is_active", "role", apperr.NonField} {
		if m, ok := inv[k]; ok {
			return m
		}
	}
	for _, m := range inv {
		return m
	}
	return ""
}
