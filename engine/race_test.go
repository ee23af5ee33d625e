//go:build race

package engine_test

// raceEnabled: the race detector makes pure-Go loops many times slower.
const raceEnabled = true
