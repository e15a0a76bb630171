package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestMigration00010MapsKindsToTheContract: stored phone and e-mail kinds
// outside the contract's lists become what the API would give them, and
// company e-mails get the comment contact e-mails have.
func TestMigration00010MapsKindsToTheContract(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		p, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 9); err != nil {
			t.Fatal(err)
		}
		now := database.Now()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO companies (id, name, created_at, updated_at) VALUES (1, 'Ромашка', $1, $1)`, now)
		exec(`INSERT INTO contacts (id, company_id, last_name, created_at, updated_at) VALUES (1, 1, 'Петров', $1, $1)`, now)
		exec(`INSERT INTO company_phones (company_id, position, value, kind) VALUES (1, 0, '1', 'рабочий'), (1, 1, '2', ''), (1, 2, '3', 'fax')`)
		exec(`INSERT INTO contact_phones (contact_id, position, value, kind) VALUES (1, 0, '1', 'cell'), (1, 1, '2', 'mobile')`)
		exec(`INSERT INTO company_emails (company_id, position, value, kind) VALUES (1, 0, 'a@b.ru', 'corp'), (1, 1, 'c@d.ru', '')`)
		exec(`INSERT INTO contact_emails (contact_id, position, value, kind) VALUES (1, 0, 'a@b.ru', 'personal'), (1, 1, 'c@d.ru', 'home')`)
		if _, err := p.UpTo(ctx, 10); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			table string
			want  string
		}{
			{"company_phones", "other work fax"},
			{"contact_phones", "other mobile"},
			{"company_emails", "other work"},
			{"contact_emails", "personal other"},
		} {
			got := kinds(t, db, c.table)
			if got != c.want {
				t.Errorf("%s kinds = %q, want %q", c.table, got, c.want)
			}
		}
		var comment string
		if err := db.QueryRowContext(ctx, "SELECT comment FROM company_emails WHERE position = 0").Scan(&comment); err != nil || comment != "" {
			t.Errorf("company e-mail comment %q, %v", comment, err)
		}
	})
}

// kinds lists the kinds of table's rows in order, separated by spaces.
func kinds(t *testing.T, db *database.DB, table string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT kind FROM "+table+" ORDER BY position")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}
