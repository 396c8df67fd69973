//go:build race

package kernel

// eaRace is set in race-detector builds, where sync.Pool drops a share of
// the values put back on purpose, so that pooled jobs and scratch are
// reallocated now and then and allocation counts are not meaningful.
const eaRace = true
