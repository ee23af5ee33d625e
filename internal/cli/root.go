// Package cli holds the rwkv-tools commands, one file per subcommand: an
// options struct, a constructor that binds flags, and a run function that
// tests call directly. The conventions every command follows (output
// guard, atomic writes, cancellation, progress, --json) are described and
// implemented in conventions.go.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/internal/buildinfo"
	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// IO are the streams a command uses (buffers in tests).
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Main runs the CLI and returns the process exit code. SIGINT, SIGTERM,
// SIGHUP and SIGQUIT cancel the command's context; the command stops, leaves
// no output file and Main returns 130. A second signal kills the process
// (the default action), for a command that does not stop.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), interruptSignals...)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default action for a second signal
	}()
	root := NewRootCmd(&IO{In: stdin, Out: stdout, ErrOut: stderr})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && (errors.Is(err, context.Canceled) || ctx.Err() != nil) {
		fmt.Fprintln(stderr, "rwkv-tools: interrupted; no output file was written")
		return 130
	}
	if err != nil {
		fmt.Fprintln(stderr, "rwkv-tools:", sanitizeMessage(err.Error()))
		return exitCode(err)
	}
	return 0
}

// interruptSignals stop a command cleanly. SIGKILL cannot be caught: it can
// leave a hidden ".NAME.tmp*" file, which the next write to NAME removes.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// exitError gives an error an exit status other than 1, e.g. check's 2 for
// a usage error or an unreadable input (distinct from 1, "the check ran and
// failed"). Wrap with withExitCode.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withExitCode makes Main exit with code when it returns err (nil stays nil).
func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// exitCode is the status for an error: its exitError code, else 1.
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

// NewRootCmd builds the command tree.
func NewRootCmd(io *IO) *cobra.Command {
	root := &cobra.Command{
		Use:           "rwkv-tools",
		Short:         "Convert, quantize, run and evaluate RWKV language models on the CPU",
		Version:       buildinfo.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate(versionText())
	root.SetFlagErrorFunc(flagError)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.AddCommand(
		newConvertCmd(io, nil),
		newInfoCmd(io, nil),
		newLogitsCmd(io, nil),
		newDemoCmd(io, nil),
		newTokenizeCmd(io, nil),
		newGenerateCmd(io, nil),
		newQuantizeCmd(io, nil),
		newCompareCmd(io, nil),
		newEvalCmd(io, nil),
		newDataCmd(io),
		newCheckCmd(io, nil),
		newCompareResultsCmd(io, nil),
		newSynthCmd(io, nil),
		newBenchCmd(io, nil),
	)
	return root
}

// flagValueError matches pflag's message for a value that does not parse.
var flagValueError = regexp.MustCompile(`^invalid argument "(.*)" for "(.*)" flag: strconv\.Parse(\w+): .*$`)

// flagError rewrites pflag's parse errors ("strconv.ParseUint: parsing
// "-1": invalid syntax") into what the user must type instead.
func flagError(cmd *cobra.Command, err error) error {
	m := flagValueError.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
	}
	want := map[string]string{"Uint": "a whole number >= 0", "Int": "a whole number", "Float": "a number", "Bool": "true or false"}[m[3]]
	if want == "" {
		want = "a valid value"
	}
	flag := m[2]
	if i := strings.LastIndex(flag, "--"); i >= 0 {
		flag = flag[i:]
	}
	return fmt.Errorf("%s %s: give %s (see %s --help)", flag, quoteTrunc(m[1], 40), want, cmd.CommandPath())
}

// versionText is what --version prints: the version (with the commit when
// the binary was built from a git checkout), the Go version, the build tags
// and the kernel set this CPU gets.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rwkv-tools %s\n", buildinfo.String())
	fmt.Fprintf(&b, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	tags, commit, when := "none", "unknown (not built from a git checkout)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			switch st.Key {
			case "-tags":
				if st.Value != "" {
					tags = st.Value
				}
			case "vcs.revision":
				commit = st.Value
			case "vcs.time":
				when = " (" + st.Value + ")"
			case "vcs.modified":
				if st.Value == "true" {
					when += ", with uncommitted changes"
				}
			}
		}
	}
	fmt.Fprintf(&b, "commit: %s%s\n", commit, when)
	fmt.Fprintf(&b, "build tags: %s\n", tags)
	if ks, err := kernels.Best(); err == nil {
		var names []string
		for _, k := range kernels.Available() {
			names = append(names, k.Name)
		}
		fmt.Fprintf(&b, "kernels: %s on this CPU (available: %s; RWKV_KERNELS=NAME overrides)\n", ks.Name, strings.Join(names, ", "))
	} else {
		fmt.Fprintf(&b, "kernels: %v\n", err)
	}
	return b.String()
}
