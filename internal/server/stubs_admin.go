package server

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/internal/apperr"
)

var errNotFound = apperr.ErrNotFound

// Skeleton route groups owned by the admin/dictionaries/audit work; replace this file.
func (s *Server) dictionaryRoutes(r chi.Router) {}
func (s *Server) auditRoutes(r chi.Router)      {}
func (s *Server) apiRoutes(r chi.Router)        {}
func (s *Server) pageRoutes(r chi.Router)       {}
func (s *Server) adminRoutes(r chi.Router) {
	s.adminUserRoutes(r)
	s.adminCompanyTrashRoutes(r)
	s.adminContactTrashRoutes(r)
}
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	return s.healthCheck(r.Context())
}
func (s *Server) healthCheck(ctx context.Context) error { return s.db.PingContext(ctx) }
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	http.Error(w, msg, status)
}
