package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/internal/database/dbtest"
)

// The malformed-input suite: every route of the real router, with every
// method it answers, gets random and malformed bodies, query strings,
// headers, uploads and path parameters, as an admin, a manager and
// anonymous. None may answer 500, hang past the request's deadline, or
// show a stack trace or a Go error's text. The routes come from chi.Walk,
// so a new route is covered without anyone adding it here.

// requestDeadline bounds each request; a handler still running
// hangDeadline after it was cancelled has hung.
const (
	requestDeadline = 5 * time.Second
	hangDeadline    = 10 * time.Second
	streamDeadline  = 200 * time.Millisecond // the live events stream ends only when cancelled
)

// leaks are texts that only an internal error, a stack trace or a Go
// library's message would put in an answer.
// «pgx» stands alone as a word: a random secret in an answer (a pairing's
// QR link) may hold those three letters.
var leaks = regexp.MustCompile(`goroutine \d|panic\(|runtime error|\.go:\d|invalid character|unexpected EOF|cannot unmarshal|json: |strconv\.|sql: |SQLSTATE|sqlite3?: |SQLITE_|pq: |\bpgx\b|pgconn|multipart: |mime: |http: |no such table|syntax error`)

// isText reports whether an answer of contentType is text a person or a
// script reads (HTML, JSON, CSV, plain), where internals must not show.
func isText(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "" || strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json")
}

// kitchenSink are field names the resources read, for bodies that give
// each of them the wrong kind of value.
var kitchenSink = []string{
	"name", "legal_name", "inn", "kpp", "ogrn", "address", "website", "status", "spheres", "phones", "emails",
	"branch", "responsible", "company", "contact", "first_name", "last_name", "middle_name", "position", "note",
	"text", "note_type", "is_pinned", "title", "description", "type", "due_at", "all_day", "is_urgent",
	"assigned_to", "recurrence_rrule", "result", "version", "username", "password", "email", "role",
	"data_scope", "is_active", "time_zone", "code", "refresh", "duplicate", "fields", "ids", "action", "until",
	"due", "dry_run", "must_change_password", "next", "comment", "tasks", "shift", "date", "undo", "pairs",
}

// jsonBodies are malformed or wrongly typed JSON bodies.
func jsonBodies() map[string]string {
	obj := func(v string) string {
		parts := make([]string, len(kitchenSink))
		for i, k := range kitchenSink {
			parts[i] = fmt.Sprintf("%q: %s", k, v)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return map[string]string{
		"empty":             "",
		"truncated":         `{"name": "ООО`,
		"invalid UTF-8":     "{\"name\": \"\xff\xfe\xfd\", \"text\": \"\xc3\x28\"}",
		"deep nesting":      strings.Repeat(`{"a":[`, 20000) + strings.Repeat(`]}`, 20000),
		"huge numbers":      obj("1e999999"),
		"long integers":     obj("123456789012345678901234567890"),
		"negative numbers":  obj("-9223372036854775808"),
		"fractions":         obj("0.5"),
		"nulls":             obj("null"),
		"booleans":          obj("true"),
		"arrays":            obj(`[1, "a", null, {}]`),
		"objects":           obj(`{"value": {"kind": []}}`),
		"empty strings":     obj(`""`),
		"odd strings":       obj(`"\u0000 ' -- ; DROP TABLE users; <script>x</script> %zz 9999-99-99T99:99"`),
		"long strings":      obj(`"` + strings.Repeat("я", 5000) + `"`),
		"array for object":  `[{"name": "x"}, 1, 2]`,
		"a bare string":     `"just a string"`,
		"a bare null":       `null`,
		"a bare number":     `42`,
		"duplicate keys":    `{"name": "A", "name": 1, "version": 1, "version": "x", "phones": [], "phones": {}}`,
		"trailing garbage":  `{"name": "x"} {"name": "y"} ]]]`,
		"unicode escapes":   `{"name": "\ud800\udfff\uffff", "text": "\u0000"}`,
		"phones odd shapes": `{"name": "Ромашка", "phones": [1, null, {"value": 7}, {"value": "+7", "kind": "nope"}], "emails": [[], {"value": null}]}`,
	}
}

// formBodies are malformed form bodies.
var formBodies = map[string]string{
	"bad percent-encoding": "name=%zz&text=%&version=%E0%A4%A&=&&&",
	"wrong types":          "version=abc&due_at=tomorrow&company=-1&responsible=1e99&status=%00&all_day=maybe&spheres=x&spheres=-5&is_active=2",
	"repeated fields":      "name=a&name=b&name=&version=1&version=2&id=1&id=2&next=//evil.example&next=/\\evil",
	"huge numbers":         "company=99999999999999999999999&contact=-99999999999999999999&page=1e400&version=18446744073709551616",
	"invalid UTF-8":        "name=%FF%FE&text=%C3%28&first_name=%ED%A0%80",
}

// queries are malformed query strings, sent on every GET.
var queries = []string{
	"page=99999999999999999999&page_size=-5&page=abc&page_size=100000",
	"page=-1&page_size=0&ordering=;DROP&ordering=-&ordering=--name&ordering=nonexistent",
	"search=%zz&search=%&q=%E0%A4%A&name=%00",
	"company=-1&status=abc&responsible=1e9&branch=0&sphere=x&state=nope&type=-1&assigned_to=%20&contact=-5&inn=abc",
	"date=2026-13-45&from=not-a-date&to=0000-00-00&due_before=x&due_after=9999-12-31T99:99&since=-1&until=x&month=13&week=0&year=-1",
	"dtstart=x&rrule=FREQ%3DSECONDLY%3BINTERVAL%3D0&recurrence_rrule=FREQ%3DDAILY%3BCOUNT%3D-1&tz=Mars/Base&time_zone=../../etc",
	"action=%27&actor=-1&outcome=x&object=%00&object_type=x&object_id=-1&kind=zzz&view=x&next=//evil&last_event_id=abc",
	"exclude=-1&exclude=x&phone=%2B&email=@@&kpp=x&address=" + strings.Repeat("я", 2000),
	// Queries 1 and 2 again with every pair readable: a pair that does
	// not read is refused before the rest is looked at (queryValues).
	"page=-1&page_size=0&ordering=%3BDROP&ordering=-&ordering=--name&ordering=nonexistent",
	"search=%25zz&search=%25&q=%E0%A4&name=%00",
}

// headerVariants are requests with odd headers (the body, if any, is JSON).
var headerVariants = map[string]http.Header{
	"bad Content-Type":       {"Content-Type": {"application/json; charset=koi8-r; boundary"}},
	"unknown Content-Type":   {"Content-Type": {"application/xml"}},
	"garbage Content-Type":   {"Content-Type": {";;;=="}},
	"multipart, no boundary": {"Content-Type": {"multipart/form-data"}},
	"bad Bearer":             {"Authorization": {"Bearer not.a.token"}},
	"Basic auth":             {"Authorization": {"Basic YWRtaW46YWRtaW4="}},
	"empty Bearer":           {"Authorization": {"Bearer "}},
	"absurd Accept":          {"Accept": {"application/json;q=abc, */*;q=-1, text/html;level=999"}},
	"Accept only images":     {"Accept": {"image/png"}},
	"bad Last-Event-ID":      {"Last-Event-ID": {"\x00-1:x"}, "Accept-Encoding": {"gzip;q=x, br, *"}},
	"bad cookie":             {"Cookie": {"crm_session=%zz; crm_flash=%%%; crm_session="}},
}

// pathValues replace a route's parameters: ids that exist, do not, or are
// no ids at all.
var pathValues = []string{"1", "0", "-1", "abc", "99999999999999999999", "1.5", "%20", "x.ics"}

// multipartBodies are uploads with broken boundaries or parts.
func multipartBodies() map[string]struct{ ct, body string } {
	return map[string]struct{ ct, body string }{
		"wrong boundary": {"multipart/form-data; boundary=XYZ", "--ABC\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nID;Тип\r\n--ABC--\r\n"},
		"no closing":     {"multipart/form-data; boundary=XYZ", "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nID;Тип;Наименование\r\n1;компания;x"},
		"bad headers":    {"multipart/form-data; boundary=XYZ", "--XYZ\r\nContent-Disposition: form-data; name=\r\nContent-Type: ;;\r\n\r\nx\r\n--XYZ--\r\n"},
		"empty parts":    {"multipart/form-data; boundary=XYZ", "--XYZ\r\n\r\n\r\n--XYZ\r\n\r\n--XYZ--\r\n"},
		"long boundary":  {"multipart/form-data; boundary=" + strings.Repeat("b", 100), "--" + strings.Repeat("b", 100) + "--\r\n"},
	}
}

// malformedCore are the probes every route gets from every caller, on
// every run: the kinds that have broken a route before (invalid UTF-8
// and NUL reaching PostgreSQL, ids and numbers past int64, bodies cut
// short or missing, dates out of range, a charset the decoder refuses).
// The rest of the cross product is sampled (malformedSample).
var malformedCore = map[string]bool{
	"path value abc":                  true,
	"path value 99999999999999999999": true,
	"query 0":                         true,
	"query 4":                         true,
	"header: bad Content-Type":        true,
	"header: bad Bearer":              true,
	"JSON: empty":                     true,
	"JSON: truncated":                 true,
	"JSON: invalid UTF-8":             true,
	"JSON: unicode escapes":           true,
	"JSON: long integers":             true,
	"JSON: odd strings":               true,
	"form: invalid UTF-8":             true,
	"form: wrong types":               true,
	"multipart: no closing":           true,
}

// malformedShare is the share of the probes outside the core that one
// run sends: a different share of the cross product on every run (the
// seed changes), the whole of it over a few dozen runs.
const malformedShare = 0.10

// malformedSample decides which probes a run sends: the core always;
// of the rest, a deterministic function of the seed and the probe's
// route, caller and kind, so that a seed names one set of requests
// whatever routes are added meanwhile. CRM_MALFORMED_SEED=N repeats the
// run of seed N; CRM_MALFORMED_FULL=1 sends the whole cross product.
type malformedSample struct {
	seed uint64
	full bool
}

// newMalformedSample reads the environment; without a seed it takes one
// from the clock.
func newMalformedSample(t *testing.T) malformedSample {
	t.Helper()
	s := malformedSample{full: os.Getenv("CRM_MALFORMED_FULL") == "1"}
	if v := os.Getenv("CRM_MALFORMED_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CRM_MALFORMED_SEED=%q is not a number", v)
		}
		s.seed = seed
	} else {
		s.seed = uint64(time.Now().UnixNano()) //nolint:gosec // a clock reading, never negative
	}
	return s
}

func (s malformedSample) String() string {
	if s.full {
		return "the whole cross product (CRM_MALFORMED_FULL=1)"
	}
	return fmt.Sprintf("the core and %.0f%% of the rest, seed %d (rerun this set with CRM_MALFORMED_SEED=%d, all of it with CRM_MALFORMED_FULL=1)",
		malformedShare*100, s.seed, s.seed)
}

// takes reports whether the run sends probe p to rt as caller.
func (s malformedSample) takes(rt route, caller string, p probe) bool {
	if s.full || malformedCore[p.what] {
		return true
	}
	h := fnv.New64a()
	_ = binary.Write(h, binary.LittleEndian, s.seed)
	for _, part := range []string{rt.method, rt.pattern, caller, p.what} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	// splitmix64's finaliser spreads FNV's low bits over the whole word.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53) < malformedShare
}

// route is one method and pattern of the router.
type route struct{ method, pattern string }

// routeTable walks the real router.
func routeTable(t *testing.T, s *Server) []route {
	t.Helper()
	var out []route
	err := chi.Walk(s.router(), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, route{method, pattern})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pattern+out[i].method < out[j].pattern+out[j].method })
	return out
}

var routeParam = regexp.MustCompile(`\{[^}]+\}|\*$`)

// fill puts v in place of every parameter of pattern.
func fill(pattern, v string) string {
	return routeParam.ReplaceAllString(pattern, v)
}

// errorLog keeps the messages of the error records a server logs: an
// unexpected error is logged once by fail, a panic by logRequests.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "stack" {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs
	l.msgs = nil
	return m
}

// probe is one malformed request.
type probe struct {
	what   string
	method string
	path   string // with the query
	header http.Header
	body   string
}

// probesFor builds the malformed requests for one route.
func probesFor(rt route) []probe {
	var out []probe
	hasBody := rt.method != http.MethodGet && rt.method != http.MethodHead
	plain := ""
	if hasBody {
		plain = "{}"
	}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	for _, v := range pathValues {
		out = append(out, probe{"path value " + v, rt.method, fill(rt.pattern, v), jsonCT, plain})
	}
	one := fill(rt.pattern, "1")
	for i, q := range queries {
		out = append(out, probe{fmt.Sprintf("query %d", i), rt.method, one + "?" + q, jsonCT, plain})
	}
	for name, h := range headerVariants {
		out = append(out, probe{"header: " + name, rt.method, one, h, plain})
	}
	if !hasBody {
		return out
	}
	for name, b := range jsonBodies() {
		out = append(out, probe{"JSON: " + name, rt.method, one, jsonCT, b})
	}
	formCT := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for name, b := range formBodies {
		out = append(out, probe{"form: " + name, rt.method, one, formCT, b})
	}
	for name, m := range multipartBodies() {
		out = append(out, probe{"multipart: " + name, rt.method, one, http.Header{"Content-Type": {m.ct}}, m.body})
	}
	return out
}

// send serves one probe with the session (empty: anonymous) within the deadline and
// reports what went wrong with it, if anything.
func (e *testEnv) send(t *testing.T, session string, p probe, log *errorLog, statuses map[int]int) string {
	t.Helper()
	deadline := requestDeadline
	if strings.Contains(p.path, "/events/") {
		deadline = streamDeadline
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, p.method, "/", strings.NewReader(p.body))
	u, err := url.Parse("http://example.com" + p.path)
	if err != nil { // a path value that is no URL: send it raw
		u = &url.URL{Scheme: "http", Host: "example.com", Path: p.path}
	}
	req.URL, req.RequestURI, req.Host = u, u.RequestURI(), "example.com"
	if p.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range p.header {
		req.Header[k] = v
	}
	if session != "" && req.Header.Get("Cookie") == "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
	case <-time.After(deadline + hangDeadline):
		return "hangs past its deadline"
	}
	statuses[rec.Code]++
	if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusSeeOther && strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		statuses[-1]++ // refused as anonymous: counted apart, see refusedAnonymous
	}
	var problems []string
	if rec.Code >= 500 {
		problems = append(problems, fmt.Sprintf("status %d", rec.Code))
	}
	// Text only: a PNG's or an XLSX's bytes can spell anything.
	if body := rec.Body.Bytes(); isText(rec.Header().Get("Content-Type")) && leaks.Match(body) {
		problems = append(problems, fmt.Sprintf("the answer shows internals: %q", leaks.Find(body)))
	}
	for _, msg := range log.take() {
		problems = append(problems, "logged: "+msg)
	}
	if len(problems) == 0 {
		return ""
	}
	snippet := rec.Body.String()
	if len(snippet) > 200 {
		snippet = snippet[:200]
	}
	return strings.Join(problems, "; ") + " — " + snippet
}

func TestMalformedInputNeverBreaksAnyRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("the malformed-input suite sends tens of thousands of requests")
	}
	sample := newMalformedSample(t)
	t.Logf("malformed probes: %s", sample)
	eachEnv(t, func(t *testing.T, e *testEnv) {
		log := &errorLog{}
		e.srv.log = slog.New(log)
		e.srv.jobs = &recordingJobs{}
		admin, manager := e.cast.Admin, e.cast.Alisa
		// Something to find behind id 1 of each resource.
		var company struct{ ID int64 }
		if code := e.api(&admin, "POST", "/api/companies/", map[string]any{"name": "ООО Ромашка", "responsible": manager.ID}, &company); code != http.StatusCreated {
			t.Fatalf("fixture company: %d", code)
		}
		e.api(&admin, "POST", "/api/contacts/", map[string]any{"company": company.ID, "first_name": "Иван"}, nil)
		e.api(&admin, "POST", "/api/company-notes/", map[string]any{"company": company.ID, "text": "заметка"}, nil)
		e.api(&admin, "POST", "/api/tasks/", map[string]any{"title": "Позвонить", "company": company.ID, "assigned_to": manager.ID,
			"due_at": "2026-12-01T10:00:00+03:00"}, nil)

		routes := routeTable(t, e.srv)
		if len(routes) < 100 {
			t.Fatalf("only %d routes walked", len(routes))
		}
		callers := []struct {
			name string
			m    *dbtest.Member
		}{{"admin", &admin}, {"manager", &manager}, {"anonymous", nil}}
		var failures []string
		sent, statuses := 0, map[int]int{}
		for _, rt := range routes {
			for _, c := range callers {
				// One session per route and caller: a probe that ends it
				// (signing out, a password reset) leaves the rest of the
				// route's probes anonymous, which they must survive too.
				session := ""
				if c.m != nil {
					session = e.session(*c.m)
				}
				probes := probesFor(rt)
				refused := c.m == nil && e.refusesAnonymous(t, probes[0])
				probes = slices.DeleteFunc(probes, func(p probe) bool { return !sample.takes(rt, c.name, p) })
				if refused {
					// A route that refuses the anonymous before reading
					// anything needs only the probes that reach that
					// refusal differently: odd headers and paths.
					probes = slices.DeleteFunc(probes, func(p probe) bool {
						return !strings.HasPrefix(p.what, "header:") && !strings.HasPrefix(p.what, "path value")
					})
				}
				for _, p := range probes {
					sent++
					if problem := e.send(t, session, p, log, statuses); problem != "" {
						failures = append(failures, fmt.Sprintf("%s %s (%s, %s as %s): %s", rt.method, rt.pattern, p.path, p.what, c.name, problem))
					}
				}
				// Whatever the probes did to the cast (a role changed, a
				// user deactivated, a password reset), the next route starts
				// from the same cast.
				e.restoreCast(t)
			}
		}
		t.Logf("%d routes, %d requests, answers by status: %v", len(routes), sent, statuses)
		if len(failures) > 0 {
			if len(failures) > 60 {
				failures = append(failures[:60], fmt.Sprintf("… and %d more", len(failures)-60))
			}
			t.Fatalf("%d malformed requests broke a route (probes: %s):\n%s", len(failures), sample, strings.Join(failures, "\n"))
		}
	})
}

// refusesAnonymous reports whether the route refuses an anonymous caller
// before reading the request (401, or a redirect to the sign-in page).
func (e *testEnv) refusesAnonymous(t *testing.T, p probe) bool {
	t.Helper()
	log, statuses := &errorLog{}, map[int]int{}
	if problem := e.send(t, "", p, log, statuses); problem != "" {
		return false // the full set will report it
	}
	return statuses[-1] == 1
}

// restoreCast puts the cast's users back as dbtest.NewCast made them:
// one read, and a write only for a member the probes changed (most
// routes change none).
func (e *testEnv) restoreCast(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	type state struct {
		role, data string
		active     bool
	}
	now := map[int64]state{}
	rows, err := e.db.QueryContext(ctx, `SELECT id, role, data_scope, is_active FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id int64
		var st state
		if err := rows.Scan(&id, &st.role, &st.data, &st.active); err != nil {
			t.Fatal(err)
		}
		now[id] = st
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range e.cast.All() {
		if now[m.ID] == (state{string(m.Scope.Role), string(m.Scope.Data), true}) {
			continue
		}
		_, err := e.db.ExecContext(ctx, `UPDATE users SET role = $1, data_scope = $2, is_active = TRUE WHERE id = $3`,
			string(m.Scope.Role), string(m.Scope.Data), m.ID)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestMalformedCoreNamesProbes: every probe of the core is one the suite
// builds (a renamed probe would silently leave the core), and a sample
// sends the core, some of the rest, and the same set for the same seed.
func TestMalformedCoreNamesProbes(t *testing.T) {
	rt := route{http.MethodPost, "/api/companies/{id}/"}
	probes := probesFor(rt)
	names := map[string]bool{}
	for _, p := range probes {
		names[p.what] = true
	}
	for what := range malformedCore {
		if !names[what] {
			t.Errorf("the core names %q, which probesFor does not build", what)
		}
	}
	a, b := malformedSample{seed: 1}, malformedSample{seed: 2}
	var inA, same int
	for _, p := range probes {
		if malformedCore[p.what] && !a.takes(rt, "admin", p) {
			t.Errorf("the sample leaves out the core probe %q", p.what)
		}
		if a.takes(rt, "admin", p) != (malformedSample{seed: 1}).takes(rt, "admin", p) {
			t.Errorf("seed 1 takes %q on one call and not on another", p.what)
		}
		if a.takes(rt, "admin", p) {
			inA++
		}
		if a.takes(rt, "admin", p) == b.takes(rt, "admin", p) {
			same++
		}
	}
	if inA <= len(malformedCore) || inA == len(probes) {
		t.Errorf("seed 1 takes %d of %d probes (core %d)", inA, len(probes), len(malformedCore))
	}
	if same == len(probes) {
		t.Error("seeds 1 and 2 take the same probes")
	}
	if full := (malformedSample{full: true}); !full.takes(rt, "admin", probes[len(probes)-1]) {
		t.Error("CRM_MALFORMED_FULL leaves a probe out")
	}
}
