package audit_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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
		lanesWithoutGaps(t, db)
	})
}

// lanesWithoutGaps checks that every lane numbers its entries 1…n
// without a gap (a rolled back action leaves none; the ids, handed out by
// a sequence on PostgreSQL, may have gaps) and returns how many lanes
// hold entries.
func lanesWithoutGaps(t *testing.T, db *database.DB) int {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT lane, MIN(seq), MAX(seq), COUNT(*) FROM audit_log GROUP BY lane`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	lanes := 0
	for rows.Next() {
		var lane, first, last, n int64
		if err := rows.Scan(&lane, &first, &last, &n); err != nil {
			t.Fatal(err)
		}
		lanes++
		if first != 1 || last != n {
			t.Errorf("lane %d numbers its %d entries %d…%d: gaps", lane, n, first, last)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return lanes
}

var system = access.System("job:test")

// link is an entry's place in the chain.
type link struct{ id, lane, seq int64 }

// links reads the place of every entry, in id order.
func links(t *testing.T, db *database.DB) []link {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT id, lane, seq FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []link
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.id, &l.lane, &l.seq); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// chainOf is the log as its lanes: each lane's entries in order.
func chainOf(ls []link) map[int64][]link {
	out := map[int64][]link{}
	for _, l := range ls {
		out[l.lane] = append(out[l.lane], l)
	}
	for _, c := range out {
		slices.SortFunc(c, func(a, b link) int { return cmp.Compare(a.seq, b.seq) })
	}
	return out
}

// middle is an entry with another after it in its lane, and that one.
func middle(t *testing.T, ls []link) (link, link) {
	t.Helper()
	for _, l := range ls {
		c := chainOf(ls)[l.lane]
		if i := slices.Index(c, l); i+1 < len(c) {
			return l, c[i+1]
		}
	}
	t.Fatal("no lane holds two entries")
	return link{}, link{}
}

// last is the last entry of a lane other than lane 0 that holds two.
func last(t *testing.T, ls []link) link {
	t.Helper()
	lanes := chainOf(ls)
	for lane := int64(1); lane < audit.Lanes; lane++ {
		if c := lanes[lane]; len(c) > 1 {
			return c[len(c)-1]
		}
	}
	t.Fatal("no lane but 0 holds two entries")
	return link{}
}

func TestChainFindsTampering(t *testing.T) {
	tests := []struct {
		name  string
		stmts func(ls []link) []string
		want  func(ls []link) int64 // the entry verify names
	}{
		{"an edited actor name breaks its own link",
			func(ls []link) []string {
				return []string{fmt.Sprintf(`UPDATE audit_log SET actor_name = 'Кто-то другой' WHERE id = %d`, ls[7].id)}
			},
			func(ls []link) int64 { return ls[7].id }},
		{"an edited detail breaks its own link",
			func(ls []link) []string {
				return []string{fmt.Sprintf(`UPDATE audit_log SET detail = '{"text":"подменено"}' WHERE id = %d`, ls[3].id)}
			},
			func(ls []link) int64 { return ls[3].id }},
		{"an edited outcome breaks its own link",
			func(ls []link) []string {
				return []string{fmt.Sprintf(`UPDATE audit_log SET outcome = 'denied' WHERE id = %d`, ls[0].id)}
			},
			func(ls []link) int64 { return ls[0].id }},
		{"an entry rehashed to fit breaks the next link",
			func(ls []link) []string {
				return []string{fmt.Sprintf(`UPDATE audit_log SET hash = 'ab' WHERE id = %d`, ls[5].id)}
			},
			func(ls []link) int64 { return ls[5].id }},
		{"a deleted middle entry breaks the link after it in its lane",
			func(ls []link) []string {
				victim, _ := middle(t, ls)
				return []string{fmt.Sprintf(`DELETE FROM audit_log WHERE id = %d`, victim.id)}
			},
			func(ls []link) int64 { _, next := middle(t, ls); return next.id }},
		{"entries cut off the end are missed by the heads",
			func(ls []link) []string {
				return []string{fmt.Sprintf(`DELETE FROM audit_log WHERE id >= %d`, ls[17].id)}
			},
			func(ls []link) int64 {
				// The first lane (in lane order) that lost entries names the
				// last entry its head knew.
				cut := ls[17:]
				lane := slices.MinFunc(cut, func(a, b link) int { return cmp.Compare(a.lane, b.lane) }).lane
				c := chainOf(ls)[lane]
				return c[len(c)-1].id
			}},
		{"the last entry of one lane cut off is missed by its head",
			func(ls []link) []string {
				return []string{fmt.Sprintf(`DELETE FROM audit_log WHERE id = %d`, last(t, ls).id)}
			},
			func(ls []link) int64 { return last(t, ls).id }},
		{"an entry moved to the end of another lane breaks both",
			func(ls []link) []string {
				l := last(t, ls)
				return []string{fmt.Sprintf(`UPDATE audit_log SET lane = %d, seq = 1000 WHERE id = %d`, (l.lane+1)%audit.Lanes, l.id)}
			},
			func(ls []link) int64 { return last(t, ls).id }},
		{"two entries of a lane swapped break it",
			func(ls []link) []string {
				a, b := middle(t, ls)
				return []string{
					fmt.Sprintf(`UPDATE audit_log SET seq = -1 WHERE id = %d`, a.id),
					fmt.Sprintf(`UPDATE audit_log SET seq = %d WHERE id = %d`, a.seq, b.id),
					fmt.Sprintf(`UPDATE audit_log SET seq = %d WHERE id = %d`, b.seq, a.id),
				}
			},
			func(ls []link) int64 { _, b := middle(t, ls); return b.id }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				ctx := context.Background()
				cast := dbtest.NewCast(t, db)
				record(t, db, cast.Boris.Scope, 40)
				ls := links(t, db)
				if n := len(chainOf(ls)); n < 2 {
					t.Fatalf("the entries went to %d lane(s), want several", n)
				}
				behindTheBack(t, db, tc.stmts(ls)...)
				_, err := audit.Verify(ctx, db)
				b := brokenAt(t, err)
				if want := tc.want(ls); b.ID != want {
					t.Errorf("broken at %d in lane %d (%s), want %d", b.ID, b.Lane, b.Reason, want)
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
				// Before the chain, every entry is in lane 0 numbered by its id.
				behindTheBack(t, db, `UPDATE audit_log SET hash = NULL, seq = -id`, `UPDATE audit_log SET lane = 0, seq = id`)
				if _, err := db.ExecContext(ctx, `UPDATE audit_lane SET last_seq = 0, last_id = 0, last_hash = ''`); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, `UPDATE audit_lane SET last_seq = (SELECT MAX(id) FROM audit_log), last_id = (SELECT MAX(id) FROM audit_log),
					sealed = $1 WHERE lane = 0`, false); err != nil {
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
// every one in its own transaction; the chain must come out whole — one
// entry per action, spread over several lanes, each lane numbered
// without gaps, every link holding (no fork: two entries on the same
// predecessor would break the second).
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
		var objects int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT object_id) FROM audit_log`).Scan(&objects); err != nil {
			t.Fatal(err)
		}
		if objects != writers*each {
			t.Errorf("%d objects, want %d", objects, writers*each)
		}
		if lanes := lanesWithoutGaps(t, db); lanes < 2 {
			t.Errorf("the entries went to %d lane(s), want several", lanes)
		}
	})
}

// TestAuditedWriteIsFewStatements: an entry written in the action's
// transaction costs the head, then the entry and the head's move — one
// statement on PostgreSQL (a data-modifying WITH), two on SQLite — and no
// statement asking which database the transaction is on (the
// transaction's dialect comes from InTx).
func TestAuditedWriteIsFewStatements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		record(t, db, system, 1) // the first append seals lane 0
		for i := range 3 {
			var n int64
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				before := db.Statements()
				err := audit.Record(ctx, tx, system, audit.Entry{Action: "note.delete", ObjectType: "note", ObjectID: audit.ID(int64(i + 10))})
				n = db.Statements() - before
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := int64(3)
			if db.Dialect == database.Postgres {
				want = 2
			}
			if n != want {
				t.Errorf("an audited write sent %d statements, want %d", n, want)
			}
		}
		if _, err := audit.Verify(ctx, db); err != nil {
			t.Fatal(err)
		}
	})
}
