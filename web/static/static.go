// Package static holds the product's own stylesheet, script and icon
// sprite, embedded in the binary and served under content-hashed names so
// browsers may cache them for a year and still see a new release at once.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// Prefix is the URL path under which Handler serves the assets.
const Prefix = "/static/"

// files holds the assets. Page-specific rules live in css/*.css beside
// app.css and page-specific scripts in js/*.js beside app.js; they are
// appended to app.css and app.js (see bundle), so the browser still loads
// one stylesheet and one script.
//
//go:embed app.css app.js icons.svg favicon.svg css/*.css js/*.js
var files embed.FS

// served are the assets pages link to; everything else in files is
// folded into one of them.
var served = []string{"app.css", "app.js", "icons.svg", "favicon.svg"}

// asset is one embedded file, prepared once at start-up.
type asset struct {
	name   string // "app.css"
	hashed string // "app.3f9a1c2b.css"
	ctype  string
	etag   string
	body   []byte
	gz     []byte // gzip of body, nil when it would not be smaller
}

var (
	byName   = map[string]*asset{} // keyed by plain name
	byHashed = map[string]*asset{} // keyed by hashed name
)

// contentTypes is explicit so that the answer never depends on the host's
// mime database (image/svg+xml in particular is missing on some systems).
var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

func init() {
	for _, name := range served {
		body, err := files.ReadFile(name)
		if err != nil {
			panic("static: reading embedded " + name + ": " + err.Error())
		}
		switch name {
		case "app.css":
			body = bundle(body, "css/*.css", "/* ---- %s ---- */")
		case "app.js":
			body = bundle(body, "js/*.js", "// ---- %s ----")
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:4])
		ext := path.Ext(name)
		a := &asset{
			name:   name,
			hashed: strings.TrimSuffix(name, ext) + "." + h + ext,
			ctype:  contentTypes[ext],
			etag:   `"` + h + `"`,
			body:   body,
			gz:     compress(body),
		}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		byName[a.name] = a
		byHashed[a.hashed] = a
	}
}

// bundle appends the parts matching pattern, in name order, to app (the
// main stylesheet or script), each after a comment line naming it (header
// is its fmt format): the tokens, components and shared helpers come first,
// so page parts can use and refine them, and a page costs no extra request.
func bundle(app []byte, pattern, header string) []byte {
	names, err := fs.Glob(files, pattern)
	if err != nil {
		panic("static: listing " + pattern + ": " + err.Error())
	}
	var b bytes.Buffer
	b.Write(app)
	for _, n := range names {
		part, err := files.ReadFile(n)
		if err != nil {
			panic("static: reading embedded " + n + ": " + err.Error())
		}
		b.WriteString("\n" + fmt.Sprintf(header, n) + "\n")
		b.Write(part)
	}
	return b.Bytes()
}

func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		return nil
	}
	if err := zw.Close(); err != nil {
		return nil
	}
	if buf.Len() >= len(b) {
		return nil
	}
	return buf.Bytes()
}

// Path returns the URL of the named asset with its content hash in the
// file name, for example Path("app.css") == "/static/app.3f9a1c2b.css".
// Pages link to this URL so a new release changes the URL and old copies in
// browser caches are simply never asked for again. An unknown name gives
// the plain, unhashed path, which Handler answers with 404, so a typo shows
// up as a broken link rather than a panic while rendering.
func Path(name string) string {
	if a, ok := byName[name]; ok {
		return Prefix + a.hashed
	}
	return Prefix + name
}

// Handler serves the embedded assets under Prefix. Hashed names are served
// as immutable for a year; the plain names (useful when debugging or for a
// hand-written link) are served with no-cache and an ETag. Anything else is
// 404. Pre-compressed gzip is sent to clients that accept it.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

// Favicon serves the site icon at /favicon.ico, where browsers look for
// it unasked: the SVG asset under its plain name, cached for a day and
// revalidated by ETag after that (the URL carries no hash).
func Favicon() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = Prefix + "favicon.svg"
		serveAsset(w, r2, "public, max-age=86400")
	})
}

func serve(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, "")
}

// serveAsset answers r for the asset its path names. cache overrides the
// Cache-Control of a plain (unhashed) name.
func serveAsset(w http.ResponseWriter, r *http.Request, plainCache string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	cache := "public, max-age=31536000, immutable"
	a, ok := byHashed[name]
	if !ok {
		if a, ok = byName[name]; !ok {
			http.NotFound(w, r)
			return
		}
		cache = "no-cache"
		if plainCache != "" {
			cache = plainCache
		}
	}

	h := w.Header()
	h.Set("Cache-Control", cache)
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if a.gz != nil {
		h.Add("Vary", "Accept-Encoding")
	}
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// etagMatches reports whether an If-None-Match header lists etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// AcceptsGzip reports whether an Accept-Encoding header allows gzip,
// honouring an explicit q=0. The server's compression of pages and JSON
// decides by the same rule as the assets.
func AcceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
	}
	return false
}
