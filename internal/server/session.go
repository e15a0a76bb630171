package server

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/web/view"
)

// safeNext returns where to go after signing in: a path on this site,
// never another host ("//evil.example", "https://…", "/\evil"), else "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return next
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if userFrom(r) != nil {
		redirect(w, r, next)
		return nil
	}
	return s.renderLogin(w, r, http.StatusOK, view.LoginForm{Next: next})
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, f view.LoginForm) error {
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, r, status, nil, view.LoginPage(view.Shell{Title: "Вход"}, f))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := decode(w, r, &in); err != nil {
		return err
	}
	next := safeNext(r.PostForm.Get("next"))
	form := view.LoginForm{Username: strings.TrimSpace(in.Username), Next: next}
	if form.Username == "" || in.Password == "" {
		form.Error = "Введите логин и пароль"
		return s.renderLogin(w, r, http.StatusBadRequest, form)
	}
	u, err := s.signIn(w, r, in)
	var th *auth.Throttled
	switch {
	case errors.As(err, &th):
		form.Error = "Слишком много неудачных попыток входа. Попробуйте снова через " + minutesRu(th) + "."
		return s.renderLogin(w, r, http.StatusTooManyRequests, form)
	case errors.Is(err, apperr.ErrUnauthenticated):
		form.Error = "Неверный логин или пароль"
		return s.renderLogin(w, r, http.StatusBadRequest, form)
	case err != nil:
		return err
	}
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	redirect(w, r, next)
	return nil
}

// minutesRu is the wait in whole minutes, in Russian: «1 минуту», «3 минуты», «15 минут».
func minutesRu(th *auth.Throttled) string {
	n := int(th.RetryAfter.Minutes() + 0.999)
	n = max(n, 1)
	word := "минут"
	switch {
	case n%10 == 1 && n%100 != 11:
		word = "минуту"
	case n%10 >= 2 && n%10 <= 4 && (n%100 < 12 || n%100 > 14):
		word = "минуты"
	}
	return itoa(n) + " " + word
}

// startSession signs the browser in as u with a brand-new session token
// (an old session cookie, if any, is ended first: no session fixation).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *auth.User) error {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.users.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	token, err := s.users.CreateSession(r.Context(), u.ID, s.cfg.SessionTTL, s.clientIP(r), r.UserAgent())
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/",
		MaxAge:   int(s.cfg.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.isTLS(r),
	})
	return nil
}

// logout ends the browser's session and, in every process, the live
// event streams opened with it.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.users.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
		if u := userFrom(r); u != nil {
			if err := s.db.InTx(r.Context(), func(tx *sql.Tx) error {
				return live.EndStreams(r.Context(), tx, u.ID, credentialKey(c.Value))
			}); err != nil {
				return err
			}
		}
	}
	if u := userFrom(r); u != nil {
		if err := audit.Record(r.Context(), s.db, u.Scope(), audit.Entry{Action: "auth.logout", ObjectType: "user", ObjectID: audit.ID(u.ID)}); err != nil {
			s.log.ErrorContext(r.Context(), "audit of a sign-out failed", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.isTLS(r),
	})
	redirect(w, r, "/login")
	return nil
}
