package database

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/crmprofi/crm/migrations"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// Migrate applies every pending migration of the DB's dialect and returns
// how many were applied.
//
// On PostgreSQL it holds an advisory lock meanwhile: processes started
// together on one database (two `crm serve`, a deploy running `crm
// migrate`) migrate one after the other, and the later ones find nothing
// to do.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) (int, error) {
	if db.Dialect == Postgres {
		unlock, err := db.lockMigrations(ctx)
		if err != nil {
			return 0, err
		}
		defer unlock()
	}
	p, err := db.Migrations()
	if err != nil {
		return 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		if log != nil {
			log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
		}
	}
	river, err := db.migrateRiver(ctx, log)
	if err != nil {
		return len(results), err
	}
	return len(results) + river, nil
}

// migrateLock is the advisory lock key that serialises migrations.
const migrateLock = 0x63726d6d6967 // "crmmig"

// lockMigrations takes the migration lock on a connection of its own and
// returns the function that releases it.
func (db *DB) lockMigrations(ctx context.Context) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock)
		_ = conn.Close()
	}, nil
}

// migrateRiver applies River's own migrations (the job queue's tables,
// river_*) with rivermigrate, through the driver River runs on for the
// dialect. They are River's, versioned by River, so they are not copied
// into our goose folders; upgrading River brings its new ones here.
func (db *DB) migrateRiver(ctx context.Context, log *slog.Logger) (int, error) {
	var (
		res *rivermigrate.MigrateResult
		err error
	)
	if db.Dialect == Postgres {
		m, merr := rivermigrate.New(riverdatabasesql.New(db.DB), &rivermigrate.Config{Logger: quiet()})
		if merr != nil {
			return 0, fmt.Errorf("river migrations: %w", merr)
		}
		res, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	} else {
		m, merr := rivermigrate.New(riversqlite.New(db.DB), &rivermigrate.Config{Logger: quiet()})
		if merr != nil {
			return 0, fmt.Errorf("river migrations: %w", merr)
		}
		res, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return 0, fmt.Errorf("river migrations: %w", err)
	}
	for _, v := range res.Versions {
		if log != nil {
			log.Info("river migration applied", "version", v.Version, "name", v.Name, "took", v.Duration)
		}
	}
	return len(res.Versions), nil
}

// quiet is a logger that drops everything: Migrate logs what was applied.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// MigrationStatus reports the current and the newest schema version.
func (db *DB) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := db.Migrations()
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	return current, latest, nil
}

// Migrations is goose's provider of our migrations for db's dialect:
// Migrate and MigrationStatus use it, and tests that take a base to an
// older version and back.
func (db *DB) Migrations() (*goose.Provider, error) {
	fsys, err := migrations.For(string(db.Dialect))
	if err != nil {
		return nil, err
	}
	d := goose.DialectSQLite3
	if db.Dialect == Postgres {
		d = goose.DialectPostgres
	}
	p, err := goose.NewProvider(d, db.DB, fsys, goose.WithLogger(goose.NopLogger()))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// RiverMigrationStatus reports the applied and the newest version of
// River's migrations.
func (db *DB) RiverMigrationStatus(ctx context.Context) (current, latest int, err error) {
	var applied []rivermigrate.Migration
	if db.Dialect == Postgres {
		m, merr := rivermigrate.New(riverdatabasesql.New(db.DB), &rivermigrate.Config{Logger: quiet()})
		if merr != nil {
			return 0, 0, fmt.Errorf("river migrations: %w", merr)
		}
		applied, err = m.ExistingVersions(ctx)
	} else {
		m, merr := rivermigrate.New(riversqlite.New(db.DB), &rivermigrate.Config{Logger: quiet()})
		if merr != nil {
			return 0, 0, fmt.Errorf("river migrations: %w", merr)
		}
		applied, err = m.ExistingVersions(ctx)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("river schema version: %w", err)
	}
	if len(applied) > 0 {
		current = applied[len(applied)-1].Version
	}
	return current, RiverVersion(db.Dialect), nil
}

// RiverVersion is the newest River migration of the dialect's driver; test
// templates are keyed by it as well as by our migration files, so that a
// River upgrade builds a new one.
func RiverVersion(d Dialect) int {
	var all []rivermigrate.Migration
	if d == Postgres {
		if m, err := rivermigrate.New(riverdatabasesql.New(nil), &rivermigrate.Config{Logger: quiet()}); err == nil {
			all = m.AllVersions()
		}
	} else if m, err := rivermigrate.New(riversqlite.New(nil), &rivermigrate.Config{Logger: quiet()}); err == nil {
		all = m.AllVersions()
	}
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Version
}
