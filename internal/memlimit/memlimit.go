// Package memlimit lowers the Go runtime's soft memory limit for the
// length of one big job (a full duplicate check, an export) and puts it
// back afterwards.
package memlimit

import "runtime/debug"

// Lower sets the soft memory limit to limit unless limit is 0 or the
// process's limit is lower already (GOMEMLIMIT, or a job running beside
// this one), and returns what restores the previous limit.
func Lower(limit int64) (restore func()) {
	prev := debug.SetMemoryLimit(-1)
	if limit <= 0 || prev <= limit {
		return func() {}
	}
	debug.SetMemoryLimit(limit)
	return func() { debug.SetMemoryLimit(prev) }
}

// CollectAt turns the collector's proportional pacing (GOGC) off and
// makes limit, the soft memory limit, the only thing that starts a
// collection, unless the process's limit is lower already; it returns
// what puts both back. It is for a short-lived process that does one big
// job with a small live heap (crm import-amo: 10–25 MB whatever the file),
// where GOGC=100 collected every few tens of MB allocated: an import of
// 100,000 rows into SQLite spent 2–3 s of its 18 s CPU on collections and
// their preemptions. The heap then grows to limit before a collection, a
// bounded cost in memory. A live heap near limit would make the collector
// run often (the runtime caps it at half the CPU), so limit must leave
// room. A limit of 0 or less changes nothing: without a limit, pacing
// off would let the heap grow without end.
func CollectAt(limit int64) (restore func()) {
	if limit <= 0 {
		return func() {}
	}
	prevPercent := debug.SetGCPercent(-1)
	restoreLimit := Lower(limit)
	return func() {
		restoreLimit()
		debug.SetGCPercent(prevPercent)
	}
}
