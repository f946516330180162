//go:build race

package loadgen

// raceEnabled skips allocation assertions: the race detector allocates.
const raceEnabled = true
