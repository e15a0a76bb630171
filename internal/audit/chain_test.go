package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// record writes n entries through Record in one transaction and returns
// the ids of the log in order.
func record(t *testing.T, db *database.DB, by access.Scope, n int) (ids []int64) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for i := range n {
			err := audit.Record(ctx, tx, by, audit.Entry{Action: "note.delete", ObjectType: "note", ObjectID: audit.ID(int64(i + 1)),
				Detail: map[string]any{"text": fmt.Sprintf("заметка №%d", i), "n": i, "b": true}})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err = database.Column[int64](ctx, db, `SELECT id FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// behindTheBack runs statements on audit_log as someone with the
// database's own rights would, past the append-only triggers: on
// PostgreSQL the superuser disables them for the while, on SQLite anyone
// with the file drops them.
func behindTheBack(t *testing.T, db *database.DB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	if db.Dialect == database.Postgres {
		stmts = append(append([]string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}, stmts...), `ALTER TABLE audit_log ENABLE TRIGGER USER`)
	} else {
		stmts = append([]string{`DROP TRIGGER IF EXISTS audit_log_no_update`, `DROP TRIGGER IF EXISTS audit_log_no_delete`}, stmts...)
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func brokenAt(t *testing.T, err error) *audit.Broken {
	t.Helper()
	var b *audit.Broken
	if !errors.As(err, &b) {
		t.Fatalf("verify = %v, want a broken link", err)
	}
	return b
}

func TestChainVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		t.Run("a fresh base verifies clean", func(t *testing.T) {
			if _, err := audit.Verify(ctx, db); err != nil {
				t.Fatal(err)
			}
		})
		ids := record(t, db, cast.Admin.Scope, 20)
		// A refusal recorded on the database, not in a transaction.
		if err := audit.Record(ctx, db, cast.Alisa.Scope, audit.Entry{Action: "audit.list", Outcome: audit.Denied}); err != nil {
			t.Fatal(err)
		}
		// A rolled back action leaves no entry and no gap.
		stop := errors.New("stop")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if err := audit.Record(ctx, tx, cast.Admin.Scope, audit.Entry{Action: "company.delete"}); err != nil {
				return err
			}
			return stop
		})
		if !errors.Is(err, stop) {
			t.Fatal(err)
		}
		if err := audit.Record(ctx, db, system, audit.Entry{Action: "jobs.ping"}); err != nil {
			t.Fatal(err)
		}
		n, err := audit.Verify(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(len(ids) + 2); n != want {
			t.Errorf("verified %d entries, want %d", n, want)
		}
		var lastID, rows int64
		if err := db.QueryRowContext(ctx, `SELECT MAX(id), COUNT(*) FROM audit_log`).Scan(&lastID, &rows); err != nil {
			t.Fatal(err)
		}
		if lastID != rows {
			t.Errorf("last id %d for %d entries: the ids have gaps", lastID, rows)
		}
	})
}

var system = access.System("job:test")

func TestChainFindsTampering(t *testing.T) {
	tests := []struct {
		name  string
		stmts func(ids []int64) []string
		want  func(ids []int64) int64
	}{
		{"an edited actor name breaks its own link",
			func(ids []int64) []string {
				return []string{fmt.Sprintf(`UPDATE audit_log SET actor_name = 'Кто-то другой' WHERE id = %d`, ids[7])}
			},
			func(ids []int64) int64 { return ids[7] }},
		{"an edited detail breaks its own link",
			func(ids []int64) []string {
				return []string{fmt.Sprintf(`UPDATE audit_log SET detail = '{"text":"подменено"}' WHERE id = %d`, ids[3])}
			},
			func(ids []int64) int64 { return ids[3] }},
		{"an edited time breaks its own link",
			func(ids []int64) []string {
				return []string{fmt.Sprintf(`UPDATE audit_log SET outcome = 'denied' WHERE id = %d`, ids[0])}
			},
			func(ids []int64) int64 { return ids[0] }},
		{"an entry rehashed to fit breaks the next link",
			func(ids []int64) []string {
				return []string{fmt.Sprintf(`UPDATE audit_log SET hash = 'ab' WHERE id = %d`, ids[5])}
			},
			func(ids []int64) int64 { return ids[5] }},
		{"a deleted middle entry breaks the link after it",
			func(ids []int64) []string {
				return []string{fmt.Sprintf(`DELETE FROM audit_log WHERE id = %d`, ids[9])}
			},
			func(ids []int64) int64 { return ids[10] }},
		{"entries cut off the end are missed by the head",
			func(ids []int64) []string {
				return []string{fmt.Sprintf(`DELETE FROM audit_log WHERE id >= %d`, ids[17])}
			},
			func(ids []int64) int64 { return ids[17] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				ctx := context.Background()
				cast := dbtest.NewCast(t, db)
				ids := record(t, db, cast.Boris.Scope, 20)
				behindTheBack(t, db, tc.stmts(ids)...)
				_, err := audit.Verify(ctx, db)
				b := brokenAt(t, err)
				if want := tc.want(ids); b.ID != want {
					t.Errorf("broken at %d (%s), want %d", b.ID, b.Reason, want)
				}
				if b.Reason == "" {
					t.Error("no reason given")
				}
			})
		})
	}
}

func TestLogIsAppendOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		ids := record(t, db, cast.Admin.Scope, 3)
		refused := []string{
			fmt.Sprintf(`UPDATE audit_log SET actor_name = 'x' WHERE id = %d`, ids[1]),
			fmt.Sprintf(`UPDATE audit_log SET hash = NULL WHERE id = %d`, ids[1]),
			fmt.Sprintf(`UPDATE audit_log SET hash = 'ab' WHERE id = %d`, ids[1]),
			fmt.Sprintf(`DELETE FROM audit_log WHERE id = %d`, ids[2]),
			`DELETE FROM audit_log`,
		}
		if db.Dialect == database.Postgres {
			refused = append(refused, `TRUNCATE audit_log`)
		}
		for _, s := range refused {
			if _, err := db.ExecContext(ctx, s); err == nil {
				t.Errorf("%s: allowed, want refused", s)
			}
		}
		if n, err := audit.Verify(ctx, db); err != nil || n != int64(len(ids)) {
			t.Errorf("verify = %d, %v; want %d entries intact", n, err, len(ids))
		}
	})
}

// TestOldEntriesAreSealed takes a base whose entries were written before
// the chain existed (no hash, head unsealed, as the migration leaves
// them) and checks both ways they get hashed: Seal, or the first audited
// write.
func TestOldEntriesAreSealed(t *testing.T) {
	for _, how := range []string{"Seal", "the first audited write"} {
		t.Run(how, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				ctx := context.Background()
				cast := dbtest.NewCast(t, db)
				record(t, db, cast.Admin.Scope, 2500) // more than one sealing batch
				behindTheBack(t, db, `UPDATE audit_log SET hash = NULL`)
				if _, err := db.ExecContext(ctx, `UPDATE audit_head SET last_hash = '', sealed = $1`, false); err != nil {
					t.Fatal(err)
				}
				if _, err := audit.Verify(ctx, db); err == nil {
					t.Fatal("entries without a hash verified")
				}
				if how == "Seal" {
					if err := audit.Seal(ctx, db); err != nil {
						t.Fatal(err)
					}
				} else if err := audit.Record(ctx, db, cast.Admin.Scope, audit.Entry{Action: "auth.login"}); err != nil {
					t.Fatal(err)
				}
				n, err := audit.Verify(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				if want := int64(2500); n < want {
					t.Errorf("verified %d, want at least %d", n, want)
				}
				if err := audit.Seal(ctx, db); err != nil {
					t.Fatalf("sealing twice: %v", err)
				}
			})
		})
	}
}

// TestChainUnderConcurrentWriters: 8 writers × 200 audited actions each,
// every one in its own transaction; the chain
// must come out whole — one entry per action, ids without gaps, every
// link holding (no fork: two entries on the same predecessor would break
// the second).
func TestChainUnderConcurrentWriters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		const writers, each = 8, 200
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					err := db.InTx(ctx, func(tx *sql.Tx) error {
						return audit.Record(ctx, tx, cast.Gleb.Scope, audit.Entry{Action: "company.update", ObjectType: "company",
							ObjectID: audit.ID(int64(w*each + i)), Detail: map[string]any{"writer": w, "i": i}})
					})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		n, err := audit.Verify(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if n != writers*each {
			t.Errorf("verified %d entries, want %d", n, writers*each)
		}
		var lastID, rows, objects int64
		if err := db.QueryRowContext(ctx, `SELECT MAX(id), COUNT(*), COUNT(DISTINCT object_id) FROM audit_log`).Scan(&lastID, &rows, &objects); err != nil {
			t.Fatal(err)
		}
		if lastID != rows || objects != writers*each {
			t.Errorf("last id %d, %d entries, %d objects: want %d of each", lastID, rows, objects, writers*each)
		}
	})
}
