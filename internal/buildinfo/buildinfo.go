// Package buildinfo names the running rwkv-tools build, for provenance
// metadata in every file and result the tool writes.
package buildinfo

import "runtime/debug"

// Version is the release version; "dev" builds add the VCS revision.
const Version = "0.1.0-dev"

// String returns Version plus the VCS revision when the binary has one. It
// is stable for a given build, so converted files stay reproducible.
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return Version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return Version + "+" + rev
}
