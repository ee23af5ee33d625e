package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestBench(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.gguf")
	if err := runSynth(context.Background(), &synthOptions{IO: &IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Output: model,
		Arch: "rwkv4", Layers: 2, Embd: 64, Vocab: 100, Type: "q8_0", Seed: 1, Quiet: true}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := &benchOptions{IO: &IO{Out: &out, ErrOut: &bytes.Buffer{}}, Models: []string{model}, Threads: "1,2", Seq: "8,0",
		Decode: 4, Reps: 2, ProbeMiB: 1, JSON: true}
	if err := runBench(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.Machine.FMAPeakGFLOPs <= 0 || rep.Machine.ReadGBs["1"] <= 0 || rep.Machine.ReadGBs["2"] <= 0 {
		t.Fatalf("machine %+v", rep.Machine)
	}
	if len(rep.Results) != 4 {
		t.Fatalf("%d results, want decode + seq 8 for 2 thread counts: %+v", len(rep.Results), rep.Results)
	}
	for _, r := range rep.Results {
		if r.Type != "q8_0" || r.Arch != "rwkv4" || r.TokS <= 0 || r.GFLOPs <= 0 || (r.Test == "decode") != (r.GBs > 0) {
			t.Fatalf("result %+v", r)
		}
	}
	// The text table.
	out.Reset()
	opts.JSON, opts.ProbeMiB, opts.Reps = false, 0, 1
	if err := runBench(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"m.gguf", "decode 4", "seq 8", "tok/s", "q8_0"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, out.String())
		}
	}
	// Both decode precisions: two decode rows, the exact one marked.
	out.Reset()
	opts.Threads, opts.Seq, opts.Precision = "1", "0", "fast,exact"
	if err := runBench(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "decode 4 exact") || strings.Count(out.String(), "decode 4") != 2 {
		t.Fatalf("table lacks a fast and an exact decode row:\n%s", out.String())
	}
	out.Reset()
	opts.JSON = true
	if err := runBench(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	rep = benchReport{}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Precision != "fast" || rep.Results[1].Precision != "exact" {
		t.Fatalf("results %+v, want fast and exact decode", rep.Results)
	}
	opts.JSON = false
	// Cancellation stops it with the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := runBench(ctx, opts); err != context.Canceled {
		t.Fatalf("cancelled bench: %v", err)
	}
}

func TestBenchErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "nosuch.gguf"}, "nosuch.gguf"},
		{[]string{"bench", "x.gguf", "--threads", "1,zero"}, "--threads"},
		{[]string{"bench", "x.gguf", "--seq", "-3"}, "--seq"},
		{[]string{"bench", "x.gguf", "--reps", "0"}, "--reps"},
		{[]string{"bench", "x.gguf", "--precision", "fast,int8"}, "--precision"},
	} {
		_, stderr, code := run(t, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Fatalf("%v: exit %d, stderr %q", c.args, code, stderr)
		}
	}
}
