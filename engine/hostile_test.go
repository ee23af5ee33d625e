package engine_test

import (
	"errors"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil/craft"
)

// loadCost opens and loads path, returning the error and the bytes the Go
// heap allocated meanwhile.
func loadCost(t *testing.T, path string) (error, uint64, time.Duration) {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f, err := format.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = engine.Load(f, engine.Options{})
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return err, after.TotalAlloc - before.TotalAlloc, took
}

// TestLoadHugeLayerClaim is hostile case A: block_count claims 2^20 or
// 2^24 layers over a 2-layer file. Load must refuse it from the tensors
// present, allocating almost nothing and returning at once.
func TestLoadHugeLayerClaim(t *testing.T) {
	for _, layers := range []uint32{1 << 20, 1 << 24} {
		path, err := craft.RWKV4(t.TempDir(), "huge.gguf", craft.TinyDims, craft.Options{
			Metadata: format.Metadata{arch.Key(arch.RWKV4, arch.KeyBlockCount): format.Uint32(layers)}})
		if err != nil {
			t.Fatal(err)
		}
		err, alloc, took := loadCost(t, path)
		if err == nil || !strings.Contains(err.Error(), "block_count") {
			t.Errorf("%d layers: err = %v", layers, err)
		}
		if alloc > 100<<20 || took > time.Second {
			t.Errorf("%d layers: load allocated %d MiB in %v; want < 100 MiB, < 1 s", layers, alloc>>20, took)
		}
		t.Logf("%d layers: refused after %d KiB, %v: %v", layers, alloc>>10, took, err)
	}
}

// TestLoadContradictingVocab: vocab_size disagreeing with the embedding is
// refused before the table is built.
func TestLoadContradictingVocab(t *testing.T) {
	path, err := craft.RWKV4(t.TempDir(), "v.gguf", craft.TinyDims, craft.Options{
		Metadata: format.Metadata{arch.Key(arch.RWKV4, arch.KeyVocabSize): format.Uint32(1 << 24)}})
	if err != nil {
		t.Fatal(err)
	}
	if err, alloc, _ := loadCost(t, path); err == nil || !strings.Contains(err.Error(), "contradict token_embd.weight") || alloc > 100<<20 {
		t.Errorf("err = %v, %d MiB", err, alloc>>20)
	}
}

// TestLoadNaNVector is part of hostile case G: a NaN in a (small) vector
// is refused at load, naming the tensor.
func TestLoadNaNVector(t *testing.T) {
	path, err := craft.RWKV4(t.TempDir(), "nan.gguf", craft.TinyDims, craft.Options{Value: func(name string, i int) float32 {
		if name == "blk.1.attn_norm.weight" && i == 3 {
			return float32(math.NaN())
		}
		return craft.Pseudo(name, i)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err, _, _ := loadCost(t, path); err == nil || !strings.Contains(err.Error(), "blk.1.attn_norm.weight holds NaN at element 3") {
		t.Errorf("err = %v", err)
	}
}

// TestTruncatedWhileInUse is hostile case E: the model file is truncated
// after loading; running the model reports ErrModelChanged instead of
// dying of SIGBUS.
func TestTruncatedWhileInUse(t *testing.T) {
	d := craft.TinyDims
	d.Embd, d.FFN = 256, 1024 // big enough for the pool to use worker goroutines
	path, err := craft.RWKV4(t.TempDir(), "t.gguf", d, craft.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := format.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := engine.Load(f, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, d.Vocab)
	if err := m.Sequence(m.NewState(), []int{1, 2, 3}, logits); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	err = m.Sequence(m.NewState(), []int{1, 2, 3}, logits)
	if !errors.Is(err, engine.ErrModelChanged) {
		t.Fatalf("after truncation: err = %v, want ErrModelChanged", err)
	}
	if err := m.Step(m.NewState(), 1, logits); !errors.Is(err, engine.ErrModelChanged) {
		t.Fatalf("Step after truncation: err = %v", err)
	}
}
