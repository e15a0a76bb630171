// Package backup makes, restores and proves backups of the CRM's database
// while the server runs: SQLite through VACUUM INTO, PostgreSQL through
// pg_dump in its custom format under an exported snapshot. Every backup
// FILE gets a sidecar FILE.manifest.json recording what the backup holds
// (rows per table, schema version, the audit chain's head, the file's
// size and SHA-256), counted in the same snapshot the backup was taken
// from; Verify restores the file into a scratch database and compares.
package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// ManifestFormat is the version of the manifest's layout.
const ManifestFormat = 1

// Manifest describes a backup file: what it holds, counted at backup time
// in the backup's own snapshot.
type Manifest struct {
	Format    int       `json:"format"`
	Dialect   string    `json:"dialect"`
	CreatedAt time.Time `json:"created_at"`
	// Tool is what wrote the file: "VACUUM INTO" or "pg_dump 16.4".
	Tool string `json:"tool"`
	// Schema is the goose schema version of the backed-up database.
	Schema int64 `json:"schema_version"`
	// Tables counts the rows of every table in the backup.
	Tables map[string]int64 `json:"tables"`
	// AuditHead is the newest audit_log entry's id and hash, present when
	// audit_log has a hash column (the tamper-evident chain).
	AuditHead *AuditHead `json:"audit_head,omitempty"`
	// AuditLanes is the last entry of every lane of the audit chain that
	// has entries, present since the chain has lanes (internal/audit): a
	// copy cut short in any lane differs here.
	AuditLanes []AuditLane `json:"audit_lanes,omitempty"`
	// File is the backup file's name (without folder), size and SHA-256.
	File FileSum `json:"file"`
	// Took is how long the backup took.
	Took Duration `json:"took"`
}

// AuditHead is the last link of the audit chain.
type AuditHead struct {
	ID   int64  `json:"id"`
	Hash string `json:"hash"`
}

// AuditLane is the last link of one lane of the audit chain: the lane,
// the entry's number in it, its id and hash.
type AuditLane struct {
	Lane int64  `json:"lane"`
	Seq  int64  `json:"seq"`
	ID   int64  `json:"id"`
	Hash string `json:"hash"`
}

// FileSum identifies a file's content.
type FileSum struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Duration is a time.Duration written as "1m2.5s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as Go's duration text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Millisecond).String())
}

// UnmarshalJSON reads Go's duration text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ManifestPath is where the manifest of the backup file lives.
func ManifestPath(file string) string { return file + ".manifest.json" }

// ReadManifest reads the sidecar manifest of file.
func ReadManifest(file string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(ManifestPath(file)) //nolint:gosec // the operator names the backup
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("нет описания копии %s: без него нечего сравнивать (оно пишется вместе с копией командой crm backup)", ManifestPath(file))
	}
	if err != nil {
		return m, fmt.Errorf("описание копии: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("описание копии %s повреждено: %w", ManifestPath(file), err)
	}
	if m.Format != ManifestFormat {
		return m, fmt.Errorf("описание копии %s: неизвестный формат %d", ManifestPath(file), m.Format)
	}
	return m, nil
}

// Options are what the commands take from their environment.
type Options struct {
	// PathEnv is the PATH searched for pg_dump and pg_restore; empty means
	// the process's own.
	PathEnv string
	// VerifyChain, when set, checks the audit chain of a restored
	// database (Verify calls it on the scratch copy).
	VerifyChain func(ctx context.Context, db *database.DB) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

// Create writes a consistent backup of db to file and its manifest beside
// it. file must not exist: a backup never replaces another. The backup is
// written under a temporary name in file's folder and renamed when
// complete, so file is either absent or whole.
func Create(ctx context.Context, db *database.DB, file string, o Options) (Manifest, error) {
	start := time.Now()
	if _, err := os.Lstat(file); err == nil {
		return Manifest{}, fmt.Errorf("файл %s уже есть: новая копия не пишется поверх существующего файла (проверить существующую копию: crm backup verify %s)", file, file)
	}
	if _, err := os.Stat(ManifestPath(file)); err == nil {
		return Manifest{}, fmt.Errorf("файл %s уже есть: удалите его или выберите другое имя копии", ManifestPath(file))
	}
	dir := filepath.Dir(file)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return Manifest{}, fmt.Errorf("папки %s для копии нет", dir)
	}
	tmp := filepath.Join(dir, "."+filepath.Base(file)+".part")
	_ = os.Remove(tmp) // left by a backup that was killed
	defer func() { _ = os.Remove(tmp) }()

	m := Manifest{Format: ManifestFormat, Dialect: string(db.Dialect), CreatedAt: o.now()}
	var err error
	switch db.Dialect {
	case database.SQLite:
		err = createSQLite(ctx, db, tmp, &m)
	case database.Postgres:
		err = createPostgres(ctx, db, tmp, &m, o)
	default:
		err = fmt.Errorf("unknown dialect %q", db.Dialect)
	}
	if err != nil {
		return Manifest{}, err
	}
	if m.File, err = sum(tmp); err != nil {
		return Manifest{}, err
	}
	m.File.Name = filepath.Base(file)
	m.Took = Duration(time.Since(start))
	if err := os.Chmod(tmp, 0o600); err != nil { // the whole base: for its owner only
		return Manifest{}, fmt.Errorf("копия: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return Manifest{}, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := os.Rename(tmp, file); err != nil {
		return Manifest{}, fmt.Errorf("копия: %w", err)
	}
	if err := writeAtomic(ManifestPath(file), append(b, '\n')); err != nil {
		return Manifest{}, err
	}
	syncDir(dir)
	return m, nil
}

// Kind is what a backup file holds, read from its first bytes.
type Kind string

// The kinds of backup files.
const (
	KindSQLite   Kind = "sqlite"   // a SQLite database file
	KindPostgres Kind = "postgres" // a pg_dump custom-format archive
)

// Detect reads the kind of a backup file from its magic bytes.
func Detect(file string) (Kind, error) {
	f, err := os.Open(file) //nolint:gosec // the operator names the backup
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("файла копии %s нет", file)
		}
		return "", fmt.Errorf("копия: %w", err)
	}
	defer func() { _ = f.Close() }()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("SQLite format 3\x00")):
		return KindSQLite, nil
	case bytes.HasPrefix(head, []byte("PGDMP")):
		return KindPostgres, nil
	}
	return "", fmt.Errorf("файл %s не похож на резервную копию CRM: это не база SQLite и не архив pg_dump (формат custom)", file)
}

// sum reads a file's size and SHA-256.
func sum(file string) (FileSum, error) {
	f, err := os.Open(file) //nolint:gosec // our own file
	if err != nil {
		return FileSum{}, fmt.Errorf("копия: %w", err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileSum{}, fmt.Errorf("копия: %w", err)
	}
	return FileSum{Name: filepath.Base(file), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeAtomic writes b to path through a temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".part")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("запись %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("запись %s: %w", path, err)
	}
	return nil
}

// copyAtomic copies src to dst through a temporary file in dst's folder.
func copyAtomic(src, dst string) error {
	in, err := os.Open(src) //nolint:gosec // the operator names the backup
	if err != nil {
		return fmt.Errorf("копия: %w", err)
	}
	defer func() { _ = in.Close() }()
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".part")
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600) //nolint:gosec // beside the target
	if err != nil {
		return fmt.Errorf("запись %s: %w", dst, err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("запись %s: %w", dst, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0) //nolint:gosec // our own file
	if err != nil {
		return fmt.Errorf("копия: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("копия: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable; a failure only weakens that.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil { //nolint:gosec // the backup's folder
		_ = f.Sync()
		_ = f.Close()
	}
}

// querier is what counting needs: a *sql.Tx, *sql.DB or *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
