// Package amogen writes realistic amoCRM exports of contacts and companies
// — with the dirt real exports carry — so that the importer can be tested
// and measured on files of any size, 100,000 and 1,000,000 rows included.
//
// A generated file looks like the samples in internal/amoimport/testdata:
// one of the two known header layouts, companies and contacts interleaved
// and sorted by amoCRM ID descending, valid ИНН/КПП/ОГРН, phones in every
// format people type them, multi-value and multi-line cells, html entities,
// Excel's damage to numbers, duplicates of every kind the importer must
// recognise, contacts whose company is missing or ambiguous, unknown
// «Ответственный» values, blank and garbage rows and a second export
// pasted below the first. Most rows are clean; a few percent are dirty.
//
// Generation is streaming (a row is written as soon as it is made, so a
// million rows take the memory of a few thousand) and deterministic: the
// same Options give the same bytes. Write returns a Summary of what was
// planted, which tests compare with the importer's totals.
package amogen

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/demo"
)

// Layout is one of amoCRM's header layouts.
type Layout string

// The two header layouts known from real exports (see the fixtures).
const (
	// LayoutModern is the documented layout: «Наименование», «Компания»,
	// «Создатель», «Дата изменения», … (the fixture amo_small.csv).
	LayoutModern Layout = "modern"
	// LayoutClassic is the 2022 contacts export: «Полное имя контакта»,
	// «Название компании», «Кем создан контакт», … (the fixture
	// amo_small_excel_cp1251.csv).
	LayoutClassic Layout = "classic"
)

// Encoding is how the file's text is encoded.
type Encoding string

// The encodings an amoCRM export arrives in.
const (
	// UTF8 is UTF-8 without a byte-order mark.
	UTF8 Encoding = "utf8"
	// UTF8BOM is UTF-8 with a byte-order mark (Excel's «CSV UTF-8»).
	UTF8BOM Encoding = "utf8bom"
	// CP1251 is Windows-1251, what Excel writes on a Russian Windows; the
	// file then also carries Excel's re-save damage everywhere (dates
	// without seconds, long numbers in exponent form, lost leading zeros).
	CP1251 Encoding = "cp1251"
	// UTF16 is UTF-16 little-endian with a byte-order mark (Excel's
	// «Текст Юникод», tab-separated).
	UTF16 Encoding = "utf16"
)

// Options say what file to write.
type Options struct {
	// Rows is the number of records after the header, as a CSV reader
	// counts them (blank lines included); at least 20.
	Rows int
	// Seed makes the file: the same seed and options give the same bytes.
	Seed   uint64
	Layout Layout
	// Encoding is ignored by WriteXLSX.
	Encoding Encoding
	// Delimiter is ';' (the default), ',' or '\t' (the default for UTF16);
	// ignored by WriteXLSX.
	Delimiter rune
	// FirstCompany is the index of the first company given to
	// demo.Generator.Company, whose ИНН are unique by index: the default,
	// 5,000,000, keeps the file's companies apart from a demo base of up
	// to five million companies loaded by `crm demo` or `crm bench`.
	FirstCompany int
}

// Summary is what Write planted: the totals an ideal importer ends with
// and the counts of every kind of dirt. The names follow the fixtures'
// truth files (internal/amoimport/testdata/*.truth.json).
type Summary struct {
	// Records is the number of records after the header; Bytes the size
	// of the file.
	Records int   `json:"records"`
	Bytes   int64 `json:"bytes"`
	// CompanyRecords and ContactRecords are the rows of each «Тип» that
	// are imported (duplicates included, skipped rows not).
	CompanyRecords int `json:"company_records"`
	ContactRecords int `json:"contact_records"`
	// Companies is the number of distinct companies an ideal importer
	// ends with, the ones it creates from contacts' orphan references
	// (OrphanCompanyNames) included; Contacts the distinct contacts.
	Companies          int `json:"companies_plus_orphan_refs"`
	OrphanCompanyNames int `json:"orphan_company_names"`
	Contacts           int `json:"contacts"`
	// InvalidRecords is the number of skipped rows; InvalidByReason
	// counts them by reason (blank_line, empty_row, repeated_header,
	// garbage_row, unknown_type, company_without_name, contact_empty).
	InvalidRecords  int            `json:"invalid_records"`
	InvalidByReason map[string]int `json:"invalid_by_reason"`
	// DuplicateCompanyRecords and DuplicateContactRecords are the rows
	// that repeat an entity of an earlier row; DuplicatesByMatch counts
	// them by what makes them one («company:inn», «company:name_address»,
	// «company:repeated_id», «contact:repeated_id») and DuplicatesByKind
	// by the dirt planted («dup_branch», «dup_inn_lost_zero», …).
	DuplicateCompanyRecords int            `json:"duplicate_company_records"`
	DuplicateContactRecords int            `json:"duplicate_contact_records"`
	DuplicatesByMatch       map[string]int `json:"duplicates_by_match"`
	DuplicatesByKind        map[string]int `json:"duplicates_by_kind"`
	// The contacts by what their company reference resolves to: one
	// company, none written, a company created from the reference
	// (orphan) or several companies of that name (ambiguous).
	ContactsLinked         int `json:"contacts_linked"`
	ContactsWithoutCompany int `json:"contacts_without_company"`
	ContactsOrphanRef      int `json:"contacts_orphan_ref"`
	ContactsAmbiguousRef   int `json:"contacts_ambiguous_ref"`
	// The imported rows by what their «Ответственный» is: one of Users,
	// a value no user matches, or empty.
	RecordsResponsibleResolved int `json:"records_responsible_resolved"`
	RecordsResponsibleUnknown  int `json:"records_responsible_unknown"`
	RecordsResponsibleEmpty    int `json:"records_responsible_empty"`
	// WarningsByCode counts the planted defects by the truth files'
	// warning codes (inn_leading_zero_lost, phone_excel_error, …).
	WarningsByCode map[string]int `json:"warnings_by_code"`
	// PhonesWithExtension and MultiValueCells count two features that are
	// no defect but trip naive readers; HugeNotes counts notes longer than
	// 131,072 characters (Python's csv limit; in .xlsx, Excel's 32,767).
	PhonesWithExtension int `json:"phones_with_extension"`
	MultiValueCells     int `json:"multi_value_cells"`
	MultiLineCells      int `json:"multi_line_cells"`
	HugeNotes           int `json:"huge_notes"`
}

// User is one of the CRM users the generated «Ответственный» values
// refer to; create them before importing so the names resolve.
type User struct {
	Username, FirstName, LastName, Patronymic, Email string
}

// Users are the sales team of the generated exports.
func Users() []User {
	return []User{
		{"a.smirnov", "Алексей", "Смирнов", "Петрович", "a.smirnov@salesteam.ru"},
		{"e.kuznetsova", "Елена", "Кузнецова", "Викторовна", "e.kuznetsova@salesteam.ru"},
		{"d.popov", "Дмитрий", "Попов", "Сергеевич", "d.popov@salesteam.ru"},
		{"o.vasileva", "Ольга", "Васильева", "Игоревна", "o.vasileva@salesteam.ru"},
		{"s.sokolov", "Сергей", "Соколов", "Александрович", "s.sokolov@salesteam.ru"},
		{"a.morozov", "Андрей", "Морозов", "Николаевич", "a.morozov@salesteam.ru"},
		{"n.volkova", "Наталья", "Волкова", "Андреевна", "n.volkova@salesteam.ru"},
		{"i.lebedev", "Игорь", "Лебедев", "Владимирович", "i.lebedev@salesteam.ru"},
		{"m.kozlova", "Мария", "Козлова", "Дмитриевна", "m.kozlova@salesteam.ru"},
		{"a.novikov", "Алексей", "Новиков", "Юрьевич", "a.novikov@salesteam.ru"},
		{"t.fedorova", "Татьяна", "Фёдорова", "Олеговна", "t.fedorova@salesteam.ru"},
		{"r.orlov", "Роман", "Орлов", "Евгеньевич", "r.orlov@salesteam.ru"},
	}
}

// Write writes an export as CSV to w and says what it planted.
func Write(w io.Writer, opt Options) (Summary, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	s, err := newCSVSink(w, opt)
	if err != nil {
		return Summary{}, err
	}
	return generate(s, opt)
}

func (o Options) withDefaults() (Options, error) {
	if o.Rows < 20 {
		return o, errors.New("amogen: at least 20 rows")
	}
	switch o.Layout {
	case "":
		o.Layout = LayoutModern
	case LayoutModern, LayoutClassic:
	default:
		return o, fmt.Errorf("amogen: unknown layout %q", o.Layout)
	}
	switch o.Encoding {
	case "":
		o.Encoding = UTF8BOM
	case UTF8, UTF8BOM, CP1251, UTF16:
	default:
		return o, fmt.Errorf("amogen: unknown encoding %q", o.Encoding)
	}
	switch o.Delimiter {
	case 0:
		o.Delimiter = ';'
		if o.Encoding == UTF16 {
			o.Delimiter = '\t'
		}
	case ';', ',', '\t':
	default:
		return o, fmt.Errorf("amogen: unsupported delimiter %q", o.Delimiter)
	}
	if o.FirstCompany == 0 {
		o.FirstCompany = 5_000_000
	}
	return o, nil
}

// sink is where rows go: a CSV stream or an .xlsx sheet.
type sink interface {
	// record writes one row of cells; cells may be longer than the header
	// (extra columns) and all empty (a row of bare delimiters).
	record(cells []string) error
	// blank writes an empty line.
	blank() error
	// maxCell is the longest cell the format holds (0: no limit).
	maxCell() int
	close() (int64, error)
}

// exportTime is the moment the generated export was made: dates are
// before it, so the same seed gives the same file on any day.
var exportTime = time.Date(2025, 12, 11, 10, 0, 0, 0, time.UTC)

// gen holds the state of one generation.
type gen struct {
	opt   Options
	out   sink
	rnd   *rand.Rand
	demo  *demo.Generator
	cols  columns
	row   []string
	sum   Summary
	excel bool // the file went through an Excel re-save

	budget  int   // records still to write in the main part
	written int   // records written so far
	nextID  int64 // the next amoCRM ID (descending)
	nextK   int   // the next company index

	recent        ring    // recently written companies, for duplicates
	repeats       []saved // sampled rows repeated after the pasted header
	repeatsWanted int
	seen          int  // rows offered to the sample
	rowWarned     bool // the row being written carries a planted warning
	hugeNext      int  // record number after which the next huge note goes
	rates         rates
}

// Planting rates, per opportunity (a record, a company row, a contact
// row); each kind fires at exactly its rate, with a phase from the seed,
// so even rare kinds appear in a file of a few thousand rows.
type rates struct {
	blank, emptyRow, unknownType, noName, contactEmpty, garbage pace
	dupCompany, ambiguous, orphan, standalone                   pace
	extraColumns, longName, longAddress                         pace
	htmlEntities, responsibleUnknown, responsibleEmpty          pace
	innLeadingZero, innFloat, innFormatted, innCombined         pace
	innScientific, innChecksum, innLength, kppInvalid           pace
	phoneExcel, phoneNoArea, emailInvalid                       pace
}

// pace fires at a fixed rate: exactly one in every 1/rate calls on
// average, the first time at a point set by the seed.
type pace struct{ acc, rate float64 }

func (p *pace) fire() bool {
	p.acc += p.rate
	if p.acc >= 1 {
		p.acc--
		return true
	}
	return false
}

func (g *gen) pace(rate float64) pace { return pace{acc: g.rnd.Float64(), rate: rate} }

func generate(out sink, opt Options) (Summary, error) {
	g := &gen{
		opt:   opt,
		out:   out,
		rnd:   rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x5eed_a110)), //nolint:gosec // test data, not secrets
		demo:  demo.New(opt.Seed),
		cols:  layouts[opt.Layout],
		excel: opt.Encoding == CP1251,
		nextK: opt.FirstCompany,
	}
	g.row = make([]string, len(g.cols.header))
	g.sum.InvalidByReason = map[string]int{}
	g.sum.DuplicatesByMatch = map[string]int{}
	g.sum.DuplicatesByKind = map[string]int{}
	g.sum.WarningsByCode = map[string]int{}
	g.rates = rates{
		blank: g.pace(1.0 / 4000), emptyRow: g.pace(1.0 / 5000), unknownType: g.pace(1.0 / 5000),
		noName: g.pace(1.0 / 6000), contactEmpty: g.pace(1.0 / 5000), garbage: g.pace(1.0 / 20000),
		dupCompany: g.pace(0.03), ambiguous: g.pace(1.0 / 2500), orphan: g.pace(1.0 / 400),
		standalone:   g.pace(0.12),
		extraColumns: g.pace(1.0 / 3000), longName: g.pace(1.0 / 8000), longAddress: g.pace(1.0 / 8000),
		htmlEntities: g.pace(0.01), responsibleUnknown: g.pace(0.02), responsibleEmpty: g.pace(0.005),
		innLeadingZero: g.pace(0.03), innFloat: g.pace(0.005), innFormatted: g.pace(0.006), innCombined: g.pace(0.005),
		innScientific: g.pace(0.004), innChecksum: g.pace(0.003), innLength: g.pace(0.002), kppInvalid: g.pace(0.002),
		phoneExcel: g.pace(0.002), phoneNoArea: g.pace(0.003), emailInvalid: g.pace(0.005),
	}
	// The tail: a second export pasted below (its header and rows that
	// repeat earlier IDs), then a footer.
	repeats := min(max(2, opt.Rows/500), 2048)
	g.repeatsWanted = repeats
	g.budget = opt.Rows - repeats - 2
	g.nextID = 17_300_000 + int64(opt.Rows)*13
	g.hugeNext = min(opt.Rows/2, 50_000)

	if err := g.header(); err != nil {
		return g.sum, err
	}
	for g.budget > 0 {
		if err := g.unit(); err != nil {
			return g.sum, err
		}
	}
	if err := g.tail(repeats); err != nil {
		return g.sum, err
	}
	n, err := out.close()
	g.sum.Bytes = n
	g.sum.Records = g.written
	g.sum.Companies = g.sum.CompanyRecords - g.sum.DuplicateCompanyRecords + g.sum.OrphanCompanyNames
	g.sum.Contacts = g.sum.ContactRecords - g.sum.DuplicateContactRecords
	return g.sum, err
}

func (g *gen) header() error {
	return g.out.record(g.cols.header)
}

// unit writes the next piece of the export: one dirty row, a duplicate,
// a contact, or a company with its contacts.
func (g *gen) unit() error {
	r := &g.rates
	switch {
	case r.blank.fire():
		g.skip("blank_line")
		g.written++
		g.budget--
		return g.out.blank()
	case r.emptyRow.fire():
		g.skip("empty_row")
		return g.emit(g.clear())
	case r.unknownType.fire():
		return g.deal()
	case r.noName.fire():
		return g.companyWithoutName()
	case r.contactEmpty.fire():
		return g.emptyContact()
	case r.garbage.fire():
		g.skip("garbage_row")
		row := g.clear()
		row[0] = g.pick([]string{"Экспорт выполнен пользователем Администратор", "Страница 2", "=СУММ(A2:A100)"})
		return g.emit(row)
	case r.dupCompany.fire() && g.recent.n > 0:
		return g.duplicate()
	case r.ambiguous.fire() && g.budget >= 3:
		return g.namesakes()
	case r.orphan.fire():
		return g.orphanContacts()
	case r.standalone.fire():
		return g.contactRow(nil, "", refNone)
	}
	return g.companyBlock()
}

// emit writes a record and counts it.
func (g *gen) emit(row []string) error {
	g.written++
	g.budget--
	return g.out.record(row)
}

func (g *gen) skip(reason string) {
	g.sum.InvalidRecords++
	g.sum.InvalidByReason[reason]++
}

// warn counts a planted defect of the row being written.
func (g *gen) warn(code string) {
	g.sum.WarningsByCode[code]++
	g.rowWarned = true
}

// clear empties the row buffer and returns it.
func (g *gen) clear() []string {
	g.row = g.row[:len(g.cols.header)]
	clear(g.row)
	g.rowWarned = false
	return g.row
}

func (g *gen) set(f field, v string) {
	if i := g.cols.index[f]; i >= 0 {
		g.row[i] = v
	}
}

func (g *gen) get(f field) string {
	if i := g.cols.index[f]; i >= 0 {
		return g.row[i]
	}
	return ""
}

func (g *gen) pick(list []string) string { return list[g.rnd.IntN(len(list))] }

func (g *gen) chance(p float64) bool { return g.rnd.Float64() < p }

// id takes the next amoCRM ID: IDs fall by a few each row, like an export
// sorted by ID descending.
func (g *gen) id() int64 {
	id := g.nextID
	g.nextID -= 2 + g.rnd.Int64N(11)
	return id
}

// created is the creation time of the row being written: rows further
// down the file were created earlier, over eight years.
func (g *gen) created() time.Time {
	span := 8 * 365 * 24 * time.Hour
	frac := float64(g.written) / float64(max(g.opt.Rows, 1))
	return exportTime.Add(-time.Duration(frac*float64(span)) - time.Duration(g.rnd.IntN(3600))*time.Second)
}

// date formats a time as amoCRM does, or as Excel re-saves it (no
// seconds, the hour without a leading zero).
func (g *gen) date(t time.Time) string {
	if g.excel {
		return fmt.Sprintf("%02d.%02d.%d %d:%02d", t.Day(), t.Month(), t.Year(), t.Hour(), t.Minute())
	}
	return t.Format("02.01.2006 15:04:05")
}

// responsible fills «Ответственный»: a user written one of the ways
// amoCRM shows them, or a value no user matches, or nothing.
func (g *gen) responsible() {
	switch {
	case g.rates.responsibleUnknown.fire():
		g.set(fResponsible, g.pick(unknownResponsible))
		g.sum.RecordsResponsibleUnknown++
		g.warn("responsible_unknown")
	case g.rates.responsibleEmpty.fire():
		g.sum.RecordsResponsibleEmpty++
	default:
		g.set(fResponsible, g.userName(Users()[g.rnd.IntN(12)], false))
		g.sum.RecordsResponsibleResolved++
	}
}

// unknownResponsible are «Ответственный» values that match no user:
// fired staff, initials, a first name two users share, a role.
var unknownResponsible = []string{
	"Иванова Светлана (уволена)", "Сидоренко Ольга", "Смирнов А.", "Алексей", "Администратор",
	"Петров Пётр", "(МСК) Гаврилов Денис", "Менеджер 3",
}

// userName writes a user the ways amoCRM exports show them.
func (g *gen) userName(u User, plain bool) string {
	if plain {
		return u.FirstName + " " + u.LastName
	}
	switch g.rnd.IntN(14) {
	case 0:
		return u.Username
	case 1:
		return u.Email
	case 2:
		return u.LastName + " " + u.FirstName + " " + u.Patronymic
	case 3:
		return u.FirstName + " " + u.LastName
	case 4:
		return g.pick([]string{"(МСК) ", "(СПб) ", "(ЕКБ) ", "(Казань) "}) + u.LastName + " " + u.FirstName
	case 5:
		return strings.ToUpper(u.LastName + " " + u.FirstName)
	case 6:
		return u.LastName + "  " + u.FirstName
	case 7:
		return strings.ReplaceAll(u.LastName, "ё", "е") + " " + u.FirstName
	default:
		return u.LastName + " " + u.FirstName
	}
}

// saved is a row kept to be repeated after the pasted header.
type saved struct {
	cells   []string
	company bool
}

// offer keeps a copy of the current row in a small sample (reservoir
// sampling), so the pasted second export can repeat rows from anywhere
// in the file without keeping the file.
func (g *gen) offer(company bool) {
	if g.rowWarned {
		return // only clean rows: a repeat carries no second warning
	}
	size := g.repeatsWanted
	g.seen++
	i := len(g.repeats)
	if i >= size {
		i = g.rnd.IntN(g.seen)
		if i >= size {
			return
		}
	}
	s := saved{cells: append([]string(nil), g.row...), company: company}
	if i == len(g.repeats) {
		g.repeats = append(g.repeats, s)
	} else {
		g.repeats[i] = s
	}
}

// tail writes the second export pasted below the first — its header and
// rows repeating earlier IDs, edited since — and a footer.
func (g *gen) tail(repeats int) error {
	g.skip("repeated_header")
	if err := g.emit(g.cols.header); err != nil {
		return err
	}
	for i := range repeats {
		if i >= len(g.repeats) {
			g.skip("blank_line") // a file too small to repeat enough rows
			g.written++
			if err := g.out.blank(); err != nil {
				return err
			}
			continue
		}
		s := g.repeats[i]
		g.row = append(g.row[:0], s.cells...)
		g.set(fModified, g.date(exportTime.Add(-time.Duration(g.rnd.IntN(48*60))*time.Minute)))
		kind := "contact"
		if s.company {
			kind = "company"
			g.sum.CompanyRecords++
			g.sum.DuplicateCompanyRecords++
		} else {
			g.sum.ContactRecords++
			g.sum.DuplicateContactRecords++
		}
		g.sum.DuplicatesByMatch[kind+":repeated_id"]++
		g.sum.DuplicatesByKind["repeat_id"]++
		g.countResponsible()
		if err := g.emit(g.row); err != nil {
			return err
		}
	}
	g.skip("garbage_row")
	row := g.clear()
	row[0] = fmt.Sprintf("Итого: %d записей", g.written-g.sum.InvalidRecords+1)
	return g.emit(row)
}

// countResponsible counts the «Ответственный» of a repeated row, as its
// original was counted.
func (g *gen) countResponsible() {
	v := g.get(fResponsible)
	switch {
	case v == "":
		g.sum.RecordsResponsibleEmpty++
	case isUnknownResponsible(v):
		g.sum.RecordsResponsibleUnknown++
		g.warn("responsible_unknown")
	default:
		g.sum.RecordsResponsibleResolved++
	}
}

func isUnknownResponsible(v string) bool {
	for _, u := range unknownResponsible {
		if u == v {
			return true
		}
	}
	return false
}

// truncate cuts s to at most n characters (for .xlsx cells).
func truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
