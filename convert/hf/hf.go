// Package hf opens a model the way the Hugging Face hub publishes it: a
// folder holding config.json beside model.safetensors or pytorch_model.bin,
// either possibly sharded with its *.index.json. One loader serves every
// model_type rwkv-tools knows (RwkvForCausalLM and GPTNeoXForCausalLM):
// it reads the config, opens and merges the shards, checks the index
// against them, and maps transformers' tensor names back to the keys of
// the architecture table (arch.FromTransformers).
package hf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert/ckpt"
	"github.com/rwkv-tools/rwkv-tools/convert/pth"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// ConfigFile is the name of a model folder's configuration.
const ConfigFile = "config.json"

// TokenizerFile is the tokenizer a model folder carries.
const TokenizerFile = "tokenizer.json"

// weightFiles are the weights of a folder, in the order transformers
// prefers them.
var weightFiles = []string{"model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin"}

// ModelTypes maps config.json's model_type to the architecture.
var ModelTypes = map[string]string{"rwkv": arch.RWKV4, "gpt_neox": arch.GPTNeoX}

// SupportedTypes lists the model types, for messages.
func SupportedTypes() string {
	var ts []string
	for t, a := range ModelTypes {
		ts = append(ts, fmt.Sprintf("%q (%s)", t, a))
	}
	slices.Sort(ts)
	return strings.Join(ts, ", ")
}

// Model describes an opened Hugging Face model.
type Model struct {
	Dir       string  // the folder
	Config    *Config // config.json
	Arch      string  // from model_type
	Index     string  // the *.index.json of a sharded model, or ""
	Files     []string
	Tokenizer string // tokenizer.json beside the weights, or ""
	// Renamed maps the architecture table's key to the file's key, for
	// the tensors whose names differ (RWKV-4).
	Renamed map[string]string
}

// IsModel reports whether path is given in the Hugging Face way: a
// folder, an *.index.json, or a weights file with a transformers
// config.json (one that names a model_type) beside it. A checkpoint beside
// some other config.json stays a plain checkpoint.
func IsModel(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if st.IsDir() || strings.HasSuffix(path, ".index.json") {
		return true
	}
	c, err := ReadConfig(filepath.Join(filepath.Dir(path), ConfigFile))
	return err == nil && c.Has("model_type")
}

// shardName matches transformers' shard files, e.g.
// pytorch_model-00001-of-00002.bin, model-00002-of-00003.safetensors.
var shardName = regexp.MustCompile(`-(\d{5})-of-(\d{5})\.(bin|safetensors)$`)

// Open opens the model at path (see IsModel). Close the checkpoint when
// done; its tensors carry the architecture table's names.
func Open(path string) (*Model, *source.Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	m := &Model{Dir: path}
	if !st.IsDir() {
		m.Dir = filepath.Dir(path)
	}
	if m.Config, err = ReadConfig(filepath.Join(m.Dir, ConfigFile)); err != nil {
		return nil, nil, err
	}
	weights := path
	if st.IsDir() {
		weights = ""
		for _, name := range weightFiles {
			if f, err := os.Stat(filepath.Join(path, name)); err == nil && f.Mode().IsRegular() {
				weights = filepath.Join(path, name)
				break
			}
		}
		if weights == "" {
			return nil, nil, fmt.Errorf("%s: no weights: a Hugging Face model folder holds one of %s%s",
				path, strings.Join(weightFiles, ", "), otherWeights(path))
		}
	}
	mt, err := m.Config.String("model_type")
	if err != nil {
		return nil, nil, err
	}
	a, ok := ModelTypes[mt]
	if !ok {
		return nil, nil, fmt.Errorf("%s: model_type %q is not supported; supported: %s", m.Config.Path, mt, SupportedTypes())
	}
	m.Arch = a
	opts := pth.Options{SkipNonFloat: func(name string) bool { return arch.Unused(a, name) }}
	var ck *source.Checkpoint
	if strings.HasSuffix(weights, ".index.json") {
		m.Index = weights
		ck, err = m.openSharded(opts)
	} else {
		if sm := shardName.FindStringSubmatch(weights); sm != nil {
			return nil, nil, fmt.Errorf("%s is shard %s of %s of a sharded checkpoint; pass the folder or its *.index.json", weights, sm[1], sm[2])
		}
		m.Files = []string{weights}
		ck, err = ckpt.OpenWith(weights, opts)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := m.rename(ck); err != nil {
		ck.Close()
		return nil, nil, err
	}
	if t := filepath.Join(m.Dir, TokenizerFile); isFile(t) {
		m.Tokenizer = t
	}
	return m, ck, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// otherWeights names weight-like files of dir, to help a user whose files
// are named differently.
func otherWeights(dir string) string {
	var names []string
	for _, pat := range []string{"*.safetensors", "*.bin", "*.pth", "*.pt"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, p := range m {
			names = append(names, filepath.Base(p))
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return fmt.Sprintf(" (it holds %s: pass that file, with config.json beside it)", strings.Join(names, ", "))
}

// index is a transformers *.index.json.
type index struct {
	WeightMap map[string]string `json:"weight_map"`
}

// openSharded reads the index, checks that it names existing shards, all
// of them, and opens and merges them.
func (m *Model) openSharded(opts pth.Options) (*source.Checkpoint, error) {
	raw, err := os.ReadFile(m.Index)
	if err != nil {
		return nil, err
	}
	var idx index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%s: not a valid index: %v", m.Index, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: the index has no weight_map entries", m.Index)
	}
	firstTensor := map[string]string{} // shard file → a tensor it should hold
	for tensor, file := range idx.WeightMap {
		if file == "" || file != filepath.Base(file) || file == "." || file == ".." {
			return nil, fmt.Errorf("%s: weight_map names %q for tensor %q; shards must be plain file names beside the index", m.Index, file, tensor)
		}
		if prev, ok := firstTensor[file]; !ok || tensor < prev {
			firstTensor[file] = tensor
		}
	}
	files := make([]string, 0, len(firstTensor))
	for f := range firstTensor {
		files = append(files, f)
	}
	slices.Sort(files)
	// Every shard K of N must be named: a weight_map that lost one is a
	// missing shard even if its file sits in the folder.
	total := ""
	named := map[int]bool{}
	for _, f := range files {
		if sm := shardName.FindStringSubmatch(f); sm != nil {
			if total != "" && sm[2] != total {
				return nil, fmt.Errorf("%s: shards of different counts (-of-%s and -of-%s)", m.Index, total, sm[2])
			}
			total = sm[2]
			k, _ := strconv.Atoi(sm[1])
			named[k] = true
		}
	}
	if total != "" {
		n, _ := strconv.Atoi(total)
		for k := 1; k <= n; k++ {
			if !named[k] {
				return nil, fmt.Errorf("%s: missing shard %d of %d: the index names no tensor in it (shards named: %s)", m.Index, k, n, strings.Join(files, ", "))
			}
		}
	}
	for _, f := range files {
		if !isFile(filepath.Join(m.Dir, f)) {
			return nil, fmt.Errorf("%s: the index names shard %s (for tensor %q and others), which does not exist in %s", m.Index, f, firstTensor[f], m.Dir)
		}
	}
	var shards []*source.Checkpoint
	format := source.Format("")
	for _, f := range files {
		p := filepath.Join(m.Dir, f)
		sh, err := ckpt.OpenWith(p, opts)
		if err != nil {
			for _, s := range shards {
				s.Close()
			}
			return nil, err
		}
		if format == "" {
			format = sh.Format
		}
		shards = append(shards, sh)
		m.Files = append(m.Files, p)
	}
	ck, err := source.Merge(m.Index, format, shards)
	if err != nil {
		return nil, err
	}
	for _, sh := range shards {
		for _, t := range sh.Tensors {
			if want, ok := idx.WeightMap[t.Name]; !ok || want != filepath.Base(sh.Path) {
				ck.Close()
				if !ok {
					return nil, fmt.Errorf("%s holds tensor %q, which the index %s does not list; the index and the shards disagree", sh.Path, t.Name, m.Index)
				}
				return nil, fmt.Errorf("%s holds tensor %q, which the index %s places in %s; the index and the shards disagree", sh.Path, t.Name, m.Index, want)
			}
		}
	}
	for tensor, file := range idx.WeightMap {
		if ck.Tensor(tensor) == nil && !slices.Contains(ck.Skipped, tensor) {
			ck.Close()
			return nil, fmt.Errorf("%s: the index places tensor %q in %s, but that shard does not hold it", m.Index, tensor, file)
		}
	}
	return ck, nil
}

// rename maps the file's tensor names to the architecture table's.
func (m *Model) rename(ck *source.Checkpoint) error {
	m.Renamed = map[string]string{}
	for _, t := range ck.Tensors {
		ours, ok := arch.FromTransformers(m.Arch, t.Name)
		if !ok {
			return fmt.Errorf("%s: tensor %q is not a tensor of transformers' %s (model_type %q in %s)",
				ck.Path, t.Name, m.className(), mustType(m.Config), m.Config.Path)
		}
		if ours != t.Name {
			m.Renamed[ours] = t.Name
			t.Name = ours
		}
	}
	return nil
}

func (m *Model) className() string {
	if a, err := m.Config.Strings("architectures"); err == nil && len(a) > 0 {
		return a[0]
	}
	return m.Arch
}

func mustType(c *Config) string {
	s, _ := c.String("model_type")
	return s
}

// Config is a parsed config.json. Accessors say which key is wrong.
type Config struct {
	Path string
	raw  map[string]json.RawMessage
}

// ReadConfig parses a config.json.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s is missing: a Hugging Face model needs its config.json beside the weights", path)
		}
		return nil, err
	}
	c := &Config{Path: path}
	if err := json.Unmarshal(b, &c.raw); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %v", path, err)
	}
	return c, nil
}

// Has reports whether key is present and not null.
func (c *Config) Has(key string) bool {
	v, ok := c.raw[key]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func (c *Config) decode(key string, dst any, what string) error {
	v, ok := c.raw[key]
	if !ok {
		return fmt.Errorf("%s: key %q is missing", c.Path, key)
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("%s: %q is %s, want %s", c.Path, key, v, what)
	}
	return nil
}

// String returns a string value.
func (c *Config) String(key string) (string, error) {
	var s string
	err := c.decode(key, &s, "a string")
	return s, err
}

// Strings returns a list of strings.
func (c *Config) Strings(key string) ([]string, error) {
	var s []string
	err := c.decode(key, &s, "a list of strings")
	return s, err
}

// Int returns an integer value.
func (c *Config) Int(key string) (int, error) {
	var f float64
	if err := c.decode(key, &f, "an integer"); err != nil {
		return 0, err
	}
	if f != float64(int(f)) || f < 0 || f > 1<<40 {
		return 0, fmt.Errorf("%s: %q is %v, want a non-negative integer", c.Path, key, f)
	}
	return int(f), nil
}

// Float returns a number.
func (c *Config) Float(key string) (float64, error) {
	var f float64
	err := c.decode(key, &f, "a number")
	return f, err
}

// Bool returns a boolean.
func (c *Config) Bool(key string) (bool, error) {
	var b bool
	err := c.decode(key, &b, "true or false")
	return b, err
}

// Sub returns a nested object (e.g. rope_parameters) as a Config.
func (c *Config) Sub(key string) (*Config, error) {
	s := &Config{Path: c.Path + ": " + key}
	if err := c.decode(key, &s.raw, "an object"); err != nil {
		return nil, err
	}
	return s, nil
}

// Keys returns the config's keys, sorted.
func (c *Config) Keys() []string {
	ks := make([]string, 0, len(c.raw))
	for k := range c.raw {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Raw returns key's JSON text, compacted to one line.
func (c *Config) Raw(key string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, c.raw[key]); err != nil {
		return string(c.raw[key])
	}
	return b.String()
}
