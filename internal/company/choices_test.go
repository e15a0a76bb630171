package company_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestChoicesAtReadsOncePerVersion: many requests at once with the same
// dictionaries' number read the lists once, and get exactly what Choices
// reads; a new number reads them once more; a request with an older
// number takes the newer lists; 0 always reads; a transaction neither
// takes nor leaves lists in memory.
func TestChoicesAtReadsOncePerVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		dbtest.NewCast(t, db)
		store := company.NewStore(db)
		version := func() int64 {
			t.Helper()
			var v int64
			if err := db.QueryRowContext(ctx, `SELECT version FROM dictionary_version`).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		exec := func(q string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// concurrently asks for version from 32 goroutines and returns how
		// many statements they sent.
		concurrently := func(v int64) int64 {
			t.Helper()
			before := db.Statements()
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for range 32 {
				wg.Go(func() {
					if _, err := store.ChoicesAt(ctx, v); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			return db.Statements() - before
		}
		exec(`INSERT INTO spheres (name) VALUES ('Сфера 1')`)
		v1 := version()
		if n := concurrently(v1); n != 1 {
			t.Errorf("32 requests at once: %d statements, want 1", n)
		}
		fresh, err := store.Choices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kept, err := store.ChoicesAt(ctx, v1)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(kept, fresh) {
			t.Errorf("kept lists differ from a fresh read:\n%+v\n%+v", kept, fresh)
		}
		exec(`INSERT INTO spheres (name) VALUES ('Сфера 2')`)
		v2 := version()
		if v2 <= v1 {
			t.Fatalf("a new sphere left the number at %d (was %d)", v2, v1)
		}
		if n := concurrently(v2); n != 1 {
			t.Errorf("32 requests at a new number: %d statements, want 1", n)
		}
		if n := concurrently(v1); n != 0 {
			t.Errorf("32 requests at the older number: %d statements, want 0", n)
		}
		ch, err := store.ChoicesAt(ctx, v1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.Spheres) != 2 {
			t.Errorf("the older number got %d spheres, want the newer 2", len(ch.Spheres))
		}
		before := db.Statements()
		if _, err := store.ChoicesAt(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if n := db.Statements() - before; n != 1 {
			t.Errorf("number 0: %d statements, want 1", n)
		}

		// A transaction's reads see what it has not committed: they must
		// not be kept, nor be served from memory.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ('Сфера отменённая')`); err != nil {
			t.Fatal(err)
		}
		in, err := store.WithTx(tx).ChoicesAt(ctx, v2)
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Spheres) != 3 {
			t.Errorf("inside the transaction: %d spheres, want 3", len(in.Spheres))
		}
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			t.Fatal(err)
		}
		if n := concurrently(version()); n != 0 {
			t.Errorf("after the rollback: %d statements, want 0", n)
		}
		after, err := store.ChoicesAt(ctx, version())
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Spheres) != 2 {
			t.Errorf("after the rollback: %d spheres, want 2", len(after.Spheres))
		}
	})
}
