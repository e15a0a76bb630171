package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/database"
)

// createPostgres dumps db with pg_dump in custom format. The rows are
// counted in a repeatable-read transaction whose snapshot pg_dump is
// given (--snapshot), so the manifest describes exactly what the archive
// holds although writers go on meanwhile.
func createPostgres(ctx context.Context, db *database.DB, tmp string, m *Manifest, o Options) error {
	server, err := serverMajor(ctx, db)
	if err != nil {
		return err
	}
	dump, version, err := findTool("pg_dump", o.PathEnv, server)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer func() { _ = conn.Close() }()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var snapshot string
	if err := tx.QueryRowContext(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return fmt.Errorf("postgres snapshot: %w", err)
	}
	c, err := readContents(ctx, tx, database.Postgres)
	if err != nil {
		return err
	}
	m.Schema, m.Tables, m.AuditHead, m.AuditLanes = c.Schema, c.Tables, c.AuditHead, c.AuditLanes
	m.Tool = "pg_dump " + version
	dsn, env := libpq(db.DSN())
	//nolint:gosec // the tool found on PATH, our own arguments
	cmd := exec.CommandContext(ctx, dump, "--format=custom", "--snapshot="+snapshot, "--file="+tmp, "--dbname="+dsn)
	return runTool(cmd, env, "pg_dump")
}

// restorePostgres restores an archive into the empty database at rawURL,
// in one transaction: it is restored whole or not at all. With fits, the
// archive's schema version is read first and must be one to restore.
func restorePostgres(ctx context.Context, file, rawURL string, o Options, fits func(schema int64) error) error {
	db, err := database.Open(ctx, rawURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	names, err := tableNames(ctx, db, database.Postgres)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		return notEmpty(dbName(rawURL), names)
	}
	server, err := serverMajor(ctx, db)
	if err != nil {
		return err
	}
	restore, _, err := findTool("pg_restore", o.PathEnv, server)
	if err != nil {
		return err
	}
	if fits != nil {
		schema, err := archiveSchema(ctx, restore, file)
		if err != nil {
			return err
		}
		if err := fits(schema); err != nil {
			return err
		}
	}
	dsn, env := libpq(rawURL)
	//nolint:gosec // the tool found on PATH, our own arguments
	cmd := exec.CommandContext(ctx, restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname="+dsn, file)
	return runTool(cmd, env, "pg_restore")
}

// archiveSchema reads the goose schema version a pg_dump archive holds
// (0 without one) from the archive itself: pg_restore prints just the
// goose_db_version table's data as COPY text, without a database.
func archiveSchema(ctx context.Context, restore, file string) (int64, error) {
	//nolint:gosec // the tool found on PATH, our own arguments
	cmd := exec.CommandContext(ctx, restore, "--data-only", "--table=goose_db_version", "--file=-", file)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := runTool(cmd, nil, "pg_restore"); err != nil {
		return 0, err
	}
	var (
		latest int64
		col    = -1
	)
	for line := range strings.SplitSeq(out.String(), "\n") {
		switch {
		case col < 0 && strings.HasPrefix(line, "COPY ") && strings.Contains(line, "goose_db_version ("):
			open, end := strings.Index(line, "("), strings.Index(line, ")")
			if end < open {
				return 0, fmt.Errorf("pg_restore: не разобрать %q", line)
			}
			for i, name := range strings.Split(line[open+1:end], ",") {
				if strings.TrimSpace(name) == "version_id" {
					col = i
				}
			}
		case col >= 0 && line == "\\.":
			return latest, nil
		case col >= 0:
			f := strings.Split(line, "\t")
			if col < len(f) {
				if v, err := strconv.ParseInt(f[col], 10, 64); err == nil {
					latest = max(latest, v)
				}
			}
		}
	}
	return latest, nil
}

// runTool runs a PostgreSQL client tool and turns its failure into an
// error quoting what it said.
func runTool(cmd *exec.Cmd, env []string, name string) error {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s завершился с ошибкой: %s", name, msg)
	}
	return nil
}

// serverMajor is the PostgreSQL server's major version.
func serverMajor(ctx context.Context, db querier) (int, error) {
	var num int
	if err := db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&num); err != nil {
		return 0, fmt.Errorf("postgres version: %w", err)
	}
	return num / 10000, nil
}

var toolVersion = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(\.\d+)?`)

// findTool finds a PostgreSQL client tool on pathEnv and checks that it is
// not older than the server (pg_dump refuses a newer server; pg_restore
// may not read its archives). It returns the path and the version text.
func findTool(name, pathEnv string, server int) (string, string, error) {
	if pathEnv == "" {
		pathEnv = os.Getenv("PATH")
	}
	var found string
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p) //nolint:gosec // a PATH directory the operator set
		if err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			found = p
			break
		}
	}
	if found == "" {
		return "", "", fmt.Errorf("%s не найден в PATH (%s): для копии PostgreSQL нужен клиент PostgreSQL версии %d или новее (Debian/Ubuntu: apt install postgresql-client-%d; Alpine: apk add postgresql%d-client)",
			name, pathEnv, server, server, server)
	}
	out, err := exec.Command(found, "--version").Output() //nolint:gosec,noctx // a version query of the tool just found
	if err != nil {
		return "", "", fmt.Errorf("%s --version: %w", found, err)
	}
	mm := toolVersion.FindStringSubmatch(string(out))
	if mm == nil {
		return "", "", fmt.Errorf("%s: не удалось понять версию из %q", found, strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(mm[1])
	if major < server {
		return "", "", fmt.Errorf("%s версии %d старше сервера PostgreSQL %d и не сможет с ним работать: установите клиент PostgreSQL %d или новее (Debian/Ubuntu: apt install postgresql-client-%d; Alpine: apk add postgresql%d-client) или укажите его в PATH",
			found, major, server, server, server, server)
	}
	return found, mm[1] + mm[2], nil
}

// libpq turns a pgx URL into one libpq tools accept, moving the password
// into PGPASSWORD (not the command line, which other users can read) and
// dropping pgx's own pool settings and the session parameters the
// server sets for itself (plan_cache_mode), which libpq refuses in a URL.
func libpq(rawURL string) (string, []string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL, nil
	}
	var env []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" ||
			k == "statement_cache_capacity" || k == "description_cache_capacity" ||
			k == "plan_cache_mode" { // the server's own session parameter (database.Open)
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), env
}

// dbName is the database name of a PostgreSQL URL.
func dbName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return strings.TrimPrefix(u.Path, "/")
}

// withDB is rawURL with its database replaced by name.
func withDB(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// scratchPostgres creates an empty database on the server of serverURL and
// returns its URL and its removal.
func scratchPostgres(ctx context.Context, serverURL string) (string, func(), error) {
	if !strings.HasPrefix(serverURL, "postgres://") && !strings.HasPrefix(serverURL, "postgresql://") {
		return "", nil, errors.New("копия PostgreSQL проверяется восстановлением во временную базу на сервере PostgreSQL: укажите его адрес в CRM_DATABASE_URL или --database-url")
	}
	admin, err := database.Open(ctx, serverURL)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "crm_verify_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("не удалось создать временную базу для проверки (нужно право CREATEDB): %w", err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		_ = admin.Close()
	}
	scratch, err := withDB(serverURL, name)
	if err != nil {
		drop()
		return "", nil, err
	}
	return scratch, drop, nil
}
