package amoimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/contactinfo"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// The reasons a row of the file is skipped (Skip.Reason), as the truth
// files name them, and csv_error for a row the CSV reader rejected.
const (
	ReasonBlankLine          = "blank_line"
	ReasonEmptyRow           = "empty_row"
	ReasonRepeatedHeader     = "repeated_header"
	ReasonGarbageRow         = "garbage_row"
	ReasonUnknownType        = "unknown_type"
	ReasonCompanyWithoutName = "company_without_name"
	ReasonContactEmpty       = "contact_empty"
	ReasonCSVError           = "csv_error"
)

// FormatError is the error Parse returns for a file that is no amoCRM
// export: empty, binary, an old .xls, or a table without the columns an
// export has. Message is Russian and says what to do; the page shows it
// as it is.
type FormatError struct {
	Message string
}

func (e *FormatError) Error() string { return e.Message }

// Messages of FormatError.
const (
	msgEmpty     = "Файл пуст: в нём нет ни заголовка, ни строк."
	msgBinary    = "Файл не похож на выгрузку amoCRM: это не текст CSV и не книга Excel (.xlsx). Выгрузите контакты и компании из amoCRM в CSV или Excel и загрузите этот файл."
	msgXLS       = "Файл в старом формате Excel (.xls). Откройте его в Excel и сохраните как «Книга Excel (.xlsx)» или CSV."
	msgBadXLSX   = "Файл похож на архив, но это не книга Excel (.xlsx), которую можно прочитать."
	msgNoColumns = "В заголовке файла нет ни столбца «Тип», ни столбца с названием или именем («Наименование», «Название компании», «Полное имя контакта»): это не выгрузка контактов и компаний amoCRM."
)

// Parser reads an export row by row. Memory does not grow with the file:
// one row is held at a time (the CSV reader reuses its record), so a
// 1,000,000-row file reads in the memory of a 1,000-row one.
type Parser struct {
	src     source
	cols    Columns
	layout  layout
	number  int
	blanks  int // blank lines still to report before held
	blankAt int // the line of the next of them
	line    int // the line after the last record read
	held    []string
	heldPos int
	heldErr error
	done    bool
	delim   rune // a CSV file's delimiter; 0 for a workbook
}

// source is a file format's row reader: the cells of the next physical
// record with the line it starts on and the line it ends on, or io.EOF
// with the file's last line.
type source interface {
	next() (cells []string, line, end int, err error)
	lastLine() int
	progress() (done, total int64)
	close() error
}

// Parse opens an export: an .xlsx workbook (recognised by its zip magic,
// read with excelize's streaming row reader) or CSV in any of the
// encodings and delimiters amo-format.md §1.5 lists — UTF-8 with or
// without BOM, Windows-1251 when the bytes are not UTF-8, UTF-16 with a
// BOM; «;», «,» or tab, sniffed from the header. It reads the header and
// returns a *FormatError when the file is no export.
func Parse(r io.ReaderAt, size int64) (*Parser, error) {
	var head [8]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("amoimport: read the file: %w", err)
	}
	if n == 0 || size == 0 {
		return nil, &FormatError{Message: msgEmpty}
	}
	var src source
	switch {
	case bytes.HasPrefix(head[:n], []byte("PK\x03\x04")):
		src, err = openXLSX(r, size)
	case bytes.HasPrefix(head[:n], []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return nil, &FormatError{Message: msgXLS}
	default:
		src, err = openCSV(r, size)
	}
	if err != nil {
		return nil, err
	}
	p := &Parser{src: src}
	if c, ok := src.(*csvSource); ok {
		p.delim = c.cr.Comma
	}
	header, _, end, err := src.next()
	switch {
	case errors.Is(err, io.EOF):
		err = &FormatError{Message: msgEmpty}
	case err == nil:
		p.cols, p.layout = mapColumns(header)
		if !p.layout.isExport() {
			err = &FormatError{Message: msgNoColumns}
		}
	}
	if err != nil {
		_ = src.close()
		return nil, err
	}
	p.line = end + 1
	return p, nil
}

// Close releases what reading holds: nothing for a CSV file, the
// workbook and its temporary files for an .xlsx. Reading to io.EOF closes
// too; a caller that stops early (a cancelled import) calls Close.
func (p *Parser) Close() error { return p.src.close() }

// Columns is the header as the parser understood it.
func (p *Parser) Columns() Columns { return p.cols }

// Progress is how far reading is: bytes of a CSV file, rows of a workbook.
func (p *Parser) Progress() (done, total int64) { return p.src.progress() }

// Next returns the next row: a Record, or a Skip saying why the row is
// none. It returns io.EOF after the last row. A row the CSV reader
// rejects is a Skip too: one bad row never stops an import.
func (p *Parser) Next() (Row, error) {
	for {
		if p.blanks > 0 {
			p.blanks--
			p.number++
			p.blankAt++
			return Row{Skip: &Skip{Number: p.number, Line: p.blankAt - 1, Reason: ReasonBlankLine}}, nil
		}
		if p.held != nil || p.heldErr != nil {
			cells, line, err := p.held, p.heldPos, p.heldErr
			p.held, p.heldErr = nil, nil
			p.number++
			if err != nil {
				return Row{Skip: &Skip{Number: p.number, Line: line, Reason: ReasonCSVError}}, nil
			}
			return p.row(cells, line), nil
		}
		if p.done {
			return Row{}, io.EOF
		}
		cells, line, end, err := p.src.next()
		var perr *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			p.done = true
			if last := p.src.lastLine(); last >= p.line {
				p.blanks, p.blankAt = last-p.line+1, p.line
			}
			continue
		case errors.As(err, &perr):
			p.heldErr, p.heldPos = err, perr.StartLine
			line, end = perr.StartLine, perr.Line
		case err != nil:
			return Row{}, err
		default:
			p.held, p.heldPos = cells, line
			if p.held == nil {
				p.held = []string{}
			}
		}
		if line > p.line {
			p.blanks, p.blankAt = line-p.line, p.line
		}
		p.line = end + 1
	}
}

// rowReader reads the cells of one row, cleaned, collecting the row's
// issues.
type rowReader struct {
	cells  []string
	issues []Issue
}

func (rr *rowReader) get(c column) string {
	if c.index >= len(rr.cells) {
		return ""
	}
	v, _ := cleanCell(rr.cells[c.index])
	return v
}

// first returns the first non-empty value of the fields' columns, in the
// order of fields, and the column it came from.
func (rr *rowReader) first(l layout, fields ...Field) (string, column) {
	for _, f := range fields {
		for _, c := range l.byField[f] {
			if v := rr.get(c); v != "" {
				return v, c
			}
		}
	}
	return "", column{index: -1}
}

// plain returns the first non-empty value of a field without reporting
// entities (dates, ids, kinds).
func (rr *rowReader) plain(l layout, f Field) string {
	for _, c := range l.byField[f] {
		if c.index < len(rr.cells) {
			if v, _ := cleanCell(rr.cells[c.index]); v != "" {
				return v
			}
		}
	}
	return ""
}

// row classifies a physical record and reads it into a Record or a Skip.
func (p *Parser) row(cells []string, line int) Row {
	skip := func(reason string) Row {
		return Row{Skip: &Skip{Number: p.number, Line: line, Reason: reason}}
	}
	empty := true
	for _, c := range cells {
		if strings.TrimSpace(strings.ReplaceAll(c, "\u00a0", " ")) != "" {
			empty = false
			break
		}
	}
	if empty {
		return skip(ReasonEmptyRow)
	}
	l := p.layout
	rr := &rowReader{cells: cells}
	kind := l.defaultKind
	if l.has(FieldType) {
		switch t := rowKind(rr.plain(l, FieldType)); {
		case t == l.typeHeader:
			return skip(ReasonRepeatedHeader)
		case t == "":
			return skip(ReasonGarbageRow)
		case strings.Contains(t, "компан"):
			kind = KindCompany
		case strings.Contains(t, "контакт"):
			kind = KindContact
		default:
			return skip(ReasonUnknownType)
		}
	} else if p.isHeaderAgain(cells) {
		return skip(ReasonRepeatedHeader)
	}
	rec := &Record{Number: p.number, Line: line, Kind: kind}
	if id := rr.plain(l, FieldAmoID); id != "" {
		if d, ok := stripFloatSuffix(id); ok {
			id = d
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			rr.issues = append(rr.issues, Issue{Code: CodeAmoIDInvalid, Field: l.byField[FieldAmoID][0].header, Value: id})
		} else {
			rec.AmoID = n
		}
	}
	if kind == KindCompany {
		name, col := rr.first(l, FieldName, FieldCompanyName, FieldContactName)
		p.nameIssues(rr, col)
		rec.Name = limitField(rr, name, maxCompanyName, "name")
		if rec.Name == "" {
			return skip(ReasonCompanyWithoutName)
		}
	} else {
		full, col := rr.first(l, FieldName, FieldContactName)
		p.nameIssues(rr, col)
		last, _ := rr.first(l, FieldLastName)
		first, _ := rr.first(l, FieldFirstName)
		middle, _ := rr.first(l, FieldMiddleName)
		if full == "" {
			full = strings.Join(strings.Fields(first+" "+middle+" "+last), " ")
		}
		rec.Name = full
		rec.LastName, rec.FirstName, rec.MiddleName = personName(full, last, first, middle)
		rec.LastName = limitField(rr, rec.LastName, maxPersonName, "last_name")
		rec.FirstName = limitField(rr, rec.FirstName, maxPersonName, "first_name")
		rec.MiddleName = limitField(rr, rec.MiddleName, maxPersonName, "middle_name")
		rec.Company, _ = rr.first(l, FieldCompany, FieldCompanyName)
		pos, _ := rr.first(l, FieldPosition)
		rec.Position = limitField(rr, pos, maxPosition, "position")
	}
	rec.Responsible, _ = rr.first(l, FieldResponsible)
	rec.CreatedBy, _ = rr.first(l, FieldCreatedBy)
	rec.UpdatedBy, _ = rr.first(l, FieldUpdatedBy)
	rec.CreatedAt = p.date(rr, FieldCreatedAt)
	rec.UpdatedAt = p.date(rr, FieldUpdatedAt)
	for _, c := range l.byField[FieldPhone] {
		if v := rr.get(c); v != "" {
			rec.Phones = appendPhones(rec.Phones, readPhones(v, c, &rr.issues))
		}
	}
	for _, c := range l.byField[FieldEmail] {
		if v := rr.get(c); v != "" {
			rec.Emails = appendEmails(rec.Emails, readEmails(v, c, &rr.issues))
		}
	}
	if kind == KindContact && rec.Name == "" && len(rec.Phones) == 0 && len(rec.Emails) == 0 {
		return skip(ReasonContactEmpty)
	}
	addr, _ := rr.first(l, FieldAddress)
	rec.Address = limitField(rr, addr, maxAddress, "address")
	web, _ := rr.first(l, FieldWebsite)
	rec.Website = limitField(rr, web, maxWebsite, "website")
	p.requisites(rr, rec)
	for _, c := range l.byField[FieldNote] {
		if v := rr.get(c); v != "" {
			if n := utf8.RuneCountInString(v); n > maxNote {
				rr.issues = append(rr.issues, Issue{Code: CodeNoteVeryLong, Field: c.header, Value: strconv.Itoa(n)})
			}
			rec.Notes = append(rec.Notes, v)
		}
	}
	for _, f := range []Field{FieldTags, FieldSpheres} {
		for _, c := range l.byField[f] {
			if v := rr.get(c); v != "" {
				rec.Spheres = SplitList(v, rec.Spheres)
			}
		}
	}
	p.extraCells(rr)
	p.longFields(rr)
	p.swallowedRows(rr)
	rec.Issues = rr.issues
	return Row{Record: rec}
}

// rowKind folds a «Тип» cell for classifying, sparing the common values
// the work of headerKey.
func rowKind(typ string) string {
	switch typ {
	case "компания", "контакт", "":
		return typ
	}
	return headerKey(typ)
}

// nameIssues reports HTML entities in the record's name as the truth
// files do, under the logical field «name». Every cell is unescaped; only
// the name is reported, since it is what the admin recognises the row by
// and what matching keys on.
func (p *Parser) nameIssues(rr *rowReader, col column) {
	if col.index < 0 || col.index >= len(rr.cells) {
		return
	}
	if _, entities := cleanCell(rr.cells[col.index]); entities {
		rr.issues = append(rr.issues, Issue{Code: CodeHTMLEntities, Field: "name", Value: strings.TrimSpace(rr.cells[col.index])})
	}
}

// limitField cuts a value to the length its field takes, reporting
// value_too_long with the original length under the logical field's name.
func limitField(rr *rowReader, v string, limit int, field string) string {
	cut, ok := limitRunes(v, limit)
	if ok {
		rr.issues = append(rr.issues, Issue{Code: CodeValueTooLong, Field: field, Value: strconv.Itoa(utf8.RuneCountInString(v)), Fixed: cut})
	}
	return cut
}

func (p *Parser) date(rr *rowReader, f Field) time.Time {
	v := rr.plain(p.layout, f)
	t, ok := ParseDate(v)
	if !ok {
		rr.issues = append(rr.issues, Issue{Code: CodeDateInvalid, Field: p.layout.byField[f][0].header, Value: v})
	}
	return t
}

// requisites reads ИНН, КПП and ОГРН with their repairs.
func (p *Parser) requisites(rr *rowReader, rec *Record) {
	l := p.layout
	pairKPP := ""
	if v, col := rr.first(l, FieldINN); v != "" {
		inn, kpp, issue := RepairINN(v)
		rec.INN, pairKPP = inn, kpp
		if issue != nil {
			issue.Field = col.header
			rr.issues = append(rr.issues, *issue)
		}
	}
	if v, col := rr.first(l, FieldKPP); v != "" {
		kpp, issue := RepairKPP(v)
		rec.KPP = kpp
		if issue != nil {
			issue.Field = col.header
			rr.issues = append(rr.issues, *issue)
		}
	}
	if rec.KPP == "" {
		rec.KPP = pairKPP
	}
	if v, col := rr.first(l, FieldOGRN); v != "" {
		ogrn, issue := RepairOGRN(v)
		rec.OGRN = ogrn
		if issue != nil {
			issue.Field = col.header
			rr.issues = append(rr.issues, *issue)
		}
	}
}

// extraCells reports the non-empty cells beyond the header.
func (p *Parser) extraCells(rr *rowReader) {
	if len(rr.cells) <= len(p.cols.Header) {
		return
	}
	var extra []string
	for _, c := range rr.cells[len(p.cols.Header):] {
		if v, _ := cleanCell(c); v != "" {
			extra = append(extra, v)
		}
	}
	if len(extra) > 0 {
		rr.issues = append(rr.issues, Issue{Code: CodeExtraColumns, Value: strings.Join(extra, "; ")})
	}
}

// longFields reports a cell over Python's default csv field limit
// (131,072 characters): the first version's importer died on one, so the
// report points it out although this reader has no such limit.
func (p *Parser) longFields(rr *rowReader) {
	for i, c := range rr.cells {
		if len(c) <= pythonCSVFieldLimit {
			continue
		}
		if n := utf8.RuneCountInString(c); n > pythonCSVFieldLimit {
			field := ""
			if i < len(p.cols.Header) {
				field = p.cols.Header[i]
			}
			rr.issues = append(rr.issues, Issue{Code: CodeFieldOverPythonLimit, Field: field, Value: strconv.Itoa(n)})
		}
	}
}

// swallowedRows reports a cell whose quote was never closed: the CSV
// reader (like Python's, by which the truth files number) then reads the
// following lines into that one cell. A quoted multi-line note is common;
// a line inside a cell carrying as many delimiters as half a row is not,
// so each such line is counted as a row that was swallowed, and the
// record gets quote_unclosed with the count, for the admin to fix the
// file.
func (p *Parser) swallowedRows(rr *rowReader) {
	if p.delim == 0 {
		return
	}
	need := max(len(p.cols.Header)/2, 2)
	for i, c := range rr.cells {
		if strings.IndexByte(c, '\n') < 0 {
			continue
		}
		rows := 0
		for rest := c[strings.IndexByte(c, '\n')+1:]; rest != ""; {
			line := rest
			if i := strings.IndexByte(rest, '\n'); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				rest = ""
			}
			if strings.Count(line, string(p.delim)) >= need {
				rows++
			}
		}
		if rows > 0 {
			field := ""
			if i < len(p.cols.Header) {
				field = p.cols.Header[i]
			}
			rr.issues = append(rr.issues, Issue{Code: CodeQuoteUnclosed, Field: field, Value: strconv.Itoa(rows)})
		}
	}
}

// isHeaderAgain reports whether a row repeats the header (two exports
// pasted together) in a file without a «Тип» column.
func (p *Parser) isHeaderAgain(cells []string) bool {
	same, filled := 0, 0
	for i, h := range p.cols.Header {
		if h == "" {
			continue
		}
		filled++
		if i < len(cells) && cleanHeader(cells[i]) == h {
			same++
		}
	}
	return filled > 0 && same*2 > filled
}

func appendPhones(have, add []contactinfo.Phone) []contactinfo.Phone {
next:
	for _, p := range add {
		for _, h := range have {
			if p.E164 != "" && h.E164 == p.E164 && h.Ext == p.Ext || p.E164 == "" && h.Value == p.Value {
				continue next
			}
		}
		have = append(have, p)
	}
	return have
}

func appendEmails(have, add []contactinfo.Email) []contactinfo.Email {
next:
	for _, e := range add {
		for _, h := range have {
			if h.Norm == e.Norm {
				continue next
			}
		}
		have = append(have, e)
	}
	return have
}

// openCSV detects the encoding and the delimiter and returns the CSV
// row reader.
func openCSV(r io.ReaderAt, size int64) (source, error) {
	var head [4096]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("amoimport: read the file: %w", err)
	}
	counter := &countingReader{r: io.NewSectionReader(r, 0, size)}
	var text io.Reader
	switch b := head[:n]; {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		if _, err := io.CopyN(io.Discard, counter, 3); err != nil {
			return nil, fmt.Errorf("amoimport: read the file: %w", err)
		}
		text = counter
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		text = transform.NewReader(counter, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case bytes.IndexByte(b, 0) >= 0 || !looksLikeText(b):
		return nil, &FormatError{Message: msgBinary}
	default:
		enc, err := detectEncoding(r, size)
		if err != nil {
			return nil, err
		}
		switch enc {
		case encUTF8:
			text = counter
		case encDamagedUTF8:
			text = transform.NewReader(counter, unicode.UTF8.NewDecoder())
		default:
			text = transform.NewReader(counter, charmap.Windows1251.NewDecoder())
		}
	}
	text, err = macLineEnds(text)
	if err != nil {
		return nil, err
	}
	lines := &lineCounter{r: text}
	br := bufio.NewReaderSize(lines, 64<<10)
	offset, delim, err := excelSepLine(br)
	if err != nil {
		return nil, err
	}
	if delim == 0 {
		if delim, err = sniffDelimiter(br); err != nil {
			return nil, err
		}
	}
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	// LazyQuotes: Excel and people leave bare quotes inside unquoted cells
	// («ООО "Ромашка"» without the outer quotes); strict RFC 4180 rejects
	// the row, Python's csv (which the truth files number by) keeps the
	// quote as text, and so does the lazy mode. It also keeps the record
	// boundaries Python finds for every well-formed row.
	cr.LazyQuotes = true
	return &csvSource{cr: cr, counter: counter, lines: lines, size: size, offset: offset}, nil
}

// looksLikeText rejects a start of a file full of control characters.
func looksLikeText(b []byte) bool {
	bad := 0
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			bad++
		}
	}
	return bad*20 <= len(b)
}

// The encodings detectEncoding tells apart.
const (
	encUTF8 = iota
	// encDamagedUTF8 is UTF-8 with a few invalid bytes (a cell pasted from
	// elsewhere, a truncated character): read as UTF-8, the bad bytes
	// replaced by U+FFFD, rather than the whole file misread as cp1251.
	encDamagedUTF8
	encCP1251
)

// detectEncoding checks the whole file as strict UTF-8, a chunk at a time,
// so that a Windows-1251 file with its first non-ASCII letter deep inside
// is not misread; nothing is kept. At the first invalid chunk it weighs
// the evidence: in cp1251 Russian text almost every letter is an invalid
// UTF-8 byte, while damaged UTF-8 has far more valid multi-byte letters
// than invalid bytes.
func detectEncoding(r io.ReaderAt, size int64) (int, error) {
	buf := make([]byte, 256<<10)
	carry := 0
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf[carry:], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("amoimport: read the file: %w", err)
		}
		if n == 0 {
			break
		}
		off += int64(n)
		chunk := buf[:carry+n]
		// Keep an incomplete rune at the end for the next chunk.
		cut := len(chunk)
		for i := len(chunk) - 1; i >= 0 && i >= len(chunk)-utf8.UTFMax; i-- {
			if utf8.RuneStart(chunk[i]) {
				if !utf8.FullRune(chunk[i:]) && off < size {
					cut = i
				}
				break
			}
		}
		if !utf8.Valid(chunk[:cut]) {
			return weighUTF8(chunk[:cut]), nil
		}
		carry = copy(buf, chunk[cut:])
	}
	if carry > 0 && !utf8.Valid(buf[:carry]) {
		return weighUTF8(buf[:carry]), nil
	}
	return encUTF8, nil
}

// weighUTF8 decides between damaged UTF-8 and cp1251 for text that is not
// valid UTF-8.
func weighUTF8(b []byte) int {
	valid, invalid := 0, 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size == 1:
			invalid++
		case size > 1:
			valid++
		}
		b = b[size:]
	}
	if valid > 4*invalid {
		return encDamagedUTF8
	}
	return encCP1251
}

// macLineEnds makes a file whose lines end in a bare CR (Excel's «CSV
// (Macintosh)») readable: encoding/csv splits lines on LF only. A file
// with any LF in its first 64 KiB is left alone.
func macLineEnds(text io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(text, 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("amoimport: read the file: %w", err)
	}
	if bytes.IndexByte(head, '\r') < 0 || bytes.IndexByte(head, '\n') >= 0 {
		return br, nil
	}
	return crToLF{br}, nil
}

// crToLF turns every CR into LF.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	for i, x := range b[:n] {
		if x == '\r' {
			b[i] = '\n'
		}
	}
	return n, err
}

// excelSepLine reads Excel's «sep=;» line, which some files start with to
// tell Excel the delimiter: it is no header, and it names the delimiter.
// offset is 1 when the line was there and is now consumed.
func excelSepLine(br *bufio.Reader) (offset int, delim rune, err error) {
	head, err := br.Peek(8)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, fmt.Errorf("amoimport: read the file: %w", err)
	}
	if len(head) < 6 || !bytes.EqualFold(head[:4], []byte("sep=")) || strings.IndexByte(";,\t|", head[4]) < 0 {
		return 0, 0, nil
	}
	rest := head[5:]
	switch {
	case rest[0] == '\n':
		_, err = br.Discard(6)
	case rest[0] == '\r' && len(rest) > 1 && rest[1] == '\n':
		_, err = br.Discard(7)
	default:
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("amoimport: read the file: %w", err)
	}
	return 1, rune(head[4]), nil
}

// sniffDelimiter counts «;», «,» and tabs outside quotes on the header
// line and picks the most frequent; a tie goes to «;» (ru-RU Excel), then
// tab, then «,».
func sniffDelimiter(br *bufio.Reader) (rune, error) {
	b, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, fmt.Errorf("amoimport: read the file: %w", err)
	}
	var semi, comma, tab int
	quoted := false
	for _, c := range b {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if c == '\n' {
			break
		}
		switch c {
		case ';':
			semi++
		case ',':
			comma++
		case '\t':
			tab++
		}
	}
	switch {
	case semi >= comma && semi >= tab && semi > 0:
		return ';', nil
	case tab >= comma && tab > 0:
		return '\t', nil
	default:
		return ',', nil
	}
}

// csvSource reads records with encoding/csv, knowing their physical lines.
type csvSource struct {
	cr      *csv.Reader
	counter *countingReader
	lines   *lineCounter
	size    int64
	offset  int // lines before the header that the CSV reader did not see
}

func (s *csvSource) next() ([]string, int, int, error) {
	rec, err := s.cr.Read()
	if err != nil {
		return nil, 0, 0, err
	}
	line, _ := s.cr.FieldPos(0)
	last := len(rec) - 1
	end, _ := s.cr.FieldPos(last)
	end += strings.Count(rec[last], "\n")
	return rec, line + s.offset, end + s.offset, nil
}

// lastLine is the number of the file's last physical line: a final line
// without a line break counts.
func (s *csvSource) lastLine() int {
	n := s.lines.n
	if s.lines.last != '\n' && s.lines.any {
		n++
	}
	return n
}

func (s *csvSource) progress() (int64, int64) { return s.counter.n, s.size }

func (s *csvSource) close() error { return nil }

// countingReader counts the bytes read from the file, for Progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// lineCounter counts line breaks of the decoded text, so that blank lines
// at the end of the file (which encoding/csv skips silently) are reported
// as the truth files number them.
type lineCounter struct {
	r    io.Reader
	n    int
	last byte
	any  bool
}

func (l *lineCounter) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	if n > 0 {
		l.n += bytes.Count(b[:n], []byte{'\n'})
		l.last = b[n-1]
		l.any = true
	}
	return n, err
}
