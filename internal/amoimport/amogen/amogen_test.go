package amogen

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/crmprofi/crm/internal/dedup"
)

// read decodes a generated CSV and returns its records as encoding/csv
// reads them (blank lines skipped), the header first.
func read(t *testing.T, data []byte, opt Options) [][]string {
	t.Helper()
	var r io.Reader = bytes.NewReader(data)
	switch opt.Encoding {
	case UTF8BOM, "":
		if !bytes.HasPrefix(data, []byte("\uFEFF")) {
			t.Fatal("a UTF-8 file with a BOM does not start with one")
		}
		r = bytes.NewReader(data[3:])
	case CP1251:
		r = transform.NewReader(r, charmap.Windows1251.NewDecoder())
	case UTF16:
		if !bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
			t.Fatal("a UTF-16 file does not start with its little-endian BOM")
		}
		r = transform.NewReader(r, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	}
	cr := csv.NewReader(r)
	cr.Comma = opt.Delimiter
	if cr.Comma == 0 {
		cr.Comma = ';'
		if opt.Encoding == UTF16 {
			cr.Comma = '\t'
		}
	}
	cr.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("encoding/csv: %v", err)
		}
		out = append(out, rec)
	}
}

func generateCSV(t *testing.T, opt Options) ([]byte, Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := Write(&buf, opt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bytes != int64(buf.Len()) {
		t.Errorf("the summary says %d bytes, the file has %d", sum.Bytes, buf.Len())
	}
	return buf.Bytes(), sum
}

// kindOf is what a row's «Тип» says, as the importer reads it.
func kindOf(rec []string) string {
	if len(rec) < 2 {
		return ""
	}
	t := strings.ToLower(strings.TrimSpace(rec[1]))
	switch {
	case strings.Contains(t, "компан"):
		return "company"
	case strings.Contains(t, "контакт"):
		return "contact"
	}
	return t
}

func TestGeneratedFilesRoundTripThroughEncodingCSV(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
	}{
		{"modern layout, UTF-8 with BOM, semicolons", Options{Layout: LayoutModern, Encoding: UTF8BOM}},
		{"classic layout, Windows-1251, semicolons", Options{Layout: LayoutClassic, Encoding: CP1251}},
		{"modern layout, UTF-8 without BOM, commas", Options{Layout: LayoutModern, Encoding: UTF8, Delimiter: ','}},
		{"classic layout, UTF-16, tabs", Options{Layout: LayoutClassic, Encoding: UTF16}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Rows, tc.opt.Seed = 4000, 3
			data, sum := generateCSV(t, tc.opt)
			recs := read(t, data, tc.opt)
			if want := layouts[tc.opt.Layout].header; !slices.Equal(recs[0], want) {
				t.Fatalf("header %q, want the %s layout's %q", recs[0], tc.opt.Layout, want)
			}
			// encoding/csv skips blank lines; every other record is there.
			if got, want := len(recs)-1, sum.Records-sum.InvalidByReason["blank_line"]; got != want {
				t.Errorf("encoding/csv reads %d records, want %d (%d minus %d blank lines)", got, want, sum.Records, sum.InvalidByReason["blank_line"])
			}
			counts := map[string]int{}
			huge := 0
			for _, rec := range recs[1:] {
				counts[kindOf(rec)]++
				for _, c := range rec {
					if len([]rune(c)) > 131_072 {
						huge++
					}
				}
				if n := len(rec); n != len(recs[0]) && n != len(recs[0])+1 && n != 1 {
					t.Errorf("a record of %d cells: %.200q", n, rec)
				}
			}
			if want := sum.CompanyRecords + sum.InvalidByReason["company_without_name"]; counts["company"] != want {
				t.Errorf("%d company rows, want %d", counts["company"], want)
			}
			if want := sum.ContactRecords + sum.InvalidByReason["contact_empty"]; counts["contact"] != want {
				t.Errorf("%d contact rows, want %d", counts["contact"], want)
			}
			if huge != sum.HugeNotes || huge == 0 {
				t.Errorf("%d cells over 131,072 characters, the summary says %d, want at least one", huge, sum.HugeNotes)
			}
		})
	}
}

func TestEveryKindOfDirtIsPlanted(t *testing.T) {
	opt := Options{Rows: 20_000, Seed: 5}
	_, sum := generateCSV(t, opt)
	for _, reason := range []string{"blank_line", "empty_row", "repeated_header", "garbage_row", "unknown_type",
		"company_without_name", "contact_empty"} {
		if sum.InvalidByReason[reason] == 0 {
			t.Errorf("no row skipped as %s", reason)
		}
	}
	for _, kind := range []string{"dup_same_inn_respelled", "dup_inn_lost_zero", "dup_inn_float_suffix", "dup_inn_formatted",
		"dup_inn_kpp_combined", "dup_no_inn_same_name_addr", "dup_branch", "repeat_id"} {
		if sum.DuplicatesByKind[kind] == 0 {
			t.Errorf("no duplicate of kind %s", kind)
		}
	}
	for _, match := range []string{"company:inn", "company:name_address", "company:repeated_id", "contact:repeated_id"} {
		if sum.DuplicatesByMatch[match] == 0 {
			t.Errorf("no duplicate matched by %s", match)
		}
	}
	for _, code := range []string{"inn_leading_zero_lost", "inn_float_suffix", "inn_formatted", "inn_kpp_combined",
		"inn_excel_scientific_unrecoverable", "inn_invalid_checksum", "inn_bad_length", "kpp_leading_zero_lost", "kpp_invalid",
		"responsible_unknown", "email_invalid", "phone_excel_error", "phone_without_area_code", "html_entities",
		"extra_columns", "value_too_long", "note_very_long", "field_exceeds_python_csv_default_limit",
		"contact_company_orphan", "contact_company_ambiguous"} {
		if sum.WarningsByCode[code] == 0 {
			t.Errorf("no warning %s planted", code)
		}
	}
	if sum.PhonesWithExtension == 0 || sum.MultiValueCells == 0 || sum.MultiLineCells == 0 {
		t.Errorf("extensions %d, multi-value cells %d, multi-line cells %d: want some of each",
			sum.PhonesWithExtension, sum.MultiValueCells, sum.MultiLineCells)
	}
	if sum.ContactsLinked+sum.ContactsWithoutCompany+sum.ContactsOrphanRef+sum.ContactsAmbiguousRef != sum.Contacts {
		t.Errorf("contacts by reference %d+%d+%d+%d do not add up to %d contacts", sum.ContactsLinked,
			sum.ContactsWithoutCompany, sum.ContactsOrphanRef, sum.ContactsAmbiguousRef, sum.Contacts)
	}
	imported := sum.CompanyRecords + sum.ContactRecords
	if got := sum.RecordsResponsibleResolved + sum.RecordsResponsibleUnknown + sum.RecordsResponsibleEmpty; got != imported {
		t.Errorf("«Ответственный» counted on %d rows, %d rows are imported", got, imported)
	}
	if imported+sum.InvalidRecords != sum.Records {
		t.Errorf("%d imported and %d skipped rows are not the %d records", imported, sum.InvalidRecords, sum.Records)
	}
	// Mostly clean, a few percent dirty, proportions like the first
	// version's base (45,709 companies, 99,156 contacts).
	ratio := float64(sum.Contacts) / float64(sum.Companies)
	if ratio < 1.8 || ratio > 2.6 {
		t.Errorf("%.2f contacts a company, want about 2.2", ratio)
	}
	if dup := float64(sum.DuplicateCompanyRecords) / float64(sum.CompanyRecords); dup < 0.02 || dup > 0.08 {
		t.Errorf("%.1f%% of company rows are duplicates, want a few percent", 100*dup)
	}
}

// TestTheFileHoldsWhatTheSummarySays counts some planted dirt in the file
// itself, independently of the generator's own counters.
func TestTheFileHoldsWhatTheSummarySays(t *testing.T) {
	for _, layout := range []Layout{LayoutModern, LayoutClassic} {
		t.Run(string(layout)+" layout", func(t *testing.T) {
			opt := Options{Rows: 20_000, Seed: 9, Layout: layout}
			data, sum := generateCSV(t, opt)
			recs := read(t, data, opt)
			col := func(f field) int { return layouts[layout].index[f] }
			ids := map[string]bool{}
			repeated, sci, combined, float, excelPhones, html, validINN, invalidINN := 0, 0, 0, 0, 0, 0, 0, 0
			for _, rec := range recs[1:] {
				kind := kindOf(rec)
				if kind != "company" && kind != "contact" {
					continue
				}
				if ids[rec[0]] {
					repeated++
				}
				ids[rec[0]] = true
				if kind != "company" {
					continue
				}
				inn := rec[col(fINN)]
				switch {
				case strings.Contains(inn, "E+"):
					sci++
				case strings.Contains(inn, "/"):
					combined++
				case strings.HasSuffix(inn, ".0"):
					float++
				case strings.Contains(inn, " "): // «ИНН 7707083893», «7707 083 893»
				case len(inn) == 10 || len(inn) == 12:
					if dedup.ValidateINN(inn) == "" {
						validINN++
					} else {
						invalidINN++
					}
				}
				if p := rec[col(fPhoneWork)]; p == "#ЗНАЧ!" || p == "#ИМЯ?" {
					excelPhones++
				}
				if strings.Contains(rec[col(fCompanyName)], "&quot;") {
					html++
				}
			}
			checks := []struct {
				what      string
				got, want int
			}{
				{"rows repeating an earlier ID", repeated, sum.DuplicatesByMatch["company:repeated_id"] + sum.DuplicatesByMatch["contact:repeated_id"]},
				{"ИНН in exponent form", sci, sum.WarningsByCode["inn_excel_scientific_unrecoverable"]},
				{"ИНН/КПП pairs", combined, sum.WarningsByCode["inn_kpp_combined"]},
				{"ИНН with .0", float, sum.WarningsByCode["inn_float_suffix"]},
				{"Excel errors for a phone", excelPhones, sum.WarningsByCode["phone_excel_error"]},
				{"10- or 12-digit ИНН failing the check digits", invalidINN, sum.WarningsByCode["inn_invalid_checksum"]},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: %d in the file, the summary says %d", c.what, c.got, c.want)
				}
			}
			if html < sum.WarningsByCode["html_entities"] {
				t.Errorf("%d company names with html entities, the summary says %d", html, sum.WarningsByCode["html_entities"])
			}
			if validINN < sum.CompanyRecords/3 {
				t.Errorf("only %d valid ИНН over %d company rows", validINN, sum.CompanyRecords)
			}
		})
	}
}

func TestTheSameSeedWritesTheSameFile(t *testing.T) {
	hash := func(opt Options) [32]byte {
		data, _ := generateCSV(t, opt)
		return sha256.Sum256(data)
	}
	a := hash(Options{Rows: 5000, Seed: 11})
	if b := hash(Options{Rows: 5000, Seed: 11}); a != b {
		t.Error("two files of the same seed differ")
	}
	if c := hash(Options{Rows: 5000, Seed: 12}); a == c {
		t.Error("two seeds gave the same file")
	}
}

func TestXLSXRoundTripsThroughExcelize(t *testing.T) {
	var buf bytes.Buffer
	opt := Options{Rows: 3000, Seed: 4, Layout: LayoutClassic}
	sum, err := WriteXLSX(&buf, opt)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	rows, err := f.Rows("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var header []string
	counts := map[string]int{}
	n, long := 0, 0
	for rows.Next() {
		cells, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if header == nil {
			header = cells
			continue
		}
		n++
		counts[kindOf(cells)]++
		for _, c := range cells {
			if len([]rune(c)) == excelize.TotalCellChars {
				long++
			}
		}
	}
	if !slices.Equal(header, layouts[LayoutClassic].header) {
		t.Fatalf("header %q", header)
	}
	if n > sum.Records || n < sum.Records-sum.InvalidByReason["blank_line"]-sum.InvalidByReason["empty_row"] {
		t.Errorf("excelize reads %d rows of %d records", n, sum.Records)
	}
	if want := sum.CompanyRecords + sum.InvalidByReason["company_without_name"]; counts["company"] != want {
		t.Errorf("%d company rows, want %d", counts["company"], want)
	}
	if want := sum.ContactRecords + sum.InvalidByReason["contact_empty"]; counts["contact"] != want {
		t.Errorf("%d contact rows, want %d", counts["contact"], want)
	}
	if long != sum.HugeNotes || long == 0 {
		t.Errorf("%d notes cut at Excel's limit, the summary says %d huge notes", long, sum.HugeNotes)
	}
}

// heapWatcher samples the heap in use each time the generator's buffered
// output reaches it.
type heapWatcher struct{ peak uint64 }

func (h *heapWatcher) Write(p []byte) (int, error) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak = max(h.peak, m.HeapInuse)
	return len(p), nil
}

// TestGenerationStreams writes 200,000 rows (about 110 MB) and checks the
// heap stays small all along: rows go out as they are made. It checks the
// streaming, not the speed.
func TestGenerationStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200,000 rows")
	}
	runtime.GC()
	var w heapWatcher
	sum, err := Write(&w, Options{Rows: 200_000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	const limit = 48 << 20
	if w.peak > limit || sum.Bytes < 50<<20 {
		t.Errorf("%d MB written with a heap peak of %d MB, want under %d MB", sum.Bytes>>20, w.peak>>20, limit>>20)
	}
	t.Logf("%d MB written, heap peak %.1f MB", sum.Bytes>>20, float64(w.peak)/(1<<20))
}

func TestOptionsAreChecked(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
	}{
		{"too few rows", Options{Rows: 5}},
		{"an unknown layout", Options{Rows: 100, Layout: "new"}},
		{"an unknown encoding", Options{Rows: 100, Encoding: "koi8-r"}},
		{"a pipe as the delimiter", Options{Rows: 100, Delimiter: '|'}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Write(io.Discard, tc.opt); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestCoinedWordsAreDistinct(t *testing.T) {
	seen := map[string]int{}
	for _, i := range append(slices.Collect(func(yield func(int) bool) {
		for i := range 300_000 {
			if !yield(i) {
				return
			}
		}
	}), 729_000, 729_001, 2_000_000) {
		w := coined(i)
		if j, dup := seen[w]; dup {
			t.Fatalf("coined(%d) = coined(%d) = %q", i, j, w)
		}
		seen[w] = i
	}
}

func TestScientificKeepsSixDigitsTheExcelWay(t *testing.T) {
	cases := []struct {
		digits, want string
		lost         bool
	}{
		{"7720311179", "7,72031E+09", true},
		{"500100732259", "5,00101E+11", true},
		{"1027700132195", "1,0277E+12", true},
		{"7707000000", "7,707E+09", false},
	}
	for _, tc := range cases {
		got, lost := scientific(tc.digits)
		if got != tc.want || lost != tc.lost {
			t.Errorf("scientific(%s) = %s, %v; want %s, %v", tc.digits, got, lost, tc.want, tc.lost)
		}
	}
}
