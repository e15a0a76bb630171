package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuSample is what a load test reads before and after the measured
// phase to tell where the processor time went: the server's (from its
// /metrics, when it runs in another process), the load generator's own,
// and the whole machine's, with the load average beside it.
type cpuSample struct {
	server    time.Duration         // the server process's CPU time; -1: unknown
	self      time.Duration         // this process's CPU time; -1: unknown
	machine   time.Duration         // all cores' busy time (Linux /proc/stat); -1: unknown
	cores     int                   // cores the machine figure is over
	postgres  map[int]time.Duration // CPU time of each PostgreSQL backend of --postgres-db, by pid; nil: not sampled
	loadAvg   string                // the one-minute load average, or "?"
	inProcess bool                  // the server runs in this process: self holds both
}

// sampleCPU reads the processor times now.
func (lt *loadTest) sampleCPU(ctx context.Context) cpuSample {
	s := cpuSample{server: -1, inProcess: lt.inProcess}
	s.self = processCPU()
	s.machine, s.cores = machineCPU()
	s.loadAvg = strings.Replace(loadAverage(), ".", ",", 1) // bench_import.go
	if !lt.inProcess {
		s.server = lt.serverCPU(ctx)
	}
	if lt.postgresDB != "" {
		s.postgres = postgresCPU(lt.postgresDB)
	}
	return s
}

// postgresCPU is the CPU time (utime + stime of /proc/<pid>/stat) of each
// PostgreSQL backend serving database db on this machine, found by the
// process title PostgreSQL gives them (isBackendOf).
// It is nil where there is no /proc.
func postgresCPU(db string) map[int]time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]time.Duration{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if !isBackendOf(string(cmd), db) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command in parentheses: utime and stime are
		// the 14th and 15th of the line, the 12th and 13th after ")".
		_, rest, ok := strings.Cut(string(stat), ") ")
		sf := strings.Fields(rest)
		if !ok || len(sf) < 13 {
			continue
		}
		ut, err1 := strconv.ParseInt(sf[11], 10, 64)
		st, err2 := strconv.ParseInt(sf[12], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out[pid] = time.Duration(ut+st) * time.Second / clockTicks
	}
	return out
}

// isBackendOf reports whether a process title is that of a PostgreSQL
// backend of database db: "postgres: [CLUSTER: ]USER DB HOST(PORT) STATE".
func isBackendOf(title, db string) bool {
	f := strings.Fields(strings.ReplaceAll(title, "\x00", " "))
	if len(f) < 4 || f[0] != "postgres:" {
		return false
	}
	for i := 2; i+1 < len(f) && i <= 3; i++ {
		if host := f[i+1]; strings.HasSuffix(host, ")") || host == "[local]" {
			return f[i] == db
		}
	}
	return false
}

// postgresSpent is the CPU the backends spent between two samples: the
// growth of those alive at both, and all of those started in between (a
// backend that ended in between is lost; the server's pool keeps its
// connections). -1 when not sampled.
func postgresSpent(before, after map[int]time.Duration) time.Duration {
	if before == nil || after == nil {
		return -1
	}
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// serverCPU is process_cpu_seconds_total from the server's /metrics
// (open to loopback clients), or -1 when it cannot be read.
func (lt *loadTest) serverCPU(ctx context.Context) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, lt.base.String()+"/metrics", nil)
	if err != nil {
		return -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return -1
	}
	return metricSeconds(resp.Body, "process_cpu_seconds_total")
}

// metricSeconds finds an unlabelled metric in Prometheus's text format.
func metricSeconds(r io.Reader, name string) time.Duration {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return -1
		}
		return time.Duration(f * float64(time.Second))
	}
	return -1
}

// machineCPU is the time all cores spent busy since boot (user, nice,
// system, irq, softirq, steal of /proc/stat's "cpu" line) and the number
// of cores, or -1 where there is no /proc/stat.
func machineCPU() (time.Duration, int) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1, 0
	}
	var busy time.Duration
	cores := 0
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		switch {
		case len(f) > 8 && f[0] == "cpu":
			for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
				n, err := strconv.ParseInt(f[i], 10, 64)
				if err != nil {
					return -1, 0
				}
				busy += time.Duration(n) * time.Second / clockTicks
			}
		case len(f) > 0 && strings.HasPrefix(f[0], "cpu"):
			cores++
		}
	}
	return busy, cores
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go runs on.
const clockTicks = 100

// reportCPU prints the processor time per request of the measured phase:
// the figure that holds on a busy machine, where requests per second and
// latencies depend on who else is using the cores.
func (lt *loadTest) reportCPU(w io.Writer, before, after cpuSample, requests int) {
	if requests == 0 {
		return
	}
	per := func(a, b time.Duration) string {
		if a < 0 || b < 0 {
			return "неизвестно"
		}
		return strings.Replace(fmt.Sprintf("%.2f мс", float64(b-a)/float64(time.Millisecond)/float64(requests)), ".", ",", 1)
	}
	var parts []string
	if before.inProcess {
		parts = append(parts, "сервер и генератор нагрузки (один процесс) "+per(before.self, after.self))
	} else {
		parts = append(parts, "сервер "+per(before.server, after.server), "генератор нагрузки "+per(before.self, after.self))
	}
	if spent := postgresSpent(before.postgres, after.postgres); spent >= 0 {
		parts = append(parts, "процессы PostgreSQL "+per(0, spent))
	}
	if before.machine >= 0 && after.machine >= 0 {
		parts = append(parts, fmt.Sprintf("вся машина %s (ядер: %d)", per(before.machine, after.machine), after.cores))
	}
	fmt.Fprintf(w, "Процессорное время на запрос: %s\n", strings.Join(parts, ", "))
	if before.loadAvg != "?" {
		fmt.Fprintf(w, "Средняя загрузка машины: %s в начале замера, %s в конце\n", before.loadAvg, after.loadAvg)
	}
}
