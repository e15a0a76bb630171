package export

import (
	"bytes"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/crmprofi/crm/internal/company"
)

// TestXLSXWorkbookOpensInExcelize: the workbook the sink writes itself
// reads back through excelize cell for cell — the text that XML must
// escape or cannot hold, numbers as numbers, both sheets, the bold
// frozen header — and a failed export leaves no whole archive.
func TestXLSXWorkbookOpensInExcelize(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	tricky := "a & b <c> \"d\" 'e'\r\nстрока\tтаб\x01\x7f"
	long := strings.Repeat("я", maxCellChars+10)
	companies := []struct {
		c        company.Company
		contacts []Contact
	}{
		{company.Company{ID: 7, Name: "=SUM(A1)", LegalName: tricky, INN: "7701234567", Address: " пробел", CreatedAt: at, UpdatedAt: at,
			Phones: []company.Phone{{Value: "+7 495 000-00-00", Comment: "офис"}}, SphereNames: []string{"Строительство", "IT"}},
			[]Contact{{ID: 70, LastName: "Иванов", FirstName: "Иван", Job: "директор", Phones: []string{"+7 916"}, Emails: []string{"i@x.ru"}},
				{ID: 71, LastName: "Петрова", FirstName: " Анна "}}},
		{company.Company{ID: 8, Name: "Бета", Website: long, CreatedAt: at, UpdatedAt: at}, nil},
	}
	var buf bytes.Buffer
	s, err := newXLSXSink(&buf, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.header(); err != nil {
		t.Fatal(err)
	}
	for _, c := range companies {
		if err := s.company(&c.c, c.contacts); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.close(true); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("excelize cannot open the file: %v", err)
	}
	defer func() { _ = f.Close() }()
	if got := f.GetSheetList(); !slices.Equal(got, []string{CompanySheet, ContactSheet}) {
		t.Errorf("sheets %v", got)
	}
	rows, err := f.GetRows(CompanySheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], Columns) {
		t.Fatalf("companies sheet %q", rows)
	}
	col := func(name string) int { return slices.Index(Columns, name) }
	for _, c := range []struct {
		row, col int
		want     string
	}{
		{1, col("ID"), "7"},
		{1, col("Название"), "=SUM(A1)"},
		{1, col("Юридическое название"), "a & b <c> \"d\" 'e'\r\nстрока\tтаб\uFFFD\x7f"},
		{1, col("Адрес"), " пробел"},
		{1, col("Телефоны"), "+7 495 000-00-00 (офис)"},
		{1, col("Сферы деятельности"), "Строительство, IT"},
		{1, col("Создана"), "06.12.2026 09:30"},
		{1, col("Контакты"), "Иванов Иван (директор): +7 916, i@x.ru\nПетрова Анна"},
		{2, col("Сайт"), strings.Repeat("я", maxCellChars)},
	} {
		if got := rows[c.row][c.col]; got != c.want {
			t.Errorf("row %d column %q: %q, want %q", c.row, Columns[c.col], shorten(got), shorten(c.want))
		}
	}
	if typ, err := f.GetCellType(CompanySheet, "A2"); err != nil || typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
		t.Errorf("the id is a %v cell (%v), want a number", typ, err)
	}
	if formula, _ := f.GetCellFormula(CompanySheet, "B2"); formula != "" {
		t.Errorf("a name starting with = became the formula %q", formula)
	}
	people, err := f.GetRows(ContactSheet)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{ContactColumns, {"7", "=SUM(A1)", "70", "Иванов Иван", "директор", "+7 916", "i@x.ru"}, {"7", "=SUM(A1)", "71", "Петрова Анна"}}
	if !slices.EqualFunc(people, want, slices.Equal) {
		t.Errorf("contacts sheet %q, want %q", people, want)
	}
	style, err := f.GetCellStyle(ContactSheet, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := f.GetStyle(style); err != nil || st.Font == nil || !st.Font.Bold {
		t.Errorf("the header is not bold: %+v %v", st, err)
	}
	panes, err := f.GetPanes(CompanySheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("the header is not frozen: %+v %v", panes, err)
	}

	t.Run("a failed export leaves no archive to open", func(t *testing.T) {
		var buf bytes.Buffer
		s, err := newXLSXSink(&buf, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.header(); err != nil {
			t.Fatal(err)
		}
		if err := s.company(&companies[0].c, companies[0].contacts); err != nil {
			t.Fatal(err)
		}
		if err := s.close(false); err != nil {
			t.Fatal(err)
		}
		if f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes())); err == nil {
			_ = f.Close()
			t.Error("the unfinished archive opens")
		}
	})
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:40] + "…" + s[len(s)-40:]
	}
	return s
}

// TestXLSXMemoryStaysFlat: writing tens of megabytes of sheet XML keeps
// no more than a row's worth in memory until the archive is closed.
// excelize's StreamWriter, which the sink used before, held each sheet's
// XML in a buffer of 16 MB growing to 32 MB (the peak RSS of 155 MB at a
// million companies).
func TestXLSXMemoryStaysFlat(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	c := company.Company{Name: "Общество с ограниченной ответственностью «Ромашка»", LegalName: strings.Repeat("Юридическое название ", 5),
		Address: strings.Repeat("г. Москва, ул. Тверская, д. 1 ", 3), Website: "https://romashka.example.ru", CreatedAt: at, UpdatedAt: at,
		Phones: []company.Phone{{Value: "+7 495 000-00-00", Comment: "офис"}}, SphereNames: []string{"Строительство"}}
	people := []Contact{{ID: 1, LastName: "Иванов", FirstName: "Иван", MiddleName: "Иванович", Job: "директор", Phones: []string{"+7 916 000-00-00"}}}
	s, err := newXLSXSink(io.Discard, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.close(false) }()
	if err := s.header(); err != nil {
		t.Fatal(err)
	}
	const rows = 30_000 // about 20 MB of companies' XML and 10 MB of contacts'
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range rows {
		c.ID, people[0].ID = int64(i+1), int64(i+1)
		if err := s.company(&c, people); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > before.HeapAlloc+4<<20 {
		t.Errorf("the heap grew by %d MB over %d rows", (after.HeapAlloc-before.HeapAlloc)>>20, rows)
	}
}
