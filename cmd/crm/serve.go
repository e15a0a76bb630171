package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/phone/fcm"
	"github.com/crmprofi/crm/internal/server"
)

// setup loads the configuration and opens and migrates the database; every
// subcommand that touches data starts here.
func setup(ctx context.Context, env *environment, fs *flag.FlagSet, args []string) (config.Config, *slog.Logger, *database.DB, error) {
	russianUsage(env, fs)
	cfg, err := config.Load(fs, args, env.getenv)
	if err != nil {
		return cfg, nil, nil, err
	}
	log := newLogger(cfg, env)
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return cfg, log, nil, err
	}
	if _, err := db.Migrate(ctx, log); err != nil {
		_ = db.Close()
		return cfg, log, nil, err
	}
	return cfg, log, db, nil
}

func newLogger(cfg config.Config, env *environment) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	// server.LogHandler adds the request id and keeps secrets and phone
	// numbers out of every line, the jobs' and River's included.
	if cfg.LogFormat == "json" {
		return slog.New(server.LogHandler(slog.NewJSONHandler(env.stderr, opts)))
	}
	return slog.New(server.LogHandler(slog.NewTextHandler(env.stderr, opts)))
}

func cmdServe(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, log, db, err := setup(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if err := cfg.EnsureSecret(); err != nil {
		return err
	}
	// The planner's statistics (SQLite): analysed where a table's size
	// moved far from them, once, before serving.
	started := time.Now()
	analysed, err := db.RefreshStatistics(ctx)
	if err != nil {
		return err
	}
	if len(analysed) > 0 {
		log.Info("planner statistics refreshed", "tables", analysed, "took", time.Since(started).Round(time.Millisecond))
	}
	if cfg.GeneratedSecret {
		log.Warn("no CRM_SECRET_KEY: generated one and stored it; set CRM_SECRET_KEY in production", "file", cfg.SecretKeyFile)
	}
	// Background jobs (River) run in every serving process; they stop
	// after the HTTP server, so requests in flight may still enqueue.
	// The re-check of a company a request has just checked for duplicates
	// takes what the request found (duplicate.Recent).
	checks := duplicate.NewRecent()
	opts := jobs.Options{Log: log, RescueAfter: cfg.JobRescueAfter, ImportTimeout: cfg.ImportTimeout, ExportDir: cfg.ExportDir,
		DuplicateChecks: checks}
	if cfg.FCMCredentials == "" {
		log.Info("FCM is not configured (CRM_FCM_CREDENTIALS): phones receive call requests through the long-poll only")
	} else {
		sender, err := fcm.New(ctx, cfg.FCMCredentials, cfg.FCMEndpoint)
		if err != nil {
			return err
		}
		opts.Push = sender
		log.Info("FCM push is on", "project", sender.Project())
	}
	bg, err := jobs.New(ctx, db, opts)
	if err != nil {
		return err
	}
	serving := false
	defer func() {
		if !serving { // a start that failed: release River's connection
			_ = bg.Stop(context.WithoutCancel(ctx))
		}
	}()
	srv := server.New(cfg, log, db, server.WithJobs(bg), server.WithDuplicateChecks(checks))
	bg.UseLive(srv.Live())
	// PostgreSQL: requests that change nothing find a known user in
	// memory while the cache's listener hears of every change.
	srv.CacheSessions(ctx)
	defer srv.Close()
	if err := srv.Health(ctx); err != nil {
		return fmt.Errorf("health check before start: %w", err)
	}
	if err := greet(ctx, env, cfg, db); err != nil {
		return err
	}
	// Start-up is one-off work (migrations, hashing the first
	// administrator's password): give its memory back to the system now
	// rather than whenever the scavenger gets to it.
	debug.FreeOSMemory()
	tuneGC()

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: server.ReadHeaderTimeout,
		MaxHeaderBytes:    server.MaxHeaderBytes,
		ReadTimeout:       server.ReadTimeout, // uploads; other bodies get seconds (server.DefaultBodyTimeout)
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(srv.Close) // open event streams end, so shutdown does not wait for them
	if err := bg.Start(context.WithoutCancel(ctx)); err != nil {
		_ = ln.Close()
		return err
	}
	serving = true
	log.Info("CRM ПРОФИ is listening", "url", "http://"+ln.Addr().String()+"/", "database", string(db.Dialect), "version", version)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err = hs.Shutdown(shutdownCtx); errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else if err != nil {
			err = fmt.Errorf("shutdown: %w", err)
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, bg.Stop(stopCtx))
}

// greet makes the first administrator when the database has no users
// yet: from CRM_ADMIN_USERNAME / CRM_ADMIN_PASSWORD when they are set
// (docker-compose.yml), else with a random password printed once.
func greet(ctx context.Context, env *environment, cfg config.Config, db *database.DB) error {
	if cfg.AdminUsername != "" {
		return ensureConfiguredAdmin(ctx, env, cfg, db)
	}
	return ensureFirstAdmin(ctx, env, db, siteURL(cfg))
}

func cmdMigrate(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	_, _, db, err := setup(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	cur, latest, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(env.stdout, "Схема базы данных: версия %d из %d\n", cur, latest); err != nil {
		return err
	}
	rcur, rlatest, err := db.RiverMigrationStatus(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.stdout, "Очередь задач River: версия %d из %d\n", rcur, rlatest)
	return err
}

// serverGCPercent is the heap growth crm serve lets the collector allow
// between cycles (GOGC), unless the operator sets GOGC. The server's live
// heap is small (tens of MB) and a busy server allocates fast, so with
// Go's default of 100 it collected many times a second: at 200 clients on
// the load test's mix the collector took 10 % of the server's CPU. At 400
// the server spends 10 % less CPU a request (SQLite, separate processes,
// back to back: 1.53 → 1.37 ms) for a higher peak under that load (VmHWM
// 146 → 221 MB); an idle server is as small as before (it returns the
// start-up's memory, and the collector's floor is the same few MB).
const serverGCPercent = 400

// tuneGC applies serverGCPercent unless GOGC is set in the environment
// (the runtime reads that one itself).
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serverGCPercent)
	}
}
