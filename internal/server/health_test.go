package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
)

// readyAnswer is /readyz's JSON.
type readyAnswer struct {
	Status   string `json:"status"`
	Database string `json:"database"`
	Failing  string `json:"failing"`
	Schema   struct{ Current, Latest int64 }
	Checks   []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Status string `json:"status"`
	}
}

func (e *testEnv) readyz() (int, readyAnswer) {
	e.t.Helper()
	rec := e.do(nil, "GET", "/readyz", nil)
	var h readyAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
		e.t.Fatalf("%d %s: %v", rec.Code, rec.Body.String(), err)
	}
	return rec.Code, h
}

func TestHealthzIsTheProcessOnly(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		if rec := e.do(nil, "GET", "/healthz", nil); rec.Code != http.StatusOK || rec.Body.String() != `{"status":"ok"}`+"\n" {
			t.Fatalf("%d %q", rec.Code, rec.Body.String())
		}
		// No database needed: it still answers 200 with the database gone.
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		if rec := e.do(nil, "GET", "/healthz", nil); rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
		if code, h := e.readyz(); code != http.StatusServiceUnavailable || h.Failing != "database" {
			t.Fatalf("readyz %d %+v", code, h)
		}
	})
}

func TestReadyz(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		j, err := jobs.New(ctx, db, jobs.Options{NoPeriodic: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = j.Stop(context.Background()) })
		e := newTestEnv(t, db)
		e.srv.Close()
		e.srv = New(e.srv.cfg, slog.New(slog.DiscardHandler), db, WithJobs(j))

		t.Run("a job queue that has not started answers 503 naming the jobs", func(t *testing.T) {
			code, h := e.readyz()
			if code != http.StatusServiceUnavailable || h.Failing != "jobs" || h.Status != "unavailable" {
				t.Fatalf("%d %+v", code, h)
			}
			// The checks before start (serve's) do not include the queue.
			if err := e.srv.healthCheck(ctx); err != nil {
				t.Fatal(err)
			}
		})
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Run("all good answers 200 listing every check", func(t *testing.T) {
			code, h := e.readyz()
			if code != http.StatusOK || h.Status != "ok" || h.Failing != "" || h.Database != string(db.Dialect) ||
				h.Schema.Current == 0 || h.Schema.Current != h.Schema.Latest {
				t.Fatalf("%d %+v", code, h)
			}
			var names []string
			for _, c := range h.Checks {
				names = append(names, c.Name)
				if !c.OK {
					t.Errorf("check %s: %+v", c.Name, c)
				}
			}
			if len(names) != 5 || names[0] != "database" || names[1] != "schema" || names[2] != "jobs" || h.Checks[2].Status != "running" ||
				names[3] != "backup" || h.Checks[3].Status != "not configured" ||
				names[4] != "fcm" || !strings.HasPrefix(h.Checks[4].Status, "not configured: телефоны получают запросы только через long-poll") {
				t.Fatalf("checks %+v", h.Checks)
			}
		})
		t.Run("a stopped job queue answers 503 naming the jobs", func(t *testing.T) {
			if err := j.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if code, h := e.readyz(); code != http.StatusServiceUnavailable || h.Failing != "jobs" {
				t.Fatalf("%d %+v", code, h)
			}
		})
		t.Run("a schema behind the binary answers 503 naming the schema", func(t *testing.T) {
			// As if the newest migration had not run yet.
			if _, err := db.ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)`); err != nil {
				t.Fatal(err)
			}
			code, h := e.readyz()
			if code != http.StatusServiceUnavailable || h.Failing != "schema" {
				t.Fatalf("%d %+v", code, h)
			}
			if h.Checks[2].Status != "not checked" {
				t.Fatalf("checks after the failing one ran: %+v", h.Checks)
			}
			if err := e.srv.healthCheck(ctx); err == nil {
				t.Fatal("healthCheck passed with the schema behind")
			}
		})
		t.Run("a closed database answers 503 naming the database", func(t *testing.T) {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if code, h := e.readyz(); code != http.StatusServiceUnavailable || h.Failing != "database" {
				t.Fatalf("%d %+v", code, h)
			}
			if err := e.srv.healthCheck(ctx); err == nil {
				t.Fatal("healthCheck passed on a closed database")
			}
		})
	})
}

// A server without a job queue (tests, short commands) has none to check.
func TestReadyzWithoutJobs(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		if code, h := e.readyz(); code != http.StatusOK || h.Checks[2].Status != "not used" {
			t.Fatalf("%d %+v", code, h)
		}
	})
}

// Scheduled backups that have not succeeded are a warning in /readyz,
// not unreadiness (see backupHealthJSON).
func TestReadyzReportsBackups(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		cfg := e.srv.cfg
		cfg.BackupStatusFile = t.TempDir() + "/backup-status.json"
		e.srv.Close()
		e.srv = New(cfg, slog.New(slog.DiscardHandler), e.db)
		code, h := e.readyz()
		if code != http.StatusOK || h.Checks[3].Name != "backup" || h.Checks[3].Status != "warning: missing" || !h.Checks[3].OK {
			t.Fatalf("%d %+v", code, h)
		}
	})
}
