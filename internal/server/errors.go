package server

import (
	"context"
	"net/http"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/web/view"
)

// errNotFound is what the router answers for a path it does not know.
var errNotFound = apperr.ErrNotFound

// renderError writes the friendly error page: in the user's frame when
// signed in, the minimal one otherwise. msg is shown for 4xx answers (a
// 403's reason); 404 and 5xx keep their own wording so nothing internal
// or hidden leaks.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	sh := s.shell(s.withSessionUser(r, status), view.ErrorTitle(status), "")
	if err := render(r.Context(), w, view.ErrorPage(sh, status, msg)); err != nil && !clientGone(r, err) {
		s.log.ErrorContext(r.Context(), "render error page", "err", err)
	}
}

// withSessionUser finds the signed-in user for requests that reached us
// outside the authenticated routes (the router's 404), so that a signed-in
// user keeps their frame on the error page. A server error does not ask
// the database again; any failure leaves r anonymous.
func (s *Server) withSessionUser(r *http.Request, status int) *http.Request {
	if userFrom(r) != nil || status >= http.StatusInternalServerError {
		return r
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return r
	}
	u, err := s.users.UserBySession(r.Context(), c.Value, s.cfg.SessionTTL)
	if err != nil || u == nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), userKey, u))
}
