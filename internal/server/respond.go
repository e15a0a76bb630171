package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/a-h/templ"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/duplicate"
)

// handlerFunc is a handler that returns its failure; wrap turns it into an
// http.HandlerFunc with one place (fail) that maps errors to answers.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) wrap(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// wantsJSON reports whether the answer should be JSON: every /api/ path,
// and any request that asks for JSON first in Accept.
func wantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.HasPrefix(accept, "application/json")
}

// respond writes data as JSON, or page as HTML, by what the client wants.
func respond(w http.ResponseWriter, r *http.Request, status int, data any, page templ.Component) error {
	if wantsJSON(r) || page == nil {
		return writeJSON(w, status, data)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	return render(r.Context(), w, page)
}

// render writes page to w without flushing w on the way. templ's buffer
// flushes the writer it was given when the page ends, if it can: here
// that made the compressor end a deflate block with an empty one (a sync
// flush) and net/http send the page in one more chunk, which the client
// woke up to read, just before the handler returned and net/http sent
// the rest anyway. Hidden behind pageWriter, the answer goes out once,
// when the handler returns; streams that must reach the client at once
// (events, exports) do not render through here.
func render(ctx context.Context, w io.Writer, page templ.Component) error {
	return page.Render(ctx, pageWriter{w})
}

// pageWriter is w with its Write only: no http.Flusher for templ to call.
type pageWriter struct{ w io.Writer }

func (p pageWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

func writeJSON(w http.ResponseWriter, status int, data any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(data)
}

// redirect answers a form post: 303 to the target for pages. Only local
// paths are followed, so no caller can turn it into an open redirect.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	if !localPath(target) {
		target = "/"
	}
	http.Redirect(w, r, target, http.StatusSeeOther) //nolint:gosec // target is a local path, checked above
}

// localPath reports whether target is a path on this site ("/x", not
// "//host" or "/\\host", which browsers treat as another site).
func localPath(target string) bool {
	return strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "//") && !strings.HasPrefix(target, "/\\")
}

// detail is the body of 401/403/404/409/… answers in the contract's shape.
type detail struct {
	Detail string `json:"detail"`
	Code   string `json:"code,omitempty"`
}

// duplicateConflict is the 409 of a save refused by the duplicate check
// (api.md: {"code": "duplicate", "detail", "matches"}).
type duplicateConflict struct {
	Code    string            `json:"code"`
	Detail  string            `json:"detail"`
	Matches []duplicate.Match `json:"matches"`
}

// errNoJobQueue is a request that needs the job queue in a process that
// runs none (a short-lived command, a test): 503, not a server error.
var errNoJobQueue = errors.New("no job queue in this process")

// fail maps an error to its status and body; unexpected errors are logged
// once, here, and shown to the user without internals.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.classify(r, err)
	if responseStarted(w) {
		// Part of the answer is already on its way (a page that failed
		// while rendering, a client that left): a second one cannot follow.
		return
	}
	if wantsJSON(r) {
		_ = writeJSON(w, status, body)
		return
	}
	if status == http.StatusUnauthorized {
		redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
		return
	}
	msg := ""
	switch b := body.(type) {
	case detail:
		msg = b.Detail
	case duplicateConflict:
		msg = b.Detail
	case map[string][]string:
		for _, v := range b {
			msg = strings.Join(v, "; ")
			break
		}
	}
	s.renderError(w, r, status, msg)
}

func (s *Server) classify(r *http.Request, err error) (int, any) {
	var forb *apperr.Forbidden
	var conflict *apperr.Conflict
	var maxBytes *http.MaxBytesError
	var big tooLarge
	var found *duplicate.Found
	if inv, ok := apperr.AsInvalid(err); ok {
		out := make(map[string][]string, len(inv))
		for k, v := range inv {
			out[k] = []string{v}
		}
		return http.StatusBadRequest, out
	}
	switch {
	case errors.As(err, &found):
		return http.StatusConflict, duplicateConflict{Code: "duplicate", Detail: found.Detail(), Matches: found.Matches}
	case errors.As(err, &forb):
		return http.StatusForbidden, detail{Detail: forb.Reason}
	case errors.Is(err, apperr.ErrForbidden):
		return http.StatusForbidden, detail{Detail: "У вас недостаточно прав для выполнения данного действия."}
	case errors.Is(err, apperr.ErrNotFound):
		return http.StatusNotFound, detail{Detail: "Страница не найдена."}
	case errors.As(err, &conflict):
		return http.StatusConflict, detail{Detail: conflict.Message, Code: "conflict"}
	case errors.Is(err, apperr.ErrConflict):
		return http.StatusConflict, detail{Detail: "Объект изменён другим пользователем. Обновите страницу и повторите.", Code: "conflict"}
	case errors.Is(err, apperr.ErrUnauthenticated):
		return http.StatusUnauthorized, detail{Detail: "Учетные данные не были предоставлены.", Code: "not_authenticated"}
	case errors.Is(err, apperr.ErrThrottled):
		return http.StatusTooManyRequests, detail{Detail: "Слишком много попыток. Повторите позже.", Code: "throttled"}
	case errors.As(err, &big):
		return http.StatusRequestEntityTooLarge, detail{Detail: big.Error()}
	case errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge, detail{Detail: tooLarge{maxBytes.Limit}.Error()}
	case errors.Is(err, apperr.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, detail{Detail: "Слишком большой запрос."}
	case errors.Is(err, errBodyTimeout):
		return http.StatusRequestTimeout, detail{Detail: "Тело запроса не получено вовремя."}
	case clientGone(r, err):
		return 499, detail{Detail: "Запрос отменён."}
	case errors.Is(err, errNoJobQueue):
		return http.StatusServiceUnavailable, detail{Detail: "Фоновые задачи сейчас не запущены, поэтому это действие недоступно. Повторите позже или сообщите администратору.", Code: "unavailable"}
	}
	s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	return http.StatusInternalServerError, detail{Detail: "Внутренняя ошибка сервера. Мы уже знаем о ней."}
}

// clientGone reports whether err only says that the client went away
// (it cancelled the request, or closed the connection while we wrote):
// nothing to answer, nothing to log. Once the request's context is done,
// whatever failed failed because of it: pgx, for one, reports a query
// cut short by the cancellation as driver.ErrBadConn, not as the
// context's error.
func clientGone(r *http.Request, err error) bool {
	if r.Context().Err() != nil {
		return true
	}
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// responseStarted reports whether the status of the answer has been
// written, looking through the writers the middleware wraps around it.
func responseStarted(w http.ResponseWriter) bool {
	for {
		if rec, ok := w.(*statusRecorder); ok {
			return rec.status != 0
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
}

// decode fills dst from a JSON body, or from a form through dst's
// fromForm method. A malformed body is a validation error, never a 500.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" || (ct == "" && wantsJSON(r)) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err // too large (413) or too slow (408)
		}
		if jsonHasNUL(body) {
			return apperr.Invalid{apperr.NonField: badTextMessage + " (\\u0000)"}
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			if errors.Is(err, io.EOF) {
				return apperr.Invalid{apperr.NonField: "Пустое тело запроса"}
			}
			return jsonInvalid(err)
		}
		return nil
	}
	if err := r.ParseForm(); err != nil {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) || errors.Is(err, errBodyTimeout) {
			return err
		}
		return apperr.Invalid{apperr.NonField: "Неверные данные формы"}
	}
	if err := checkFormText(r.Form); err != nil {
		return err
	}
	f, ok := dst.(formDecoder)
	if !ok {
		return fmt.Errorf("decode: %T cannot be read from a form", dst)
	}
	return f.fromForm(r.PostForm)
}

// jsonInvalid says in Russian what is wrong with a JSON body, without
// the decoder's own English text (which names Go types).
func jsonInvalid(err error) apperr.Invalid {
	var typeErr *json.UnmarshalTypeError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return apperr.Invalid{typeErr.Field: "Неверный тип значения"}
	case errors.As(err, &typeErr):
		return apperr.Invalid{apperr.NonField: "Неверный JSON: ожидался объект"}
	case errors.As(err, &syntax):
		return apperr.Invalid{apperr.NonField: fmt.Sprintf("Неверный JSON: ошибка синтаксиса (байт %d)", syntax.Offset)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalid{apperr.NonField: "Неверный JSON: тело запроса оборвано"}
	}
	return apperr.Invalid{apperr.NonField: "Неверный JSON"}
}

// formDecoder is an input struct that can be filled from an HTML form.
type formDecoder interface {
	fromForm(v url.Values) error
}

// pathID reads the {id} URL parameter; a malformed id is simply not found.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.ErrNotFound
	}
	return id, nil
}

// act is wrap for a route that performs a named action ("company.update"
// on a "company"): a refused attempt (403) is recorded in the audit log
// here, once, whether it came from a form or the API, so no handler
// records refusals itself.
func (s *Server) act(action, objectType string, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		if errors.Is(err, apperr.ErrForbidden) {
			s.recordDenied(r, action, objectType, r.PathValue("id"), err)
		}
		s.fail(w, r, err)
	}
}

// done is what a write answers when it succeeded: the JSON status and
// body (204 has none), and for a form the toast and the page to go to.
type done struct {
	status int
	body   any
	flash  string
	to     string
}

// formPage shows a form again with what was typed and the messages beside
// the fields, with the given status.
type formPage func(status int, errs apperr.Invalid) error

// saved ends every write handler, for forms and the API alike, so that
// nothing is decided twice. Success: JSON gets ok's status and body; a
// form gets a redirect to ok.to with the toast. Failure: JSON gets fail's
// answer; a form is shown again (form) for field errors (400) and stale
// versions or conflicts (409); anything else (403, 404, 500) goes to fail,
// which renders the error page. form may be nil where there is no form.
func saved(w http.ResponseWriter, r *http.Request, ok done, err error, form formPage) error {
	if err != nil {
		if wantsJSON(r) || form == nil {
			return err
		}
		status, errs := formFailure(err)
		if status == 0 {
			return err
		}
		return form(status, errs)
	}
	if wantsJSON(r) || r.Method != http.MethodPost {
		if ok.status == http.StatusNoContent {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return writeJSON(w, ok.status, ok.body)
	}
	if ok.flash != "" {
		setFlash(w, "success", ok.flash)
	}
	redirect(w, r, ok.to)
	return nil
}

// formFailure sorts a save error into what re-renders the form: 400 with
// field messages, 409 with a message on top; 0 for any other error (which
// fail handles).
func formFailure(err error) (int, apperr.Invalid) {
	if inv, ok := apperr.AsInvalid(err); ok {
		return http.StatusBadRequest, inv
	}
	var c *apperr.Conflict
	var found *duplicate.Found
	switch {
	case errors.As(err, &found):
		// The form shows the matches from the error itself (see the
		// company form); the message goes on top.
		return http.StatusConflict, apperr.Invalid{apperr.NonField: found.Detail()}
	case errors.As(err, &c):
		return http.StatusConflict, apperr.Invalid{apperr.NonField: c.Message}
	case errors.Is(err, apperr.ErrConflict):
		return http.StatusConflict, apperr.Invalid{apperr.NonField: "Запись уже изменил другой пользователь. Откройте её заново и повторите правку."}
	}
	return 0, nil
}
