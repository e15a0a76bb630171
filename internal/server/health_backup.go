package server

import (
	"errors"
	"os"
	"time"

	"github.com/crmprofi/crm/internal/backup"
)

// backupHealthJSON is the backup part of /readyz, present when scheduled
// backups are configured (CRM_BACKUP_DIR or CRM_BACKUP_STATUS_FILE).
//
// A missing, failed or stale backup is a warning, not unreadiness: the
// server still serves its users, and taking it out of the proxy would
// not bring a backup back. The backup service's own health check (crm
// backup status) is what turns unhealthy. The answer names no file or
// error text: /readyz is public; the backup service's log has the reason.
type backupHealthJSON struct {
	// Status is "ok", or "warning" when the last attempt failed, no
	// backup succeeded yet, or the last good one is older than MaxAge.
	Status string `json:"status"`
	// Problem is "missing", "failed" or "stale" with a warning.
	Problem string `json:"problem,omitempty"`
	// LastGood is when the last good backup was made, AgeSeconds how long
	// ago.
	LastGood   *time.Time `json:"last_good,omitempty"`
	AgeSeconds int64      `json:"age_seconds,omitempty"`
	Verified   bool       `json:"verified,omitempty"`
	// MaxAgeSeconds is CRM_BACKUP_MAX_AGE.
	MaxAgeSeconds int64 `json:"max_age_seconds"`
}

// backupHealth reports the scheduled backups for /readyz, nil when none
// are configured.
func (s *Server) backupHealth() *backupHealthJSON {
	return backupHealthAt(s.cfg.BackupStatusFile, s.cfg.BackupMaxAge, time.Now().UTC())
}

// backupHealthAt reads the status file at now.
func backupHealthAt(statusFile string, maxAge time.Duration, now time.Time) *backupHealthJSON {
	if statusFile == "" {
		return nil
	}
	h := &backupHealthJSON{Status: "warning", MaxAgeSeconds: int64(maxAge / time.Second)}
	st, err := backup.ReadStatus(statusFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		h.Problem = "missing"
		return h
	case err != nil:
		h.Problem = "failed"
		return h
	}
	if st.LastGood != nil {
		at := st.LastGood.At.UTC()
		h.LastGood, h.AgeSeconds, h.Verified = &at, int64(now.Sub(at)/time.Second), st.LastGood.Verified
	}
	switch {
	case st.LastGood == nil:
		h.Problem = "missing"
		if !st.LastAttempt.IsZero() && !st.OK {
			h.Problem = "failed"
		}
	case !st.OK:
		h.Problem = "failed"
	case maxAge > 0 && now.Sub(st.LastGood.At) > maxAge:
		h.Problem = "stale"
	default:
		h.Status = "ok"
	}
	return h
}
