package eval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/rwkv-tools/rwkv-tools/eval/task"
)

// Options control one task's evaluation.
type Options struct {
	Encoder Encoder
	// Workers score documents in parallel, each with its own state
	// (<= 0: GOMAXPROCS). Results do not depend on it.
	Workers int
	// BootstrapIters for the perplexity stderr (the harness' default is
	// 100000; 0 skips it and reports NaN).
	BootstrapIters int
	// CheckScoring also scores every request from scratch (fresh state,
	// every row) and records the largest difference (Result.Check).
	CheckScoring bool
	// Progress, when non-nil, is called after each document with the
	// documents done and tokens fed so far (from several goroutines,
	// serialized).
	Progress func(done int, tokens int64)
}

// DocResult is one document's outcome.
type DocResult struct {
	Doc    task.Doc
	Scores []Score // one per request
	// Metrics holds the per-document values that the task's metrics
	// aggregate (acc 0/1, acc_norm, LAMBADA's ll under "ppl", em, f1).
	Metrics map[string]float64
}

// Metric is one aggregate value with its standard error.
type Metric struct {
	Name   string
	Value  float64
	Stderr float64
}

// CheckReport compares the shared-prefix scoring with from-scratch scoring.
type CheckReport struct {
	Requests         int
	MaxAbsLLDiff     float64
	GreedyMismatches int
}

// Result is one task's evaluation.
type Result struct {
	Task     *task.Task
	Protocol task.Protocol
	Docs     []DocResult
	Metrics  []Metric
	Tokens   int64 // tokens fed to the model
	Check    *CheckReport
}

// Evaluate scores docs on m and aggregates the task's metrics. Documents
// are shared out to workers; each result lands at its document's index, so
// the outcome is identical for any worker count. A cancelled ctx stops it
// with ctx's error.
func Evaluate(ctx context.Context, m Model, t *task.Task, docs []task.Doc, opts Options) (*Result, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(docs)))
	res := &Result{Task: t, Protocol: opts.Encoder.Protocol, Docs: make([]DocResult, len(docs))}
	if opts.CheckScoring {
		res.Check = &CheckReport{}
	}
	var (
		next   atomic.Int64
		mu     sync.Mutex
		done   int
		tokens int64
	)
	g, gctx := errgroup.WithContext(ctx)
	for range workers {
		g.Go(func() error {
			s := NewScorer(m)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(docs) {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				fed := s.Fed
				dr, chk, err := scoreDoc(s, t, docs[i], opts)
				if err != nil {
					return fmt.Errorf("%s doc %d: %w", t.Name, docs[i].ID, err)
				}
				res.Docs[i] = dr
				mu.Lock()
				done++
				tokens += s.Fed - fed
				if chk != nil {
					res.Check.Requests += chk.Requests
					res.Check.GreedyMismatches += chk.GreedyMismatches
					res.Check.MaxAbsLLDiff = max(res.Check.MaxAbsLLDiff, chk.MaxAbsLLDiff)
				}
				if opts.Progress != nil {
					opts.Progress(done, tokens)
				}
				mu.Unlock()
			}
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	res.Tokens = tokens
	var err error
	res.Metrics, err = Aggregate(ctx, t, res.Docs, opts.BootstrapIters)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func scoreDoc(s *Scorer, t *task.Task, d task.Doc, opts Options) (DocResult, *CheckReport, error) {
	reqs := make([]Tokens, len(d.Requests))
	for j, r := range d.Requests {
		var err error
		if reqs[j], err = opts.Encoder.Encode(r); err != nil {
			return DocResult{}, nil, fmt.Errorf("request %d: %w", j, err)
		}
	}
	scores, err := s.ScoreDoc(reqs)
	if err != nil {
		return DocResult{}, nil, err
	}
	var chk *CheckReport
	if opts.CheckScoring {
		chk = &CheckReport{Requests: len(reqs)}
		for j, r := range reqs {
			want, err := s.ScoreFromScratch(r)
			if err != nil {
				return DocResult{}, nil, err
			}
			chk.MaxAbsLLDiff = max(chk.MaxAbsLLDiff, math.Abs(want.LL-scores[j].LL))
			if want.Greedy != scores[j].Greedy {
				chk.GreedyMismatches++
			}
		}
	}
	dr := DocResult{Doc: d, Scores: scores, Metrics: map[string]float64{}}
	if err := docMetrics(t, &dr); err != nil {
		return DocResult{}, nil, err
	}
	return dr, chk, nil
}

// docMetrics fills a document's per-example metric values.
func docMetrics(t *task.Task, dr *DocResult) error {
	d := dr.Doc
	lls := make([]float64, len(dr.Scores))
	for i, s := range dr.Scores {
		lls[i] = s.LL
	}
	switch t.Kind {
	case task.Loglikelihood:
		if len(lls) != 1 {
			return fmt.Errorf("%d requests, a loglikelihood task has one", len(lls))
		}
		dr.Metrics["ppl"] = lls[0]
		dr.Metrics["acc"] = b2f(dr.Scores[0].Greedy)
	case task.MultipleChoice:
		if len(d.Choices) != len(lls) || d.Gold < 0 || d.Gold >= len(lls) {
			return fmt.Errorf("%d choices, %d requests, gold %d: inconsistent document", len(d.Choices), len(lls), d.Gold)
		}
		dr.Metrics["acc"], dr.Metrics["acc_norm"] = MultipleChoice(lls, d.Choices, d.Gold)
	case task.Entities:
		if len(d.Choices) != len(lls) || len(lls) == 0 {
			return fmt.Errorf("%d entities, %d requests: inconsistent document", len(d.Choices), len(lls))
		}
		dr.Metrics["em"], dr.Metrics["f1"] = Entities(lls, d.Choices, d.Answers)
	default:
		return fmt.Errorf("unknown task kind %d", t.Kind)
	}
	return nil
}

// Aggregate computes the task's metrics over documents, in t.Metrics'
// order: "ppl" is exp(-mean ll) with the bootstrap stderr, every other
// metric a mean with mean_stderr.
func Aggregate(ctx context.Context, t *task.Task, docs []DocResult, bootstrapIters int) ([]Metric, error) {
	var out []Metric
	for _, name := range t.Metrics {
		xs := make([]float64, len(docs))
		for i, d := range docs {
			v, ok := d.Metrics[name]
			if !ok {
				return nil, fmt.Errorf("%s: document %d has no %s value", t.Name, d.Doc.ID, name)
			}
			xs[i] = v
		}
		mt := Metric{Name: name}
		if name == "ppl" {
			mt.Value = Perplexity(xs)
			mt.Stderr = math.NaN()
			if bootstrapIters > 0 {
				mt.Stderr = BootstrapStderr(Perplexity, xs, bootstrapIters, func() bool { return ctx.Err() != nil })
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
		} else {
			mt.Value = Mean(xs)
			mt.Stderr = MeanStderr(xs)
		}
		out = append(out, mt)
	}
	return out, nil
}
