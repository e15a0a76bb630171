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
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
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

// PageSize is how many companies one keyset page reads.
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
		sink = newCSVSink(w)
	case XLSX:
		x, err := newXLSXSink(w)
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

// walk reads the pages and hands their rows to sink.
func (e *Exporter) walk(ctx context.Context, o Options, sink rowSink) (int, error) {
	if err := sink.header(); err != nil {
		return 0, err
	}
	q := o.Query
	q.Keyset, q.After, q.PageSize, q.Quick = true, 0, PageSize, false
	total, done := 0, 0
	for {
		res, err := e.companies.Search(ctx, o.Scope, q)
		if err != nil {
			return done, err
		}
		if q.After == 0 {
			total = res.Count
		}
		contacts, err := e.contacts(ctx, res.Companies)
		if err != nil {
			return done, err
		}
		for i := range res.Companies {
			c := &res.Companies[i]
			if err := sink.company(companyRow(c, contacts[c.ID], o.Location), c, contacts[c.ID]); err != nil {
				return done, err
			}
		}
		done += len(res.Companies)
		if err := sink.flush(); err != nil {
			return done, err
		}
		if o.Progress != nil {
			o.Progress(done, max(total, done))
		}
		if len(res.Companies) < q.PageSize {
			return done, nil
		}
		q.After = res.Companies[len(res.Companies)-1].ID
	}
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
func (e *Exporter) contacts(ctx context.Context, list []company.Company) (map[int64][]Contact, error) {
	out := make(map[int64][]Contact, len(list))
	if len(list) == 0 {
		return out, nil
	}
	ids := make([]any, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	var w database.Where
	in := func() string { return w.In(ids...) }
	query := `SELECT 0, ct.company_id, ct.id, 0, ct.last_name, ct.first_name, ct.middle_name, ct.position
		FROM contacts ct WHERE ct.company_id IN ` + in() + ` AND ct.deleted_at IS NULL
		UNION ALL SELECT 1, ct.company_id, ct.id, p.position, p.value, p.comment, '', ''
		FROM contact_phones p JOIN contacts ct ON ct.id = p.contact_id WHERE ct.company_id IN ` + in() + ` AND ct.deleted_at IS NULL
		UNION ALL SELECT 2, ct.company_id, ct.id, m.position, m.value, m.comment, '', ''
		FROM contact_emails m JOIN contacts ct ON ct.id = m.contact_id WHERE ct.company_id IN ` + in() + ` AND ct.deleted_at IS NULL
		ORDER BY 1, 2, 3, 4`
	rows, err := e.db.QueryContext(ctx, query, w.Args()...)
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

// companyRow is one company as the cells of its row.
func companyRow(c *company.Company, contacts []Contact, loc *time.Location) []string {
	phones := make([]string, len(c.Phones))
	for i, p := range c.Phones {
		phones[i] = withComment(p.Value, p.Comment)
	}
	emails := make([]string, len(c.Emails))
	for i, m := range c.Emails {
		emails[i] = withComment(m.Value, m.Comment)
	}
	people := make([]string, len(contacts))
	for i, ct := range contacts {
		people[i] = contactLine(ct)
	}
	return []string{strconv.FormatInt(c.ID, 10), c.Name, c.LegalName, c.INN, c.KPP, c.OGRN, c.Address, c.Website,
		strings.Join(phones, ", "), strings.Join(emails, ", "), strings.Join(c.SphereNames, ", "),
		c.BranchName, c.ResponsibleName, c.StatusName,
		c.CreatedAt.In(loc).Format(dateLayout), c.UpdatedAt.In(loc).Format(dateLayout),
		strings.Join(people, "\n")}
}

// contactLine is a contact in the company row's «Контакты» cell:
// «Иванов Иван (директор): +7 …, ivan@…».
func contactLine(ct Contact) string {
	s := ct.Name()
	if ct.Job != "" {
		s += " (" + ct.Job + ")"
	}
	if reach := append(append([]string{}, ct.Phones...), ct.Emails...); len(reach) > 0 {
		s += ": " + strings.Join(reach, ", ")
	}
	return s
}

// rowSink is a file format being written.
type rowSink interface {
	header() error
	company(row []string, c *company.Company, contacts []Contact) error
	// flush ends a page: what is buffered goes out.
	flush() error
	// close finishes the file; ok is false when the export failed.
	close(ok bool) error
}
