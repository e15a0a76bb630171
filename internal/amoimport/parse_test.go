package amoimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// header is a short export header in the documented layout.
const header = "ID;Тип;Наименование;Компания;Ответственный;Рабочий телефон;Рабочий email;ИНН;КПП;Примечание 1"

// describe renders the rows a file reads into, one line each, so that a
// test states what it expects in a few readable strings.
func describe(t testing.TB, data []byte) []string {
	t.Helper()
	_, recs, skips := parseAll(t, data)
	type numbered struct {
		n int
		s string
	}
	var all []numbered
	for _, r := range recs {
		s := fmt.Sprintf("#%d L%d %s %q", r.Number, r.Line, r.Kind, r.Name)
		for _, is := range r.Issues {
			s += " !" + is.Code
		}
		all = append(all, numbered{r.Number, s})
	}
	for _, s := range skips {
		all = append(all, numbered{s.Number, fmt.Sprintf("#%d L%d skip %s", s.Number, s.Line, s.Reason)})
	}
	slices.SortFunc(all, func(a, b numbered) int { return a.n - b.n })
	out := make([]string, len(all))
	for i, a := range all {
		out[i] = a.s
		if a.n != i+1 {
			t.Errorf("row %d is numbered %d", i+1, a.n)
		}
	}
	return out
}

func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

func utf16(t *testing.T, s string, e unicode.Endianness) []byte {
	t.Helper()
	b, err := unicode.UTF16(e, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cp1251(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1251.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseReading(t *testing.T) {
	sample := []string{
		header,
		`101;компания;ООО «Ромашка»;;Иванов Иван;+7 (495) 123-45-67;info@romashka.ru;7707083893;773601001;`,
		`102;контакт;Пётр Сидоров;ООО «Ромашка»;Иванов Иван;89161234567;p@romashka.ru;;;`,
	}
	want := []string{`#1 L2 company "ООО «Ромашка»"`, `#2 L3 contact "Пётр Сидоров"`}
	tab := strings.NewReplacer(";", "\t")
	comma := strings.NewReplacer(";", ",")
	joined := string(crlf(sample...))
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"UTF-8 with a BOM and semicolons reads", append([]byte("\ufeff"), joined...)},
		{"UTF-8 without a BOM reads", []byte(joined)},
		{"a tab-separated file reads", []byte(tab.Replace(joined))},
		{"a comma-separated file with quoted commas reads", []byte(strings.ReplaceAll(comma.Replace(joined), "+7 (495) 123-45-67", `"+7 (495) 123-45-67, доб. 1"`))},
		{"Windows-1251 (an Excel re-save) reads", cp1251(t, joined)},
		{"UTF-8 with a stray invalid byte reads as UTF-8", []byte(strings.Replace(joined, "info@romashka.ru;7707083893;773601001;", "info@romashka.ru;7707083893;773601001;\xff", 1))},
		{"UTF-16 LE with a BOM and tabs (Excel's Unicode text) reads", utf16(t, tab.Replace(joined), unicode.LittleEndian)},
		{"UTF-16 BE with a BOM reads", utf16(t, joined, unicode.BigEndian)},
		{"LF line ends read like CRLF", []byte(strings.Join(sample, "\n") + "\n")},
		{"a file without a final line break reads", []byte(strings.TrimSuffix(joined, "\r\n"))},
		{"CR line ends (Excel's CSV for Macintosh) read", []byte(strings.ReplaceAll(joined, "\r\n", "\r"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := describe(t, c.data); !slices.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			_, recs, _ := parseAll(t, c.data)
			if len(recs) == 2 && (recs[0].INN != "7707083893" || len(recs[1].Phones) != 1 || recs[1].Phones[0].E164 != "+79161234567") {
				t.Errorf("cells misread: %+v %+v", recs[0], recs[1])
			}
		})
	}
}

func TestParseExcelSepLine(t *testing.T) {
	got := describe(t, []byte("sep=,\r\n"+strings.ReplaceAll(header, ";", ",")+"\r\n1,компания,Альфа;Бета,,,,,,,\r\n"))
	if want := []string{`#1 L3 company "Альфа;Бета"`}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseRows(t *testing.T) {
	long := strings.Repeat("Переписка. ", 15000) // 165,000 characters
	for _, c := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{
			"a quoted multi-line value keeps later rows on their physical lines",
			[]string{header, "1;компания;Альфа;;;;;;;\"первая строка\r\nвторая строка\r\nтретья\"", "2;компания;Бета;;;;;;;"},
			[]string{`#1 L2 company "Альфа"`, `#2 L5 company "Бета"`},
		},
		{
			"doubled quotes are one quote",
			[]string{header, `1;компания;"ООО ""Ромашка""";;;;;;;`},
			[]string{`#1 L2 company "ООО \"Ромашка\""`},
		},
		{
			"a bare quote inside an unquoted cell is kept as text",
			[]string{header, `1;компания;ООО "Ромашка";;;;;;;`, `2;компания;Бета;;;;;;;`},
			[]string{`#1 L2 company "ООО \"Ромашка\""`, `#2 L3 company "Бета"`},
		},
		{
			"a quote never closed swallows the rows after it, and the record says so",
			[]string{header, `1;компания;Альфа;;;;;;;"начало заметки`, "2;компания;Бета;;;;;;;", "3;компания;Гамма;;;;;;;"},
			[]string{`#1 L2 company "Альфа" !quote_unclosed`},
		},
		{
			"a blank line is skipped and counted",
			[]string{header, "1;компания;Альфа;;;;;;;", "", "2;компания;Бета;;;;;;;"},
			[]string{`#1 L2 company "Альфа"`, "#2 L3 skip blank_line", `#3 L4 company "Бета"`},
		},
		{
			"blank lines at the end are skipped and counted",
			[]string{header, "1;компания;Альфа;;;;;;;", "", ""},
			[]string{`#1 L2 company "Альфа"`, "#2 L3 skip blank_line", "#3 L4 skip blank_line"},
		},
		{
			"a row of bare delimiters is an empty row",
			[]string{header, ";;;;;;;;;", "1;компания;Альфа;;;;;;;"},
			[]string{"#1 L2 skip empty_row", `#2 L3 company "Альфа"`},
		},
		{
			"a repeated header (two exports pasted together) is skipped",
			[]string{header, "1;компания;Альфа;;;;;;;", "\ufeff" + header, "2;компания;Бета;;;;;;;"},
			[]string{`#1 L2 company "Альфа"`, "#2 L3 skip repeated_header", `#3 L4 company "Бета"`},
		},
		{
			"footer garbage without a type is skipped",
			[]string{header, "1;компания;Альфа;;;;;;;", "Итого: 1 запись;;;;;;;;;", "Выгружено из amoCRM"},
			[]string{`#1 L2 company "Альфа"`, "#2 L3 skip garbage_row", "#3 L4 skip garbage_row"},
		},
		{
			"an unknown type is skipped",
			[]string{header, "1;сделка;Поставка;;;;;;;"},
			[]string{"#1 L2 skip unknown_type"},
		},
		{
			"the type is read trimmed and in any case",
			[]string{header, "1; Компания ;Альфа;;;;;;;", "2;КОНТАКТ;Иван;;;;;;;"},
			[]string{`#1 L2 company "Альфа"`, `#2 L3 contact "Иван"`},
		},
		{
			"a company without a name is skipped",
			[]string{header, "1;компания;;;Иванов;+74951234567;;;;"},
			[]string{"#1 L2 skip company_without_name"},
		},
		{
			"a contact with no name, phone or e-mail is skipped",
			[]string{header, "1;контакт;;ООО Альфа;Иванов;;;;;заметка"},
			[]string{"#1 L2 skip contact_empty"},
		},
		{
			"a contact with only a phone is read",
			[]string{header, "1;контакт;;ООО Альфа;Иванов;+74951234567;;;;"},
			[]string{`#1 L2 contact ""`},
		},
		{
			"extra cells beyond the header are reported",
			[]string{header, "1;компания;Альфа;;;;;;;;дубль?"},
			[]string{`#1 L2 company "Альфа" !extra_columns`},
		},
		{
			"empty extra cells are no issue",
			[]string{header, "1;компания;Альфа;;;;;;;;;;"},
			[]string{`#1 L2 company "Альфа"`},
		},
		{
			"a note over 131,072 characters is kept whole and reported",
			[]string{header, "1;компания;Альфа;;;;;;;\"" + long + "\""},
			[]string{`#1 L2 company "Альфа" !note_very_long !field_exceeds_python_csv_default_limit`},
		},
		{
			"a name longer than a company takes is cut and reported",
			[]string{header, "1;компания;" + strings.Repeat("Альфа", 60) + ";;;;;;;"},
			[]string{`#1 L2 company "` + strings.Repeat("Альфа", 51) + `" !value_too_long`},
		},
		{
			"HTML entities in a name are decoded and reported",
			[]string{header, `1;компания;"ООО &quot;Альфа&quot;";;;;;;;`},
			[]string{`#1 L2 company "ООО \"Альфа\"" !html_entities`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := describe(t, crlf(c.lines...)); !slices.Equal(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestParseRecordCells(t *testing.T) {
	data := crlf(
		"ID;Тип;Полное имя контакта;Имя;Фамилия;Название компании;Ответственный;Дата создания контакта;Кем создан контакт;Дата редактирования;Кем редактирован;Теги;Примечание 1;Примечание 2;Рабочий телефон;Мобильный телефон;Факс;Рабочий email;Личный email;Web;Адрес;Должность;ИНН (компания);КПП (компания);ОГРН;Сфера деятельности",
		`17282505;контакт;Жуков Иван Павлович;Иван;;ООО «Донторг»;Козлова Мария;17.10.2025 12:29;Алексей Смирнов;17.10.2025 12:29:30;Игорь Лебедев;VIP, Дилер;"Звонок.`+"\n"+`Отправил КП.";;+7 (499) 741-97-56 доб. 5923, +7 912 552-12-00;;;i.zhukov@dontorg.ru, zhukov@@x;;;;Директор;;;;`,
		`17279373;компания;;;;ООО «Донторг»;Козлова Мария;17.09.2025 10:45;;;;Входящий;Первая;Вторая;84997419756;;84997419757;;;https://dontorg.com;г. Москва, ул. Строителей, д. 157;;274062111.0;27401001;1027700132195.0;Химия, Металлургия, VIP`,
	)
	_, recs, skips := parseAll(t, data)
	if len(skips) != 0 || len(recs) != 2 {
		t.Fatalf("got %d records, %d skips", len(recs), len(skips))
	}
	p, c := recs[0], recs[1]
	t.Run("a contact's names come from the columns and the full name", func(t *testing.T) {
		if p.LastName != "Жуков" || p.FirstName != "Иван" || p.MiddleName != "Павлович" || p.Name != "Жуков Иван Павлович" {
			t.Errorf("names %q %q %q %q", p.Name, p.LastName, p.FirstName, p.MiddleName)
		}
	})
	t.Run("a contact's company, position and people are read", func(t *testing.T) {
		if p.Company != "ООО «Донторг»" || p.Position != "Директор" || p.Responsible != "Козлова Мария" ||
			p.CreatedBy != "Алексей Смирнов" || p.UpdatedBy != "Игорь Лебедев" || p.AmoID != 17282505 {
			t.Errorf("got %+v", p)
		}
	})
	t.Run("dates are read in Moscow time into UTC", func(t *testing.T) {
		if got := p.CreatedAt.Format("2006-01-02 15:04:05"); got != "2025-10-17 09:29:00" {
			t.Errorf("created %s", got)
		}
		if got := p.UpdatedAt.Format("2006-01-02 15:04:05"); got != "2025-10-17 09:29:30" {
			t.Errorf("updated %s", got)
		}
	})
	t.Run("phones are split with their extensions and the column's kind", func(t *testing.T) {
		var got []string
		for _, ph := range p.Phones {
			got = append(got, ph.Kind+" "+ph.E164+" "+ph.Ext)
		}
		if want := []string{"work +74997419756 5923", "work +79125521200 "}; !slices.Equal(got, want) {
			t.Errorf("phones %q, want %q", got, want)
		}
	})
	t.Run("valid e-mails are kept and invalid ones reported", func(t *testing.T) {
		if len(p.Emails) != 1 || p.Emails[0].Value != "i.zhukov@dontorg.ru" || p.Emails[0].Kind != "work" {
			t.Errorf("emails %+v", p.Emails)
		}
		if len(p.Issues) != 1 || p.Issues[0].Code != CodeEmailInvalid || p.Issues[0].Value != "zhukov@@x" || p.Issues[0].Field != "Рабочий email" {
			t.Errorf("issues %+v", p.Issues)
		}
	})
	t.Run("a multi-line note keeps its lines", func(t *testing.T) {
		if !slices.Equal(p.Notes, []string{"Звонок.\nОтправил КП."}) {
			t.Errorf("notes %q", p.Notes)
		}
	})
	t.Run("tags and spheres become spheres without repeats", func(t *testing.T) {
		if !slices.Equal(c.Spheres, []string{"Входящий", "Химия", "Металлургия", "VIP"}) {
			t.Errorf("spheres %q", c.Spheres)
		}
	})
	t.Run("suffixed requisites columns are read and repaired", func(t *testing.T) {
		if c.INN != "0274062111" || c.KPP != "027401001" || c.OGRN != "1027700132195" {
			t.Errorf("requisites %q %q %q", c.INN, c.KPP, c.OGRN)
		}
		var codes []string
		for _, is := range c.Issues {
			codes = append(codes, is.Code+" "+is.Field)
		}
		if want := []string{"inn_leading_zero_lost ИНН (компания)", "kpp_leading_zero_lost КПП (компания)"}; !slices.Equal(codes, want) {
			t.Errorf("issues %q, want %q", codes, want)
		}
	})
	t.Run("a company's name comes from «Название компании» in this layout", func(t *testing.T) {
		if c.Kind != KindCompany || c.Name != "ООО «Донторг»" || c.Company != "" {
			t.Errorf("company %q %q %q", c.Kind, c.Name, c.Company)
		}
	})
	t.Run("a fax is a phone of kind fax", func(t *testing.T) {
		if len(c.Phones) != 2 || c.Phones[1].Kind != "fax" || c.Phones[1].E164 != "+74997419757" {
			t.Errorf("phones %+v", c.Phones)
		}
	})
	t.Run("notes are kept in column order", func(t *testing.T) {
		if !slices.Equal(c.Notes, []string{"Первая", "Вторая"}) || c.Website != "https://dontorg.com" || c.Address == "" {
			t.Errorf("notes %q, web %q, address %q", c.Notes, c.Website, c.Address)
		}
	})
}

func TestParseColumns(t *testing.T) {
	data := crlf("ID;Тип ;Наименование;Компания;Бюджет ;ИНН (компания);Источник;Источник;Примечание;Примечание 2;Наименование")
	p, err := Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Columns()
	t.Run("trailing spaces in headers are trimmed", func(t *testing.T) {
		if c.Header[1] != "Тип" || c.Fields[1] != FieldType || c.Header[4] != "Бюджет" {
			t.Errorf("header %q fields %q", c.Header, c.Fields)
		}
	})
	t.Run("unknown columns are listed once each", func(t *testing.T) {
		if !slices.Equal(c.Unknown, []string{"Бюджет", "Источник"}) {
			t.Errorf("unknown %q", c.Unknown)
		}
	})
	t.Run("repeated names are listed and only their first column is read", func(t *testing.T) {
		if !slices.Equal(c.Duplicated, []string{"Источник", "Наименование"}) || c.Fields[10] != "" || c.Fields[2] != FieldName {
			t.Errorf("duplicated %q fields %q", c.Duplicated, c.Fields)
		}
	})
	t.Run("suffixed and numbered columns map to their fields", func(t *testing.T) {
		if c.Fields[5] != FieldINN || c.Fields[8] != FieldNote || c.Fields[9] != FieldNote {
			t.Errorf("fields %q", c.Fields)
		}
	})
	t.Run("a header alone is a file without rows", func(t *testing.T) {
		if _, err := p.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("Next() = %v, want io.EOF", err)
		}
	})
}

func TestParseDuplicatedHeaderFirstWins(t *testing.T) {
	data := crlf("ID;Тип;Наименование;Адрес;Адрес", "1;компания;Альфа;первый;второй")
	_, recs, _ := parseAll(t, data)
	if len(recs) != 1 || recs[0].Address != "первый" {
		t.Errorf("got %+v", recs)
	}
}

func TestParseWithoutTypeColumn(t *testing.T) {
	t.Run("an export of companies only reads companies", func(t *testing.T) {
		got := describe(t, crlf("ID;Название компании;ИНН", "1;Альфа;", "ID;Название компании;ИНН"))
		if want := []string{`#1 L2 company "Альфа"`, "#2 L3 skip repeated_header"}; !slices.Equal(got, want) {
			t.Errorf("got %q", got)
		}
	})
	t.Run("an export of contacts only reads contacts", func(t *testing.T) {
		got := describe(t, crlf("ID;Полное имя контакта;Название компании", "1;Иван Петров;Альфа"))
		if want := []string{`#1 L2 contact "Иван Петров"`}; !slices.Equal(got, want) {
			t.Errorf("got %q", got)
		}
	})
}

func TestParseFormatErrors(t *testing.T) {
	zipJunk := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{1, 2, 3}, 100)...)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"an empty file is no export", nil},
		{"a file of blank lines is no export", []byte("\r\n\r\n")},
		{"a BOM alone is no export", []byte("\ufeff")},
		{"binary junk is no export", []byte("\x00\x01\x02\x03\x04garbage\x00\x00\x00")},
		{"a broken zip is no export", zipJunk},
		{"an old .xls is no export", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 100)...)},
		{"a table without type and name columns is no export", crlf("Дата;Сумма;Комментарий", "01.01.2025;100;x")},
		{"a leads export is no export", crlf("ID;Название сделки;Бюджет ;Этап", "1;Поставка;100;Новая")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(c.data), int64(len(c.data)))
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("Parse() error = %v, want a *FormatError", err)
			}
		})
	}
}

func TestParseProgress(t *testing.T) {
	data, err := readFixture("amo_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, total := p.Progress(); total != int64(len(data)) {
		t.Errorf("total %d, want the file size %d", total, len(data))
	}
	for {
		if _, err := p.Next(); err != nil {
			break
		}
	}
	if done, total := p.Progress(); done != total {
		t.Errorf("after the last row progress is %d of %d", done, total)
	}
}

// readFixture reads a fixture of testdata.
func readFixture(name string) ([]byte, error) {
	return fs.ReadFile(testdata, name)
}

// TestParseXLSX builds a workbook the way Excel keeps an export — numbers
// typed as numbers, the ИНН a float — and checks it reads like the CSV.
func TestParseXLSX(t *testing.T) {
	f := excelize.NewFile()
	t.Cleanup(func() { _ = f.Close() })
	sheet := f.GetSheetName(0)
	rows := [][]any{
		{"ID", "Тип", "Наименование", "Компания", "Ответственный", "Рабочий телефон", "Рабочий email", "ИНН", "КПП", "Примечание 1"},
		{101, "компания", "ООО «Ромашка»", nil, "Иванов Иван", "+7 (495) 123-45-67", "info@romashka.ru", 7707083893.0, 773601001, "строка 1\nстрока 2"},
		{102, "контакт", "Пётр Сидоров", "ООО «Ромашка»", "Иванов Иван", 79161234567, "p@romashka.ru", nil, nil, nil},
		nil,
		{103, "компания", "ООО «Башкирия»", nil, nil, nil, nil, 274062111, 27401001, nil},
		{nil, nil, "Итого", nil, nil, nil, nil, nil, nil, nil},
	}
	for i, r := range rows {
		if r == nil {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	got := describe(t, data)
	want := []string{
		`#1 L2 company "ООО «Ромашка»"`, `#2 L3 contact "Пётр Сидоров"`, "#3 L4 skip blank_line",
		`#4 L5 company "ООО «Башкирия»" !inn_leading_zero_lost !kpp_leading_zero_lost`, "#5 L6 skip garbage_row",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p, recs, _ := parseAll(t, data)
	if recs[0].INN != "7707083893" || recs[0].KPP != "773601001" || recs[0].AmoID != 101 ||
		!slices.Equal(recs[0].Notes, []string{"строка 1\nстрока 2"}) {
		t.Errorf("company %+v", recs[0])
	}
	if len(recs[1].Phones) != 1 || recs[1].Phones[0].E164 != "+79161234567" || recs[1].Company != "ООО «Ромашка»" {
		t.Errorf("contact %+v", recs[1])
	}
	if recs[2].INN != "0274062111" {
		t.Errorf("ИНН %q", recs[2].INN)
	}
	if done, total := p.Progress(); done != total || total != 6 {
		t.Errorf("progress %d of %d, want 6 of 6", done, total)
	}
	t.Run("a reader stopped early is closed", func(t *testing.T) {
		p, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Next(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("second Close() = %v", err)
		}
	})
}

func TestParseDamagedUTF8(t *testing.T) {
	data := crlf(header, "1;компания;ООО «Ромашка»;;Иванов Иван;;;;;заметка \xff конец")
	_, recs, _ := parseAll(t, data)
	if len(recs) != 1 || recs[0].Name != "ООО «Ромашка»" || !slices.Equal(recs[0].Notes, []string{"заметка \ufffd конец"}) {
		t.Errorf("got %+v", recs)
	}
}
