package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
)

// requestIDHeader carries the request id in both directions.
const requestIDHeader = "X-Request-ID"

// saneRequestID is an incoming X-Request-ID we keep (a proxy's or a
// client's): short, and nothing a log reader could mistake for structure.
var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// requestID gives every request an id — the caller's X-Request-ID when it
// is sane, a random one otherwise — puts it in the context, where the
// logger finds it (LogHandler), and echoes it in the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !saneRequestID.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RequestID is the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// LogHandler wraps h so that every line logged with a request's context
// carries its request_id, and nothing secret reaches the log: attributes
// named like a credential (password, token, secret, cookie,
// authorization) are replaced, and in every text bearer tokens, JWTs,
// calendar feed tokens and phone numbers are masked (+7 *** ***-45-67).
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(logHandler); ok {
		return h
	}
	return logHandler{h}
}

type logHandler struct{ next slog.Handler }

func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h logHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, maskSecrets(rec.Message), rec.PC)
	if id := RequestID(ctx); id != "" {
		out.AddAttrs(slog.String("request_id", id))
	}
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	safe := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		safe[i] = redactAttr(a)
	}
	return logHandler{h.next.WithAttrs(safe)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.next.WithGroup(name)} }

// secretKeys are parts of attribute names whose values are never logged.
var secretKeys = []string{"password", "token", "secret", "cookie", "authorization"}

const redacted = "[скрыто]"

func redactAttr(a slog.Attr) slog.Attr {
	key := strings.ToLower(a.Key)
	for _, k := range secretKeys {
		if strings.Contains(key, k) {
			return slog.String(a.Key, redacted)
		}
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, maskSecrets(v.String()))
	case slog.KindGroup:
		group := v.Group()
		safe := make([]any, len(group))
		for i, g := range group {
			safe[i] = redactAttr(g)
		}
		return slog.Group(a.Key, safe...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, maskSecrets(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, maskSecrets(x.String()))
		case string:
			return slog.String(a.Key, maskSecrets(x))
		default:
			return slog.String(a.Key, maskSecrets(fmt.Sprint(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

var (
	bearerText = regexp.MustCompile(`(?i)(bearer\s+)\S+`)
	jwtText    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
	feedText   = regexp.MustCompile(feedPath + `[^/\s.?"]+`)
	// phoneText is a candidate phone number: digits with the separators
	// people type; maskPhone decides by the number of digits.
	phoneText = regexp.MustCompile(`\+?\d[\d \-().]{8,}\d`)
	isoDate   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
)

// maskSecrets masks the credentials and phone numbers in a text.
func maskSecrets(s string) string {
	if s == "" {
		return s
	}
	s = bearerText.ReplaceAllString(s, "${1}"+redacted)
	s = jwtText.ReplaceAllString(s, redacted)
	s = feedText.ReplaceAllString(s, feedPath+redacted)
	return phoneText.ReplaceAllStringFunc(s, maskPhone)
}

// maskPhone keeps a phone number's last four digits: +7 *** ***-45-67.
// (Russian numbers keep +7; others show only a +.) A
// run that is not a phone (too few or too many digits, a date) is kept.
func maskPhone(m string) string {
	if isoDate.MatchString(m) {
		return m
	}
	digits := make([]byte, 0, len(m))
	for i := range len(m) {
		if m[i] >= '0' && m[i] <= '9' {
			digits = append(digits, m[i])
		}
	}
	n := len(digits)
	if n < 10 || n > 15 {
		return m
	}
	prefix := ""
	switch {
	case n == 11 && (digits[0] == '7' || digits[0] == '8'):
		prefix = "+7 "
	case strings.HasPrefix(m, "+"):
		prefix = "+" // another country: its code is not told apart from the number
	}
	return prefix + "*** ***-" + string(digits[n-4:n-2]) + "-" + string(digits[n-2:])
}
