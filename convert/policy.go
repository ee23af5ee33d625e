package convert

import (
	"fmt"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// DTypeChoice is the --dtype of convert: one of Types (or an alias), or
// source.
type DTypeChoice string

const (
	DTypeF32    DTypeChoice = "f32"
	DTypeF16    DTypeChoice = "f16"
	DTypeBF16   DTypeChoice = "bf16"
	DTypeQ8_0   DTypeChoice = "q8_0"
	DTypeQ5_1   DTypeChoice = "q5_1"
	DTypeQ5_0   DTypeChoice = "q5_0"
	DTypeQ4_1   DTypeChoice = "q4_1"
	DTypeQ4_0   DTypeChoice = "q4_0"
	DTypeSource DTypeChoice = "source" // keep each matrix's stored type
)

// Types are the storage types convert --dtype and quantize --type accept,
// from the most to the least precise.
var Types = []quant.DType{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q5_1, quant.Q5_0, quant.Q4_1, quant.Q4_0}

// typeAliases are other spellings users know the types by.
var typeAliases = map[string]quant.DType{"int8": quant.Q8_0}

// TypeList is Types as the user spells them, for messages and help.
func TypeList() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = strings.ToLower(t.String())
	}
	return strings.Join(names, ", ") + " (int8 = q8_0)"
}

// ParseType maps a case-insensitive type name from Types (or an alias such
// as int8) to its DType.
func ParseType(s string) (quant.DType, error) {
	if t, ok := typeAliases[strings.ToLower(s)]; ok {
		return t, nil
	}
	for _, t := range Types {
		if strings.EqualFold(t.String(), s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown type %q: want one of %s", s, TypeList())
}

// ParseDType validates a --dtype value: a type of ParseType or source.
func ParseDType(s string) (DTypeChoice, error) {
	if strings.EqualFold(s, string(DTypeSource)) {
		return DTypeSource, nil
	}
	t, err := ParseType(s)
	if err != nil {
		return "", fmt.Errorf("--dtype %q: want one of %s, or source", s, TypeList())
	}
	return DTypeChoice(strings.ToLower(t.String())), nil
}

// Switch is the --embedding / --head choice: SwitchAuto, SwitchKeep or a
// type name of ParseType.
type Switch string

const (
	// SwitchAuto: follow a float target; with a block target, store a
	// 16-bit float (bf16 stays bf16, f32 becomes f16).
	SwitchAuto Switch = "auto"
	// SwitchKeep: keep the input's type (rwkv.cpp's policy).
	SwitchKeep Switch = "keep"
)

// ParseSwitch validates an --embedding / --head value.
func ParseSwitch(flag, s string) (Switch, error) {
	switch low := Switch(strings.ToLower(s)); low {
	case "", SwitchAuto:
		return SwitchAuto, nil
	case SwitchKeep:
		return SwitchKeep, nil
	}
	t, err := ParseType(s)
	if err != nil {
		return "", fmt.Errorf("--%s %q: want auto, keep or one of %s", flag, s, TypeList())
	}
	return Switch(strings.ToLower(t.String())), nil
}

// Policy decides each tensor's storage type from its role: the one
// quantization policy of convert --dtype and quantize --type.
type Policy struct {
	// Target is the matrices' type; ignored when Source is set.
	Target quant.DType
	// Source keeps every matrix's input type (convert --dtype source).
	Source bool
	// Embedding and Head override the target for token_embd and output.
	Embedding, Head Switch
}

// PolicyFor is the policy of convert --dtype choice with default switches.
func PolicyFor(choice DTypeChoice) (Policy, error) {
	if choice == DTypeSource {
		return Policy{Source: true}, nil
	}
	t, err := ParseType(string(choice))
	if err != nil {
		return Policy{}, err
	}
	return Policy{Target: t}, nil
}

// roleRule is one row of the policy table.
type roleRule struct {
	rule string // "f32", "target", or "switch" (Embedding / Head)
	why  string
}

// policyTable is the whole policy, per role (docs/ARCHITECTURES.md §9):
//
//   - Vector (1-D: norms, mixes, decays, bonuses, RWKV-6 time_state) and
//     Lora (RWKV-6/7 low-rank matrices): always f32. They are a few
//     percent of the weights, and their errors are amplified (exp of a
//     decay, tanh inside a LoRA); rwkv.cpp keeps them float as well
//     (its v6 files quantize the LoRAs; the gain is ~1 % of the size).
//   - Projection: the target type; this is where the bytes are.
//   - Embedding and Head: their own switch, default auto = a 16-bit float
//     under a block target. The embedding is a row lookup (no compute to
//     save) and the head turns the last state into logits, where
//     quantization error lands directly in every probability: rwkv.cpp
//     keeps both float; llama.cpp quantizes the head, but to a finer type
//     (Q6_K/Q8_0) than the body. 16 bits halve an f32 file's share of
//     them at no measurable cost; --head q8_0 etc. go further.
var policyTable = map[arch.Role]roleRule{
	arch.Vector:     {"f32", "1-D tensors, decays, norms, time_state: small and numerically sensitive"},
	arch.Lora:       {"f32", "RWKV-6/7 LoRA matrices: small, errors amplified by tanh/exp"},
	arch.Projection: {"target", "block matrices: where the bytes are"},
	arch.Embedding:  {"switch", "row lookup; --embedding (default auto: 16-bit float under a block type)"},
	arch.Head:       {"switch", "logits head; --head (default auto: 16-bit float under a block type)"},
}

// Decide returns the storage type of a tensor of role whose rows hold
// rowLen elements and whose input type is src, with a note when a block
// type had to fall back to a float type.
func (p Policy) Decide(role arch.Role, rowLen int64, src quant.DType) (quant.DType, string, error) {
	r, ok := policyTable[role]
	if !ok {
		return 0, "", fmt.Errorf("no policy for role %v", role)
	}
	var to quant.DType
	switch r.rule {
	case "f32":
		return quant.F32, "", nil
	case "target":
		to = p.Target
		if p.Source {
			to = src
		}
	case "switch":
		sw := p.Embedding
		if role == arch.Head {
			sw = p.Head
		}
		switch {
		case p.Source || sw == SwitchKeep:
			to = src
		case sw == "" || sw == SwitchAuto:
			to = p.Target
			if to.BlockLen() > 1 {
				to = floatFallback(src)
			}
		default:
			t, err := ParseType(string(sw))
			if err != nil {
				return 0, "", err
			}
			to = t
		}
	}
	if !isTypeOf(to) {
		return 0, "", fmt.Errorf("%v cannot be stored as is (want one of %s)", to, TypeList())
	}
	if bl := int64(to.BlockLen()); bl > 1 && rowLen%bl != 0 {
		fb := floatFallback(src)
		return fb, fmt.Sprintf("rows of %d elements are not a multiple of the %v block (%d): stored as %v", rowLen, to, bl, fb), nil
	}
	return to, "", nil
}

func isTypeOf(t quant.DType) bool {
	for _, x := range Types {
		if x == t {
			return true
		}
	}
	return false
}

// floatFallback is the float type nearest the block types for an input of
// type src: f16 (the block types' own scales are f16), but bf16 for a
// bf16 input, whose range f16 cannot hold.
func floatFallback(src quant.DType) quant.DType {
	if src == quant.BF16 {
		return quant.BF16
	}
	return quant.F16
}

// fileTypes maps the main matrix type to llama.cpp's general.file_type
// (enum llama_ftype: ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q4_0, …).
var fileTypes = map[quant.DType]uint32{
	quant.F32: 0, quant.F16: 1, quant.BF16: 32,
	quant.Q4_0: 2, quant.Q4_1: 3, quant.Q8_0: 7, quant.Q5_0: 8, quant.Q5_1: 9,
}

// fileType is llama.cpp's general.file_type for the main matrix type.
func fileType(main quant.DType) uint32 { return fileTypes[main] }
