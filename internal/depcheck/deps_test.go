// Package depcheck enforces the import rules of rwkv-tools: packages import
// downward only. The table is policy (after go/build's deps_test.go): change
// it when the design changes, not to make a build pass.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

const module = "github.com/rwkv-tools/rwkv-tools"

// allowed lists, for every package of the module, the module packages and
// third-party modules it may import (non-test imports). "std" is implied.
var allowed = map[string][]string{
	"quant":                   {},
	"arch":                    {},
	"arch/llamacpp":           {"format"},
	"kernels":                 {"quant", "golang.org/x/sys/cpu"},
	"tokenizer":               {"golang.org/x/text"},
	"internal/mmap":           {"golang.org/x/sys/unix"},
	"internal/buildinfo":      {},
	"internal/rusage":         {},
	"internal/atomicfile":     {},
	"internal/testutil":       {},
	"internal/testutil/craft": {"arch", "format", "quant"},
	"internal/demo":           {},
	"internal/depcheck":       {},
	"internal/table":          {"github.com/olekukonko/tablewriter"},
	"internal/quality":        {},
	"internal/synth":          {"arch", "convert", "format", "quant"},
	"internal/pyrandom":       {},
	"eval/task":               {"internal/pyrandom"},
	"eval":                    {"eval/task", "internal/atomicfile", "internal/pyrandom", "golang.org/x/sync"},
	"eval/results":            {},
	"format":                  {"quant", "internal/mmap", "internal/atomicfile"},
	"convert/source":          {"quant", "internal/mmap"},
	"convert/pth":             {"convert/source", "quant", "internal/mmap"},
	"convert/safetensors":     {"convert/source", "quant", "internal/mmap"},
	"convert/rwkvcpp":         {"convert/source", "quant", "internal/mmap"},
	"convert/ckpt":            {"convert/source", "convert/pth", "convert/safetensors", "convert/rwkvcpp"},
	"convert/hf":              {"arch", "convert/source", "convert/ckpt", "convert/pth"},
	"convert":                 {"arch", "convert/source", "convert/ckpt", "convert/hf", "format", "quant", "internal/buildinfo", "tokenizer", "golang.org/x/sync/errgroup"},
	"engine":                  {"arch", "format", "kernels", "quant"},
	"internal/cli":            {"*"},
	"cmd/rwkv-tools":          {"internal/cli"},
	"benchmarks":              {"*"},
}

func TestImportRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...")
	cmd.Dir = testutil.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		rules, ok := allowed[rel]
		if !ok {
			t.Errorf("package %s is not in the import-rule table; add it with the packages it may import", rel)
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				continue // standard library
			}
			target := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if !permitted(rules, target) {
				t.Errorf("%s imports %s, which the import rules do not allow (allowed: %v)", rel, target, rules)
			}
		}
	}
}

func permitted(rules []string, target string) bool {
	for _, r := range rules {
		if r == "*" || target == r || strings.HasPrefix(target, r+"/") {
			return true
		}
	}
	return false
}
