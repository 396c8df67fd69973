//go:build !race

package kernel

// mvaRace reports a race-detector build (see move_race_test.go).
const mvaRace = false
