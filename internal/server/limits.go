package server

import (
	"fmt"
	"net/http"
	"strings"
)

// Request size limits, in one place. Every request body is bounded by the
// class of its route: sign-in and tokens carry a login and a password;
// JSON and form bodies of the resources carry one object (a company with
// its phones, a long note); the import's upload carries a whole export
// (CRM_IMPORT_MAX_MB). A body over its limit is refused with 413 — at once
// when Content-Length says so, otherwise when the handler reads past the
// limit (http.MaxBytesReader, which fail maps to 413).
const (
	// credentialsBodyLimit bounds /login and /api/token/….
	credentialsBodyLimit = 64 << 10
	// maxBody bounds the JSON and form bodies of every other route.
	maxBody = 1 << 20
	// uploadOverhead is the room an upload's form leaves for its other
	// fields and multipart boundaries beyond the file itself.
	uploadOverhead = 1 << 20
)

// MaxHeaderBytes bounds the request line and headers together (the URL's
// length with them): 64 KB holds any URL a list page builds and any
// cookie we set, and refuses a client that sends megabytes of headers.
const MaxHeaderBytes = 64 << 10

// bodyClass is a route's class of request bodies.
type bodyClass int

const (
	ordinaryBody bodyClass = iota
	credentialsBody
	uploadBody
)

// classOf sorts a request into its body class by method and path.
func classOf(r *http.Request) bodyClass {
	switch {
	case isUpload(r):
		return uploadBody
	case r.Method == http.MethodPost && (r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/api/token/")):
		return credentialsBody
	}
	return ordinaryBody
}

// bodyLimit is the largest body r may carry.
func (s *Server) bodyLimit(r *http.Request) int64 {
	switch classOf(r) {
	case uploadBody:
		return s.importMax() + uploadOverhead
	case credentialsBody:
		return credentialsBodyLimit
	}
	return maxBody
}

// tooLarge is a body over its route's limit; its message names the limit.
type tooLarge struct{ limit int64 }

func (e tooLarge) Error() string {
	return "Слишком большой запрос: больше " + humanBytes(e.limit) + "."
}

// humanBytes says a size in Russian: «1 МБ», «64 КБ».
func humanBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d МБ", n>>20)
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f МБ", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d КБ", (n+1023)>>10)
}

// limitBodies bounds every request body by its route class. A declared
// Content-Length over the limit is refused before anything is read;
// uploads are left to the import handler for that, which answers with
// the import's own explanation on its page.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		limit := s.bodyLimit(r)
		if r.ContentLength > limit && classOf(r) != uploadBody {
			// The body is not read; the connection is closed after the
			// answer rather than drained.
			w.Header().Set("Connection", "close")
			s.fail(w, r, tooLarge{limit})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}
