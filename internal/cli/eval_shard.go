package cli

import (
	"fmt"
	"os"

	"github.com/rwkv-tools/rwkv-tools/eval"
)

// resolveEvalShard parses --shard (i/n, or auto from the scheduler's
// environment) into opts.shard. A sharded run must keep what a merge needs:
// --output with --log-samples.
func resolveEvalShard(opts *evalOptions) error {
	switch opts.Shard {
	case "":
		return nil
	case "auto":
		s, from, err := eval.ShardFromEnv(os.Getenv)
		if err != nil {
			return err
		}
		opts.shard = s
		fmt.Fprintf(opts.IO.ErrOut, "eval: shard %s (from %s)\n", s, from)
	default:
		s, err := eval.ParseShard(opts.Shard)
		if err != nil {
			return fmt.Errorf("--shard: %w", err)
		}
		opts.shard = s
	}
	if opts.Output == "" || !opts.LogSamples {
		return fmt.Errorf("--shard %s needs --output DIR --log-samples: `rwkv-tools eval merge` recomputes the metrics from every shard's per-document samples", opts.shard)
	}
	return nil
}
