package cli

// Conventions every command follows (new commands too):
//
//   - Outputs: call checkOutputs (checkOutputsStdout where "-" may stream to
//     stdout) with the command's inputs and every output flag BEFORE doing
//     any work. It refuses an output that is an input (also
//     through symlinks and hard links), two outputs naming the same file, an
//     existing directory, a missing or unwritable parent directory, and names
//     the path as the user typed it.
//   - Writing: writeOutput writes "-" to stdout, devices/pipes/sockets
//     directly, and regular files or new paths atomically (temp file beside
//     the target, renamed at the end; internal/atomicfile). A failed or
//     interrupted command leaves no file.
//   - Cancellation: Main cancels the command's context on SIGINT, SIGTERM,
//     SIGHUP and SIGQUIT; every long loop checks ctx (checkCtx / ctx.Err())
//     and returns the context's error, which Main turns into exit code 130.
//     A second signal kills the process at once (its temp file is removed
//     by the next atomic write to the same output; so is one left by
//     SIGKILL).
//   - Progress: newProgress reports on stderr: a bar on a terminal, a plain
//     line every few seconds otherwise, nothing with --quiet.
//   - Summaries: --json (addJSONFlag) prints one JSON document on stdout
//     through writeJSON instead of the human summary.
//   - Untrusted text in messages goes through quoteTrunc (escaped, at most
//     80 bytes).
//   - Flags: validate values up front (checkThreads, checkRange).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/internal/atomicfile"
)

// outputFlag is one output of a command: the flag that named it (for
// messages) and the path as typed.
type outputFlag struct {
	Flag string // e.g. "-o" or "--state-out"
	Path string
}

// checkOutputs validates a command's outputs against its inputs before any
// work is done. Empty paths are unused outputs. "-" is refused: files such
// as GGUF models are written atomically and need a name (commands that can
// stream to stdout use checkOutputsStdout).
func checkOutputs(inputs []string, outs ...outputFlag) error {
	for _, o := range outs {
		if o.Path == "-" {
			return fmt.Errorf("%s -: this output cannot go to stdout; give a file name", o.Flag)
		}
	}
	return checkOutputsStdout(inputs, outs...)
}

// checkOutputsStdout is checkOutputs for commands whose outputs may be "-"
// (stdout, written through writeOutput); at most one may be.
func checkOutputsStdout(inputs []string, outs ...outputFlag) error {
	stdout := ""
	for i, o := range outs {
		if o.Path == "" {
			continue
		}
		if o.Path == "-" {
			if stdout != "" {
				return fmt.Errorf("%s - and %s - both write to stdout; send one to a file", stdout, o.Flag)
			}
			stdout = o.Flag
			continue
		}
		if err := checkOutputPath(o); err != nil {
			return err
		}
		for _, in := range inputs {
			if in != "" && in != "-" && sameFile(in, o.Path) {
				return fmt.Errorf("%s %s is the input file %s: writing it would destroy the input; choose another output name", o.Flag, o.Path, in)
			}
		}
		for _, p := range outs[:i] {
			if p.Path != "" && p.Path != "-" && samePath(p.Path, o.Path) {
				return fmt.Errorf("%s %s and %s %s name the same file; give each output its own name", p.Flag, p.Path, o.Flag, o.Path)
			}
		}
	}
	return nil
}

// checkOutputPath refuses an output path that cannot be written before the
// work starts (instead of failing at the final rename, naming a temp file).
func checkOutputPath(o outputFlag) error {
	// "-o --help" binds "--help" as the value: refuse names that look like
	// a flag rather than create a file called --help.
	if strings.HasPrefix(o.Path, "-") && o.Path != "-" {
		return fmt.Errorf("%s %s looks like a flag, so the output name is probably missing; to write a file of that name, give it as ./%s", o.Flag, o.Path, o.Path)
	}
	if st, err := os.Stat(o.Path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s %s is a directory; give a file name, e.g. %s", o.Flag, o.Path, filepath.Join(o.Path, "out"))
		}
		if !st.Mode().IsRegular() {
			return nil // a device or pipe is written directly
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s %s: %w", o.Flag, o.Path, err)
	}
	dir := filepath.Dir(o.Path)
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s %s: directory %s does not exist; create it first", o.Flag, o.Path, dir)
		}
		return fmt.Errorf("%s %s: %w", o.Flag, o.Path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s %s: %s is not a directory", o.Flag, o.Path, dir)
	}
	// The temp file is created in dir, so dir must be writable: try it.
	probe, err := os.CreateTemp(dir, ".rwkv-tools-probe*")
	if err != nil {
		return fmt.Errorf("%s %s: cannot create files in directory %s: %w", o.Flag, o.Path, dir, errors.Unwrap(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// sameFile reports whether a and b are the same existing file (symlinks
// followed, hard links compared by device and inode).
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// samePath reports whether two output paths name one file: the same
// existing file, or the same location once the directories are resolved.
func samePath(a, b string) bool {
	if sameFile(a, b) {
		return true
	}
	return canonical(a) == canonical(b)
}

func canonical(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}

// writeOutput writes an output through fill: "-" to stdout, anything else
// through atomicfile (atomic for regular files and new paths, direct for
// devices and pipes). fill should check ctx in its loops; a cancellation
// that arrives while writing still leaves no file.
func writeOutput(ctx context.Context, io *IO, path string, fill func(w io.Writer) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if path == "-" {
		return fill(io.Out)
	}
	return atomicfile.Write(path, func(f *os.File) error {
		if err := fill(f); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// progressInterval is how often plain (non-terminal) progress lines appear.
// RWKV_TOOLS_PROGRESS_INTERVAL (a Go duration) overrides it; tests set 0 to
// see a line per update.
var progressInterval = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("RWKV_TOOLS_PROGRESS_INTERVAL")); err == nil {
		return d
	}
	return 2 * time.Second
}()

// progressTestDelay slows every progress update down (test hook, set by
// RWKV_TOOLS_TEST_SLOW, so that interrupt tests can catch a command
// mid-work on tiny inputs).
var progressTestDelay = func() time.Duration {
	d, _ := time.ParseDuration(os.Getenv("RWKV_TOOLS_TEST_SLOW"))
	return d
}()

// progress reports a long command's advance on stderr. It is safe for
// concurrent use.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	label  string
	total  int // 0: unknown
	term   bool
	off    bool
	start  time.Time
	last   time.Time
	drawn  bool
	unit   string
	detail string
}

// newProgress returns a reporter for total units (0 when unknown) of work;
// quiet silences it.
func newProgress(io *IO, quiet bool, label string, total int, unit string) *progress {
	now := time.Now()
	return &progress{w: io.ErrOut, label: label, total: total, unit: unit, term: isTerminal(io.ErrOut), off: quiet, start: now, last: now}
}

// SetTotal sets the amount of work once it is known.
func (p *progress) SetTotal(total int) {
	p.mu.Lock()
	p.total = total
	p.mu.Unlock()
}

// Update reports done units; detail (e.g. a tensor name) is optional.
func (p *progress) Update(done int, detail string) {
	if progressTestDelay > 0 {
		time.Sleep(progressTestDelay)
	}
	if p == nil || p.off {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.term {
		if now.Sub(p.last) < 100*time.Millisecond && p.drawn {
			return
		}
		p.last, p.drawn = now, true
		fmt.Fprintf(p.w, "\r\033[K%s %s", p.label, p.bar(done))
		if detail != "" {
			fmt.Fprintf(p.w, " %s", quoteTrunc(detail, 40))
		}
		return
	}
	if now.Sub(p.last) < progressInterval {
		return
	}
	p.last, p.drawn = now, true
	fmt.Fprintf(p.w, "%s: %s, %.1fs", p.label, p.count(done), now.Sub(p.start).Seconds())
	if detail != "" {
		fmt.Fprintf(p.w, " (%s)", quoteTrunc(detail, 40))
	}
	fmt.Fprintln(p.w)
}

func (p *progress) count(done int) string {
	if p.total > 0 {
		return fmt.Sprintf("%d/%d %s (%d%%)", done, p.total, p.unit, 100*done/p.total)
	}
	return fmt.Sprintf("%d %s", done, p.unit)
}

func (p *progress) bar(done int) string {
	if p.total <= 0 {
		return p.count(done)
	}
	const width = 30
	n := min(width, width*done/p.total)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "] " + p.count(done)
}

// Done clears a terminal bar (plain lines stay as a log).
func (p *progress) Done() {
	if p != nil && !p.off && p.term && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

type progressKey struct{}

// withProgress attaches a reporter to ctx, for helpers shared by several
// commands (compareFiles serves compare, quantize --report and demo) that
// should report without a parameter for it.
func withProgress(ctx context.Context, p *progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// progressFrom returns ctx's reporter, or nil (a nil *progress reports
// nothing).
func progressFrom(ctx context.Context) *progress {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p
}

// addJSONFlag adds --json to a command that prints a summary.
func addJSONFlag(cmd *cobra.Command, dst *bool) {
	cmd.Flags().BoolVar(dst, "json", false, "print a machine-readable JSON summary on stdout instead of text")
}

// writeJSON prints v as indented JSON plus a newline.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// maxQuoted is how much of an untrusted value a message shows.
const maxQuoted = 80

// quoteTrunc quotes s with non-printable characters escaped, showing at
// most n bytes of it followed by "…" when longer. Use it for every value
// read from a file or typed by a user that ends up in a message.
func quoteTrunc(s string, n int) string {
	if n <= 0 {
		n = maxQuoted
	}
	if len(s) <= n {
		return strconv.Quote(s)
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 { // stay on a rune boundary
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// maxThreads bounds --threads; more threads than this only add overhead.
const maxThreads = 256

// checkThreads validates --threads: 0 means all cores.
func checkThreads(n int) error {
	if n < 0 || n > maxThreads {
		return fmt.Errorf("--threads %d: give 0 (all cores) or a count between 1 and %d", n, maxThreads)
	}
	return nil
}

// isTerminal reports whether w is a terminal, where a progress bar makes
// sense; logs, pipes and /dev/null get plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isTerminalFd(int(f.Fd()))
}

// maxLineBytes bounds one line of a line-oriented input (JSONL): far above
// any real text, small enough that a file without newlines cannot take all
// memory.
var maxLineBytes = 64 << 20

// readLines calls fn for each line of r (without the newline), numbered
// from 1, stopping at the first error or when ctx is cancelled (also while
// a read blocks, e.g. on a terminal or pipe). name says where the lines
// come from in messages ("stdin", a file name). idle, if set, is called
// whenever the next line is not ready yet (flush output there).
func readLines(ctx context.Context, r io.Reader, name string, idle func() error, fn func(lineNo int, line []byte) error) error {
	type lineOrErr struct {
		line []byte
		err  error
	}
	ch := make(chan lineOrErr)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(ch)
		br := bufio.NewReaderSize(r, 64<<10)
		for lineNo := 1; ; lineNo++ {
			line, err := readLine(br, name, lineNo)
			if len(line) > 0 || err == nil {
				select {
				case ch <- lineOrErr{line: line}:
				case <-done:
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					select {
					case ch <- lineOrErr{err: err}:
					case <-done:
					}
				}
				return
			}
		}
	}()
	lineNo := 0
	for {
		var l lineOrErr
		var ok bool
		select {
		case l, ok = <-ch:
		default:
			// Nothing ready: let the caller flush its output before the
			// read blocks, so an interactive pipe sees each answer.
			if idle != nil {
				if err := idle(); err != nil {
					return err
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case l, ok = <-ch:
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if l.err != nil {
			return l.err
		}
		lineNo++
		if err := fn(lineNo, l.line); err != nil {
			return err
		}
	}
}

// readLine reads one line, refusing one longer than maxLineBytes.
func readLine(br *bufio.Reader, name string, lineNo int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLineBytes {
			return nil, fmt.Errorf("%s line %d is longer than %s, the limit for one line; split the text into several lines", name, lineNo, humanBytes(int64(maxLineBytes)))
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if err != nil && err != io.EOF {
			return line, fmt.Errorf("%s line %d: %w", name, lineNo, err)
		}
		return line, err
	}
}

// readAllCtx is io.ReadAll that returns when ctx is cancelled even while a
// read blocks (stdin on a terminal or an idle pipe).
func readAllCtx(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		ch <- result{b, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		return res.b, res.err
	}
}

// maxMessageBytes caps an error message as printed (the readers already
// cut what they quote; this is the backstop for any that does not).
const maxMessageBytes = 4 << 10

// sanitizeMessage makes text safe to print on a terminal: control
// characters other than newline and tab, DEL, C1 controls and invalid
// UTF-8 are shown as escapes, so no byte from a file can move the cursor
// or change colours; text beyond maxMessageBytes is cut.
func sanitizeMessage(s string) string {
	more := 0
	if len(s) > maxMessageBytes {
		cut := maxMessageBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		more = len(s) - cut
		s = s[:cut]
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	if more > 0 {
		fmt.Fprintf(&b, "… (%d more bytes)", more)
	}
	return b.String()
}
