package eval

import (
	"strings"
	"testing"
)

func TestShardRanges(t *testing.T) {
	// Every split covers 0..n-1 exactly once, in order, sizes within one.
	for _, n := range []int{0, 1, 2, 5, 50, 300, 5153} {
		for count := 1; count <= 7; count++ {
			next := 0
			for i := range count {
				lo, hi := Shard{i, count}.Range(n)
				if lo != next || hi < lo || hi-lo > n/count+1 {
					t.Fatalf("n %d shard %d/%d: [%d,%d) after %d", n, i, count, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n %d count %d: covered %d", n, count, next)
			}
		}
	}
	if lo, hi := (Shard{}).Range(7); lo != 0 || hi != 7 {
		t.Error("zero Shard must select everything")
	}
}

func TestParseShard(t *testing.T) {
	for _, ok := range []string{"0/1", "2/3", " 1 / 3 "} {
		if _, err := ParseShard(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "3/3", "-1/3", "1", "a/3", "1/0", "1/99999999", "1/3/4"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string // shard, or "error: substring"
	}{
		{map[string]string{"RWKV_TOOLS_SHARD": "1/4", "JOB_COMPLETION_INDEX": "3"}, "1/4"},
		{map[string]string{"RWKV_TOOLS_SHARD": "4/4"}, "error: RWKV_TOOLS_SHARD"},
		{map[string]string{"JOB_COMPLETION_INDEX": "2", "RWKV_TOOLS_SHARD_COUNT": "3"}, "2/3"},
		{map[string]string{"JOB_COMPLETION_INDEX": "2"}, "error: RWKV_TOOLS_SHARD_COUNT"},
		{map[string]string{"JOB_COMPLETION_INDEX": "x", "RWKV_TOOLS_SHARD_COUNT": "3"}, "error: not an integer"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0"}, "0/3"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"}, "2/3"},                               // --array=1-3
		{map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "2"}, "2/4"}, // --array=1-7:2
		{map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "2"}, "error: evenly spaced"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "3"}, "error: evenly spaced"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1"}, "error: SLURM_ARRAY_TASK_COUNT"},
		{map[string]string{}, "error: none of"},
	}
	for _, c := range cases {
		s, _, err := ShardFromEnv(func(k string) string { return c.env[k] })
		if msg, isErr := strings.CutPrefix(c.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("%v: %v, want an error with %q", c.env, err, msg)
			}
			continue
		}
		if err != nil || s.String() != c.want {
			t.Errorf("%v: %v %v, want %s", c.env, s, err, c.want)
		}
	}
}
