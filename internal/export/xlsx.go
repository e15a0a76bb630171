package export

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/company"
)

// Sheet names of the XLSX file.
const (
	CompanySheet = "Компании"
	ContactSheet = "Контакты"
)

// xlsxSink writes the workbook's parts itself (SpreadsheetML, ECMA-376)
// into a zip archive on out: two sheets, the companies (the same columns
// as the CSV) and one row per contact, their cells inline strings and
// numbers, the header bold and frozen.
//
// It used excelize's StreamWriter before. That writer keeps each sheet in
// a bytes.Buffer until it reaches 16 MB (StreamChunkSize, a constant) and
// then grows the buffer to 32 MB for good: 64 MB for two sheets, 155 MB
// peak RSS at a million companies, with no setting to lower it. Here the
// companies' sheet goes straight into its zip entry as the rows come; the
// contacts' sheet, whose entry can only follow, is written to a temporary
// file and copied into the archive at close. Memory is a row and the
// compressor's window, whatever the number of rows. excelize stays the
// reader the tests open the file with.
//
// A cell of an XLSX is typed: text is never a formula, so nothing needs
// neutralising.
type xlsxSink struct {
	zip       *zip.Writer
	sheet     *bufio.Writer // the companies' sheet, into its zip entry
	tmp       *os.File      // the contacts' sheet until close
	people    *bufio.Writer // into tmp
	loc       *time.Location
	row, pRow int
	line      []byte // the row being written
	text      []byte // a composed cell before escaping
}

// The widths of the sheets' columns, in characters.
var (
	companyWidths = []float64{9, 36, 36, 14, 12, 16, 40, 24, 30, 30, 24, 18, 22, 16, 17, 17, 60}
	contactWidths = []float64{12, 36, 12, 32, 24, 30, 30}
)

// The workbook's fixed parts. The style with index 1 is the bold header.
const (
	xmlHead       = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsMain        = `http://schemas.openxmlformats.org/spreadsheetml/2006/main`
	nsRel         = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`
	xlsxPartTypes = xmlHead + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
		`<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
		`</Types>`
	xlsxRootRels = xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="` + nsRel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`
	xlsxWorkbook = xmlHead + `<workbook xmlns="` + nsMain + `" xmlns:r="` + nsRel + `"><sheets>` +
		`<sheet name="` + CompanySheet + `" sheetId="1" r:id="rId1"/><sheet name="` + ContactSheet + `" sheetId="2" r:id="rId2"/>` +
		`</sheets></workbook>`
	xlsxWorkbookRels = xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="` + nsRel + `/worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="` + nsRel + `/worksheet" Target="worksheets/sheet2.xml"/>` +
		`<Relationship Id="rId3" Type="` + nsRel + `/styles" Target="styles.xml"/></Relationships>`
	xlsxStyles = xmlHead + `<styleSheet xmlns="` + nsMain + `">` +
		`<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
		`<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
		`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
		`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
		`<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
		`<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>` +
		`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`
	xlsxSheetEnd = `</sheetData></worksheet>`
)

func newXLSXSink(out io.Writer, loc *time.Location) (*xlsxSink, error) {
	z := zip.NewWriter(out)
	s := &xlsxSink{zip: z, loc: loc}
	for _, p := range [...]struct{ name, body string }{
		{"[Content_Types].xml", xlsxPartTypes}, {"_rels/.rels", xlsxRootRels}, {"xl/workbook.xml", xlsxWorkbook},
		{"xl/_rels/workbook.xml.rels", xlsxWorkbookRels}, {"xl/styles.xml", xlsxStyles},
	} {
		w, err := z.Create(p.name)
		if err == nil {
			_, err = io.WriteString(w, p.body)
		}
		if err != nil {
			return nil, fmt.Errorf("xlsx: %w", err)
		}
	}
	tmp, err := os.CreateTemp("", "crm-export-contacts-*.xml")
	if err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	s.tmp, s.people = tmp, bufio.NewWriterSize(tmp, 64<<10)
	w, err := z.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		s.removeTemp()
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	s.sheet = bufio.NewWriterSize(w, 64<<10)
	return s, nil
}

// sheetStart is a worksheet's XML up to its first row: the header row
// frozen, the columns' widths.
func sheetStart(widths []float64) []byte {
	b := []byte(xmlHead + `<worksheet xmlns="` + nsMain + `" xmlns:r="` + nsRel + `">` +
		`<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>` +
		`<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>` +
		`<sheetFormatPr defaultRowHeight="15"/><cols>`)
	for i, w := range widths {
		n := strconv.Itoa(i + 1)
		b = append(b, `<col min="`+n+`" max="`+n+`" width="`...)
		b = strconv.AppendFloat(b, w, 'f', -1, 64)
		b = append(b, `" customWidth="1"/>`...)
	}
	return append(b, `</cols><sheetData>`...)
}

func (s *xlsxSink) header() error {
	head := func(w *bufio.Writer, widths []float64, cols []string) error {
		b := append(sheetStart(widths), `<row r="1">`...)
		for i, c := range cols {
			b = appendXLSXText(b, i, 1, `" s="1`, c)
		}
		_, err := w.Write(append(b, `</row>`...))
		return err
	}
	if err := head(s.sheet, companyWidths, Columns); err != nil {
		return err
	}
	if err := head(s.people, contactWidths, ContactColumns); err != nil {
		return err
	}
	s.row, s.pRow = 1, 1
	return nil
}

func (s *xlsxSink) company(c *company.Company, contacts []Contact) error {
	s.row++
	r := s.row
	b := appendRowStart(s.line[:0], r)
	b = appendXLSXInt(b, 0, r, c.ID)
	for i, v := range [...]string{c.Name, c.LegalName, c.INN, c.KPP, c.OGRN, c.Address, c.Website} {
		b = appendXLSXText(b, 1+i, r, "", v)
	}
	// The composed cells are built after the row's bytes and moved in.
	for i, compose := range [...]func([]byte) []byte{
		func(d []byte) []byte { return appendPhones(d, c.Phones) },
		func(d []byte) []byte { return appendEmails(d, c.Emails) },
		func(d []byte) []byte { return appendJoin(d, c.SphereNames, ", ") },
	} {
		b = s.composed(b, 8+i, r, compose)
	}
	for i, v := range [...]string{c.BranchName, c.ResponsibleName, c.StatusName} {
		b = appendXLSXText(b, 11+i, r, "", v)
	}
	b = s.composed(b, 14, r, func(d []byte) []byte { return c.CreatedAt.In(s.loc).AppendFormat(d, dateLayout) })
	b = s.composed(b, 15, r, func(d []byte) []byte { return c.UpdatedAt.In(s.loc).AppendFormat(d, dateLayout) })
	b = s.composed(b, 16, r, func(d []byte) []byte { return appendContacts(d, contacts) })
	b = append(b, `</row>`...)
	if _, err := s.sheet.Write(b); err != nil {
		return err
	}
	for i := range contacts {
		ct := &contacts[i]
		s.pRow++
		p := s.pRow
		b = appendRowStart(b[:0], p)
		b = appendXLSXInt(b, 0, p, c.ID)
		b = appendXLSXText(b, 1, p, "", c.Name)
		b = appendXLSXInt(b, 2, p, ct.ID)
		b = s.composed(b, 3, p, func(d []byte) []byte { return appendName(d, ct) })
		b = appendXLSXText(b, 4, p, "", ct.Job)
		b = s.composed(b, 5, p, func(d []byte) []byte { return appendJoin(d, ct.Phones, ", ") })
		b = s.composed(b, 6, p, func(d []byte) []byte { return appendJoin(d, ct.Emails, ", ") })
		b = append(b, `</row>`...)
		if _, err := s.people.Write(b); err != nil {
			return err
		}
	}
	s.line = b
	return nil
}

// composed appends the text cell that compose builds in a reused buffer.
func (s *xlsxSink) composed(b []byte, col, row int, compose func([]byte) []byte) []byte {
	s.text = compose(s.text[:0])
	return appendXLSXText(b, col, row, "", s.text)
}

func appendRowStart(b []byte, row int) []byte {
	b = append(b, `<row r="`...)
	b = strconv.AppendInt(b, int64(row), 10)
	return append(b, `">`...)
}

// appendCellRef appends `<c r="B12` — the cell's opening up to its
// reference's closing quote.
func appendCellRef(b []byte, col, row int) []byte {
	b = append(b, `<c r="`...)
	b = append(b, columnLetters[col]) // the sheets have fewer than 26 columns
	return strconv.AppendInt(b, int64(row), 10)
}

const columnLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func appendXLSXInt(b []byte, col, row int, v int64) []byte {
	b = append(appendCellRef(b, col, row), `"><v>`...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, `</v></c>`...)
}

// maxCellChars is the most characters Excel keeps in a cell (excelize's
// TotalCellChars); a longer text is cut there, as excelize cuts it.
const maxCellChars = 32767

// appendXLSXText appends a text cell (an inline string) of v; an empty v
// is no cell at all. attrs goes into the cell's tag after its reference
// (the header's style).
func appendXLSXText[T string | []byte](b []byte, col, row int, attrs string, v T) []byte {
	if len(v) == 0 {
		return b
	}
	if len(v) > maxCellChars && utf8.RuneCountInString(string(v)) > maxCellChars {
		v = T(string([]rune(string(v))[:maxCellChars]))
	}
	b = append(appendCellRef(b, col, row), attrs...)
	b = append(b, `" t="inlineStr"><is><t`...)
	if isXMLSpace(v[0]) || isXMLSpace(v[len(v)-1]) {
		b = append(b, ` xml:space="preserve"`...) // else a reader may trim them
	}
	b = append(b, '>')
	b = appendXMLText(b, v)
	return append(b, `</t></is></c>`...)
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendXMLText appends v escaped as XML character data. What XML 1.0
// cannot hold at all (control characters but tab and line feed, invalid
// UTF-8) becomes U+FFFD, as encoding/xml's EscapeText makes it; a
// carriage return is a character reference, so that it survives the
// reader's line-end normalisation.
func appendXMLText[T string | []byte](b []byte, v T) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '\r':
				b = append(b, "&#xD;"...)
			case c == '\t' || c == '\n' || c >= 0x20:
				b = append(b, c)
			default:
				b = append(b, "\uFFFD"...)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(string(v[i:min(len(v), i+utf8.UTFMax)]))
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, v[i:i+size]...)
		}
		i += size
	}
	return b
}

func (s *xlsxSink) flush() error { return nil }

func (s *xlsxSink) records() recordCodec { return &structuredRecords{sink: s} }

// close ends both sheets and the archive. A failed export (ok false)
// leaves the archive unfinished: out holds no whole file.
func (s *xlsxSink) close(ok bool) error {
	defer s.removeTemp()
	if !ok {
		return nil
	}
	err := s.finish()
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}

func (s *xlsxSink) finish() error {
	if _, err := s.sheet.WriteString(xlsxSheetEnd); err != nil {
		return err
	}
	if err := s.sheet.Flush(); err != nil {
		return err
	}
	if _, err := s.people.WriteString(xlsxSheetEnd); err != nil {
		return err
	}
	if err := s.people.Flush(); err != nil {
		return err
	}
	if _, err := s.tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w, err := s.zip.Create("xl/worksheets/sheet2.xml")
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, s.tmp); err != nil {
		return err
	}
	return s.zip.Close()
}

func (s *xlsxSink) removeTemp() {
	if s.tmp != nil {
		_ = s.tmp.Close()
		_ = os.Remove(s.tmp.Name())
		s.tmp = nil
	}
}
