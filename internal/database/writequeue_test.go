package database_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestSQLiteWritersBeginInArrivalOrder: while one transaction of the
// process holds SQLite's write lock, the next ones wait in the process's
// queue (not in SQLite's sleeping busy handler) and begin in the order
// they came, each as soon as the one before it ends.
func TestSQLiteWritersBeginInArrivalOrder(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t, database.SQLite)
	if _, err := db.ExecContext(ctx, `CREATE TABLE queue_order (n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	held := make(chan struct{})
	done := make(chan error, 4)
	go func() {
		done <- db.InTx(ctx, func(tx *sql.Tx) error {
			close(held)
			<-release
			_, err := tx.ExecContext(ctx, `INSERT INTO queue_order (n) VALUES (0)`)
			return err
		})
	}()
	<-held
	for n := 1; n <= 3; n++ {
		go func() {
			done <- db.InTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO queue_order (n) VALUES ($1)`, n)
				return err
			})
		}()
		waitFor(t, func() bool { return db.WritersWaiting() == n })
	}
	close(release)
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	got, err := database.Column[int](ctx, db, `SELECT n FROM queue_order ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] != 0 || got[1] != 1 || got[2] != 2 || got[3] != 3 {
		t.Errorf("transactions committed in the order %v, want [0 1 2 3]", got)
	}
	if n := db.WritersWaiting(); n != 0 {
		t.Errorf("%d writers still counted as waiting", n)
	}
}

// TestSQLiteWriterGivesUpItsPlaceWhenItsRequestEnds: a transaction whose
// context ends while it waits returns the context's error and leaves the
// queue; the others go on.
func TestSQLiteWriterGivesUpItsPlaceWhenItsRequestEnds(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t, database.SQLite)
	release := make(chan struct{})
	held := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.InTx(ctx, func(*sql.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	gone, cancel := context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() { waited <- db.InTx(gone, func(*sql.Tx) error { return nil }) }()
	waitFor(t, func() bool { return db.WritersWaiting() == 1 })
	cancel()
	if err := <-waited; err == nil {
		t.Error("a transaction whose request ended began anyway")
	}
	if n := db.WritersWaiting(); n != 0 {
		t.Errorf("%d writers waiting after the only one left", n)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(*sql.Tx) error { return nil }); err != nil {
		t.Errorf("the queue is stuck after a writer left it: %v", err)
	}
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
