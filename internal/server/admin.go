package server

import (
	"net/http"

	"github.com/crmprofi/crm/web/view"
)

// adminIndex is the admin section's front page.
func (s *Server) adminIndex(w http.ResponseWriter, r *http.Request) error {
	return respond(w, r, http.StatusOK, nil, view.AdminIndexPage(s.shell(r, "Администрирование", "admin")))
}
