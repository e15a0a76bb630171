package company

import (
	"testing"
	"time"
)

// parseByLayouts is what the SQLite driver does with a timestamp's text:
// the first of its layouts that parses it.
func parseByLayouts(s string) (time.Time, bool) {
	for _, layout := range sqliteTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// TestSQLiteTimesParseAsTheDriverParsesThem: the export reads SQLite's
// timestamps as text and parses the driver's own layout by hand; every
// text gives the instant the driver's layouts give, or an error where
// they fail.
func TestSQLiteTimesParseAsTheDriverParsesThem(t *testing.T) {
	for _, s := range []string{
		"2025-01-22 06:55:42.632339+00:00",
		"2025-01-22 06:55:42+03:00",
		"2025-01-22T06:55:42.1-09:30",
		"2024-02-29 23:59:59.999999999+00:00",
		"2025-01-22 06:55:42.632339",
		"2025-01-22 06:55:42Z",
		"2025-01-22 06:55",
		"2025-01-22",
		"2025-02-30 06:55:42+00:00",
		"2025-13-01 06:55:42+00:00",
		"2025-01-22 06:55:42.+00:00",
		"2025-01-22 06:55:42.1234567890+00:00",
		"2025-01-22 06:55:42+0000",
		"2025-01-22 24:00:00+00:00",
		"202x-01-22 06:55:42+00:00",
		"",
	} {
		t.Run(s, func(t *testing.T) {
			checkSQLiteTime(t, s)
		})
	}
}

func checkSQLiteTime(t *testing.T, s string) {
	t.Helper()
	got, err := parseSQLiteTime(s)
	want, ok := parseByLayouts(s)
	if ok != (err == nil) || ok && !got.Equal(want) {
		t.Fatalf("%q: %v, %v; the driver's layouts: %v, %v", s, got, err, want, ok)
	}
}

func FuzzSQLiteTime(f *testing.F) {
	f.Add("2025-01-22 06:55:42.632339+00:00")
	f.Add("2025-01-22T06:55:42-09:30")
	f.Fuzz(func(t *testing.T, s string) {
		checkSQLiteTime(t, s)
	})
}
