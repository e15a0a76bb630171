package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/demo"
	"github.com/crmprofi/crm/internal/progress"
	"github.com/crmprofi/crm/internal/server"
)

// Limits that keep a load test bounded whatever the flags say: it never
// runs longer, sends more or opens more connections than this.
const (
	loadMaxDuration = 10 * time.Minute
	loadMaxRequests = 5_000_000
	loadMaxClients  = 2000
)

// loadOps are the operations a mix may name, in report order: the
// companies' (the default mix) and the desk's.
var loadOps = []string{"list", "search", "card", "patch", "desk", "dashboard", "tasks", "complete"}

var loadOpNames = map[string]string{
	"list":      "Список компаний (HTML)",
	"search":    "Поиск по названию (HTML)",
	"card":      "Карточка компании (HTML)",
	"patch":     "PATCH компании (API)",
	"desk":      "Рабочий стол (HTML)",
	"dashboard": "Рабочий стол (API)",
	"tasks":     "Мои задачи (HTML)",
	"complete":  "Выполнить задачу (API)",
}

// loadMixes are the named mixes --mix accepts besides explicit shares:
// "companies" (the default: the base's lists, cards and edits) and
// "desk" (a sales manager's morning: the desk page, its API, the task
// list, completing tasks).
var loadMixes = map[string]string{
	"companies": "list=30,search=25,card=35,patch=10",
	"desk":      "desk=35,dashboard=25,tasks=30,complete=10",
}

// deskOps are the operations that need tasks in the base.
var deskOps = []string{"desk", "dashboard", "tasks", "complete"}

// loadTasksPerUser is how many tasks each demo user gets when a desk
// operation is in the mix and the server runs in-process.
const loadTasksPerUser = 40

// cmdLoadtest signs in demo users and sends a mix of the most common
// requests from many clients at once, then reports the throughput and the
// latency of each operation. It only ever talks to this machine: either
// to a server it starts itself on 127.0.0.1 against --database-url, or to
// a running server at a loopback --url. It stops by itself after
// --duration or --requests, whichever comes first.
func cmdLoadtest(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	target := fs.String("url", "", "адрес уже запущенного сервера (только 127.0.0.1, localhost или [::1]); пусто — запустить сервер в этом процессе на базе --database-url")
	clients := fs.Int("clients", 50, "одновременных клиентов")
	duration := fs.Duration("duration", 30*time.Second, "длительность замера (не больше 10m)")
	maxReq := fs.Int("requests", 1_000_000, "не больше запросов за замер")
	warmup := fs.Duration("warmup", 3*time.Second, "разогрев перед замером (не входит в отчёт)")
	mixFlag := fs.String("mix", "companies", "доли операций (list, search, card, patch, desk, dashboard, tasks, complete), например desk=50,complete=10; или готовая смесь: companies (компании) или desk (рабочий стол)")
	users := fs.String("users", "", "логины пользователей через запятую; пусто — 35 демо-пользователей crm demo (demo-admin, demo-group, demo-director-N, demo-manager-N-M)")
	password := fs.String("password", "demo-пароль", "пароль пользователей (как у crm demo)")
	companies := fs.Int("companies", 2000, "без --url: сколько компаний должно быть в демо-базе")
	cpuProfile := fs.String("cpuprofile", "", "без --url: записать профиль CPU процесса за время замера в этот файл (go tool pprof)")
	pgDB := fs.String("postgres-db", "", "имя базы PostgreSQL сервера, если она на этой машине: посчитать и время процессора её серверных процессов на запрос (Linux, /proc)")
	russianUsage(env, fs)
	cfg, err := config.Load(fs, args, env.getenv)
	if err != nil {
		return err
	}
	mix, err := parseMix(*mixFlag)
	if err != nil {
		return err
	}
	switch {
	case *clients < 1 || *clients > loadMaxClients:
		return fmt.Errorf("--clients: от 1 до %d", loadMaxClients)
	case *duration <= 0 || *duration > loadMaxDuration:
		return fmt.Errorf("--duration: больше нуля и не больше %s", loadMaxDuration)
	case *maxReq < 1 || *maxReq > loadMaxRequests:
		return fmt.Errorf("--requests: от 1 до %d", loadMaxRequests)
	case *warmup < 0 || *warmup > time.Minute:
		return errors.New("--warmup: от 0 до 1m")
	}
	lt := &loadTest{
		clients: *clients, duration: *duration, warmup: *warmup, maxRequests: int64(*maxReq), mix: mix,
		users: splitList(*users), password: *password, out: env.stdout, postgresDB: *pgDB,
	}
	if len(lt.users) == 0 {
		lt.users = demoUsernames()
	}
	if *target != "" {
		base, err := loopbackURL(*target)
		if err != nil {
			return err
		}
		lt.base = base
		return lt.run(ctx)
	}
	// In-process: the real server on a loopback port of its own, on a
	// demo base topped up to the requested size.
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Migrate(ctx, newLogger(cfg, env)); err != nil {
		return err
	}
	if err := cfg.EnsureSecret(); err != nil {
		return err
	}
	tasks := 0
	for _, op := range deskOps {
		if mix[op] > 0 {
			tasks = loadTasksPerUser
		}
	}
	if _, err := demo.Load(ctx, db, demo.Options{
		Companies: *companies, Contacts: *companies * 2, NotesPerCompany: 3, TasksPerUser: tasks, Seed: 1, Password: *password, Progress: progress.Terminal(env.stdout),
	}); err != nil {
		return err
	}
	// Planner statistics for the base just loaded: without them (no
	// autovacuum yet) PostgreSQL plans every page from guesses.
	if err := analyze(ctx, db); err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	tuneGC() // as crm serve runs
	srv := server.New(cfg, slog.New(slog.DiscardHandler), db)
	srv.CacheSessions(ctx) // as crm serve does
	defer srv.Close()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() { _ = hs.Close() }()
	lt.base = &url.URL{Scheme: "http", Host: ln.Addr().String()}
	lt.cpuProfile = *cpuProfile
	lt.inProcess = true
	fmt.Fprintf(env.stdout, "Сервер в этом процессе: %s, база %s\n", lt.base, db.Dialect)
	return lt.run(ctx)
}

// demoUsernames are the logins `crm demo` creates with three branches.
func demoUsernames() []string {
	names := []string{"demo-admin", "demo-group"}
	for b := 1; b <= 3; b++ {
		names = append(names, fmt.Sprintf("demo-director-%d", b))
		for m := 1; m <= 10; m++ {
			names = append(names, fmt.Sprintf("demo-manager-%d-%d", b, m))
		}
	}
	return names
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// loopbackURL accepts only an http(s) URL of this machine: a load test
// must never be pointed at another host.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: нужен адрес вида http://127.0.0.1:8000", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return nil, fmt.Errorf("--url %q: нагрузочный тест работает только с этой машиной (127.0.0.1, localhost, [::1])", raw)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}

// parseMix reads "list=30,search=25,card=35,patch=10", or the name of one
// of loadMixes, into weights.
func parseMix(s string) (map[string]int, error) {
	if named, ok := loadMixes[strings.TrimSpace(s)]; ok {
		s = named
	}
	mix := map[string]int{}
	total := 0
	for _, part := range splitList(s) {
		k, v, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		k = strings.TrimSpace(k)
		if !ok || err != nil || n < 0 || !slices.Contains(loadOps, k) {
			return nil, fmt.Errorf("--mix %q: ожидается companies, desk или доли вида desk=35,dashboard=25,tasks=30,complete=10", s)
		}
		mix[k] = n
		total += n
	}
	if total == 0 {
		return nil, fmt.Errorf("--mix %q: сумма долей должна быть больше нуля", s)
	}
	return mix, nil
}

// loadTest is one run: its settings, the signed-in users and the tallies.
type loadTest struct {
	base             *url.URL
	baseURL          string // base, as the prefix of every request's URL
	clients          int
	duration, warmup time.Duration
	maxRequests      int64
	mix              map[string]int
	users            []string
	password         string
	out              io.Writer
	cpuProfile       string
	postgresDB       string // the database whose PostgreSQL backends' CPU is sampled too
	inProcess        bool   // the server runs in this process
	sent             atomic.Int64
	sessions         []*loadUser
	errorSamples     sync.Mutex
	samples          []string
}

// loadUser is a signed-in user with what it may look at and change.
type loadUser struct {
	name   string
	client *http.Client
	cookie string   // the session cookie, sent by hand once signed in
	ids    []int64  // companies the user sees
	words  []string // name words of those companies, for the search
	own    []*ownCompany
	// open are the user's open tasks as the assignee, for "complete";
	// each is completed once (taken under the lock).
	openMu sync.Mutex
	open   []int64
}

// ownCompany is a company the user may edit, with the version the next
// PATCH must carry; its lock keeps two clients from editing it at once.
type ownCompany struct {
	sync.Mutex
	id      int64
	version int
}

// opStats gathers one operation's latencies and errors of one client.
type opStats struct {
	lat    []time.Duration
	errors int
}

func (lt *loadTest) run(ctx context.Context) error {
	lt.baseURL = lt.base.String()
	transport := &http.Transport{MaxIdleConns: lt.clients * 2, MaxIdleConnsPerHost: lt.clients * 2, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	for _, name := range lt.users {
		u, err := lt.signIn(ctx, transport, name)
		if errors.Is(err, errSeesNothing) {
			fmt.Fprintf(lt.out, "Пользователь %s пропущен: не видит ни одной компании\n", name)
			continue
		}
		if err != nil {
			fmt.Fprintf(lt.out, "Вход %s не удался: %v\n", name, err)
			continue
		}
		lt.sessions = append(lt.sessions, u)
	}
	if len(lt.sessions) == 0 {
		return errors.New("ни один пользователь не вошёл: создайте демо-базу (crm demo) и проверьте --users и --password")
	}
	fmt.Fprintf(lt.out, "Вошли %d пользователей; %d клиентов, %s (разогрев %s), не больше %d запросов, %s\n",
		len(lt.sessions), lt.clients, lt.duration, lt.warmup, lt.maxRequests, lt.base)

	if lt.warmup > 0 {
		lt.phase(ctx, lt.warmup, nil)
	}
	lt.sent.Store(0)
	stats := make([]map[string]*opStats, lt.clients)
	if lt.cpuProfile != "" {
		f, err := os.Create(lt.cpuProfile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	cpuBefore := lt.sampleCPU(ctx)
	start := time.Now()
	lt.phase(ctx, lt.duration, stats)
	elapsed := time.Since(start)
	cpuAfter := lt.sampleCPU(ctx)
	if lt.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	return lt.report(stats, elapsed, cpuBefore, cpuAfter)
}

// phase runs every client for d (or until the request budget is spent or
// ctx ends); with stats nil it is a warm-up whose results are dropped.
//
// A request under way when the phase ends is let finish (a client cut off
// mid-request is not what is measured) and counted; ctx, when it ends
// (Ctrl+C), cuts them off.
func (lt *loadTest) phase(ctx context.Context, d time.Duration, stats []map[string]*opStats) {
	phaseCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for i := range lt.clients {
		st := map[string]*opStats{}
		for _, op := range loadOps {
			st[op] = &opStats{}
		}
		if stats != nil {
			stats[i] = st
		}
		wg.Go(func() { lt.client(ctx, phaseCtx, i, st) })
	}
	wg.Wait()
}

// client sends requests one after another, picking each by the mix,
// until the phase ends.
func (lt *loadTest) client(ctx, phase context.Context, i int, st map[string]*opStats) {
	rnd := rand.New(rand.NewPCG(uint64(i)+1, 42)) //nolint:gosec // load shape, not secrets
	u := lt.sessions[i%len(lt.sessions)]
	cn := newWire(lt.base.Host, lt.base.Host)
	defer cn.close()
	total := 0
	for _, w := range lt.mix {
		total += w
	}
	for phase.Err() == nil {
		if lt.sent.Add(1) > lt.maxRequests {
			return
		}
		n, op := rnd.IntN(total), ""
		for _, name := range loadOps {
			if n < lt.mix[name] {
				op = name
				break
			}
			n -= lt.mix[name]
		}
		if op == "patch" && len(u.own) == 0 {
			op = "card"
		}
		if (op == "card" && len(u.ids) == 0) || (op == "search" && len(u.words) == 0) {
			op = "dashboard"
		}
		t := time.Now()
		err := lt.do(ctx, cn, u, op, rnd)
		d := time.Since(t)
		if ctx.Err() != nil {
			return // interrupted: neither a sample nor an error
		}
		s := st[op]
		s.lat = append(s.lat, d)
		if err != nil {
			s.errors++
			lt.errorSamples.Lock()
			if len(lt.samples) < 5 {
				lt.samples = append(lt.samples, op+": "+err.Error())
			}
			lt.errorSamples.Unlock()
		}
	}
}

// do sends one request of the operation as u.
func (lt *loadTest) do(ctx context.Context, cn *wire, u *loadUser, op string, rnd *rand.Rand) error {
	switch op {
	case "list":
		return lt.get(ctx, cn, u, "/companies/?page="+strconv.Itoa(1+rnd.IntN(5)), nil)
	case "search":
		w := u.words[rnd.IntN(len(u.words))]
		return lt.get(ctx, cn, u, "/companies/?search="+url.QueryEscape(w), nil)
	case "card":
		return lt.get(ctx, cn, u, "/companies/"+strconv.FormatInt(u.ids[rnd.IntN(len(u.ids))], 10)+"/", nil)
	case "desk":
		return lt.get(ctx, cn, u, "/desk/", nil)
	case "dashboard":
		return lt.get(ctx, cn, u, "/api/dashboard/", nil)
	case "tasks":
		return lt.get(ctx, cn, u, "/tasks/", nil)
	case "complete":
		id := u.takeOpen()
		if id == 0 {
			// Every open task of this user is done: the desk is what a
			// person would look at next.
			return lt.get(ctx, cn, u, "/api/dashboard/", nil)
		}
		body, _ := json.Marshal(map[string]string{"result": "Сделано (нагрузочный тест)"})
		return lt.send(ctx, cn, u, http.MethodPost, "/api/tasks/"+strconv.FormatInt(id, 10)+"/complete/", body, nil)
	default:
		c := u.own[rnd.IntN(len(u.own))]
		c.Lock()
		defer c.Unlock()
		path := "/api/companies/" + strconv.FormatInt(c.id, 10) + "/"
		if c.version == 0 {
			// The last PATCH was cut off (the phase ended mid-request)
			// and may have been applied: learn the version anew.
			var cur struct {
				Version int `json:"version"`
			}
			if err := lt.get(ctx, cn, u, path, &cur); err != nil {
				return err
			}
			c.version = cur.Version
		}
		body, _ := json.Marshal(map[string]any{"version": c.version, "address": fmt.Sprintf("г. Москва, ул. Нагрузочная, д. %d", rnd.IntN(100)+1)})
		var out struct {
			Version int `json:"version"`
		}
		if err := lt.send(ctx, cn, u, http.MethodPatch, path, body, &out); err != nil {
			c.version = 0
			return err
		}
		c.version = out.Version
		return nil
	}
}

func (lt *loadTest) get(ctx context.Context, cn *wire, u *loadUser, path string, out any) error {
	return lt.send(ctx, cn, u, http.MethodGet, path, nil, out)
}

// send makes one request and reads the whole answer; any status but 2xx
// is an error. out, when given, receives the JSON answer.
//
// The generator shares the processor with the server it measures, so it
// keeps its own work per request small: the measured requests go over the
// client's own wire (cn, see wire), a page it only counts is asked for
// gzipped, as a browser asks, and its compressed bytes are dropped
// without being inflated or kept. Signing in (cn nil) goes through
// net/http's client and its cookie jar.
func (lt *loadTest) send(ctx context.Context, cn *wire, u *loadUser, method, path string, body []byte, out any) error {
	if cn != nil {
		a, err := cn.roundTrip(ctx, method, path, u.cookie, body, out != nil)
		if err != nil {
			return err
		}
		if a.status/100 != 2 {
			return answerError(method, path, a.status, a.encoding, a.body)
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(a.body, out)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, lt.baseURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.cookie != "" {
		req.Header.Set("Cookie", u.cookie)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return answerError(method, path, resp.StatusCode, resp.Header.Get("Content-Encoding"), data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// answerError describes an answer that is not 2xx: its status and the
// beginning of its text (compressed text is named, not shown).
func answerError(method, path string, status int, encoding string, body []byte) error {
	if len(body) > 200 {
		body = body[:200]
	}
	if encoding != "" {
		body = []byte("(" + encoding + ")")
	}
	return fmt.Errorf("%s %s: %d %s", method, path, status, body)
}

// takeOpen hands out one of the user's open tasks, each once; 0 when none
// is left.
func (u *loadUser) takeOpen() int64 {
	u.openMu.Lock()
	defer u.openMu.Unlock()
	if len(u.open) == 0 {
		return 0
	}
	id := u.open[len(u.open)-1]
	u.open = u.open[:len(u.open)-1]
	return id
}

// errSeesNothing marks a user who sees no company: nothing to load.
var errSeesNothing = errors.New("the user sees no company")

// signIn logs name in through the sign-in form, then reads the companies
// the user sees (for cards and searches) and those they are responsible
// for (for edits).
func (lt *loadTest) signIn(ctx context.Context, transport http.RoundTripper, name string) (*loadUser, error) {
	jar, _ := cookiejar.New(nil)
	u := &loadUser{name: name, client: &http.Client{
		Transport: transport, Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	form := url.Values{"username": {name}, "password": {lt.password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lt.base.String()+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("вход: статус %d", resp.StatusCode)
	}
	var me struct {
		ID int64 `json:"id"`
	}
	if err := lt.send(ctx, nil, u, http.MethodGet, "/api/me/", nil, &me); err != nil {
		return nil, err
	}
	type row struct {
		ID      int64  `json:"id"`
		Name    string `json:"name"`
		Version int    `json:"version"`
	}
	var seen, own struct {
		Results []row `json:"results"`
	}
	if err := lt.send(ctx, nil, u, http.MethodGet, "/api/companies/?page_size=500", nil, &seen); err != nil {
		return nil, err
	}
	if err := lt.send(ctx, nil, u, http.MethodGet, "/api/companies/?page_size=500&responsible="+strconv.FormatInt(me.ID, 10), nil, &own); err != nil {
		return nil, err
	}
	for _, c := range seen.Results {
		u.ids = append(u.ids, c.ID)
		if words := dedup.Tokens(dedup.NormalizeName(c.Name)); len(words) > 0 {
			u.words = append(u.words, words[0])
		}
	}
	if lt.usesDesk() {
		var desk struct {
			Overdue, Today, Week []struct {
				ID int64 `json:"id"`
			}
		}
		if err := lt.send(ctx, nil, u, http.MethodGet, "/api/dashboard/?limit=100", nil, &desk); err != nil {
			return nil, err
		}
		for _, group := range [][]struct {
			ID int64 `json:"id"`
		}{desk.Overdue, desk.Today, desk.Week} {
			for _, t := range group {
				u.open = append(u.open, t.ID)
			}
		}
		u.sendCookieByHand(lt.base)
		return u, nil // the desk's operations need no company
	}
	if len(u.ids) == 0 || len(u.words) == 0 {
		return nil, errSeesNothing
	}
	for _, c := range own.Results {
		u.own = append(u.own, &ownCompany{id: c.ID, version: c.Version})
	}
	u.sendCookieByHand(lt.base)
	return u, nil
}

// sendCookieByHand takes the session cookie out of u's jar: from now on
// it goes with every request as a header of its own (the jar's lookup is
// work the generator need not do; the mix's requests set no cookie).
func (u *loadUser) sendCookieByHand(base *url.URL) {
	var parts []string
	for _, c := range u.client.Jar.Cookies(base) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	client := *u.client
	client.Jar = nil
	u.client, u.cookie = &client, strings.Join(parts, "; ")
}

// usesDesk reports whether the mix has a desk operation.
func (lt *loadTest) usesDesk() bool {
	for _, op := range deskOps {
		if lt.mix[op] > 0 {
			return true
		}
	}
	return false
}

// report prints requests per second and p50/p95/p99 and errors per
// operation of the mix and in total, then the processor time per request.
func (lt *loadTest) report(stats []map[string]*opStats, elapsed time.Duration, cpuBefore, cpuAfter cpuSample) error {
	tw := tabwriter.NewWriter(lt.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Операция\tзапросов\tзапр/с\tp50\tp95\tp99\tошибок\t")
	var all []time.Duration
	errs := 0
	for _, op := range loadOps {
		if lt.mix[op] == 0 {
			continue
		}
		var lat []time.Duration
		n := 0
		for _, st := range stats {
			lat = append(lat, st[op].lat...)
			n += st[op].errors
		}
		all = append(all, lat...)
		errs += n
		lt.row(tw, loadOpNames[op], lat, n, elapsed)
	}
	lt.row(tw, "Всего", all, errs, elapsed)
	if err := tw.Flush(); err != nil {
		return err
	}
	lt.reportCPU(lt.out, cpuBefore, cpuAfter, len(all))
	for _, s := range lt.samples {
		fmt.Fprintln(lt.out, "Ошибка:", s)
	}
	if errs > 0 {
		return fmt.Errorf("%d запросов завершились ошибкой", errs)
	}
	return nil
}

func (lt *loadTest) row(w io.Writer, name string, lat []time.Duration, errs int, elapsed time.Duration) {
	if len(lat) == 0 {
		fmt.Fprintf(w, "%s\t0\t0\t-\t-\t-\t%d\t\n", name, errs)
		return
	}
	slices.Sort(lat)
	q := func(p float64) string { return ms(lat[min(len(lat)-1, int(p*float64(len(lat))))]) }
	fmt.Fprintf(w, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t\n", name, len(lat), float64(len(lat))/elapsed.Seconds(), q(0.50), q(0.95), q(0.99), errs)
}
