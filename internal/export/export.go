// Package export writes the company base as a file a sales team opens in
// Excel: CSV (UTF-8 with BOM, «;», CRLF, formulas neutralised) or XLSX
// (excelize's streaming writer). The rows come from company.Store.Search,
// the one search of the list page, in keyset mode: a page at a time
// without OFFSET, so that a million companies cost no more memory than a
// thousand and the file holds exactly what the list shows for the same
// filters and ordering.
package export

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/feed"
	"github.com/crmprofi/crm/internal/memlimit"
)

// Format is the file type of an export.
type Format string

// The formats an export is written in.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ParseFormat reads ?format=; "" is CSV.
func ParseFormat(s string) (Format, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "csv":
		return CSV, true
	case "xlsx":
		return XLSX, true
	}
	return "", false
}

// ContentType is the MIME type of the format's file.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// FileName is the name offered for the download, dated in loc.
func (f Format) FileName(at time.Time, loc *time.Location) string {
	return "companies-" + at.In(loc).Format("2006-01-02-1504") + "." + string(f)
}

// flushEvery is how many companies are written between flushes of the
// output (and reports of progress): a CSV reaches the client in pieces
// of this many rows.
const flushEvery = 1000

// Exporter reads companies and their contacts for an export.
type Exporter struct {
	db        *database.DB
	companies *company.Store
}

// New returns an Exporter on db.
func New(db *database.DB) *Exporter {
	return &Exporter{db: db, companies: company.NewStore(db)}
}

// Options is one export: what to export, how, and where to report.
type Options struct {
	Scope  access.Scope
	Query  company.Query
	Format Format
	// Location formats the dates; nil is UTC.
	Location *time.Location
	// Progress, when set, is called every thousand companies or so with
	// how far the export has got, in companies: the first pass (reading)
	// counts for half of each company, the second (writing) for the rest,
	// so the last call says how many were written.
	Progress func(done int)
	// MemoryLimit is the soft limit of the Go runtime's memory while
	// Write runs (debug.SetMemoryLimit; 0: none). A lower limit the
	// process already has stays. It is process-wide: a command that runs
	// the export alone sets it (DefaultMemoryLimit), a server, whose
	// requests share the runtime with its export jobs, does not.
	MemoryLimit int64
}

// DefaultMemoryLimit is the soft limit of an export run by a process of
// its own. The export holds a few megabytes whatever the number of
// companies (a bucket's records, a part of the list's order, a buffer a
// bucket), but its drivers allocate a string a cell as it reads, and the
// collector's default pace lets the heap grow to twice what it held at
// its last collection: the peak RSS drifted up with the rows. Under the
// limit the collector runs a little more often near it and the peak
// stays put (PostgreSQL, a million companies: 69 MB instead of 79-83,
// the CPU the same; a limit of 24 MB held 64 MB but cost a tenth more
// CPU in collections). The limit is soft: a company larger than it costs
// collections, never a failed export.
const DefaultMemoryLimit = 28 << 20

// Count is how many companies the export of q would hold.
func (e *Exporter) Count(ctx context.Context, scope access.Scope, q company.Query) (int, error) {
	q.Keyset, q.After, q.PageSize = true, 0, 1
	res, err := e.companies.Search(ctx, scope, q)
	return res.Count, err
}

// errNoFormat is a Format that is neither CSV nor XLSX.
var errNoFormat = errors.New("export: unknown format")

// Write writes the export to w and returns how many companies it holds.
// The scope decides visibility exactly as for the list; who may export
// at all is the caller's decision. A CSV reaches w page by page (w is
// flushed after each page when it is an http.Flusher or has a Flush()
// error); an XLSX is written to w whole at the end, its rows kept in
// excelize's temporary files meanwhile.
func (e *Exporter) Write(ctx context.Context, w io.Writer, o Options) (int, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	defer memlimit.Lower(o.MemoryLimit)()
	var sink rowSink
	switch o.Format {
	case CSV:
		sink = newCSVSink(w, o.Location)
	case XLSX:
		x, err := newXLSXSink(w, o.Location)
		if err != nil {
			return 0, err
		}
		sink = x
	default:
		return 0, errNoFormat
	}
	n, err := e.walk(ctx, o, sink)
	if cerr := sink.close(err == nil); err == nil {
		err = cerr
	}
	return n, err
}

// walk reads the companies of the export and hands their rows to sink,
// in two passes over one snapshot of the base. It reads the ids of the
// selection in the list's order first (listOrder). The first pass reads
// the selected companies in the order of their ids — the companies, their
// children and their contacts (with theirs) as streams ordered alike and
// merged as they come, each reading its tables front to back (for the
// whole base a stream a table, with no join and no sort: see
// company.Selection.Whole and allContacts) — and keeps each company with
// its contacts in the bucket of its place in the list (buckets). The
// second reads the buckets in turn and writes their companies by place.
// Either pass is the same handful of statements for ten companies or a
// million, and the process holds one company at a time, a bucket, and
// 4 bytes an id of the list's order.
func (e *Exporter) walk(ctx context.Context, o Options, sink rowSink) (int, error) {
	sel, err := e.companies.Select(o.Scope, o.Query)
	if err != nil {
		return 0, err
	}
	if err := sink.header(); err != nil {
		return 0, err
	}
	enc := sink.records()
	done, read := 0, 0
	err = e.snapshot(ctx, func(snap *snapshot) error {
		byID := sel.ByID()
		// The list's order and the contacts of a whole export are read
		// at the same time, each on its own connection.
		var (
			order *listOrder
			all   *allContacts
		)
		err := both(ctx, func(ctx context.Context) error {
			q, err := snap.lane(0)()
			if err == nil {
				order, err = readListOrder(ctx, q, sel)
			}
			return err
		}, func(ctx context.Context) error {
			if !byID.Whole() {
				return nil
			}
			var err error
			all, err = readAllContacts(ctx, snap.lane(1), snap.lane(3), enc)
			return err
		})
		if all != nil {
			defer all.close()
		}
		if order != nil {
			defer order.close()
		}
		if err != nil {
			return err
		}
		snap.reuse() // the statements read so far are closed
		bk, err := newBuckets(enc, order)
		if err != nil {
			return err
		}
		defer bk.close()
		var contacts contactSource
		if all == nil {
			q, err := snap.lane(1)()
			if err != nil {
				return err
			}
			stream, err := openContacts(ctx, q, byID)
			if err != nil {
				return err
			}
			defer stream.close()
			contacts = stream
		} else {
			contacts = all
		}
		err = eachCompany(ctx, byID, snap.lane(0), snap.lane(2), func(c *company.Company) error {
			if err := contacts.add(bk, c); err != nil {
				return err
			}
			if read++; read%flushEvery == 0 && o.Progress != nil {
				o.Progress(read / 2)
			}
			return nil
		})
		if err == nil {
			err = contacts.end()
		}
		if err == nil {
			err = bk.done()
		}
		contacts.close()
		if err != nil {
			return err
		}
		return bk.each(func(id int64, rec []byte) error {
			if err := enc.write(id, rec); err != nil {
				return err
			}
			if done++; done%flushEvery == 0 {
				if err := sink.flush(); err != nil {
					return err
				}
				if o.Progress != nil {
					o.Progress((read + done) / 2)
				}
			}
			return nil
		})
	})
	if err == nil {
		err = sink.flush()
	}
	if err == nil && o.Progress != nil {
		o.Progress(done)
	}
	return done, err
}

// both runs a and b at the same time, b in a goroutine of its own, and
// returns the first error; the context the other gets is cancelled then.
func both(ctx context.Context, a, b func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errB := make(chan error, 1)
	go func() {
		err := b(ctx)
		if err != nil {
			cancel(err)
		}
		errB <- err
	}()
	err := a(ctx)
	if err != nil {
		cancel(err)
	}
	if eb := <-errB; err == nil && eb == nil {
		return nil
	}
	return context.Cause(ctx) // the first of the errors
}

// batchSize is how many companies a batch of eachCompany carries.
const batchSize = 256

// eachCompany is sel.Each with the reading and fn in goroutines of their
// own: one steps the statements and decodes the rows into companies, a
// batch at a time, while fn (the caller's goroutine) writes the batch
// before — so that an export uses both of a machine's cores, not one.
// The children of a whole export are stepped in a third, on the
// queriers children hands out (see company.Selection.Each).
// The batches are reused (see feed.Feed). fn's company is reused, as
// Each's is.
func eachCompany(ctx context.Context, sel company.Selection, next, children company.Queriers, fn func(*company.Company) error) error {
	f := feed.Start(ctx, batchSize, func(ctx context.Context, put feed.Put[company.Company]) error {
		return sel.Each(ctx, next, children, func(c *company.Company) error {
			slot, err := put()
			if err == nil {
				copyCompany(slot, c)
			}
			return err
		})
	})
	for {
		c, err := f.Peek()
		if c == nil {
			return err
		}
		if err := fn(c); err != nil {
			_ = f.Stop()
			return err
		}
		f.Next()
	}
}

// copyCompany copies what Each fills of src to dst, keeping dst's slices.
func copyCompany(dst, src *company.Company) {
	phones, emails, spheres, sphereNames := dst.Phones, dst.Emails, dst.Spheres, dst.SphereNames
	*dst = *src
	dst.Phones = append(phones[:0], src.Phones...)
	dst.Emails = append(emails[:0], src.Emails...)
	dst.Spheres = append(spheres[:0], src.Spheres...)
	dst.SphereNames = append(sphereNames[:0], src.SphereNames...)
}

// snapshot is the transactions of an export, which read one snapshot of
// the base, so that the streams of an export agree with each other and
// the file is the base at one moment, while goroutines read at once
// (the list's order beside the contacts; the companies beside their
// children and what is written of them), each on its lane: a connection
// of its own on SQLite.
//
// On PostgreSQL each statement read at the same time as others needs its
// own connection: nextPgx begins a read-only REPEATABLE READ transaction
// for each, the first exporting its snapshot and the others importing it
// (pg_export_snapshot, as pg_dump's parallel workers do), and reuse
// hands them out again once the statements read so far are closed; a
// lane is nextPgx itself. On SQLite a lane is a read transaction on a
// connection of its own (database.SQLiteRead, which reads without
// database/sql and the driver), which steps its statements in the
// snapshot it takes at its first read (its BEGIN is deferred). Its lanes
// take theirs while a transaction of the pool holds the write lock (see
// beginSQLite): no writer commits between, so they are one.
//
// On PostgreSQL the transactions also turn JIT compilation off: the
// export's statements each read millions of rows, so their cost passes
// jit_above_cost, and compiling them took 1.6–2.7 s of the server's CPU
// a statement at a million companies, to run a plan that spends its
// time in sorts and joins JIT does not speed up (the contacts' stream
// ran in 9.2 s without it, 13.7 s with it).
type snapshot struct {
	ctx  context.Context
	db   *database.DB
	mu   sync.Mutex             // nextPgx is called from both lanes
	id   string                 // the exported snapshot (PostgreSQL)
	txs  []*database.SQLiteRead // SQLite's lanes
	pg   []*database.PgxTx      // PostgreSQL's transactions, each on its own connection
	used int                    // how many of pg are handed out
}

// sqliteLanes is how many read transactions an export reads SQLite on:
// lane 0 the list's order, then the companies; lane 1 the contacts; lane
// 2 the companies' children of a whole export (company.Selection.Each);
// lane 3 the contacts' phones and e-mails of a whole export
// (readContactValues).
const sqliteLanes = 4

func (e *Exporter) snapshot(ctx context.Context, fn func(*snapshot) error) error {
	s := &snapshot{ctx: ctx, db: e.db}
	defer func() {
		for _, tx := range s.txs {
			tx.Close()
		}
		for _, tx := range s.pg {
			tx.Close(context.WithoutCancel(ctx))
		}
	}()
	if e.db.Dialect == database.SQLite {
		if err := s.beginSQLite(sqliteLanes); err != nil {
			return err
		}
	}
	return fn(s)
}

// errSnapshotTaken ends the transaction beginSQLite holds the write lock in.
var errSnapshotTaken = errors.New("export: snapshot taken")

// beginSQLite begins n read transactions on one snapshot of the base.
// A read transaction's snapshot is the last commit before its first
// read; so each begins and reads a page while a transaction of the pool
// (InTx: immediate, it waits its turn with the process's other writers)
// holds the write lock, which it then gives up, having written nothing.
func (s *snapshot) beginSQLite(n int) error {
	err := s.db.InTx(s.ctx, func(*sql.Tx) error {
		for range n {
			tx, err := s.db.BeginSQLiteRead(s.ctx)
			if err != nil {
				return err
			}
			s.txs = append(s.txs, tx)
			if err := firstRead(s.ctx, tx); err != nil {
				return err
			}
		}
		return errSnapshotTaken
	})
	if !errors.Is(err, errSnapshotTaken) {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// firstRead reads a row in tx, which takes its snapshot.
func firstRead(ctx context.Context, tx database.Streamer) error {
	rows, err := tx.Stream(ctx, `SELECT 1 FROM sqlite_schema LIMIT 1`)
	if err != nil {
		return err
	}
	rows.Next()
	return rows.Close()
}

// lane hands out the streamers of one goroutine's statements. On
// PostgreSQL it is nextPgx: a streamer that reads through pgx itself, on
// a connection of its own rather than one of the pool's (see
// database.PgxTx); on SQLite it is read transaction i.
func (s *snapshot) lane(i int) company.Queriers {
	if s.db.Dialect == database.Postgres {
		return s.nextPgx
	}
	return func() (database.Streamer, error) { return s.txs[i%len(s.txs)], nil }
}

func (s *snapshot) nextPgx() (database.Streamer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used < len(s.pg) {
		s.used++
		return s.pg[s.used-1], nil
	}
	tx, err := s.db.BeginPgxRead(s.ctx)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	s.pg = append(s.pg, tx)
	s.used++
	if s.id == "" {
		var jit string
		err = tx.QueryRow(s.ctx, `SELECT pg_export_snapshot(), set_config('jit', 'off', true)`).Scan(&s.id, &jit)
	} else {
		// A snapshot's id is the server's own string, never user input.
		err = tx.Exec(s.ctx, `SET TRANSACTION SNAPSHOT '`+strings.ReplaceAll(s.id, "'", "")+`'`)
		if err == nil {
			err = tx.Exec(s.ctx, `SET LOCAL jit = off`)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return tx, nil
}

// reuse makes the transactions handed out so far available again: the
// statements read on them are closed.
func (s *snapshot) reuse() {
	s.mu.Lock()
	s.used = 0
	s.mu.Unlock()
}

// Contact is a contact person as exported.
type Contact struct {
	ID                                   int64
	LastName, FirstName, MiddleName, Job string
	Phones, Emails                       []string
}

// Name is «Фамилия Имя Отчество».
func (c Contact) Name() string {
	return strings.Join(strings.Fields(c.LastName+" "+c.FirstName+" "+c.MiddleName), " ")
}

// contactStream reads the live contacts of the selected companies with
// their phones and e-mails, as one statement ordered like the companies
// (company.Selection.Rows): each company's contacts by id, a contact's
// row first, then its phones and e-mails by position.
type contactStream struct {
	rows    database.Rows
	pending bool
	row     contactRow
	list    []Contact
	// dest is what a row is scanned into (see database.Texts).
	dest  []any
	texts *database.Texts
}

// contactRow is a row of the contacts' stream: a contact (kind 0), or
// one of its phones (1) or e-mails (2).
type contactRow struct {
	companyID, id int64
	kind          int
	a, b, c, d    string
}

func openContacts(ctx context.Context, q database.Streamer, sel company.Selection) (*contactStream, error) {
	query, args := sel.Rows("x.company_id, x.contact_id, x.kind, x.a, x.b, x.c, x.d", "x.contact_id, x.kind, x.pos",
		company.Arm{Cols: "ct.company_id AS company_id, ct.id AS contact_id, 0 AS kind, 0 AS pos, ct.last_name AS a, ct.first_name AS b, " +
			"ct.middle_name AS c, ct.position AS d", Joins: liveContacts},
		company.Arm{Cols: "ct.company_id, ct.id, 1, p.position, p.value, p.comment, '', ''", Joins: liveContacts + " JOIN contact_phones p ON p.contact_id = ct.id"},
		company.Arm{Cols: "ct.company_id, ct.id, 2, m.position, m.value, m.comment, '', ''", Joins: liveContacts + " JOIN contact_emails m ON m.contact_id = ct.id"})
	// The stream keeps its rows: end checks their Err, close closes them.
	rows, err := q.Stream(ctx, query, args...) //nolint:rowserrcheck,sqlclosecheck // see above
	if err != nil {
		return nil, fmt.Errorf("export contacts: %w", err)
	}
	s := &contactStream{rows: rows, texts: database.NewTexts(4)}
	r := &s.row
	s.dest = []any{&r.companyID, &r.id, &r.kind, s.texts.Dest(0), s.texts.Dest(1), s.texts.Dest(2), s.texts.Dest(3)}
	if err := s.next(); err != nil {
		_ = rows.Close() //nolint:sqlclosecheck // the error path; the caller's defer closes the rows otherwise
		return nil, err
	}
	return s, nil
}

// liveContacts joins the selected companies (c) to their live contacts.
const liveContacts = " JOIN contacts ct ON ct.company_id = c.id AND ct.deleted_at IS NULL"

func (s *contactStream) next() error {
	if s.pending = s.rows.Next(); !s.pending {
		return nil
	}
	if err := s.rows.Scan(s.dest...); err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	r := &s.row
	s.texts.Strings(&r.a, &r.b, &r.c, &r.d)
	return nil
}

// of returns the contacts of the company id, the next in the order of
// the companies. The list and its contacts are reused for the next
// company.
func (s *contactStream) of(id int64) ([]Contact, error) {
	list := s.list[:0]
	for s.pending && s.row.companyID == id {
		r := &s.row
		if r.kind == 0 {
			if len(list) < cap(list) {
				list = list[:len(list)+1]
			} else {
				list = append(list, Contact{})
			}
			ct := &list[len(list)-1]
			ct.ID, ct.LastName, ct.FirstName, ct.MiddleName, ct.Job = r.id, r.a, r.b, r.c, r.d
			ct.Phones, ct.Emails = ct.Phones[:0], ct.Emails[:0]
		} else if n := len(list); n > 0 && list[n-1].ID == r.id {
			ct := &list[n-1]
			if r.kind == 1 {
				ct.Phones = append(ct.Phones, withComment(r.a, r.b))
			} else {
				ct.Emails = append(ct.Emails, withComment(r.a, r.b))
			}
		}
		if err := s.next(); err != nil {
			return nil, err
		}
	}
	s.list = list
	return list, nil
}

// add writes the company's record with its contacts to sp.
func (s *contactStream) add(sp *buckets, c *company.Company) error {
	list, err := s.of(c.ID)
	if err != nil {
		return err
	}
	return sp.add(c, list)
}

// end checks that the stream has no rows left: the contacts of a company
// the company stream did not have.
func (s *contactStream) end() error {
	if err := s.rows.Err(); err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	if s.pending {
		return fmt.Errorf("export contacts: %w", company.ErrOutOfStep)
	}
	return nil
}

func (s *contactStream) close() { _ = s.rows.Close() }

// contactSource gives the companies of the first pass their contacts,
// as they come in the order of their ids.
type contactSource interface {
	// add writes the company's record with its contacts to sp.
	add(sp *buckets, c *company.Company) error
	// end checks the source once the companies are read.
	end() error
	// close closes its statements; it may be called again.
	close()
}

// allContacts are the contacts of a whole export (company.Selection.Whole),
// read by id, each with its phones and e-mails — three streams of whole
// tables in the order of the contacts' ids, merged, with no join and no
// sort — into a file of parts by company id (a chunkFile, each part a
// span of ids): each contact goes, as its company's record will hold
// it, to the part of its company. As the companies then come in the
// order of their ids, their parts are read one after another, and each
// part's contacts are put in the order of their companies (a counting
// sort, keeping their order by id within a company). A second stream
// of the contacts in the order of their companies, with a look-up of
// each in a file kept by contact id, cost the companies' pass 0.8 s of
// its 5.2 s of CPU at a million companies on SQLite.
type allContacts struct {
	parts *chunkFile
	enc   recordCodec
	// least is the company id part 0 starts at, most the last of the
	// last part; width is the span of ids a part holds.
	least, most, width int64
	// The part loaded (-1 for none): recs its contacts' records by
	// company, those of company least+part*width+i from start[i] to
	// start[i+1], count[i] of them.
	part             int64
	recs             []byte
	start, count, at []int32 // at: each company's next place while loading
	buf, rec         []byte
}

// contactsLive is the contacts a whole export writes: live ones of a company.
const contactsLive = " FROM contacts WHERE deleted_at IS NULL AND company_id IS NOT NULL"

// contactParts is how many parts, at most, the contacts are kept in by
// their companies' ids, and contactPartIDs the span of ids a part holds
// at least: at a million companies a part holds about 4,000 companies'
// contacts, 0.4 MB of CSV, read whole when its first company comes, and
// the process a chunk's buffer (8 kB) for each of 245 parts while the
// contacts are read.
const (
	contactParts   = 256
	contactPartIDs = 4096
)

func readAllContacts(ctx context.Context, next, values company.Queriers, enc recordCodec) (*allContacts, error) {
	q, err := next()
	if err != nil {
		return nil, err
	}
	// The span of the live contacts' companies' ids: the two ends of the
	// (partial) index on company_id. MIN and MAX of all contacts read
	// the whole table on PostgreSQL (140 ms at a million), which cannot
	// use a partial index for them.
	var least, most int64
	span, err := q.Stream(ctx, "SELECT COALESCE((SELECT company_id"+contactsLive+" ORDER BY company_id LIMIT 1), 0), "+
		"COALESCE((SELECT company_id"+contactsLive+" ORDER BY company_id DESC LIMIT 1), 0)")
	if err != nil {
		return nil, fmt.Errorf("export contacts: %w", err)
	}
	if span.Next() {
		err = span.Scan(&least, &most)
	}
	if err = errors.Join(err, span.Err(), span.Close()); err != nil {
		return nil, fmt.Errorf("export contacts: %w", err)
	}
	a, err := newAllContacts(enc, least, most, max(contactPartIDs, (most-least)/contactParts+1))
	if err != nil {
		return nil, err
	}
	if err := a.read(ctx, q, values); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// newAllContacts keeps contacts of the companies from least to most in
// parts of width ids.
func newAllContacts(enc recordCodec, least, most, width int64) (*allContacts, error) {
	if most < least || width <= 0 || (most-least)/width >= math.MaxInt32 {
		return nil, fmt.Errorf("export: contacts of companies %d to %d", least, most)
	}
	parts, err := newChunkFile(int((most-least)/width)+1, bucketChunk)
	if err != nil {
		return nil, err
	}
	return &allContacts{parts: parts, enc: enc, least: least, most: most, width: width, part: -1}, nil
}

// read reads the contacts on q while their phones and e-mails are read
// in a goroutine of their own, on queriers of values (see
// readContactValues).
func (a *allContacts) read(ctx context.Context, q database.Streamer, values company.Queriers) error {
	rows, err := q.Stream(ctx, "SELECT id, company_id, last_name, first_name, middle_name, position"+contactsLive+" ORDER BY id")
	if err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	defer func() { _ = rows.Close() }()
	vals := feed.Start(ctx, valuesBatch, func(ctx context.Context, put feed.Put[contactValues]) error {
		return readContactValues(ctx, values, put)
	})
	defer func() { _ = vals.Stop() }()
	var (
		ct        Contact
		companyID int64
	)
	texts := database.NewTexts(4) // see database.Texts
	dest := []any{&ct.ID, &companyID, texts.Dest(0), texts.Dest(1), texts.Dest(2), texts.Dest(3)}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("export contacts: %w", err)
		}
		texts.Strings(&ct.LastName, &ct.FirstName, &ct.MiddleName, &ct.Job)
		ct.Phones, ct.Emails = ct.Phones[:0], ct.Emails[:0]
		for { // the values of contacts before ct are those of deleted ones, or of no company
			v, err := vals.Peek()
			if err != nil {
				return err
			}
			if v == nil || v.id > ct.ID {
				break
			}
			if v.id == ct.ID {
				ct.Phones, ct.Emails = append(ct.Phones, v.phones...), append(ct.Emails, v.emails...)
			}
			vals.Next()
		}
		if err := a.put(companyID, &ct); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	if err := vals.Finish(); err != nil {
		return err
	}
	return a.parts.done()
}

// contactValues is the phones and e-mails of one contact, «value
// (comment)» each, in position order.
type contactValues struct {
	id             int64
	phones, emails []string
}

// valuesBatch is how many contacts' values a batch carries from the
// goroutine that reads them.
const valuesBatch = 512

// readContactValues reads the whole tables of the contacts' phones and
// e-mails, on queriers of next, and puts them grouped by contact in the
// order of the ids: in an export of a million companies from SQLite the
// goroutine that read them with the contacts was the first pass's
// slowest, the other reading the list's order.
func readContactValues(ctx context.Context, next company.Queriers, put feed.Put[contactValues]) error {
	var streams [2]*valueStream
	defer func() {
		for _, v := range streams {
			if v != nil {
				_ = v.rows.Close()
			}
		}
	}()
	for i, query := range [...]string{
		"SELECT contact_id, value, comment FROM contact_phones ORDER BY contact_id, position, id",
		"SELECT contact_id, value, comment FROM contact_emails ORDER BY contact_id, position, id",
	} {
		q, err := next()
		if err != nil {
			return err
		}
		rows, err := q.Stream(ctx, query) //nolint:rowserrcheck,sqlclosecheck // closed by the defer above, Err checked below
		if err != nil {
			return fmt.Errorf("export contacts: %w", err)
		}
		streams[i] = newValueStream(rows)
		if err := streams[i].next(); err != nil {
			return err
		}
	}
	phones, emails := streams[0], streams[1]
	for phones.pending || emails.pending {
		id := phones.id
		if !phones.pending || emails.pending && emails.id < id {
			id = emails.id
		}
		v, err := put()
		if err != nil {
			return err
		}
		v.id = id
		if v.phones, err = phones.of(id, v.phones[:0]); err != nil {
			return err
		}
		if v.emails, err = emails.of(id, v.emails[:0]); err != nil {
			return err
		}
	}
	for _, v := range streams {
		if err := v.rows.Err(); err != nil {
			return fmt.Errorf("export contacts: %w", err)
		}
	}
	return nil
}

// put keeps the contact ct of the company companyID. The contacts come
// in the order of their ids.
func (a *allContacts) put(companyID int64, ct *Contact) error {
	if companyID < a.least || companyID > a.most {
		return errOutOfOrder
	}
	// A piece: the company's id from least, the record's length, the record.
	a.rec = a.enc.contact(a.rec[:0], ct)
	a.buf = binary.AppendUvarint(binary.AppendUvarint(a.buf[:0], uint64(companyID-a.least)), uint64(len(a.rec))) //nolint:gosec // not negative: checked above
	a.buf = append(a.buf, a.rec...)
	return a.parts.add(int((companyID-a.least)/a.width), a.buf)
}

// add writes the company's record with its contacts to sp.
func (a *allContacts) add(sp *buckets, c *company.Company) error {
	n, recs, err := a.of(c.ID)
	if err != nil {
		return err
	}
	return sp.addEncoded(c, n, recs)
}

// of returns how many contacts the company id has and their records,
// in the order of their ids, in a buffer of a's that the next part's
// contacts overwrite. The companies come in the order of their ids;
// contacts of companies the export does not hold (deleted ones) are
// never asked for.
func (a *allContacts) of(id int64) (int, []byte, error) {
	if id < a.least || id > a.most {
		return 0, nil, nil
	}
	rel := id - a.least
	if k := rel / a.width; k != a.part {
		if k < a.part {
			return 0, nil, errOutOfOrder
		}
		if err := a.load(k); err != nil {
			return 0, nil, err
		}
	}
	i := rel - a.part*a.width
	return int(a.count[i]), a.recs[a.start[i]:a.start[i+1]], nil
}

// load reads part k and puts its contacts' records in the order of
// their companies.
func (a *allContacts) load(k int64) error {
	data, err := a.parts.pieces(int(k))
	if err != nil {
		return err
	}
	if a.start == nil {
		a.start, a.count, a.at = make([]int32, a.width+1), make([]int32, a.width), make([]int32, a.width)
	}
	clear(a.start)
	clear(a.count)
	first := uint64(k * a.width) //nolint:gosec // not negative
	// Each piece: the company's id from least, the record's length, the
	// record. First the bytes and contacts of each company, then where
	// each company's records start, then the records to their places.
	piece := func(p int) (company uint64, rec []byte, next int, err error) {
		id, n := binary.Uvarint(data[p:])
		size, m := binary.Uvarint(data[p+max(n, 0):])
		if n <= 0 || m <= 0 || id < first || id-first >= uint64(a.width) || size > uint64(len(data)-p-n-m) { //nolint:gosec // width > 0
			return 0, nil, 0, errOutOfOrder
		}
		p += n + m
		return id - first, data[p : p+int(size)], p + int(size), nil //nolint:gosec // checked above
	}
	if len(data) > math.MaxInt32 {
		return fmt.Errorf("export: %d bytes of contacts in a part", len(data))
	}
	for p := 0; p < len(data); {
		i, rec, next, err := piece(p)
		if err != nil {
			return err
		}
		a.start[i+1] += int32(len(rec)) //nolint:gosec // the part is under MaxInt32 bytes
		a.count[i]++
		p = next
	}
	for i := range a.width {
		a.start[i+1] += a.start[i]
	}
	if cap(a.recs) < len(data) {
		a.recs = make([]byte, len(data))
	}
	a.recs = a.recs[:a.start[a.width]]
	copy(a.at, a.start[:a.width]) // each company's next place
	for p := 0; p < len(data); {
		i, rec, next, err := piece(p)
		if err != nil {
			return err
		}
		a.at[i] += int32(copy(a.recs[a.at[i]:], rec)) //nolint:gosec // as above
		p = next
	}
	a.part = k
	return nil
}

func (a *allContacts) end() error { return nil }

func (a *allContacts) close() {
	if a.parts != nil {
		a.parts.close()
	}
}

// valueStream is the phones or e-mails of contacts by contact id: rows of
// (contact_id, value, comment).
type valueStream struct {
	rows    database.Rows
	pending bool
	id      int64
	value   string
	comment string
	// dest is what a row is scanned into (see database.Texts).
	dest  []any
	texts *database.Texts
}

func newValueStream(rows database.Rows) *valueStream {
	v := &valueStream{rows: rows, texts: database.NewTexts(2)}
	v.dest = []any{&v.id, v.texts.Dest(0), v.texts.Dest(1)}
	return v
}

func (v *valueStream) next() error {
	if v.pending = v.rows.Next(); !v.pending {
		return nil
	}
	if err := v.rows.Scan(v.dest...); err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	v.texts.Strings(&v.value, &v.comment)
	return nil
}

// of appends the values of the contact id to dst, «value (comment)»,
// skipping those of contacts before it (deleted ones, or of no company).
func (v *valueStream) of(id int64, dst []string) ([]string, error) {
	for v.pending && v.id <= id {
		if v.id == id {
			dst = append(dst, withComment(v.value, v.comment))
		}
		if err := v.next(); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func withComment(value, comment string) string {
	if comment = strings.TrimSpace(comment); comment != "" {
		return value + " (" + comment + ")"
	}
	return value
}

// Columns are the header of the company rows, in order.
var Columns = []string{"ID", "Название", "Юридическое название", "ИНН", "КПП", "ОГРН", "Адрес", "Сайт",
	"Телефоны", "E-mail", "Сферы деятельности", "Филиал", "Ответственный", "Статус", "Создана", "Изменена", "Контакты"}

// ContactColumns are the header of the XLSX sheet «Контакты».
var ContactColumns = []string{"ID компании", "Компания", "ID контакта", "ФИО", "Должность", "Телефоны", "E-mail"}

// dateLayout is how dates read in the file.
const dateLayout = "02.01.2006 15:04"

// The cells of a company row are appended to a reused buffer, so that a
// row costs no allocations of its own beyond what the sink keeps.

// appendPhones appends the company's phones, «value (comment)», comma-separated.
func appendPhones(dst []byte, list []company.Phone) []byte {
	for i := range list {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendWithComment(dst, list[i].Value, list[i].Comment)
	}
	return dst
}

// appendEmails appends the company's e-mails like appendPhones.
func appendEmails(dst []byte, list []company.Email) []byte {
	for i := range list {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendWithComment(dst, list[i].Value, list[i].Comment)
	}
	return dst
}

func appendWithComment(dst []byte, value, comment string) []byte {
	dst = append(dst, value...)
	if comment = strings.TrimSpace(comment); comment != "" {
		dst = append(append(append(dst, " ("...), comment...), ')')
	}
	return dst
}

// appendJoin appends list with sep between.
func appendJoin(dst []byte, list []string, sep string) []byte {
	for i, v := range list {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = append(dst, v...)
	}
	return dst
}

// appendContacts appends the «Контакты» cell: a contact a line.
func appendContacts(dst []byte, list []Contact) []byte {
	for i := range list {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = appendContactLine(dst, &list[i])
	}
	return dst
}

// appendContactLine appends a contact as the company row's «Контакты»
// cell has it: «Иванов Иван (директор): +7 …, ivan@…».
func appendContactLine(dst []byte, ct *Contact) []byte {
	dst = appendName(dst, ct)
	if ct.Job != "" {
		dst = append(append(append(dst, " ("...), ct.Job...), ')')
	}
	if len(ct.Phones)+len(ct.Emails) > 0 {
		dst = append(dst, ": "...)
		dst = appendJoin(dst, ct.Phones, ", ")
		if len(ct.Phones) > 0 && len(ct.Emails) > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendJoin(dst, ct.Emails, ", ")
	}
	return dst
}

// appendName appends «Фамилия Имя Отчество» with the blanks of the
// parts collapsed, as Name returns it.
func appendName(dst []byte, ct *Contact) []byte {
	start := len(dst)
	for _, part := range [3]string{ct.LastName, ct.FirstName, ct.MiddleName} {
		if oneWord(part) { // most names: no rune to decode
			if len(dst) > start {
				dst = append(dst, ' ')
			}
			dst = append(dst, part...)
			continue
		}
		for f := range strings.FieldsSeq(part) {
			if len(dst) > start {
				dst = append(dst, ' ')
			}
			dst = append(dst, f...)
		}
	}
	return dst
}

// oneWord reports whether s is a single field of strings.Fields: not
// empty, and without a byte that is, or may start, a blank (unicode.IsSpace:
// ASCII blanks, U+0085 and U+00A0 — C2 …, U+1680 — E1 …, U+2000–U+205F —
// E2 …, U+3000 — E3 …). Cyrillic letters (D0 …, D1 …) pass as they are.
func oneWord(s string) bool {
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == ' ', b >= '\t' && b <= '\r', b == 0xC2, b >= 0xE1 && b <= 0xE3:
			return false
		}
	}
	return s != ""
}

// rowSink is a file format being written.
type rowSink interface {
	header() error
	company(c *company.Company, contacts []Contact) error
	// records is the form the sink's companies take in the buckets.
	records() recordCodec
	// flush ends a page: what is buffered goes out.
	flush() error
	// close finishes the file; ok is false when the export failed.
	close(ok bool) error
}
