package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/web/view"
)

// apiRoutes are the JSON-only routes: the dictionaries and the audit log,
// which have their pages in the admin section instead of at "/", the
// palette's suggestions and the live events stream.
func (s *Server) apiRoutes(r chi.Router) {
	s.dictionaryAPIRoutes(r)
	r.Get("/audit/", s.wrap(s.listAudit))
	s.searchRoutes(r)
	s.eventRoutes(r)
}

// pageRoutes are page-only routes outside the admin section; none yet.
func (s *Server) pageRoutes(chi.Router) {}

// adminRoutes is the admin section, mounted at /admin behind requireAdmin.
func (s *Server) adminRoutes(r chi.Router) {
	r.Get("/", s.wrap(s.adminIndex))
	s.adminDictionaryRoutes(r)
	r.Get("/audit/", s.wrap(s.adminAudit))
	s.adminUserRoutes(r)
	s.adminCompanyTrashRoutes(r)
	s.adminContactTrashRoutes(r)
}

func (s *Server) adminIndex(w http.ResponseWriter, r *http.Request) error {
	return respond(w, r, http.StatusOK, nil, view.AdminIndexPage(s.shell(r, "Администрирование", "admin")))
}
