package server

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
)

// metrics are the Prometheus metrics of one Server, on a registry of its
// own (tests build many Servers in one process).
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec   // by route pattern, method and status
	latency  *prometheus.HistogramVec // by route pattern and method
	failures *prometheus.CounterVec   // job failures by kind, from River's events
	handler  http.Handler
}

// unmatchedRoute labels requests no route matched, so that scanners
// probing random paths cannot grow the metrics without bound.
const unmatchedRoute = "unmatched"

func (s *Server) newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_http_requests_total",
			Help: "HTTP requests by chi route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crm_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by chi route pattern and method (event streams and long polls count their whole life).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_job_failures_total",
			Help: "Background job runs that failed in this process (each failed attempt), by job kind.",
		}, []string{"kind"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(s.db.DB, string(s.db.Dialect)),
		m.requests, m.latency, m.failures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "crm_live_streams_open",
			Help: "Live event streams (/api/events/) open in this process.",
		}, func() float64 { return float64(s.live.Open()) }),
		&queueCollector{s: s},
	)
	m.registry.MustRegister(s.admission.collectors()...)
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// observe counts a finished request under its route pattern.
func (m *metrics) observe(r *http.Request, status int, took time.Duration) {
	route := unmatchedRoute
	if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePattern() != "" {
		route = rctx.RoutePattern()
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, r.Method).Observe(took.Seconds())
}

// riverClient is what a job queue with River behind it offers (jobs.Jobs).
type riverClient interface {
	Client() *river.Client[*sql.Tx]
}

// countJobFailures counts the failed job runs River reports, until the
// client stops (which closes the subscription).
func (s *Server) countJobFailures() {
	q, ok := s.jobs.(riverClient)
	if !ok || q.Client() == nil {
		return
	}
	events, _ := q.Client().Subscribe(river.EventKindJobFailed)
	go func() {
		for ev := range events {
			if ev != nil && ev.Job != nil {
				s.metrics.failures.WithLabelValues(ev.Job.Kind).Inc()
			}
		}
	}()
}

// queueCollector reads River's queue from the database at each scrape:
// how many jobs wait, run, wait to retry, or were discarded after their
// last attempt, per queue and kind. It counts the jobs of every process
// sharing the database.
type queueCollector struct{ s *Server }

var queueJobsDesc = prometheus.NewDesc("crm_jobs",
	"Background jobs in River's queue by queue, kind and state (available, running, retryable, scheduled, discarded).",
	[]string{"queue", "kind", "state"}, nil)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueJobsDesc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.s.db.QueryContext(ctx, `SELECT queue, kind, state, COUNT(*) FROM river_job
		WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'discarded')
		GROUP BY queue, kind, state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueJobsDesc, err)
		return
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var queue, kind, state string
		var n int64
		if err := rows.Scan(&queue, &kind, &state, &n); err != nil {
			ch <- prometheus.NewInvalidMetric(queueJobsDesc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(queueJobsDesc, prometheus.GaugeValue, float64(n), queue, kind, state)
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(queueJobsDesc, err)
	}
}

// serveMetrics is GET /metrics: Prometheus's text format, for a scraper
// on this machine (a loopback address, reached directly, not through a
// proxy) or one that sends Authorization: Bearer CRM_METRICS_TOKEN. Anyone
// else gets the same 404 as any unknown path.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.metricsAllowed(r) {
		s.wrap(func(http.ResponseWriter, *http.Request) error { return errNotFound }).ServeHTTP(w, r)
		return
	}
	s.metrics.handler.ServeHTTP(w, r)
}

func (s *Server) metricsAllowed(r *http.Request) bool {
	if token := s.cfg.MetricsToken; token != "" {
		if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1 {
			return true
		}
	}
	return isDirectLoopback(r)
}

// isDirectLoopback reports whether r comes from this machine and not
// through a proxy. A reverse proxy on the same host connects from
// 127.0.0.1 too, so a request carrying any forwarding header is a remote
// client's, whatever CRM_TRUST_PROXY says (with it off the header could
// be forged, but then the sender is local anyway and loses nothing but
// /metrics).
func isDirectLoopback(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
