package amoimport

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
)

// The states of an import (imports.status), as the API shows them.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Import is one upload and its run: a dry run or an import.
type Import struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	FileSize int64  `json:"file_size"`
	DryRun   bool   `json:"dry_run"`
	// CreatedBy is the admin who uploaded the file; 0 for the command
	// line (the system actor).
	CreatedBy     int64  `json:"created_by"`
	CreatedByName string `json:"created_by_name"`
	// Fallback is the user who gets the records whose «Ответственный» is
	// unknown; 0 means the importing admin.
	Fallback     int64     `json:"fallback_responsible"`
	FallbackName string    `json:"fallback_responsible_name"`
	CreatedAt    time.Time `json:"created_at"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Status       string    `json:"status"`
	Processed    int64     `json:"-"`
	Total        int64     `json:"-"`
	Report       Report    `json:"summary"`
	// Error says, in Russian, why a failed run failed.
	Error string `json:"error,omitempty"`
}

// Finished reports whether the run is over, well or not.
func (im Import) Finished() bool { return im.Status == StatusDone || im.Status == StatusFailed }

// Report is what imports.summary keeps: the totals of the run (the API's
// "summary") and the report's sections that are not rows — the unknown
// «Ответственный» values and the columns the importer did not take.
type Report struct {
	Summary
	// Rows is the number of rows in the report (records, skipped rows and
	// companies created from contacts' company names).
	Rows int `json:"rows"`
	// Warnings is the number of rows with at least one warning.
	Warnings int `json:"warnings"`
	// UnknownResponsible are the «Ответственный» (and «Создатель»)
	// values that matched no user, most frequent first: their records
	// went to the fallback user.
	UnknownResponsible []ValueCount `json:"unknown_responsible,omitempty"`
	// UnknownColumns are the file's columns the importer does not read.
	UnknownColumns []string `json:"unknown_columns,omitempty"`
}

// ValueCount is a value and how many rows carry it.
type ValueCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// New is what an upload says about the import it starts.
type New struct {
	FileName string
	DryRun   bool
	// CreatedBy is the uploading admin (0: the command line).
	CreatedBy int64
	// Fallback is the user for unknown «Ответственный» (0: CreatedBy).
	Fallback int64
}

// Store keeps imports, their files and their reports.
type Store struct{ db *database.DB }

// NewStore returns the Store of db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// partSize is the size of one import_files row: big enough that a 1 GB
// file is a thousand rows, small enough that no driver buffers much. Each
// part passes through a few buffers of its size on the way in and out
// (the driver's message, its value, the caller's copy): with 4 MB parts
// uploading and spooling were the peak of a run on PostgreSQL, 103 MB
// against 66 MB for staging and planning 100,000 rows.
const partSize = 1 << 20

// errEmptyFile is an upload with nothing in it (a new map each time: the
// caller may add to it).
func errEmptyFile() error {
	return apperr.Invalid{"file": "Файл пустой. Выберите выгрузку из amoCRM (CSV или XLSX)."}
}

// Create adds a queued import of file in tx: the imports row and the file
// in parts. It returns the import with its id; the caller enqueues its
// run in the same tx (or runs it, the command line).
func (s *Store) Create(ctx context.Context, tx *sql.Tx, in New, file io.Reader) (Import, error) {
	if in.Fallback == 0 {
		in.Fallback = in.CreatedBy
	}
	now := database.Now()
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, dry_run, created_by, fallback_responsible, created_at, status)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		in.FileName, in.DryRun, database.NullInt64(in.CreatedBy), database.NullInt64(in.Fallback), now, StatusQueued).Scan(&id)
	if err != nil {
		return Import{}, fmt.Errorf("create import: %w", err)
	}
	buf := make([]byte, partSize)
	var size int64
	for part := 0; ; part++ {
		n, rerr := io.ReadFull(file, buf)
		if n > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO import_files (import_id, part, data) VALUES ($1, $2, $3)`,
				id, part, buf[:n]); err != nil {
				return Import{}, fmt.Errorf("store import file: %w", err)
			}
			size += int64(n)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return Import{}, fmt.Errorf("read import file: %w", rerr)
		}
	}
	if size == 0 {
		return Import{}, errEmptyFile()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE imports SET file_size = $1 WHERE id = $2`, size, id); err != nil {
		return Import{}, fmt.Errorf("create import: %w", err)
	}
	return s.get(ctx, tx, id)
}

// CreateFrom adds, in tx, a queued real import of the file uploaded for
// the import from (a dry run's «Импортировать этот файл»), by the admin
// by, with from's fallback user: the file is copied in the database, not
// uploaded again.
func (s *Store) CreateFrom(ctx context.Context, tx *sql.Tx, from, by int64) (Import, error) {
	src, err := s.get(ctx, tx, from)
	if err != nil {
		return Import{}, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO imports (file_name, file_size, dry_run, created_by, fallback_responsible, created_at, status)
		VALUES ($1, $2, FALSE, $3, $4, $5, $6) RETURNING id`,
		src.FileName, src.FileSize, database.NullInt64(by), database.NullInt64(src.Fallback), database.Now(), StatusQueued).Scan(&id)
	if err != nil {
		return Import{}, fmt.Errorf("create import: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO import_files (import_id, part, data)
		SELECT $1, part, data FROM import_files WHERE import_id = $2`, id, from)
	if err != nil {
		return Import{}, fmt.Errorf("copy import file: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return Import{}, &apperr.Conflict{Message: fmt.Sprintf(
			"Файл этой проверки уже удалён: загруженные файлы хранятся %d дней. Загрузите выгрузку заново.", FileRetentionDays)}
	}
	return s.get(ctx, tx, id)
}

// FileRetentionDays is how long an uploaded file stays in the database
// after its run ended: long enough to import the file a dry run checked,
// short enough that uploads do not pile up. The report stays.
const FileRetentionDays = 7

// PurgeFiles deletes the uploaded files of imports that ended (done or
// failed) before before, and returns how many parts it deleted. A queued
// or running import keeps its file whatever its age.
func (s *Store) PurgeFiles(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM import_files WHERE import_id IN (
		SELECT id FROM imports WHERE status IN ($1, $2) AND finished_at < $3)`, StatusDone, StatusFailed, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("purge import files: %w", err)
	}
	return res.RowsAffected()
}

const importColumns = `i.id, i.file_name, i.file_size, i.dry_run, COALESCE(i.created_by, 0), COALESCE(NULLIF(TRIM(cu.first_name || ' ' || cu.last_name), ''), cu.username, ''),
	COALESCE(i.fallback_responsible, 0), COALESCE(NULLIF(TRIM(fu.first_name || ' ' || fu.last_name), ''), fu.username, ''),
	i.created_at, i.started_at, i.finished_at, i.status, i.processed, i.total, i.summary, i.error
	FROM imports i
	LEFT JOIN users cu ON cu.id = i.created_by
	LEFT JOIN users fu ON fu.id = i.fallback_responsible`

func scanImport(row interface{ Scan(...any) error }) (Import, error) {
	var im Import
	var started, finished sql.NullTime
	var summary string
	err := row.Scan(&im.ID, &im.FileName, &im.FileSize, &im.DryRun, &im.CreatedBy, &im.CreatedByName,
		&im.Fallback, &im.FallbackName, &im.CreatedAt, &started, &finished, &im.Status, &im.Processed, &im.Total,
		&summary, &im.Error)
	if err != nil {
		return Import{}, err
	}
	im.CreatedAt = im.CreatedAt.UTC()
	im.StartedAt, im.FinishedAt = started.Time.UTC(), finished.Time.UTC()
	if !started.Valid {
		im.StartedAt = time.Time{}
	}
	if !finished.Valid {
		im.FinishedAt = time.Time{}
	}
	if err := json.Unmarshal([]byte(summary), &im.Report); err != nil {
		return Import{}, fmt.Errorf("import %d summary: %w", im.ID, err)
	}
	return im, nil
}

// Get returns the import id; apperr.ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, id int64) (Import, error) { return s.get(ctx, s.db, id) }

func (s *Store) get(ctx context.Context, q database.Querier, id int64) (Import, error) {
	im, err := scanImport(q.QueryRowContext(ctx, `SELECT `+importColumns+` WHERE i.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Import{}, apperr.ErrNotFound
	}
	if err != nil {
		return Import{}, fmt.Errorf("import %d: %w", id, err)
	}
	return im, nil
}

// List returns a page of the imports, newest first, and how many there are.
func (s *Store) List(ctx context.Context, page, size int) ([]Import, int, error) {
	var count int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM imports`).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count imports: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+importColumns+` ORDER BY i.id DESC LIMIT $1 OFFSET $2`,
		size, database.PageOffset(page, size))
	if err != nil {
		return nil, 0, fmt.Errorf("list imports: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Import
	for rows.Next() {
		im, err := scanImport(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list imports: %w", err)
		}
		out = append(out, im)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list imports: %w", err)
	}
	return out, count, nil
}

// Spool copies the import's file from the database into a temporary file,
// a part at a time, so that the reader gets an io.ReaderAt without the
// whole file in memory. The caller closes and removes it (Remove).
func (s *Store) Spool(ctx context.Context, id int64) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "crm-import-*")
	if err != nil {
		return nil, 0, fmt.Errorf("import %d: %w", id, err)
	}
	size, err := s.spoolTo(ctx, id, f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		Remove(f)
		return nil, 0, err
	}
	return f, size, nil
}

// spoolTo writes the parts in one query, each as the driver holds it
// (sql.RawBytes: database/sql's own copy of every part is not made), so
// one part at a time is in memory.
func (s *Store) spoolTo(ctx context.Context, id int64, w io.Writer) (int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM import_files WHERE import_id = $1 ORDER BY part`, id)
	if err != nil {
		return 0, fmt.Errorf("import %d file: %w", id, err)
	}
	defer func() { _ = rows.Close() }()
	var size int64
	for rows.Next() {
		var data sql.RawBytes
		if err := rows.Scan(&data); err != nil {
			return 0, fmt.Errorf("import %d file: %w", id, err)
		}
		n, err := w.Write(data)
		if err != nil {
			return 0, fmt.Errorf("import %d file: %w", id, err)
		}
		size += int64(n)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("import %d file: %w", id, err)
	}
	return size, nil
}

// Remove closes and deletes a file from Spool.
func Remove(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}
