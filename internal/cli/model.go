package cli

import (
	"bytes"
	"context"
	"fmt"
	goio "io"
	"os"
	"strconv"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/convert/ckpt"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// openModel maps a GGUF model file and builds its engine, for commands
// that feed sequences only (their results do not depend on the decode
// precision). Close the file when done with the model.
func openModel(path string, threads int) (engine.Model, *format.File, error) {
	return openModelPrecision(path, threads, kernels.PrecisionExact)
}

// openModelPrecision is openModel with the decode (Step) precision.
func openModelPrecision(path string, threads int, prec kernels.Precision) (engine.Model, *format.File, error) {
	if err := checkModelFile(path); err != nil {
		return nil, nil, err
	}
	f, err := format.Open(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := engine.Load(f, engine.Options{Threads: threads, Precision: prec})
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, f, nil
}

// parseTokens reads "1,2,3" (spaces may separate ids too, "1 2 3"); an
// empty entry ("1,,2", a trailing comma) is an error, not skipped.
func parseTokens(s string) ([]int, error) {
	var out []int
	for i, field := range strings.Split(s, ",") {
		parts := strings.Fields(field)
		if len(parts) == 0 {
			if strings.TrimSpace(s) == "" {
				break
			}
			return nil, fmt.Errorf("--tokens: entry %d is empty (in %s); give ids like 1,2,3", i+1, quoteTrunc(s, 40))
		}
		for _, part := range parts {
			v, err := strconv.Atoi(part)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("--tokens: %s is not a token id (a whole number >= 0)", quoteTrunc(part, 40))
			}
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--tokens: no token ids given")
	}
	return out, nil
}

func loadState(path string, st *engine.State) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := engine.ReadStateInto(f, st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func saveState(ctx context.Context, io *IO, path string, st *engine.State) error {
	return writeOutput(ctx, io, path, func(w goio.Writer) error {
		_, err := st.WriteTo(w)
		return err
	})
}

// checkModelFile explains, before the GGUF reader does, the usual wrong
// files given as a model: a directory, a checkpoint that needs converting,
// a saved state.
func checkModelFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory; give a GGUF model file (made by rwkv-tools convert)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := goio.ReadFull(f, head)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("GGUF")) {
		return nil
	}
	if bytes.HasPrefix(head, []byte(engine.StateMagic)) {
		return fmt.Errorf("%s is a saved state (--state-out), not a model; pass it with --state-in", path)
	}
	if kind, ok := ckpt.Detect(head); ok {
		return fmt.Errorf("%s is a %s checkpoint, not a GGUF model file; convert it first: rwkv-tools convert %s -o MODEL.gguf", path, kind, path)
	}
	return nil // let the GGUF reader say what is wrong
}
