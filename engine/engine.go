// Package engine runs RWKV models from a mapped GGUF file: Config (dims
// read from metadata), Weights (views into the mapping, never copied
// whole) and State (flat, caller-owned, cloneable), after llama2.c.
//
// A Model is safe for concurrent use as long as each goroutine uses its own
// State; scratch buffers come from a pool.
package engine

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/kernels"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Config is what a caller needs to know about a loaded model.
type Config struct {
	Arch      string // general.architecture, e.g. "rwkv4"
	Vocab     int
	Embd      int
	Layers    int
	FFN       int
	StateSize int // floats in a State (its fixed part)
	// StatePerToken is how many floats the State grows by per token fed
	// (GPT-NeoX: its KV cache, Layers·2·Embd); 0 for the RWKV models,
	// whose state has a fixed size.
	StatePerToken int
}

// Model is a loaded network.
type Model interface {
	Config() Config
	// NewState returns the initial (zero-context) state.
	NewState() *State
	// Step feeds one token. logits is nil (skip the head) or has Vocab
	// entries.
	Step(st *State, token int, logits []float32) error
	// Sequence feeds tokens in order, with batched projections; the result
	// equals repeated Step. logits is nil (skip the head), Vocab long (the
	// last position only) or len(tokens)·Vocab long (every position, row t
	// after tokens[0..t]).
	Sequence(st *State, tokens []int, logits []float32) error
	// Kernels names the kernel set in use.
	Kernels() string
}

// Options tune how a model runs; the zero value is sensible.
type Options struct {
	// Threads for row-parallel matrix products (<= 0: GOMAXPROCS). Results
	// are identical for any thread count.
	Threads int
	// Kernels overrides the kernel set (zero value: kernels.Best()).
	Kernels *kernels.Set
	// Precision of decode (Step) with block-quantized weights: the zero
	// value kernels.PrecisionFast rounds activations to 8 bits as ggml
	// does (Step then matches Sequence within that rounding, not bit for
	// bit); kernels.PrecisionExact keeps float32 activations.
	Precision kernels.Precision
}

// Load builds a Model over an opened file. The file must stay open while
// the model is used: weights alias its mapping. Every dimension the
// metadata claims is checked against the tensors present before anything
// is allocated, so load costs memory in proportion to the file, and a file
// truncated while in use yields ErrModelChanged rather than a crash.
func Load(f *format.File, opts Options) (Model, error) {
	var m, step Model
	err := guardFaults(func() error {
		pool, err := newPool(opts)
		if err != nil {
			return err
		}
		if m, err = load(f, pool); err != nil {
			return err
		}
		// Step decodes through MatVec (the decode view): MatMul's
		// kernels (avx512: packed GEMM tiles) are built for many tokens.
		// Weights are views of the mapping: a second load for Step costs
		// only its small vectors.
		step, err = load(f, pool.ForDecode())
		return err
	})
	if err != nil {
		return nil, err
	}
	return guarded{m, step}, nil
}

func newPool(opts Options) (*kernels.Pool, error) {
	var ks kernels.Set
	if opts.Kernels != nil {
		ks = *opts.Kernels
	} else {
		var err error
		if ks, err = kernels.Best(); err != nil {
			return nil, err
		}
	}
	if opts.Precision != kernels.PrecisionFast && opts.Precision != kernels.PrecisionExact {
		return nil, fmt.Errorf("engine: unknown precision %v", opts.Precision)
	}
	pool := kernels.NewPool(ks, opts.Threads)
	pool.SetPrecision(opts.Precision)
	return pool, nil
}

func load(f *format.File, pool *kernels.Pool) (Model, error) {
	archName, err := f.Metadata.String("general.architecture")
	if err != nil {
		return nil, err
	}
	switch archName {
	case arch.RWKV4:
		return loadRWKV4(f, pool)
	case arch.RWKV5:
		return loadRWKV5(f, pool)
	case arch.RWKV6:
		return loadRWKV6(f, pool)
	case arch.RWKV7:
		return loadRWKV7(f, pool)
	case arch.GPTNeoX:
		return loadGPTNeoX(f, pool)
	}
	if arch.Supported(archName) {
		return nil, fmt.Errorf("engine: architecture %s has no engine implementation", archName)
	}
	return nil, fmt.Errorf("engine: architecture %.80q is not supported yet (supported: %s, %s, %s, %s)", archName, arch.RWKV4, arch.RWKV5, arch.RWKV6, arch.RWKV7)
}

// readDims reads the dims every architecture records and the file's
// layout (arch.DetectLayout). The vocabulary size is <arch>.vocab_size, or
// without it (llama.cpp's converter writes none for RWKV; llama.cpp then
// counts the tokenizer's tokens) the rows of token_embd.weight, which the
// table check then holds against the head.
func readDims(f *format.File, archName string) (arch.Dims, error) {
	var d arch.Dims
	md := f.Metadata
	for _, k := range []struct {
		key string
		dst *int
	}{
		{arch.KeyVocabSize, &d.Vocab},
		{arch.KeyEmbeddingLen, &d.Embd},
		{arch.KeyBlockCount, &d.Layers},
		{arch.KeyFeedForwardLen, &d.FFN},
	} {
		key := arch.Key(archName, k.key)
		v, err := md.Uint(key)
		if k.key == arch.KeyVocabSize && errors.Is(err, format.ErrMissingKey) {
			emb, ok := f.Lookup("token_embd.weight")
			if !ok || len(emb.Dims) != 2 {
				return d, fmt.Errorf("%w (and no 2-D token_embd.weight to count the vocabulary from)", err)
			}
			v, err = emb.Dims[1], nil
			key = "token_embd.weight rows"
		}
		if err != nil {
			return d, err
		}
		if v == 0 || v > 1<<24 {
			return d, fmt.Errorf("%s = %d is out of range", key, v)
		}
		*k.dst = int(v)
	}
	d.Layout = arch.DetectLayout(archName, func(name string) bool { _, ok := f.Lookup(name); return ok })
	return d, nil
}

// weights resolves tensors of an architecture table against a file,
// checking that the file holds exactly the expected tensors and shapes.
type weights struct {
	f     *format.File
	table []arch.Tensor
	// parts maps the logical name of a vector stored as a row of a fused
	// tensor (arch.Part) to that tensor and row.
	parts map[string]fusedRow
}

type fusedRow struct {
	name      string
	row, rows int
}

func newWeights(f *format.File, archName string, d arch.Dims) (*weights, error) {
	// The table below has a few entries per layer; a file claiming 2^24
	// layers over a handful of tensors must fail before it is built. Every
	// layer has at least one tensor, and the embedding's rows and width
	// are checked against the token_embd tensor itself.
	if d.Layers > len(f.Tensors) {
		return nil, fmt.Errorf("engine: %s = %d, but the file holds only %d tensors (every layer has several): corrupt metadata",
			arch.Key(archName, arch.KeyBlockCount), d.Layers, len(f.Tensors))
	}
	if ti, ok := f.Lookup("token_embd.weight"); ok && len(ti.Dims) == 2 && (ti.Dims[0] != uint64(d.Embd) || ti.Dims[1] != uint64(d.Vocab)) {
		return nil, fmt.Errorf("engine: %s = %d and %s = %d contradict token_embd.weight of shape (%d, %d): corrupt metadata",
			arch.Key(archName, arch.KeyVocabSize), d.Vocab, arch.Key(archName, arch.KeyEmbeddingLen), d.Embd, ti.Dims[1], ti.Dims[0])
	}
	table, err := arch.Tensors(archName, d)
	if err != nil {
		return nil, err
	}
	want := make(map[string]arch.Tensor, len(table))
	for _, t := range table {
		want[t.Name] = t
	}
	for _, ti := range f.Tensors {
		t, ok := want[ti.Name]
		if !ok {
			return nil, fmt.Errorf("engine: unexpected tensor %.80q in a %s file", ti.Name, archName)
		}
		dims := t.GGUFDims()
		if len(dims) != len(ti.Dims) {
			return nil, fmt.Errorf("engine: tensor %s has dims %v, want %v", ti.Name, ti.Dims, dims)
		}
		for i := range dims {
			if dims[i] != ti.Dims[i] {
				return nil, fmt.Errorf("engine: tensor %s has dims %v, want %v", ti.Name, ti.Dims, dims)
			}
		}
		delete(want, ti.Name)
	}
	for _, t := range table {
		if _, missing := want[t.Name]; missing {
			return nil, fmt.Errorf("engine: required tensor %s is missing", t.Name)
		}
	}
	parts := map[string]fusedRow{}
	for _, t := range table {
		for i, p := range t.Parts {
			parts[p.Name] = fusedRow{t.Name, i, len(t.Parts)}
		}
	}
	return &weights{f: f, table: table, parts: parts}, nil
}

// vector returns a 1-D tensor as float32, refusing NaN (vectors are small,
// so checking them costs nothing; a NaN norm or decay would make every
// logit NaN). Matrices are not scanned at load; the CLI reports NaN logits.
func (w *weights) vector(name string) ([]float32, error) {
	v, err := w.vectorData(name)
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if x != x {
			return nil, fmt.Errorf("engine: tensor %s holds NaN at element %d: the file is corrupt; convert the checkpoint again", name, i)
		}
	}
	return v, nil
}

// vectorData returns a 1-D tensor as float32, aliasing the file when it is
// stored as aligned F32 and converting (a small copy) otherwise.
func (w *weights) vectorData(name string) ([]float32, error) {
	if fr, ok := w.parts[name]; ok {
		all, err := w.vectorData(fr.name)
		if err != nil {
			return nil, err
		}
		n := len(all) / fr.rows // the table check fixed the shape (rows, 1, 1, C)
		return all[fr.row*n : (fr.row+1)*n : (fr.row+1)*n], nil
	}
	ti, data, err := w.f.Tensor(name)
	if err != nil {
		return nil, err
	}
	n := int(ti.NumElements())
	switch ti.DType {
	case quant.F32:
		if len(data) > 0 && uintptr(unsafe.Pointer(&data[0]))%4 == 0 {
			return unsafe.Slice((*float32)(unsafe.Pointer(&data[0])), n), nil
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = leF32(data[4*i:])
		}
		return out, nil
	case quant.F16, quant.BF16:
		out := make([]float32, n)
		for i := range out {
			h := uint16(data[2*i]) | uint16(data[2*i+1])<<8
			if ti.DType == quant.F16 {
				out[i] = quant.F16ToF32(h)
			} else {
				out[i] = quant.BF16ToF32(h)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("engine: vector %s has type %v; expected F32, F16 or BF16", name, ti.DType)
}

// matrix returns a 2-D tensor as a kernels.Matrix view [rows][cols].
func (w *weights) matrix(name string) (kernels.Matrix, error) {
	ti, data, err := w.f.Tensor(name)
	if err != nil {
		return kernels.Matrix{}, err
	}
	if len(ti.Dims) != 2 {
		return kernels.Matrix{}, fmt.Errorf("engine: %s is not a matrix (dims %v)", name, ti.Dims)
	}
	m, err := kernels.NewMatrix(ti.DType, int(ti.Dims[1]), int(ti.Dims[0]), data)
	if err != nil {
		return m, fmt.Errorf("engine: %s: %w", name, err)
	}
	return m, nil
}

func leF32(b []byte) float32 {
	u := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	return *(*float32)(unsafe.Pointer(&u))
}
