"""Writes golden-requests.jsonl: the requests of the first two documents of
every task with data in shared/data, built straight from the files with the
harness' own expressions (v0.3 task code; v0.4 differs here only for COPA).
An independent reference for eval/task's loaders; run from shared/data:
    cd shared/data && python3 .../gen_golden.py > .../golden-requests.jsonl
"""
import json
import xml.etree.ElementTree as ET

rows = []


def emit(task, i, reqs, gold, protocols=("harness-v0.3", "harness-v0.4")):
    for p in protocols:
        rows.append({"task": task, "protocol": p, "doc": i, "gold": gold,
                     "requests": [list(r) for r in reqs]})


L = open("lambada_openai/lambada_test.jsonl", encoding="utf-8").read().splitlines()
for i in range(2):
    t = json.loads(L[i])["text"]
    emit("lambada_openai", i, [(t.rsplit(" ", 1)[0], " " + t.rsplit(" ", 1)[1])], -1)

L = open("piqa/valid.jsonl", encoding="utf-8").read().splitlines()
lab = open("piqa/valid-labels.lst").read().splitlines()
for i in range(2):
    d = json.loads(L[i])
    ctx = "Question: " + d["goal"] + "\nAnswer:"
    emit("piqa", i, [(ctx, " " + d["sol1"]), (ctx, " " + d["sol2"])], int(lab[i]))

L = open("winogrande/dev.jsonl", encoding="utf-8").read().splitlines()
for i in range(2):
    d = json.loads(L[i])
    k = d["sentence"].index("_")
    cont = " " + d["sentence"][k + 1:].strip()
    emit("winogrande", i, [(d["sentence"][:k] + d["option1"], cont), (d["sentence"][:k] + d["option2"], cont)],
         {"1": 0, "2": 1}[d["answer"]])

for t in ["arc_easy", "arc_challenge", "openbookqa"]:
    L = open(t + "/test.json", encoding="utf-8").read().splitlines()
    for i in range(2):
        d = json.loads(L[i])
        ctx = d["centerpiece"] if t == "openbookqa" else "Question: " + d["centerpiece"] + "\nAnswer:"
        emit(t, i, [(ctx, " " + o) for o in d["options"]], d["correct_options_idx"][0])

L = open("boolq/val.jsonl", encoding="utf-8").read().splitlines()
for i in range(2):
    d = json.loads(L[i])
    ctx = f"{d['passage']}\nQuestion: {d['question']}?\nAnswer:"
    emit("boolq", i, [(ctx, " no"), (ctx, " yes")], int(d["label"]))

d = json.load(open("headqa_en/test_HEAD_EN.json", encoding="utf-8"))
qs = [q for e in d["exams"].values() for q in e["data"]]
for i in range(2):
    x = qs[i]
    ctx = "Question: " + x["qtext"].strip() + "\nAnswer:"
    emit("headqa_en", i, [(ctx, " " + a["atext"].strip()) for a in x["answers"]], int(x["ra"]) - 1)

root = ET.parse("copa/copa-dev.xml").getroot()
items = [it for it in root.findall("item") if 401 <= int(it.get("id")) <= 500]
for i in range(2):
    it = items[i]
    conn = {"cause": "because", "effect": "therefore"}[it.get("asks-for")]
    ctx = it.find("p").text.strip()[:-1] + " " + conn
    cv = lambda c: c[0].lower() + c[1:]
    gold = int(it.get("most-plausible-alternative")) - 1
    a1, a2 = cv(it.find("a1").text), cv(it.find("a2").text)
    emit("copa", i, [(ctx, " " + a1), (ctx, " " + a2)], gold, ["harness-v0.3"])
    emit("copa", i, [(ctx, "  " + a1), (ctx, "  " + a2)], gold, ["harness-v0.4"])

for r in rows:
    print(json.dumps(r, ensure_ascii=False))
