package engine_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// TestHFRWKV4Logits: the reference RWKV-4 in transformers' layout, from
// its folder, its safetensors file and its sharded .bin pair, reproduces
// ChatRWKV's logits-v4.f32 within 1e-4 with the manifest's argmax.
func TestHFRWKV4Logits(t *testing.T) {
	ref := testutil.Shared(t, "reference")
	var man manifest
	b, err := os.ReadFile(filepath.Join(ref, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	mod := man.Models[0]
	if mod.Version != 4 {
		t.Fatalf("manifest model 0 is version %g", mod.Version)
	}
	want, err := testutil.ReadF32(filepath.Join(ref, mod.LogitsFile))
	if err != nil {
		t.Fatal(err)
	}
	T, V := mod.LogitsShape[0], mod.LogitsShape[1]
	dir := filepath.Join(ref, "hf-rwkv4")
	for _, in := range []string{dir, filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "pytorch_model.bin.index.json")} {
		t.Run(filepath.Base(in), func(t *testing.T) {
			m := convertAndLoad(t, in, convert.DTypeSource, 0)
			got := make([]float32, T*V)
			if err := m.Sequence(m.NewState(), mod.Tokens, got); err != nil {
				t.Fatal(err)
			}
			s := testutil.CompareLogits(want, got, V)
			t.Logf("%s", s)
			if s.MaxAbs > 1e-4 || s.Top1Agree != T {
				t.Errorf("logits differ from the reference: %s", s)
			}
			for p := 0; p < T; p++ {
				if a := testutil.Argmax(got[p*V : (p+1)*V]); a != mod.Argmax[p] {
					t.Errorf("position %d: argmax %d, manifest says %d", p, a, mod.Argmax[p])
				}
			}
		})
	}
}
