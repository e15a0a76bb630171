package main

import (
	"os"
	"path/filepath"
	"runtime/pprof"
)

// startCPUProfile profiles the process's CPU into path (the operator's
// --cpuprofile) until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
