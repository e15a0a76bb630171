package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/demo"
)

// BenchmarkPaletteSuggest measures GET /api/search/ through the whole
// handler stack on a base from internal/demo's generator: 20 000
// companies and 40 000 contacts by default; CRM_BENCH_COMPANIES sets
// another volume (500000 is `crm bench`'s), and CRM_BENCH_DATABASE_URL
// keeps the base in a database of your own between runs (demo.Load only
// tops it up).
func BenchmarkPaletteSuggest(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("CRM_BENCH_COMPANIES")); err == nil && v > 0 {
		n = v
	}
	for name, open := range benchDatabases(b) {
		db := open()
		ctx := context.Background()
		srv, sum := benchServer(b, db, demo.Options{Companies: n, Contacts: 2 * n, Seed: 1})
		admin, err := srv.users.CreateSession(ctx, sum.AdminID, time.Hour, "127.0.0.1", "bench")
		if err != nil {
			b.Fatal(err)
		}
		manager, err := srv.users.CreateSession(ctx, sum.ManagerID, time.Hour, "127.0.0.1", "bench")
		if err != nil {
			b.Fatal(err)
		}
		p := paletteProbes(b, db)
		for _, tc := range []struct{ name, session, q string }{
			{"one letter/admin", admin, "к"},
			{"one letter/manager", manager, "к"},
			{"word prefix/admin", admin, p.prefix},
			{"two words/admin", admin, p.words},
			{"ИНН/manager", manager, p.inn},
			{"phone another way/admin", admin, p.phone},
			{"contact surname/admin", admin, p.surname},
		} {
			b.Run(fmt.Sprintf("%s/%d/%s", name, sum.Companies, tc.name), func(b *testing.B) {
				path := "/api/search/?q=" + url.QueryEscape(tc.q)
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tc.session})
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %.300s", rec.Code, rec.Body.String())
					}
				}
			})
		}
	}
}

// benchDatabases are the bases a server benchmark runs on, by name: one
// of each dialect, or the one CRM_BENCH_DATABASE_URL names, kept between
// runs.
func benchDatabases(b *testing.B) map[string]func() *database.DB {
	b.Helper()
	dbs := map[string]func() *database.DB{}
	if u := os.Getenv("CRM_BENCH_DATABASE_URL"); u != "" {
		dbs["own"] = func() *database.DB { return openBenchDB(b, u) }
		return dbs
	}
	for _, d := range dbtest.Dialects() {
		dbs[string(d)] = func() *database.DB { return dbtest.New(b, d) }
	}
	return dbs
}

// benchServer tops db up to the demo base of opts (demo.Load), gathers
// its statistics and returns a server on it.
func benchServer(b *testing.B, db *database.DB, opts demo.Options) (*Server, demo.Summary) {
	b.Helper()
	ctx := context.Background()
	sum, err := demo.Load(ctx, db, opts)
	if err != nil {
		b.Fatal(err)
	}
	q := "ANALYZE"
	if db.Dialect == database.Postgres {
		q = "VACUUM ANALYZE"
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		b.Fatal(err)
	}
	cfg := config.Config{SecretKey: strings.Repeat("k", 32), Location: time.UTC, SessionTTL: time.Hour}
	return New(cfg, slog.New(slog.DiscardHandler), db), sum
}

func openBenchDB(b *testing.B, u string) *database.DB {
	b.Helper()
	db, err := database.Open(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	return db
}

// paletteInputs are what people type into the palette, taken from the base.
type paletteInputs struct{ prefix, words, inn, phone, surname string }

func paletteProbes(b *testing.B, db *database.DB) paletteInputs {
	b.Helper()
	var p paletteInputs
	var name, e164 string
	ctx := context.Background()
	err := db.QueryRowContext(ctx, `SELECT c.name, c.inn, p.e164 FROM companies c JOIN company_phones p ON p.company_id = c.id
		WHERE c.name LIKE 'ООО%' ORDER BY c.id LIMIT 1 OFFSET 1000`).Scan(&name, &p.inn, &e164)
	if err != nil {
		b.Fatal(err)
	}
	words := dedup.Tokens(dedup.NormalizeName(name))
	p.prefix = string([]rune(words[0])[:min(4, len([]rune(words[0])))])
	p.words = strings.Join(words[:min(2, len(words))], " ")
	d := strings.TrimPrefix(e164, "+7")
	p.phone = "8 (" + d[:3] + ") " + d[3:6] + "-" + d[6:8] + "-" + d[8:]
	if err := db.QueryRowContext(ctx, `SELECT last_name FROM contacts ORDER BY id LIMIT 1 OFFSET 1000`).Scan(&p.surname); err != nil {
		b.Fatal(err)
	}
	return p
}
