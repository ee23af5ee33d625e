//go:build race

package pth

const raceEnabled = true
