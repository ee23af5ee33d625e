package convert

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite convert/testdata/*.golden")

// TestGoldenTableV7 pins the key and tensor table convert writes for the
// reference tiny-v7 (llama.cpp's layout): every key with its type and
// value (arrays summarised; the tool version masked) and every tensor's
// name, ggml dims and type. A change here is a change of the file format:
// review it against docs/FORMAT.md and llama.cpp, then -update-golden.
func TestGoldenTableV7(t *testing.T) {
	f, _ := convertOpen(t, testutil.Shared(t, "reference", "tiny-v7-bf16.pth"), DTypeSource)
	var b strings.Builder
	for _, k := range f.Metadata.Keys() {
		v := f.Metadata[k]
		val := v.Format()
		switch k {
		case KeyToolVersion:
			val = "<version>"
		case KeyTransforms:
			ts, err := f.Metadata.Strings(k)
			if err != nil {
				t.Fatal(err)
			}
			val = "\n\t" + strings.Join(ts, "\n\t")
		}
		fmt.Fprintf(&b, "%s\t%v\t%s\n", k, v.Type, val)
	}
	b.WriteString("\n")
	for _, ti := range f.Tensors {
		fmt.Fprintf(&b, "%s\t%v\t%v\n", ti.Name, ti.Dims, ti.DType)
	}
	path := filepath.Join("testdata", "tiny-v7-bf16.golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s line %d:\n got  %q\n want %q\n(rerun with -update-golden after reviewing the change)", path, i+1, g, w)
			}
		}
	}
}
