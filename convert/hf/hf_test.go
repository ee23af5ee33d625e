package hf

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// tinySafetensors is a valid safetensors file with one F32 tensor "w".
func tinySafetensors() []byte {
	hdr := []byte(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`)
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	return append(b, 0, 0, 128, 63)
}

// FuzzOpen: any config.json and index bytes give a model or an error,
// never a panic; the folder holds two valid shards the index may name.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"model_type":"gpt_neox"}`), []byte(`{"weight_map":{"w":"model-00001-of-00002.safetensors"}}`))
	f.Add([]byte(`{"model_type":"rwkv","architectures":["RwkvForCausalLM"]}`), []byte(`{"weight_map":{"rwkv.ln_out.weight":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"model_type":"llama"}`), []byte(`{}`))
	f.Add([]byte(`[]`), []byte(`{"weight_map":{"w":"../x"}}`))
	f.Add([]byte(`{"model_type":null}`), []byte(`{"weight_map":{"w":"model-00003-of-00002.safetensors"}}`))
	f.Fuzz(func(t *testing.T, config, index []byte) {
		dir := t.TempDir()
		for _, name := range []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
			if err := os.WriteFile(filepath.Join(dir, name), tinySafetensors(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), config, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), index, 0o644); err != nil {
			t.Fatal(err)
		}
		m, ck, err := Open(dir)
		if err != nil {
			return
		}
		defer ck.Close()
		if m.Index == "" || len(m.Files) == 0 {
			t.Errorf("opened without an index or files: %+v", m)
		}
	})
}

func TestIsModel(t *testing.T) {
	dir := t.TempDir()
	w := filepath.Join(dir, "model.safetensors")
	os.WriteFile(w, tinySafetensors(), 0o644)
	if IsModel(w) {
		t.Error("a file without config.json beside it is a model")
	}
	if !IsModel(dir) {
		t.Error("a folder is not a model")
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"lr": 0.1}`), 0o644)
	if IsModel(w) {
		t.Error("a file beside a config.json without model_type is a model")
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"model_type": "rwkv"}`), 0o644)
	if !IsModel(w) {
		t.Error("a file with a transformers config.json beside it is not a model")
	}
}
