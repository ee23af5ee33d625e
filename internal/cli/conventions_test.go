package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// tinyModel converts the RWKV-4 test checkpoint into dir.
func tinyModel(t *testing.T, dir string) string {
	t.Helper()
	model := filepath.Join(dir, "m.gguf")
	if _, e, code := run(t, "convert", testutil.Testdata("pth", "rwkv4-bf16.pth"), "-o", model, "-q"); code != 0 {
		t.Fatal(e)
	}
	return model
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// TestOutputGuard is the table of daily-use point 1 and 4 defects: every
// command that writes refuses to overwrite its input (also via symlinks
// and hard links), colliding outputs, directories and missing parents,
// before doing any work, and leaves no file behind.
func TestOutputGuard(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	ckpt := filepath.Join(dir, "ck.pth")
	b, _ := os.ReadFile(testutil.Testdata("pth", "rwkv4-bf16.pth"))
	os.WriteFile(ckpt, b, 0o644)
	link := filepath.Join(dir, "link.gguf")
	os.Symlink(model, link)
	hard := filepath.Join(dir, "hard.gguf")
	os.Link(model, hard)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	state := filepath.Join(dir, "s.bin")
	if _, e, code := run(t, "logits", model, "--tokens", "1", "--state-out", state); code != 0 {
		t.Fatal(e)
	}
	missing := filepath.Join(dir, "nodir", "x.f32")
	modelBytes, _ := os.ReadFile(model)

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"logits -o MODEL", []string{"logits", model, "--tokens", "1", "-o", model}, "is the input file"},
		{"logits --state-out MODEL", []string{"logits", model, "--tokens", "1", "--state-out", model}, "is the input file"},
		{"logits -o symlink to MODEL", []string{"logits", model, "--tokens", "1", "-o", link}, "is the input file"},
		{"logits -o hard link to MODEL", []string{"logits", model, "--tokens", "1", "-o", hard}, "is the input file"},
		{"logits --state-out STATE-IN", []string{"logits", model, "--tokens", "1", "--state-in", state, "--state-out", state}, "is the input file"},
		{"logits -o X --state-out X", []string{"logits", model, "--tokens", "1", "-o", filepath.Join(dir, "x"), "--state-out", filepath.Join(dir, "x")}, "name the same file"},
		{"logits -o X --state-out ./X", []string{"logits", model, "--tokens", "1", "-o", filepath.Join(dir, "x"), "--state-out", filepath.Join(dir, ".", "x")}, "name the same file"},
		{"logits -o - --state-out -", []string{"logits", model, "--tokens", "1", "-o", "-", "--state-out", "-"}, "both write to stdout"},
		{"logits -o DIR", []string{"logits", model, "--tokens", "1", "-o", sub}, sub + " is a directory"},
		{"logits -o missing/dir", []string{"logits", model, "--tokens", "1", "-o", missing}, "directory " + filepath.Dir(missing) + " does not exist"},
		{"convert -o DIR", []string{"convert", ckpt, "-o", sub}, sub + " is a directory"},
		{"convert -o missing/dir", []string{"convert", ckpt, "-o", missing}, "does not exist"},
		{"convert -o CKPT", []string{"convert", ckpt, "-o", ckpt}, "is the input file"},
		{"convert -o --help", []string{"convert", ckpt, "-o", "--help"}, "looks like a flag"},
		{"convert MODEL.gguf", []string{"convert", model}, "already a GGUF model file"},
		{"convert --tokenizer X -o X", []string{"convert", ckpt, "--tokenizer", model, "-o", model}, "is the input file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := listDir(t, dir)
			_, errOut, code := run(t, c.args...)
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Errorf("code %d, stderr %q; want 1 and %q", code, errOut, c.want)
			}
			if after := listDir(t, dir); !slices.Equal(before, after) {
				t.Errorf("files changed: %v -> %v", before, after)
			}
			if b, _ := os.ReadFile(model); !slices.Equal(b, modelBytes) {
				t.Error("the model file was modified")
			}
		})
	}
}

// TestOutputToDevice is daily-use point 2: an output that is a device node
// (mknod where permitted) or a named pipe is written in place, not
// replaced by a regular file.
func TestOutputToDevice(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	dev := filepath.Join(dir, "null")
	// A character device with /dev/null's numbers (1, 3).
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Logf("mknod not permitted (%v); using a named pipe", err)
		if err := syscall.Mkfifo(dev, 0o600); err != nil {
			t.Skip("mkfifo:", err)
		}
		go func() { b, _ := os.ReadFile(dev); _ = b }()
	}
	before, _ := os.Lstat(dev)
	if _, e, code := run(t, "logits", model, "--tokens", "1,2", "-o", dev); code != 0 {
		t.Fatal(e)
	}
	after, err := os.Lstat(dev)
	if err != nil || after.Mode() != before.Mode() || after.Mode().IsRegular() {
		t.Fatalf("device replaced: %v -> %v (%v)", before.Mode(), after.Mode(), err)
	}
	if ents := listDir(t, dir); len(ents) != 2 {
		t.Errorf("files left: %v", ents)
	}
}

func TestOutputStdout(t *testing.T) {
	model := tinyModel(t, t.TempDir())
	out, e, code := run(t, "logits", model, "--tokens", "1,2", "-o", "-")
	if code != 0 || len(out) != 2*64*4 {
		t.Fatalf("code %d, %d bytes on stdout (want %d): %s", code, len(out), 2*64*4, e)
	}
}

func TestQuoteTrunc(t *testing.T) {
	long := strings.Repeat("é", 100)
	got := quoteTrunc(long, 80)
	if !strings.HasSuffix(got, "…") || len(got) > 90 || strings.Contains(got, `\x`) {
		t.Errorf("%q", got)
	}
	if got := printable("a\x1b[2Jb\n"); got != `"a\x1b[2Jb\n"` {
		t.Errorf("%s", got)
	}
	if got := printable("blk.0.att.weight"); got != "blk.0.att.weight" {
		t.Errorf("%s", got)
	}
}

func TestVersionDetails(t *testing.T) {
	out, _, code := run(t, "--version")
	for _, want := range []string{"rwkv-tools 0.", "go: go1.", "commit: ", "build tags: ", "kernels: "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--version lacks %q: %d\n%s", want, code, out)
		}
	}
}

func TestSanitizeMessage(t *testing.T) {
	for in, want := range map[string]string{
		"plain: ok\nnext":       "plain: ok\nnext",
		"esc \x1b[2J bell \a":   `esc \x1b[2J bell \a`,
		"bad \xff utf8, é fine": `bad \xff utf8, é fine`,
		"c1 \u009b csi":         `c1 \u009b csi`,
	} {
		if got := sanitizeMessage(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	if got := sanitizeMessage(strings.Repeat("x", 10000)); len(got) > maxMessageBytes+40 || !strings.Contains(got, "more bytes") {
		t.Errorf("long message: %d bytes", len(got))
	}
}
