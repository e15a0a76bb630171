package server

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/notify"
)

// The SSE figures of the issue, measured on real loopback HTTP with the
// clients in a separate process (this test binary run again as
// TestSSEBenchClient), so the server's memory is its own:
//
//	CRM_TEST_POSTGRES_URL=… go test -run '^$' -bench BenchmarkLiveStreams -benchtime 1x ./internal/server/
//
// bytes/stream is the server's heap plus goroutine stacks per open stream
// with 5,000 streams open (goal ≤ 20 KB); p50-ms and p95-ms are the time
// from just before an action's transaction (notify.Add) begins until the
// notification arrives at a client, with 1,000 streams open (goal ≤ 100 ms).
func BenchmarkLiveStreams(b *testing.B) {
	raiseFileLimit(b)
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				benchLiveStreams(b, dbtest.New(b, d))
			}
		})
	}
}

const (
	benchUsers        = 100
	benchMemStreams   = 5000
	benchLatStreams   = 1000
	benchLatEvents    = 200
	benchClientEnv    = "CRM_SSE_BENCH_CLIENT"
	benchClientURL    = "CRM_SSE_BENCH_URL"
	benchClientFile   = "CRM_SSE_BENCH_SESSIONS"
	benchClientN      = "CRM_SSE_BENCH_STREAMS"
	benchClientExpect = "CRM_SSE_BENCH_EXPECT"
)

func benchLiveStreams(b *testing.B, db *database.DB) {
	ctx := context.Background()
	cfg := config.Config{SecretKey: strings.Repeat("k", 32), Location: time.UTC, SessionTTL: time.Hour,
		AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: time.Hour}
	e := &testEnv{db: db, srv: New(cfg, slog.New(slog.DiscardHandler), db)}
	// Users and their sessions, one per user.
	users := make([]int64, benchUsers)
	var sessions []string
	for i := range users {
		err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, date_joined)
			VALUES ($1, 'Пользователь', $2, CURRENT_TIMESTAMP) RETURNING id`, fmt.Sprintf("bench%d", i), strconv.Itoa(i)).Scan(&users[i])
		if err != nil {
			b.Fatal(err)
		}
		token, err := e.srv.users.CreateSession(ctx, users[i], time.Hour, "127.0.0.1", "bench")
		if err != nil {
			b.Fatal(err)
		}
		sessions = append(sessions, token)
	}
	file := b.TempDir() + "/sessions"
	if err := os.WriteFile(file, []byte(strings.Join(sessions, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: e.srv, ReadHeaderTimeout: ReadHeaderTimeout}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		e.srv.Close()
		_ = hs.Close()
	}()
	url := "http://" + ln.Addr().String()

	// Memory: 5,000 streams.
	before, heap0, g0 := serverMemory(), heapInuse(), runtime.NumGoroutine()
	client := startBenchClient(b, url, file, benchMemStreams, 0)
	client.waitFor(b, "ready")
	after, heap1, g1 := serverMemory(), heapInuse(), runtime.NumGoroutine()
	b.Logf("heap %.1f KB, stacks %.1f KB, %.2f goroutines per stream",
		float64(heap1-heap0)/benchMemStreams/1024, float64((after-heap1)-(before-heap0))/benchMemStreams/1024, float64(g1-g0)/benchMemStreams)
	perStream := float64(after-before) / benchMemStreams
	client.stop(b)
	waitQuiet(b, e, users)

	// Latency: 1,000 streams, 10 per user; each notification reaches 10.
	perUser := benchLatStreams / benchUsers
	client = startBenchClient(b, url, file, benchLatStreams, benchLatEvents*perUser)
	client.waitFor(b, "ready")
	actor := users[0]
	for i := range benchLatEvents {
		to := users[1+i%(benchUsers-1)]
		start := time.Now().UnixNano()
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, _, err := notify.Add(ctx, tx, notify.Notification{Kind: notify.KindCompanyResponsible,
				Title: "bench:" + strconv.FormatInt(start, 10), UserID: to, ActorID: actor})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	line := client.waitFor(b, "latency")
	client.stop(b)
	var n int
	var p50, p95, maxNs float64
	if _, err := fmt.Sscanf(line, "latency %d %f %f %f", &n, &p50, &p95, &maxNs); err != nil {
		b.Fatalf("client said %q: %v", line, err)
	}
	b.ReportMetric(perStream, "bytes/stream")
	b.ReportMetric(p50/1e6, "p50-ms")
	b.ReportMetric(p95/1e6, "p95-ms")
	b.ReportMetric(maxNs/1e6, "max-ms")
	b.Logf("%s: %d streams: %.1f KB per stream (heap+stacks); %d streams: %d arrivals, p50 %.1f ms, p95 %.1f ms, max %.1f ms",
		db.Dialect, benchMemStreams, perStream/1024, benchLatStreams, n, p50/1e6, p95/1e6, maxNs/1e6)
}

// serverMemory is this process's heap in use plus goroutine stacks, after
// a collection.
func serverMemory() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func waitQuiet(b *testing.B, e *testEnv, users []int64) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		open := 0
		for _, u := range users {
			open += e.srv.Live().Subscribers(u)
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d streams still open", open)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func raiseFileLimit(tb testing.TB) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		tb.Fatal(err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			tb.Fatal(err)
		}
	}
	if l.Cur < 2*benchMemStreams+100 {
		tb.Skipf("the file limit %d is below what %d streams need", l.Cur, benchMemStreams)
	}
}

// benchClient is the client process.
type benchClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startBenchClient(b *testing.B, url, file string, streams, expect int) *benchClient {
	cmd := exec.CommandContext(context.Background(), os.Args[0], "-test.run=^TestSSEBenchClient$", "-test.v") //nolint:gosec // this test binary
	cmd.Env = append(os.Environ(), benchClientEnv+"=1", benchClientURL+"="+url, benchClientFile+"="+file,
		benchClientN+"="+strconv.Itoa(streams), benchClientExpect+"="+strconv.Itoa(expect))
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return &benchClient{cmd: cmd, in: in, out: bufio.NewScanner(out)}
}

// waitFor returns the client's first output line starting with prefix.
func (c *benchClient) waitFor(b *testing.B, prefix string) string {
	for c.out.Scan() {
		if line := c.out.Text(); strings.HasPrefix(line, prefix) {
			return line
		} else if strings.HasPrefix(line, "error") {
			b.Fatal(line)
		}
	}
	b.Fatalf("the client ended before %q", prefix)
	return ""
}

func (c *benchClient) stop(b *testing.B) {
	_ = c.in.Close() // the client ends when its input does
	for c.out.Scan() {
	}
	if err := c.cmd.Wait(); err != nil {
		b.Logf("client: %v", err)
	}
}

// TestSSEBenchClient is the client process of BenchmarkLiveStreams; it
// does nothing in an ordinary test run.
func TestSSEBenchClient(t *testing.T) {
	if os.Getenv(benchClientEnv) == "" {
		t.Skip("the client of BenchmarkLiveStreams")
	}
	raiseFileLimit(t)
	raw, err := os.ReadFile(os.Getenv(benchClientFile))
	if err != nil {
		t.Fatal(err)
	}
	sessions := strings.Split(string(raw), "\n")
	streams, _ := strconv.Atoi(os.Getenv(benchClientN))
	expect, _ := strconv.Atoi(os.Getenv(benchClientExpect))
	url := os.Getenv(benchClientURL) + "/api/events/"
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var latencies []float64
	got := make(chan struct{}, expect+1)
	var ready sync.WaitGroup
	ready.Add(streams)
	for i := range streams {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sessions[i%len(sessions)]})
			var resp *http.Response
			for attempt := 0; ; attempt++ {
				resp, err = client.Do(req) //nolint:bodyclose // closed when ctx ends
				if err == nil || attempt == 20 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				fmt.Printf("error stream %d: %v %v\n", i, err, resp)
				os.Exit(1)
			}
			sc := bufio.NewScanner(resp.Body)
			first := true
			event := ""
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					event = line[7:]
				case strings.HasPrefix(line, "data: ") && event == "unread" && first:
					first = false
					ready.Done()
				case strings.HasPrefix(line, "data: ") && event == "notification":
					now := time.Now().UnixNano()
					var n notify.Notification
					if json.Unmarshal([]byte(line[6:]), &n) == nil && strings.HasPrefix(n.Title, "bench:") {
						sent, _ := strconv.ParseInt(n.Title[6:], 10, 64)
						mu.Lock()
						latencies = append(latencies, float64(now-sent))
						mu.Unlock()
						got <- struct{}{}
					}
				}
			}
		}()
		if i%200 == 199 {
			time.Sleep(20 * time.Millisecond) // do not flood the listen backlog
		}
	}
	ready.Wait()
	fmt.Println("ready")
	if expect > 0 {
		timeout := time.After(2 * time.Minute)
		for range expect {
			select {
			case <-got:
			case <-timeout:
				fmt.Printf("error: %d of %d arrivals\n", len(latencies), expect)
				os.Exit(1)
			}
		}
		mu.Lock()
		slices.Sort(latencies)
		q := func(p float64) float64 { return latencies[int(p*float64(len(latencies)-1))] }
		fmt.Printf("latency %d %.0f %.0f %.0f\n", len(latencies), q(0.5), q(0.95), latencies[len(latencies)-1])
		mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark closes it
}
