package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/phone"
	"github.com/crmprofi/crm/internal/phone/fcmfake"
)

// cmdBenchPhone measures «Позвонить с телефона» through the long-poll
// channel against a real `crm serve` it starts on loopback (a child
// process, so that its memory is its own): the latency from a call
// request to the phone's «delivered» with many phones connected, and the
// memory of many held long-polls. It adds users and phones to the
// database of --database-url: use a scratch database.
func cmdBenchPhone(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("bench-phone", flag.ContinueOnError)
	devices := fs.Int("devices", 200, "телефонов на связи (пользователей с привязанным телефоном)")
	requests := fs.Int("requests", 1000, "запросов звонка для замера задержки")
	workers := fs.Int("concurrency", 20, "запросов звонка одновременно")
	conns := fs.Int("connections", 5000, "удерживаемых long-poll соединений для замера памяти; 0 — не замерять")
	channel := fs.String("channel", "poll", "канал доставки: poll (long-poll) или fcm (через поддельный FCM на loopback)")
	russianUsage(env, fs)
	cfg, err := config.Load(fs, args, env.getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case *devices < 1 || *devices > 5000:
		return errors.New("--devices: от 1 до 5000")
	case *requests < 1 || *requests > 100000:
		return errors.New("--requests: от 1 до 100000")
	case *workers < 1 || *workers > *devices:
		return errors.New("--concurrency: от 1 до числа телефонов")
	case *conns < 0 || *conns > 20000:
		return errors.New("--connections: от 0 до 20000")
	case *channel != "poll" && *channel != "fcm":
		return errors.New("--channel: poll или fcm")
	}
	if err := cfg.EnsureSecret(); err != nil {
		return err
	}
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Migrate(ctx, newLogger(cfg, env)); err != nil {
		return err
	}
	out := env.stdout
	fmt.Fprintf(out, "Подготовка: %d пользователей с телефонами…\n", *devices)
	viaFCM := *channel == "fcm"
	phones, sessions, err := benchPhoneUsers(ctx, db, *devices, viaFCM)
	if err != nil {
		return err
	}
	var fake *fcmfake.Server
	var extraEnv []string
	if viaFCM {
		if fake, err = fcmfake.Start(); err != nil {
			return err
		}
		defer fake.Close()
		dir, err := os.MkdirTemp("", "crm-bench-fcm")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		creds, err := fake.WriteCredentials(dir)
		if err != nil {
			return err
		}
		extraEnv = []string{"CRM_FCM_CREDENTIALS=" + creds, "CRM_FCM_ENDPOINT=" + fake.Endpoint()}
		fmt.Fprintf(out, "Поддельный FCM: %s\n", fake.URL)
	}

	addr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	srv, err := startPhoneBenchServer(ctx, cfg, addr, extraEnv...)
	if err != nil {
		return err
	}
	defer func() { _ = srv.stop() }()
	base := "http://" + addr
	fmt.Fprintf(out, "Сервер: %s (pid %d), база %s\n", base, srv.cmd.Process.Pid, db.Dialect)

	// The phones: each long-polls and acknowledges «delivered» at once.
	transport := &http.Transport{MaxIdleConnsPerHost: *devices + *conns + 100, MaxConnsPerHost: 0}
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	delivered := make([]chan int64, *devices)
	pollCtx, stopPolls := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, cred := range phones {
		delivered[i] = make(chan int64, 16)
		p := &simPhone{base: base, client: client, cred: cred}
		wg.Add(1)
		if viaFCM {
			// The phone gets the push, fetches the command, acknowledges.
			msgs, cancel := fake.Subscribe(benchPushToken(i))
			go func() {
				defer wg.Done()
				defer cancel()
				for {
					select {
					case <-pollCtx.Done():
						return
					case m := <-msgs:
						id := m.Data["id"]
						if _, err := p.ackVia(pollCtx, id, id+"-delivered", "delivered", "fcm"); err == nil {
							n, _ := strconv.ParseInt(id, 10, 64)
							delivered[i] <- n
						}
					}
				}
			}()
			continue
		}
		go func() {
			defer wg.Done()
			for pollCtx.Err() == nil {
				cmds, err := p.poll(pollCtx, 25*time.Second)
				if err != nil {
					if pollCtx.Err() == nil {
						time.Sleep(100 * time.Millisecond)
					}
					continue
				}
				for _, c := range cmds {
					if _, err := p.ack(pollCtx, c.ID, c.ID+"-delivered", "delivered"); err == nil {
						id, _ := strconv.ParseInt(c.ID, 10, 64)
						delivered[i] <- id
					}
				}
			}
		}()
	}
	time.Sleep(2 * time.Second) // every phone in its long-poll

	fmt.Fprintf(out, "Замер задержки: %d запросов, %d одновременно, %d телефонов на связи…\n", *requests, *workers, *devices)
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	var rw sync.WaitGroup
	for w := range *workers {
		rw.Add(1)
		go func() {
			defer rw.Done()
			var mine []int // this worker's users: w, w+workers, …
			for u := w; u < *devices; u += *workers {
				mine = append(mine, u)
			}
			for k := 0; ; k++ {
				n := next.Add(1) - 1
				if n >= int64(*requests) {
					return
				}
				u := mine[k%len(mine)]
				start := time.Now()
				id, err := benchCallRequest(ctx, client, base, sessions[u], fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), n))
				if err != nil {
					failed.Add(1)
					continue
				}
				timeout := time.After(30 * time.Second)
			wait:
				for {
					select {
					case got := <-delivered[u]:
						if got == id {
							break wait
						}
					case <-timeout:
						failed.Add(1)
						break wait
					}
				}
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	rw.Wait()
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	fmt.Fprintf(out, "Запрос звонка → «delivered» (%s): p50 %s, p95 %s, p99 %s, макс. %s; доставлено %d, ошибок %d\n",
		map[bool]string{false: "long-poll", true: "FCM, поддельный"}[viaFCM], pct(0.50).Round(time.Microsecond), pct(0.95).Round(time.Microsecond), pct(0.99).Round(time.Microsecond),
		pct(1).Round(time.Microsecond), len(lat), failed.Load())
	stopPolls()
	wg.Wait()

	if *conns == 0 {
		return nil
	}
	// Held long-polls: the server's memory before and with them.
	time.Sleep(time.Second)
	before, err := processRSS(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Замер соединений: %d long-poll (wait=30) на %d телефонах…\n", *conns, *devices)
	held := make(chan struct{}, *conns)
	var ok, bad atomic.Int64
	connCtx, stopConns := context.WithCancel(ctx)
	defer stopConns()
	holdClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, DisableKeepAlives: true}, Timeout: time.Minute}
	var cw sync.WaitGroup
	for i := range *conns {
		p := &simPhone{base: base, client: holdClient, cred: phones[i%len(phones)]}
		cw.Add(1)
		go func() {
			defer cw.Done()
			held <- struct{}{}
			if _, err := p.poll(connCtx, 30*time.Second); err != nil {
				if connCtx.Err() == nil {
					bad.Add(1)
				}
				return
			}
			ok.Add(1)
		}()
		if i%200 == 199 {
			time.Sleep(50 * time.Millisecond) // not a SYN flood
		}
	}
	time.Sleep(8 * time.Second) // every request in, every poll waiting
	with, err := processRSS(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	early := ok.Load() + bad.Load()
	open := int64(*conns) - early
	fmt.Fprintf(out, "Удерживается long-poll: %d из %d (завершились раньше: %d, ошибок %d)\n", open, *conns, early, bad.Load())
	fmt.Fprintf(out, "Память сервера (RSS): %.1f МБ без соединений, %.1f МБ с ними; %.1f КБ на соединение\n",
		float64(before)/(1<<20), float64(with)/(1<<20), float64(with-before)/float64(max(open, 1))/1024)
	stopConns()
	cw.Wait()
	return nil
}

// benchPhoneUsers adds n users, each with a confirmed phone and a
// browser session: the phones' credentials and the session tokens.
func benchPhoneUsers(ctx context.Context, db *database.DB, n int, withPush bool) (creds, sessions []string, err error) {
	users := auth.NewStore(db)
	phones := phone.NewStore(db)
	run := strconv.FormatInt(time.Now().Unix(), 36)
	for i := range n {
		name := fmt.Sprintf("bench-phone-%s-%d", run, i)
		var id int64
		if err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, email, password_hash, role, data_scope, date_joined)
			VALUES ($1, 'Телефон', $2, '', '!', 'manager', 'self', $3) RETURNING id`, name, strconv.Itoa(i), database.Now()).Scan(&id); err != nil {
			return nil, nil, fmt.Errorf("bench user: %w", err)
		}
		scope := access.Scope{UserID: id, Role: access.RoleManager, Data: access.Self, Name: "Телефон " + strconv.Itoa(i)}
		p, secret, err := phones.CreatePairing(ctx, scope)
		if err != nil {
			return nil, nil, err
		}
		claim := phone.Claim{PairingID: strconv.FormatInt(p.ID, 10), Secret: secret, Device: phone.DeviceInfo{Name: name, Model: "bench"}}
		if withPush {
			claim.PushProvider, claim.PushToken = "fcm", benchPushToken(i)
		}
		c, err := phones.Claim(ctx, claim)
		if err != nil {
			return nil, nil, err
		}
		if _, err := phones.ConfirmPairing(ctx, scope, p.ID, c.ConfirmCode); err != nil {
			return nil, nil, err
		}
		s, err := users.CreateSession(ctx, id, time.Hour, "127.0.0.1", "bench-phone")
		if err != nil {
			return nil, nil, err
		}
		creds = append(creds, c.Device.CredentialID()+"."+c.Token)
		sessions = append(sessions, s)
	}
	return creds, sessions, nil
}

// benchPushToken is the FCM token of the bench's phone i.
func benchPushToken(i int) string { return "bench-token-" + strconv.Itoa(i) }

// benchCallRequest makes a call request as the session's user.
func benchCallRequest(ctx context.Context, client *http.Client, base, session, key string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/call-requests/", strings.NewReader(`{"phone": "+7 495 123-45-67"}`))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	req.AddCookie(&http.Cookie{Name: "crm_session", Value: session})
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		ID int64 `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("call request: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	return out.ID, nil
}

// phoneBenchServer is `crm serve` running as a child process.
type phoneBenchServer struct {
	cmd  *exec.Cmd
	done chan error
}

func startPhoneBenchServer(ctx context.Context, cfg config.Config, addr string, env ...string) (*phoneBenchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(context.WithoutCancel(ctx), exe, "serve") //nolint:gosec // this very binary
	cmd.Env = append(os.Environ(), "CRM_DATABASE_URL="+cfg.DatabaseURL, "CRM_ADDR="+addr, "CRM_SECRET_KEY="+cfg.SecretKey,
		"CRM_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &phoneBenchServer{cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("crm serve ended: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = s.stop()
	return nil, errors.New("crm serve did not start within a minute")
}

func (s *phoneBenchServer) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(40 * time.Second):
		return s.cmd.Process.Kill()
	}
}

// freeLoopbackAddr is a free port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// processRSS is the resident memory of process pid (Linux).
func processRSS(pid int) (int64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("memory of the server: %w", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}
