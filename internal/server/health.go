package server

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// healthJSON is the answer of /healthz.
type healthJSON struct {
	Status   string      `json:"status"`
	Database string      `json:"database"`
	Schema   *schemaJSON `json:"schema,omitempty"`
	Failing  string      `json:"failing,omitempty"` // "database" or "schema"
	// Backup is the age of the last good scheduled backup, when backups
	// are configured (health_backup.go); a warning there is not a failure.
	Backup *backupHealthJSON `json:"backup,omitempty"`
	err    error             // logged and returned by healthCheck, never shown: /healthz is public
}

type schemaJSON struct {
	Current int64 `json:"current"`
	Latest  int64 `json:"latest"`
}

// healthTimeout bounds a check, so a stuck database answers 503 quickly
// instead of hanging the load balancer's probe.
const healthTimeout = 3 * time.Second

// health is GET /healthz: 200 when the database answers a real query and
// its schema is current, 503 naming the failing part otherwise.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	h := s.checkHealth(r.Context())
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
		s.log.WarnContext(r.Context(), "health check failed", "failing", h.Failing, "err", h.err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, status, h)
}

// healthCheck is what serve runs before it listens: nil when /healthz
// would answer 200.
func (s *Server) healthCheck(ctx context.Context) error {
	h := s.checkHealth(ctx)
	if h.Status != "ok" {
		return fmt.Errorf("health: %s: %w", h.Failing, h.err)
	}
	return nil
}

func (s *Server) checkHealth(ctx context.Context) healthJSON {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h := healthJSON{Status: "unavailable", Database: string(s.db.Dialect), Backup: s.backupHealth()}
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		h.Failing, h.err = "database", err
		return h
	}
	current, latest, err := s.db.MigrationStatus(ctx)
	if err != nil {
		h.Failing, h.err = "schema", err
		return h
	}
	h.Schema = &schemaJSON{Current: current, Latest: latest}
	if current < latest {
		h.Failing, h.err = "schema", fmt.Errorf("schema version %d, latest %d: run crm migrate", current, latest)
		return h
	}
	h.Status = "ok"
	return h
}
