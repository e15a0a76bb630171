package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/backup"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// runBackupCmd runs the binary's run with the database URL and the extra
// variables, returning stdout and stderr.
func runBackupCmd(t *testing.T, dbURL string, vars map[string]string, args ...string) (string, string, error) {
	t.Helper()
	getenv := func(key string) string {
		if key == "CRM_DATABASE_URL" {
			return dbURL
		}
		return vars[key]
	}
	var out, errOut bytes.Buffer
	n := 1 // the command, and its verb: backup status, backup verify
	if len(args) > 1 && (args[1] == "status" || args[1] == "verify") {
		n = 2
	}
	args = append(append(append([]string(nil), args[:n]...), "--env-file", filepath.Join(t.TempDir(), "none.env")), args[n:]...)
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// emptyDatabase is the URL of an empty database to restore into.
func emptyDatabase(t *testing.T, d database.Dialect) string {
	t.Helper()
	if d == database.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "restored.db")
	}
	ctx := context.Background()
	server := os.Getenv(dbtest.EnvPostgres)
	admin, err := database.Open(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "crm_restore_cmd_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		_ = admin.Close()
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestBackupCommands runs what the VDS backup service and an operator run:
// a scheduled, verified backup into a folder with a status file, its
// health check, a verify of the file and a restore into an empty base.
func TestBackupCommands(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			src := dbtest.URL(t, d)
			if _, err := runCrm(t, src, "", "createsuperuser", "--username", "chief", "--password", "очень-надёжный",
				"--first-name", "Олег", "--last-name", "Орлов"); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for range 2 {
				out, _, err := runBackupCmd(t, src, nil, "backup", "--dir", dir, "--keep", "1", "--verify")
				if err != nil {
					t.Fatalf("scheduled backup: %v\n%s", err, out)
				}
				if !strings.Contains(out, "Копия проверена: всё совпадает") || !strings.Contains(out, "backup: wrote") {
					t.Fatalf("output %q", out)
				}
			}
			files, _ := filepath.Glob(filepath.Join(dir, "crm-*"))
			var backups []string
			for _, f := range files {
				if !strings.HasSuffix(f, ".manifest.json") {
					backups = append(backups, f)
				}
			}
			if len(backups) != 1 || len(files) != 2 {
				t.Fatalf("--keep 1 left %v", files)
			}
			st, err := backup.ReadStatus(filepath.Join(dir, backup.StatusFileName))
			if err != nil || !st.OK || st.LastGood == nil || !st.LastGood.Verified || st.LastGood.File != filepath.Base(backups[0]) {
				t.Fatalf("status %+v, %v", st, err)
			}
			if out, _, err := runBackupCmd(t, src, nil, "backup", "status", "--dir", dir); err != nil || !strings.Contains(out, "backup: ok") {
				t.Fatalf("status: %v\n%s", err, out)
			}
			if out, _, err := runBackupCmd(t, src, nil, "backup", "verify", backups[0]); err != nil {
				t.Fatalf("verify: %v\n%s", err, out)
			}

			target := emptyDatabase(t, d)
			out, _, err := runBackupCmd(t, target, nil, "restore", backups[0])
			if err != nil || !strings.Contains(out, "восстановлена") {
				t.Fatalf("restore: %v\n%s", err, out)
			}
			if _, _, err := runBackupCmd(t, target, nil, "restore", backups[0]); err == nil || !strings.Contains(err.Error(), "не пуста") {
				t.Fatalf("second restore: %v", err)
			}
			db, err := database.Open(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			var n int
			if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM users WHERE username = 'chief'`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("restored base has %d users chief: %v", n, err)
			}

			// A failing backup says FAILED, records it, and the health
			// check fails while the last good backup is still named.
			down := "postgres://nobody@127.0.0.1:1/crm?sslmode=disable&connect_timeout=2"
			_, stderr, err := runBackupCmd(t, down, nil, "backup", "--dir", dir)
			if err == nil || !strings.Contains(stderr, "backup: FAILED") {
				t.Fatalf("backup of an unreachable base: %v, stderr %q", err, stderr)
			}
			st, _ = backup.ReadStatus(filepath.Join(dir, backup.StatusFileName))
			if st.OK || st.Error == "" || st.LastGood == nil {
				t.Fatalf("status after a failure %+v", st)
			}
			out, _, err = runBackupCmd(t, src, nil, "backup", "status", "--dir", dir)
			if err == nil || !strings.Contains(out, "backup: FAILED") {
				t.Fatalf("status after a failure: %v\n%s", err, out)
			}
		})
	}
}

func TestPostgresBackupCommandWithoutPgDump(t *testing.T) {
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip(dbtest.EnvPostgres + " is not set")
	}
	src := dbtest.URL(t, database.Postgres)
	file := filepath.Join(t.TempDir(), "crm.dump")
	_, _, err := runBackupCmd(t, src, map[string]string{"PATH": t.TempDir()}, "backup", file)
	if err == nil || !strings.Contains(err.Error(), "pg_dump не найден в PATH") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("a failed backup left a file")
	}
}
