//go:build race

package accesslog

// raceEnabled skips allocation assertions: the race detector allocates.
const raceEnabled = true
