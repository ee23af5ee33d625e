#!/usr/bin/env python3
"""Regenerates the baseline files in this folder (run from the repository root):

    python3 baselines/make_baselines.py PATH/TO/EleutherAI-pythia-checkout

Pythia: the zero-shot lm-evaluation-harness v0.3 results EleutherAI publishes in
evals/pythia-v1/<model>/zero-shot/<size>_step143000.json, reduced to the tasks
rwkv-tools evaluates; values, versions and config are copied unchanged.

RWKV paper: the zero-shot tables of arXiv 2305.13048v1 (Appendix, = RWKV-LM README
RWKV-eval.png/RWKV-eval2.png; transcribed in docs/EVAL-SPEC.md section 4.1 of the
project's shared material), written in the same v0.3 layout. The paper gives
percentages with two decimals and no standard errors; acc-type stderrs are
derived with the harness formula sqrt(p(1-p)/(n-1)) from the rounded value and the
task's document count n.
"""
import json, math, os, subprocess, sys

PYTHIA_TASKS = ["arc_challenge", "arc_easy", "lambada_openai", "piqa", "sciq", "winogrande"]
PYTHIA_MODELS = ["70m", "160m", "410m", "1.4b", "2.8b", "6.9b", "12b",
                 "70m-deduped", "160m-deduped", "410m-deduped", "1b-deduped", "1.4b-deduped",
                 "2.8b-deduped", "6.9b-deduped", "12b-deduped"]

# Documents per task in the harness split (EVAL-SPEC section 1; storycloze_2016
# test 1871, hellaswag validation 10042, sciq test 1000, record validation 10000).
N = {"lambada_openai": 5153, "piqa": 1838, "storycloze_2016": 1871, "hellaswag": 10042,
     "winogrande": 1267, "arc_challenge": 1172, "arc_easy": 2376, "headqa_en": 2742,
     "openbookqa": 500, "sciq": 1000, "record": 10000, "copa": 100}

# Paper columns: (task, metric) as labelled in the paper.
COLUMNS = [("lambada_openai", "ppl"), ("lambada_openai", "acc"), ("piqa", "acc"),
           ("storycloze_2016", "acc"), ("hellaswag", "acc_norm"), ("winogrande", "acc"),
           ("arc_challenge", "acc_norm"), ("arc_easy", "acc"), ("headqa_en", "acc_norm"),
           ("openbookqa", "acc_norm"), ("sciq", "acc"), ("triviaqa", "acc"), ("record", "em"),
           ("copa", "acc")]

# file name, model_args, row (the paper's columns, percentages except LAMBADA ppl)
PAPER = [
    ("rwkv4-pile-169m", "pretrained=BlinkDL/rwkv-4-pile-169m", [29.33, 32.99, 65.07, 58.79, 32.26, 50.83, 24.15, 47.47, 25.78, 29.60, 77.50, 1.26, 62.03, 66.00]),
    ("rwkv4-pile-430m", "pretrained=BlinkDL/rwkv-4-pile-430m", [13.04, 45.16, 67.52, 63.87, 40.90, 51.14, 25.17, 52.86, 27.32, 32.40, 80.30, 2.35, 70.48, 65.00]),
    ("rwkv4-pile-1.5b", "pretrained=BlinkDL/rwkv-4-pile-1b5", [7.04, 56.43, 72.36, 68.73, 52.48, 54.62, 29.44, 60.48, 27.64, 34.00, 85.00, 5.65, 76.97, 77.00]),
    ("rwkv4-pile-3b", "pretrained=BlinkDL/rwkv-4-pile-3b (ctx4k)", [5.25, 63.96, 74.16, 70.71, 59.89, 59.59, 33.11, 65.19, 28.45, 37.00, 86.50, 11.68, 80.87, 82.00]),
    ("rwkv4-pile-7b", "pretrained=BlinkDL/rwkv-4-pile-7b", [4.38, 67.18, 76.06, 73.44, 65.51, 61.01, 37.46, 67.80, 31.22, 40.20, 88.80, 18.30, 83.68, 85.00]),
    ("rwkv4-pile-14b", "pretrained=BlinkDL/rwkv-4-pile-14b (ctx8192)", [3.86, 70.83, 77.48, 76.06, 70.65, 63.85, 38.99, 70.24, 32.64, 41.80, 90.40, 24.58, 85.67, 85.00]),
    ("rwkv-paper-pythia-160m", "pretrained=EleutherAI/pythia-160m (the RWKV paper's run)", [24.38, 38.97, 62.68, 58.47, 31.63, 52.01, 23.81, 45.12, 25.82, 29.20, 76.50, 1.31, 66.32, 62.00]),
    ("rwkv-paper-pythia-410m", "pretrained=EleutherAI/pythia-410m (the RWKV paper's run)", [11.58, 50.44, 66.70, 62.64, 39.10, 53.35, 25.77, 50.38, 25.09, 30.00, 81.50, 2.03, 75.05, 67.00]),
    ("rwkv-paper-pythia-1.4b", "pretrained=EleutherAI/pythia-1.4b (the RWKV paper's run)", [6.58, 60.43, 71.11, 67.66, 50.82, 56.51, 28.58, 57.74, 27.02, 30.80, 85.50, 5.52, 81.43, 73.00]),
    ("rwkv-paper-pythia-2.8b", "pretrained=EleutherAI/pythia-2.8b (the RWKV paper's run)", [4.93, 65.36, 73.83, 70.71, 59.46, 61.25, 32.25, 62.84, 28.96, 35.20, 87.70, 9.63, 85.10, 77.00]),
    ("rwkv-paper-pythia-6.9b", "pretrained=EleutherAI/pythia-6.9b (the RWKV paper's run)", [4.30, 67.98, 74.54, 72.96, 63.92, 61.01, 35.07, 66.79, 28.59, 38.00, 90.00, 15.42, 86.44, 85.00]),
    ("rwkv-paper-pythia-12b", "pretrained=EleutherAI/pythia-12b (the RWKV paper's run)", [3.89, 70.44, 75.90, 74.40, 67.38, 64.72, 36.77, 69.82, 30.74, 38.80, 91.80, 20.57, 87.58, 82.00]),
]

PAPER_SOURCE = ("RWKV paper, arXiv 2305.13048v1, Appendix zero-shot tables (= BlinkDL/RWKV-LM README "
                "RWKV-eval.png / RWKV-eval2.png); percentages converted to fractions; acc/acc_norm/em "
                "stderrs derived as sqrt(p(1-p)/(n-1)) from the rounded value (the paper publishes none); "
                "harness version not named by the paper (pre-v0.4, so the v0.3 protocol)")


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def pythia(checkout):
    commit = subprocess.check_output(["git", "-C", checkout, "rev-parse", "HEAD"], text=True).strip()
    for model in PYTHIA_MODELS:
        size = model
        rel = f"evals/pythia-v1/pythia-{model}/zero-shot/{size}_step143000.json"
        with open(os.path.join(checkout, rel)) as f:
            src = json.load(f)
        out = {
            "source": f"EleutherAI/pythia {rel} at commit {commit} (Apache-2.0), tasks of EVAL-SPEC section 4.2 copied unchanged",
            "results": {t: src["results"][t] for t in PYTHIA_TASKS},
            "versions": {t: src["versions"][t] for t in PYTHIA_TASKS},
            "config": src["config"],
        }
        dump(f"baselines/pythia-{model}.json", out)


def paper():
    for name, args, row in PAPER:
        results = {}
        for (task, metric), v in zip(COLUMNS, row):
            r = results.setdefault(task, {})
            if metric == "ppl":
                r["ppl"] = v
                continue
            p = round(v / 100, 4)
            r[metric] = p
            if task in N:
                r[metric + "_stderr"] = math.sqrt(p * (1 - p) / (N[task] - 1))
        out = {
            "source": PAPER_SOURCE,
            "results": dict(sorted(results.items())),
            "config": {"model_args": args, "num_fewshot": 0, "limit": None},
        }
        dump(f"baselines/{name}.json", out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    pythia(sys.argv[1])
    paper()
