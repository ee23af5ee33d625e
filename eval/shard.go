package eval

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count deterministic slices of every task's documents:
// shard i of n scores the contiguous documents [⌊i·N/n⌋, ⌊(i+1)·N/n⌋) of a
// task's N (after --limit), so the n shards cover each task exactly once
// and MergeShards can rebuild the single run. The zero Shard is "no
// sharding".
type Shard struct {
	Index, Count int
}

// MaxShards bounds n: more shards than this is a typo, not a cluster.
const MaxShards = 1 << 16

// Sharded reports whether s selects a slice (Count > 1 or an explicit 0/1).
func (s Shard) Sharded() bool { return s.Count > 0 }

// String is "i/n", the form --shard and the results file use.
func (s Shard) String() string {
	if !s.Sharded() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Range returns the documents [lo, hi) of n that shard s scores.
func (s Shard) Range(n int) (lo, hi int) {
	if !s.Sharded() {
		return 0, n
	}
	return int(int64(s.Index) * int64(n) / int64(s.Count)), int(int64(s.Index+1) * int64(n) / int64(s.Count))
}

// ParseShard reads "i/n" (0 <= i < n).
func ParseShard(v string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(v), "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want INDEX/COUNT with a zero-based index, e.g. 0/3, 1/3, 2/3", v)
	}
	if n < 1 || n > MaxShards || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want 0 <= INDEX < COUNT <= %d", v, MaxShards)
	}
	return Shard{Index: i, Count: n}, nil
}

// ShardEnv is the environment variables --shard auto reads, in this order.
var ShardEnv = []string{
	"RWKV_TOOLS_SHARD",                               // "i/n", e.g. from a GitHub Actions matrix: ${{ strategy.job-index }}/${{ strategy.job-total }}
	"JOB_COMPLETION_INDEX", "RWKV_TOOLS_SHARD_COUNT", // Kubernetes Indexed Job; the count is the Job's spec.completions, which Kubernetes does not export
	"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP", // Slurm job array
}

// ShardFromEnv resolves --shard auto from a scheduler's environment (getenv
// is os.Getenv in the CLI). It also says where the shard came from.
func ShardFromEnv(getenv func(string) string) (Shard, string, error) {
	if v := getenv("RWKV_TOOLS_SHARD"); v != "" {
		s, err := ParseShard(v)
		if err != nil {
			return Shard{}, "", fmt.Errorf("RWKV_TOOLS_SHARD: %w", err)
		}
		return s, "RWKV_TOOLS_SHARD", nil
	}
	atoi := func(name string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(getenv(name)))
		if err != nil {
			return 0, fmt.Errorf("%s=%q is not an integer", name, getenv(name))
		}
		return n, nil
	}
	if getenv("JOB_COMPLETION_INDEX") != "" {
		i, err := atoi("JOB_COMPLETION_INDEX")
		if err != nil {
			return Shard{}, "", err
		}
		if getenv("RWKV_TOOLS_SHARD_COUNT") == "" {
			return Shard{}, "", fmt.Errorf("JOB_COMPLETION_INDEX=%d is set (a Kubernetes Indexed Job) but the number of shards is not: Kubernetes does not export spec.completions, so set RWKV_TOOLS_SHARD_COUNT to the same number in the Job's container env", i)
		}
		n, err := atoi("RWKV_TOOLS_SHARD_COUNT")
		if err != nil {
			return Shard{}, "", err
		}
		s, err := ParseShard(fmt.Sprintf("%d/%d", i, n))
		return s, "JOB_COMPLETION_INDEX/RWKV_TOOLS_SHARD_COUNT", err
	}
	if getenv("SLURM_ARRAY_TASK_ID") != "" {
		id, err := atoi("SLURM_ARRAY_TASK_ID")
		if err != nil {
			return Shard{}, "", err
		}
		n, err := atoi("SLURM_ARRAY_TASK_COUNT")
		if err != nil {
			return Shard{}, "", err
		}
		lo, step := 0, 1
		if getenv("SLURM_ARRAY_TASK_MIN") != "" {
			if lo, err = atoi("SLURM_ARRAY_TASK_MIN"); err != nil {
				return Shard{}, "", err
			}
		}
		if getenv("SLURM_ARRAY_TASK_STEP") != "" {
			if step, err = atoi("SLURM_ARRAY_TASK_STEP"); err != nil {
				return Shard{}, "", err
			}
		}
		if step < 1 || (id-lo)%step != 0 || (id-lo)/step >= n {
			return Shard{}, "", fmt.Errorf("Slurm array task %d (min %d, step %d, count %d) is not an evenly spaced array index; submit with --array=0-%d or pass --shard INDEX/%d", id, lo, step, n, n-1, n)
		}
		s, err := ParseShard(fmt.Sprintf("%d/%d", (id-lo)/step, n))
		return s, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT", err
	}
	return Shard{}, "", fmt.Errorf("--shard auto: none of RWKV_TOOLS_SHARD, JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array) is set; pass --shard INDEX/COUNT")
}
