package export

import (
	"bufio"
	"encoding/csv"
	"io"
	"net/http"

	"github.com/crmprofi/crm/internal/company"
)

// bom makes Excel read the file as UTF-8 (without it Cyrillic comes out
// as mojibake in the Russian locale).
const bom = "\uFEFF"

// csvSink writes the rows as Excel reads CSV in Russia: «;» between
// cells (the comma is the decimal separator there), CRLF line ends,
// quotes where a cell needs them, and a BOM first.
type csvSink struct {
	out io.Writer
	buf *bufio.Writer
	w   *csv.Writer
	row []string
}

func newCSVSink(out io.Writer) *csvSink {
	buf := bufio.NewWriterSize(out, 64<<10)
	w := csv.NewWriter(buf)
	w.Comma, w.UseCRLF = ';', true
	return &csvSink{out: out, buf: buf, w: w}
}

func (s *csvSink) header() error {
	if _, err := s.buf.WriteString(bom); err != nil {
		return err
	}
	return s.w.Write(Columns)
}

func (s *csvSink) company(row []string, _ *company.Company, _ []Contact) error {
	s.row = s.row[:0]
	for _, v := range row {
		s.row = append(s.row, Neutralize(v))
	}
	return s.w.Write(s.row)
}

func (s *csvSink) flush() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	if err := s.buf.Flush(); err != nil {
		return err
	}
	switch f := s.out.(type) {
	case http.Flusher:
		f.Flush()
	case interface{ Flush() error }:
		return f.Flush()
	}
	return nil
}

func (s *csvSink) close(bool) error { return s.flush() }

// Neutralize keeps a cell from running as a formula when Excel opens the
// CSV: a value starting with =, +, -, @, a tab or a carriage return gets
// a leading apostrophe, which Excel shows as text (OWASP's advice on CSV
// injection). So a phone «+7 495 …» reads «'+7 495 …» in the file and
// «+7 495 …» in Excel's cell editor.
func Neutralize(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}
