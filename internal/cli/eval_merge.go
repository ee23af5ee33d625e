package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/eval"
	"github.com/rwkv-tools/rwkv-tools/internal/atomicfile"
)

type evalMergeOptions struct {
	IO     *IO
	Dirs   []string
	Output string
	JSON   bool
}

func newEvalMergeCmd(io *IO, runF func(context.Context, *evalMergeOptions) error) *cobra.Command {
	opts := &evalMergeOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "merge SHARD_DIR... -o DIR",
		Short: "Combine the outputs of `eval --shard i/n` runs into the single-run result",
		Long: `Merge reads the --output directories of sharded eval runs (results.json
and samples_<task>.jsonl, so run the shards with --log-samples), checks that
they are all n shards of one run (same model file sha256, protocol, pad
token, tokenizer, limit, bootstrap iterations, tool version and tasks) and
that every task's documents are covered with neither gap nor overlap, and
recomputes every metric and stderr from the per-document values in document
order. The merged results.json has the numbers an unsharded run gives,
exactly; the merged samples files hold the shards' lines in document order.

Sharding recipes (see the README): --shard i/n by hand; --shard auto under a
Kubernetes Indexed Job (JOB_COMPLETION_INDEX, plus RWKV_TOOLS_SHARD_COUNT set
to the Job's completions), a Slurm array (SLURM_ARRAY_TASK_ID and
SLURM_ARRAY_TASK_COUNT) or a GitHub Actions matrix (RWKV_TOOLS_SHARD set to
${{ strategy.job-index }}/${{ strategy.job-total }}).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dirs = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runEvalMerge(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "directory for the merged results.json and samples (required)")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runEvalMerge(ctx context.Context, opts *evalMergeOptions) error {
	if opts.Output == "" {
		return errors.New("eval merge needs -o DIR for the merged results.json and samples")
	}
	runs := make([]eval.ShardRun, 0, len(opts.Dirs))
	var inputs []string
	for _, dir := range opts.Dirs {
		r, files, err := readShardRun(ctx, dir)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		inputs = append(inputs, files...)
	}
	merged, err := eval.MergeShards(ctx, runs)
	if err != nil {
		return err
	}
	if st, err := os.Stat(opts.Output); err == nil && !st.IsDir() {
		return fmt.Errorf("-o %s is a file; -o names a directory for results.json and the samples", opts.Output)
	}
	if err := os.MkdirAll(opts.Output, 0o755); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	outs := []outputFlag{{"-o", filepath.Join(opts.Output, "results.json")}}
	for name := range merged.Samples {
		outs = append(outs, outputFlag{"-o", filepath.Join(opts.Output, "samples_"+name+".jsonl")})
	}
	if err := checkOutputs(inputs, outs...); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	names := make([]string, 0, len(merged.Samples))
	for name := range merged.Samples {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		lines := merged.Samples[name]
		err := atomicfile.Write(filepath.Join(opts.Output, "samples_"+name+".jsonl"), func(f *os.File) error {
			for _, l := range lines {
				if _, err := f.Write(append(l, '\n')); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := eval.WriteResults(filepath.Join(opts.Output, "results.json"), merged.Results); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "eval merge: %d shards -> %s\n", len(runs), opts.Output)
	if opts.JSON {
		return writeJSON(opts.IO.Out, merged.Results)
	}
	return printEvalTable(opts.IO.Out, &evalRun{File: merged.Results, Results: merged.Tasks})
}

// readShardRun reads one shard's results.json and samples files; it returns
// the files read (the merge must not overwrite them).
func readShardRun(ctx context.Context, dir string) (eval.ShardRun, []string, error) {
	resPath := filepath.Join(dir, "results.json")
	res, err := eval.ReadResults(resPath)
	if err != nil {
		return eval.ShardRun{}, nil, fmt.Errorf("%s: not an eval --output directory: %w", dir, err)
	}
	run := eval.ShardRun{Name: dir, Results: res, Samples: map[string][]eval.ShardSample{}}
	files := []string{resPath}
	for name := range res.Results {
		p := filepath.Join(dir, "samples_"+name+".jsonl")
		f, err := os.Open(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return eval.ShardRun{}, nil, fmt.Errorf("%s: no samples for task %s (%s); run the shards with --output DIR --log-samples", dir, name, p)
			}
			return eval.ShardRun{}, nil, err
		}
		var samples []eval.ShardSample
		err = readLines(ctx, f, p, nil, func(lineNo int, line []byte) error {
			if len(bytes.TrimSpace(line)) == 0 {
				return nil
			}
			var s eval.Sample
			if err := json.Unmarshal(line, &s); err != nil {
				return fmt.Errorf("%s:%d: not a samples line: %w", p, lineNo, err)
			}
			samples = append(samples, eval.ShardSample{Line: lineNo, Raw: line, Sample: s})
			return nil
		})
		f.Close()
		if err != nil {
			return eval.ShardRun{}, nil, err
		}
		run.Samples[name] = samples
		files = append(files, p)
	}
	return run, files, nil
}
