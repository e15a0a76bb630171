package amoimport

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/amoimport/amogen"
)

// TestParseGeneratedExports reads exports of the project's generator in
// every layout, encoding and delimiter, and as .xlsx, and checks that the
// reader finds what the generator planted: the rows by kind, the skipped
// rows by reason and the reader's warnings by code. The fixtures are two
// samples; this is the rest of the space.
func TestParseGeneratedExports(t *testing.T) {
	rows := 3000
	if testing.Short() {
		rows = 400
	}
	type variant struct {
		layout amogen.Layout
		enc    amogen.Encoding
		delim  rune
		xlsx   bool
	}
	var variants []variant
	for _, l := range []amogen.Layout{amogen.LayoutModern, amogen.LayoutClassic} {
		variants = append(variants,
			variant{l, amogen.UTF8BOM, ';', false}, variant{l, amogen.UTF8, ',', false},
			variant{l, amogen.CP1251, ';', false}, variant{l, amogen.UTF16, '\t', false},
			variant{l, amogen.UTF8, '\t', false}, variant{l, "", 0, true})
	}
	seed := uint64(100)
	for _, v := range variants {
		seed++
		name := fmt.Sprintf("%s %s %q", v.layout, v.enc, v.delim)
		if v.xlsx {
			name = fmt.Sprintf("%s xlsx", v.layout)
		}
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			opt := amogen.Options{Rows: rows, Seed: seed, Layout: v.layout, Encoding: v.enc, Delimiter: v.delim}
			var sum amogen.Summary
			var err error
			if v.xlsx {
				sum, err = amogen.WriteXLSX(&buf, opt)
			} else {
				sum, err = amogen.Write(&buf, opt)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, recs, skips := parseAll(t, buf.Bytes())
			if got := len(recs) + len(skips); got != sum.Records {
				t.Errorf("read %d rows, the generator wrote %d", got, sum.Records)
			}
			var companies, contacts int
			warnings := map[string]int{}
			for _, r := range recs {
				if r.Kind == KindCompany {
					companies++
				} else {
					contacts++
				}
				for _, is := range r.Issues {
					warnings[is.Code]++
				}
			}
			if companies != sum.CompanyRecords || contacts != sum.ContactRecords {
				t.Errorf("read %d companies and %d contacts, the generator wrote %d and %d",
					companies, contacts, sum.CompanyRecords, sum.ContactRecords)
			}
			reasons := map[string]int{}
			for _, s := range skips {
				reasons[s.Reason]++
			}
			for _, r := range slices.Sorted(maps.Keys(union(reasons, sum.InvalidByReason))) {
				if reasons[r] != sum.InvalidByReason[r] {
					t.Errorf("skipped %d rows as %s, the generator planted %d", reasons[r], r, sum.InvalidByReason[r])
				}
			}
			for _, c := range slices.Sorted(maps.Keys(union(warnings, sum.WarningsByCode))) {
				if !readerCodes[c] {
					if c != CodeOGRNInvalid && warnings[c] > 0 {
						t.Errorf("warned %s %d times, a code the generator plants no dirt for", c, warnings[c])
					}
					continue
				}
				if warnings[c] != sum.WarningsByCode[c] {
					t.Errorf("warned %s %d times, the generator planted %d", c, warnings[c], sum.WarningsByCode[c])
				}
			}
		})
	}
}

func union(a, b map[string]int) map[string]int {
	out := maps.Clone(a)
	for k, v := range b {
		out[k] += v
	}
	return out
}
