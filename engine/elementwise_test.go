package engine_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/synth"
	"github.com/rwkv-tools/rwkv-tools/kernels"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestSplitsAreExact runs random RWKV-4..7 models wide enough that every
// element-wise step, LayerNorm, token shift and WKV scan is split across
// threads (the tiny reference models stay under the pool's threshold),
// with every kernel set (but the slow pure-Go one under the race
// detector): the logits of 1, 2 and 3 threads must be bit-identical, and
// so must a sequence fed in two calls of 61 and 69 tokens (chunked
// differently: 130 tokens in one call are 128 + 2).
func TestSplitsAreExact(t *testing.T) {
	dir := t.TempDir()
	tokens := tokenRun(130)
	for _, a := range []string{"rwkv4", "rwkv5", "rwkv6", "rwkv7"} {
		path := filepath.Join(dir, a+".gguf")
		if _, err := synth.Write(context.Background(), path, synth.Options{Arch: a, Layers: 2, Embd: 128, Vocab: 260,
			Type: quant.F32, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		f, err := format.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, ks := range kernels.Available() {
			if raceEnabled && ks.Name == kernels.Generic.Name && len(kernels.Available()) > 1 {
				continue
			}
			var ref []float32
			for _, threads := range []int{1, 2, 3} {
				m, err := engine.Load(f, engine.Options{Threads: threads, Kernels: &ks})
				if err != nil {
					t.Fatal(err)
				}
				V := m.Config().Vocab
				got := make([]float32, len(tokens)*V)
				if err := m.Sequence(m.NewState(), tokens, got); err != nil {
					t.Fatal(err)
				}
				if ref == nil {
					ref = got
					// The same tokens in two calls carrying the state.
					st := m.NewState()
					two := make([]float32, len(tokens)*V)
					if err := m.Sequence(st, tokens[:61], two[:61*V]); err != nil {
						t.Fatal(err)
					}
					if err := m.Sequence(st, tokens[61:], two[61*V:]); err != nil {
						t.Fatal(err)
					}
					sameBits(t, a+" "+ks.Name+" two calls", two, ref)
					continue
				}
				sameBits(t, a+" "+ks.Name+" threads", got, ref)
			}
		}
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: logit %d is %g, want %g (must be bit-identical)", what, i, got[i], want[i])
		}
	}
}
