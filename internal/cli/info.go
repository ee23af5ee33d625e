package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/convert/ckpt"
	"github.com/rwkv-tools/rwkv-tools/format"
)

type infoOptions struct {
	IO   *IO
	Path string
}

func newInfoCmd(io *IO, runF func(*infoOptions) error) *cobra.Command {
	opts := &infoOptions{IO: io}
	return &cobra.Command{
		Use:   "info FILE",
		Short: "Show the metadata and tensors of a GGUF model file or a checkpoint",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runInfo(opts)
		},
	}
}

func runInfo(opts *infoOptions) error {
	isGGUF, err := hasMagic(opts.Path, "GGUF")
	if err != nil {
		return err
	}
	if isGGUF {
		return infoGGUF(opts.IO.Out, opts.Path)
	}
	return infoCheckpoint(opts.IO.Out, opts.Path)
}

func hasMagic(path, magic string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	b := make([]byte, len(magic))
	if _, err := io.ReadFull(f, b); err != nil {
		return false, nil // too short for any magic; let the readers explain
	}
	return bytes.Equal(b, []byte(magic)), nil
}

func infoGGUF(w io.Writer, path string) error {
	f, err := format.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(w, "%s: GGUF v%d, %d bytes, alignment %d, %d metadata keys, %d tensors\n\n",
		path, f.Version, f.Size(), f.Alignment, len(f.Metadata), len(f.Tensors))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range f.Metadata.Keys() {
		fmt.Fprintf(tw, "%s\t%s\n", k, f.Metadata[k].Format())
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "name\tshape\ttype\tbytes\toffset\t")
	var total uint64
	for _, t := range f.Tensors {
		size, _ := t.Size()
		total += size
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t\n", t.Name, shapeString(reverseDims(t.Dims)), t.DType, size, f.DataOffset+t.Offset)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d tensors, %d bytes of tensor data (shapes in PyTorch order: rows first)\n", len(f.Tensors), total)
	return nil
}

func infoCheckpoint(w io.Writer, path string) error {
	ck, err := ckpt.Open(path)
	if err != nil {
		return err
	}
	defer ck.Close()
	fmt.Fprintf(w, "%s: %s checkpoint, %d tensors\n", path, ck.Format, len(ck.Tensors))
	if len(ck.Meta) > 0 {
		keys := make([]string, 0, len(ck.Meta))
		for k := range ck.Meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s = %s\n", k, ck.Meta[k])
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "name\tshape\ttype\tbytes\tfile offset\tlayout\t")
	for _, t := range ck.Tensors {
		layout := "contiguous"
		if !t.Contiguous() {
			layout = fmt.Sprintf("strided %v", t.Strides)
		}
		size := t.NumElements() * int64(t.DType.BlockBytes()) / int64(t.DType.BlockLen())
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t\n", t.Name, shapeString(t.Shape), t.DType, size, t.FileOffset, layout)
	}
	return tw.Flush()
}

func reverseDims(d []uint64) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[len(d)-1-i] = int64(v)
	}
	return out
}

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
