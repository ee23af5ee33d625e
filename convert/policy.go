package convert

import (
	"fmt"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// DTypeChoice is the --dtype of convert.
type DTypeChoice string

const (
	DTypeF32    DTypeChoice = "f32"
	DTypeF16    DTypeChoice = "f16"
	DTypeBF16   DTypeChoice = "bf16"
	DTypeSource DTypeChoice = "source" // keep each matrix's stored type
)

// ParseDType validates a --dtype value.
func ParseDType(s string) (DTypeChoice, error) {
	switch c := DTypeChoice(s); c {
	case DTypeF32, DTypeF16, DTypeBF16, DTypeSource:
		return c, nil
	}
	return "", fmt.Errorf("--dtype %q: want f32, f16, bf16 or source", s)
}

// storageType is the one dtype policy: vectors (norms, mixes, decays) and
// RWKV-6/7 LoRA matrices are always F32 because they are small and numerically sensitive (docs/
// ARCHITECTURES.md §9); matrices follow the user's choice. With source, a
// block-quantized matrix (rwkv.cpp Q4/Q5/Q8 files) keeps its ggml blocks:
// re-encoding could only lose more; f32/f16/bf16 dequantize it.
func storageType(role arch.Role, choice DTypeChoice, src quant.DType) (quant.DType, error) {
	if role == arch.Vector || role == arch.Lora {
		return quant.F32, nil
	}
	switch choice {
	case DTypeF32:
		return quant.F32, nil
	case DTypeF16:
		return quant.F16, nil
	case DTypeBF16:
		return quant.BF16, nil
	case DTypeSource:
		switch src {
		case quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0:
			return src, nil
		}
		return 0, fmt.Errorf("source type %v cannot be kept as is", src)
	}
	return 0, fmt.Errorf("unknown dtype choice %q", choice)
}

// fileTypes maps the main matrix type to llama.cpp's general.file_type
// (enum llama_ftype: ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q4_0, …).
var fileTypes = map[quant.DType]uint32{
	quant.F32: 0, quant.F16: 1, quant.BF16: 32,
	quant.Q4_0: 2, quant.Q4_1: 3, quant.Q8_0: 7, quant.Q5_0: 8, quant.Q5_1: 9,
}

// fileType is llama.cpp's general.file_type for the main matrix type.
func fileType(main quant.DType) uint32 { return fileTypes[main] }
