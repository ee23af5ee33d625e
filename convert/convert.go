// Package convert turns a checkpoint (.pth, .safetensors, rwkv.cpp .bin)
// into the native GGUF file: detect the architecture from the keys, read
// the dims from the shapes, map every tensor through the arch table, apply
// the documented transforms and the dtype policy, and stream the result
// tensor by tensor (docs/FORMAT.md).
package convert

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert/hf"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/buildinfo"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Options configure a conversion; the zero value converts with --dtype source.
type Options struct {
	DType DTypeChoice
	// Embedding and Head are the --embedding / --head switches of the
	// policy (default SwitchAuto).
	Embedding, Head Switch
	// Threads bounds the tensors encoded at once (≤ 1: one, streamed).
	Threads int
	// Tokenizer is a tokenizer file (tokenizer.json or an RWKV World
	// vocabulary) to store in the model. Empty: look beside the checkpoint
	// for the file of the model's tokenizer family, and convert without one
	// (with a note saying which file to supply) when there is none.
	Tokenizer string
	// NoTokenizer skips storing (and looking for) a tokenizer.
	NoTokenizer bool
	// Progress, if set, is called before each tensor is written.
	Progress func(done, total int, name string)
	// AllowLargeOutput lifts the output-size cap (MaxOutputRatio).
	AllowLargeOutput bool
}

// MaxOutputRatio caps the tensor data written at this multiple of the
// checkpoint's size (plus 64 MiB) unless Options.AllowLargeOutput is set.
// The largest honest growth is a Q4 rwkv.cpp file dequantized to f32
// (32/4.5 ≈ 7.1×); a checkpoint whose tensors all view one storage can
// claim far more (a 9 MB .pth made 6.7 GB).
const MaxOutputRatio = 8

// TensorReport says what happened to one tensor.
type TensorReport struct {
	Name    string // GGUF name
	Source  string // checkpoint key
	From    quant.DType
	To      quant.DType
	Shape   []int64 // PyTorch order
	Bytes   uint64
	Derived string // transform applied, if any
	Flushed int64  // nonzero values too small for To, stored as zero
	Note    string // why the policy deviated from the target, if it did
}

// Report summarises a conversion.
type Report struct {
	Input     string
	Output    string
	Format    source.Format
	Detection Detection
	SHA256    string
	Tensors   []TensorReport
	Warnings  []string
	Notes     []string // informational: e.g. which tokenizer file to supply
	Tokenizer string   // the tokenizer file stored, if any
	OutBytes  int64
}

// Key names of the provenance metadata rwkv-tools writes.
const (
	KeyToolVersion    = "rwkvtools.version"
	KeySourceFile     = "rwkvtools.source.file"
	KeySourceSHA256   = "rwkvtools.source.sha256"
	KeySourceFormat   = "rwkvtools.source.format"
	KeySourceVariant  = "rwkvtools.source.variant"
	KeyTransforms     = "rwkvtools.transforms"
	KeyTokenizerGuess = "rwkvtools.tokenizer.family"
)

// Convert reads the checkpoint at in and writes the GGUF file at out
// atomically. On error no file appears at out.
func Convert(ctx context.Context, in, out string, opts Options) (*Report, error) {
	if opts.DType == "" {
		opts.DType = DTypeSource
	}
	choice, err := ParseDType(string(opts.DType))
	if err != nil {
		return nil, err
	}
	pol, err := PolicyFor(choice)
	if err != nil {
		return nil, err
	}
	pol.Embedding, pol.Head = opts.Embedding, opts.Head
	input, err := OpenInput(in)
	if err != nil {
		return nil, err
	}
	defer input.Close()
	ck := input.Ckpt
	for _, f := range input.Files() {
		if err := CheckOutput(f, out); err != nil {
			return nil, err
		}
	}
	det, err := input.Detect()
	if err != nil {
		return nil, err
	}
	sum, err := input.sha256()
	if err != nil {
		return nil, err
	}
	rep := &Report{Input: in, Output: out, Format: ck.Format, Detection: det, SHA256: sum}
	plan, err := planTensors(ck, det, pol, rep)
	if err != nil {
		return nil, err
	}
	md := metadata(det, ck, filepath.Base(filepath.Clean(in)), sum, plan)
	if input.HF != nil {
		// The model's name is its folder's ("pythia-1.4b"), whatever file
		// of it was given; no extension to trim.
		md["general.name"] = format.String(filepath.Base(filepath.Clean(input.HF.Dir)))
	}
	if !opts.NoTokenizer {
		tokPath, note := opts.Tokenizer, ""
		if tokPath == "" && input.HF != nil && input.HF.Tokenizer != "" {
			tokPath = input.HF.Tokenizer
		}
		if tokPath == "" {
			beside := in
			if input.HF != nil {
				beside = filepath.Join(input.HF.Dir, hf.ConfigFile)
			}
			tokPath, note = findTokenizer(beside, det.Dims.Vocab)
		}
		if note != "" {
			rep.Notes = append(rep.Notes, note)
		}
		if tokPath != "" {
			tmd, _, err := tokenizerMetadata(tokPath, det.Dims.Vocab)
			if err != nil {
				return nil, err
			}
			for k, v := range tmd {
				md[k] = v
			}
			delete(md, KeyTokenizerGuess) // the real thing is stored
			rep.Tokenizer = tokPath
		} else if TokenizerFamily(det.Dims.Vocab) == FamilyBytes {
			for k, v := range bytesTokenizerMetadata() {
				md[k] = v
			}
			delete(md, KeyTokenizerGuess)
			rep.Tokenizer = "byte-level (token id = byte value)"
		}
	}
	jobs := make([]tensorJob, len(plan))
	for i, p := range plan {
		jobs[i] = tensorJob{
			info: format.TensorInfo{Name: p.spec.Name, DType: p.to, Dims: p.spec.GGUFDims()},
			encode: func(w io.Writer) error {
				data, n, dt := []byte(nil), p.src.NumElements(), p.src.DType
				if p.build != nil {
					vals, err := p.build()
					if err != nil {
						return fmt.Errorf("%s: %w", in, err)
					}
					data, n, dt = f32Bytes(vals), int64(len(vals)), quant.F32
				} else {
					var err error
					if data, err = p.src.Bytes(); err != nil {
						return fmt.Errorf("%s: %w", in, err)
					}
				}
				st, err := encodeTensor(w, p.spec.Name, data, n, dt, p.to, p.transform)
				if err != nil {
					return fmt.Errorf("%s: %w", in, err)
				}
				rep.Tensors[i].Flushed = st.flushed
				ck.Release(p.src)
				return nil
			},
		}
		size, err := jobs[i].info.Size()
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", p.spec.Name, err)
		}
		rep.Tensors = append(rep.Tensors, TensorReport{Name: p.spec.Name, Source: p.src.Name, From: p.src.DType, To: p.to,
			Shape: p.spec.Shape, Bytes: size, Derived: p.derived, Note: p.note})
	}
	rep.Notes = append(rep.Notes, fallbackNotes(rep.Tensors)...)
	if w := requantizeWarning(rep.Tensors); w != "" {
		rep.Warnings = append(rep.Warnings, w)
	}
	if err := checkOutputSize(in, rep.Tensors, opts.AllowLargeOutput); err != nil {
		return nil, err
	}
	if err := writeModel(ctx, out, md, jobs, opts.Threads, opts.Progress); err != nil {
		return nil, err
	}
	if w := flushWarning(rep.Tensors); w != "" {
		rep.Warnings = append(rep.Warnings, w)
	}
	if st, err := os.Stat(out); err == nil {
		rep.OutBytes = st.Size()
	}
	return rep, nil
}

// fallbackNotes says which tensors the policy stored in a float type
// because their rows do not fill whole blocks: one line per reason.
func fallbackNotes(ts []TensorReport) []string {
	byNote := map[string][]string{}
	var order []string
	for _, t := range ts {
		if t.Note == "" {
			continue
		}
		if byNote[t.Note] == nil {
			order = append(order, t.Note)
		}
		byNote[t.Note] = append(byNote[t.Note], t.Name)
	}
	var notes []string
	for _, n := range order {
		names := byNote[n]
		list := strings.Join(names[:min(3, len(names))], ", ")
		if len(names) > 3 {
			list += fmt.Sprintf(" and %d more", len(names)-3)
		}
		notes = append(notes, fmt.Sprintf("%d tensors (%s): %s", len(names), list, n))
	}
	return notes
}

// requantizeWarning says when block-quantized checkpoint matrices (an
// rwkv.cpp Q file) were decoded and encoded into another block type.
func requantizeWarning(ts []TensorReport) string {
	n, pair := 0, ""
	for _, t := range ts {
		if t.From.BlockLen() > 1 && t.To.BlockLen() > 1 && t.From != t.To {
			n++
			pair = t.From.String() + " to " + t.To.String()
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d matrices re-quantized (e.g. %s): the errors of both quantizations compound; convert the float checkpoint instead, or use --dtype source", n, pair)
}

// flushWarning summarises values lost to underflow in one line.
func flushWarning(ts []TensorReport) string {
	var total int64
	var names []string
	for _, t := range ts {
		if t.Flushed > 0 {
			total += t.Flushed
			names = append(names, fmt.Sprintf("%s (%d)", t.Name, t.Flushed))
		}
	}
	if total == 0 {
		return ""
	}
	affected := len(names)
	if affected > 4 {
		names = append(names[:4], fmt.Sprintf("and %d more", affected-4))
	}
	return fmt.Sprintf("%d nonzero weights in %d tensors are smaller than the stored type's smallest value and became zero: %s",
		total, affected, strings.Join(names, ", "))
}

// plannedTensor is one output tensor with its source and conversion.
type plannedTensor struct {
	spec      arch.Tensor
	src       *source.Tensor
	to        quant.DType
	transform func(float32) float32
	derived   string
	note      string // the policy's fallback note, if any
	// build, when set, produces the values (in spec order) instead of
	// streaming src: the small-tensor path for splits and transposes. src
	// is then the checkpoint tensor the values come from.
	build func() ([]float32, error)
}

// planTensors matches every checkpoint tensor to the arch table: unknown
// keys, missing tensors and contradicting shapes are errors.
func planTensors(ck *source.Checkpoint, det Detection, pol Policy, rep *Report) ([]plannedTensor, error) {
	table, err := arch.Tensors(det.Arch, det.Dims)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, t := range ck.Tensors {
		if seen[t.Name] {
			return nil, fmt.Errorf("%s: tensor %q appears twice", ck.Path, t.Name)
		}
		seen[t.Name] = true
	}
	used := map[string]bool{}
	var plan []plannedTensor
	for _, spec := range table {
		p, err := resolve(ck, det, spec)
		if err != nil {
			return nil, err
		}
		used[p.src.Name] = true
		for _, part := range spec.Parts {
			used[part.Source] = true
		}
		to, note, err := pol.Decide(spec.Role, spec.Shape[len(spec.Shape)-1], p.src.DType)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", p.src.Name, err)
		}
		p.to, p.note = to, note
		if p.build == nil {
			p.transform, p.derived = transformFor(det.Arch, ck.Format, spec)
		}
		plan = append(plan, p)
	}
	var dropped []string
	for _, t := range ck.Tensors {
		if !used[t.Name] && arch.Unused(det.Arch, t.Name) {
			dropped = append(dropped, t.Name)
			continue
		}
		if !used[t.Name] {
			return nil, fmt.Errorf("%s: unexpected tensor %q (shape %v) for %s L%d; not part of the released architecture",
				ck.Path, t.Name, t.Shape, det.Variant, det.Dims.Layers)
		}
	}
	// Non-float buffers the reader left out (pth.Options.SkipNonFloat).
	dropped = append(dropped, ck.Skipped...)
	if len(dropped) > 0 {
		slices.Sort(dropped)
		rep.Notes = append(rep.Notes, fmt.Sprintf("dropped %s: present in the checkpoint but never read by the model", strings.Join(dropped, ", ")))
	}
	return plan, nil
}

// resolve finds the checkpoint tensor(s) behind one output tensor and how
// to get its values: streamed as stored, or built (RWKV-7: rwkv.cpp's
// fused att.x_rwkvag split into its six rows; BlinkDL's [in][out] LoRAs
// transposed to [out][in]).
func resolve(ck *source.Checkpoint, det Detection, spec arch.Tensor) (plannedTensor, error) {
	if p, ok, err := resolveLayout(ck, det, spec); ok {
		return p, err
	}
	return resolveStored(ck, det, spec)
}

// resolveStored resolves a tensor stored under its own checkpoint key.
func resolveStored(ck *source.Checkpoint, det Detection, spec arch.Tensor) (plannedTensor, error) {
	switch det.Arch {
	case arch.RWKV5:
		if p, ok, err := resolveV5(ck, det, spec); ok {
			return p, err
		}
	case arch.RWKV6:
		if p, ok, err := resolveV6(ck, det, spec); ok {
			return p, err
		}
	case arch.GPTNeoX:
		if p, ok, err := resolveNeoX(ck, det, spec); ok {
			return p, err
		}
	}
	p := plannedTensor{spec: spec}
	src := ck.Tensor(spec.Source)
	if det.Arch == arch.RWKV7 && src == nil {
		if prefix, x, ok := strings.Cut(spec.Source, ".att.x_"); ok && len(x) == 1 {
			if fused := ck.Tensor(prefix + ".att.x_rwkvag"); fused != nil {
				C := int64(det.Dims.Embd)
				if !slices.Equal(squeeze(fused.Shape), []int64{6, C}) {
					return p, fmt.Errorf("%s: tensor %s has shape %v, want (6, 1, %d) (x_r, x_w, x_k, x_v, x_a, x_g)", ck.Path, fused.Name, fused.Shape, C)
				}
				row := int64(strings.Index("rwkvag", x))
				p.src, p.derived = fused, fmt.Sprintf("%s[%d] (rwkv.cpp fused x_r,x_w,x_k,x_v,x_a,x_g)", fused.Name, row)
				p.build = func() ([]float32, error) {
					v, err := readF32(fused)
					if err != nil {
						return nil, err
					}
					return v[row*C : (row+1)*C], nil
				}
				return p, nil
			}
		}
	}
	if src == nil {
		return p, fmt.Errorf("%s: required tensor %s is missing (%s with %d layers)", ck.Path, spec.Source, det.Variant, det.Dims.Layers)
	}
	p.src = src
	want := spec.Shape
	transpose := spec.Role == arch.Lora && ck.Format != source.RWKVCpp
	if transpose {
		// [in][out] to [out][in]: swap the last two dims (RWKV-6's
		// time_maa_w2 (5, Dm, C) holds five slices).
		want = slices.Clone(spec.Shape)
		n := len(want)
		want[n-2], want[n-1] = want[n-1], want[n-2]
	}
	if !shapeMatches(src.Shape, want, spec.Role) {
		d := det.Dims
		return p, fmt.Errorf("%s: tensor %s has shape %v, but the other tensors imply %v (vocab %d, n_embd %d, ffn %d%s)",
			ck.Path, src.Name, src.Shape, want, d.Vocab, d.Embd, d.FFN, v7DimsText(det))
	}
	if transpose {
		n := len(want)
		rows, cols := int(want[n-2]), int(want[n-1])
		p.derived = "transpose(" + src.Name + ") ([in][out] to [out][in])"
		p.build = func() ([]float32, error) {
			v, err := readF32(src)
			if err != nil {
				return nil, err
			}
			out := make([]float32, len(v))
			for b := 0; b < len(v); b += rows * cols {
				in, o := v[b:b+rows*cols], out[b:b+rows*cols]
				for i := 0; i < rows; i++ {
					for j := 0; j < cols; j++ {
						o[j*rows+i] = in[i*cols+j]
					}
				}
			}
			return out, nil
		}
	}
	return p, nil
}

func v7DimsText(det Detection) string {
	d := det.Dims
	switch det.Arch {
	case arch.RWKV5:
		return fmt.Sprintf(", head size %d", d.HeadSize)
	case arch.RWKV6:
		return fmt.Sprintf(", head size %d, LoRA ranks maa %d decay %d", d.HeadSize, d.MixLora, d.DecayLora)
	}
	if det.Arch != arch.RWKV7 {
		return ""
	}
	return fmt.Sprintf(", head size %d, LoRA ranks w %d a %d v %d g %d", d.HeadSize, d.DecayLora, d.ICLRLora, d.ValueLora, d.GateLora)
}

// readF32 returns a (small) source tensor's values as float32.
func readF32(t *source.Tensor) ([]float32, error) {
	raw, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	v := make([]float32, t.NumElements())
	if err := quant.DequantizeRow(t.DType, v, raw); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	return v, nil
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func shapeMatches(got, want []int64, role arch.Role) bool {
	if role == arch.Vector {
		return slices.Equal(squeeze(got), squeeze(want))
	}
	return slices.Equal(got, want)
}

// transformFor returns the value transform applied at conversion, with its
// description for the report and docs/FORMAT.md.
func transformFor(archName string, f source.Format, spec arch.Tensor) (func(float32) float32, string) {
	if archName == arch.RWKV4 && strings.HasSuffix(spec.Name, ".time_mix_decay.weight") {
		if f == source.RWKVCpp {
			return nil, "" // rwkv.cpp's converter already stored −exp(time_decay)
		}
		return negExp, "-exp(time_decay)"
	}
	return nil, ""
}

// negExp is RWKV-4's decay: w = −exp(time_decay), computed in float64 and
// rounded once to float32.
func negExp(x float32) float32 { return float32(-math.Exp(float64(x))) }

func metadata(det Detection, ck *source.Checkpoint, name, sum string, plan []plannedTensor) format.Metadata {
	a := det.Arch
	main := quant.F32
	for _, p := range plan {
		if p.spec.Role == arch.Projection {
			main = p.to
			break
		}
	}
	md := format.Metadata{
		"general.architecture":              format.String(a),
		"general.name":                      format.String(strings.TrimSuffix(name, filepath.Ext(name))),
		"general.file_type":                 format.Uint32(fileType(main)),
		arch.Key(a, arch.KeyVocabSize):      format.Uint32(uint32(det.Dims.Vocab)),
		arch.Key(a, arch.KeyContextLen):     format.Uint32(arch.ContextLength),
		arch.Key(a, arch.KeyHeadCount):      format.Uint32(0),
		arch.Key(a, arch.KeyEmbeddingLen):   format.Uint32(uint32(det.Dims.Embd)),
		arch.Key(a, arch.KeyBlockCount):     format.Uint32(uint32(det.Dims.Layers)),
		arch.Key(a, arch.KeyFeedForwardLen): format.Uint32(uint32(det.Dims.FFN)),
		KeyToolVersion:                      format.String(buildinfo.Version),
		KeySourceFile:                       format.String(name),
		KeySourceSHA256:                     format.String(sum),
		KeySourceFormat:                     format.String(string(ck.Format)),
		KeySourceVariant:                    format.String(det.Variant),
	}
	if a == arch.GPTNeoX {
		d := det.Dims
		md[arch.Key(a, arch.KeyAttnLayerNormEps)] = format.Float32(float32(det.LayerNormEps))
		md[arch.Key(a, arch.KeyHeadCount)] = format.Uint32(uint32(d.Heads))
		md[arch.Key(a, arch.KeyRopeDims)] = format.Uint32(uint32(det.RopeDims))
		md[arch.Key(a, arch.KeyRopeFreqBase)] = format.Float32(float32(det.RopeBase))
		md[arch.Key(a, arch.KeyParallelResidual)] = format.Bool(det.ParallelResidual)
		if det.ContextLen > 0 {
			md[arch.Key(a, arch.KeyContextLen)] = format.Uint32(uint32(det.ContextLen))
		}
	} else {
		md[arch.Key(a, arch.KeyLayerNormEps)] = format.Float32(arch.LayerNormEps)
	}
	if a == arch.RWKV7 {
		d := det.Dims
		md[arch.Key(a, arch.KeyHeadSize)] = format.Uint32(uint32(d.HeadSize))
		md[arch.Key(a, arch.KeyGroupNormEps)] = format.Float32(arch.GroupNormEps)
		md[arch.Key(a, arch.KeyDecayLoraRank)] = format.Uint32(uint32(d.DecayLora))
		md[arch.Key(a, arch.KeyICLRLoraRank)] = format.Uint32(uint32(d.ICLRLora))
		md[arch.Key(a, arch.KeyValueLoraRank)] = format.Uint32(uint32(d.ValueLora))
		md[arch.Key(a, arch.KeyGateLoraRank)] = format.Uint32(uint32(d.GateLora))
	}
	if a == arch.RWKV5 {
		d := det.Dims
		md[arch.Key(a, arch.KeyHeadSize)] = format.Uint32(uint32(d.HeadSize))
		md[arch.Key(a, arch.KeyGroupNormEps)] = format.Float32(groupNormEps(det, ck.Format))
		md[arch.Key(a, arch.KeyOutputGate)] = format.Bool(!d.NoGate)
	}
	if a == arch.RWKV6 {
		d := det.Dims
		md[arch.Key(a, arch.KeyHeadSize)] = format.Uint32(uint32(d.HeadSize))
		md[arch.Key(a, arch.KeyGroupNormEps)] = format.Float32(groupNormEps(det, ck.Format))
		md[arch.Key(a, arch.KeyTimeMixExtraDim)] = format.Uint32(uint32(d.MixLora))
		md[arch.Key(a, arch.KeyTimeDecayExtraDim)] = format.Uint32(uint32(d.DecayLora))
		md[arch.Key(a, arch.KeyRescaleEvery)] = format.Uint32(0)
	}
	for _, p := range plan {
		if p.to.BlockLen() > 1 {
			// ggml's current block layouts (QK 32; rwkv.cpp file version 101).
			md["general.quantization_version"] = format.Uint32(2)
			break
		}
	}
	var transforms []string
	for _, p := range plan {
		if p.derived != "" {
			transforms = append(transforms, p.spec.Name+" = "+p.derived)
		}
	}
	if len(transforms) > 0 {
		md[KeyTransforms] = format.Strings(transforms)
	}
	if fam := TokenizerFamily(det.Dims.Vocab); fam != "" {
		md[KeyTokenizerGuess] = format.String(fam)
	}
	// llama.cpp requires tokenizer.ggml.model; "none" (no vocabulary; the
	// size is <arch>.vocab_size) until a tokenizer is stored over it.
	md[KeyTokModel] = format.String(TokModelNone)
	return md
}

// TokenizerFamily guesses the tokenizer from the vocabulary size: the only
// two vocabularies released RWKV models use.
func TokenizerFamily(vocab int) string {
	switch vocab {
	case 50277, 50304:
		return "gpt-neox-20b"
	case 65536:
		return "rwkv-world"
	case 256:
		return FamilyBytes
	}
	return ""
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CheckOutput refuses "-" (stdout) and an output path that is the input
// file: the same path, a symlink to it or a hard link of it (os.SameFile compares the
// device and inode after following links).
func CheckOutput(in, out string) error {
	if out == "-" {
		return fmt.Errorf("output -: a model file cannot go to stdout (it is written atomically, then renamed); give a file name")
	}
	si, err1 := os.Stat(in)
	so, err2 := os.Stat(out)
	if err1 == nil && err2 == nil && os.SameFile(si, so) {
		return fmt.Errorf("output %s is the input file %s; choose another -o", out, in)
	}
	return nil
}

// checkOutputSize refuses a conversion whose output would dwarf its input
// (tensors aliasing one storage) before anything is written.
func checkOutputSize(in string, ts []TensorReport, allow bool) error {
	if allow {
		return nil
	}
	size, err := inputSize(in)
	if err != nil {
		return nil // the readers have read it; nothing to compare against
	}
	var total uint64
	for _, t := range ts {
		total += t.Bytes
	}
	limit := uint64(size)*MaxOutputRatio + 64<<20
	if total <= limit {
		return nil
	}
	return fmt.Errorf("%s: the output would hold %.1f MiB of tensors from a %.1f MiB checkpoint (more than %d× plus 64 MiB): its tensors view the same storage bytes many times over, which real checkpoints do not; if this is intended, pass --allow-large-output",
		in, float64(total)/(1<<20), float64(size)/(1<<20), MaxOutputRatio)
}

// inputSize is the size of a checkpoint file, or of all files in a
// checkpoint folder (shards).
func inputSize(in string) (int64, error) {
	st, err := os.Stat(in)
	if err != nil {
		return 0, err
	}
	if !st.IsDir() {
		return st.Size(), nil
	}
	var total int64
	err = filepath.WalkDir(in, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total, err
}
