package server

import (
	"bytes"
	fifo "container/list"
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Admission control. A server on two cores that works on two hundred
// requests at once answers none of them sooner than one that works on
// eight and lets the rest wait: the goroutines, the database pool and the
// garbage collector share the cores by chance, and whoever loses waits
// many times the average. So only a few requests are served at once
// (about the number of cores times a small factor) and the others wait
// in a queue served strictly in the order they came; a request that waits
// longer than the queue's timeout, or finds the queue full, is refused
// with 503 instead of piling up, and one whose client leaves while it
// waits is dropped.
//
// Requests that wait for something other than the processor by design do
// not queue: the live events stream and the phone's long poll (they hold
// their request for minutes), uploads (their body takes as long as the
// network), the probes and /metrics (which must answer under load above
// all) and the static assets (served from memory).

// DefaultActivePerCore is how many requests per core are served at once
// when CRM_MAX_ACTIVE_REQUESTS is not set: enough for one to use the
// processor while another waits on the database, few enough that they do
// not crowd each other out (README, «Нагрузочный тест»).
const DefaultActivePerCore = 4

// Defaults of the queue in front of them.
const (
	DefaultMaxQueued    = 1000
	DefaultQueueTimeout = 10 * time.Second
)

// errQueueTimeout and errQueueFull are the two ways a request is turned
// away by admission: it waited its whole timeout, or the queue was full
// when it came.
var (
	errQueueTimeout = errors.New("waited too long in the request queue")
	errQueueFull    = errors.New("the request queue is full")
)

// admission is a FIFO semaphore: at most limit holders, and up to
// maxQueued waiters, admitted in the order they came.
type admission struct {
	limit     int
	maxQueued int
	timeout   time.Duration

	mu      sync.Mutex
	active  int
	waiting fifo.List // of chan struct{}, closed when admitted

	waited   prometheus.Histogram
	refused  *prometheus.CounterVec // by reason: timeout, full, gone
	admitted prometheus.Counter
}

// newAdmission builds the queue; limit, maxQueued and timeout of zero
// take the defaults (limit: DefaultActivePerCore per usable core).
func newAdmission(limit, maxQueued int, timeout time.Duration) *admission {
	if limit <= 0 {
		limit = DefaultActivePerCore * runtime.GOMAXPROCS(0)
	}
	if maxQueued <= 0 {
		maxQueued = DefaultMaxQueued
	}
	if timeout <= 0 {
		timeout = DefaultQueueTimeout
	}
	return &admission{
		limit: limit, maxQueued: maxQueued, timeout: timeout,
		waited: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crm_http_queue_wait_seconds",
			Help:    "Time admitted requests waited in the request queue before being served.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_http_queue_refused_total",
			Help: "Requests that left the request queue unserved: timeout (503 after waiting), full (503 at once), gone (the client left).",
		}, []string{"reason"}),
		admitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crm_http_queue_admitted_total",
			Help: "Requests admitted to be served through the request queue (the exempt ones are not counted).",
		}),
	}
}

// collectors are the queue's metrics for the server's registry.
func (a *admission) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		a.waited, a.refused, a.admitted,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "crm_http_requests_active",
			Help: "Requests being served now through the request queue.",
		}, func() float64 { n, _ := a.load(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "crm_http_requests_queued",
			Help: "Requests waiting in the request queue now.",
		}, func() float64 { _, n := a.load(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "crm_http_requests_active_limit",
			Help: "How many requests are served at once (CRM_MAX_ACTIVE_REQUESTS).",
		}, func() float64 { return float64(a.limit) }),
	}
}

// load is how many requests are served and how many wait, now.
func (a *admission) load() (active, queued int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active, a.waiting.Len()
}

// acquire takes a slot, waiting in line for one when all are taken. It
// fails with errQueueFull at once, with errQueueTimeout after the
// timeout, or with ctx's error when ctx ends first; a nil error must be
// followed by one release.
func (a *admission) acquire(ctx context.Context) error {
	a.mu.Lock()
	if a.active < a.limit && a.waiting.Len() == 0 {
		a.active++
		a.mu.Unlock()
		a.waited.Observe(0)
		a.admitted.Inc()
		return nil
	}
	if a.waiting.Len() >= a.maxQueued {
		a.mu.Unlock()
		a.refused.WithLabelValues("full").Inc()
		return errQueueFull
	}
	ready := make(chan struct{})
	elem := a.waiting.PushBack(ready)
	a.mu.Unlock()

	start := time.Now()
	timer := time.NewTimer(a.timeout)
	defer timer.Stop()
	var err error
	select {
	case <-ready:
		a.waited.Observe(time.Since(start).Seconds())
		a.admitted.Inc()
		return nil
	case <-timer.C:
		err = errQueueTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	a.mu.Lock()
	select {
	case <-ready:
		// Admitted just as we gave up: pass the slot on.
		a.mu.Unlock()
		a.release()
	default:
		a.waiting.Remove(elem)
		a.mu.Unlock()
	}
	if errors.Is(err, errQueueTimeout) {
		a.refused.WithLabelValues("timeout").Inc()
	} else {
		a.refused.WithLabelValues("gone").Inc()
	}
	return err
}

// release gives the slot to the first request in line, or frees it.
func (a *admission) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if front := a.waiting.Front(); front != nil {
		a.waiting.Remove(front)
		close(front.Value.(chan struct{})) // the slot passes on: active stays
		return
	}
	a.active--
}

// unqueued reports whether r is served at once, outside the queue: the
// requests that wait by design or must answer under load (see above).
func unqueued(r *http.Request) bool {
	switch p := r.URL.Path; p {
	case "/healthz", "/readyz", "/metrics", "/favicon.ico",
		"/api/events/",           // the live events stream (SSE)
		"/api/phone/v1/commands": // the phone's long poll
		return true
	default:
		return strings.HasPrefix(p, "/static/") || isUpload(r)
	}
}

// admit serves r once the queue admits it. A request turned away gets a
// 503 with Retry-After (the Russian page, or the API's JSON error); one
// whose client left while it waited gets nothing (499 in the log).
func (s *Server) admit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unqueued(r) {
			next.ServeHTTP(w, r)
			return
		}
		// A body still on its way must not hold a slot: a client that
		// sends it slowly would keep others from being served for as long
		// as boundBodyRead allows. An ordinary body (at most maxBody, see
		// limitBodies) is read before the request gets in line.
		if r.Body != nil && r.Body != http.NoBody {
			data, err := io.ReadAll(r.Body)
			if err != nil {
				s.fail(w, r, err) // 413, 408, or a client that left
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(data))
		}
		if err := s.admission.acquire(r.Context()); err != nil {
			s.refuseQueued(w, r, err)
			return
		}
		defer s.admission.release()
		next.ServeHTTP(w, r)
	})
}

// refuseQueued answers a request the queue turned away.
func (s *Server) refuseQueued(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errQueueTimeout) && !errors.Is(err, errQueueFull) {
		w.WriteHeader(499) // the client left: nobody reads an answer
		return
	}
	retry := max(1, int(s.admission.timeout/(2*time.Second)))
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	msg := "Сервер сейчас перегружен: слишком много запросов одновременно. Повторите через несколько секунд."
	if wantsJSON(r) {
		_ = writeJSON(w, http.StatusServiceUnavailable, detail{Detail: msg, Code: "overloaded"})
		return
	}
	s.renderError(w, r, http.StatusServiceUnavailable, msg)
}
