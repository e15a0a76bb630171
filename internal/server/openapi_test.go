package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// apiValidator is libopenapi-validator over the served document, built
// once for the whole package's tests; validation is serialised because
// the tests' exchanges come from parallel subtests.
var apiValidator = sync.OnceValues(func() (*lockedValidator, error) {
	doc, err := libopenapi.NewDocument(openAPIDoc().json)
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("validator: %v", errs)
	}
	return &lockedValidator{v: v}, nil
})

type lockedValidator struct {
	mu sync.Mutex
	v  validator.Validator
}

// checkExchange validates one exchange with the JSON API against the
// document: every answer, and the request of every answer that succeeded
// (a refused request is often refused because it breaks the document — the
// tests send those on purpose). It returns the mismatches, each naming the
// route; nothing for paths outside /api/ and for the router's own answers
// to unknown paths (308 to the slashed path, 404, 405).
func checkExchange(method, target string, header http.Header, body []byte, rec *httptest.ResponseRecorder) []string {
	if !strings.HasPrefix(target, "/api/") || rec.Code == http.StatusPermanentRedirect {
		return nil // the router's 308 to the slashed path is the same for every route
	}
	lv, err := apiValidator()
	if err != nil {
		return []string{err.Error()}
	}
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header = header.Clone()
	res := rec.Result()
	res.Request = req

	lv.mu.Lock()
	defer lv.mu.Unlock()
	var problems []*verrors.ValidationError
	if _, errs := lv.v.ValidateHttpResponse(req, res); len(errs) > 0 {
		if errs[0].IsPathMissingError() && (rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed) {
			return nil
		}
		problems = append(problems, errs...)
	}
	if rec.Code < 300 {
		req := httptest.NewRequest(method, target, bytes.NewReader(body))
		req.Header = header.Clone()
		if _, errs := lv.v.ValidateHttpRequest(req); len(errs) > 0 {
			problems = append(problems, errs...)
		}
	}
	var out []string
	for _, p := range problems {
		msg := fmt.Sprintf("%s %s → %d: %s: %s", method, target, rec.Code, p.Message, p.Reason)
		for _, se := range p.SchemaValidationErrors {
			msg += fmt.Sprintf("\n    at %s: %s", se.FieldPath, se.Reason)
		}
		out = append(out, msg)
	}
	if len(out) > 0 {
		out = append(out, fmt.Sprintf("  answer: %.600s", rec.Body.String()))
	}
	return out
}

// documentedMedia is the media type of the operation's success answer
// when the document says it is not JSON ("" otherwise).
func documentedMedia(method, path string) string {
	for _, op := range openAPIDoc().ops {
		if op.method == method && op.path == path {
			return op.outType
		}
	}
	return ""
}

// TestOpenAPIDocumentIsValid: the document builds as an OpenAPI 3.1
// model without errors and passes the validator's own document check.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := libopenapi.NewDocument(openAPIDoc().json)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("version %q", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("model: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
}

// TestOpenAPICoversTheRouteTable: every route of the router under /api is
// an operation of the document, and every operation is a route.
func TestOpenAPICoversTheRouteTable(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		var routes []string
		err := chi.Walk(e.srv.router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if strings.HasPrefix(route, "/api/") {
				routes = append(routes, method+" "+route)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var documented []string
		for _, op := range openAPIDoc().ops {
			documented = append(documented, op.method+" "+op.path)
		}
		for _, r := range routes {
			if !slices.Contains(documented, r) {
				t.Errorf("route %s is missing from the OpenAPI document (add it to apiOperations in openapi.go)", r)
			}
		}
		for _, d := range documented {
			if !slices.Contains(routes, d) {
				t.Errorf("the OpenAPI document lists %s, which the router does not serve", d)
			}
		}
		slices.Sort(documented)
		if n := len(slices.Compact(documented)); n != len(openAPIDoc().ops) {
			t.Errorf("%d operations listed twice", len(openAPIDoc().ops)-n)
		}
	})
}

// TestOpenAPIIsServed: /api/schema/ is the document in JSON and YAML,
// /api/docs/ the page with every operation, both without signing in.
func TestOpenAPIIsServed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newTestEnv(t, db)
		rec := e.do(nil, "GET", "/api/schema/", nil)
		var doc map[string]any
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &doc) != nil || doc["openapi"] != "3.1.0" {
			t.Fatalf("schema: %d %.200s", rec.Code, rec.Body.String())
		}
		rec = e.do(nil, "GET", "/api/schema/?format=yaml", nil)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "openapi: \"3.1.0\"\n") ||
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") {
			t.Fatalf("yaml: %d %q %.200s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
		yamlDoc, err := libopenapi.NewDocument(rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := yamlDoc.BuildV3Model(); err != nil {
			t.Fatalf("yaml model: %v", err)
		}
		if rec := e.do(nil, "GET", "/api/schema/?format=xml", nil); rec.Code != http.StatusBadRequest {
			t.Fatalf("format=xml: %d", rec.Code)
		}
		rec = e.do(nil, "GET", "/api/docs/", nil)
		page := rec.Body.String()
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("docs: %d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		if n := strings.Count(page, `data-testid="api-operation"`); n != len(openAPIDoc().ops) {
			t.Fatalf("the page shows %d operations of %d", n, len(openAPIDoc().ops))
		}
		for _, want := range []string{"/api/companies/{id}/merge/", "Схемы", `id="schema-Company"`, "Bearer"} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
	})
}

// TestOpenAPIMatchesTheServer sends every operation of the document to
// the real server, as an admin and as a manager, with what it expects
// and with malformed input: do (helpers_test.go) validates each request
// and answer against the document and names the route and the mismatch.
// The rest of the package's tests are checked the same way.
func TestOpenAPIMatchesTheServer(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		comp := e.seedCompany("ООО «Схема»", c.BranchA, c.Alisa.ID)
		ct := e.seedContact(c.Alisa, comp, "Иванов")
		n := e.seedNote(c.Alisa, comp, "Позвонить в среду")
		tk := e.seedTask(c.Alisa, "Отправить КП", "2026-12-01T10:00:00+03:00", c.Alisa.ID, comp, "FREQ=WEEKLY")
		ids := map[string]int64{"companies": comp, "contacts": ct.ID, "company-notes": n.ID, "tasks": tk.ID,
			"users": c.Alisa.ID, "branches": c.BranchA}
		// What each write expects, where an empty object is not enough.
		valid := map[string]any{
			"POST /api/token/":                  map[string]any{"username": "alisa", "password": dbtest.CastPassword},
			"POST /api/companies/":              map[string]any{"name": "ООО «Новая»", "inn": "7707083893", "phones": []any{"+7 495 123-45-67"}},
			"PATCH /api/companies/{id}/":        map[string]any{"address": "Москва"},
			"POST /api/contacts/":               map[string]any{"company": comp, "last_name": "Петров", "emails": []any{"p@example.ru"}},
			"PATCH /api/contacts/{id}/":         map[string]any{"position": "Директор"},
			"POST /api/company-notes/":          map[string]any{"company": comp, "text": "Обсудили цену", "note_type": "call_out"},
			"PATCH /api/company-notes/{id}/":    map[string]any{"text": "Обсудили цену и сроки"},
			"POST /api/tasks/":                  map[string]any{"title": "Перезвонить", "due_at": "2026-12-02T11:00:00+03:00", "company": comp},
			"PATCH /api/tasks/{id}/":            map[string]any{"is_urgent": true},
			"POST /api/tasks/{id}/comments/":    map[string]any{"text": "Ждём ответа"},
			"POST /api/tasks/bulk/":             map[string]any{"ids": []int64{tk.ID}, "action": "reschedule", "due_at": "2026-12-03"},
			"PATCH /api/me/":                    map[string]any{"first_name": "Алиса"},
			"POST /api/branches/":               map[string]any{"name": "Казань", "code": "KZN"},
			"POST /api/spheres/":                map[string]any{"name": "Строительство"},
			"POST /api/company-statuses/":       map[string]any{"name": "Тендер"},
			"POST /api/task-types/":             map[string]any{"name": "Встреча"},
			"POST /api/users/":                  map[string]any{"username": "new", "password": "Очень-Длинный-Пароль-1", "role": "manager"},
			"PATCH /api/users/{id}/":            map[string]any{"last_name": "Аксёнова"},
			"POST /api/tasks/{id}/complete/":    map[string]any{"result": "Сделано"},
			"POST /api/companies/{id}/unmerge/": map[string]any{"duplicate": comp},
		}
		for _, op := range openAPIDoc().ops {
			if op.path == "/api/events/" || op.method == "DELETE" || op.upload != nil {
				continue // the stream has its own tests; deletions come last; uploads: imports_test.go
			}
			path := op.path
			if strings.Contains(path, "{id}") {
				seg := strings.Split(strings.TrimPrefix(path, "/api/"), "/")[0]
				id, ok := ids[seg]
				if !ok {
					id = 1
				}
				path = strings.ReplaceAll(path, "{id}", fmt.Sprint(id))
			}
			for _, m := range []dbtest.Member{c.Admin, c.Alisa} {
				key := op.method + " " + op.path
				switch {
				case op.method == "GET":
					e.do(&m, op.method, path, nil)
					e.do(&m, op.method, path+"?page=0&page_size=x&limit=x&with=x&format=x", nil)
				case valid[key] != nil:
					e.do(&m, op.method, path, valid[key])
					e.do(&m, op.method, path, map[string]any{"version": "x", "name": 5, "text": []int{1}})
				default:
					e.do(&m, op.method, path, map[string]any{})
					e.do(&m, op.method, path, []int{1, 2})
				}
			}
		}
		for _, op := range openAPIDoc().ops {
			if op.method == "DELETE" {
				path := strings.ReplaceAll(op.path, "{id}", "999999")
				e.do(&c.Alisa, op.method, path, nil)
			}
		}
		for _, path := range []string{fmt.Sprintf("/api/company-notes/%d/", n.ID), fmt.Sprintf("/api/tasks/%d/", tk.ID),
			fmt.Sprintf("/api/contacts/%d/", ct.ID), fmt.Sprintf("/api/companies/%d/", comp), "/api/me/calendar-feed/"} {
			e.do(&c.Alisa, "DELETE", path, nil)
			e.do(&c.Admin, "DELETE", path, nil)
		}
		e.do(nil, "GET", "/api/companies/", nil)
		e.do(nil, "POST", "/api/token/", map[string]any{"username": "alisa", "password": "неверный"})
	})
}

// TestOpenAPICheckCatchesADrift: the check is not vacuous — an answer
// that breaks the document, and a request to a route it lacks, are named.
func TestOpenAPICheckCatchesADrift(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json; charset=utf-8")
	rec.WriteHeader(http.StatusOK)
	_, _ = rec.WriteString(`{"id": "seven", "username": "alisa"}`)
	problems := checkExchange("GET", "/api/me/", http.Header{}, nil, rec)
	if len(problems) == 0 || !strings.Contains(problems[0], "GET /api/me/ → 200") {
		t.Fatalf("a wrong answer passed: %v", problems)
	}
	rec = httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json; charset=utf-8")
	rec.WriteHeader(http.StatusOK)
	_, _ = rec.WriteString(`{}`)
	if problems := checkExchange("GET", "/api/undocumented/", http.Header{}, nil, rec); len(problems) == 0 {
		t.Fatal("an undocumented route passed")
	}
}

// BenchmarkOpenAPIBuild is the cost of building the document (once per
// process) and of its YAML form (per ?format=yaml request).
func BenchmarkOpenAPIBuild(b *testing.B) {
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			_ = buildOpenAPI()
		}
	})
	doc := openAPIDoc()
	b.Run("yaml", func(b *testing.B) {
		for b.Loop() {
			_ = doc.yaml()
		}
	})
	b.ReportMetric(float64(len(doc.json)), "json-bytes")
}

// BenchmarkOpenAPICheck is what checking one exchange adds to a test: a
// company list answer validated against the document.
func BenchmarkOpenAPICheck(b *testing.B) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json; charset=utf-8")
	rec.WriteHeader(http.StatusOK)
	_, _ = rec.WriteString(`{"count": 0, "next": null, "previous": null, "results": []}`)
	for b.Loop() {
		if p := checkExchange("GET", "/api/companies/?page=1", http.Header{"Cookie": {sessionCookie + "=x"}}, nil, rec); len(p) > 0 {
			b.Fatal(p)
		}
	}
}

// TestImportsWithoutAJobQueueAreNoServerError: the document lists no 500,
// so a server without a job queue (a test, a short-lived command) must
// answer the import routes as the caller deserves: a bad upload or a
// missing import as ever (400, 404), a good one with 503 and a Russian
// message, and nothing written.
func TestImportsWithoutAJobQueueAreNoServerError(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		admin := e.cast.Admin
		if code := e.api(&admin, http.MethodPost, "/api/imports/", nil, nil); code != http.StatusBadRequest {
			t.Errorf("an empty upload: %d, want 400", code)
		}
		if code := e.api(&admin, http.MethodPost, "/api/imports/999999/run/", nil, nil); code != http.StatusNotFound {
			t.Errorf("running a missing import: %d, want 404", code)
		}
		unavailable := func(what string, rec *httptest.ResponseRecorder) {
			t.Helper()
			var body detail
			if rec.Code != http.StatusServiceUnavailable || json.Unmarshal(rec.Body.Bytes(), &body) != nil ||
				!strings.Contains(body.Detail, "Фоновые задачи") {
				t.Errorf("%s: %d %s, want 503 with a Russian message", what, rec.Code, rec.Body)
			}
			for _, p := range checkExchange(http.MethodPost, "/api/imports/", http.Header{}, nil, rec) {
				t.Errorf("OpenAPI: %s", p)
			}
		}
		data := fixture(t, "amo_small.csv")
		unavailable("a good upload", e.upload(&admin, "/api/imports/", "amo.csv", data, map[string]string{"dry_run": "true"}, true))
		var n int
		if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM imports`).Scan(&n); err != nil || n != 0 {
			t.Errorf("the refused upload left %d imports (%v)", n, err)
		}
		// A dry run that finished while a queue ran: its real import
		// needs the queue too.
		q := &recordingJobs{}
		e.srv.jobs = q
		if rec := e.upload(&admin, "/api/imports/", "amo.csv", data, map[string]string{"dry_run": "true"}, true); rec.Code != http.StatusAccepted {
			t.Fatalf("dry run: %d %s", rec.Code, rec.Body)
		}
		id := q.imports[0]
		e.work(q)
		e.srv.jobs = nil
		rec := e.do(&admin, http.MethodPost, fmt.Sprintf("/api/imports/%d/run/", id), nil)
		unavailable("running a checked import", rec)
		if rec := e.do(&admin, http.MethodPost, fmt.Sprintf("/admin/imports/%d/run", id), ""); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("the page's button: %d, want 503", rec.Code)
		}
	})
}

// TestOpenAPIListsTheQueue503: every operation the request queue covers
// (admission.go) documents its 503 with code overloaded and Retry-After;
// the ones served outside the queue (the events stream, the phone's long
// poll, uploads) do not, unless they have a 503 of their own.
func TestOpenAPIListsTheQueue503(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc().json, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Schemas["Overloaded"].Properties["code"].Enum; !slices.Equal(got, []string{"overloaded"}) {
		t.Fatalf("schema Overloaded: code %q", got)
	}
	exempt := map[string]bool{"GET /api/events/": true, "GET /api/phone/v1/commands": true, "POST /api/imports/": true}
	queued := 0
	for _, op := range openAPIDoc().ops {
		key := op.method + " " + op.path
		answer, _ := doc.Paths[op.path][strings.ToLower(op.method)]["responses"].(map[string]any)["503"].(map[string]any)
		raw, _ := json.Marshal(answer)
		overloaded := strings.Contains(string(raw), `"#/components/schemas/Overloaded"`) && strings.Contains(string(raw), `"Retry-After"`)
		switch {
		case exempt[key] && overloaded:
			t.Errorf("%s is served outside the queue, but the document says it may be refused with code overloaded: %s", key, raw)
		case !exempt[key] && !overloaded:
			t.Errorf("%s waits in the request queue, but its 503 with code overloaded and Retry-After is not documented: %s", key, raw)
		case !exempt[key]:
			queued++
		}
	}
	if queued < 100 {
		t.Errorf("only %d operations list the queue's 503", queued)
	}
}
