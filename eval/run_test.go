package eval

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/eval/task"
)

func fakeTasks() (mc, ll *task.Task, mcDocs, llDocs []task.Doc) {
	mc = &task.Task{Name: "fake_mc", Version: 1, Kind: task.MultipleChoice, Metrics: []string{"acc", "acc_norm"}}
	ll = &task.Task{Name: "fake_ll", Kind: task.Loglikelihood, Metrics: []string{"ppl", "acc"}}
	for i := range 40 {
		ctx := fmt.Sprintf("Question %d: which?\nAnswer:", i)
		choices := []string{"yes", "no", fmt.Sprintf("maybe %d", i)}
		d := task.Doc{ID: i, Fields: map[string]any{"q": ctx}, Choices: choices, Gold: i % 3, Target: " " + choices[i%3]}
		for _, c := range choices {
			d.Requests = append(d.Requests, task.Request{Context: ctx, Continuation: " " + c})
		}
		mcDocs = append(mcDocs, d)
		word := []string{"cat", "dog", "mouse", "a"}[i%4]
		llDocs = append(llDocs, task.Doc{ID: i, Fields: map[string]string{"text": "the end " + word}, Target: " " + word,
			Requests: []task.Request{{Context: "the end", Continuation: " " + word}}, Gold: -1})
	}
	return
}

func fakeOpts(workers int) Options {
	return Options{Encoder: Encoder{Tok: byteTokenizer{vocab: 13}, Protocol: task.HarnessV03, Pad: []int{10}}, Workers: workers, BootstrapIters: 2000}
}

// TestEvaluateDeterministic: the results file's numbers and the samples are
// identical for 1, 2 and 4 workers.
func TestEvaluateDeterministic(t *testing.T) {
	mc, ll, mcDocs, llDocs := fakeTasks()
	var first []byte
	for _, w := range []int{1, 2, 4} {
		var rf ResultsFile
		var samples bytes.Buffer
		for _, c := range []struct {
			t    *task.Task
			docs []task.Doc
		}{{mc, mcDocs}, {ll, llDocs}} {
			r, err := Evaluate(context.Background(), &fakeModel{vocab: 13}, c.t, c.docs, fakeOpts(w))
			if err != nil {
				t.Fatal(err)
			}
			rf.AddResult(r, len(c.docs))
			for _, s := range Samples(r) {
				b, err := s.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				samples.Write(b)
			}
		}
		path := filepath.Join(t.TempDir(), "results.json")
		if err := WriteResults(path, &rf); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		b = append(b, samples.Bytes()...)
		if first == nil {
			first = b
			continue
		}
		if !bytes.Equal(first, b) {
			t.Fatalf("%d workers: results or samples differ from 1 worker's", w)
		}
	}
}

// TestEvaluateMetrics recomputes the metrics by hand from scratch scores.
func TestEvaluateMetrics(t *testing.T) {
	mc, ll, mcDocs, llDocs := fakeTasks()
	opts := fakeOpts(2)
	opts.CheckScoring = true
	m := &fakeModel{vocab: 13}
	r, err := Evaluate(context.Background(), m, mc, mcDocs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Check.Requests != 120 || r.Check.MaxAbsLLDiff != 0 || r.Check.GreedyMismatches != 0 {
		t.Fatalf("check: %+v", r.Check)
	}
	s := NewScorer(m)
	var acc, norm []float64
	for _, d := range mcDocs {
		lls := make([]float64, len(d.Requests))
		for j, rq := range d.Requests {
			tk, _ := opts.Encoder.Encode(rq)
			sc, _ := s.ScoreFromScratch(tk)
			lls[j] = sc.LL
		}
		a, n := MultipleChoice(lls, d.Choices, d.Gold)
		acc, norm = append(acc, a), append(norm, n)
	}
	want := []Metric{{"acc", Mean(acc), MeanStderr(acc)}, {"acc_norm", Mean(norm), MeanStderr(norm)}}
	if !reflect.DeepEqual(r.Metrics, want) {
		t.Fatalf("metrics %+v, want %+v", r.Metrics, want)
	}

	r, err = Evaluate(context.Background(), m, ll, llDocs, opts)
	if err != nil {
		t.Fatal(err)
	}
	var lls, greedy []float64
	for _, d := range llDocs {
		tk, _ := opts.Encoder.Encode(d.Requests[0])
		sc, _ := s.ScoreFromScratch(tk)
		lls, greedy = append(lls, sc.LL), append(greedy, b2f(sc.Greedy))
	}
	if got := r.Metrics[0]; got.Name != "ppl" || got.Value != math.Exp(-Mean(lls)) || got.Stderr != BootstrapStderr(Perplexity, lls, 2000, nil) {
		t.Fatalf("ppl %+v", got)
	}
	if got := r.Metrics[1]; got.Name != "acc" || got.Value != Mean(greedy) {
		t.Fatalf("acc %+v", got)
	}
}

func TestEvaluateCancelled(t *testing.T) {
	mc, _, mcDocs, _ := fakeTasks()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(ctx, &fakeModel{vocab: 13}, mc, mcDocs, fakeOpts(2)); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSamplesRoundTrip(t *testing.T) {
	mc, _, mcDocs, _ := fakeTasks()
	r, err := Evaluate(context.Background(), &fakeModel{vocab: 13}, mc, mcDocs[:3], fakeOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.jsonl")
	want := Samples(r)
	if err := WriteSamples(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].DocID != 1 || !reflect.DeepEqual(got[1].FilteredResps, want[1].FilteredResps) || !reflect.DeepEqual(got[1].Metrics, want[1].Metrics) {
		t.Fatalf("round trip: %+v\nwant %+v", got[1], want[1])
	}
	line, _ := want[0].MarshalJSON()
	for _, key := range []string{`"doc_id":0`, `"arguments":[["Question 0: which?\nAnswer:"," yes"]`, `"filtered_resps":[[`, `"acc":`, `"acc_norm":`} {
		if !bytes.Contains(line, []byte(key)) {
			t.Errorf("sample line lacks %s: %s", key, line)
		}
	}
}

// TestEncoderProtocols: v0.3 encodes separately; v0.4 moves the
// context's trailing whitespace to the continuation and encodes jointly.
func TestEncoderProtocols(t *testing.T) {
	tok := byteTokenizer{vocab: 256}
	r := task.Request{Context: "ab \n", Continuation: " c"}
	v3, _ := Encoder{Tok: tok, Protocol: task.HarnessV03, Pad: []int{187 % 256}}.Encode(r)
	if !reflect.DeepEqual(v3, Tokens{[]int{187, 'a', 'b', ' ', '\n'}, []int{' ', 'c'}}) {
		t.Errorf("v0.3: %v", v3)
	}
	v4, _ := Encoder{Tok: tok, Protocol: task.HarnessV04}.Encode(r)
	if !reflect.DeepEqual(v4, Tokens{[]int{'a', 'b'}, []int{' ', '\n', ' ', 'c'}}) {
		t.Errorf("v0.4: %v", v4)
	}
	// no pad and an empty context: the end-of-text token stands in.
	e, _ := Encoder{Tok: tok, Protocol: task.HarnessV04}.Encode(task.Request{Context: "  ", Continuation: "x"})
	if !reflect.DeepEqual(e, Tokens{[]int{0}, []int{' ', ' ', 'x'}}) {
		t.Errorf("empty context: %v", e)
	}
	if _, err := (Encoder{Tok: tok}).Encode(task.Request{Context: "a", Continuation: ""}); err == nil {
		t.Error("empty continuation accepted")
	}
}
