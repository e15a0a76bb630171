package server

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestHealthz(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		t.Run("a working database answers 200 with its schema version", func(t *testing.T) {
			rec := e.do(nil, "GET", "/healthz", nil)
			var h struct {
				Status   string `json:"status"`
				Database string `json:"database"`
				Schema   struct{ Current, Latest int64 }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
				t.Fatal(err)
			}
			if rec.Code != http.StatusOK || h.Status != "ok" || h.Database != string(e.db.Dialect) || h.Schema.Current == 0 || h.Schema.Current != h.Schema.Latest {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			if err := e.srv.healthCheck(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a schema behind the binary answers 503 naming the schema", func(t *testing.T) {
			// As if the newest migration had not run yet.
			if _, err := e.db.ExecContext(t.Context(), `DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)`); err != nil {
				t.Fatal(err)
			}
			rec := e.do(nil, "GET", "/healthz", nil)
			var h map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
				t.Fatal(err)
			}
			if rec.Code != http.StatusServiceUnavailable || h["failing"] != "schema" {
				t.Fatalf("%d %v", rec.Code, h)
			}
		})
		t.Run("a closed database answers 503 naming the database", func(t *testing.T) {
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}
			rec := e.do(nil, "GET", "/healthz", nil)
			var h map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
				t.Fatal(err)
			}
			if rec.Code != http.StatusServiceUnavailable || h["failing"] != "database" {
				t.Fatalf("%d %v", rec.Code, h)
			}
			if err := e.srv.healthCheck(t.Context()); err == nil {
				t.Fatal("healthCheck passed on a closed database")
			}
		})
	})
}
