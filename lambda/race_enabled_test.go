//go:build race

package lambda

// raceEnabled skips allocation assertions: the race detector allocates.
const raceEnabled = true
