package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// precisionHelp is the --precision flag's text on commands that decode.
const precisionHelp = "decode precision for block-quantized weights: fast (8-bit activations and integer dots, as ggml) or exact (float32 activations); sequence mode is float32 in both"

// precisionValue is a pflag.Value over kernels.Precision.
type precisionValue struct{ p *kernels.Precision }

func (v precisionValue) String() string {
	if v.p == nil {
		return kernels.PrecisionFast.String()
	}
	return v.p.String()
}

func (v precisionValue) Set(s string) error {
	p, err := kernels.ParsePrecision(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	*v.p = p
	return nil
}

func (precisionValue) Type() string { return "fast|exact" }

// addPrecisionFlag binds --precision (default fast) to p.
func addPrecisionFlag(cmd *cobra.Command, p *kernels.Precision) {
	*p = kernels.PrecisionFast
	cmd.Flags().Var(precisionValue{p}, "precision", precisionHelp)
}

// parsePrecisions reads bench's comma-separated list ("fast,exact").
func parsePrecisions(s string) ([]kernels.Precision, error) {
	var out []kernels.Precision
	for _, part := range strings.Split(s, ",") {
		p, err := kernels.ParsePrecision(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
