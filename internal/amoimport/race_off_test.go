//go:build !race

package amoimport

// raceEnabled says the tests run under the race detector.
const raceEnabled = false
