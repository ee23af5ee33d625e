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

// storageType is the one dtype policy: vectors (norms, mixes, decays) are
// always F32 because they are small and numerically sensitive (docs/
// ARCHITECTURES.md §9); matrices follow the user's choice.
func storageType(role arch.Role, choice DTypeChoice, src quant.DType) (quant.DType, error) {
	if role == arch.Vector {
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
		case quant.F32, quant.F16, quant.BF16:
			return src, nil
		}
		return 0, fmt.Errorf("source type %v cannot be kept as is", src)
	}
	return 0, fmt.Errorf("unknown dtype choice %q", choice)
}

// fileType is llama.cpp's general.file_type for the main matrix type.
func fileType(main quant.DType) uint32 {
	switch main {
	case quant.F32:
		return 0 // ALL_F32
	case quant.F16:
		return 1 // MOSTLY_F16
	case quant.BF16:
		return 32 // MOSTLY_BF16
	}
	return 0
}
