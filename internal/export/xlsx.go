package export

import (
	"archive/zip"
	"fmt"
	"io"
	"strconv"
	"strings"

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
	cells              []any
}

func newXLSXSink(out io.Writer) (*xlsxSink, error) {
	f := excelize.NewFile()
	// excelize assembles the archive in a bytes.Buffer (the whole file in
	// memory); its zip writer, pointed at out instead, leaves that buffer
	// empty and streams the archive.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(out) })
	s := &xlsxSink{out: out, f: f}
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

func (s *xlsxSink) company(row []string, c *company.Company, contacts []Contact) error {
	s.row++
	s.cells = s.cells[:0]
	s.cells = append(s.cells, c.ID)
	for _, v := range row[1:] {
		s.cells = append(s.cells, v)
	}
	if err := s.companies.SetRow("A"+strconv.Itoa(s.row), s.cells); err != nil {
		return err
	}
	for _, ct := range contacts {
		s.personRow++
		cells := []any{c.ID, c.Name, ct.ID, ct.Name(), ct.Job, joinComma(ct.Phones), joinComma(ct.Emails)}
		if err := s.persons.SetRow("A"+strconv.Itoa(s.personRow), cells); err != nil {
			return err
		}
	}
	return nil
}

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

func joinComma(list []string) string { return strings.Join(list, ", ") }
