// Package synth writes random-weight RWKV models of any published shape,
// for benchmarks and tests without downloads. The tensor table, metadata
// and storage-type policy are the converter's (arch.Tensors, convert's
// Policy), the writer is format.WriteFile (atomic), and the values depend
// only on the options (same seed, same bytes).
package synth

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Options describe the model. Zero sizes take the architecture's published
// defaults for the given Embd (Defaults).
type Options struct {
	Arch   string // rwkv4, rwkv5, rwkv6, rwkv7 or gptneox
	Layers int
	Embd   int
	Vocab  int
	FFN    int // 0: the architecture's ratio (4·C for rwkv4/7, 3.5·C for rwkv5/6)
	// HeadSize (rwkv5-7 and gptneox, 0: 64) and the LoRA ranks (0: the published
	// ones for this width).
	HeadSize                                          int
	MixLora, DecayLora, ICLRLora, ValueLora, GateLora int
	// Type is the matrices' storage type, placed by convert's policy
	// (vectors and LoRAs f32, embedding and head a 16-bit float under a
	// block type).
	Type quant.DType
	Seed uint64
	// TokenizerMetadata, if set, is stored as is (convert.TokenizerMetadata).
	TokenizerMetadata format.Metadata
}

// Dims fills the defaults and returns the shape the file will have.
func (o Options) Dims() (arch.Dims, error) {
	d := arch.Dims{Vocab: o.Vocab, Embd: o.Embd, Layers: o.Layers, FFN: o.FFN, HeadSize: o.HeadSize,
		MixLora: o.MixLora, DecayLora: o.DecayLora, ICLRLora: o.ICLRLora, ValueLora: o.ValueLora, GateLora: o.GateLora}
	if d.Vocab <= 0 || d.Embd <= 0 || d.Layers <= 0 || d.FFN < 0 {
		return d, fmt.Errorf("synth: --vocab, --embd and --layers must be positive (got %d, %d, %d)", d.Vocab, d.Embd, d.Layers)
	}
	if d.Vocab > 1<<22 || d.Embd > 1<<16 || d.Layers > 1<<10 || d.FFN > 1<<18 {
		return d, fmt.Errorf("synth: shape vocab %d, embd %d, layers %d, ffn %d is beyond any published model", d.Vocab, d.Embd, d.Layers, d.FFN)
	}
	// Published ratios: RWKV-4/7 use 4·C; RWKV-5/6 int(3.5·C) rounded
	// down to a multiple of 32.
	if d.FFN == 0 {
		switch o.Arch {
		case arch.RWKV5, arch.RWKV6:
			d.FFN = (d.Embd * 7 / 2) / 32 * 32
		default:
			d.FFN = 4 * d.Embd
		}
	}
	if o.Arch == arch.RWKV4 {
		d.HeadSize = 0
	} else if d.HeadSize == 0 {
		d.HeadSize = 64
	}
	if o.Arch == arch.GPTNeoX {
		// Pythia: heads of 64; HeadSize is RWKV's, the table wants Heads.
		if d.Embd%d.HeadSize != 0 {
			return d, fmt.Errorf("synth: head size %d does not divide --embd %d", d.HeadSize, d.Embd)
		}
		d.Heads, d.HeadSize = d.Embd/d.HeadSize, 0
	}
	if d.HeadSize > 0 && d.Embd%d.HeadSize != 0 {
		return d, fmt.Errorf("synth: head size %d does not divide --embd %d", d.HeadSize, d.Embd)
	}
	// The LoRA ranks of the published checkpoints (RWKV-6 "x060": 32 for
	// the five mixes, 64 for the decay, doubled from C 4096; RWKV-7
	// "x070": ranks scaling with √C, rounded to 32, as in its train.py).
	round32 := func(x float64) int { return max(32, int(math.Round(x/32))*32) }
	sq := math.Sqrt(float64(d.Embd))
	switch o.Arch {
	case arch.RWKV6:
		if d.MixLora == 0 {
			d.MixLora = 32
			if d.Embd >= 4096 {
				d.MixLora = 64
			}
		}
		if d.DecayLora == 0 {
			d.DecayLora = 64
			if d.Embd >= 4096 {
				d.DecayLora = 128
			}
		}
	case arch.RWKV7:
		if d.DecayLora == 0 {
			d.DecayLora = round32(1.8 * sq)
		}
		if d.ICLRLora == 0 {
			d.ICLRLora = round32(1.8 * sq)
		}
		if d.ValueLora == 0 && d.Layers > 1 {
			d.ValueLora = round32(1.3 * sq)
		}
		if d.GateLora == 0 {
			d.GateLora = round32(0.6 * math.Pow(float64(d.Embd), 0.8))
		}
	case arch.RWKV4, arch.RWKV5, arch.GPTNeoX:
	default:
		return d, fmt.Errorf("synth: --arch %q: want one of rwkv4, rwkv5, rwkv6, rwkv7, gptneox", o.Arch)
	}
	return d, nil
}

// Metadata returns the keys convert writes for a model of these dims.
func Metadata(a string, d arch.Dims, main quant.DType) format.Metadata {
	md := format.Metadata{
		"general.architecture":              format.String(a),
		"general.name":                      format.String(fmt.Sprintf("synthetic %s L%d C%d", a, d.Layers, d.Embd)),
		"general.file_type":                 format.Uint32(fileType(main)),
		arch.Key(a, arch.KeyVocabSize):      format.Uint32(uint32(d.Vocab)),
		arch.Key(a, arch.KeyContextLen):     format.Uint32(arch.ContextLength),
		arch.Key(a, arch.KeyHeadCount):      format.Uint32(0),
		arch.Key(a, arch.KeyEmbeddingLen):   format.Uint32(uint32(d.Embd)),
		arch.Key(a, arch.KeyBlockCount):     format.Uint32(uint32(d.Layers)),
		arch.Key(a, arch.KeyFeedForwardLen): format.Uint32(uint32(d.FFN)),
		arch.Key(a, arch.KeyLayerNormEps):   format.Float32(arch.LayerNormEps),
		convert.KeyTokModel:                 format.String(convert.TokModelNone),
	}
	switch a {
	case arch.RWKV5:
		md[arch.Key(a, arch.KeyHeadSize)] = format.Uint32(uint32(d.HeadSize))
		md[arch.Key(a, arch.KeyGroupNormEps)] = format.Float32(arch.GroupNormEps)
		md[arch.Key(a, arch.KeyOutputGate)] = format.Bool(true)
	case arch.RWKV6:
		md[arch.Key(a, arch.KeyHeadSize)] = format.Uint32(uint32(d.HeadSize))
		md[arch.Key(a, arch.KeyGroupNormEps)] = format.Float32(arch.GroupNormEps)
		md[arch.Key(a, arch.KeyTimeMixExtraDim)] = format.Uint32(uint32(d.MixLora))
		md[arch.Key(a, arch.KeyTimeDecayExtraDim)] = format.Uint32(uint32(d.DecayLora))
		md[arch.Key(a, arch.KeyRescaleEvery)] = format.Uint32(0)
	case arch.GPTNeoX:
		// Pythia's attention settings (docs/ARCHITECTURES.md §12).
		md[arch.Key(a, arch.KeyHeadCount)] = format.Uint32(uint32(d.Heads))
		md[arch.Key(a, arch.KeyRopeDims)] = format.Uint32(uint32(d.Embd / d.Heads / 4))
		md[arch.Key(a, arch.KeyRopeFreqBase)] = format.Float32(10000)
		md[arch.Key(a, arch.KeyParallelResidual)] = format.Bool(true)
		md[arch.Key(a, arch.KeyAttnLayerNormEps)] = format.Float32(arch.LayerNormEps)
		md[arch.Key(a, arch.KeyContextLen)] = format.Uint32(2048)
	case arch.RWKV7:
		md[arch.Key(a, arch.KeyHeadSize)] = format.Uint32(uint32(d.HeadSize))
		md[arch.Key(a, arch.KeyGroupNormEps)] = format.Float32(arch.GroupNormEps)
		md[arch.Key(a, arch.KeyDecayLoraRank)] = format.Uint32(uint32(d.DecayLora))
		md[arch.Key(a, arch.KeyICLRLoraRank)] = format.Uint32(uint32(d.ICLRLora))
		md[arch.Key(a, arch.KeyValueLoraRank)] = format.Uint32(uint32(d.ValueLora))
		md[arch.Key(a, arch.KeyGateLoraRank)] = format.Uint32(uint32(d.GateLora))
	}
	if main.BlockLen() > 1 {
		md["general.quantization_version"] = format.Uint32(2)
	}
	if fam := convert.TokenizerFamily(d.Vocab); fam != "" {
		md[convert.KeyTokenizerGuess] = format.String(fam)
	}
	return md
}

// fileType is llama.cpp's general.file_type (LLAMA_FTYPE_*) of the
// matrices' type.
func fileType(t quant.DType) uint32 {
	switch t {
	case quant.F32:
		return 0
	case quant.F16:
		return 1
	case quant.Q4_0:
		return 2
	case quant.Q4_1:
		return 3
	case quant.Q8_0:
		return 7
	case quant.Q5_0:
		return 8
	case quant.Q5_1:
		return 9
	case quant.BF16:
		return 32
	}
	return 0
}

// Write writes the model to path atomically (nothing there on error or
// cancellation) and returns its dims.
func Write(ctx context.Context, path string, o Options) (arch.Dims, error) {
	d, err := o.Dims()
	if err != nil {
		return d, err
	}
	table, err := arch.Tensors(o.Arch, d)
	if err != nil {
		return d, fmt.Errorf("synth: %w", err)
	}
	pol := convert.Policy{Target: o.Type, Embedding: convert.SwitchAuto, Head: convert.SwitchAuto}
	md := Metadata(o.Arch, d, o.Type)
	for k, v := range o.TokenizerMetadata {
		md[k] = v
	}
	ws := make([]format.WriteTensor, len(table))
	for i, t := range table {
		rowLen := t.Shape[len(t.Shape)-1]
		typ, _, err := pol.Decide(t.Role, rowLen, quant.F32)
		if err != nil {
			return d, fmt.Errorf("synth: tensor %s: %w", t.Name, err)
		}
		ws[i] = format.WriteTensor{
			TensorInfo: format.TensorInfo{Name: t.Name, DType: typ, Dims: t.GGUFDims()},
			Write:      tensorWriter(o.Arch, t, typ, o.Seed),
		}
	}
	return d, format.WriteFile(ctx, path, md, ws)
}

// tensorWriter streams one tensor's random values, row by row, from a
// generator seeded by the seed and the tensor's name (so the values do not
// depend on the tensor order or the other tensors' types).
func tensorWriter(a string, t arch.Tensor, typ quant.DType, seed uint64) func(w io.Writer) error {
	return func(w io.Writer) error {
		h := fnv.New64a()
		h.Write([]byte(t.Name))
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		rowLen := int(t.Shape[len(t.Shape)-1])
		rows := 1
		for _, s := range t.Shape[:len(t.Shape)-1] {
			rows *= int(s)
		}
		gen := valueGen(a, t, rng)
		row := make([]float32, rowLen)
		rb, err := typ.RowBytes(int64(rowLen))
		if err != nil {
			return fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		out := make([]byte, rb)
		for r := 0; r < rows; r++ {
			for i := range row {
				row[i] = gen()
			}
			switch typ {
			case quant.F32:
				for i, v := range row {
					binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
				}
			case quant.F16:
				for i, v := range row {
					binary.LittleEndian.PutUint16(out[2*i:], quant.F32ToF16(v))
				}
			case quant.BF16:
				for i, v := range row {
					binary.LittleEndian.PutUint16(out[2*i:], quant.F32ToBF16(v))
				}
			default:
				if err := quant.QuantizeRow(typ, out, row); err != nil {
					return fmt.Errorf("tensor %s: %w", t.Name, err)
				}
			}
			if _, err := w.Write(out); err != nil {
				return err
			}
		}
		return nil
	}
}

// valueGen draws values of a plausible range for the tensor: matrices
// N(0, 1/fan-in) (so activations keep their scale through the blocks),
// vectors (norm weights, token-shift mixes, decays, bonuses) uniform in
// (0, 1), except RWKV-4's stored decay −exp(time_decay), which must be
// negative. Benchmarks only need finite, non-subnormal activations of a
// realistic magnitude; the numbers mean nothing.
func valueGen(a string, t arch.Tensor, rng *rand.Rand) func() float32 {
	if t.Role == arch.Vector {
		if a == arch.RWKV4 && strings.HasSuffix(t.Name, ".time_mix_decay.weight") {
			return func() float32 { return -float32(math.Exp(rng.Float64()*4 - 3)) }
		}
		return func() float32 { return float32(0.05 + 0.9*rng.Float64()) }
	}
	scale := 1 / math.Sqrt(float64(t.Shape[len(t.Shape)-1]))
	return func() float32 { return float32(rng.NormFloat64() * scale) }
}
