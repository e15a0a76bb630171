package database

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/crmprofi/crm/migrations"
	"github.com/pressly/goose/v3"
)

// Migrate applies every pending migration of the DB's dialect and returns
// how many were applied.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) (int, error) {
	p, err := db.provider()
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
	return len(results), nil
}

// MigrationStatus reports the current and the newest schema version.
func (db *DB) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
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

func (db *DB) provider() (*goose.Provider, error) {
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
