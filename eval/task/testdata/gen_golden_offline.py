"""Writes golden-offline.jsonl: the requests the harness builds from the small
official-format files in this folder (hellaswag, sciq, storycloze_2016,
record), with the HF builders' reading code and the harness' task code (v0.3;
v0.4 where it differs), for eval/task's tests. Run from this folder:
    python3 gen_golden_offline.py > golden-offline.jsonl
"""
import csv
import json
import re

rows = []


def emit(task, protocol, i, reqs, gold=-1, answers=None):
    rows.append({"task": task, "protocol": protocol, "doc": i, "gold": gold,
                 "answers": answers, "requests": [list(r) for r in reqs]})


def preprocess(text):  # harness HellaSwag.preprocess
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


with open("hellaswag/hellaswag_val.jsonl") as f:
    for i, row in enumerate(f):
        d = json.loads(row)
        ctx = d.get("ctx_a", "") + " " + d.get("ctx_b", "").capitalize()
        q = preprocess(d["activity_label"] + ": " + ctx)
        for p in ("harness-v0.3", "harness-v0.4"):
            emit("hellaswag", p, i, [(q, " " + preprocess(e)) for e in d["endings"]], int(str(d["label"])))

for i, d in enumerate(json.load(open("sciq/test.json", encoding="utf-8"))):
    choices = [d["distractor1"], d["distractor2"], d["distractor3"], d["correct_answer"]]
    v3 = "{}\nQuestion: {}\nAnswer:".format(d["support"], d["question"]).strip()
    v4 = d["support"].lstrip() + "\nQuestion: " + d["question"] + "\nAnswer:"
    emit("sciq", "harness-v0.3", i, [(v3, " " + c) for c in choices], 3)
    emit("sciq", "harness-v0.4", i, [(v4, " " + c) for c in choices], 3)

with open("storycloze_2016/cloze_test_test__spring2016 - cloze_test_ALL_test.csv", encoding="utf-8") as f:
    r = csv.reader(f, quotechar='"', delimiter=",", quoting=csv.QUOTE_ALL, skipinitialspace=True)
    next(r)
    i = 0
    for row in r:
        if row and len(row) == 8:
            ctx = " ".join(row[1:5])
            for p in ("harness-v0.3", "harness-v0.4"):
                emit("storycloze_2016", p, i, [(ctx, " " + row[5]), (ctx, " " + row[6])], int(row[7]) - 1)
            i += 1

i = 0
with open("record/val.jsonl", encoding="utf-8") as f:
    for line in f:
        row = json.loads(line)
        text = row["passage"]["text"]
        entities = sorted(set(text[e["start"]: e["end"] + 1] for e in row["passage"]["entities"]))
        initial, *highlights = text.strip().split("\n@highlight\n")
        ctx = initial + "\n\n" + "".join(f"  - {h}.\n" for h in highlights)
        for qa in row["qas"]:
            answers = sorted(set(a["text"] for a in qa["answers"]))
            fmt = lambda e: f"  - {qa['query']}".replace("@placeholder", e)
            emit("record", "harness-v0.3", i, [(ctx, fmt(e)) for e in entities], answers=answers)
            emit("record", "harness-v0.4", i, [(ctx, " " + fmt(e)) for e in entities], answers=answers)
            i += 1

for r in rows:
    print(json.dumps(r, ensure_ascii=False))
