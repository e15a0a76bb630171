package database_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestProcessesStartedTogetherMigrateOneAfterTheOther(t *testing.T) {
	admin := os.Getenv(dbtest.EnvPostgres)
	if admin == "" {
		t.Skip("needs PostgreSQL (set " + dbtest.EnvPostgres + ")")
	}
	ctx := context.Background()
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = adminDB.Close() }) // after the drop below: cleanups run last first
	name := "crm_test_migrate_together"
	_, _ = adminDB.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	if _, err := adminDB.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = adminDB.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name

	const processes = 3
	applied := make([]int, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Go(func() {
			db, err := database.Open(ctx, u.String())
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = db.Close() }()
			applied[i], errs[i] = db.Migrate(ctx, nil)
		})
	}
	wg.Wait()
	total := 0
	for i := range processes {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		if applied[i] != 0 {
			total++
		}
	}
	if total != 1 {
		t.Fatalf("migrations applied by %d processes (%v), want exactly one", total, applied)
	}
}
