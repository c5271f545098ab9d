#!/usr/bin/env python3
"""Compare mlsec-pii with Microsoft Presidio's pattern recognizers.

Quality: both tools on bench/pii/eval.jsonl, per-entity precision, recall, F1.
A prediction is a true positive when a gold span of the same entity overlaps
it with intersection-over-union >= 0.5; each gold span is matched once (the
rule of crates/mlsec-pii/tests/eval.rs).

Presidio runs its predefined recognizers directly with nlp_artifacts=None
(EmailRecognizer, PhoneRecognizer, CreditCardRecognizer, IbanRecognizer,
UsSsnRecognizer, IpRecognizer, DateRecognizer), i.e. without a spaCy model and
without its context enhancer, at the AnalyzerEngine default score threshold 0,
with Presidio's own duplicate removal. Its entity names map to ours; its
DATE_TIME (any date) is scored against DATE_OF_BIRTH, the nearest it has.
Presidio ships no recognizers for the secret entities.

Throughput: both tools over the same CSV-like corpus, one call per line.
"""
import argparse
import json
import os
import logging
import time

logging.disable(logging.WARNING)

from presidio_analyzer import EntityRecognizer  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer, DateRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer, PhoneRecognizer, UsSsnRecognizer)

PRESIDIO_TO_MLSEC = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN",
                     "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS", "DATE_TIME": "DATE_OF_BIRTH"}
SHARED = list(dict.fromkeys(PRESIDIO_TO_MLSEC.values()))
ALL = ["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "DATE_OF_BIRTH", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
       "GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY", "GOOGLE_API_KEY", "OPENAI_KEY", "JWT", "PRIVATE_KEY",
       "PASSWORD", "GENERIC_SECRET"]


def recognizers():
    return [EmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer(), UsSsnRecognizer(), IpRecognizer(), DateRecognizer()]


def presidio_spans(recs, text):
    results = []
    for r in recs:
        results += r.analyze(text, r.supported_entities, None)
    results = EntityRecognizer.remove_duplicates(results)
    return [{"entity": PRESIDIO_TO_MLSEC[x.entity_type], "start": x.start, "end": x.end}
            for x in results if x.entity_type in PRESIDIO_TO_MLSEC and x.score > 0]


def iou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 0.0


def score(records, predictions, entities):
    counts = {e: [0, 0, 0] for e in entities}  # tp, fp, fn
    for rec, pred in zip(records, predictions):
        gold = [g for g in rec["spans"] if g["entity"] in counts]
        used = [False] * len(gold)
        for p in pred:
            if p["entity"] not in counts:
                continue
            hit = next((i for i, g in enumerate(gold) if not used[i] and g["entity"] == p["entity"]
                        and iou((p["start"], p["end"]), (g["start"], g["end"])) >= 0.5), None)
            if hit is None:
                counts[p["entity"]][1] += 1
            else:
                used[hit] = True
                counts[p["entity"]][0] += 1
        for g, u in zip(gold, used):
            if not u:
                counts[g["entity"]][2] += 1
    table = {}
    for e, (tp, fp, fn) in counts.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        table[e] = (p, r, f)
    return table


def presidio_throughput(corpus, mb):
    recs = recognizers()
    lines, size = [], 0
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            lines.append(line.rstrip("\n"))
            size += len(line.encode())
            if size >= mb * 1_000_000:
                break
    start = time.perf_counter()
    for line in lines:
        presidio_spans(recs, line)
    return size / (time.perf_counter() - start) / 1e6, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True)
    ap.add_argument("--mlsec-pred", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--mlsec-throughput", required=True, help="output of the throughput example on --corpus")
    ap.add_argument("--presidio-mb", type=float, default=2.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    records = [json.loads(line) for line in open(args.eval, encoding="utf-8")]
    mlsec_pred = [json.loads(line)["spans"] for line in open(args.mlsec_pred, encoding="utf-8")]
    if len(mlsec_pred) != len(records):
        raise SystemExit(f"error: {args.mlsec_pred}: {len(mlsec_pred)} predictions for {len(records)} records")
    recs = recognizers()
    presidio_pred = [presidio_spans(recs, r["text"]) for r in records]
    ours = score(records, mlsec_pred, ALL)
    theirs = score(records, presidio_pred, SHARED)

    tp_lines = open(args.mlsec_throughput, encoding="utf-8").read().splitlines()
    mlsec_1 = float(next(l for l in tp_lines if l.startswith("1 thread")).split()[-2])
    mlsec_n_line = next(l for l in tp_lines if "threads:" in l)
    mlsec_n = float(mlsec_n_line.split()[-2])
    cpu_line = next((l for l in tp_lines if l.startswith("per CPU-second")), None)
    mlsec_cpu = float(cpu_line.split()[-2]) if cpu_line else None
    presidio_mbs, presidio_bytes = presidio_throughput(args.corpus, args.presidio_mb)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    out = ["# mlsec-pii vs Presidio (pattern recognizers)", "",
           f"Evaluation set: `bench/pii/eval.jsonl`, {len(records)} records, "
           f"{sum(len(r['spans']) for r in records)} labelled spans (positives and hard negatives for every entity).",
           "Match rule: same entity and IoU >= 0.5. Presidio: predefined recognizers, no spaCy model, score threshold 0, "
           "its DATE_TIME scored as DATE_OF_BIRTH. `-`: Presidio has no recognizer for the entity.", "",
           "| entity | mlsec P | mlsec R | mlsec F1 | Presidio P | Presidio R | Presidio F1 |", "|---|---|---|---|---|---|---|"]
    for e in ALL:
        p, r, f = ours[e]
        row = f"| {e} | {p:.3f} | {r:.3f} | {f:.3f} |"
        if e in theirs:
            tp_, tr, tf = theirs[e]
            row += f" {tp_:.3f} | {tr:.3f} | {tf:.3f} |"
        else:
            row += " - | - | - |"
        out.append(row)
    out += ["", "Throughput on the same synthesized CSV-like corpus (`make_eval.py --corpus`), one call per line:", "",
            "| tool | MB/s |", "|---|---|",
            f"| mlsec-pii, 1 thread | {mlsec_1:.0f} |",
            *([f"| mlsec-pii, per CPU-second (independent of other load) | {mlsec_cpu:.0f} |"] if mlsec_cpu else []),
            f"| mlsec-pii, {mlsec_n_line.split()[0]} threads | {mlsec_n:.0f} |",
            f"| Presidio pattern recognizers, 1 process (first {presidio_bytes / 1e6:.1f} MB) | {presidio_mbs:.2f} |", "",
            f"Speed ratio (1 thread vs 1 process): {mlsec_1 / presidio_mbs:.0f}x.",
            f"Machine: {os.cpu_count()} CPUs, load average {load:.1f} when Presidio finished (wall-clock figures drop on a shared machine)."]
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
    print("\n".join(out))
    worse = [e for e in SHARED if ours[e][2] <= theirs[e][2]]
    if worse:
        print(f"note: mlsec F1 not above Presidio for {', '.join(worse)}")


if __name__ == "__main__":
    main()
