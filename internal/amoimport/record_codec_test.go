package amoimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/amoimport/amogen"
)

// jsonRoundTrip is r as it came back from import_rows when records were
// kept as JSON: what every reader of a record saw before its own form.
func jsonRoundTrip(t *testing.T, r *Record) Record {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// fillRecord sets every field of v (a Record, through reflection, so that
// a field added to Record later is filled too) from rng: strings with
// Cyrillic, quotes, digits and the form's own separators, or empty; lists
// of 0–3 elements.
func fillRecord(rng *rand.Rand, v reflect.Value) {
	words := []string{"", "ООО «Ромашка»", "12:34", "R1", "7707083893", `"кавычки"`, "a,b;c", "\n\tмного\nстрок",
		"&quot;", "ё", "{", "0:", "-1,", strings.Repeat("длинно ", 40)}
	switch v.Kind() {
	case reflect.String:
		v.SetString(words[rng.IntN(len(words))] + words[rng.IntN(len(words))])
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rng.Int64N(1<<40) - 1<<20)
	case reflect.Slice:
		n := rng.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fillRecord(rng, s.Index(i))
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			if rng.IntN(3) > 0 {
				loc := time.FixedZone("", 3*3600)
				if rng.IntN(2) == 0 {
					loc = time.UTC
				}
				v.Set(reflect.ValueOf(time.Unix(rng.Int64N(2e9), rng.Int64N(1e9)).In(loc)))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).Tag.Get("json") == "-" {
				continue // not kept (contactinfo.Email.Norm)
			}
			fillRecord(rng, v.Field(i))
		}
	}
}

func TestRecordFormKeepsWhatJSONKept(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a reproducible sequence of records, no secret
	for i := range 2000 {
		var r Record
		fillRecord(rng, reflect.ValueOf(&r).Elem())
		enc, err := encodeRecord(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(enc), recordMagic) {
			t.Fatalf("record %d kept as %.40q, not in the record form", i, enc)
		}
		var back Record
		if err := decodeRecord(string(enc), &back); err != nil {
			t.Fatalf("record %d: %v\n%s", i, err, enc)
		}
		if want := jsonRoundTrip(t, &r); !reflect.DeepEqual(back, want) {
			t.Fatalf("record %d read back as\n%+v\nwant (what JSON kept)\n%+v", i, back, want)
		}
	}
}

func TestRecordsTheFormCannotHoldStayJSON(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"a value that is not UTF-8", "Ромашка\xff\xfe"},
		{"a NUL", "Ромашка\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Record{Number: 3, Line: 4, Kind: KindCompany, Name: tc.value, Notes: []string{tc.value}}
			enc, err := encodeRecord(nil, &r)
			if err != nil {
				t.Fatal(err)
			}
			if enc[0] != '{' || !utf8.Valid(enc) || strings.IndexByte(string(enc), 0) >= 0 {
				t.Fatalf("kept as %q, want JSON that PostgreSQL's text takes", enc)
			}
			var back Record
			if err := decodeRecord(string(enc), &back); err != nil {
				t.Fatal(err)
			}
			if want := jsonRoundTrip(t, &r); !reflect.DeepEqual(back, want) {
				t.Fatalf("read back as %+v, want %+v", back, want)
			}
		})
	}
}

func TestRecordsWrittenAsJSONAreStillRead(t *testing.T) {
	old := `{"number":7,"line":9,"kind":"contact","name":"Иван Петров","phones":[{"value":"8 (495) 123-45-67","kind":"work","comment":""}],` +
		`"emails":["ivan@example.com"],"created_at":"2024-03-01T10:00:00+03:00"}`
	var r Record
	if err := decodeRecord(old, &r); err != nil {
		t.Fatal(err)
	}
	if r.Number != 7 || r.Name != "Иван Петров" || len(r.Phones) != 1 || r.Emails[0].Value != "ivan@example.com" || r.CreatedAt.IsZero() {
		t.Fatalf("read %+v", r)
	}
}

func TestDamagedRecordsAreRefused(t *testing.T) {
	r := Record{Number: 1, Line: 2, Kind: KindCompany, Name: "Ромашка", Phones: nil, Notes: []string{"заметка"}}
	enc, err := encodeRecord(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "R2" + string(enc[2:]), string(enc[:len(enc)-1]), string(enc) + "1,", "R1x,", "R1-5,"} {
		var back Record
		if err := decodeRecord(bad, &back); err == nil && bad != "" {
			t.Errorf("%q read without an error: %+v", bad, back)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	r := Record{Number: 1, Line: 2, Kind: KindContact, Name: "Иван", Notes: []string{"a"}, Issues: []Issue{{Code: "x"}}}
	enc, err := encodeRecord(nil, &r)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(enc))
	f.Add("R1")
	f.Add("R11,2,0:0,")
	f.Fuzz(func(t *testing.T, s string) {
		var back Record
		if decodeRecord(s, &back) != nil || s == "" || s[0] == '{' || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return // JSON's own, or text Stage never writes
		}
		// Whatever reads must write back to the same text.
		again, err := encodeRecord(nil, &back)
		if err != nil {
			t.Fatal(err)
		}
		var twice Record
		if err := decodeRecord(string(again), &twice); err != nil {
			t.Fatalf("%q → %q: %v", s, again, err)
		}
		if !reflect.DeepEqual(back, twice) {
			t.Fatalf("%q read as %+v, then as %+v", s, back, twice)
		}
	})
}

// generatedRecords parses an amogen export of n rows into its records.
func generatedRecords(tb testing.TB, n int) []*Record {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := amogen.Write(&buf, amogen.Options{Rows: n, Seed: 1}); err != nil {
		tb.Fatal(err)
	}
	p, err := Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		tb.Fatal(err)
	}
	var recs []*Record
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			tb.Fatal(err)
		}
		if row.Record != nil {
			recs = append(recs, row.Record)
		}
	}
}

func TestGeneratedRecordsReadBackAsWithJSON(t *testing.T) {
	for i, r := range generatedRecords(t, 3000) {
		enc, err := encodeRecord(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		var back Record
		if err := decodeRecord(string(enc), &back); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if want := jsonRoundTrip(t, r); !reflect.DeepEqual(back, want) {
			t.Fatalf("record %d read back as\n%+v\nwant\n%+v", i, back, want)
		}
	}
}

// BenchmarkRecordRoundTrip writes and reads back the records of a
// generated export as Stage, the plan and Apply do (one write, two
// reads), in the record form and, for comparison, as JSON.
func BenchmarkRecordRoundTrip(b *testing.B) {
	recs := generatedRecords(b, 20_000)
	for _, form := range []string{"record", "json"} {
		b.Run(form, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range recs {
					var (
						enc  []byte
						err  error
						back Record
					)
					if form == "json" {
						enc, err = json.Marshal(r)
					} else {
						enc, err = encodeRecord(nil, r)
					}
					if err != nil {
						b.Fatal(err)
					}
					for range 2 {
						if form == "json" {
							err = json.Unmarshal(enc, &back)
						} else {
							err = decodeRecord(string(enc), &back)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
