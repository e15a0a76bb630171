package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestLoadtestRunsAgainstARealServer runs the load test briefly against
// the real binary on a demo base: every operation of the mix is sent and
// none fails. Nothing here is timed.
func TestLoadtestRunsAgainstARealServer(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			inst := startCRM(t, newURL())
			inst.crm(t, "demo", "--companies", "60", "--contacts", "120", "--notes-per-company", "2")
			var out, errOut bytes.Buffer
			args := []string{"loadtest", "--url", inst.URL, "--clients", "6", "--duration", "2s", "--warmup", "200ms",
				"--users", "demo-admin,demo-director-1,demo-manager-1-1,demo-manager-2-4"}
			if err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut); err != nil {
				t.Fatalf("loadtest: %v\n%s%s\nserver log:\n%s", err, out.String(), errOut.String(), inst.log.String())
			}
			report := out.String()
			mix, _ := parseMix("companies")
			for _, op := range loadOps {
				if mix[op] == 0 {
					continue
				}
				line := lineWith(report, loadOpNames[op])
				if line == "" || strings.Fields(line)[len(strings.Fields(line))-1] != "0" {
					t.Errorf("operation %s: report line %q, want requests and 0 errors\n%s", op, line, report)
				}
			}
			if strings.Contains(report, "Вход") {
				t.Errorf("a demo user could not sign in:\n%s", report)
			}
			// The server's processor time comes from its /metrics.
			if line := lineWith(report, "Процессорное время на запрос"); !strings.Contains(line, "сервер ") || strings.Contains(line, "сервер неизвестно") {
				t.Errorf("processor time line %q, want the server's figure\n%s", line, report)
			}
		})
	}
}

func lineWith(report, prefix string) string {
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	return ""
}

// TestLoadtestRefusesOtherHosts keeps the load test on this machine.
func TestLoadtestRefusesOtherHosts(t *testing.T) {
	for _, target := range []string{"http://10.0.0.1:8000", "http://192.168.1.10", "https://example.ru", "http://8.8.8.8:80", "ftp://127.0.0.1"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{"loadtest", "--url", target, "--duration", "1s"}, func(string) string { return "" }, strings.NewReader(""), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "--url") {
			t.Errorf("loadtest --url %s: %v, want a refusal", target, err)
		}
	}
	for _, target := range []string{"http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"} {
		if _, err := loopbackURL(target); err != nil {
			t.Errorf("%s: %v, want it accepted", target, err)
		}
	}
}

// TestLoadtestStartsItsOwnServer runs the load test without --url: it
// tops a demo base up and serves it in-process on a loopback port.
func TestLoadtestStartsItsOwnServer(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			var out bytes.Buffer
			env := map[string]string{"CRM_SECRET_KEY": strings.Repeat("load-secret-", 4), "CRM_LOG_LEVEL": "warn"}
			args := []string{"loadtest", "--env-file", t.TempDir() + "/none.env", "--database-url", newURL(),
				"--companies", "40", "--clients", "3", "--duration", "1s", "--warmup", "0s", "--users", "demo-admin,demo-group"}
			if err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &out); err != nil {
				t.Fatalf("loadtest: %v\n%s", err, out.String())
			}
			if line := lineWith(out.String(), "Всего"); line == "" || !strings.HasSuffix(strings.TrimSpace(line), " 0") {
				t.Fatalf("report without a clean total:\n%s", out.String())
			}
		})
	}
}

// TestLoadtestDeskMix runs the desk-heavy mix against the real binary on
// a demo base with tasks: the desk page, its API, the task list and
// completing tasks, none failing.
func TestLoadtestDeskMix(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			inst := startCRM(t, newURL())
			inst.crm(t, "demo", "--companies", "40", "--contacts", "40", "--notes-per-company", "0", "--tasks-per-user", "20")
			var out, errOut bytes.Buffer
			args := []string{"loadtest", "--url", inst.URL, "--mix", "desk", "--clients", "4", "--duration", "2s", "--warmup", "200ms",
				"--users", "demo-manager-1-1,demo-manager-2-4,demo-director-1"}
			if err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut); err != nil {
				t.Fatalf("loadtest: %v\n%s%s\nserver log:\n%s", err, out.String(), errOut.String(), inst.log.String())
			}
			report := out.String()
			for _, op := range deskOps {
				line := lineWith(report, loadOpNames[op])
				if line == "" || strings.Fields(line)[len(strings.Fields(line))-1] != "0" {
					t.Errorf("operation %s: report line %q, want requests and 0 errors\n%s", op, line, report)
				}
			}
			if lineWith(report, loadOpNames["list"]) != "" {
				t.Errorf("the desk mix reports company operations:\n%s", report)
			}
		})
	}
}
