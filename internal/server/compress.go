package server

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/crmprofi/crm/web/static"
)

// minCompressSize is the smallest body worth gzipping when its length is
// known in advance: below it the gzip header and the CPU cost more than
// they save.
const minCompressSize = 1024

// gzipWriters are reused across requests: a gzip.Writer holds hundreds
// of kilobytes of state, too much to allocate per answer.
//
// The compressor is klauspost/compress's rather than the standard
// library's: at level 1 it gives the same size (9.7 KB for a 66 KB company
// list) for less than half the processor time, and under load gzip was a
// tenth of the server's time per page (README, «Нагрузочный тест»).
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// compressible reports whether a body of this Content-Type shrinks under
// gzip: the text the product writes. Event streams are left alone (each
// event must reach the browser at once, and proxies buffer compressed
// streams); images other than SVG, archives and spreadsheets are
// compressed already.
func compressible(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "text/html", "text/plain", "text/css", "text/csv", "text/javascript",
		"application/json", "application/javascript", "image/svg+xml":
		return true
	}
	return false
}

// compress gzips compressible answers for clients that accept gzip. The
// decision is made when the handler writes its header, from the
// Content-Type it set; streaming answers keep working because Flush
// flushes the compressor first.
func compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gw := &gzipResponseWriter{ResponseWriter: w, accepts: r.Method != http.MethodHead && static.AcceptsGzip(r.Header.Get("Accept-Encoding"))}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

// gzipResponseWriter compresses the body when, at WriteHeader, the answer
// turns out to be worth it.
type gzipResponseWriter struct {
	http.ResponseWriter
	accepts     bool
	wroteHeader bool
	zw          *gzip.Writer
}

func (g *gzipResponseWriter) WriteHeader(code int) {
	if g.wroteHeader || code < http.StatusOK {
		g.ResponseWriter.WriteHeader(code)
		return
	}
	g.wroteHeader = true
	h := g.Header()
	if compressible(h.Get("Content-Type")) && h.Get("Content-Encoding") == "" {
		addVary(h, "Accept-Encoding")
		if g.accepts && worthCompressing(code, h) {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			if etag := h.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
				h.Set("ETag", "W/"+etag) // the bytes differ from the identity body's
			}
			g.zw = gzipWriters.Get().(*gzip.Writer)
			g.zw.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

// worthCompressing rules out answers without a body, partial content,
// bodies a proxy asked us not to transform, and small known lengths.
func worthCompressing(code int, h http.Header) bool {
	if code == http.StatusNoContent || code == http.StatusNotModified || code == http.StatusPartialContent {
		return false
	}
	if strings.Contains(h.Get("Cache-Control"), "no-transform") {
		return false
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n < minCompressSize {
		return false
	}
	return true
}

func (g *gzipResponseWriter) Write(b []byte) (int, error) {
	if !g.wroteHeader {
		if g.Header().Get("Content-Type") == "" {
			g.Header().Set("Content-Type", http.DetectContentType(b))
		}
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

// FlushError sends what was written so far, compressed data included, to
// the client: event streams and streamed exports depend on it.
func (g *gzipResponseWriter) FlushError() error {
	if g.zw != nil {
		if err := g.zw.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Flush is FlushError for callers that use http.Flusher.
func (g *gzipResponseWriter) Flush() { _ = g.FlushError() }

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (g *gzipResponseWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// close finishes the gzip stream and returns the writer to the pool.
func (g *gzipResponseWriter) close() {
	if g.zw == nil {
		return
	}
	_ = g.zw.Close()
	g.zw.Reset(nil)
	gzipWriters.Put(g.zw)
	g.zw = nil
}

// addVary adds value to the Vary header unless it is listed already.
func addVary(h http.Header, value string) {
	for _, v := range h.Values("Vary") {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), value) {
				return
			}
		}
	}
	h.Add("Vary", value)
}
