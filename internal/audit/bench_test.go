package audit_test

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// plainSeq numbers the entries of plainRecord, in a lane of their own
// (-1) outside the chain's, as the unique (lane, seq) index wants.
var plainSeq atomic.Int64

// plainRecord is the audited write as it was before the chain: one
// INSERT, no head, no hash — the baseline the chain's cost is measured
// against.
func plainRecord(ctx context.Context, tx *sql.Tx, e audit.Entry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (lane, seq, at, actor_id, actor_name, actor_system, action, object_type, object_id, outcome, ip, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		-1, plainSeq.Add(1), database.Now(), database.NullInt64(e.ActorID), "Админ Системный", false, e.Action, e.ObjectType, e.ObjectID, audit.OK, "10.0.0.1", `{"text":"заметка"}`)
	return err
}

// BenchmarkAuditedWrite is audited writes per second — each its own
// transaction, as an action's — with the chain (Record) and without it
// (plainRecord), from one writer and from parallel writers (GOMAXPROCS×4
// goroutines), where the chain's head makes the appends queue.
//
//	go test -run '^$' -bench AuditedWrite -benchtime 3s ./internal/audit/
func BenchmarkAuditedWrite(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		for _, chained := range []bool{true, false} {
			name := string(d) + "/plain"
			if chained {
				name = string(d) + "/chain"
			}
			write := func(ctx context.Context, db *database.DB, i int) error {
				return db.InTx(ctx, func(tx *sql.Tx) error {
					e := audit.Entry{Action: "note.delete", ObjectType: "note", ObjectID: strconv.Itoa(i), Detail: map[string]any{"text": "заметка"}}
					if chained {
						return audit.Record(ctx, tx, access.System("bench"), e)
					}
					return plainRecord(ctx, tx, e)
				})
			}
			b.Run(name+"/serial", func(b *testing.B) {
				db := dbtest.New(b, d)
				ctx := context.Background()
				i := 0
				for b.Loop() {
					i++
					if err := write(ctx, db, i); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
			})
			b.Run(name+"/parallel", func(b *testing.B) {
				db := dbtest.New(b, d)
				ctx := context.Background()
				b.SetParallelism(4)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						if err := write(ctx, db, i); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
				if chained {
					if _, err := audit.Verify(ctx, db); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerify is the chain's check in entries per second over a log
// of CRM_AUDIT_BENCH_ENTRIES entries (100,000 unless set; the README's
// figure is for 1,000,000). The log is written straight in batches with
// its hashes computed here, as Record would have.
//
//	CRM_AUDIT_BENCH_ENTRIES=1000000 go test -run '^$' -bench Verify -benchtime 1x -timeout 1h ./internal/audit/
func BenchmarkVerify(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CRM_AUDIT_BENCH_ENTRIES")); err == nil && v > 0 {
		n = v
	}
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.New(b, d)
			ctx := context.Background()
			fillChain(b, db, n)
			for b.Loop() {
				got, err := audit.Verify(ctx, db)
				if err != nil || got != int64(n) {
					b.Fatalf("verify = %d, %v; want %d", got, err, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// fillChain writes n chained entries in batches and moves the head.
func fillChain(b *testing.B, db *database.DB, n int) {
	b.Helper()
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := ""
	const batch = 5000
	for start := 1; start <= n; start += batch {
		rows := make([][]any, 0, batch)
		for id := start; id < start+batch && id <= n; id++ {
			e := audit.Entry{ID: int64(id), At: at.Add(time.Duration(id) * time.Second), ActorName: "Борис Бородин",
				Action: "company.update", ObjectType: "company", ObjectID: strconv.Itoa(id % 5000), Outcome: audit.OK, IP: "10.0.0.7"}
			detail := `{"changed":["name","phones"],"name":"ООО «Ромашка» №` + strconv.Itoa(id) + `"}`
			prev = audit.Hash(prev, e, detail)
			rows = append(rows, []any{e.ID, e.ID, e.At, sql.NullInt64{}, e.ActorName, false, e.Action, e.ObjectType, e.ObjectID, e.Outcome, e.IP, detail, prev})
		}
		err := db.InsertRows(ctx, db, `INSERT INTO audit_log (id, seq, at, actor_id, actor_name, actor_system, action, object_type, object_id, outcome, ip, detail, hash)`, rows)
		if err != nil {
			b.Fatal(err)
		}
	}
	// All in lane 0, numbered by id: the chain as it was before the lanes,
	// the worst case for a walk of one lane.
	if _, err := db.ExecContext(ctx, `UPDATE audit_lane SET last_seq = $1, last_id = $1, last_hash = $2, sealed = $3 WHERE lane = 0`, n, prev, true); err != nil {
		b.Fatal(err)
	}
}
