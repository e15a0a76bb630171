// Package server is the HTTP face of CRM ПРОФИ: one chi router whose
// handlers serve both the templ pages and the JSON API.
package server

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/calendar"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/internal/note"
	"github.com/crmprofi/crm/internal/notify"
	"github.com/crmprofi/crm/internal/phone"
	"github.com/crmprofi/crm/internal/task"
	"github.com/crmprofi/crm/internal/taskevents"
)

// Server holds the stores and serves HTTP.
type Server struct {
	cfg   config.Config
	log   *slog.Logger
	db    *database.DB
	users *auth.Store
	// sessions remembers the users of requests (PostgreSQL only, nil on
	// SQLite) once CacheSessions has started its listener.
	sessions  *auth.SessionCache
	stopCache context.CancelFunc
	tokens    *auth.Tokens
	throttle  *auth.Throttle
	dicts     *dictionary.Store
	companies *company.Store
	dups      *duplicate.Engine
	contacts  *contact.Store
	notes     *note.Store
	tasks     *task.Store
	audit     *audit.Store
	live      *live.Hub
	jobs      Jobs // nil: no background jobs (tests that need none)
	feeds     *calendar.Feeds
	feedLimit *rateLimiter
	notices   *notify.Store
	phones    *phone.Store
	heartbeat time.Duration // of the live events stream
	metrics   *metrics      // Prometheus, at /metrics
	handler   http.Handler

	// admission bounds the requests served at once; the rest wait in
	// line (admission.go).
	admission *admission

	// bodyTimeout bounds how long an ordinary request may take to send
	// its body once its headers are in (see boundBodyRead).
	bodyTimeout time.Duration
}

// Timeouts of the HTTP server. Headers must arrive within
// ReadHeaderTimeout; an ordinary body within the Server's body timeout
// (DefaultBodyTimeout); ReadTimeout is only the outer bound, left long for
// the uploads of later issues.
const (
	ReadHeaderTimeout  = 5 * time.Second
	DefaultBodyTimeout = 15 * time.Second
	ReadTimeout        = 5 * time.Minute
)

// Jobs is what the server's actions need of the background job queue
// (internal/jobs): to add a job in the action's own transaction, so that it
// exists only if the action commits, and to cancel one in it (a task's
// due-time notification when the task is completed or moved).
type Jobs interface {
	Enqueue(ctx context.Context, tx *sql.Tx, args river.JobArgs) (int64, error)
	Cancel(ctx context.Context, tx *sql.Tx, jobID int64) error
	// ReadProgress is how far a run of an import working in this process
	// has read its file (SQLite, where the run cannot write it on the row).
	ReadProgress(importID int64) (done, total int64, ok bool)
}

// Option adds to a Server what not every Server has.
type Option func(*Server)

// WithJobs gives the server the process's job queue. A Server without
// it (tests, commands that serve briefly) schedules no timed work.
func WithJobs(j Jobs) Option { return func(s *Server) { s.jobs = j } }

// WithDuplicateChecks hands what the company saves' duplicate checks find
// to r, for the process's duplicate re-check (jobs.Options.DuplicateChecks).
func WithDuplicateChecks(r *duplicate.Recent) Option {
	return func(s *Server) { s.companies.ShareChecks(r) }
}

// New builds a Server on db. cfg must hold a secret key.
func New(cfg config.Config, log *slog.Logger, db *database.DB, opts ...Option) *Server {
	s := &Server{
		cfg:       cfg,
		log:       slog.New(LogHandler(log.Handler())), // request ids, no secrets
		db:        db,
		users:     auth.NewStore(db),
		tokens:    auth.NewTokens(db, []byte(cfg.SecretKey), cfg.AccessTokenTTL, cfg.RefreshTokenTTL),
		throttle:  auth.NewThrottle(db),
		dicts:     dictionary.NewStore(db),
		companies: company.NewStore(db),
		dups:      duplicate.New(db),
		contacts:  contact.NewStore(db),
		notes:     note.NewStore(db),
		tasks:     task.NewStore(db, cfg.Location),
		audit:     audit.NewStore(db),
		live:      live.NewHub(),
		feeds:     calendar.NewFeeds(db),
		feedLimit: newRateLimiter(feedRequestsPerMinute, time.Minute),
		notices:   notify.NewStore(db),
		phones:    phone.NewStore(db),
		heartbeat: heartbeatEvery,

		bodyTimeout: DefaultBodyTimeout,
	}
	for _, o := range opts {
		o(s)
	}
	// Every task change notifies, reaches the open pages and keeps the
	// task's timed work in step, in the change's own transaction.
	var queue taskevents.Queue
	if s.jobs != nil {
		queue = s.jobs
	}
	events := taskevents.Register(s.tasks, queue, cfg.Location)
	// A user's new zone (theirs or their branch's) moves their all-day
	// tasks' due notifications, in the change's transaction.
	s.users.OnZoneChange(events.RezoneUser)
	s.dicts.OnBranchZoneChange(events.RezoneBranch)
	if cfg.PhoneCallTTL > 0 {
		s.phones.CallTTL = cfg.PhoneCallTTL
	}
	if cfg.PhonePairingTTL > 0 {
		s.phones.PairingTTL = cfg.PhonePairingTTL
	}
	// A call request schedules its timed expiry and, with FCM configured,
	// its push, in its own transaction.
	if s.jobs != nil {
		s.phones.SetQueue(s.jobs, cfg.FCMCredentials != "")
	}
	// A deactivated user's phones are revoked with the deactivation.
	s.users.OnDeactivate(s.phones.RevokeUser)
	s.live.Attach(db, s.log)
	if db.Dialect == database.Postgres {
		s.sessions = auth.NewSessionCache(db, s.log)
		s.users.UseCache(s.sessions)
	}
	s.admission = newAdmission(cfg.MaxActiveRequests, cfg.MaxQueuedRequests, cfg.QueueTimeout)
	s.metrics = s.newMetrics()
	s.countJobFailures()
	s.handler = s.routes()
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Live is the hub of the users' live events, for the work that publishes
// them (imports, exports, jobs).
func (s *Server) Live() *live.Hub { return s.live }

// Close ends the open live event streams, so that a graceful shutdown
// does not wait for them (http.Server.RegisterOnShutdown), and the
// session cache's listener.
func (s *Server) Close() {
	s.live.Close()
	if s.stopCache != nil {
		s.stopCache()
	}
}

// CacheSessions starts the listener of the session cache (PostgreSQL;
// nothing on SQLite): from the moment it listens, a GET or HEAD by a
// session or token user this process knows sends no statement to find
// its user (auth.SessionCache). It runs until ctx ends or Close. A
// Server that never calls it reads every request's user, as tests that
// change the database behind its back expect.
func (s *Server) CacheSessions(ctx context.Context) {
	if s.sessions == nil || s.stopCache != nil {
		return
	}
	ctx, s.stopCache = context.WithCancel(ctx)
	go s.sessions.Run(ctx)
}

// Health checks what must hold before serving: the database answers a
// query and its schema is current (/readyz checks these and more).
func (s *Server) Health(ctx context.Context) error {
	return s.healthCheck(ctx)
}
