// Package craft generates small model files for tests, valid or hostile,
// in a test's temp dir: a tiny RWKV-4 GGUF with deterministic weights, and
// the crafted variants of issue 11 (a 2^24-layer claim, NaN weights,
// contradicting dims). Generators live in Go so that CI never needs Python
// and the files never need committing.
package craft

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"path/filepath"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TinyDims are the dims of the default tiny RWKV-4 model (vocab 300, so that
// byte-level tokenizers with added tokens fit).
var TinyDims = arch.Dims{Vocab: 300, Embd: 16, Layers: 2, FFN: 64}

// Options adjust a generated model.
type Options struct {
	// Metadata overrides or adds keys (e.g. a false block_count).
	Metadata format.Metadata
	// Value, if set, gives element i of tensor name (default: a small
	// deterministic pseudo-random value).
	Value func(name string, i int) float32
}

// RWKV4 writes a tiny RWKV-4 GGUF (all tensors F32) named name in dir and
// returns its path.
func RWKV4(dir, name string, d arch.Dims, o Options) (string, error) {
	table, err := arch.Tensors(arch.RWKV4, d)
	if err != nil {
		return "", err
	}
	md := format.Metadata{
		"general.architecture":                       format.String(arch.RWKV4),
		"general.name":                               format.String("craft tiny rwkv4"),
		arch.Key(arch.RWKV4, arch.KeyVocabSize):      format.Uint32(uint32(d.Vocab)),
		arch.Key(arch.RWKV4, arch.KeyEmbeddingLen):   format.Uint32(uint32(d.Embd)),
		arch.Key(arch.RWKV4, arch.KeyBlockCount):     format.Uint32(uint32(d.Layers)),
		arch.Key(arch.RWKV4, arch.KeyFeedForwardLen): format.Uint32(uint32(d.FFN)),
		arch.Key(arch.RWKV4, arch.KeyLayerNormEps):   format.Float32(1e-5),
	}
	for k, v := range o.Metadata {
		md[k] = v
	}
	value := o.Value
	if value == nil {
		value = Pseudo
	}
	var writes []format.WriteTensor
	for _, t := range table {
		t := t
		n := 1
		for _, s := range t.Shape {
			n *= int(s)
		}
		writes = append(writes, format.WriteTensor{
			TensorInfo: format.TensorInfo{Name: t.Name, DType: quant.F32, Dims: t.GGUFDims()},
			Write: func(w io.Writer) error {
				b := make([]byte, 4*n)
				for i := 0; i < n; i++ {
					binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(value(t.Name, i)))
				}
				_, err := w.Write(b)
				return err
			},
		})
	}
	path := filepath.Join(dir, name)
	return path, format.WriteFile(context.Background(), path, md, writes)
}

// Pseudo is the default weight: a deterministic value in [-0.5, 0.5)
// hashed from the tensor name and index.
func Pseudo(name string, i int) float32 {
	h := uint32(2166136261)
	for _, c := range []byte(name) {
		h = (h ^ uint32(c)) * 16777619
	}
	h = (h ^ uint32(i)) * 16777619
	h ^= h >> 15
	h *= 0x2c1b3c6d
	h ^= h >> 12
	return float32(h%1000)/1000 - 0.5
}
