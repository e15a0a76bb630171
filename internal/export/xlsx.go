package export

import (
	"archive/zip"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/crmprofi/crm/internal/company"
)

// Sheet names of the XLSX file.
const (
	CompanySheet = "Компании"
	ContactSheet = "Контакты"
)

// xlsxSink writes two sheets through excelize's StreamWriter: the
// companies (the same columns as the CSV) and one row per contact. The
// stream writers keep their rows in temporary files, so memory does not
// grow with the rows (each keeps at most excelize's 16 MB chunk in
// memory); the archive is written to out at close, as it is compressed. A cell
// of an XLSX is typed: text is never a formula, so nothing needs
// neutralising.
type xlsxSink struct {
	out                io.Writer
	f                  *excelize.File
	companies, persons *excelize.StreamWriter
	row, personRow     int
	loc                *time.Location
	cells              []any
	cell               []byte
}

func newXLSXSink(out io.Writer, loc *time.Location) (*xlsxSink, error) {
	f := excelize.NewFile()
	// excelize assembles the archive in a bytes.Buffer (the whole file in
	// memory); its zip writer, pointed at out instead, leaves that buffer
	// empty and streams the archive.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(out) })
	s := &xlsxSink{out: out, f: f, loc: loc}
	if err := f.SetSheetName("Sheet1", CompanySheet); err != nil {
		return nil, s.fail(err)
	}
	if _, err := f.NewSheet(ContactSheet); err != nil {
		return nil, s.fail(err)
	}
	var err error
	if s.companies, err = f.NewStreamWriter(CompanySheet); err != nil {
		return nil, s.fail(err)
	}
	if s.persons, err = f.NewStreamWriter(ContactSheet); err != nil {
		return nil, s.fail(err)
	}
	widths := map[*excelize.StreamWriter][]float64{
		s.companies: {9, 36, 36, 14, 12, 16, 40, 24, 30, 30, 24, 18, 22, 16, 17, 17, 60},
		s.persons:   {12, 36, 12, 32, 24, 30, 30},
	}
	for sw, list := range widths {
		for i, wd := range list {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return nil, s.fail(err)
			}
		}
	}
	return s, nil
}

func (s *xlsxSink) fail(err error) error {
	_ = s.f.Close()
	return fmt.Errorf("xlsx: %w", err)
}

func (s *xlsxSink) header() error {
	bold, err := s.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	for _, sw := range []*excelize.StreamWriter{s.companies, s.persons} {
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
	}
	head := func(sw *excelize.StreamWriter, cols []string) error {
		cells := make([]any, len(cols))
		for i, c := range cols {
			cells[i] = excelize.Cell{StyleID: bold, Value: c}
		}
		return sw.SetRow("A1", cells, excelize.RowOpts{})
	}
	if err := head(s.companies, Columns); err != nil {
		return err
	}
	if err := head(s.persons, ContactColumns); err != nil {
		return err
	}
	s.row, s.personRow = 1, 1
	return nil
}

func (s *xlsxSink) company(c *company.Company, contacts []Contact) error {
	s.row++
	s.cells = append(s.cells[:0], c.ID, c.Name, c.LegalName, c.INN, c.KPP, c.OGRN, c.Address, c.Website,
		s.text(appendPhones(s.cell[:0], c.Phones)), s.text(appendEmails(s.cell[:0], c.Emails)),
		s.text(appendJoin(s.cell[:0], c.SphereNames, ", ")), c.BranchName, c.ResponsibleName, c.StatusName,
		s.text(c.CreatedAt.In(s.loc).AppendFormat(s.cell[:0], dateLayout)), s.text(c.UpdatedAt.In(s.loc).AppendFormat(s.cell[:0], dateLayout)),
		s.text(appendContacts(s.cell[:0], contacts)))
	if err := s.companies.SetRow(cellName(s.row), s.cells); err != nil {
		return err
	}
	for i := range contacts {
		ct := &contacts[i]
		s.personRow++
		s.cells = append(s.cells[:0], c.ID, c.Name, ct.ID, s.text(appendName(s.cell[:0], ct)), ct.Job,
			s.text(appendJoin(s.cell[:0], ct.Phones, ", ")), s.text(appendJoin(s.cell[:0], ct.Emails, ", ")))
		if err := s.persons.SetRow(cellName(s.personRow), s.cells); err != nil {
			return err
		}
	}
	return nil
}

// text is a composed cell as the string excelize keeps; the buffer is
// reused for the next one.
func (s *xlsxSink) text(b []byte) string {
	s.cell = b
	return string(b)
}

// cellName is the first cell of row n, «A12».
func cellName(n int) string { return "A" + strconv.Itoa(n) }

func (s *xlsxSink) flush() error { return nil }

func (s *xlsxSink) close(ok bool) error {
	defer func() { _ = s.f.Close() }()
	if !ok {
		return nil
	}
	if err := s.companies.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := s.persons.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := s.f.Write(io.Discard); err != nil { // the archive went to out
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}
