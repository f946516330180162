//go:build race

package metrics

// raceEnabled skips allocation assertions: the race detector allocates.
const raceEnabled = true
