package backup

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/database"
)

// contents is what a manifest records of a database, read in one snapshot.
type contents struct {
	Schema     int64
	Tables     map[string]int64
	AuditHead  *AuditHead
	AuditLanes []AuditLane
}

// readContents counts the rows of every table of the database q reads,
// its schema version and its audit chain's head. q should be a snapshot
// (a repeatable-read transaction, or a file nobody writes).
func readContents(ctx context.Context, q querier, d database.Dialect) (contents, error) {
	var (
		c   contents
		err error
	)
	if c.Tables, err = TableCounts(ctx, q, d); err != nil {
		return c, err
	}
	if _, ok := c.Tables["goose_db_version"]; ok {
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version`).Scan(&c.Schema); err != nil {
			return c, fmt.Errorf("schema version: %w", err)
		}
	}
	if c.AuditHead, err = auditHead(ctx, q, d); err != nil {
		return c, err
	}
	if _, ok := c.Tables["audit_lane"]; ok && c.AuditHead != nil {
		if c.AuditLanes, err = auditLanes(ctx, q); err != nil {
			return c, err
		}
	}
	return c, nil
}

// TableCounts counts the rows of every table of the database q reads
// (on PostgreSQL those of every schema but the system ones, named
// schema-qualified outside public). q should be a snapshot, as for
// readContents.
func TableCounts(ctx context.Context, q querier, d database.Dialect) (map[string]int64, error) {
	names, err := tableNames(ctx, q, d)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(names))
	for _, name := range names {
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(name)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", name, err)
		}
		counts[name] = n
	}
	return counts, nil
}

// tableNames lists the tables of the database, sorted: on PostgreSQL those
// of every schema but the system ones (schema-qualified outside public).
func tableNames(ctx context.Context, q querier, d database.Dialect) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if d == database.Postgres {
		query = `SELECT CASE WHEN table_schema = 'public' THEN table_name ELSE table_schema || '.' || table_name END
			FROM information_schema.tables
			WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// quoteIdent quotes a (possibly schema-qualified) table name.
func quoteIdent(name string) string {
	out := `"`
	for _, r := range name {
		switch r {
		case '"':
			out += `""`
		case '.':
			out += `"."`
		default:
			out += string(r)
		}
	}
	return out + `"`
}

// auditHead returns the newest audit entry's id and hash, or nil when
// audit_log has no hash column (a schema before the chain) or no rows.
func auditHead(ctx context.Context, q querier, d database.Dialect) (*AuditHead, error) {
	query := `SELECT count(*) FROM pragma_table_info('audit_log') WHERE name = 'hash'`
	if d == database.Postgres {
		query = `SELECT count(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'audit_log' AND column_name = 'hash'`
	}
	var has int
	if err := q.QueryRowContext(ctx, query).Scan(&has); err != nil {
		return nil, fmt.Errorf("audit chain: %w", err)
	}
	if has == 0 {
		return nil, nil
	}
	var (
		h    AuditHead
		hash any
	)
	err := q.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&h.ID, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return &AuditHead{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit chain: %w", err)
	}
	h.Hash = hashText(hash)
	return &h, nil
}

// hashText is a hash column as read: text, bytes or NULL.
func hashText(hash any) string {
	switch v := hash.(type) {
	case string:
		return v
	case []byte:
		if utf8.Valid(v) && isHex(string(v)) {
			return string(v)
		}
		return hex.EncodeToString(v)
	}
	return ""
}

// laneNumbers lists the lanes of the audit chain.
func laneNumbers(ctx context.Context, q querier) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT lane FROM audit_lane ORDER BY lane`)
	if err != nil {
		return nil, fmt.Errorf("audit chain: %w", err)
	}
	defer rows.Close()
	var lanes []int64
	for rows.Next() {
		var l int64
		if err := rows.Scan(&l); err != nil {
			return nil, fmt.Errorf("audit chain: %w", err)
		}
		lanes = append(lanes, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit chain: %w", err)
	}
	return lanes, nil
}

// auditLanes returns the last entry of every lane of the audit chain
// that has entries, in lane order (the schema since the lanes, migration
// 00041: the table audit_lane lists them).
func auditLanes(ctx context.Context, q querier) ([]AuditLane, error) {
	lanes, err := laneNumbers(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []AuditLane
	for _, l := range lanes {
		h := AuditLane{Lane: l}
		var hash any
		err := q.QueryRowContext(ctx, `SELECT seq, id, hash FROM audit_log WHERE lane = $1 ORDER BY seq DESC LIMIT 1`, l).Scan(&h.Seq, &h.ID, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("audit chain: %w", err)
		}
		h.Hash = hashText(hash)
		out = append(out, h)
	}
	return out, nil
}

func isHex(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') && (r < 'A' || r > 'F') {
			return false
		}
	}
	return true
}
