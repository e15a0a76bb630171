package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// sink drops what is written, after the JSON handler has encoded it (the
// encoding is part of what is measured).
type sink struct{}

func (sink) Write(p []byte) (int, error) { return len(p), nil }

// The cost of LogHandler on an access-log line (request id + masking),
// against the bare JSON handler:
//
//	go test -run '^$' -bench 'AccessLog|Observe' -benchmem ./internal/server/
func BenchmarkAccessLogLine(b *testing.B) {
	ctx := context.WithValue(context.Background(), requestIDKey, "0c66d754364321c7")
	for _, c := range []struct {
		name string
		log  *slog.Logger
	}{
		{"bare", slog.New(slog.NewJSONHandler(sink{}, nil))},
		{"LogHandler", slog.New(LogHandler(slog.NewJSONHandler(sink{}, nil)))},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.log.InfoContext(ctx, "request", slog.String("method", "GET"), slog.String("path", "/api/companies/123/"),
					slog.Int("status", 200), slog.Int("bytes", 4096), slog.Duration("took", 1500*time.Microsecond))
			}
		})
	}
}

// The cost of counting one request in the metrics (route pattern, two
// label lookups, a histogram).
func BenchmarkObserveRequest(b *testing.B) {
	db := dbtest.New(b, database.SQLite)
	s := New(config.Config{SecretKey: strings.Repeat("k", 32), Location: time.UTC}, slog.New(slog.DiscardHandler), db)
	req := httptest.NewRequest("GET", "/api/companies/1/", nil)
	rctx := chi.NewRouteContext()
	rctx.RoutePatterns = []string{"/api/*", "/companies/{id}/"}
	req = req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, rctx))
	b.ReportAllocs()
	for b.Loop() {
		s.metrics.observe(req, 200, time.Millisecond)
	}
}
