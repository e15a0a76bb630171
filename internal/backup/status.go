package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// StatusFileName is the status file a backup folder keeps.
const StatusFileName = "backup-status.json"

// Status is the state of scheduled backups into a folder, written after
// every attempt: the service's health check and the server's /readyz
// read it.
type Status struct {
	// LastAttempt is when the last backup was tried, OK whether it
	// succeeded and Error why not.
	LastAttempt time.Time `json:"last_attempt"`
	OK          bool      `json:"ok"`
	Error       string    `json:"error,omitempty"`
	// LastGood is the newest backup that was written (and verified,
	// when asked).
	LastGood *Good `json:"last_good,omitempty"`
}

// Good describes a successful backup.
type Good struct {
	File     string    `json:"file"`
	At       time.Time `json:"at"`
	Size     int64     `json:"size"`
	Verified bool      `json:"verified"`
	Took     Duration  `json:"took"`
}

// ReadStatus reads a status file.
func ReadStatus(path string) (Status, error) {
	var s Status
	b, err := os.ReadFile(path) //nolint:gosec // the configured status file
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Check judges a status at now: an error when the last attempt failed,
// when no backup succeeded yet, or when the last good one is older than
// maxAge (0: any age will do).
func (s Status) Check(now time.Time, maxAge time.Duration) error {
	switch {
	case s.LastGood == nil && !s.LastAttempt.IsZero() && !s.OK:
		return fmt.Errorf("резервных копий ещё нет, последняя попытка %s не удалась: %s", s.LastAttempt.Format(time.RFC3339), s.Error)
	case s.LastGood == nil:
		return errors.New("резервных копий ещё нет")
	case !s.OK:
		return fmt.Errorf("последняя попытка %s не удалась: %s (последняя хорошая копия %s, %s назад)",
			s.LastAttempt.Format(time.RFC3339), s.Error, s.LastGood.File, Age(now, s.LastGood.At))
	case maxAge > 0 && now.Sub(s.LastGood.At) > maxAge:
		return fmt.Errorf("последней хорошей копии %s %s, это больше допустимых %s", s.LastGood.File, Age(now, s.LastGood.At), maxAge)
	}
	return nil
}

// Age is how long ago at was, rounded for a person.
func Age(now, at time.Time) string {
	return now.Sub(at).Round(time.Second).String()
}

// Scheduled is one scheduled backup into dir: a file named by the time
// (crm-20261204T031500.000Z.db or .dump), verified when verify is set, the
// newest keep backups kept (0: all), and the folder's status file
// written whatever happened.
type Scheduled struct {
	Dir       string
	Keep      int
	Verify    bool
	ServerURL string // for the scratch database of a PostgreSQL verify
}

// Run makes the backup. open opens the database; its failure is recorded
// like any other.
func (sc Scheduled) Run(ctx context.Context, open func() (*database.DB, error), o Options) (string, Manifest, *Report, error) {
	at := o.now()
	file, m, rep, err := sc.run(ctx, open, at, o)
	st, _ := ReadStatus(filepath.Join(sc.Dir, StatusFileName))
	st.LastAttempt, st.OK, st.Error = at, err == nil, ""
	if err != nil {
		st.Error = err.Error()
	} else {
		st.LastGood = &Good{File: filepath.Base(file), At: at, Size: m.File.Size, Verified: rep != nil, Took: Duration(o.now().Sub(at))}
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if werr := writeAtomic(filepath.Join(sc.Dir, StatusFileName), append(b, '\n')); werr != nil && err == nil {
		err = werr
	}
	return file, m, rep, err
}

func (sc Scheduled) run(ctx context.Context, open func() (*database.DB, error), at time.Time, o Options) (string, Manifest, *Report, error) {
	if err := os.MkdirAll(sc.Dir, 0o750); err != nil {
		return "", Manifest{}, nil, fmt.Errorf("папка копий: %w", err)
	}
	db, err := open()
	if err != nil {
		return "", Manifest{}, nil, err
	}
	defer func() { _ = db.Close() }()
	ext := ".db"
	if db.Dialect == database.Postgres {
		ext = ".dump"
	}
	file := filepath.Join(sc.Dir, "crm-"+at.Format("20060102T150405.000Z")+ext)
	m, err := Create(ctx, db, file, o)
	if err != nil {
		return "", m, nil, err
	}
	var rep *Report
	if sc.Verify {
		r, err := Verify(ctx, file, sc.ServerURL, o)
		if err != nil {
			return file, m, nil, fmt.Errorf("проверка копии %s: %w", file, err)
		}
		if !r.OK() {
			return file, m, &r, fmt.Errorf("копия %s не прошла проверку: %s", file, strings.Join(r.Problems, "; "))
		}
		rep = &r
	}
	if sc.Keep > 0 {
		prune(sc.Dir, sc.Keep)
	}
	return file, m, rep, nil
}

// prune removes all but the newest keep backups (and their manifests) of
// dir. The names sort by time.
func prune(dir string, keep int) {
	var files []string
	for _, pattern := range []string{"crm-*.db", "crm-*.dump"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		files = append(files, m...)
	}
	sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) > filepath.Base(files[j]) })
	for i := keep; i < len(files); i++ {
		_ = os.Remove(files[i])
		_ = os.Remove(ManifestPath(files[i]))
	}
}
