//go:build race

package exchange

// raceEnabled skips allocation assertions: the race detector allocates.
const raceEnabled = true
