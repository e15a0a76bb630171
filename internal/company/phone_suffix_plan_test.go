package company

import (
	"context"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestPhoneSuffixSearchUsesItsIndex checks the plan of a search by the
// last seven digits: the phone rows are found through
// company_phones_suffix_idx, never by reading every phone. PostgreSQL is
// told to avoid sequential scans, as its planner prefers them on a table
// this small; it still must find a usable index.
func TestPhoneSuffixSearchUsesItsIndex(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := NewStore(db)
		p, err := s.plan(access.Scope{UserID: 1, Role: access.RoleAdmin, Data: access.Global}, Query{Text: "123-45-67"})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := conn.Close(); err != nil {
				t.Error(err)
			}
		}()
		prefix := "EXPLAIN QUERY PLAN "
		if db.Dialect == database.Postgres {
			prefix = "EXPLAIN (COSTS OFF) "
			if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			// The connection goes back to the pool: leave it as it was.
			defer func() {
				if _, err := conn.ExecContext(ctx, "RESET enable_seqscan"); err != nil {
					t.Error(err)
				}
			}()
		}
		rows, err := conn.QueryContext(ctx, prefix+p.pageSQL, p.pageArgs...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, string(toText(vals[len(vals)-1])))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "company_phones_suffix_idx") {
			t.Fatalf("the suffix index is not used:\n%s", text)
		}
		if strings.Contains(text, "SCAN company_phones") || strings.Contains(text, "Seq Scan on company_phones") {
			t.Fatalf("the phones are scanned:\n%s", text)
		}
	})
}

func toText(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}
