package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/auth"
)

type ctxKey int

const (
	userKey ctxKey = iota
	credentialUntilKey
	requestIDKey // the request's id (requestID), for the log
)

// credentialUntil is when the credential of the request stops being
// valid: the expiry of its Bearer token, or zero (a session, which ends by
// signing out).
func credentialUntil(r *http.Request) time.Time {
	until, _ := r.Context().Value(credentialUntilKey).(time.Time)
	return until
}

// userFrom returns the signed-in user, or nil.
func userFrom(r *http.Request) *auth.User {
	u, _ := r.Context().Value(userKey).(*auth.User)
	return u
}

// scopeFrom returns the signed-in user's scope; the zero scope sees nothing.
func scopeFrom(r *http.Request) access.Scope {
	return userFrom(r).Scope()
}

// sessionCookie names the browser session cookie.
const sessionCookie = "crm_session"

// authenticate finds the caller by a Bearer token or a session cookie and
// puts the user (and the client address for the audit log) in the request context. A bad or
// expired token is refused at once with 401 token_not_valid; no
// credentials at all leave the request anonymous.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u *auth.User
		var until time.Time
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			var id int64
			var err error
			id, until, err = s.tokens.Verify(strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")))
			if err == nil && readOnly(r) {
				u, err = s.users.CachedRequestUser(r.Context(), id)
			} else if err == nil {
				u, err = s.users.RequestUser(r.Context(), id)
			}
			if err != nil || !u.IsActive {
				_ = writeJSON(w, http.StatusUnauthorized, detail{Detail: "Токен недействителен или просрочен", Code: "token_not_valid"})
				return
			}
		} else if c, err := r.Cookie(sessionCookie); err == nil {
			// A request that may write reads its session afresh: it may
			// act on what this process has not yet heard of.
			if readOnly(r) {
				u, err = s.users.CachedUserBySession(r.Context(), c.Value, s.cfg.SessionTTL)
			} else {
				u, err = s.users.UserBySession(r.Context(), c.Value, s.cfg.SessionTTL)
			}
			if err != nil && !errors.Is(err, apperr.ErrUnauthenticated) {
				s.fail(w, r, err)
				return
			}
		}
		ctx := audit.WithClient(r.Context(), s.clientIP(r), r.UserAgent())
		if u != nil {
			ctx = context.WithValue(ctx, userKey, u)
		}
		if !until.IsZero() {
			ctx = context.WithValue(ctx, credentialUntilKey, until)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// syncSessions makes a request that may have written (any but GET and
// HEAD) wait, before its answer is complete, until the session cache has
// forgotten what its writes made stale (auth.SessionCache.Sync), so that
// the next request in this process, whoever sends it, sees them. It
// costs such a request one statement and a NOTIFY's round trip, and
// nothing while the cache is not in use.
func (s *Server) syncSessions(next http.Handler) http.Handler {
	if s.sessions == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if !readOnly(r) {
			s.sessions.Sync(r.Context())
		}
	})
}

// requireUser refuses anonymous requests: 401 for the API, a redirect to
// the sign-in page for pages.
func (s *Server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if userFrom(r) == nil {
			s.fail(w, r, apperr.ErrUnauthenticated)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin refuses everyone but admins with 403, and records the
// refused attempt in the audit log.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := scopeFrom(r).CanManage(); err != nil {
			s.recordDenied(r, "admin.access", "", "", err)
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recordDenied writes a refused attempt to the audit log. Its own failure
// is logged, not shown: the refusal stands either way.
func (s *Server) recordDenied(r *http.Request, action, objectType, objectID string, reason error) {
	detail := map[string]any{"reason": reason.Error(), "method": r.Method, "path": r.URL.Path}
	var forb *apperr.Forbidden
	if errors.As(reason, &forb) {
		maps.Copy(detail, forb.Detail)
	}
	err := audit.Record(r.Context(), s.db, scopeFrom(r), audit.Entry{
		Action: action, ObjectType: objectType, ObjectID: objectID, Outcome: audit.Denied, Detail: detail,
	})
	if err != nil {
		s.log.ErrorContext(r.Context(), "audit of a refused attempt failed", slog.Any("err", err))
	}
}

// clientIP is the caller's address; X-Forwarded-For counts only behind a
// trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isTLS reports whether the client reached us over TLS, directly or
// through a trusted proxy; session cookies are Secure then.
func (s *Server) isTLS(r *http.Request) bool {
	return r.TLS != nil || (s.cfg.TrustProxy && r.Header.Get("X-Forwarded-Proto") == "https")
}

// statusRecorder remembers the status code for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one access-log line per request (with the request id,
// see LogHandler), counts it in the metrics, and turns a panic into a
// logged 500 instead of a dropped connection.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if rec.status == 0 {
					http.Error(rec, "Внутренняя ошибка сервера", http.StatusInternalServerError)
				}
			}
			s.metrics.observe(r, rec.status, time.Since(start))
			if strings.HasPrefix(r.URL.Path, "/static/") {
				return
			}
			s.log.InfoContext(r.Context(), "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int("bytes", rec.bytes), slog.Duration("took", time.Since(start)))
		}()
		next.ServeHTTP(rec, r)
	})
}

// boundBodyRead gives an ordinary request's body s.bodyTimeout to arrive,
// so a client that sends headers and then stalls holds a connection for
// seconds, not for the server's ReadTimeout. Reading past the deadline
// fails with errBodyTimeout, which fail answers with 408; the
// connection is then closed. The deadline is lifted once the body has
// been read, so that a long answer (an export, an event stream) is not cut
// by it. Uploads are exempt: they keep ReadTimeout (see isUpload).
func (s *Server) boundBodyRead(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || isUpload(r) {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(s.bodyTimeout)); err != nil {
			// Not a network connection (tests with a recorder): nothing to bound.
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		next.ServeHTTP(w, r)
	})
}

// isUpload reports whether r carries a file whose body may take minutes
// (bounded by ReadTimeout) rather than boundBodyRead's seconds: the
// upload of an amoCRM export (its size is bounded by the import's limit).
func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/api/imports/" || r.URL.Path == "/admin/imports/")
}

// deadlineBody lifts the connection's read deadline when the body has
// been read to its end.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

// errBodyTimeout is a request body that did not arrive within the body
// timeout: the client's fault (408), unlike any other deadline a handler
// may meet, which is ours.
var errBodyTimeout = errors.New("request body not received in time")

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, fmt.Errorf("%w: %w", errBodyTimeout, err)
	}
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// permissionsPolicy denies the browser features a CRM never uses, so an
// injected script could not reach them either.
const permissionsPolicy = "accelerometer=(), bluetooth=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), " +
	"hid=(), magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=(), xr-spatial-tracking=()"

// securityHeaders sets the headers every answer carries. The CSP allows
// only our own scripts and styles. Answers are not stored by browsers or
// proxies (pages and JSON hold customer data and differ per user) unless
// the handler says otherwise, as the static assets do. HSTS is sent only
// over TLS (directly or behind a trusted proxy): over plain HTTP it would
// be ignored, and a test install would be locked to HTTPS.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		h.Set("Permissions-Policy", permissionsPolicy)
		h.Set("Cache-Control", "no-store")
		if s.isTLS(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
