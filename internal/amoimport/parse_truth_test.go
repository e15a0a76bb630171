package amoimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
)

// truth is the part of a fixture's .truth.json the reader answers for.
type truth struct {
	Expected struct {
		Records        int `json:"records"`
		CompanyRecords int `json:"company_records"`
		ContactRecords int `json:"contact_records"`
	} `json:"expected"`
	Invalid []struct {
		Record int    `json:"record"`
		Line   int    `json:"line"`
		Reason string `json:"reason"`
	} `json:"invalid"`
	Warnings []struct {
		Record int             `json:"record"`
		Line   int             `json:"line"`
		Code   string          `json:"code"`
		Field  string          `json:"field"`
		Value  json.RawMessage `json:"value"`
		Fixed  *string         `json:"fixed"`
	} `json:"warnings"`
	Companies map[string]truthEntity `json:"companies"`
	Contacts  map[string]truthEntity `json:"contacts"`
}

type truthEntity struct {
	Name    string      `json:"name"`
	Records []int       `json:"records"`
	Phones  [][]*string `json:"phones_e164"`
}

// readerCodes are the warning codes the reader decides; the others
// (responsible_unknown, contact_company_orphan, contact_company_ambiguous)
// are Plan's.
var readerCodes = map[string]bool{
	CodeINNLeadingZeroLost: true, CodeINNFloatSuffix: true, CodeINNFormatted: true,
	CodeINNKPPCombined: true, CodeINNScientific: true, CodeINNInvalidChecksum: true,
	CodeINNBadLength: true, CodeKPPLeadingZeroLost: true, CodeKPPInvalid: true,
	CodeEmailInvalid: true, CodePhoneExcelError: true, CodePhoneWithoutAreaCode: true,
	CodeHTMLEntities: true, CodeExtraColumns: true, CodeValueTooLong: true,
	CodeNoteVeryLong: true, CodeFieldOverPythonLimit: true,
}

// testdata is the fixtures folder.
var testdata = os.DirFS("testdata")

var fixtures = []string{"amo_small.csv", "amo_small_excel_cp1251.csv"}

func loadTruth(t *testing.T, name string) truth {
	t.Helper()
	b, err := fs.ReadFile(testdata, name+".truth.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr truth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// parseAll reads every row of a file.
func parseAll(t testing.TB, data []byte) (*Parser, []*Record, []Skip) {
	t.Helper()
	p, err := Parse(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var recs []*Record
	var skips []Skip
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		switch {
		case row.Record != nil && row.Skip == nil:
			recs = append(recs, row.Record)
		case row.Skip != nil && row.Record == nil:
			skips = append(skips, *row.Skip)
		default:
			t.Fatalf("row is neither a record nor a skip: %+v", row)
		}
	}
	return p, recs, skips
}

func warningKey(number, line int, code, field, value, fixed string) string {
	return fmt.Sprintf("#%d line %d %s field=%q value=%q fixed=%q", number, line, code, field, value, fixed)
}

// truthValue renders a truth warning's value the way Issue.Value holds
// it: a string as is, a number in decimal, a list joined with «; ».
func truthValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "; ")
	}
	return string(raw)
}

func TestParseFixtures(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			tr := loadTruth(t, name)
			data, err := fs.ReadFile(testdata, name)
			if err != nil {
				t.Fatal(err)
			}
			_, recs, skips := parseAll(t, data)

			t.Run("every record is read as a record or a skip", func(t *testing.T) {
				if got := len(recs) + len(skips); got != tr.Expected.Records {
					t.Errorf("got %d rows, want %d", got, tr.Expected.Records)
				}
			})
			t.Run("skipped rows equal the truth's invalid rows", func(t *testing.T) {
				var want []Skip
				for _, s := range tr.Invalid {
					want = append(want, Skip{Number: s.Record, Line: s.Line, Reason: s.Reason})
				}
				if !slices.Equal(skips, want) {
					t.Errorf("skips:\n got %+v\nwant %+v", skips, want)
				}
			})
			t.Run("records are of the truth's kinds", func(t *testing.T) {
				var companies, contacts int
				for _, r := range recs {
					switch r.Kind {
					case KindCompany:
						companies++
					case KindContact:
						contacts++
					}
				}
				if companies != tr.Expected.CompanyRecords || contacts != tr.Expected.ContactRecords {
					t.Errorf("got %d companies and %d contacts, want %d and %d",
						companies, contacts, tr.Expected.CompanyRecords, tr.Expected.ContactRecords)
				}
			})
			t.Run("reader warnings equal the truth's", func(t *testing.T) {
				var want, got []string
				for _, w := range tr.Warnings {
					if !readerCodes[w.Code] {
						continue
					}
					fixed := ""
					if w.Fixed != nil {
						fixed = *w.Fixed
					}
					want = append(want, warningKey(w.Record, w.Line, w.Code, w.Field, truthValue(w.Value), fixed))
				}
				for _, r := range recs {
					for _, is := range r.Issues {
						if is.Code == CodeOGRNInvalid {
							continue // the truth files do not look at ОГРН
						}
						if !readerCodes[is.Code] {
							// The reader's own codes (date_invalid,
							// phone_invalid, …) the truth has no name for
							// must not fire on the fixtures either.
							t.Errorf("warning %s the truth does not know: #%d %+v", is.Code, r.Number, is)
							continue
						}
						fixed := is.Fixed
						if is.Code == CodeValueTooLong {
							fixed = "" // the truth does not say what the value was cut to
						}
						got = append(got, warningKey(r.Number, r.Line, is.Code, is.Field, is.Value, fixed))
					}
				}
				slices.Sort(want)
				slices.Sort(got)
				for _, w := range want {
					if !slices.Contains(got, w) {
						t.Errorf("missing warning %s", w)
					}
				}
				for _, g := range got {
					if !slices.Contains(want, g) {
						t.Errorf("unexpected warning %s", g)
					}
				}
			})
			t.Run("phones equal the truth's phones_e164", func(t *testing.T) {
				byNumber := map[int]*Record{}
				for _, r := range recs {
					byNumber[r.Number] = r
				}
				for id, e := range mergeEntities(tr) {
					var want, got []string
					for _, p := range e.Phones {
						want = append(want, phoneKey(p))
					}
					for _, n := range e.Records {
						r := byNumber[n]
						if r == nil {
							t.Errorf("%s: record %d was not read", id, n)
							continue
						}
						for _, p := range r.Phones {
							// The truth's phones_e164 are voice numbers:
							// it leaves out the «Факс» column.
							if p.E164 == "" || p.Kind == "fax" {
								continue
							}
							k := p.E164 + "|" + p.Ext
							if !slices.Contains(got, k) {
								got = append(got, k)
							}
						}
					}
					slices.Sort(want)
					slices.Sort(got)
					if !slices.Equal(got, want) {
						t.Errorf("%s (%s): phones %v, want %v", id, e.Name, got, want)
					}
				}
			})
		})
	}
}

func mergeEntities(tr truth) map[string]truthEntity {
	all := map[string]truthEntity{}
	for k, v := range tr.Companies {
		all[k] = v
	}
	for k, v := range tr.Contacts {
		all[k] = v
	}
	return all
}

func phoneKey(p []*string) string {
	var e164, ext string
	if len(p) > 0 && p[0] != nil {
		e164 = *p[0]
	}
	if len(p) > 1 && p[1] != nil {
		ext = *p[1]
	}
	return e164 + "|" + ext
}
