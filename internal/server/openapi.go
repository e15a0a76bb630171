package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/note"
	"github.com/crmprofi/crm/internal/notify"
	"github.com/crmprofi/crm/internal/task"
	"github.com/crmprofi/crm/web/view"
)

// The API's OpenAPI 3.1 document is built here, in Go: the answers'
// schemas by reflection from the very structs the handlers encode (see
// openapi_schema.go), the operations, parameters, request bodies and
// Russian descriptions by hand in apiOperations. Two tests keep it honest:
// TestOpenAPICoversTheRouteTable (every /api route of the router is in the
// document and nothing else is) and TestOpenAPIMatchesTheServer (real
// requests and answers validated against it by libopenapi-validator).

// apiOp is one operation of the document.
type apiOp struct {
	method, path string
	tag          string
	summary      string
	desc         string
	query        []apiParam
	body         *Schema         // a JSON request body
	upload       *Schema         // a multipart/form-data request body
	ok           int             // the success status
	out          *Schema         // the success body; nil: none (204) or not JSON
	outType      string          // the success media type when not JSON
	errors       []int           // error statuses beyond the ones every operation has
	public       bool            // no authentication (the token endpoints)
	alsoTypes    []string        // other media types of the success answer (YAML, CSV)
	device       bool            // the phone's endpoint: the Device credential, DeviceError refusals
	bodyOptional bool            // the body may be left out
	more         map[int]*Schema // other success answers with a JSON body (a large export's 202: its job)
}

// apiParam is a query parameter.
type apiParam struct {
	name   string
	desc   string
	schema *Schema
}

func q(name, desc string) apiParam { return apiParam{name, desc, str("")} }
func qs(name, desc string, s *Schema) apiParam {
	return apiParam{name, desc, s}
}

// pageParams are the parameters of every paginated list.
var listParams = []apiParam{
	qs("page", "Номер страницы, с 1.", &Schema{Type: "integer", Minimum: ptr(1.0)}),
	qs("page_size", "Размер страницы: по умолчанию 50, не больше 500 (больше — урезается до 500).", &Schema{Type: "integer", Minimum: ptr(1.0)}),
}

func ptr[T any](v T) *T { return &v }

func withList(ps ...apiParam) []apiParam { return append(slices.Clone(listParams), ps...) }

// apiTags are the document's sections, in the order the page shows them.
var apiTags = []struct{ name, desc string }{
	{"Авторизация", "JWT: пара токенов по логину и паролю, обновление и отзыв. Дальше каждый запрос несёт заголовок `Authorization: Bearer <access>`."},
	{"Пользователи", "Справочник пользователей (читают все, меняет администратор) и свой профиль."},
	{"Справочники", "Филиалы, статусы компаний, сферы деятельности, типы задач. Читают все, меняет администратор."},
	{"Компании", "Компании, их поиск, проверка дублей, объединение и его отмена."},
	{"Контакты", "Контактные лица компаний."},
	{"Заметки", "Лента заметок компании. Менять и удалять заметку может только её автор."},
	{"Задачи", "Задачи, повторы, комментарии, история, массовые действия и рабочий стол."},
	{"Уведомления", "Уведомления текущего пользователя, поток событий и календарь на телефоне."},
	{"Телефон", "«Позвонить с телефона»: привязка телефона, телефоны пользователя, запросы на звонок."},
	{"Приложение телефона", "Маршруты самого приложения-компаньона: `Authorization: Device <device_id>.<device_token>` (кроме pair). Пути без завершающей косой черты."},
	{"Импорт", "Импорт выгрузки amoCRM. Только администраторы."},
	{"Экспорт", "Выгрузка базы. Только администраторы; каждая попытка — в журнале аудита."},
	{"Аудит", "Журнал аудита. Только администраторы."},
	{"Поиск", "Подсказки палитры команд."},
	{"Документация", "Этот документ."},
}

// openAPIDoc is the document, built once: it depends only on the code.
var openAPIDoc = sync.OnceValue(buildOpenAPI)

// openAPIDocument is the document and its JSON encoding.
type openAPIDocument struct {
	ops     []apiOp
	schemas *schemas
	json    []byte
}

func buildOpenAPI() *openAPIDocument {
	sc := newSchemas()
	ops := apiOperations(sc)
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "CRM ПРОФИ — JSON API",
			"version":     "1",
			"description": apiIntro,
		},
		"servers":  []any{map[string]any{"url": "/", "description": "Этот сервер"}},
		"security": []any{map[string]any{"bearerAuth": []string{}}, map[string]any{"sessionCookie": []string{}}},
		"tags": func() []any {
			var out []any
			for _, t := range apiTags {
				out = append(out, map[string]any{"name": t.name, "description": t.desc})
			}
			return out
		}(),
		"paths": pathsOf(ops),
		"components": map[string]any{
			"schemas": sc.components,
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "Токен доступа из `POST /api/token/`: `Authorization: Bearer <access>`."},
				"sessionCookie": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie,
					"description": "Сеанс браузера после входа на сайт. Для вызовов из самого интерфейса; действует защита от межсайтовых запросов."},
				"deviceAuth": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization",
					"description": "Телефон-компаньон: `Authorization: Device <device_id>.<device_token>` (маршруты /api/phone/v1/, появятся вместе с приложением)."},
			},
		},
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("openapi: " + err.Error()) // the document is built from constants and types
	}
	return &openAPIDocument{ops: ops, schemas: sc, json: raw}
}

const apiIntro = "API системы CRM ПРОФИ. Все пути начинаются с `/api/` и заканчиваются косой чертой " +
	"(без неё — редирект 308). JSON в обе стороны, UTF-8, имена в snake_case, время — RFC 3339 со смещением, даты — ГГГГ-ММ-ДД.\n\n" +
	"Списки постраничные: `?page=N&page_size=M` → `{\"count\", \"next\", \"previous\", \"results\"}`.\n\n" +
	"Ошибки: 400 — `{\"поле\": [\"сообщение\"], \"non_field_errors\": [...]}`; 401 — `{\"detail\", \"code\"}`; " +
	"403, 404 — `{\"detail\"}` (404 и для объекта, который вам не виден); 409 — устаревшая `version` или дубль; " +
	"413 — слишком большой запрос; 429 — слишком много попыток; 503 — сервер перегружен (`{\"detail\", \"code\": \"overloaded\"}` и заголовок " +
	"Retry-After: повторите через столько секунд) или фоновые задачи (импорт) сейчас не запущены (`\"code\": \"unavailable\"`).\n\n" +
	"Объекты несут `version`: PATCH/PUT с устаревшей версией получает 409, без версии — побеждает последняя запись."

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// pathsOf turns the operations into the document's paths object, adding
// to each the error answers every operation of its kind may give.
func pathsOf(ops []apiOp) map[string]any {
	paths := map[string]any{}
	for _, op := range ops {
		item, _ := paths[op.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.path] = item
		}
		o := map[string]any{
			"tags":        []string{op.tag},
			"summary":     op.summary,
			"operationId": operationID(op),
		}
		if op.desc != "" {
			o["description"] = op.desc
		}
		switch {
		case op.public:
			o["security"] = []any{}
		case op.device:
			o["security"] = []any{map[string]any{"deviceAuth": []string{}}}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
				"description": "Идентификатор.", "schema": &Schema{Type: "integer"}})
		}
		for _, p := range op.query {
			params = append(params, map[string]any{"name": p.name, "in": "query", "description": p.desc, "schema": p.schema})
		}
		if params != nil {
			o["parameters"] = params
		}
		switch {
		case op.body != nil:
			o["requestBody"] = map[string]any{"required": !op.bodyOptional, "content": map[string]any{
				"application/json": map[string]any{"schema": op.body}}}
		case op.upload != nil:
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"multipart/form-data": map[string]any{"schema": op.upload}}}
		}
		responses := map[string]any{}
		switch {
		case op.out != nil:
			responses[strconv.Itoa(op.ok)] = map[string]any{"description": http.StatusText(op.ok),
				"content": map[string]any{"application/json": map[string]any{"schema": op.out}}}
		case op.outType != "":
			responses[strconv.Itoa(op.ok)] = map[string]any{"description": http.StatusText(op.ok),
				"content": map[string]any{op.outType: map[string]any{"schema": str("")}}}
		}
		for _, media := range op.alsoTypes {
			responses[strconv.Itoa(op.ok)].(map[string]any)["content"].(map[string]any)[media] = map[string]any{"schema": str("")}
		}
		switch {
		case op.out != nil || op.outType != "":
		default:
			responses[strconv.Itoa(op.ok)] = map[string]any{"description": http.StatusText(op.ok)}
		}
		for code, out := range op.more {
			responses[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code),
				"content": map[string]any{"application/json": map[string]any{"schema": out}}}
		}
		for _, code := range errorStatuses(op) {
			responses[strconv.Itoa(code)] = errorResponse(op, code)
		}
		o["responses"] = responses
		item[strings.ToLower(op.method)] = o
	}
	return paths
}

// errorStatuses are the error answers of op: those of every operation
// (401 unless public, 400 for input, 404 for an object in the path, 409
// and 413 for writes, 503 when the request queue covers it) and op's own.
func errorStatuses(op apiOp) []int {
	codes := slices.Clone(op.errors)
	if queuedOp(op) {
		codes = append(codes, http.StatusServiceUnavailable)
	}
	if !op.public {
		codes = append(codes, http.StatusUnauthorized, http.StatusForbidden)
	}
	if op.query != nil || op.body != nil || op.upload != nil || op.method != http.MethodGet {
		codes = append(codes, http.StatusBadRequest)
	}
	if strings.Contains(op.path, "{") {
		codes = append(codes, http.StatusNotFound)
	}
	if op.body != nil || op.upload != nil {
		codes = append(codes, http.StatusRequestEntityTooLarge)
	}
	if op.method == http.MethodPatch || op.method == http.MethodPut {
		codes = append(codes, http.StatusConflict)
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

var errorDescriptions = map[int]string{
	http.StatusBadRequest:            "Неверные данные: сообщения по полям.",
	http.StatusUnauthorized:          "Нет учётных данных, или токен недействителен либо просрочен.",
	http.StatusForbidden:             "Объект виден, но действие вам не разрешено; причина в detail.",
	http.StatusNotFound:              "Нет такого объекта, или он вам не виден.",
	http.StatusConflict:              "Конфликт: объект изменён другим пользователем (устаревшая version), похожая компания уже есть, или состояние не позволяет действие.",
	http.StatusGone:                  "Срок действия истёк.",
	http.StatusRequestEntityTooLarge: "Слишком большой запрос.",
	http.StatusTooManyRequests:       "Слишком много попыток, повторите позже.",
	http.StatusMovedPermanently:      "Объект переехал: новый адрес в Location.",
}

// queuedOp reports whether admission control (admission.go) covers op:
// every operation but the ones unqueued serves at once may be refused
// with 503 code overloaded when the server is busy.
func queuedOp(op apiOp) bool {
	return !unqueued(&http.Request{Method: op.method, URL: &url.URL{Path: op.path}})
}

// unavailable is op's 503: the queue's (code overloaded, with
// Retry-After), the job queue's (code unavailable: op lists 503 among its
// own errors), or either.
func unavailable(op apiOp) (desc string, schema *Schema, typ string) {
	const (
		overloaded = "Сервер перегружен: запрос ждал своей очереди слишком долго или очередь полна (code: overloaded); повторите через Retry-After секунд."
		jobs       = "Фоновые задачи сейчас не запущены (code: unavailable): повторите позже."
	)
	queued, own := queuedOp(op), slices.Contains(op.errors, http.StatusServiceUnavailable)
	switch {
	case queued && own:
		return overloaded + " Или: " + jobs, &Schema{OneOf: []*Schema{ref("Overloaded"), ref("Unavailable")}}, "Overloaded | Unavailable"
	case queued:
		return overloaded, ref("Overloaded"), "Overloaded"
	default:
		return jobs, ref("Unavailable"), "Unavailable"
	}
}

// errorDescription is what op's answer with code means.
func errorDescription(op apiOp, code int) string {
	if code == http.StatusServiceUnavailable {
		desc, _, _ := unavailable(op)
		return desc
	}
	return errorDescriptions[code]
}

func errorResponse(op apiOp, code int) map[string]any {
	if code < 400 {
		return map[string]any{"description": errorDescriptions[code]}
	}
	schema := ref("Error")
	switch {
	case code == http.StatusServiceUnavailable:
		desc, schema, _ := unavailable(op)
		answer := map[string]any{"description": desc,
			"content": map[string]any{"application/json": map[string]any{"schema": schema}}}
		if queuedOp(op) {
			answer["headers"] = map[string]any{"Retry-After": map[string]any{
				"description": "Через сколько секунд повторить (у отказа очереди запросов).",
				"schema":      &Schema{Type: "integer"}}}
		}
		return answer
	case op.device && slices.Contains([]int{400, 401, 410, 429}, code):
		other := ref("Error")
		if code == http.StatusBadRequest {
			other = ref("ValidationError")
		}
		schema = &Schema{OneOf: []*Schema{ref("DeviceError"), other}}
		return map[string]any{"description": errorDescriptions[code],
			"content": map[string]any{"application/json": map[string]any{"schema": schema}}}
	}
	switch code {
	case http.StatusBadRequest:
		schema = ref("ValidationError")
	case http.StatusConflict:
		schema = &Schema{OneOf: []*Schema{ref("Error"), ref("DuplicateConflict")}}
	case http.StatusRequestEntityTooLarge:
		schema = ref("TooLarge")
	}
	return map[string]any{"description": errorDescriptions[code],
		"content": map[string]any{"application/json": map[string]any{"schema": schema}}}
}

// operationID is a stable name: the verb and the path's words.
func operationID(op apiOp) string {
	id := strings.ToLower(op.method)
	for w := range strings.SplitSeq(strings.Trim(op.path, "/"), "/") {
		w = strings.Trim(w, "{}")
		if w == "api" || w == "" {
			continue
		}
		for p := range strings.SplitSeq(strings.ReplaceAll(w, "-", "_"), "_") {
			if p != "" {
				id += strings.ToUpper(p[:1]) + p[1:]
			}
		}
	}
	return id
}

// list is the contract's paginated envelope around items.
func list(items *Schema) *Schema {
	return object("Страница списка.",
		"count", integer("Сколько всего объектов подходит под запрос."),
		"count_exact?", boolean("Есть только со значением false: список перестал считать (задачи без фильтра по исполнителю — после 1 000), count — нижняя граница."),
		"next", nullable(&Schema{Type: "string", Format: "uri", Description: "Следующая страница или null."}),
		"previous", nullable(&Schema{Type: "string", Format: "uri", Description: "Предыдущая страница или null."}),
		"results", arrayOf(items))
}

// Inputs of writes, described by hand: the decoders take more shapes
// than the answers give (a phone as a bare string, an id as null).
func phoneInput() *Schema {
	return &Schema{Description: "Телефон: объект или просто строка (тогда kind = work).", OneOf: []*Schema{
		str("Номер как набран."),
		object("", "value", str("Номер как набран."),
			"kind?", enum("Вид номера.", "work", "work_direct", "mobile", "home", "fax", "other"),
			"comment?", str("Комментарий.")),
	}}
}

func emailInput() *Schema {
	return &Schema{Description: "E-mail: объект или просто строка (тогда kind = work).", OneOf: []*Schema{
		str("Адрес."),
		object("", "value", str("Адрес."),
			"kind?", enum("Вид адреса.", "work", "personal", "other"),
			"comment?", str("Комментарий.")),
	}}
}

var (
	optID      = nullable(integer("Идентификатор или null."))
	optVersion = nullable(integer("Версия, которую видел клиент: при расхождении — 409. Без неё побеждает последняя запись."))
	optString  = nullable(str(""))
)

func input(desc string, fields ...any) *Schema {
	s := object(desc, fields...)
	s.Required, s.AdditionalProperties = nil, nil
	return s
}

// apiOperations is every operation of the JSON API. Each route of the
// router under /api has one entry here; TestOpenAPICoversTheRouteTable
// fails otherwise.
func apiOperations(sc *schemas) []apiOp {
	errSchemas(sc)
	user := sc.define("User", userJSON{})
	sc.annotate("User", map[string]string{"full_name": "«Имя Фамилия».", "role": "Роль.", "data_scope": "Какие компании видит: global — все, branch — своего филиала, self — свои.",
		"branch": "Филиал.", "time_zone": "Часовой пояс IANA; пусто — пояс филиала.", "version": "Версия для безопасной правки."})
	sc.restrict("User", "role", "manager", "branch_director", "group_manager", "admin")
	sc.restrict("User", "data_scope", "global", "branch", "self")
	brief := sc.define("UserBrief", userBrief{})
	sc.restrict("UserBrief", "role", "manager", "branch_director", "group_manager", "admin")
	anyUser := &Schema{OneOf: []*Schema{user, brief}, Description: "Администратор и сам пользователь видят User, остальные — UserBrief."}

	sc.define("Phone", company.Phone{})
	sc.restrict("Phone", "kind", "work", "work_direct", "mobile", "home", "fax", "other")
	sc.define("Email", company.Email{})
	sc.restrict("Email", "kind", "work", "personal", "other")
	reason := sc.define("DuplicateReason", duplicate.Reason{})
	sc.restrict("DuplicateReason", "kind", "exact", "normalized", "similar")
	fullMatch := sc.structSchema(reflect.TypeFor[duplicate.Match]())
	genitive := str("Имя ответственного в родительном падеже («Веры Поповой»).")
	fullMatch.Properties["responsible_genitive"] = genitive
	fullMatch.Required = append(fullMatch.Required, "responsible_genitive")
	fullMatch.order = append(fullMatch.order, "responsible_genitive")
	hidden := object("Компания, которую вызывающий не видит: только имя, ответственный и причины.",
		"id", integer(""), "name", str(""), "responsible_name", str(""), "responsible_genitive", genitive, "accessible", &Schema{Type: "boolean", Enum: []any{false}},
		"score", &Schema{Type: "number"}, "reasons", arrayOf(reason))
	match := sc.set("DuplicateMatch", &Schema{OneOf: []*Schema{fullMatch, hidden}, Description: "Возможный дубль."}, duplicate.Match{})
	sc.components["DuplicateConflict"] = object("Похожая компания уже есть: сохранение нужно подтвердить (confirm_duplicate).",
		"code", enum("", "duplicate"), "detail", str("Пояснение по-русски."), "matches", arrayOf(match))
	sc.define("CompanyMatch", company.Match{})
	companyRef := sc.define("Company", company.Company{})
	sc.annotate("Company", map[string]string{"inn": "ИНН: 10 или 12 цифр.", "kpp": "КПП: 9 символов.", "ogrn": "ОГРН или ОГРНИП.",
		"status": "Статус (справочник company-statuses).", "spheres": "Сферы деятельности (справочник spheres).", "branch": "Филиал.",
		"responsible": "Ответственный пользователь.", "match": "Почему компания найдена поиском.", "version": "Версия для безопасной правки.",
		"deleted_at": "Когда удалена (только в корзине)."})
	contactRef := sc.define("Contact", contact.Contact{})
	noteRef := sc.define("Note", note.Note{})
	sc.restrict("Note", "note_type", "note", "call_in", "call_out", "email_in", "email_out", "sms")
	taskRef := sc.define("Task", task.Task{})
	sc.restrict("Task", "status", "new", "in_progress", "done", "cancelled")
	sc.restrict("Task", "state", "overdue", "today", "week", "later", "done", "cancelled")
	sc.annotate("Task", map[string]string{"recurrence_rrule": "Правило повтора RFC 5545 (RRULE) или пустая строка.",
		"recurrence_text": "Правило повтора по-русски.", "series": "Серия повторяющейся задачи.", "seen": "Исполнитель открывал задачу.",
		"state": "Где задача на рабочем столе.", "due_at": "Срок."})
	comment := sc.define("TaskComment", task.Comment{})
	history := sc.define("TaskHistoryEntry", task.HistoryEntry{})
	closedRef := sc.define("TaskClosed", closed{})
	bulkResult := sc.define("BulkResult", task.BulkResult{})
	undoResult := sc.define("UndoResult", task.UndoResult{})
	dashboard := sc.define("Dashboard", task.Dashboard{})
	notification := sc.define("Notification", notify.Notification{})
	unread := sc.define("UnreadCount", notify.Unread{})
	auditEntry := sc.define("AuditEntry", auditJSON{})
	sc.restrict("AuditEntry", "outcome", audit.OK, audit.Denied, audit.Error)
	importRef := sc.define("Import", importBody{})
	exportJob := sc.define("ExportJob", exportJobBody{})
	sc.restrict("Import", "status", amoimport.StatusQueued, amoimport.StatusRunning, amoimport.StatusDone, amoimport.StatusFailed)
	reportRow := sc.define("ImportReportRow", amoimport.ReportRow{})
	suggest := sc.define("Suggestions", suggestAnswer{})
	preview := sc.define("RecurrencePreview", recurrencePreview{})
	feed := sc.define("CalendarFeed", calendarFeedJSON{})
	tokenPair := sc.set("TokenPair", object("Пара токенов.", "access", str("Токен доступа (JWT)."), "refresh", str("Токен обновления; после использования недействителен.")))
	mergePreview := sc.set("MergePreview", object("Что будет при объединении.",
		"survivor", companyRef, "duplicate", companyRef, "moves", sc.of(company.MergeCounts{})))

	dictionaries := dictionarySchemas(sc)

	companyIn := input("Компания: при создании обязательно name; в PATCH — только изменяемые поля.",
		"name", str("Название."), "legal_name", optString, "inn", optString, "kpp", optString, "ogrn", optString,
		"address", optString, "website", optString, "status", optID, "branch", optID, "responsible", optID,
		"spheres", nullable(arrayOf(integer(""))), "phones", nullable(arrayOf(phoneInput())), "emails", nullable(arrayOf(emailInput())),
		"version", optVersion, "confirm_duplicate", boolean("Сохранить, хотя похожая компания уже есть."))
	contactIn := input("Контакт.",
		"company", optID, "first_name", str(""), "last_name", str(""), "middle_name", str(""), "position", str(""),
		"status", str(""), "note", str(""), "phones", nullable(arrayOf(phoneInput())), "emails", nullable(arrayOf(emailInput())),
		"version", optVersion)
	noteIn := input("Заметка: при создании обязательны company и text.",
		"company", integer("Компания."), "text", str("Текст, до 20 000 символов."),
		"note_type", enum("Вид заметки.", "note", "call_in", "call_out", "email_in", "email_out", "sms"),
		"is_pinned", nullable(boolean("Закреплена.")), "version", optVersion)
	assignee := &Schema{OneOf: []*Schema{integer("Пользователь."), enum("Сам вызывающий.", "me"), {Type: "null"}}}
	taskIn := input("Задача: при создании обязательны title и due_at.",
		"title", optString, "description", optString, "type", optID,
		"status", nullable(enum("", "new", "in_progress", "done", "cancelled")), "due_at", nullable(str("RFC 3339 или дата ГГГГ-ММ-ДД.")),
		"all_day", nullable(boolean("На весь день.")), "is_urgent", nullable(boolean("Срочная.")), "assigned_to", assignee,
		"company", optID, "contact", optID, "recurrence_rrule", nullable(str("RRULE по RFC 5545 или пустая строка.")),
		"result", optString, "version", optVersion, "scope", str("Для повторяющейся: this — только эта, series — вся серия."))
	userIn := input("Пользователь: при создании обязательны username и password.",
		"username", str("Логин."), "first_name", str(""), "last_name", str(""), "email", str(""),
		"role", enum("", "manager", "branch_director", "group_manager", "admin"), "data_scope", enum("", "global", "branch", "self"),
		"branch", optID, "time_zone", str("IANA."), "is_active", boolean(""), "password", str("Только запись."), "version", nullable(integer("")))
	profileIn := input("Свой профиль; для смены пароля нужен current_password.",
		"first_name", str(""), "last_name", str(""), "email", str(""), "time_zone", str("IANA."),
		"password", str("Новый пароль."), "current_password", str("Текущий пароль."), "version", nullable(integer("")))
	closeIn := input("Завершение или пропуск.", "result", str("Результат."), "version", optVersion)
	mergeIn := object("Объединение: duplicate присоединяется к компании из пути.",
		"duplicate", integer("Присоединяемая компания."),
		"fields?", &Schema{Type: "object", Description: "Чьё значение поля оставить.", AdditionalProperties: enum("", "survivor", "duplicate")},
		"union?", nullable(arrayOf(enum("", "phones", "emails", "spheres"))))
	bulkIn := object("Массовое действие.",
		"ids", arrayOf(integer("")), "action", enum("", "reschedule", "reassign", "complete"),
		"due_at?", str("Новый срок (reschedule)."), "assigned_to?", assignee, "result?", str("Результат (complete)."))

	companyFilters := withList(q("search", "Название или юр. название в любом регистре и с ё/е, ИНН, телефон в любом формате, e-mail."),
		q("ordering", "Поле сортировки, «-» — по убыванию."), q("inn", "ИНН."), q("branch", "Филиал."), q("responsible", "Ответственный."),
		q("status", "Статус."), q("sphere", "Сфера."))

	auditFilters := withList(q("action", "Действие или его начало: export даёт все выгрузки."), q("actor", "Пользователь."),
		q("outcome", "ok, denied, error."), q("object_type", "Тип объекта."), q("object_id", "Идентификатор объекта."),
		q("since", "С (дата ГГГГ-ММ-ДД или RFC 3339)."), q("until", "По (дата ГГГГ-ММ-ДД или RFC 3339)."))

	ops := []apiOp{
		{method: "POST", path: "/api/token/", tag: "Авторизация", summary: "Получить пару токенов", public: true,
			body: object("", "username", str("Логин."), "password", str("Пароль.")), ok: 200, out: tokenPair, errors: []int{400, 401, 429},
			desc: "401 — неверный логин или пароль либо пользователь отключён; 429 — слишком много неудачных попыток."},
		{method: "POST", path: "/api/token/refresh/", tag: "Авторизация", summary: "Обновить токены", public: true,
			body: object("", "refresh", str("Токен обновления.")), ok: 200, out: tokenPair, errors: []int{400, 401},
			desc: "Токены обновления одноразовые: использованный получает 401."},
		{method: "POST", path: "/api/token/blacklist/", tag: "Авторизация", summary: "Отозвать токен обновления", public: true,
			body: object("", "refresh", str("Токен обновления.")), ok: 200, out: &Schema{Type: "object"}, errors: []int{400, 401}},

		{method: "GET", path: "/api/users/", tag: "Пользователи", summary: "Список пользователей", ok: 200, out: list(anyUser),
			query: withList(q("search", "Имя, фамилия или логин."), q("ordering", ""), q("role", "Роль."), q("branch", "Филиал."), q("is_active", "true или false."))},
		{method: "POST", path: "/api/users/", tag: "Пользователи", summary: "Создать пользователя (администратор)", body: userIn, ok: 201, out: user},
		{method: "GET", path: "/api/users/{id}/", tag: "Пользователи", summary: "Пользователь", ok: 200, out: anyUser},
		{method: "PATCH", path: "/api/users/{id}/", tag: "Пользователи", summary: "Изменить пользователя (администратор)", body: userIn, ok: 200, out: user},
		{method: "PUT", path: "/api/users/{id}/", tag: "Пользователи", summary: "Заменить пользователя (администратор)", body: userIn, ok: 200, out: user},
		{method: "GET", path: "/api/me/", tag: "Пользователи", summary: "Текущий пользователь", ok: 200, out: user},
		{method: "PATCH", path: "/api/me/", tag: "Пользователи", summary: "Изменить свой профиль", body: profileIn, ok: 200, out: user},
		{method: "POST", path: "/api/me/calendar-feed/", tag: "Уведомления", summary: "Включить календарь на телефоне", ok: 201, out: feed,
			desc: "Новая секретная ссылка на ленту задач (text/calendar); прежняя перестаёт работать."},
		{method: "DELETE", path: "/api/me/calendar-feed/", tag: "Уведомления", summary: "Выключить календарь на телефоне", ok: 204},

		{method: "GET", path: "/api/companies/", tag: "Компании", summary: "Список компаний", ok: 200, out: list(companyRef), query: companyFilters},
		{method: "POST", path: "/api/companies/", tag: "Компании", summary: "Создать компанию", body: companyIn, ok: 201, out: companyRef, errors: []int{409},
			desc: "ИНН, КПП и ОГРН проверяются по длине и контрольным цифрам. Ответственный по умолчанию — вызывающий, филиал — филиал ответственного. 409 — похожая компания уже есть."},
		{method: "GET", path: "/api/companies/duplicates/", tag: "Компании", summary: "Возможные дубли вводимой компании", ok: 200,
			out: object("", "results", arrayOf(match)),
			query: []apiParam{q("name", ""), q("inn", ""), q("kpp", ""), q("address", ""), q("phone", ""), q("email", ""), q("website", ""), q("ogrn", ""),
				qs("exclude", "Компания, которую правят (не считать дублем саму себя).", integer(""))}},
		{method: "GET", path: "/api/companies/{id}/", tag: "Компании", summary: "Компания", ok: 200, out: companyRef, errors: []int{301},
			desc: "Компания, присоединённая к другой при объединении, отвечает 301 с адресом оставшейся в Location."},
		{method: "PATCH", path: "/api/companies/{id}/", tag: "Компании", summary: "Изменить компанию", body: companyIn, ok: 200, out: companyRef},
		{method: "PUT", path: "/api/companies/{id}/", tag: "Компании", summary: "Заменить компанию", body: companyIn, ok: 200, out: companyRef},
		{method: "DELETE", path: "/api/companies/{id}/", tag: "Компании", summary: "Удалить компанию (в корзину)", ok: 204,
			desc: "Администратор, управляющий группой и директор филиала — для своего филиала; остальным 403."},
		{method: "POST", path: "/api/companies/{id}/restore/", tag: "Компании", summary: "Восстановить из корзины", ok: 200, out: companyRef, errors: []int{409}},
		{method: "GET", path: "/api/companies/{id}/merge/", tag: "Компании", summary: "Предпросмотр объединения", ok: 200, out: mergePreview,
			query: []apiParam{qs("with", "Присоединяемая компания.", integer(""))}, errors: []int{409}},
		{method: "POST", path: "/api/companies/{id}/merge/", tag: "Компании", summary: "Объединить компании", body: mergeIn, ok: 200, out: companyRef, errors: []int{409},
			desc: "Присоединённая компания уходит в корзину; её контакты, заметки и задачи переходят к оставшейся. Отменить можно 30 дней."},
		{method: "POST", path: "/api/companies/{id}/unmerge/", tag: "Компании", summary: "Отменить объединение", ok: 200, out: companyRef, errors: []int{409},
			body: object("", "duplicate", integer("Присоединённая компания."))},

		{method: "GET", path: "/api/contacts/", tag: "Контакты", summary: "Список контактов", ok: 200, out: list(contactRef),
			query: withList(q("search", "Имя, должность, телефон, e-mail, название компании."), q("ordering", ""), qs("company", "Компания.", integer("")))},
		{method: "POST", path: "/api/contacts/", tag: "Контакты", summary: "Создать контакт", body: contactIn, ok: 201, out: contactRef},
		{method: "GET", path: "/api/contacts/{id}/", tag: "Контакты", summary: "Контакт", ok: 200, out: contactRef},
		{method: "PATCH", path: "/api/contacts/{id}/", tag: "Контакты", summary: "Изменить контакт", body: contactIn, ok: 200, out: contactRef},
		{method: "PUT", path: "/api/contacts/{id}/", tag: "Контакты", summary: "Заменить контакт", body: contactIn, ok: 200, out: contactRef},
		{method: "DELETE", path: "/api/contacts/{id}/", tag: "Контакты", summary: "Удалить контакт", ok: 204},

		{method: "GET", path: "/api/company-notes/", tag: "Заметки", summary: "Заметки", ok: 200, out: list(noteRef),
			query: withList(qs("company", "Компания.", integer("")))},
		{method: "POST", path: "/api/company-notes/", tag: "Заметки", summary: "Добавить заметку", body: noteIn, ok: 201, out: noteRef},
		{method: "GET", path: "/api/company-notes/{id}/", tag: "Заметки", summary: "Заметка", ok: 200, out: noteRef},
		{method: "PATCH", path: "/api/company-notes/{id}/", tag: "Заметки", summary: "Изменить заметку (автор)", body: noteIn, ok: 200, out: noteRef},
		{method: "PUT", path: "/api/company-notes/{id}/", tag: "Заметки", summary: "Заменить заметку (автор)", body: noteIn, ok: 200, out: noteRef},
		{method: "DELETE", path: "/api/company-notes/{id}/", tag: "Заметки", summary: "Удалить заметку (автор)", ok: 204,
			desc: "Удаление и каждая отказанная попытка — в журнале аудита, вместе с текстом."},
		{method: "POST", path: "/api/company-notes/{id}/pin/", tag: "Заметки", summary: "Закрепить заметку", ok: 200, out: noteRef},
		{method: "POST", path: "/api/company-notes/{id}/unpin/", tag: "Заметки", summary: "Открепить заметку", ok: 200, out: noteRef},

		{method: "GET", path: "/api/tasks/", tag: "Задачи", summary: "Список задач", ok: 200, out: list(taskRef),
			query: withList(q("search", "Название, описание."), q("ordering", ""), q("status", "new, in_progress, done, cancelled."),
				q("state", "overdue, today, week, later, done, cancelled."), q("assigned_to", "Исполнитель: id или me."),
				q("company", "Компания."), q("contact", "Контакт."), q("type", "Тип задачи."),
				q("due_before", "Срок до (RFC 3339 или дата)."), q("due_after", "Срок после (RFC 3339 или дата)."))},
		{method: "POST", path: "/api/tasks/", tag: "Задачи", summary: "Создать задачу", body: taskIn, ok: 201, out: taskRef,
			desc: "Исполнитель по умолчанию — вызывающий. Неверное recurrence_rrule — 400 с указанием неверной части."},
		{method: "GET", path: "/api/tasks/recurrence/", tag: "Задачи", summary: "Предпросмотр правила повтора", ok: 200, out: preview,
			query: []apiParam{q("rrule", "RRULE."), q("dtstart", "Начало: RFC 3339, «ГГГГ-ММ-ДДTЧЧ:ММ» или дата."), q("all_day", "true или false.")}},
		{method: "POST", path: "/api/tasks/bulk/", tag: "Задачи", summary: "Массовое действие с задачами", body: bulkIn, ok: 200, out: bulkResult,
			desc: "Каждая задача проверяется по тем же правилам, что и по одной; отказанные — в refused с причиной. undo_token отменяет действие 10 минут."},
		{method: "POST", path: "/api/tasks/bulk/undo/", tag: "Задачи", summary: "Отменить массовое действие", ok: 200, out: undoResult, errors: []int{404, 410},
			body: object("", "undo_token", str("Из ответа массового действия."))},
		{method: "GET", path: "/api/tasks/{id}/", tag: "Задачи", summary: "Задача", ok: 200, out: taskRef,
			desc: "Исполнитель, открывший задачу, отмечает её просмотренной (seen)."},
		{method: "PATCH", path: "/api/tasks/{id}/", tag: "Задачи", summary: "Изменить задачу", body: taskIn, ok: 200, out: taskRef},
		{method: "PUT", path: "/api/tasks/{id}/", tag: "Задачи", summary: "Заменить задачу", body: taskIn, ok: 200, out: taskRef},
		{method: "DELETE", path: "/api/tasks/{id}/", tag: "Задачи", summary: "Удалить задачу", ok: 204},
		{method: "POST", path: "/api/tasks/{id}/complete/", tag: "Задачи", summary: "Выполнить задачу", body: closeIn, ok: 200, out: closedRef, errors: []int{409},
			desc: "Следующее повторение повторяющейся задачи создаётся ровно один раз и приходит в next."},
		{method: "POST", path: "/api/tasks/{id}/skip/", tag: "Задачи", summary: "Пропустить повторение", body: closeIn, ok: 200, out: closedRef, errors: []int{409}},
		{method: "POST", path: "/api/tasks/{id}/stop/", tag: "Задачи", summary: "Остановить повторы", ok: 200, out: taskRef, errors: []int{409}},
		{method: "GET", path: "/api/tasks/{id}/comments/", tag: "Задачи", summary: "Комментарии задачи", ok: 200, out: list(comment)},
		{method: "POST", path: "/api/tasks/{id}/comments/", tag: "Задачи", summary: "Добавить комментарий", body: object("", "text", str("Текст.")), ok: 201, out: comment},
		{method: "GET", path: "/api/tasks/{id}/history/", tag: "Задачи", summary: "История изменений задачи", ok: 200, out: list(history)},
		{method: "GET", path: "/api/dashboard/", tag: "Задачи", summary: "Рабочий стол", ok: 200, out: dashboard,
			query: []apiParam{qs("limit", "Сколько задач в каждой группе.", integer(""))},
			desc:  "Группы в часовом поясе вызывающего (свой, иначе филиала, иначе по умолчанию); new_assignments — задачи, которые вам поручили другие и вы ещё не открыли."},

		{method: "GET", path: "/api/notifications/", tag: "Уведомления", summary: "Мои уведомления", ok: 200, out: list(notification),
			query: withList(q("is_read", "true или false."))},
		{method: "GET", path: "/api/notifications/unread-count/", tag: "Уведомления", summary: "Число непрочитанных", ok: 200, out: unread},
		{method: "POST", path: "/api/notifications/read-all/", tag: "Уведомления", summary: "Прочитать все", ok: 200, out: unread},
		{method: "POST", path: "/api/notifications/{id}/read/", tag: "Уведомления", summary: "Прочитать уведомление", ok: 200, out: unread},
		{method: "GET", path: "/api/events/", tag: "Уведомления", summary: "Поток событий (Server-Sent Events)", ok: 200, outType: "text/event-stream",
			desc: "События: notification, unread {count}, task {id, change}, desk {counts}. У каждого есть id; переподключение с Last-Event-ID досылает пропущенное. Комментарий-пульс не реже раза в 25 секунд."},

		{method: "GET", path: "/api/audit/", tag: "Аудит", summary: "Журнал аудита", ok: 200, out: list(auditEntry), query: auditFilters},
		{method: "GET", path: "/api/audit/export/", tag: "Аудит", summary: "Журнал аудита в CSV", ok: 200, outType: "text/csv",
			query: auditFilters[len(listParams):],
			desc:  "Отфильтрованный журнал файлом для Excel (UTF-8 с BOM, «;», формулы обезврежены). Сама выгрузка пишется в журнал (audit.export)."},
		{method: "GET", path: "/api/export/companies/", tag: "Экспорт", summary: "Выгрузка компаний", ok: 200, outType: "text/csv",
			alsoTypes: []string{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
			query:     append([]apiParam{qs("format", "csv (по умолчанию) или xlsx.", enum("", "csv", "xlsx"))}, companyFilters[len(listParams):]...),
			more:      map[int]*Schema{http.StatusAccepted: exportJob},
			desc: "Ровно то, что показывает список компаний с теми же фильтрами, с контактами; CSV для Excel (UTF-8 с BOM, «;», формулы обезврежены) или XLSX, потоком. " +
				"Больше CRM_EXPORT_JOB_ROWS компаний — 202 и фоновая задача: её состояние — GET /api/export/companies/{id}/, файл — по download_url, когда готов. " +
				"Только администраторы; каждая попытка — разрешённая или нет — в журнале аудита (export.companies)."},
		{method: "GET", path: "/api/export/companies/{id}/", tag: "Экспорт", summary: "Фоновая выгрузка", ok: 200, out: exportJob,
			desc: "Состояние выгрузки, которая идёт фоновой задачей: прогресс, затем ссылка на файл (download_url). Видна только администратору, который её запросил; остальным — 404."},
		{method: "GET", path: "/api/export/companies/{id}/file", tag: "Экспорт", summary: "Файл фоновой выгрузки", ok: 200, outType: "text/csv",
			alsoTypes: []string{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
			desc:      "Готовый файл выгрузки; хранится сутки и только для того, кто её запросил (иначе, и пока файл не готов, — 404)."},
		{method: "GET", path: "/api/search/", tag: "Поиск", summary: "Подсказки палитры команд", ok: 200, out: suggest,
			query: []apiParam{q("q", "Что искать.")}},

		{method: "GET", path: "/api/imports/", tag: "Импорт", summary: "Импорты", ok: 200, out: list(importRef), query: listParams},
		{method: "POST", path: "/api/imports/", tag: "Импорт", summary: "Загрузить выгрузку amoCRM", ok: 202,
			out: object("", "id", integer(""), "status", str("")),
			upload: object("", "file", &Schema{Type: "string", Format: "binary", Description: "Файл выгрузки (CSV или XLSX)."},
				"dry_run?", str("true — только проверка, без записи.")),
			errors: []int{http.StatusServiceUnavailable},
			desc:   "Импорт идёт в фоне; его состояние — GET /api/imports/{id}/."},
		{method: "GET", path: "/api/imports/{id}/", tag: "Импорт", summary: "Импорт", ok: 200, out: importRef},
		{method: "GET", path: "/api/imports/{id}/report/", tag: "Импорт", summary: "Отчёт импорта", ok: 200, out: list(reportRow), errors: []int{409}, alsoTypes: []string{"text/csv"},
			query: withList(q("format", "json — строки отчёта; csv (по умолчанию без Accept: application/json) — файл для Excel."),
				q("action", "create, update, merge, skip, error."))},
		{method: "POST", path: "/api/imports/{id}/run/", tag: "Импорт", summary: "Выполнить проверенный импорт", ok: 202,
			out: object("", "id", integer(""), "status", str("")), errors: []int{409, http.StatusServiceUnavailable}},

		{method: "GET", path: "/api/schema/", tag: "Документация", summary: "Этот документ (OpenAPI 3.1)", ok: 200, out: &Schema{Type: "object", Description: "Документ OpenAPI 3.1."}, public: true, alsoTypes: []string{"application/yaml"},
			query: []apiParam{qs("format", "json (по умолчанию) или yaml.", enum("", "json", "yaml"))}},
		{method: "GET", path: "/api/docs/", tag: "Документация", summary: "Эта страница: документ в читаемом виде", ok: 200, outType: "text/html", public: true},
	}
	ops = append(ops, dictionaryOperations(dictionaries)...)
	ops = append(ops, phoneOperations(sc)...)
	return ops
}

// dictionarySchemas defines one component per dictionary: their answers
// differ (dictionary.Item.MarshalJSON).
func dictionarySchemas(sc *schemas) map[dictionary.Kind]*Schema {
	version := integer("Версия для безопасной правки.")
	return map[dictionary.Kind]*Schema{
		dictionary.Branches: sc.set("Branch", object("Филиал.", "id", integer(""), "code", str("Код."), "name", str("Название."),
			"time_zone", str("Часовой пояс IANA, по умолчанию Europe/Moscow."), "version", version)),
		dictionary.CompanyStatuses: sc.set("CompanyStatus", object("Статус компании.", "id", integer(""), "name", str(""),
			"position", integer("Порядок в списке."), "version", version)),
		dictionary.Spheres: sc.set("Sphere", object("Сфера деятельности.", "id", integer(""), "name", str(""), "version", version)),
		dictionary.TaskTypes: sc.set("TaskType", object("Тип задачи.", "id", integer(""), "name", str(""),
			"icon", str("Значок."), "color", str("Цвет #RRGGBB."), "version", version)),
	}
}

func dictionaryOperations(schemas map[dictionary.Kind]*Schema) []apiOp {
	in := input("Запись справочника; code и time_zone — у филиалов, position — у статусов, icon и color — у типов задач.",
		"name", str("Название."), "code", nullable(str("")), "time_zone", nullable(str("")), "position", nullable(integer("")),
		"icon", nullable(str("")), "color", nullable(str("")), "version", integer("Версия, которую видел клиент."))
	var ops []apiOp
	for _, k := range dictionary.Kinds {
		base := "/api/" + string(k) + "/"
		s, label := schemas[k], k.Label()
		ops = append(ops,
			apiOp{method: "GET", path: base, tag: "Справочники", summary: label + ": список", ok: 200, out: list(s),
				query: withList(q("search", "Название."), q("ordering", ""))},
			apiOp{method: "POST", path: base, tag: "Справочники", summary: label + ": добавить (администратор)", body: in, ok: 201, out: s, errors: []int{409}},
			apiOp{method: "GET", path: base + "{id}/", tag: "Справочники", summary: label + ": запись", ok: 200, out: s},
			apiOp{method: "PATCH", path: base + "{id}/", tag: "Справочники", summary: label + ": изменить (администратор)", body: in, ok: 200, out: s},
			apiOp{method: "PUT", path: base + "{id}/", tag: "Справочники", summary: label + ": заменить (администратор)", body: in, ok: 200, out: s},
			apiOp{method: "DELETE", path: base + "{id}/", tag: "Справочники", summary: label + ": удалить (администратор)", ok: 204, errors: []int{409}},
		)
	}
	return ops
}

// errSchemas are the error bodies.
func errSchemas(sc *schemas) {
	sc.components["Error"] = object("Ошибка.", "detail", str("Что случилось, по-русски."), "code?", str("Машинный код: token_not_valid, not_authenticated, conflict, throttled…"))
	sc.components["ValidationError"] = &Schema{Type: "object", Description: "Сообщения по полям; non_field_errors — не относящиеся к одному полю.",
		AdditionalProperties: arrayOf(str(""))}
	sc.components["Overloaded"] = object("Сервер перегружен: очередь запросов отказала (admission control).",
		"detail", str("Что случилось, по-русски."), "code", enum("Машинный код.", "overloaded"))
	sc.components["Unavailable"] = object("Фоновые задачи сейчас не запущены, поэтому действие недоступно.",
		"detail", str("Что случилось, по-русски."), "code", enum("Машинный код.", "unavailable"))
	sc.components["TooLarge"] = &Schema{Type: "object", Description: "Слишком большой запрос или файл.",
		Properties: map[string]*Schema{"detail": str(""), "file": arrayOf(str("")), "max_bytes": integer("")}, Required: []string{"detail"},
		order: []string{"detail", "file", "max_bytes"}}
}

// serveOpenAPI is GET /api/schema/: the document as JSON, or YAML with
// ?format=yaml.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	doc := openAPIDoc()
	w.Header().Set("Cache-Control", "no-cache")
	switch r.URL.Query().Get("format") {
	case "", "json", "openapi":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, err := w.Write(doc.json)
		return err
	case "yaml":
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		_, err := w.Write(doc.yaml())
		return err
	}
	return apperr.Invalid{"format": "Формат документа: json или yaml"}
}

// serveAPIDocs is GET /api/docs/: the document as a readable page.
func (s *Server) serveAPIDocs(w http.ResponseWriter, r *http.Request) error {
	page := openAPIDoc().docsView()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return render(r.Context(), w, view.APIDocsPage(page))
}

// phoneOperations are «Позвонить с телефона»: the CRM's side (the user's
// credentials) and the phone's own (the Device credential).
func phoneOperations(sc *schemas) []apiOp {
	sc.components["DeviceError"] = object("Отказ приложению телефона.",
		"error", str("Машинный код: invalid_pairing, pairing_expired, too_many_attempts, device_revoked, bad_credential."),
		"detail?", str("Пояснение по-русски."))
	newPairing := sc.define("NewPairing", newPairingJSON{})
	pairing := sc.define("Pairing", pairingJSON{})
	sc.restrict("Pairing", "status", "pending", "claimed", "active", "rejected", "expired")
	device := sc.define("PhoneDevice", deviceJSON{})
	callRequest := sc.define("CallRequest", callRequestJSON{})
	pairAns := sc.define("DevicePairing", pairAnswer{})
	devStatus := sc.define("DeviceStatus", deviceStatusJSON{})
	command := sc.define("PhoneCommand", commandJSON{})
	commands := sc.define("PhoneCommands", commandsJSON{})
	status := object("", "status", str("Состояние."))
	push := object("Канал push-уведомлений.", "provider", enum("", "fcm", "none"), "token?", str("Токен FCM."))
	return []apiOp{
		{method: "POST", path: "/api/phone/pairings/", tag: "Телефон", summary: "Начать привязку телефона", ok: 201, out: newPairing,
			desc: "Одноразовая привязка на 5 минут: qr_payload — ссылка для QR-кода, qr_png_url — адрес картинки QR-кода (PNG)."},
		{method: "GET", path: "/api/phone/pairings/{id}/", tag: "Телефон", summary: "Состояние привязки", ok: 200, out: pairing},
		{method: "GET", path: "/api/phone/pairings/{id}/qr.png", tag: "Телефон", summary: "QR-код привязки", ok: 200, outType: "image/png", errors: []int{410},
			desc: "Картинка QR-кода, пока привязка ждёт телефон: только владельцу, без кеширования. Секрет в адресе не передаётся. 410 — код истёк или уже отсканирован."},
		{method: "POST", path: "/api/phone/pairings/{id}/confirm/", tag: "Телефон", summary: "Подтвердить привязку", ok: 200, out: pairing, errors: []int{409},
			desc: "Код, показанный на обоих экранах. Тело можно не посылать.", bodyOptional: true, body: input("", "confirm_code", str("Код подтверждения."))},
		{method: "POST", path: "/api/phone/pairings/{id}/reject/", tag: "Телефон", summary: "Отклонить привязку", ok: 200, out: pairing, errors: []int{409}},
		{method: "GET", path: "/api/phone/devices/", tag: "Телефон", summary: "Телефоны", ok: 200, out: list(device),
			query: withList(qs("user", "Пользователь (для администраторов).", integer(""))),
			desc:  "Свои телефоны; администратор видит все."},
		{method: "DELETE", path: "/api/phone/devices/{id}/", tag: "Телефон", summary: "Отвязать телефон", ok: 204},
		{method: "POST", path: "/api/call-requests/", tag: "Телефон", summary: "Позвонить с телефона", ok: 201, out: callRequest, errors: []int{409},
			body: object("", "phone", str("Номер в любом привычном виде."), "company?", optID, "contact?", optID),
			desc: "Заголовок Idempotency-Key делает повтор безопасным. 409 {\"code\": \"no_active_device\"} — телефон не привязан; 400 — номер не годится."},
		{method: "GET", path: "/api/call-requests/{id}/", tag: "Телефон", summary: "Запрос на звонок", ok: 200, out: callRequest},
		{method: "POST", path: "/api/call-requests/{id}/cancel/", tag: "Телефон", summary: "Отозвать запрос на звонок", ok: 200, out: callRequest, errors: []int{409}},

		{method: "POST", path: "/api/phone/v1/pair", tag: "Приложение телефона", summary: "Привязать телефон по QR-коду", public: true, device: true, ok: 201, out: pairAns,
			errors: []int{410, 429},
			body: object("", "v", integer("Версия протокола: 1."), "pairing_id", &Schema{OneOf: []*Schema{integer(""), str("")}}, "secret", str("Секрет из QR-кода."),
				"device", object("", "name?", str(""), "model?", str(""), "os?", str(""), "app_version?", str(""), "install_id?", str("")), "push?", push)},
		{method: "GET", path: "/api/phone/v1/device", tag: "Приложение телефона", summary: "Состояние телефона", device: true, ok: 200, out: devStatus},
		{method: "PUT", path: "/api/phone/v1/device/push", tag: "Приложение телефона", summary: "Сменить канал push", device: true, ok: 200, out: status, body: push},
		{method: "POST", path: "/api/phone/v1/device/unpair", tag: "Приложение телефона", summary: "Отвязаться", device: true, ok: 200, out: status},
		{method: "GET", path: "/api/phone/v1/commands", tag: "Приложение телефона", summary: "Ждать команды (long-poll)", device: true, ok: 200, out: commands,
			query: []apiParam{qs("wait", "Сколько секунд ждать, 0–30.", integer(""))}},
		{method: "GET", path: "/api/phone/v1/commands/{id}", tag: "Приложение телефона", summary: "Команда", device: true, ok: 200, out: command},
		{method: "POST", path: "/api/phone/v1/commands/{id}/events", tag: "Приложение телефона", summary: "Сообщить о ходе команды", device: true, ok: 200, out: status,
			body: object("", "event_id", str("Повтор с тем же event_id получает тот же ответ."), "type", enum("", "delivered", "opened", "dialed", "cancelled", "error"),
				"device_at?", str("RFC 3339."), "channel?", enum("", "fcm", "poll"), "detail?", str(""))},
	}
}
