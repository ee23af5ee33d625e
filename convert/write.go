package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"golang.org/x/sync/errgroup"

	"github.com/rwkv-tools/rwkv-tools/format"
)

// tensorJob is one output tensor: its info and the encoder that streams
// its bytes. Encoders of different jobs may run at the same time.
type tensorJob struct {
	info   format.TensorInfo
	encode func(w io.Writer) error
}

// writeModel is the one model writer of convert and quantize: it writes
// md and jobs to out atomically (format.WriteFile: nothing at out on error
// or cancellation), tensors in the given order. With threads ≤ 1 each
// encoder streams straight into the file (memory near one chunk). With
// more, up to threads encoders run ahead of the file in an errgroup, each
// into a buffer of its tensor's size that is written when its turn comes:
// memory stays near threads tensors, and the bytes do not depend on
// threads. progress, if set, is called before each tensor is written and
// once at the end with done == total.
func writeModel(ctx context.Context, out string, md format.Metadata, jobs []tensorJob, threads int,
	progress func(done, total int, name string)) error {
	writes := make([]format.WriteTensor, len(jobs))
	report := func(i int) {
		if progress != nil {
			progress(i, len(jobs), jobs[i].info.Name)
		}
	}
	if threads <= 1 || len(jobs) < 2 {
		for i, j := range jobs {
			writes[i] = format.WriteTensor{TensorInfo: j.info, Write: func(w io.Writer) error {
				report(i)
				return j.encodeGuarded(w)
			}}
		}
		if err := format.WriteFile(ctx, out, md, writes); err != nil {
			return err
		}
	} else if err := writeParallel(ctx, out, md, jobs, writes, threads, report); err != nil {
		return err
	}
	if progress != nil {
		progress(len(jobs), len(jobs), "")
	}
	return nil
}

func writeParallel(ctx context.Context, out string, md format.Metadata, jobs []tensorJob, writes []format.WriteTensor,
	threads int, report func(int)) error {
	g, gctx := errgroup.WithContext(ctx)
	done := make([]chan []byte, len(jobs))
	for i := range done {
		done[i] = make(chan []byte, 1)
	}
	// ahead bounds the tensors encoded but not yet written (and so the
	// encoders running): each holds one slot until the file has its bytes.
	ahead := make(chan struct{}, threads)
	g.Go(func() error {
		for i, j := range jobs {
			select {
			case ahead <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			g.Go(func() error {
				size, err := j.info.Size()
				if err != nil {
					return err
				}
				buf := bytes.NewBuffer(make([]byte, 0, size))
				if err := j.encodeGuarded(buf); err != nil {
					return err
				}
				done[i] <- buf.Bytes()
				return nil
			})
		}
		return nil
	})
	for i, j := range jobs {
		writes[i] = format.WriteTensor{TensorInfo: j.info, Write: func(w io.Writer) error {
			report(i)
			select {
			case b := <-done[i]:
				<-ahead
				_, err := w.Write(b)
				return err
			case <-gctx.Done():
				return gctx.Err()
			}
		}}
	}
	g.Go(func() error { return format.WriteFile(gctx, out, md, writes) })
	return g.Wait()
}

// ErrInputChanged is returned when reading the mapped checkpoint faults: the
// file was truncated or overwritten in place while being converted.
var ErrInputChanged = errors.New("input file changed while in use (truncated or overwritten by another program); convert again")

// encodeGuarded runs j.encode with a memory fault on the mapped input (the
// file shrank under us) turned into ErrInputChanged instead of a crash.
func (j tensorJob) encodeGuarded(w io.Writer) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			fa, ok := r.(interface{ Addr() uintptr })
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("tensor %s: %w (fault at %#x)", j.info.Name, ErrInputChanged, fa.Addr())
		}
	}()
	return j.encode(w)
}
