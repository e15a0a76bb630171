package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestMetricSecondsReadsTheServersProcessorTime finds the unlabelled
// counter among others in Prometheus's text format.
func TestMetricSecondsReadsTheServersProcessorTime(t *testing.T) {
	text := "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n" +
		"# TYPE process_cpu_seconds_total counter\n" +
		"process_cpu_seconds_total_other 9\n" +
		"process_cpu_seconds_total 12.25\n" +
		"process_open_fds 17\n"
	if got := metricSeconds(strings.NewReader(text), "process_cpu_seconds_total"); got != 12250*time.Millisecond {
		t.Errorf("metricSeconds = %v, want 12.25s", got)
	}
	if got := metricSeconds(strings.NewReader("process_open_fds 17\n"), "process_cpu_seconds_total"); got != -1 {
		t.Errorf("metricSeconds of a text without it = %v, want -1", got)
	}
}

// TestReportCPUDividesByTheRequests prints milliseconds per request of
// each process, and says so when a figure is unknown.
func TestReportCPUDividesByTheRequests(t *testing.T) {
	var out bytes.Buffer
	lt := &loadTest{}
	before := cpuSample{server: time.Second, self: 0, machine: -1, loadAvg: "1,50"}
	after := cpuSample{server: 3 * time.Second, self: 500 * time.Millisecond, machine: -1, loadAvg: "2,00"}
	lt.reportCPU(&out, before, after, 1000)
	want := "Процессорное время на запрос: сервер 2,00 мс, генератор нагрузки 0,50 мс\n" +
		"Средняя загрузка машины: 1,50 в начале замера, 2,00 в конце\n"
	if out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	lt.reportCPU(&out, cpuSample{server: -1, machine: -1, loadAvg: "?"}, cpuSample{server: -1, machine: -1, loadAvg: "?"}, 10)
	if !strings.Contains(out.String(), "сервер неизвестно") || strings.Contains(out.String(), "Средняя загрузка") {
		t.Errorf("report with unknown figures: %q", out.String())
	}
}

func TestIsBackendOf(t *testing.T) {
	for title, want := range map[string]bool{
		"postgres: 15/main: postgres load_demo 127.0.0.1(48532) idle":       true,
		"postgres: postgres load_demo 127.0.0.1(48532) idle in transaction": true,
		"postgres: alice load_demo [local] SELECT":                          true,
		"postgres: 15/main: postgres load_demo2 127.0.0.1(48532) idle":      false,
		"postgres: 15/main: checkpointer":                                   false,
		"postgres: 15/main: autovacuum launcher":                            false,
		"/usr/bin/postgres -D /var/lib/postgresql/15/main":                  false,
	} {
		if got := isBackendOf(title, "load_demo"); got != want {
			t.Errorf("%q: %v, want %v", title, got, want)
		}
	}
}
