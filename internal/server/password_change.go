package server

import (
	"net/http"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/web/view"
)

// passwordChangePath is the «Смените пароль» page.
const passwordChangePath = "/password/change"

// requirePasswordChange keeps a user whose password an admin set (and
// asked to be changed) to the «Смените пароль» page until they choose
// their own: pages redirect there, the API answers 403
// password_change_required. The way out stays open: the page itself, the
// API's own /api/me/ (to read oneself and to change the password) and
// signing out (outside this middleware).
func (s *Server) requirePasswordChange(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := userFrom(r)
		if u == nil || !u.MustChangePassword || passwordChangeAllowed(r) {
			next.ServeHTTP(w, r)
			return
		}
		if wantsJSON(r) {
			_ = writeJSON(w, http.StatusForbidden, detail{
				Detail: "Смените пароль: администратор задал вам временный. Задайте свой через PATCH /api/me/ (current_password, password).",
				Code:   "password_change_required",
			})
			return
		}
		redirect(w, r, passwordChangePath)
	})
}

// passwordChangeAllowed lists what a user who must change their password
// may still do.
func passwordChangeAllowed(r *http.Request) bool {
	switch r.URL.Path {
	case passwordChangePath:
		return true
	case "/api/me/":
		return r.Method == http.MethodGet || r.Method == http.MethodPatch
	}
	return false
}

// showPasswordChange is the «Смените пароль» page; a user who has nothing
// to change goes on to the desk.
func (s *Server) showPasswordChange(w http.ResponseWriter, r *http.Request) error {
	u := userFrom(r)
	if !u.MustChangePassword {
		redirect(w, r, "/desk/")
		return nil
	}
	return s.renderPasswordChange(w, r, http.StatusOK, nil)
}

func (s *Server) renderPasswordChange(w http.ResponseWriter, r *http.Request, status int, errs apperr.Invalid) error {
	f := view.PasswordChangeForm{Username: userFrom(r).Username, Errors: errs}
	return respond(w, r, status, nil, view.PasswordChangePage(view.Shell{Title: "Смените пароль"}, f))
}

// changePassword takes the current and the new password (twice), as the
// profile's form does; the user's other sessions end, this one is renewed
// and the desk opens.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	me := userFrom(r)
	if err := r.ParseForm(); err != nil {
		return s.renderPasswordChange(w, r, http.StatusBadRequest, apperr.Invalid{apperr.NonField: "Неверные данные формы"})
	}
	current, password := r.PostForm.Get("current_password"), r.PostForm.Get("password")
	in := auth.ProfileInput{CurrentPassword: &current, Password: &password}
	err := passwordTwice(r, in)
	if err == nil && password == current {
		err = apperr.Invalid{"password": "Новый пароль должен отличаться от временного"}
	}
	var u *auth.User
	if err == nil {
		u, _, err = s.users.UpdateProfile(r.Context(), me.ID, in)
	}
	if err == nil {
		err = s.renewSession(w, r, u)
	}
	return saved(w, r, done{status: http.StatusOK, flash: "Пароль изменён. Добро пожаловать!", to: "/desk/"}, err,
		func(status int, errs apperr.Invalid) error { return s.renderPasswordChange(w, r, status, errs) })
}
