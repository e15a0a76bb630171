package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/amoimport/amogen"
)

// runGenerate runs crm with args; amo-generate needs no database.
func runGenerate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &out)
	return out.String(), err
}

func TestAmoGenerateWritesAnExportAndItsSummary(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		magic string
	}{
		{"CSV in Windows-1251 with the classic header", []string{"--encoding", "cp1251", "--layout", "classic"}, "ID;"},
		{"CSV in UTF-8 with a BOM and commas", []string{"--delimiter", ","}, "\uFEFFID,"},
		{"a tab-separated UTF-16 file", []string{"--encoding", "utf16"}, "\xff\xfeI\x00D\x00\t\x00"},
		{"an Excel workbook", []string{"--xlsx"}, "PK\x03\x04"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, sum := filepath.Join(dir, "amocrm_export.csv"), filepath.Join(dir, "summary.json")
			stdout, err := runGenerate(t, append([]string{"amo-generate", "--rows", "500", "--seed", "3", "--out", out, "--summary", sum}, tc.args...)...)
			if err != nil {
				t.Fatalf("amo-generate: %v\n%s", err, stdout)
			}
			data, err := os.ReadFile(filepath.Clean(out))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), tc.magic) {
				t.Errorf("the file starts with %q, want %q", data[:min(len(data), 12)], tc.magic)
			}
			var s amogen.Summary
			b, err := os.ReadFile(filepath.Clean(sum))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if s.Records != 500 || s.Bytes != int64(len(data)) {
				t.Errorf("summary: %d records of %d bytes, want 500 records of %d bytes", s.Records, s.Bytes, len(data))
			}
			if !strings.Contains(stdout, "Записано") || !strings.Contains(stdout, "Идеальный импорт") {
				t.Errorf("output:\n%s", stdout)
			}
		})
	}
}

func TestAmoGenerateRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--rows", "100"},
		{"--rows", "5", "--out", filepath.Join(dir, "a.csv")},
		{"--out", filepath.Join(dir, "b.csv"), "--delimiter", "|"},
		{"--out", filepath.Join(dir, "c.csv"), "--encoding", "koi8-r"},
	} {
		if out, err := runGenerate(t, append([]string{"amo-generate"}, args...)...); err == nil {
			t.Errorf("amo-generate %v: no error\n%s", args, out)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused run left %d files", len(entries))
	}
}
