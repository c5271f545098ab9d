#!/usr/bin/env python3
"""Writes the hostile-but-small inputs of bench/hostile/run.sh (stdlib only).

Each is a file that once cost mlsec (or still costs other scanners) far more
time or memory than its size: nested zips, a deep pickle, many members, a
sparse 20 GB file for --digest.

Usage: make.py OUT_DIR            write the inputs
       make.py --summary REPORT   one line on an mlsec JSON report"""

import io
import json
import os
import sys
import zipfile

EVIL = b"cos\nsystem\n(S'id'\ntR."  # protocol-0 os.system('id')


def nested_zip(depth, width, inner):
    data = inner
    for _ in range(depth):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(width):
                z.writestr(f"m{i}.pkl" if data is inner else f"m{i}.zip", data)
        data = buf.getvalue()
    return data


def summary(path):
    """Findings kept, findings folded into them, rule ids, verdict."""
    try:
        doc = json.load(open(path))
    except (OSError, ValueError):
        return "no JSON report"
    findings = doc.get("findings", [])
    folded = sum(f["evidence"].get("folded", 0) for f in findings if isinstance(f.get("evidence"), dict))
    rules = " ".join(sorted({f["rule"] for f in findings})) or "none"
    verdicts = [f.get("verdict") for f in doc.get("details", {}).get("files", [])]
    return f"{len(findings)} findings (+{folded:,} folded), rules {rules}; verdict {', '.join(v for v in verdicts if v)}"


def main():
    if sys.argv[1] == "--summary":
        print(summary(sys.argv[2]))
        return
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    def put(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data):,} bytes")

    # 16^5 = 1,048,576 malicious pickles in ~30 KB.
    put("nested_5x16.zip", nested_zip(5, 16, EVIL))
    # 16^4 = 65,536 in a few KB.
    put("nested_4x16.zip", nested_zip(4, 16, EVIL))
    # 100,000 stored members, each a malicious pickle: one finding, not 100,000.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(100_000):
            z.writestr(f"p{i}.pkl", EVIL)
    put("members_100k.zip", buf.getvalue())
    # 80 members of 1 MiB of one byte: 80 MiB from about 80 KB.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(80):
            z.writestr(f"w{i}.bin", b"\x07" * ((1 << 20) - 1))
    put("inflate_80x1m.zip", buf.getvalue())
    # None wrapped in 200,000 one-tuples: a stack overflow in recursive code.
    put("deep_tuple_200k.pkl", b"\x80\x02N" + b"\x85" * 200_000 + b".")
    # 20 GB of holes, for `scan --digest` (hashing must stream, not map).
    path = os.path.join(out, "sparse_20g.bin")
    with open(path, "wb") as f:
        f.truncate(20 << 30)
    print(f"sparse_20g.bin: {20 << 30:,} bytes (sparse)")


if __name__ == "__main__":
    main()
