package export

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
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

// TestDatesAreWrittenAsTheLayoutWritesThem: the dates of a row, written
// digit by digit, read as time.Format with dateLayout writes them, in
// any zone and year (four digits or not).
func TestDatesAreWrittenAsTheLayoutWritesThem(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{
		time.Date(2026, 12, 6, 9, 5, 7, 123456789, time.UTC),
		time.Date(2025, 1, 1, 23, 59, 59, 999999999, time.UTC),
		time.Date(1999, 12, 31, 21, 0, 0, 0, time.UTC),
		time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(12345, 6, 7, 8, 9, 0, 0, time.UTC),
		{},
	} {
		for _, loc := range []*time.Location{time.UTC, moscow, time.FixedZone("", -9*3600-1800)} {
			want := at.In(loc).Format(dateLayout)
			if got := string(appendDate(nil, at.In(loc))); got != want {
				t.Errorf("%v in %v: %q, want %q", at, loc, got, want)
			}
		}
	}
}

// TestContactNamesAreWrittenAsNameHasThem: a contact's name in the
// «Контакты» cell, whose one-word parts are copied without decoding
// their runes, reads as Name joins it, whatever blanks (ASCII, no-break,
// ideographic, em) or broken UTF-8 the parts hold.
func TestContactNamesAreWrittenAsNameHasThem(t *testing.T) {
	for _, parts := range [][3]string{
		{"Иванов", "Иван", "Иванович"}, {"", "", ""}, {"Петрова", "", "Анна"}, {" Сидоров ", "Пётр\tПавлович", ""},
		{"Ким\u00a0Чен", "\u3000Ли", "Анна\u2003Мария"}, {"O'Brien", "Mary-Ann", "\u0085x"}, {"\xff\xfe", "\xe2", "a\u1680b"},
		{"Смит\u202fДжон", "\u205f", "\u2028\u2029"},
	} {
		ct := Contact{LastName: parts[0], FirstName: parts[1], MiddleName: parts[2]}
		if got, want := string(appendName(nil, &ct)), ct.Name(); got != want {
			t.Errorf("%q: got %q, want %q", parts, got, want)
		}
	}
}

func FuzzContactName(f *testing.F) {
	f.Add("Иванов", "Иван", " Иванович")
	f.Add("a\u00a0b", "\u3000", "")
	f.Fuzz(func(t *testing.T, last, first, middle string) {
		ct := Contact{LastName: last, FirstName: first, MiddleName: middle}
		if got, want := string(appendName(nil, &ct)), ct.Name(); got != want {
			t.Errorf("%q %q %q: got %q, want %q", last, first, middle, got, want)
		}
	})
}

// TestBlankLeadHoldsEveryBlank: every rune unicode.IsSpace calls a blank
// starts with a byte blankLead marks (or is ASCII), so that startsBlank
// decodes no other rune and misses no blank.
func TestBlankLeadHoldsEveryBlank(t *testing.T) {
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := string(r) + "x"
		if got := startsBlank(s); got != unicode.IsSpace(r) {
			t.Errorf("startsBlank(%U) = %v, unicode.IsSpace %v", r, got, !got)
		}
	}
}
