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
