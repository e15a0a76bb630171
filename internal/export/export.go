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
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
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
			all, err = readAllContacts(ctx, snap.lane(1), enc)
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
		first, err := snap.lane(1)()
		if err != nil {
			return err
		}
		var contacts contactSource
		if all == nil {
			stream, err := openContacts(ctx, first, byID)
			if err != nil {
				return err
			}
			defer stream.close()
			contacts = stream
		} else {
			if err := all.open(ctx, first); err != nil {
				return err
			}
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
// The batches (three of them) are reused. fn's company is reused, as
// Each's is.
func eachCompany(ctx context.Context, sel company.Selection, next, children company.Queriers, fn func(*company.Company) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full, free := make(chan []company.Company, 2), make(chan []company.Company, 3)
	for range 3 {
		free <- make([]company.Company, 0, batchSize)
	}
	read := make(chan error, 1)
	go func() {
		defer close(full)
		b := <-free
		err := sel.Each(ctx, next, children, func(c *company.Company) error {
			b = b[:len(b)+1] // a batch is sent on when full
			copyCompany(&b[len(b)-1], c)
			if len(b) < cap(b) {
				return nil
			}
			select {
			case full <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case b = <-free:
				b = b[:0]
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		})
		if err == nil && len(b) > 0 {
			full <- b
		}
		read <- err
	}()
	var err error
	for b := range full {
		for i := 0; i < len(b) && err == nil; i++ {
			err = fn(&b[i])
		}
		if err != nil {
			cancel()
			for range full { //nolint:revive // drained so that the reader ends
			}
			break
		}
		free <- b
	}
	if rerr := <-read; err == nil {
		err = rerr
	}
	return err
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
// 2 the companies' children of a whole export (company.Selection.Each).
const sqliteLanes = 3

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

// allContacts are the contacts of a whole export (company.Selection.Whole):
// read first by id, each with its phones and e-mails — three streams of
// whole tables in the order of the contacts' ids, merged, with no join
// and no sort — into a spill of their own; then one more stream, the
// contacts' ids in the order of their companies, says which belong to
// each company, and its record takes theirs from the spill (one ReadAt
// a run of them while their ids grow with their companies', as they do
// when contacts are added after their company).
type allContacts struct {
	spill *spill
	ids   database.Rows
	// The next row of ids: a contact and its company.
	pending       bool
	companyID, id int64
	dest          []any // &companyID, &id: made once, as Scan's variadic slice escapes
	buf           []byte
}

// contactsLive is the contacts a whole export writes: live ones of a company.
const contactsLive = " FROM contacts WHERE deleted_at IS NULL AND company_id IS NOT NULL"

func readAllContacts(ctx context.Context, next company.Queriers, enc recordCodec) (*allContacts, error) {
	sp, err := newSpill(enc)
	if err != nil {
		return nil, err
	}
	a := &allContacts{spill: sp}
	if err := a.read(ctx, next); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *allContacts) read(ctx context.Context, next company.Queriers) error {
	var streams [3]database.Rows
	defer func() {
		for _, r := range streams {
			if r != nil {
				_ = r.Close()
			}
		}
	}()
	for i, query := range [...]string{
		"SELECT id, last_name, first_name, middle_name, position" + contactsLive + " ORDER BY id",
		"SELECT contact_id, value, comment FROM contact_phones ORDER BY contact_id, position, id",
		"SELECT contact_id, value, comment FROM contact_emails ORDER BY contact_id, position, id",
	} {
		q, err := next()
		if err != nil {
			return err
		}
		if streams[i], err = q.Stream(ctx, query); err != nil { //nolint:rowserrcheck,sqlclosecheck // closed by the defer above, Err checked below
			return fmt.Errorf("export contacts: %w", err)
		}
	}
	phones, emails := newValueStream(streams[1]), newValueStream(streams[2])
	if err := errors.Join(phones.next(), emails.next()); err != nil {
		return err
	}
	var ct Contact
	texts := database.NewTexts(4) // see database.Texts
	dest := []any{&ct.ID, texts.Dest(0), texts.Dest(1), texts.Dest(2), texts.Dest(3)}
	for streams[0].Next() {
		if err := streams[0].Scan(dest...); err != nil {
			return fmt.Errorf("export contacts: %w", err)
		}
		texts.Strings(&ct.LastName, &ct.FirstName, &ct.MiddleName, &ct.Job)
		var err error
		if ct.Phones, err = phones.of(ct.ID, ct.Phones[:0]); err != nil {
			return err
		}
		if ct.Emails, err = emails.of(ct.ID, ct.Emails[:0]); err != nil {
			return err
		}
		a.buf = a.spill.enc.contact(binary.AppendVarint(a.buf[:0], ct.ID), &ct)
		if err := a.spill.addRecord(ct.ID, a.buf); err != nil {
			return err
		}
	}
	for _, r := range streams {
		if err := r.Err(); err != nil {
			return fmt.Errorf("export contacts: %w", err)
		}
	}
	return a.spill.done()
}

// open starts the stream of the contacts' ids in the order of their companies.
func (a *allContacts) open(ctx context.Context, q database.Streamer) error {
	rows, err := q.Stream(ctx, "SELECT company_id, id"+contactsLive+" ORDER BY company_id, id") //nolint:rowserrcheck,sqlclosecheck // end checks Err, close closes
	if err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	a.ids = rows
	a.dest = []any{&a.companyID, &a.id}
	return a.next()
}

func (a *allContacts) next() error {
	if a.pending = a.ids.Next(); !a.pending {
		return nil
	}
	if err := a.ids.Scan(a.dest...); err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	return nil
}

// add writes the company's record with its contacts to sp. Contacts of
// companies before c are those of companies the export does not hold
// (deleted ones): skipped.
func (a *allContacts) add(sp *buckets, c *company.Company) error {
	a.buf = a.buf[:0]
	n := 0
	for a.pending && a.companyID <= c.ID {
		if a.companyID == c.ID {
			rec, err := a.spill.record(a.id)
			if err != nil {
				return err
			}
			a.buf = append(a.buf, rec...)
			n++
		}
		if err := a.next(); err != nil {
			return err
		}
	}
	return sp.addEncoded(c, n, a.buf)
}

func (a *allContacts) end() error {
	if err := a.ids.Err(); err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	return nil
}

func (a *allContacts) close() {
	if a.ids != nil {
		_ = a.ids.Close()
	}
	a.spill.close()
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
	// records is the form the sink's companies take in the spill.
	records() recordCodec
	// flush ends a page: what is buffered goes out.
	flush() error
	// close finishes the file; ok is false when the export failed.
	close(ok bool) error
}
