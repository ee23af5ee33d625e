//go:build !race

package pth

// raceEnabled: the race detector makes the large hostile inputs slow.
const raceEnabled = false
