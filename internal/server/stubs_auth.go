package server

import "github.com/go-chi/chi/v5"

// Skeleton route groups owned by the auth work; replace this file.
func (s *Server) sessionRoutes(r chi.Router)   {}
func (s *Server) tokenRoutes(r chi.Router)     {}
func (s *Server) userRoutes(r chi.Router)      {}
func (s *Server) adminUserRoutes(r chi.Router) {}
