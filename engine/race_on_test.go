//go:build race

package engine_test

// raceEnabled reports a build with the race detector, under which
// sync.Pool drops items at random (allocation counts mean nothing).
const raceEnabled = true
