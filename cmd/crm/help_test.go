package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
)

func TestEveryCommandPrintsRussianUsageForH(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, c := range commands() {
		for _, h := range []string{"-h", "--help"} {
			t.Run(c.name+" "+h, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				err := run(t.Context(), []string{c.name, h}, getenv, strings.NewReader(""), &stdout, &stderr)
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				out := stdout.String()
				if c.name == "help" {
					if !strings.Contains(out, "crm [команда]") {
						t.Fatalf("help printed:\n%s", out)
					}
					return
				}
				if !strings.HasPrefix(out, "Использование: crm "+c.name) {
					t.Fatalf("stdout:\n%s\nstderr:\n%s", out, stderr.String())
				}
				if strings.Contains(out+stderr.String(), "help requested") || strings.Contains(out, "Usage") || strings.Contains(out, "default") {
					t.Fatalf("English in the usage:\n%s%s", out, stderr.String())
				}
				for _, line := range strings.Split(out, "\n") {
					if strings.HasPrefix(line, "      ") && !strings.ContainsFunc(line, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) {
						t.Errorf("flag description not in Russian: %q", line)
					}
				}
			})
		}
	}
}

func TestHelpNamesACommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"help", "createsuperuser"}, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "Использование: crm createsuperuser") || !strings.Contains(stdout.String(), "-username строка") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
}

func TestABadFlagFailsWithTheUsageOnStderr(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"demo", "-no-such-flag"}, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Fatalf("err %v", err)
	}
	if stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), "Использование: crm demo") {
		t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
