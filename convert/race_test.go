//go:build race

package convert

// raceEnabled skips the model-running sweeps under the race detector (CI
// runs them without it; the concurrent writer is covered by the others).
const raceEnabled = true
