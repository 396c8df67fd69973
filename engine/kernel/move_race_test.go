//go:build race

package kernel

// mvaRace reports a race-detector build, where sync.Pool drops items at
// random on purpose, so pooled jobs and scratch buffers are sometimes
// allocated again: allocation counts are not checked then.
const mvaRace = true
