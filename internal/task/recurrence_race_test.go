//go:build race

package task

// slowFactor stretches the time limits of the bounded-search tests: the
// race detector makes rrule-go's loops several times slower.
const slowFactor = 20
