package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/crmprofi/crm/web/view"
)

// flashCookie carries one toast across the redirect after a successful POST.
const flashCookie = "crm_flash"

// shell is the frame data of a page: the signed-in user, the active menu
// item, the header search echo and the toast left by the previous request.
// Reading the flash clears it, so a toast shows exactly once.
func (s *Server) shell(r *http.Request, title, active string) view.Shell {
	sh := view.Shell{Title: title, Active: active}
	if u := userFrom(r); u != nil {
		sh.User = &view.ShellUser{FullName: u.FullName(), IsAdmin: u.Scope().IsAdmin()}
		// The bell's count came with the session check; a page reached
		// otherwise (a Bearer token) asks for it. A failure shows no count
		// rather than no page.
		n, err := u.Unread, error(nil)
		if !u.UnreadKnown {
			n, err = s.notices.UnreadCount(r.Context(), u.ID)
		}
		if err != nil {
			s.log.WarnContext(r.Context(), "unread notifications count", "err", err)
		}
		sh.User.Unread = n
	}
	if strings.HasPrefix(r.URL.Path, "/companies/") {
		sh.Search = r.URL.Query().Get("search")
	}
	if t, ok := readFlash(r); ok && navigation(r) {
		sh.Toasts = append(sh.Toasts, t)
		clearFlash(r)
	}
	return sh
}

// setFlash leaves a toast for the next page the browser loads — call it
// after a successful POST, before the redirect. kind is "success", "error"
// or "info".
func setFlash(w http.ResponseWriter, kind, text string) {
	http.SetCookie(w, &http.Cookie{
		Name:     flashCookie,
		Value:    kind + "." + base64.RawURLEncoding.EncodeToString([]byte(text)),
		Path:     "/",
		MaxAge:   60,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// navigation reports whether the browser loads r as the page it shows
// (Sec-Fetch-Mode "navigate", or a client that sends no such header).
// A page's own script fetching a fresh copy of itself — «Мой телефон»
// does on a live event, maybe while the browser follows the redirect that
// set the toast — must not take the toast the coming page is to show.
func navigation(r *http.Request) bool {
	mode := r.Header.Get("Sec-Fetch-Mode")
	return mode == "" || mode == "navigate"
}

// readFlash returns the pending toast, if any.
func readFlash(r *http.Request) (view.Toast, bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return view.Toast{}, false
	}
	kind, enc, ok := strings.Cut(c.Value, ".")
	if !ok {
		return view.Toast{}, false
	}
	text, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(text) == 0 {
		return view.Toast{}, false
	}
	return view.Toast{Kind: kind, Text: string(text)}, true
}

type flashKey struct{}

// flashes lets shell clear the flash cookie it has read: shell only gets
// the request, so the response's headers travel in the context. Mount it
// once, before the page routes.
func (s *Server) flashes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(flashCookie); err == nil {
			r = r.WithContext(context.WithValue(r.Context(), flashKey{}, w.Header()))
		}
		next.ServeHTTP(w, r)
	})
}

// clearFlash expires the flash cookie on the response being built, so the
// toast is shown once.
func clearFlash(r *http.Request) {
	h, ok := r.Context().Value(flashKey{}).(http.Header)
	if !ok {
		return
	}
	h.Add("Set-Cookie", (&http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode}).String())
}
