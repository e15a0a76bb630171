package database

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ReadSet gathers the independent reads of one page (the company card's
// company, calls, contacts, notes and tasks), each queued by its own store
// with the function that scans its rows, and sends them together. On
// PostgreSQL they go as one pgx batch on one connection: one round trip
// and one implicit transaction instead of one of each per statement,
// which is most of what a short read costs the server. Measured on the
// demo base (the card's five statements through pgx, 3 × 3,000 cards, CPU
// a card): PostgreSQL's process 513–553 µs one by one, 337–400 µs as a
// batch, 497–557 µs as one statement that aggregates each read into JSON;
// the client 150–215 µs, 59–66 µs and 240–280 µs (decoding the JSON). On SQLite,
// where a statement is a call into the same process, the reads run one
// after another on the pool, as they did before. The batch's implicit
// transaction is READ COMMITTED: each statement still takes its own
// snapshot, so the reads are no more consistent with each other than
// before, only cheaper.
//
// The reads must not depend on each other's rows: each store puts its own
// visibility rule in its own statement, exactly as when it reads alone,
// and the caller looks at the results only after Run (a section read for
// a company the viewer may not see is dropped with the company's 404).
type ReadSet struct {
	db    *DB
	reads []queuedRead
	after []func(context.Context) error
}

type queuedRead struct {
	query string
	args  []any
	scan  func(Rows) error
}

// ErrNotRun is what a read queued on a ReadSet answers before the set has
// run (a caller's mistake, never a database's answer).
var ErrNotRun = errors.New("the read set has not run")

// NewReadSet starts an empty set of reads on db.
func (db *DB) NewReadSet() *ReadSet { return &ReadSet{db: db} }

// Query queues a statement; Run hands its rows to scan (and closes them
// after). An error from scan fails Run.
func (s *ReadSet) Query(query string, args []any, scan func(Rows) error) {
	s.reads = append(s.reads, queuedRead{query: query, args: args, scan: scan})
}

// After queues fn to run when every read has been scanned, in the order
// queued, on the database as usual: a store's follow-up that depends on
// what its read found (the count of a page past the last one), or a read
// of a shape the store does not queue.
func (s *ReadSet) After(fn func(context.Context) error) {
	s.after = append(s.after, fn)
}

// Run sends the queued reads, scans their rows in order, then runs the
// After functions. A set is run once.
func (s *ReadSet) Run(ctx context.Context) error {
	reads := s.reads
	s.reads = nil
	var err error
	if s.db.Dialect == Postgres && s.db.tx == nil && len(reads) > 1 {
		err = s.db.runBatch(ctx, reads)
	} else {
		err = s.db.runInOrder(ctx, reads)
	}
	if err != nil {
		return err
	}
	after := s.after
	s.after = nil
	for _, fn := range after {
		if err := fn(ctx); err != nil {
			return err
		}
	}
	return nil
}

// runInOrder runs the reads one by one on db (in its bound transaction,
// if any).
func (db *DB) runInOrder(ctx context.Context, reads []queuedRead) error {
	for _, r := range reads {
		if err := db.readOne(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// readOne runs one read of a set on db.
func (db *DB) readOne(ctx context.Context, r queuedRead) error {
	rows, err := db.QueryContext(ctx, r.query, r.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := r.scan(rows); err != nil {
		return err
	}
	return rows.Err()
}

// runBatch sends the reads as one pgx batch on a pooled connection. pgx
// prepares each text once per connection (the same statement cache the
// reads one by one use), so the batch is Bind/Execute for each and one
// Sync.
func (db *DB) runBatch(ctx context.Context, reads []queuedRead) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	err = conn.Raw(func(dc any) error {
		pc, ok := driverConn(dc).(*stdlib.Conn)
		if !ok {
			return errNoBatch
		}
		b := &pgx.Batch{}
		for _, r := range reads {
			b.Queue(r.query, r.args...)
		}
		db.statements.Add(int64(len(reads)))
		db.trips.Add(1)
		br := pc.Conn().SendBatch(ctx, b)
		for _, r := range reads {
			if err := scanBatched(br, r); err != nil {
				_ = br.Close()
				return err
			}
		}
		return br.Close()
	})
	if errors.Is(err, errNoBatch) {
		return db.runInOrder(ctx, reads)
	}
	return err
}

func scanBatched(br pgx.BatchResults, r queuedRead) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	pr := pgxRows{rows}
	err = r.scan(pr)
	if cerr := pr.Close(); err == nil {
		err = cerr
	}
	return err
}

var errNoBatch = errors.New("no pgx connection for a batch")
