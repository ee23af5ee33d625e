// Package cli holds the rwkv-tools commands, one file per subcommand: an
// options struct, a constructor that binds flags, and a run function that
// tests call directly.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/internal/buildinfo"
)

// IO are the streams a command uses (buffers in tests).
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Main runs the CLI and returns the process exit code. An interrupt
// cancels the command's context, so an interrupted conversion leaves no
// output file.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRootCmd(&IO{In: stdin, Out: stdout, ErrOut: stderr})
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "rwkv-tools: interrupted; no output was written")
			return 130
		}
		fmt.Fprintln(stderr, "rwkv-tools:", err)
		return 1
	}
	return 0
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
	)
	return root
}
