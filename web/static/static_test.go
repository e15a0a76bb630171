package static

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// get serves one GET request and returns the recorded answer (a recorder
// rather than an *http.Response, so there is no body to close).
func get(t *testing.T, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec
}

func TestPath(t *testing.T) {
	t.Run("hashed names keep the stem and extension", func(t *testing.T) {
		for name, re := range map[string]string{
			"app.css":   `^/static/app\.[0-9a-f]{8}\.css$`,
			"app.js":    `^/static/app\.[0-9a-f]{8}\.js$`,
			"icons.svg": `^/static/icons\.[0-9a-f]{8}\.svg$`,
		} {
			if got := Path(name); !regexp.MustCompile(re).MatchString(got) {
				t.Errorf("Path(%q) = %q, want match of %s", name, got, re)
			}
		}
	})
	t.Run("the hash follows the content", func(t *testing.T) {
		if Path("app.css")[len("/static/app."):][:8] == Path("app.js")[len("/static/app."):][:8] {
			t.Error("app.css and app.js got the same hash")
		}
	})
	t.Run("an unknown name gives an unhashed path", func(t *testing.T) {
		if got := Path("nope.css"); got != "/static/nope.css" {
			t.Errorf("Path(unknown) = %q", got)
		}
	})
}

func TestHandler(t *testing.T) {
	t.Run("a hashed name is served immutable with its type", func(t *testing.T) {
		for name, ctype := range map[string]string{
			"app.css":   "text/css; charset=utf-8",
			"app.js":    "text/javascript; charset=utf-8",
			"icons.svg": "image/svg+xml",
		} {
			res := get(t, Path(name))
			body := res.Body.Bytes()
			want := byName[name].body
			if res.Code != http.StatusOK {
				t.Fatalf("%s: status %d", name, res.Code)
			}
			if got := res.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("%s: Cache-Control %q", name, got)
			}
			if got := res.Header().Get("Content-Type"); got != ctype {
				t.Errorf("%s: Content-Type %q, want %q", name, got, ctype)
			}
			if res.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: no nosniff", name)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("%s: body differs from the embedded file", name)
			}
		}
	})

	t.Run("the plain name is served but not cached for long", func(t *testing.T) {
		res := get(t, "/static/app.css")
		if res.Code != http.StatusOK || res.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("status %d, Cache-Control %q", res.Code, res.Header().Get("Cache-Control"))
		}
	})

	t.Run("unknown or stale names are 404", func(t *testing.T) {
		for _, p := range []string{
			"/static/nope.css",
			"/static/app.00000000.css",
			"/static/",
			"/static/../static.go",
			"/static/static.go",
			"/app.css",
		} {
			if res := get(t, p); res.Code != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", p, res.Code)
			}
		}
	})

	t.Run("a matching ETag gives 304", func(t *testing.T) {
		first := get(t, Path("app.css"))
		etag := first.Header().Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		res := get(t, Path("app.css"), "If-None-Match", etag)
		if res.Code != http.StatusNotModified {
			t.Errorf("status %d, want 304", res.Code)
		}
	})

	t.Run("gzip is sent to clients that accept it", func(t *testing.T) {
		res := get(t, Path("app.css"), "Accept-Encoding", "br, gzip")
		if res.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", res.Header().Get("Content-Encoding"))
		}
		if !strings.Contains(res.Header().Get("Vary"), "Accept-Encoding") {
			t.Error("no Vary: Accept-Encoding")
		}
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		want := byName["app.css"].body
		if !bytes.Equal(body, want) {
			t.Error("decompressed body differs")
		}
		if res := get(t, Path("app.css"), "Accept-Encoding", "gzip;q=0"); res.Header().Get("Content-Encoding") != "" {
			t.Error("gzip sent despite q=0")
		}
	})

	t.Run("only GET and HEAD are allowed", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, Path("app.css"), nil)
		rec := httptest.NewRecorder()
		Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST: status %d", rec.Code)
		}
		req = httptest.NewRequest(http.MethodHead, Path("app.css"), nil)
		rec = httptest.NewRecorder()
		Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
			t.Errorf("HEAD: status %d, body %d bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
		}
	})
}

func TestAppAssetsBundleTheirParts(t *testing.T) {
	for _, c := range []struct{ asset, parts string }{
		{"app.css", "css/*.css"},
		{"app.js", "js/*.js"},
	} {
		body := get(t, Path(c.asset)).Body.Bytes()
		app, _ := files.ReadFile(c.asset)
		if !bytes.HasPrefix(body, app) {
			t.Errorf("the served %s does not start with its own file", c.asset)
		}
		names, _ := fs.Glob(files, c.parts)
		if len(names) == 0 {
			t.Errorf("no parts match %s", c.parts)
		}
		for _, n := range names {
			part, _ := files.ReadFile(n)
			if !bytes.Contains(body, part) {
				t.Errorf("the served %s lacks %s", c.asset, n)
			}
			if res := get(t, "/static/"+n); res.Code != http.StatusNotFound {
				t.Errorf("%s is served on its own (status %d); it belongs in %s only", n, res.Code, c.asset)
			}
		}
	}
}

func TestSprite(t *testing.T) {
	sprite, _ := files.ReadFile("icons.svg")
	for _, id := range []string{
		"i-desk", "i-tasks", "i-companies", "i-contacts", "i-search", "i-bell", "i-plus", "i-phone",
		"i-settings", "i-logout", "i-import", "i-export", "i-menu", "i-close", "i-users", "i-list",
		"i-audit", "i-trash", "i-edit", "i-pin", "i-mail", "i-check", "i-chevron-left",
		"i-chevron-right", "i-note",
	} {
		if !bytes.Contains(sprite, []byte(`<symbol id="`+id+`" viewBox="0 0 24 24">`)) {
			t.Errorf("sprite has no 24 px symbol %q", id)
		}
	}
}
