package convert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/buildinfo"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// QuantizeOptions configure Quantize.
type QuantizeOptions struct {
	Type            quant.DType // the matrices' type (one of Types)
	Embedding, Head Switch      // default SwitchAuto
	// AllowRequantize accepts an input whose matrices are already block
	// quantized (decoded, then encoded again: the errors compound).
	AllowRequantize bool
	// DryRun plans and reports without writing anything.
	DryRun  bool
	Threads int
	// Progress, if set, is called before each tensor is written.
	Progress func(done, total int, name string)
}

// QuantizeReport summarises a quantization (or its plan, with DryRun).
type QuantizeReport struct {
	Input, Output string
	Arch          string
	Type          quant.DType
	Requantized   bool // the input held block-quantized matrices
	Tensors       []TensorReport
	Notes         []string
	Warnings      []string // e.g. weights too small for the stored type
	InBytes       int64    // tensor data of the input
	OutBytes      int64    // tensor data of the output
	FileBytes     int64    // the output file (0 with DryRun)
}

// Metadata keys quantize adds (provenance).
const (
	KeyQuantizedFrom        = "rwkvtools.quantize.source.file"
	KeyQuantizedFromSHA256  = "rwkvtools.quantize.source.sha256"
	KeyQuantizedRequantized = "rwkvtools.quantize.requantized"
)

// IsBlockQuantized reports the block types among a model's tensors.
func IsBlockQuantized(f *format.File) []quant.DType {
	var ts []quant.DType
	for _, t := range f.Tensors {
		if t.DType.BlockLen() > 1 && !slices.Contains(ts, t.DType) {
			ts = append(ts, t.DType)
		}
	}
	slices.Sort(ts)
	return ts
}

// Quantize re-encodes the GGUF model at in into out with the policy of
// opts: the same per-tensor encoder and the same atomic, ordered,
// parallel writer as Convert. On error or cancellation no file appears at
// out.
func Quantize(ctx context.Context, in, out string, opts QuantizeOptions) (*QuantizeReport, error) {
	if !isTypeOf(opts.Type) {
		return nil, fmt.Errorf("--type %v: want one of %s", opts.Type, TypeList())
	}
	if err := CheckOutput(in, out); err != nil {
		return nil, err
	}
	if err := checkGGUFMagic(in); err != nil {
		return nil, err
	}
	f, err := format.Open(in)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	archName, _ := f.Metadata.String("general.architecture")
	if !arch.Supported(archName) {
		return nil, fmt.Errorf("%s: architecture %q; quantize knows %s, %s, %s and %s", in, archName, arch.RWKV4, arch.RWKV5, arch.RWKV6, arch.RWKV7)
	}
	rep := &QuantizeReport{Input: in, Output: out, Arch: archName, Type: opts.Type}
	if blocks := IsBlockQuantized(f); len(blocks) > 0 {
		if !opts.AllowRequantize {
			return nil, fmt.Errorf("%s already holds %v blocks: quantizing again compounds the error; quantize its float original instead, or pass --allow-requantize", in, blocks)
		}
		rep.Requantized = true
		rep.Notes = append(rep.Notes, fmt.Sprintf("re-quantized: the input already held %v blocks, decoded and encoded again (errors compound)", blocks))
	}
	// rwkv6/rwkv7 files of rwkv-tools' earlier layout come out in
	// llama.cpp's (upgrade.go).
	srcs, inMD, upgraded, err := llamaCppSources(f, archName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	if upgraded {
		rep.Notes = append(rep.Notes, "the input is in rwkv-tools' earlier layout; the output is in llama.cpp's (fused token shift, and the keys llama.cpp requires)")
	}
	pol := Policy{Target: opts.Type, Embedding: opts.Embedding, Head: opts.Head}
	jobs := make([]tensorJob, len(srcs))
	main := quant.DType(0)
	foundMain := false
	for i, src := range srcs {
		ti := src.info
		role, ok := arch.RoleOf(archName, ti.Name)
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q is not part of %s (arch table); is the file from another tool?", in, ti.Name, archName)
		}
		to, note, err := pol.Decide(role, int64(ti.Dims[0]), ti.DType)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %w", in, ti.Name, err)
		}
		if role == arch.Projection && !foundMain {
			main, foundMain = to, true
		}
		info := format.TensorInfo{Name: ti.Name, DType: to, Dims: ti.Dims}
		size, err := info.Size()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in, err)
		}
		inSize, err := ti.Size()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in, err)
		}
		shape := make([]int64, len(ti.Dims))
		for k, d := range ti.Dims {
			shape[len(ti.Dims)-1-k] = int64(d)
		}
		rep.Tensors = append(rep.Tensors, TensorReport{Name: ti.Name, Source: ti.Name, From: ti.DType, To: to, Shape: shape, Bytes: size, Note: note})
		rep.InBytes += int64(inSize)
		rep.OutBytes += int64(size)
		name, from, n := ti.Name, ti.DType, int64(ti.NumElements())
		jobs[i] = tensorJob{info: info, encode: func(w io.Writer) error {
			var data []byte
			for _, p := range src.parts {
				_, b, err := f.Tensor(p)
				if err != nil {
					return fmt.Errorf("%s: %w", in, err)
				}
				if len(src.parts) == 1 {
					data = b
				} else {
					data = append(data, b...) // a fused tensor's (small) rows
				}
			}
			st, err := encodeTensor(w, name, data, n, from, to, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			rep.Tensors[i].Flushed = st.flushed
			for _, p := range src.parts {
				f.Release(p)
			}
			return nil
		}}
	}
	rep.Notes = append(rep.Notes, fallbackNotes(rep.Tensors)...)
	if opts.DryRun {
		return rep, nil
	}
	sum, err := fileSHA256(in)
	if err != nil {
		return nil, err
	}
	md := quantizedMetadata(inMD, main, filepath.Base(in), sum, rep)
	if err := writeModel(ctx, out, md, jobs, opts.Threads, opts.Progress); err != nil {
		return nil, err
	}
	if w := flushWarning(rep.Tensors); w != "" {
		rep.Warnings = append(rep.Warnings, w)
	}
	if st, err := os.Stat(out); err == nil {
		rep.FileBytes = st.Size()
	}
	return rep, nil
}

// quantizedMetadata is the input's metadata with the file type,
// quantization version and provenance of the new file.
func quantizedMetadata(in format.Metadata, main quant.DType, name, sum string, rep *QuantizeReport) format.Metadata {
	md := format.Metadata{}
	for k, v := range in {
		if k != format.KeyAlignment {
			md[k] = v
		}
	}
	md["general.file_type"] = format.Uint32(fileType(main))
	delete(md, "general.quantization_version")
	for _, t := range rep.Tensors {
		if t.To.BlockLen() > 1 {
			md["general.quantization_version"] = format.Uint32(2) // as Convert
			break
		}
	}
	md[KeyToolVersion] = format.String(buildinfo.Version)
	md[KeyQuantizedFrom] = format.String(name)
	md[KeyQuantizedFromSHA256] = format.String(sum)
	delete(md, KeyQuantizedRequantized)
	if rep.Requantized {
		md[KeyQuantizedRequantized] = format.Bool(true)
	}
	return md
}

// checkGGUFMagic gives a non-GGUF input a message that says what
// quantize accepts.
func checkGGUFMagic(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	var magic [4]byte
	if _, err := io.ReadFull(fh, magic[:]); err != nil || !bytes.Equal(magic[:], []byte("GGUF")) {
		return fmt.Errorf("%s is not a GGUF model file: quantize reads the .gguf files convert writes into %s; for a .pth, .safetensors or rwkv.cpp .bin use `rwkv-tools convert %s --dtype TYPE`",
			path, TypeList(), path)
	}
	return nil
}
