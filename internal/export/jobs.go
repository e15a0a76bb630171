package export

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/progress"
)

// Retention is how long the file of an export job is kept for download.
const Retention = 24 * time.Hour

// Statuses of an export job.
const (
	Queued  = "queued"
	Running = "running"
	Done    = "done"
	Failed  = "failed"
)

// Job is a large export run in the background: its file is downloaded
// later, by the admin who asked and no one else, until ExpiresAt.
type Job struct {
	ID         int64         `json:"id"`
	CreatedBy  int64         `json:"created_by"`
	Format     Format        `json:"format"`
	Query      company.Query `json:"-"`
	Status     string        `json:"status"`
	Total      int64         `json:"total"`
	Rows       int64         `json:"rows"`
	Path       string        `json:"-"`
	Error      string        `json:"error,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	FinishedAt *time.Time    `json:"finished_at"`
	ExpiresAt  time.Time     `json:"expires_at"`
}

// AuditAction is the audit action of every export attempt and of the end
// of every export job.
const AuditAction = "export.companies"

// Filters is q as the list's query parameters that are set, for the
// audit entry of a job (the request's entry has them as they came).
func Filters(q company.Query) map[string]any {
	f := map[string]any{}
	for k, v := range map[string]string{"search": q.Text, "inn": q.INN, "ordering": q.Ordering} {
		if v != "" {
			f[k] = v
		}
	}
	for k, v := range map[string]int64{"branch": q.Branch, "responsible": q.Responsible, "status": q.Status, "sphere": q.Sphere} {
		if v != 0 {
			f[k] = strconv.FormatInt(v, 10)
		}
	}
	if q.Deleted {
		f["deleted"] = "1"
	}
	return f
}

// ProgressID is the id of the job's live progress bar.
func ProgressID(id int64) string { return "export-" + strconv.FormatInt(id, 10) }

// CreateJob records a job for by in tx (the caller enqueues its River job
// in the same transaction).
func CreateJob(ctx context.Context, tx *sql.Tx, by int64, f Format, q company.Query, total int) (int64, error) {
	raw, err := json.Marshal(q)
	if err != nil {
		return 0, err
	}
	now := database.Now()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO exports (created_by, format, query, total, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, by, string(f), string(raw), total, now, now.Add(Retention)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create export: %w", err)
	}
	return id, nil
}

// GetJob reads the job id as seen by scope: only its own admin sees it
// (anyone else, and an expired job, is ErrNotFound).
func GetJob(ctx context.Context, db database.Querier, scope access.Scope, id int64) (Job, error) {
	j, err := getJob(ctx, db, id)
	if err != nil {
		return j, err
	}
	if !scope.IsAdmin() || scope.UserID != j.CreatedBy || !database.Now().Before(j.ExpiresAt) {
		return Job{}, apperr.ErrNotFound
	}
	return j, nil
}

func getJob(ctx context.Context, db database.Querier, id int64) (Job, error) {
	var (
		j        Job
		query    string
		finished sql.NullTime
		format   string
	)
	err := db.QueryRowContext(ctx, `SELECT id, created_by, format, query, status, total, row_count, file_path, error, created_at, finished_at, expires_at
		FROM exports WHERE id = $1`, id).Scan(&j.ID, &j.CreatedBy, &format, &query, &j.Status, &j.Total, &j.Rows, &j.Path, &j.Error,
		&j.CreatedAt, &finished, &j.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return j, apperr.ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("get export: %w", err)
	}
	j.Format = Format(format)
	j.CreatedAt, j.ExpiresAt = j.CreatedAt.UTC(), j.ExpiresAt.UTC()
	if finished.Valid {
		t := finished.Time.UTC()
		j.FinishedAt = &t
	}
	if err := json.Unmarshal([]byte(query), &j.Query); err != nil {
		return j, fmt.Errorf("export %d query: %w", id, err)
	}
	return j, nil
}

// RunJob writes the job's file into dir as scope (the admin who asked),
// reporting to bar, and records the outcome. A job already done is left
// alone; one interrupted midway starts again with a new file. The end of
// each run — done or failed — is an export.companies audit entry of its
// own, written with the job's new state, carrying the rows actually
// written (the request's entry only knew how many to expect).
func (e *Exporter) RunJob(ctx context.Context, id int64, scope access.Scope, dir string, loc *time.Location, bar progress.Reporter) error {
	j, err := getJob(ctx, e.db, id)
	if err != nil || j.Status == Done {
		return err
	}
	if _, err := e.db.ExecContext(ctx, `UPDATE exports SET status = $1 WHERE id = $2`, Running, id); err != nil {
		return fmt.Errorf("export %d: %w", id, err)
	}
	path, n, err := e.writeJobFile(ctx, j, scope, dir, loc, bar)
	ctx = context.WithoutCancel(ctx)
	now := database.Now()
	entry := audit.Entry{Action: AuditAction, ObjectType: "company", Outcome: audit.OK, Detail: map[string]any{
		"job": id, "format": string(j.Format), "filters": Filters(j.Query), "rows": n, "expected_rows": j.Total,
		"user_agent": "export job", "status": Done,
	}}
	if err != nil {
		bar.Finish(errors.New("выгрузка не удалась"))
		entry.Outcome, entry.Detail["status"], entry.Detail["error"] = audit.Error, Failed, err.Error()
		uerr := e.db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE exports SET status = $1, error = $2, row_count = $3, finished_at = $4 WHERE id = $5`,
				Failed, err.Error(), n, now, id); err != nil {
				return err
			}
			return audit.Record(ctx, tx, scope, entry)
		})
		return errors.Join(err, uerr)
	}
	bar.Finish(nil)
	err = e.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE exports SET status = $1, row_count = $2, file_path = $3, finished_at = $4, expires_at = $5 WHERE id = $6`,
			Done, n, path, now, now.Add(Retention), id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, scope, entry)
	})
	if err != nil {
		return fmt.Errorf("export %d: %w", id, err)
	}
	return nil
}

// writeJobFile writes the file under a temporary name and renames it
// when whole, so a download never finds half a file.
func (e *Exporter) writeJobFile(ctx context.Context, j Job, scope access.Scope, dir string, loc *time.Location, bar progress.Reporter) (string, int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, err
	}
	path := filepath.Join(dir, fmt.Sprintf("export-%d.%s", j.ID, j.Format))
	f, err := os.CreateTemp(dir, "export-*.part")
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	bar.Start(j.Total)
	last := 0
	n, err := e.Write(ctx, f, Options{Scope: scope, Query: j.Query, Format: j.Format, Location: loc,
		Progress: func(done int) {
			bar.Add(int64(done - last))
			last = done
		}})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", n, err
	}
	return path, n, os.Rename(f.Name(), path)
}

// PurgeJobs deletes the jobs expired at now and their files.
func PurgeJobs(ctx context.Context, db *database.DB, now time.Time) (int, error) {
	list, err := expiredJobs(ctx, db, now)
	if err != nil {
		return 0, err
	}
	for _, g := range list {
		if g.path != "" {
			if err := os.Remove(g.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return 0, err
			}
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM exports WHERE id = $1`, g.id); err != nil {
			return 0, fmt.Errorf("purge export %d: %w", g.id, err)
		}
	}
	return len(list), nil
}

// expiredJob is a job past its day and its file.
type expiredJob struct {
	id   int64
	path string
}

func expiredJobs(ctx context.Context, db *database.DB, now time.Time) ([]expiredJob, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, file_path FROM exports WHERE expires_at <= $1`, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("expired exports: %w", err)
	}
	defer rows.Close()
	var list []expiredJob
	for rows.Next() {
		var g expiredJob
		if err := rows.Scan(&g.id, &g.path); err != nil {
			return nil, fmt.Errorf("expired exports: %w", err)
		}
		list = append(list, g)
	}
	return list, rows.Err()
}

// Owner is the admin who asked for the job id.
func Owner(ctx context.Context, db database.Querier, id int64) (int64, error) {
	j, err := getJob(ctx, db, id)
	return j.CreatedBy, err
}
