package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/demo"
)

// BenchmarkCompanyPages measures the load test's company pages (the
// list, a name search, a card) through the whole handler stack —
// middleware, the store, templ and gzip, as a browser asks — on a demo
// base of 2,000 companies, for a manager and for the admin.
// CRM_BENCH_DATABASE_URL keeps the base in a database of your own.
// With -cpuprofile it shows where a page's processor time goes besides
// the database's.
func BenchmarkCompanyPages(b *testing.B) {
	for name, open := range benchDatabases(b) {
		db := open()
		ctx := context.Background()
		srv, sum := benchServer(b, db, demo.Options{Companies: 2000, Contacts: 4000, NotesPerCompany: 3, Seed: 1})
		// The manager's first company: its card, and its name's first
		// word for the search, as the load test picks them.
		var card int64
		var cardName string
		if err := db.QueryRowContext(ctx, `SELECT id, name FROM companies WHERE responsible_id = $1 ORDER BY id LIMIT 1`, sum.ManagerID).Scan(&card, &cardName); err != nil {
			b.Fatal(err)
		}
		word := dedup.Tokens(dedup.NormalizeName(cardName))[0]
		for _, who := range []struct {
			name string
			id   int64
		}{{"manager", sum.ManagerID}, {"admin", sum.AdminID}} {
			session, err := srv.users.CreateSession(ctx, who.id, time.Hour, "127.0.0.1", "bench")
			if err != nil {
				b.Fatal(err)
			}
			for _, page := range []struct{ name, path string }{
				{"list", "/companies/?page=2"},
				{"search", "/companies/?search=" + url.QueryEscape(word)},
				{"card", "/companies/" + strconv.FormatInt(card, 10) + "/"},
			} {
				b.Run(fmt.Sprintf("%s/%s/%s", name, who.name, page.name), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, page.path, nil)
						req.Header.Set("Accept-Encoding", "gzip")
						req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
						w := &discardAnswer{header: http.Header{}}
						srv.ServeHTTP(w, req)
						if w.status != http.StatusOK {
							b.Fatalf("status %d", w.status)
						}
					}
				})
			}
		}
	}
}

// discardAnswer is a ResponseWriter that keeps the status and drops the
// body, so that a benchmark measures the server, not a recorder's copy.
type discardAnswer struct {
	header http.Header
	status int
}

func (d *discardAnswer) Header() http.Header { return d.header }

func (d *discardAnswer) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

func (d *discardAnswer) Write(b []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return io.Discard.Write(b)
}
