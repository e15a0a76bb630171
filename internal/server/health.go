package server

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// healthTimeout bounds the readiness checks, so a stuck database answers
// 503 quickly instead of hanging the load balancer's probe.
const healthTimeout = 3 * time.Second

// health is GET /healthz: the process is up and serving. It touches
// nothing else (no database), so a liveness probe that restarts the
// container on failure never restarts it for a database outage.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyJSON is the answer of /readyz.
type readyJSON struct {
	Status   string      `json:"status"` // "ok" or "unavailable"
	Database string      `json:"database"`
	Schema   *schemaJSON `json:"schema,omitempty"`
	Checks   []checkJSON `json:"checks"`
	// Failing names the first failing check ("database", "schema",
	// "jobs", …); empty when all pass.
	Failing string `json:"failing,omitempty"`
	// Backup is the age of the last good scheduled backup, when backups
	// are configured (health_backup.go); a warning there is not a failure.
	Backup *backupHealthJSON `json:"backup,omitempty"`
	err    error             // logged, never shown: /readyz is public
}

type schemaJSON struct {
	Current int64 `json:"current"`
	Latest  int64 `json:"latest"`
}

// checkJSON is one check's outcome: ok with a short note ("12 of 12",
// "running"), or failed (the reason stays in the server's log).
type checkJSON struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Status string `json:"status"`
}

// readyCheck is one part of /readyz: a name and a function that returns
// a short public note or an error.
type readyCheck struct {
	name string
	run  func(ctx context.Context, h *readyJSON) (string, error)
}

// readyChecks is everything /readyz checks, in order; a check runs only
// when those before it passed (no schema without a database). Add a
// check here and it is served, logged and tested like the others.
func (s *Server) readyChecks() []readyCheck {
	return []readyCheck{
		{"database", s.checkDatabase},
		{"schema", s.checkSchema},
		{"jobs", s.checkJobs},
		{"backup", s.checkBackup},
		{"fcm", s.checkFCM},
	}
}

// ready is GET /readyz: 200 when the database answers a real query, its
// schema (ours and River's) is current and this process's job queue is
// running; 503 naming the failing part otherwise.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	h := s.checkReady(r.Context(), s.readyChecks())
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
		s.log.WarnContext(r.Context(), "readiness check failed", "failing", h.Failing, "err", h.err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, status, h)
}

// healthCheck is what serve runs before it listens (and before the job
// queue starts): nil when the database and schema checks of /readyz pass.
func (s *Server) healthCheck(ctx context.Context) error {
	var checks []readyCheck
	for _, c := range s.readyChecks() {
		if c.name == "database" || c.name == "schema" {
			checks = append(checks, c)
		}
	}
	h := s.checkReady(ctx, checks)
	if h.Status != "ok" {
		return fmt.Errorf("health: %s: %w", h.Failing, h.err)
	}
	return nil
}

func (s *Server) checkReady(ctx context.Context, checks []readyCheck) readyJSON {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h := readyJSON{Status: "ok", Database: string(s.db.Dialect), Checks: []checkJSON{}}
	for _, c := range checks {
		if h.Failing != "" {
			h.Checks = append(h.Checks, checkJSON{Name: c.name, Status: "not checked"})
			continue
		}
		note, err := c.run(ctx, &h)
		if err != nil {
			h.Status, h.Failing, h.err = "unavailable", c.name, err
			h.Checks = append(h.Checks, checkJSON{Name: c.name, Status: "failed"})
			continue
		}
		h.Checks = append(h.Checks, checkJSON{Name: c.name, OK: true, Status: note})
	}
	return h
}

// checkDatabase runs a real query.
func (s *Server) checkDatabase(ctx context.Context, _ *readyJSON) (string, error) {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return "", err
	}
	return "ok", nil
}

// checkSchema compares the applied migrations, ours and River's, with
// those the binary carries.
func (s *Server) checkSchema(ctx context.Context, h *readyJSON) (string, error) {
	current, latest, err := s.db.MigrationStatus(ctx)
	if err != nil {
		return "", err
	}
	h.Schema = &schemaJSON{Current: current, Latest: latest}
	if current < latest {
		return "", fmt.Errorf("schema version %d, latest %d: run crm migrate", current, latest)
	}
	rcur, rlatest, err := s.db.RiverMigrationStatus(ctx)
	if err != nil {
		return "", err
	}
	if rcur < rlatest {
		return "", fmt.Errorf("job queue schema version %d, latest %d: run crm migrate", rcur, rlatest)
	}
	return fmt.Sprintf("%d of %d", current, latest), nil
}

// checkBackup reports the age of the last good scheduled backup (see
// backupHealthJSON): a warning, never a failure.
func (s *Server) checkBackup(_ context.Context, h *readyJSON) (string, error) {
	h.Backup = s.backupHealth()
	switch {
	case h.Backup == nil:
		return "not configured", nil
	case h.Backup.Status == "ok":
		return "ok", nil
	}
	return "warning: " + h.Backup.Problem, nil
}

// runner is what a job queue tells about itself (jobs.Jobs does).
type runner interface{ Running() bool }

// checkJobs asks whether this process's job queue is working. A Server
// built without one (tests, short-lived commands) has nothing to check.
func (s *Server) checkJobs(context.Context, *readyJSON) (string, error) {
	if s.jobs == nil {
		return "not used", nil
	}
	if q, ok := s.jobs.(runner); ok && !q.Running() {
		return "", fmt.Errorf("the job queue (River) is not running")
	}
	return "running", nil
}

// checkFCM reports the push channel of «Позвонить с телефона»: not
// configured (the phones long-poll only), ok, or degraded by a
// configuration problem FCM reported (phone.Store.SetPushProblem) — a
// warning for the administrator, never a failure: the long-poll still
// carries every call request.
func (s *Server) checkFCM(ctx context.Context, _ *readyJSON) (string, error) {
	if s.cfg.FCMCredentials == "" {
		return "not configured: телефоны получают запросы только через long-poll (CRM_FCM_CREDENTIALS не задан)", nil
	}
	p, ok, err := s.phones.CurrentPushProblem(ctx)
	if err != nil {
		return "", err
	}
	if ok {
		return "degraded: " + p.Code + ": " + p.Detail, nil
	}
	return "ok", nil
}
