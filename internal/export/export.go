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
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
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

// PageSize is how many companies one keyset page reads: a fixed number
// of queries (the search's page and its children, the contacts with
// theirs) whose child look-ups are index probes. Not more: on SQLite a
// page's ids are bound as parameters, whose cost grows with the square
// of their number; and a page and the next one read ahead are all the
// memory an export holds.
const PageSize = 1000

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
	// Progress, when set, is called after each page with the rows
	// written so far and the total counted at the start.
	Progress func(done, total int)
}

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

// page is one keyset page read: its companies and their contacts.
type page struct {
	companies []company.Company
	contacts  map[int64][]Contact
	total     int
	err       error
}

// walk reads the pages and hands their rows to sink. The pages are read
// one ahead, by a goroutine of their own, so that the database works on
// the next page while this one is formatted and written.
func (e *Exporter) walk(ctx context.Context, o Options, sink rowSink) (int, error) {
	if err := sink.header(); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan page, 1)
	var reading sync.WaitGroup
	reading.Go(func() { e.read(ctx, o, pages) })
	// An early return stops the reader and waits for it: nothing reads
	// the database after Write has returned.
	defer func() {
		cancel()
		for range pages {
		}
		reading.Wait()
	}()
	done := 0
	for p := range pages {
		if p.err != nil {
			return done, p.err
		}
		for i := range p.companies {
			c := &p.companies[i]
			if err := sink.company(c, p.contacts[c.ID]); err != nil {
				return done, err
			}
		}
		done += len(p.companies)
		if err := sink.flush(); err != nil {
			return done, err
		}
		if o.Progress != nil {
			o.Progress(done, max(p.total, done))
		}
	}
	return done, ctx.Err()
}

// read sends the export's pages to out, then closes it. It stops at the
// first error (sent as the last page) or when ctx is cancelled.
func (e *Exporter) read(ctx context.Context, o Options, out chan<- page) {
	defer close(out)
	send := func(p page) bool {
		select {
		case out <- p:
			return p.err == nil
		case <-ctx.Done():
			return false
		}
	}
	err := e.reading(ctx, func(src reader) error {
		q := o.Query
		q.Keyset, q.After, q.PageSize, q.Quick = true, 0, PageSize, false
		total := 0
		for {
			res, err := src.companies.Search(ctx, o.Scope, q)
			if err != nil {
				return err
			}
			if q.After == 0 {
				total = res.Count
			}
			contacts, err := src.contacts(ctx, res.Companies)
			if err != nil {
				return err
			}
			if !send(page{companies: res.Companies, contacts: contacts, total: total}) || len(res.Companies) < q.PageSize {
				return nil
			}
			q.After = res.Companies[len(res.Companies)-1].ID
		}
	})
	if err != nil {
		send(page{err: err})
	}
}

// reader is where the pages are read from: the search and the contacts'
// look-up on the same connection (or pool).
type reader struct {
	companies *company.Store
	db        database.Querier
}

// reading runs fn with a reader. On PostgreSQL it is one read-only
// REPEATABLE READ transaction, so the whole file is one snapshot of the
// base, in which sequential scans are off: a page is a few thousand
// index probes, which the planner, costing random reads as if from disk,
// trades on a mid-sized base for a scan of whole tables per page (on
// 100,000 companies EXPLAIN showed the search's page hash-joined against
// every company, and the contacts' look-up scanning three tables whole),
// so that the export's cost grew with the square of the base. SQLite plans the probes itself, and its transaction here
// would take the write lock (_txlock=immediate), so it reads from the
// pool.
func (e *Exporter) reading(ctx context.Context, fn func(reader) error) error {
	if e.db.Dialect != database.Postgres {
		return fn(reader{companies: e.companies, db: e.db})
	}
	tx, err := e.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT set_config('enable_seqscan', 'off', true)`); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return fn(reader{companies: e.companies.WithTx(tx), db: tx})
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

// contacts loads the live contacts of a page's companies with their
// phones and e-mails in one query.
func (r reader) contacts(ctx context.Context, list []company.Company) (map[int64][]Contact, error) {
	out := make(map[int64][]Contact, len(list))
	if len(list) == 0 {
		return out, nil
	}
	ids := make([]any, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	// The page's ids are one list, bound once: SQLite finds each «$N» by
	// name in a linear list, so a query's parameters cost the square of
	// their number, and the same ids three times over cost nine times one.
	var w database.Where
	query := `WITH ct AS (SELECT id, company_id, last_name, first_name, middle_name, position FROM contacts
			WHERE company_id IN ` + w.In(ids...) + ` AND deleted_at IS NULL)
		SELECT 0, ct.company_id, ct.id, 0, ct.last_name, ct.first_name, ct.middle_name, ct.position FROM ct
		UNION ALL SELECT 1, ct.company_id, ct.id, p.position, p.value, p.comment, '', ''
		FROM contact_phones p JOIN ct ON ct.id = p.contact_id
		UNION ALL SELECT 2, ct.company_id, ct.id, m.position, m.value, m.comment, '', ''
		FROM contact_emails m JOIN ct ON ct.id = m.contact_id
		ORDER BY 1, 2, 3, 4`
	rows, err := r.db.QueryContext(ctx, query, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("export contacts: %w", err)
	}
	defer rows.Close()
	// Contacts come first (kind 0), so their children find them.
	where := map[int64]int{}
	for rows.Next() {
		var (
			kind, pos     int
			companyID, id int64
			a, b, c, d    string
		)
		if err := rows.Scan(&kind, &companyID, &id, &pos, &a, &b, &c, &d); err != nil {
			return nil, fmt.Errorf("export contacts: %w", err)
		}
		if kind == 0 {
			where[id] = len(out[companyID])
			out[companyID] = append(out[companyID], Contact{ID: id, LastName: a, FirstName: b, MiddleName: c, Job: d})
			continue
		}
		i, ok := where[id]
		if !ok {
			continue
		}
		ct := &out[companyID][i]
		if kind == 1 {
			ct.Phones = append(ct.Phones, withComment(a, b))
		} else {
			ct.Emails = append(ct.Emails, withComment(a, b))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export contacts: %w", err)
	}
	return out, nil
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
		for f := range strings.FieldsSeq(part) {
			if len(dst) > start {
				dst = append(dst, ' ')
			}
			dst = append(dst, f...)
		}
	}
	return dst
}

// rowSink is a file format being written.
type rowSink interface {
	header() error
	company(c *company.Company, contacts []Contact) error
	// flush ends a page: what is buffered goes out.
	flush() error
	// close finishes the file; ok is false when the export failed.
	close(ok bool) error
}
