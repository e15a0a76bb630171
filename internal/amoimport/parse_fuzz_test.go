package amoimport

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that no file makes the reader panic or lose a row:
// every row is a Record or a Skip, numbered 1, 2, 3… without a gap, each
// starting on a later physical line than the one before.
func FuzzParse(f *testing.F) {
	for _, name := range fixtures {
		data, err := readFixture(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		header + "\r\n1;компания;Альфа;;;;;;;\r\n\r\n;;;;\r\n",
		"ID,Тип,Наименование\n1,контакт,\"Иван\n\"\"Петров\"\"\"\n2,компания,ООО \"Ромашка\"\n",
		"ID\tТип\tНаименование\n1\tкомпания\tА\tлишнее\n",
		"Тип;Наименование\n\"незакрытая;кавычка\n1;компания;А\n",
		"\xff\xfeI\x00D\x00;\x00",
		"\ufeffТип\n\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(bytes.NewReader(data), int64(len(data)))
		var fe *FormatError
		if errors.As(err, &fe) {
			return
		}
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		number, line := 0, 1
		for {
			row, err := p.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if (row.Record == nil) == (row.Skip == nil) {
				t.Fatalf("row %d is neither a record nor a skip, or both: %+v", number+1, row)
			}
			n, l := 0, 0
			if row.Record != nil {
				n, l = row.Record.Number, row.Record.Line
				checkText(t, row.Record)
			} else {
				n, l = row.Skip.Number, row.Skip.Line
			}
			if n != number+1 {
				t.Fatalf("row numbered %d after %d", n, number)
			}
			if l <= line {
				t.Fatalf("row %d on line %d after line %d", n, l, line)
			}
			number, line = n, l
			if number > len(data)+1 {
				t.Fatalf("%d rows from %d bytes", number, len(data))
			}
		}
		if done, total := p.Progress(); done > total {
			t.Fatalf("progress %d of %d", done, total)
		}
	})
}

// checkText fails when a record holds a string PostgreSQL's text would
// refuse: invalid UTF-8 or a NUL.
func checkText(t *testing.T, r *Record) {
	t.Helper()
	texts := []string{r.Name, r.FirstName, r.LastName, r.MiddleName, r.Position, r.Company,
		r.Responsible, r.CreatedBy, r.UpdatedBy, r.INN, r.KPP, r.OGRN, r.Address, r.Website}
	texts = append(texts, r.Notes...)
	texts = append(texts, r.Spheres...)
	for _, p := range r.Phones {
		texts = append(texts, p.Value, p.Kind, p.E164, p.Ext)
	}
	for _, e := range r.Emails {
		texts = append(texts, e.Value, e.Kind, e.Norm)
	}
	for _, is := range r.Issues {
		texts = append(texts, is.Code, is.Field, is.Value, is.Fixed)
	}
	for _, s := range texts {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("record %d holds %q, which is no valid text", r.Number, s)
		}
	}
}
