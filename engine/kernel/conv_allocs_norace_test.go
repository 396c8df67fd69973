//go:build !race

package kernel

// caRace reports whether the tests run under the race detector.
const caRace = false
