package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func queued(a *admission) int { _, n := a.load(); return n }

func TestTheRequestQueueAdmitsInTheOrderRequestsCame(t *testing.T) {
	a := newAdmission(1, 100, time.Minute)
	if err := a.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := a.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			a.release()
		})
		// The next one comes only once this one stands in line.
		waitFor(t, "request in line", func() bool { return queued(a) == i+1 })
	}
	a.release()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("admitted in the order %v, want 0…%d", order, n-1)
		}
	}
	if active, waiting := a.load(); active != 0 || waiting != 0 {
		t.Fatalf("after all: %d active, %d waiting", active, waiting)
	}
}

func TestAWaiterThatGivesUpLeavesNoSlotBehind(t *testing.T) {
	a := newAdmission(1, 100, time.Minute)
	if err := a.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.acquire(ctx) }()
	waitFor(t, "request in line", func() bool { return queued(a) == 1 })
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a cancelled waiter was admitted")
	}
	a.release()
	if active, waiting := a.load(); active != 0 || waiting != 0 {
		t.Fatalf("after the holder left: %d active, %d waiting", active, waiting)
	}

	// The full queue refuses at once. The waiter's own wait is long, so
	// that a slow machine cannot time it out before the check.
	full := newAdmission(1, 1, time.Minute)
	_ = full.acquire(context.Background())
	waiting, stopWaiting := context.WithCancel(context.Background())
	go func() { errc <- full.acquire(waiting) }()
	waitFor(t, "request in line", func() bool { return queued(full) == 1 })
	if err := full.acquire(context.Background()); !errors.Is(err, errQueueFull) {
		t.Fatalf("a full queue answered %v, want errQueueFull", err)
	}
	stopWaiting()
	if err := <-errc; err == nil {
		t.Fatal("a cancelled waiter was admitted")
	}

	// The timeout refuses after waiting.
	short := newAdmission(1, 1, 10*time.Millisecond)
	_ = short.acquire(context.Background())
	if err := short.acquire(context.Background()); !errors.Is(err, errQueueTimeout) {
		t.Fatalf("a waiter past the timeout got %v, want errQueueTimeout", err)
	}
}

// queuedEnv is a test environment whose server serves one request at a
// time, lets one wait and refuses it after a short wait; hold takes the
// only slot until the test ends.
func queuedEnv(t *testing.T, e *testEnv, maxQueued int, timeout time.Duration) (hold func()) {
	t.Helper()
	cfg := e.srv.cfg
	cfg.MaxActiveRequests, cfg.MaxQueuedRequests, cfg.QueueTimeout = 1, maxQueued, timeout
	e.srv = New(cfg, slog.New(slog.DiscardHandler), e.db)
	return func() {
		if err := e.srv.admission.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.srv.admission.release)
	}
}

func TestARequestThatWaitsTooLongIsRefusedWith503(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		hold := queuedEnv(t, e, 10, 20*time.Millisecond)
		hold()

		t.Run("a page says so in Russian", func(t *testing.T) {
			rec := e.do(&e.cast.Alisa, "GET", "/companies/", nil)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
			}
			doc, err := goquery.NewDocumentFromReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Find(`[data-testid="error-title"]`).Text(); got != "Сервер занят" {
				t.Errorf("title %q", got)
			}
			if got := doc.Find(`[data-testid="error-text"]`).Text(); !strings.Contains(got, "перегружен") {
				t.Errorf("text %q", got)
			}
		})
		t.Run("the API answers its JSON error, as its document says", func(t *testing.T) {
			rec := e.do(&e.cast.Alisa, "GET", "/api/companies/", nil) // do checks the answer against the OpenAPI document
			var body detail
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusServiceUnavailable || body.Code != "overloaded" || body.Detail == "" {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body.String())
			}
		})
		t.Run("the refusals are counted in /metrics", func(t *testing.T) {
			metrics := scrape(t, e)
			for _, want := range []string{`crm_http_queue_refused_total{reason="timeout"} 2`, "crm_http_requests_active 1", "crm_http_requests_active_limit 1", "crm_http_requests_queued 0"} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics has no %q", want)
				}
			}
		})
	})
}

func TestAFullQueueRefusesAtOnce(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		hold := queuedEnv(t, e, 1, time.Minute)
		hold()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan int, 1)
		go func() {
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/companies/", nil).WithContext(ctx))
			done <- rec.Code
		}()
		waitFor(t, "request in line", func() bool { return queued(e.srv.admission) == 1 })
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/companies/", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("a request beyond a full queue: %d", rec.Code)
		}
		// The one in line leaves when its client does.
		cancel()
		if code := <-done; code != 499 {
			t.Fatalf("a waiting request whose client left: %d", code)
		}
		if queued(e.srv.admission) != 0 {
			t.Fatal("the client that left is still in line")
		}
		if m := scrape(t, e); !strings.Contains(m, `crm_http_queue_refused_total{reason="gone"} 1`) ||
			!strings.Contains(m, `crm_http_queue_refused_total{reason="full"} 1`) {
			t.Errorf("refusals not counted:\n%s", grepLines(m, "crm_http_queue"))
		}
	})
}

// TestStreamsProbesAndAssetsDoNotWaitInLine: with the only slot taken and
// a queue that refuses at once, the live events stream, the probes,
// /metrics and static files are still served.
func TestStreamsProbesAndAssetsDoNotWaitInLine(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		hold := queuedEnv(t, e, 10, time.Millisecond)
		hold()
		srv := httptest.NewServer(e.srv)
		defer srv.Close()
		get := func(path string) *http.Response {
			req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(e.cast.Alisa)})
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/favicon.ico", "/static/app.css", "/api/events/"} {
			resp := get(path)
			_ = resp.Body.Close() // an event stream ends here
			// /readyz may say 503 for itself here (no job queue), but
			// not the queue's 503, which alone carries Retry-After.
			if resp.Header.Get("Retry-After") != "" || (path != "/readyz" && resp.StatusCode != http.StatusOK) {
				t.Errorf("%s answered %d (Retry-After %q) with every slot taken", path, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}
		// …and the rest does wait.
		resp := get("/companies/")
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/companies/ answered %d with every slot taken", resp.StatusCode)
		}
	})
}

// TestABodyOnItsWayHoldsNoSlot: the body of a write is read before the
// request takes a slot, so a client that sends it slowly keeps nobody
// else waiting.
func TestABodyOnItsWayHoldsNoSlot(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		queuedEnv(t, e, 10, time.Minute)
		reading := make(chan struct{})
		body := &stalledBody{first: reading, rest: make(chan struct{}), data: []byte(`{"address": "г. Тверь"}`)}
		req := httptest.NewRequest("PATCH", "/api/companies/1/", body)
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(e.cast.Alisa)})
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.srv.ServeHTTP(httptest.NewRecorder(), req)
		}()
		<-reading // the server is reading the body now
		if active, _ := e.srv.admission.load(); active != 0 {
			t.Errorf("a request whose body is still on its way holds %d slot(s)", active)
		}
		close(body.rest)
		<-done
	})
}

// stalledBody gives nothing until rest is closed, saying on first when
// it was first asked.
type stalledBody struct {
	first, rest chan struct{}
	once        sync.Once
	data        []byte
}

func (b *stalledBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.first) })
	<-b.rest
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func TestWhatIsServedOutsideTheQueue(t *testing.T) {
	for _, c := range []struct {
		method, path string
		outside      bool
	}{
		{"GET", "/api/events/", true},
		{"GET", "/api/phone/v1/commands", true},
		{"POST", "/api/imports/", true},
		{"POST", "/admin/imports/", true},
		{"GET", "/healthz", true},
		{"GET", "/readyz", true},
		{"GET", "/metrics", true},
		{"GET", "/static/app.css", true},
		{"GET", "/companies/", false},
		{"GET", "/api/companies/1/", false},
		{"PATCH", "/api/companies/1/", false},
		{"GET", "/api/phone/v1/commands/5", false},
		{"GET", "/api/imports/", false},
		{"POST", "/login", false},
	} {
		if got := unqueued(httptest.NewRequest(c.method, c.path, nil)); got != c.outside {
			t.Errorf("%s %s: outside the queue %v, want %v", c.method, c.path, got, c.outside)
		}
	}
}

// scrape reads /metrics as a loopback client.
func scrape(t *testing.T, e *testEnv) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
