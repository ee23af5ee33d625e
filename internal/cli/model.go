package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/atomicfile"
)

// openModel maps a GGUF model file and builds its engine. Close the file
// when done with the model.
func openModel(path string, threads int) (engine.Model, *format.File, error) {
	f, err := format.Open(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := engine.Load(f, engine.Options{Threads: threads})
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, f, nil
}

// parseTokens reads "1,2,3" (spaces allowed).
func parseTokens(s string) ([]int, error) {
	var out []int
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("--tokens: %q is not an integer token id", part)
		}
		out = append(out, v)
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

func saveState(path string, st *engine.State) error {
	return atomicfile.Write(path, func(f *os.File) error {
		_, err := st.WriteTo(f)
		return err
	})
}
