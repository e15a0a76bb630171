package server

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/web/static"
)

// routes is every route of the application, in one place. The domain
// routes are mounted twice — at "/" for pages and at "/api" for JSON — with
// the same handlers; respond picks the representation.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.logRequests, s.securityHeaders, s.boundBodyRead, compress)

	r.Get("/healthz", s.wrap(s.health))
	r.Handle("/static/*", static.Handler())
	r.Handle("/favicon.ico", static.Favicon())

	// Pages: signed in with the session cookie.
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate, s.flashes)
		s.sessionRoutes(r) // /login, /logout
		r.Group(func(r chi.Router) {
			r.Use(s.requireUser)
			r.Get("/", func(w http.ResponseWriter, r *http.Request) { redirect(w, r, "/companies/") })
			s.domainRoutes(r)
			s.pageRoutes(r)
			r.Route("/admin", func(r chi.Router) {
				r.Use(s.requireAdmin)
				s.adminRoutes(r)
			})
		})
	})
	// The JSON API: Bearer tokens or the browser session.
	r.Route("/api", func(r chi.Router) {
		// /api/token/… take credentials in the body; a stale Authorization
		// header sent along with a refresh must not get in the way.
		s.tokenRoutes(r)
		r.Group(func(r chi.Router) {
			r.Use(s.authenticate, s.requireUser)
			s.domainRoutes(r)
			s.apiRoutes(r)
		})
		r.NotFound(s.apiNotFound(r))
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			_ = writeJSON(w, http.StatusMethodNotAllowed, detail{Detail: "Метод «" + r.Method + "» не разрешён."})
		})
	})
	r.NotFound(s.wrap(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))

	protection := http.NewCrossOriginProtection()
	return protection.Handler(r)
}

// domainRoutes are served under both "/" and "/api" by the same handlers.
func (s *Server) domainRoutes(r chi.Router) {
	s.userRoutes(r)
	s.dictionaryRoutes(r)
	s.companyRoutes(r)
	s.contactRoutes(r)
	s.noteRoutes(r)
	s.auditRoutes(r)
}

// apiNotFound redirects an API path missing its trailing slash to the
// slashed path (308 keeps the method and body) when that path exists.
func (s *Server) apiNotFound(api chi.Router) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/") {
			rctx := chi.NewRouteContext()
			if api.Match(rctx, r.Method, strings.TrimPrefix(r.URL.Path, "/api")+"/") {
				target := r.URL.Path + "/"
				if r.URL.RawQuery != "" {
					target += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, target, http.StatusPermanentRedirect) //nolint:gosec // target is this request's own /api path plus a slash
				return
			}
		}
		_ = writeJSON(w, http.StatusNotFound, detail{Detail: "Страница не найдена."})
	}
}
