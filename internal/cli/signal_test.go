package cli

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil/craft"
)

// TestMain lets the interrupt tests run the CLI as a real process: the
// test binary re-executes itself with RWKV_TOOLS_CLI_TEST_MAIN=1 and then
// is rwkv-tools (no separate go build, so no toolchain or extra minute
// needed in CI).
func TestMain(m *testing.M) {
	if os.Getenv("RWKV_TOOLS_CLI_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	cleanupEvalFixtures()
	os.Exit(code)
}

// proc is a running rwkv-tools process.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout chan string // lines
	stderr chan string
	errLog *strings.Builder
}

// start runs rwkv-tools args; RWKV_TOOLS_TEST_SLOW slows each progress
// update and progress lines are printed at every update, so the tests can
// see a command mid-work and interrupt it there.
func start(t *testing.T, slow string, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "RWKV_TOOLS_CLI_TEST_MAIN=1", "RWKV_TOOLS_PROGRESS_INTERVAL=0", "RWKV_TOOLS_TEST_SLOW="+slow)
	p := &proc{cmd: cmd, stdout: make(chan string, 1024), stderr: make(chan string, 1024), errLog: &strings.Builder{}}
	p.stdin, _ = cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := func(r io.Reader, ch chan string, log *strings.Builder) {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		sc.Split(scanLinesOrChunks)
		for sc.Scan() {
			if log != nil {
				log.WriteString(sc.Text() + "\n")
			}
			select {
			case ch <- sc.Text():
			default:
			}
		}
		close(ch)
	}
	go lines(outPipe, p.stdout, nil)
	go lines(errPipe, p.stderr, p.errLog)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return p
}

// scanLinesOrChunks splits at newlines but also hands out a partial line
// (generate streams text without newlines).
func scanLinesOrChunks(data []byte, atEOF bool) (int, []byte, error) {
	if i := slices.Index(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// waitFor waits until a line on ch contains want.
func waitFor(t *testing.T, ch chan string, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within 20 s", want)
		}
	}
}

// interrupt sends sig and checks that the process exits with 130.
func (p *proc) interrupt(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("after %v: %v (want exit status 130); stderr:\n%s", sig, err, p.errLog.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20 s after %v", sig)
	}
}

func checkFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("files in %s: %v, want %v", dir, got, want)
	}
}

func TestInterruptConvert(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pth")
	b, _ := os.ReadFile(testutil.Testdata("pth", "rwkv4-bf16.pth"))
	os.WriteFile(in, b, 0o644)
	out := filepath.Join(dir, "out.gguf")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := start(t, "20ms", "convert", in, "-o", out)
			waitFor(t, p.stderr, "convert: ")
			p.interrupt(t, sig)
			checkFiles(t, dir, "in.pth")
		})
	}
	// SIGKILL cannot be caught and leaves the temp file; the next run to
	// the same output removes it.
	p := start(t, "20ms", "convert", in, "-o", out)
	waitFor(t, p.stderr, "convert: ")
	p.cmd.Process.Kill()
	p.cmd.Wait()
	if got := listDir(t, dir); len(got) != 2 || !strings.HasPrefix(got[0], ".out.gguf.tmp") {
		t.Fatalf("after SIGKILL: %v (want the input and one temp file)", got)
	}
	if _, e, code := run(t, "convert", in, "-o", out, "-q"); code != 0 {
		t.Fatal(e)
	}
	checkFiles(t, dir, "in.pth", "out.gguf")
}

func TestInterruptLogits(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	ids := make([]string, 4000)
	for i := range ids {
		ids[i] = strconv.Itoa(1 + i%60)
	}
	p := start(t, "10ms", "logits", model, "--tokens", strings.Join(ids, ","), "-o", filepath.Join(dir, "l.f32"), "--state-out", filepath.Join(dir, "s.bin"))
	waitFor(t, p.stderr, "logits: ")
	p.interrupt(t, syscall.SIGINT)
	checkFiles(t, dir, "m.gguf")
}

func TestInterruptGenerate(t *testing.T) {
	dir := t.TempDir()
	model, err := craft.RWKV4(dir, "g.gguf", craft.TinyDims, craft.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(testutil.RepoRoot(), "tokenizer", "testdata", "tiny-bpe.json")
	p := start(t, "", "generate", model, "--tokenizer", tok, "--prompt", "hello", "-n", "100000000", "--temperature", "0.8", "--seed", "1")
	waitFor(t, p.stdout, "hello")
	p.interrupt(t, syscall.SIGINT)
	checkFiles(t, dir, "g.gguf")
}

func TestInterruptTokenizeJSONL(t *testing.T) {
	tok := filepath.Join(testutil.RepoRoot(), "tokenizer", "testdata", "tiny-bpe.json")
	p := start(t, "", "tokenize", "--tokenizer", tok, "--jsonl")
	io.WriteString(p.stdin, "{\"text\": \"hello world\"}\n")
	waitFor(t, p.stdout, `"ids"`)
	// stdin stays open: the command is blocked reading it.
	p.interrupt(t, syscall.SIGINT)
}

func TestInterruptQuantize(t *testing.T) {
	dir := t.TempDir()
	d := craft.TinyDims
	d.Embd, d.FFN = 64, 128 // rows a multiple of the 32-element blocks
	in, err := craft.RWKV4(dir, "f32.gguf", d, craft.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, "20ms", "quantize", in, "-o", filepath.Join(dir, "q.gguf"), "--type", "q8_0")
	waitFor(t, p.stderr, "quantize: ")
	p.interrupt(t, syscall.SIGINT)
	checkFiles(t, dir, "f32.gguf")
}

func TestInterruptEval(t *testing.T) {
	model := tinyV4GGUF(t)
	data := testutil.Shared(t, "data")
	out := t.TempDir()
	p := start(t, "20ms", "eval", model, "lambada", "--data-dir", data, "--limit", "200", "-o", out, "--log-samples")
	waitFor(t, p.stderr, "eval: ")
	p.interrupt(t, syscall.SIGINT)
	checkFiles(t, out)
}

func TestInterruptGenerateReadingStdin(t *testing.T) {
	dir := t.TempDir()
	model, err := craft.RWKV4(dir, "g.gguf", craft.TinyDims, craft.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(testutil.RepoRoot(), "tokenizer", "testdata", "tiny-bpe.json")
	p := start(t, "", "generate", model, "--tokenizer", tok, "--prompt-file", "-", "--seed", "1")
	io.WriteString(p.stdin, "a prompt that never ends")
	time.Sleep(500 * time.Millisecond) // blocked reading stdin, which stays open
	p.interrupt(t, syscall.SIGINT)
}

func TestInterruptCompare(t *testing.T) {
	dir := t.TempDir()
	a, err := craft.RWKV4(dir, "a.gguf", craft.TinyDims, craft.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := craft.RWKV4(dir, "b.gguf", craft.TinyDims, craft.Options{Value: func(n string, i int) float32 { return craft.Pseudo(n, i) * 0.9 }})
	text := filepath.Join(dir, "text.txt")
	os.WriteFile(text, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 200)), 0o644)
	tok := filepath.Join(testutil.RepoRoot(), "tokenizer", "testdata", "tiny-bpe.json")
	p := start(t, "20ms", "compare", a, b, "--text", text, "--tokenizer", tok)
	waitFor(t, p.stderr, "compare: ")
	p.interrupt(t, syscall.SIGINT)
	checkFiles(t, dir, "a.gguf", "b.gguf", "text.txt")
}

func TestInterruptSynth(t *testing.T) {
	dir := t.TempDir()
	p := start(t, "", "synth", "--arch", "rwkv4", "--layers", "24", "--embd", "1024", "--type", "f32", "-o", filepath.Join(dir, "s.gguf"))
	waitFor(t, p.stderr, "synth: writing")
	p.interrupt(t, syscall.SIGINT)
	checkFiles(t, dir)
}

func TestInterruptBench(t *testing.T) {
	dir := t.TempDir()
	model, err := craft.RWKV4(dir, "b.gguf", craft.TinyDims, craft.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, "", "bench", model)
	waitFor(t, p.stderr, "bench: ")
	p.interrupt(t, syscall.SIGINT)
	checkFiles(t, dir, "b.gguf")
}

func TestInterruptDataFetch(t *testing.T) {
	// A server that never answers: the download blocks until interrupted.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	dir := t.TempDir()
	p := start(t, "", "data", "fetch", "lambada_openai", "--data-dir", dir, "--url-base", srv.URL)
	waitFor(t, p.stderr, "downloading")
	p.interrupt(t, syscall.SIGINT)
	checkFiles(t, dir)
}
