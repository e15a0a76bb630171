package export

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// viaEncodingCSV is what the sink wrote before it wrote cells itself:
// encoding/csv with «;» and CRLF over the neutralised cells.
func viaEncodingCSV(t testing.TB, cells []string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma, w.UseCRLF = ';', true
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = Neutralize(c)
	}
	if err := w.Write(row); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return b.Bytes()
}

func viaCells(cells []string) []byte {
	var line []byte
	for i, c := range cells {
		if i > 0 {
			line = append(line, ';')
		}
		line = appendCSVCell(line, c)
	}
	return append(line, '\r', '\n')
}

func TestCSVCellsAreWrittenAsEncodingCSVWrites(t *testing.T) {
	for _, c := range []string{"", "Альфа", "a;b", `say "hi"`, "line\nbreak", "cr\r\nlf", "=SUM(A1)", "+7 495", "-2+3", "@x",
		"\tTab", "\rCR", " leading", "\u00a0nbsp", `\.`, "'quoted", "=a;b", "\t\"x\"", "Иванов Иван (директор): +7 916, ivan@x.ru\nПетрова Анна"} {
		t.Run(c, func(t *testing.T) {
			cells := []string{"1", c, c}
			if got, want := viaCells(cells), viaEncodingCSV(t, cells); !bytes.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "a;b", "=1", "\t x", "\r\n", " é", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cells := []string{s, "x"}
		if got, want := viaCells(cells), viaEncodingCSV(t, cells); !bytes.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	})
}
