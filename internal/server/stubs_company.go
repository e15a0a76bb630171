package server

import "github.com/go-chi/chi/v5"

// Skeleton route groups owned by the companies work; replace this file.
func (s *Server) companyRoutes(r chi.Router) {}
