package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestServerCollectsLessOftenUnlessTheOperatorSaysSo: crm serve lets the
// heap grow by serverGCPercent between collections, and an operator's
// GOGC wins over it.
func TestServerCollectsLessOftenUnlessTheOperatorSaysSo(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	t.Setenv("GOGC", "")
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	tuneGC()
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Errorf("without GOGC the server's GC percent is %d, want %d", got, serverGCPercent)
	}

	t.Setenv("GOGC", "100")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100 the server's GC percent is %d, want the operator's 100", got)
	}
}
