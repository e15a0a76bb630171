package amogen

import (
	"bufio"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// csvSink writes rows as CSV the way amoCRM and Excel do: quotes only
// where needed, doubled quotes inside, CRLF between rows and a bare LF
// inside multi-line cells.
type csvSink struct {
	count *countingWriter
	enc   io.WriteCloser // the encoder, closed at the end; nil for UTF-8
	w     *bufio.Writer
	delim byte
}

func newCSVSink(w io.Writer, opt Options) (*csvSink, error) {
	s := &csvSink{count: &countingWriter{w: w}, delim: ';'}
	switch opt.Delimiter { // withDefaults allows these three
	case ',':
		s.delim = ','
	case '\t':
		s.delim = '\t'
	}
	var out io.Writer = s.count
	switch opt.Encoding {
	case UTF8BOM:
		if _, err := io.WriteString(s.count, "\uFEFF"); err != nil {
			return nil, err
		}
	case CP1251:
		s.enc = transform.NewWriter(s.count, charmap.Windows1251.NewEncoder())
		out = s.enc
	case UTF16:
		s.enc = transform.NewWriter(s.count, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder())
		out = s.enc
	}
	s.w = bufio.NewWriterSize(out, 256<<10)
	return s, nil
}

func (s *csvSink) record(cells []string) error {
	for i, c := range cells {
		if i > 0 {
			_ = s.w.WriteByte(s.delim)
		}
		if !strings.ContainsAny(c, "\"\r\n") && strings.IndexByte(c, s.delim) < 0 {
			_, _ = s.w.WriteString(c)
			continue
		}
		_ = s.w.WriteByte('"')
		for {
			i := strings.IndexByte(c, '"')
			if i < 0 {
				break
			}
			_, _ = s.w.WriteString(c[:i+1])
			_ = s.w.WriteByte('"')
			c = c[i+1:]
		}
		_, _ = s.w.WriteString(c)
		_ = s.w.WriteByte('"')
	}
	_, err := s.w.WriteString("\r\n")
	return err
}

func (s *csvSink) blank() error {
	_, err := s.w.WriteString("\r\n")
	return err
}

func (s *csvSink) maxCell() int { return 0 }

func (s *csvSink) close() (int64, error) {
	if err := s.w.Flush(); err != nil {
		return s.count.n, err
	}
	if s.enc != nil {
		if err := s.enc.Close(); err != nil {
			return s.count.n, err
		}
	}
	return s.count.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteXLSX writes the export as an .xlsx workbook (amoCRM's «Excel»
// export) to w: the same rows as Write, text cells, one sheet, streamed
// through excelize's stream writer so memory stays flat. Blank lines are
// empty rows; a note longer than Excel's 32,767 characters is cut there.
func WriteXLSX(w io.Writer, opt Options) (Summary, error) {
	opt.Encoding, opt.Delimiter = UTF8, ';'
	opt, err := opt.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return Summary{}, err
	}
	s := &xlsxSink{f: f, sw: sw, out: &countingWriter{w: w}}
	return generate(s, opt)
}

type xlsxSink struct {
	f    *excelize.File
	sw   *excelize.StreamWriter
	out  *countingWriter
	line int
	vals []any
}

func (s *xlsxSink) record(cells []string) error {
	s.line++
	s.vals = s.vals[:0]
	for _, c := range cells {
		s.vals = append(s.vals, c)
	}
	cell, err := excelize.CoordinatesToCellName(1, s.line)
	if err != nil {
		return err
	}
	return s.sw.SetRow(cell, s.vals)
}

func (s *xlsxSink) blank() error {
	s.line++
	return nil
}

func (s *xlsxSink) maxCell() int { return excelize.TotalCellChars }

func (s *xlsxSink) close() (int64, error) {
	if err := s.sw.Flush(); err != nil {
		return 0, err
	}
	_, err := s.f.WriteTo(s.out)
	return s.out.n, err
}
