package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/backup"
)

func TestBackupHealth(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	good := &backup.Good{File: "crm-1.dump", At: now.Add(-2 * time.Hour), Verified: true}
	tests := []struct {
		name        string
		status      *backup.Status // nil: no status file
		wantStatus  string
		wantProblem string
	}{
		{"no status file yet is a warning", nil, "warning", "missing"},
		{"a fresh good backup is ok", &backup.Status{LastAttempt: good.At, OK: true, LastGood: good}, "ok", ""},
		{"a failed last attempt is a warning", &backup.Status{LastAttempt: now, Error: "disk full", LastGood: good}, "warning", "failed"},
		{"a good backup older than the limit is stale", &backup.Status{LastAttempt: now.Add(-27 * time.Hour), OK: true,
			LastGood: &backup.Good{At: now.Add(-27 * time.Hour)}}, "warning", "stale"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), backup.StatusFileName)
			if tc.status != nil {
				b, _ := json.Marshal(tc.status)
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			h := backupHealthAt(path, 26*time.Hour, now)
			if h.Status != tc.wantStatus || h.Problem != tc.wantProblem {
				t.Fatalf("status %q problem %q, want %q %q", h.Status, h.Problem, tc.wantStatus, tc.wantProblem)
			}
			if tc.status != nil && tc.status.LastGood != nil && h.AgeSeconds != int64(now.Sub(tc.status.LastGood.At)/time.Second) {
				t.Fatalf("age %d", h.AgeSeconds)
			}
		})
	}
	if backupHealthAt("", time.Hour, now) != nil {
		t.Fatal("backups not configured must leave /readyz without a backup part")
	}
}
