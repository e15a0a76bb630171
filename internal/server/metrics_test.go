package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
)

// scrape GETs /metrics from remoteAddr with the given headers.
func (e *testEnv) scrape(remoteAddr string, headers map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = remoteAddr
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func TestMetricsAccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newTestEnv(t, db)
		const token = "metrics-token-0123456789"
		for _, trust := range []bool{false, true} {
			cfg := e.srv.cfg
			cfg.MetricsToken, cfg.TrustProxy = token, trust
			e.srv.Close()
			e.srv = New(cfg, slog.New(slog.DiscardHandler), db)
			cases := []struct {
				name    string
				remote  string
				headers map[string]string
				want    int
			}{
				{"loopback IPv4", "127.0.0.1:5555", nil, http.StatusOK},
				{"loopback IPv6", "[::1]:5555", nil, http.StatusOK},
				{"a remote address", "203.0.113.7:5555", nil, http.StatusNotFound},
				{"a remote client through a proxy on this host", "127.0.0.1:5555", map[string]string{"X-Forwarded-For": "203.0.113.7"}, http.StatusNotFound},
				{"a forged loopback through the proxy", "127.0.0.1:5555", map[string]string{"X-Forwarded-For": "127.0.0.1, 203.0.113.7"}, http.StatusNotFound},
				{"X-Real-IP from the proxy", "127.0.0.1:5555", map[string]string{"X-Real-IP": "203.0.113.7"}, http.StatusNotFound},
				{"a remote client claiming loopback", "203.0.113.7:5555", map[string]string{"X-Forwarded-For": "127.0.0.1"}, http.StatusNotFound},
				{"a wrong token", "203.0.113.7:5555", map[string]string{"Authorization": "Bearer " + token + "x"}, http.StatusNotFound},
				{"the token", "203.0.113.7:5555", map[string]string{"Authorization": "Bearer " + token}, http.StatusOK},
				{"the token through the proxy", "127.0.0.1:5555", map[string]string{"Authorization": "Bearer " + token, "X-Forwarded-For": "203.0.113.7"}, http.StatusOK},
			}
			for _, c := range cases {
				rec := e.scrape(c.remote, c.headers)
				if rec.Code != c.want {
					t.Errorf("trust proxy %v, %s: %d, want %d", trust, c.name, rec.Code, c.want)
				}
				if c.want == http.StatusNotFound && strings.Contains(rec.Body.String(), "crm_http") {
					t.Errorf("%s: the refusal shows metrics", c.name)
				}
			}
		}
		// Without a token configured, no token opens it.
		cfg := e.srv.cfg
		cfg.MetricsToken = ""
		e.srv = New(cfg, slog.New(slog.DiscardHandler), db)
		if rec := e.scrape("203.0.113.7:5555", map[string]string{"Authorization": "Bearer "}); rec.Code != http.StatusNotFound {
			t.Fatalf("an empty token opened /metrics: %d", rec.Code)
		}
	})
}

func TestMetricsContent(t *testing.T) {
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
		c := e.cast

		e.api(&c.Admin, "GET", "/api/companies/", nil, nil)
		e.api(&c.Admin, "GET", "/api/companies/999999/", nil, nil)
		e.api(nil, "GET", "/no/such/page/"+strings.Repeat("x", 20), nil, nil)
		// A job waiting in the queue (the queue is not started).
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Enqueue(ctx, tx, jobs.PurgeArgs{}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}

		body := e.scrape("127.0.0.1:1", nil).Body.String()
		for _, want := range []string{
			`crm_http_requests_total{method="GET",route="/api/companies",status="200"} 1`,
			`crm_http_requests_total{method="GET",route="/api/companies/{id}",status="404"} 1`,
			`crm_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`crm_http_request_duration_seconds_bucket{method="GET",route="/api/companies",le="+Inf"} 1`,
			`go_sql_open_connections{db_name="` + string(db.Dialect) + `"}`,
			`crm_live_streams_open 0`,
			`crm_jobs{kind="` + jobs.PurgeArgs{}.Kind() + `",queue="default",state="available"} 1`,
			`process_resident_memory_bytes`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		// (chi's route patterns drop the trailing slash.)
		if strings.Contains(body, "xxxxxxxx") {
			t.Error("an unmatched path became a label")
		}
		if t.Failed() {
			t.Log(body)
		}
	})
}
