package amoimport

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxSource reads the first sheet of a workbook with excelize's
// streaming row reader. excelize holds the compressed workbook in memory
// (its OpenReader reads the whole zip) and the shared strings table, but
// streams the sheet's rows, spilling a large sheet to a temporary file;
// one row is decoded at a time.
type xlsxSource struct {
	f      *excelize.File
	rows   *excelize.Rows
	line   int
	total  int64
	closed bool
}

func openXLSX(r io.ReaderAt, size int64) (source, error) {
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, &FormatError{Message: msgBadXLSX}
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, &FormatError{Message: msgBadXLSX}
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		_ = f.Close()
		return nil, &FormatError{Message: msgBadXLSX}
	}
	s := &xlsxSource{f: f, rows: rows}
	if dim, err := f.GetSheetDimension(sheets[0]); err == nil {
		if _, last, ok := strings.Cut(dim, ":"); ok {
			if _, row, err := excelize.CellNameToCoordinates(last); err == nil {
				s.total = int64(row)
			}
		}
	}
	return s, nil
}

// next returns the next row's cells as stored (RawCellValue: numbers as
// numbers, not as the cell's display format — an ИНН shown as
// «7,71E+09» is still 7707083893 in the file). A row the sheet skips
// comes back empty, a blank line as in a CSV.
func (s *xlsxSource) next() ([]string, int, int, error) {
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return nil, 0, 0, fmt.Errorf("amoimport: read the workbook: %w", err)
		}
		if err := s.close(); err != nil {
			return nil, 0, 0, fmt.Errorf("amoimport: close the workbook: %w", err)
		}
		return nil, 0, 0, io.EOF
	}
	s.line++
	cells, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("amoimport: read the workbook: %w", err)
	}
	for i, c := range cells {
		cells[i] = numberText(c)
	}
	if len(cells) == 0 {
		// A row with no cells is a blank line: the parser counts it from
		// the gap, as encoding/csv's skipped lines.
		return s.next()
	}
	return cells, s.line, s.line, nil
}

// numberText writes a number the workbook stores in exponent form
// («7.707083893E9», as some writers store large numbers) with all its
// digits, the way a person reading the cell would.
func numberText(c string) string {
	if !strings.ContainsAny(c, "eE") || len(c) > 32 {
		return c
	}
	f, err := strconv.ParseFloat(c, 64)
	if err != nil || f != f || f < 0 || f >= 1e21 {
		return c
	}
	if f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return c
}

func (s *xlsxSource) lastLine() int { return s.line }

// close closes the workbook once, removing excelize's temporary files.
func (s *xlsxSource) close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return errors.Join(s.rows.Close(), s.f.Close())
}

func (s *xlsxSource) progress() (int64, int64) {
	total := s.total
	if int64(s.line) > total {
		total = int64(s.line)
	}
	return int64(s.line), total
}
