#!/usr/bin/env python3
"""Presidio's pattern recognizers over the cells of the first ROWS rows of a CSV,
one analyze call per cell (as a per-cell scanner must), the way
bench/pii/presidio_compare.py runs them: predefined recognizers with
nlp_artifacts=None (no spaCy model), duplicate removal. Prints bytes, seconds,
MB/s and the number of spans as JSON.

    presidio_csv.py FILE.csv ROWS
"""
import csv
import json
import logging
import sys
import time

logging.disable(logging.WARNING)

from presidio_analyzer import EntityRecognizer  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer, DateRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer, PhoneRecognizer, UsSsnRecognizer)


def main():
    path, rows = sys.argv[1], int(sys.argv[2])
    recs = [EmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer(), UsSsnRecognizer(), IpRecognizer(), DateRecognizer()]
    cells = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for i, row in enumerate(reader):
            if i >= rows:
                break
            cells.extend(row)
    nbytes = sum(len(c.encode()) + 1 for c in cells)
    spans = 0
    start = time.perf_counter()
    for c in cells:
        results = []
        for r in recs:
            results += r.analyze(c, r.supported_entities, None)
        spans += len(EntityRecognizer.remove_duplicates(results))
    secs = time.perf_counter() - start
    print(json.dumps({"rows": rows, "bytes": nbytes, "seconds": round(secs, 3), "mb_per_s": round(nbytes / secs / 1e6, 4), "spans": spans}))


if __name__ == "__main__":
    main()
