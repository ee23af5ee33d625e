// Package testutil holds what tests across packages share: finding the
// read-only ../shared material, and comparing logits the way the project
// reports them (max |Δ|, top-1 agreement, KL divergence; never a signed sum).
package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// RequireSharedEnv, when set to 1, turns a missing shared fixture into a
// test failure instead of a skip. CI sets it.
const RequireSharedEnv = "RWKV_TOOLS_REQUIRE_SHARED"

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns the shared material directory: $RWKV_TOOLS_SHARED if set,
// else ../shared beside the repository. It does not check that it exists.
func SharedDir() string {
	if d := os.Getenv("RWKV_TOOLS_SHARED"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "..", "shared")
}

// Shared returns the path of a file or directory under the shared material
// (e.g. Shared(t, "reference", "tiny-v4-bf16.pth")). When it is missing the
// test is skipped with a message, or fails when RWKV_TOOLS_REQUIRE_SHARED=1.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{SharedDir()}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv(RequireSharedEnv) == "1" {
			t.Fatalf("shared fixture missing: %s (%v); %s=1 requires it", p, err, RequireSharedEnv)
		}
		noteSkipped()
		t.Skipf("shared fixture not available: %s (set RWKV_TOOLS_SHARED or place ../shared beside the repo)", p)
	}
	return p
}

var skippedOnce sync.Once

// noteSkipped tells a developer at a terminal, once per test process, that
// reference tests are being skipped: go test hides the output of passing
// packages, so without -v the skips would be invisible. It writes to the
// controlling terminal (nothing in CI logs, where the fixtures are
// required anyway).
func noteSkipped() {
	skippedOnce.Do(func() {
		tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer tty.Close()
		pkg := "this package"
		if exe, err := os.Executable(); err == nil {
			pkg = strings.TrimSuffix(filepath.Base(exe), ".test")
		}
		fmt.Fprintf(tty, "note: %s: reference tests skipped, %s not found (README: Reference fixtures)\n", pkg, SharedDir())
	})
}

// Testdata returns the path of a file under the repository's testdata/.
func Testdata(elem ...string) string {
	return filepath.Join(append([]string{RepoRoot(), "testdata"}, elem...)...)
}
