package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
)

// TestAuditAccessMatrix: the log's list, page and export over the cast —
// the admin gets them, everyone else 403 with nothing of the log, and
// every refusal is in the log itself.
func TestAuditAccessMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		routes := []struct{ path, deniedAs string }{
			{"/api/audit/", "audit.list"},
			{"/admin/audit/", "admin.access"},
			{"/api/audit/export/", "audit.export"},
			{"/admin/audit/export/", "audit.export"},
		}
		for _, rt := range routes {
			t.Run(rt.path, func(t *testing.T) {
				before := adminAuditRows(t, e.db, rt.deniedAs, audit.Denied)
				for _, m := range e.cast.All() {
					rec := e.do(&m, "GET", rt.path, nil)
					want := http.StatusForbidden
					if m.Scope.IsAdmin() {
						want = http.StatusOK
					}
					if rec.Code != want {
						t.Errorf("%s: %d, want %d", m.Username, rec.Code, want)
					}
					if want == http.StatusForbidden && strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
						t.Errorf("%s: a refusal sent a CSV file", m.Username)
					}
				}
				if n := adminAuditRows(t, e.db, rt.deniedAs, audit.Denied) - before; n != len(e.cast.All())-1 {
					t.Errorf("%d refusals audited as %s, want %d", n, rt.deniedAs, len(e.cast.All())-1)
				}
			})
		}
	})
}

// TestAuditExportCSV: the export is the filtered log, all pages of it, as
// CSV that Excel opens (BOM, «;») with formulas neutralised; it is
// audited with its filters and row count.
func TestAuditExportCSV(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		for i := range 60 {
			if err := audit.Record(ctx, e.db, e.cast.Boris.Scope, audit.Entry{Action: "note.delete", ObjectType: "note", ObjectID: audit.ID(int64(i + 1)),
				Detail: map[string]any{"text": "заметка"}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := audit.Record(ctx, e.db, e.cast.Boris.Scope, audit.Entry{Action: "note.delete", ObjectType: "note", ObjectID: "=HYPERLINK(\"http://x\")",
			IP: "@evil"}); err != nil {
			t.Fatal(err)
		}
		if err := audit.Record(ctx, e.db, e.cast.Admin.Scope, audit.Entry{Action: "company.delete", ObjectType: "company", ObjectID: "1"}); err != nil {
			t.Fatal(err)
		}
		rec := e.do(&e.cast.Admin, "GET", "/admin/audit/export/?action=note&page=2", nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("status %d, %s", rec.Code, rec.Header().Get("Content-Type"))
		}
		body := rec.Body.String()
		if !strings.HasPrefix(body, "\uFEFF") {
			t.Fatal("no BOM")
		}
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF")))
		r.Comma = ';'
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1+61 {
			t.Fatalf("%d lines, want the header and 61 entries (every page, notes only)", len(rows))
		}
		if rows[0][0] != "№" || rows[0][len(rows[0])-1] != "Хеш" {
			t.Errorf("header %v", rows[0])
		}
		newest := rows[1]
		if newest[8] != `'=HYPERLINK("http://x")` || newest[4] != "'@evil" {
			t.Errorf("formula not neutralised: %q", newest)
		}
		if newest[5] != "Заметка удалена" || newest[6] != "note.delete" || newest[2] != "Борис Бородин" || len(newest[11]) != 64 {
			t.Errorf("entry %q", newest)
		}
		var detail string
		if err := e.db.QueryRowContext(ctx, `SELECT detail FROM audit_log WHERE action = 'audit.export' AND outcome = 'ok'`).Scan(&detail); err != nil {
			t.Fatal(err)
		}
		var d struct {
			Format  string            `json:"format"`
			Rows    int               `json:"rows"`
			Filters map[string]string `json:"filters"`
		}
		if err := json.Unmarshal([]byte(detail), &d); err != nil {
			t.Fatal(err)
		}
		if d.Format != "csv" || d.Rows != 61 || d.Filters["action"] != "note" {
			t.Errorf("export audited as %s", detail)
		}
		if _, err := audit.Verify(ctx, e.db); err != nil {
			t.Errorf("the chain after the export: %v", err)
		}
	})
}

// TestAuditPageShowsTheChain: the page says the chain holds up to the
// last entry, and after an entry is edited behind the application's back
// it says, in the alert, which entry breaks it.
func TestAuditPageShowsTheChain(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		for i := range 5 {
			if err := audit.Record(ctx, e.db, e.cast.Admin.Scope, audit.Entry{Action: "user.update", ObjectType: "user", ObjectID: audit.ID(int64(i + 1))}); err != nil {
				t.Fatal(err)
			}
		}
		chain := func() (string, string) {
			rec := e.do(&e.cast.Admin, "GET", "/admin/audit/", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			s := adminHTML(t, rec.Body.String()).Find(`[data-testid="audit-chain"]`)
			state, _ := s.Attr("data-state")
			return state, strings.Join(strings.Fields(s.Text()), " ")
		}
		if state, text := chain(); state != "verified" || !strings.Contains(text, "Цепочка цела") {
			t.Fatalf("%s: %q", state, text)
		}
		var victim int64
		if err := e.db.QueryRowContext(ctx, `SELECT id FROM audit_log WHERE action = 'user.update' ORDER BY id LIMIT 1 OFFSET 2`).Scan(&victim); err != nil {
			t.Fatal(err)
		}
		stmts := []string{fmt.Sprintf(`UPDATE audit_log SET actor_name = 'Никто' WHERE id = %d`, victim)}
		if e.db.Dialect == database.Postgres {
			stmts = append(append([]string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}, stmts...), `ALTER TABLE audit_log ENABLE TRIGGER USER`)
		} else {
			stmts = append([]string{`DROP TRIGGER audit_log_no_update`}, stmts...)
		}
		for _, s := range stmts {
			if _, err := e.db.ExecContext(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		// The page checked up to the end before the edit: the edit is
		// behind its anchor, and the anchor itself did not change. The
		// full check ("crm audit verify") finds it; the page finds it
		// once its anchor is gone — here, by starting over.
		if _, err := e.db.ExecContext(ctx, `UPDATE audit_lane SET verified_seq = 0, verified_hash = ''`); err != nil {
			t.Fatal(err)
		}
		state, text := chain()
		if want := fmt.Sprintf("Цепочка нарушена на записи %d", victim); state != "broken" || !strings.Contains(text, want) {
			t.Fatalf("%s: %q, want %q", state, text, want)
		}

		// The full check (the daily job, crm audit verify) sees the edit
		// without any help and the page shows its result.
		full := func() (string, string) {
			rec := e.do(&e.cast.Admin, "GET", "/admin/audit/", nil)
			s := adminHTML(t, rec.Body.String()).Find(`[data-testid="audit-full"]`)
			state, _ := s.Attr("data-state")
			return state, strings.Join(strings.Fields(s.Text()), " ")
		}
		if state, text := full(); state != "never" || !strings.Contains(text, "Полной проверки ещё не было") {
			t.Fatalf("before any full check: %s: %q", state, text)
		}
		if c, err := audit.VerifyAll(ctx, e.db); err != nil || c.Broken == nil || c.Broken.ID != victim {
			t.Fatalf("full check = %+v, %v; want broken at %d", c, err, victim)
		}
		if state, text := full(); state != "broken" || !strings.Contains(text, fmt.Sprintf("Полная проверка: цепочка нарушена на записи %d", victim)) {
			t.Fatalf("after the full check: %s: %q", state, text)
		}
	})
}
