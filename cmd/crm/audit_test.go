package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestAuditVerifyCommand runs the real binary: a whole chain is OK with
// its count; a chain with an entry edited behind the application's back
// fails with exit status 1 and names that entry.
func TestAuditVerifyCommand(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			url := dbtest.URL(t, d)
			db := openDB(t, url)
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				for i := range 30 {
					if err := audit.Record(ctx, tx, access.System("test"), audit.Entry{Action: "company.delete", ObjectType: "company",
						ObjectID: audit.ID(int64(i + 1))}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			out, errOut, err := crmRun(t, url, "audit", "verify")
			if err != nil || !strings.Contains(out, "OK") || !strings.Contains(out, "записей: 30") {
				t.Fatalf("verify of a whole chain: %v\n%s%s", err, out, errOut)
			}

			var victim int64
			if err := db.QueryRowContext(ctx, `SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 11`).Scan(&victim); err != nil {
				t.Fatal(err)
			}
			tamper := []string{fmt.Sprintf(`UPDATE audit_log SET object_id = '999' WHERE id = %d`, victim)}
			if d == database.Postgres {
				tamper = append(append([]string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}, tamper...), `ALTER TABLE audit_log ENABLE TRIGGER USER`)
			} else {
				tamper = append([]string{`DROP TRIGGER audit_log_no_update`}, tamper...)
			}
			for _, s := range tamper {
				if _, err := db.ExecContext(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			out, errOut, err = crmRun(t, url, "audit", "verify")
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("verify of a tampered chain: %v, want exit status 1\n%s%s", err, out, errOut)
			}
			if want := fmt.Sprintf("запись %d", victim); !strings.Contains(out, want) || !strings.Contains(errOut, fmt.Sprint(victim)) {
				t.Errorf("output does not name entry %d:\n%s%s", victim, out, errOut)
			}
		})
	}
}
