//go:build race

package vtl

// raceEnabled skips allocation assertions: under the race detector
// sync.Pool drops items at random and the detector allocates.
const raceEnabled = true
