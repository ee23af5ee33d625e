package task

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHarnessV03Order(t *testing.T) {
	// random.Random(42).shuffle(list(range(20))) in CPython 3.
	want := []int{19, 5, 14, 4, 9, 13, 15, 18, 6, 12, 17, 10, 1, 11, 2, 16, 7, 8, 0, 3}
	if got := HarnessV03Order(20); !slices.Equal(got, want) {
		t.Errorf("HarnessV03Order(20) = %v, want %v", got, want)
	}
	got := HarnessV03Order(1838)
	if !slices.Equal(got[:10], []int{717, 241, 568, 626, 1139, 296, 1255, 1834, 1752, 695}) || !slices.Equal(got[1833:], []int{563, 1518, 51, 228, 1309}) {
		t.Errorf("HarnessV03Order(1838) = %v ... %v", got[:10], got[1833:])
	}
	if len(HarnessV03Order(0)) != 0 || !slices.Equal(HarnessV03Order(1), []int{0}) {
		t.Error("HarnessV03Order of 0 or 1 documents")
	}
}

// TestHarnessV03RequestHashes is the strongest check there is without
// Python: the full request list of every task with data in shared/data,
// built with protocol harness-v0.3, hashes to the value harness v0.3.0
// recorded for its own regression tests.
func TestHarnessV03RequestHashes(t *testing.T) {
	checked := 0
	for _, name := range Names() {
		tk, _ := Lookup(name)
		n, shared := sharedTaskCounts[name]
		if !shared {
			continue
		}
		t.Run(name, func(t *testing.T) {
			docs := loadShared(t, name, HarnessV03)
			if len(docs) != n {
				t.Fatalf("%d documents, want %d", len(docs), n)
			}
			got, want := tk.HarnessV03Check(docs)
			if got != want {
				t.Errorf("request-list sha256 %s, harness v0.3.0 recorded %s (%s-v%d-loglikelihood)", got, want, name, tk.Version)
			}
			checked++
		})
	}
	if checked != 9 {
		t.Errorf("checked %d tasks, want 9", checked)
	}
}

// TestHarnessV03CheckOffline runs the check for the tasks whose data is
// not in shared/data when a user's data directory ($RWKV_TOOLS_DATA) has
// their official files; it skips otherwise.
func TestHarnessV03CheckOffline(t *testing.T) {
	dir := os.Getenv("RWKV_TOOLS_DATA")
	if dir == "" {
		t.Skip("RWKV_TOOLS_DATA not set")
	}
	for _, name := range []string{"hellaswag", "sciq", "record"} {
		tk, _ := Lookup(name)
		if _, err := os.Stat(filepath.Join(dir, tk.Files[0].Path)); err != nil {
			t.Logf("%s: %v; skipped", name, err)
			continue
		}
		docs, err := tk.Load(dir, HarnessV03)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tk.HarnessV03Check(docs); got != want {
			t.Errorf("%s: request-list sha256 %s, harness v0.3.0 recorded %s", name, got, want)
		}
	}
}

func TestPyJSONString(t *testing.T) {
	var b strings.Builder
	pyJSONString(&b, "a\"\\\n\r\t\b\f\x01\x7f é € 😀 ~")
	if want := `"a\"\\\n\r\t\b\f\u0001\u007f \u00e9 \u20ac \ud83d\ude00 ~"`; b.String() != want {
		t.Errorf("got %s\nwant %s", b.String(), want)
	}
}
