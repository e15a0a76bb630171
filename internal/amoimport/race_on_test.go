//go:build race

package amoimport

// raceEnabled says the tests run under the race detector, which slows
// reading tenfold: the million-row memory test then reads fewer rows.
const raceEnabled = true
