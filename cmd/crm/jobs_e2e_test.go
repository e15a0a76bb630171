package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
)

// Two `crm serve` processes on one PostgreSQL database share its job
// queue: every job runs, and runs once. Each ping job writes one audit
// entry in the transaction that completes it, so a job run twice would
// leave two.
func TestTwoServersOnOneDatabaseRunEachJobOnce(t *testing.T) {
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip("needs PostgreSQL (set " + dbtest.EnvPostgres + ")")
	}
	ctx := context.Background()
	url := dbtest.URL(t, database.Postgres)
	startCRM(t, url)
	startCRM(t, url)

	db, err := database.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	// An enqueue-only client: it never starts, so only the servers work.
	q, err := jobs.New(ctx, db, jobs.Options{NoPeriodic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = q.Stop(ctx) }()
	const batches, perBatch = 20, 15
	for b := range batches {
		args := make([]river.JobArgs, perBatch)
		for i := range args {
			args[i] = jobs.PingArgs{Seq: b*perBatch + i}
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return q.EnqueueMany(ctx, tx, args) }); err != nil {
			t.Fatal(err)
		}
	}
	const total = batches * perBatch

	count := func(query string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(2 * time.Minute)
	for count(`SELECT COUNT(*) FROM river_job WHERE kind = 'jobs.ping' AND state = 'completed'`) < total {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d jobs completed in time", count(`SELECT COUNT(*) FROM river_job WHERE kind = 'jobs.ping' AND state = 'completed'`), total)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Give a job run twice the time to show.
	time.Sleep(2 * time.Second)
	if n := count(`SELECT COUNT(*) FROM audit_log WHERE action = 'jobs.ping'`); n != total {
		t.Fatalf("%d ping entries for %d jobs", n, total)
	}
	if n := count(`SELECT COUNT(DISTINCT object_id) FROM audit_log WHERE action = 'jobs.ping'`); n != total {
		t.Fatalf("%d distinct jobs ran, want %d", n, total)
	}
	if n := count(`SELECT COUNT(*) FROM audit_log WHERE action = 'jobs.ping' AND (actor_name <> '` + jobs.PingActor + `' OR NOT actor_system)`); n != 0 {
		t.Fatalf("%d ping entries do not name the system actor", n)
	}
	rows, err := db.QueryContext(ctx, `SELECT detail FROM audit_log WHERE action = 'jobs.ping'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byClient := map[string]int{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		byClient[clientOf(d)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("jobs worked per process: %v", byClient)
}

// clientOf is the River client id a ping entry's detail names.
func clientOf(detail string) string {
	var d struct {
		Client string `json:"client"`
	}
	_ = json.Unmarshal([]byte(detail), &d)
	return d.Client
}
