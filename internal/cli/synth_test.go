package cli

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSynth writes a small model of every architecture and type, loads it
// with the engine and checks finite logits; the same seed gives the same
// bytes, another seed other bytes.
func TestSynth(t *testing.T) {
	dir := t.TempDir()
	for _, a := range []string{"rwkv4", "rwkv5", "rwkv6", "rwkv7"} {
		for _, typ := range []string{"f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0"} {
			if a != "rwkv4" && typ != "f16" && typ != "q5_1" {
				continue // every type once is enough; the table is per arch
			}
			out := filepath.Join(dir, a+"-"+typ+".gguf")
			var so, se bytes.Buffer
			opts := &synthOptions{IO: &IO{Out: &so, ErrOut: &se}, Output: out, Arch: a, Layers: 2, Embd: 128,
				Vocab: 300, HeadSize: 32, Type: typ, Seed: 5}
			if err := runSynth(context.Background(), opts); err != nil {
				t.Fatalf("%s %s: %v", a, typ, err)
			}
			if !strings.Contains(so.String(), "wrote "+out) {
				t.Fatalf("summary %q", so.String())
			}
			m, f, err := openModel(out, 1)
			if err != nil {
				t.Fatalf("%s %s: %v", a, typ, err)
			}
			cfg := m.Config()
			if cfg.Arch != a || cfg.Vocab != 300 || cfg.Embd != 128 || cfg.Layers != 2 {
				t.Fatalf("%s %s: config %+v", a, typ, cfg)
			}
			logits := make([]float32, 3*cfg.Vocab)
			if err := m.Sequence(m.NewState(), []int{1, 2, 299}, logits); err != nil {
				t.Fatal(err)
			}
			f.Close()
			var spread float64
			for _, v := range logits {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%s %s: non-finite logit %g", a, typ, v)
				}
				spread = max(spread, math.Abs(float64(v-logits[0])))
			}
			if spread == 0 {
				t.Fatalf("%s %s: all logits equal", a, typ)
			}
		}
	}
	// Determinism and the seed.
	write := func(name string, seed uint64) []byte {
		p := filepath.Join(dir, name)
		opts := &synthOptions{IO: &IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Output: p, Arch: "rwkv7",
			Layers: 1, Embd: 64, Vocab: 50, Type: "q8_0", Seed: seed, Quiet: true}
		if err := runSynth(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := write("a.gguf", 1), write("b.gguf", 1), write("c.gguf", 2)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same bytes")
	}
}

func TestSynthErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "rwkv9"}, "want one of rwkv4"},
		{[]string{"--arch", "rwkv5", "--embd", "100"}, "head size 64 does not divide --embd 100"},
		{[]string{"--type", "q3_k"}, "unknown type"},
		{[]string{"--layers", "0"}, "must be positive"},
	} {
		out := filepath.Join(dir, "x.gguf")
		_, stderr, code := run(t, append([]string{"synth", "-o", out}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Fatalf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: left %s behind", c.args, out)
		}
	}
}
