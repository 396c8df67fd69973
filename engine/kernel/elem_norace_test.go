//go:build !race

package kernel

// eaRace is set in race-detector builds (see elem_race_test.go).
const eaRace = false
