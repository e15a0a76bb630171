package main

import (
	"strings"
	"testing"
)

// TestBenchMeasuresTheDeskAndTaskListsWithConstantStatements runs `crm
// bench` end to end with tiny volumes on both databases, twice: the
// second run tops the tasks up to twice as many. Every task operation is
// measured, and its SQL statements per request do not grow with the
// number of tasks (they are constant, not per row).
func TestBenchMeasuresTheDeskAndTaskListsWithConstantStatements(t *testing.T) {
	if testing.Short() {
		t.Skip("the bench loads data; skipped with -short")
	}
	ops := taskOps("", "", "", nil)
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			url := newURL()
			var first map[string]string
			for _, tasks := range []string{"2000", "4000"} {
				out, err := runCrm(t, url, "", "bench", "--companies", "200", "--contacts", "300",
					"--tasks", tasks, "--users", "40", "--samples", "5")
				if err != nil {
					t.Fatalf("bench --tasks %s: %v\n%s", tasks, err, out)
				}
				if !strings.Contains(out, tasks+" задач, 40 пользователей") {
					t.Errorf("bench --tasks %s: the summary does not say %s tasks over 40 users:\n%s", tasks, tasks, out)
				}
				stmts := map[string]string{}
				for _, op := range ops {
					line := lineWith(out, op.name)
					f := strings.Fields(line)
					if len(f) < 8 || f[len(f)-1] != "5/5" {
						t.Fatalf("bench --tasks %s: operation %q: report line %q, want timings, statements and 5/5\n%s", tasks, op.name, line, out)
					}
					stmts[op.name] = f[len(f)-2]
				}
				if first == nil {
					first = stmts
					continue
				}
				for name, n := range stmts {
					if first[name] != n {
						t.Errorf("%s: %s statements a request with 2000 tasks, %s with 4000", name, first[name], n)
					}
				}
			}
		})
	}
}

// TestBenchMeasuresTheDuplicateCheck runs `crm bench --ops duplicates`
// with tiny volumes on both databases: every duplicate operation is
// measured, and the ИНН and phone probes find their company every time.
func TestBenchMeasuresTheDuplicateCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("the bench loads data; skipped with -short")
	}
	ops := duplicateOps("", "", duplicateProbes{}, nil)
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			out, err := runCrm(t, newURL(), "", "bench", "--ops", "duplicates", "--companies", "300", "--contacts", "10",
				"--tasks", "0", "--users", "40", "--samples", "5")
			if err != nil {
				t.Fatalf("bench: %v\n%s", err, out)
			}
			for _, op := range ops {
				line := lineWith(out, op.name)
				f := strings.Fields(line)
				if len(f) < 8 {
					t.Fatalf("operation %q: report line %q, want timings, statements and hits\n%s", op.name, line, out)
				}
				if (strings.Contains(op.name, "ИНН") || strings.Contains(op.name, "телефон")) && f[len(f)-1] != "5/5" {
					t.Errorf("operation %q found its company %s times, want 5/5", op.name, f[len(f)-1])
				}
			}
			if strings.Contains(out, "Список компаний") {
				t.Errorf("--ops duplicates measured the company lists too:\n%s", out)
			}
		})
	}
}
