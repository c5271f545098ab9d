#!/usr/bin/env python3
"""Drift benchmark: `mlsec data drift` vs scipy's per-column tests vs Evidently's
DataDriftPreset on the same seeded 1,000,000-row by 20-column Parquet pair
(issue 19, drift part). See bench/quality/README.md.

    drift.py gen [--force]   seeded inputs + ground truth in bench/work/drift/
    drift.py scipy           time ks_2samp / chi2_contingency per column (read + tests)
    drift.py evidently       time Evidently's DataDriftPreset (read + report, no HTML)
    drift.py mlsec           time `mlsec data drift REF CUR -f json`, peak RSS
    drift.py compare         mlsec's KS / chi-square vs scipy's to 1e-9; verdicts vs truth
    drift.py report          bench/quality/results.md
    drift.py all             gen scipy evidently mlsec compare report
    drift.py big [--gb N]    optional: ~N GB Parquet pair, mlsec's time and peak RSS on it

Environment: MLSEC_BIN (default target/release/mlsec), BENCH_RUNS (mlsec's timed
runs, default 10), BENCH_RUNS_PY (scipy's and Evidently's, default 3),
BENCH_WORK (default bench/work/drift).
"""

import argparse
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORK = os.path.abspath(os.environ.get("BENCH_WORK", os.path.join(ROOT, "bench", "work", "drift")))
MLSEC = os.environ.get("MLSEC_BIN", os.path.join(ROOT, "target", "release", "mlsec"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
RUNS_PY = int(os.environ.get("BENCH_RUNS_PY", "3"))
RESULTS = os.path.join(HERE, "results.md")

SEED = 20261204
ROWS = 1_000_000
ROW_GROUP = 131_072
SMALL_REF, SMALL_CUR = 800, 600
TOL = 1e-9


def w(name):
    return os.path.join(WORK, name)


def load(name, default=None):
    try:
        with open(w(name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def save(name, obj):
    os.makedirs(WORK, exist_ok=True)
    tmp = w(name) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, default=float)
    os.replace(tmp, w(name))


def note(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the data

def _categorical(rng, n, cats, p):
    import numpy as np
    p = np.asarray(p, dtype=float)
    codes = rng.choice(len(cats), size=n, p=p / p.sum())
    return np.asarray(cats, dtype=object)[codes]


def _zipf(k, s=1.1):
    import numpy as np
    r = 1.0 / np.arange(1, k + 1) ** s
    return r / r.sum()


REGIONS = [f"region_{i:02d}" for i in range(10)]
PRODUCTS = [f"sku_{i:03d}" for i in range(50)]
DEVICES = ["desktop", "mobile", "tablet", "tv", "console"]
# Two-letter codes, avoiding "NA" (a missing marker for pandas and mlsec).
COUNTRIES = ["DE", "FR", "US", "GB", "IT", "ES", "NL", "BE", "PL", "SE",
             "AT", "CH", "DK", "FI", "NO", "IE", "PT", "CZ", "HU", "RO"]


def _region_p(cur):
    a = 0.25 if cur else 0.05            # region_00's share: +20 points
    return [a] + [(1 - a) / 9] * 9


def _device_p(cur):
    p = [0.40, 0.25, 0.15, 0.12, 0.08]
    if cur:                               # 12 points from desktop to console
        p = [0.28, 0.25, 0.15, 0.12, 0.20]
    return p


# name -> (kind, truth, how it drifts, generator(rng, n, cur))
def columns():
    import numpy as np

    def missing(x, rng, share):
        x = x.astype(float)
        x[rng.random(len(x)) < share] = np.nan
        return x

    return [
        ("normal_a", "numeric", "strong", "normal(50, 10); CUR mean +1 std (60, 10)",
         lambda r, n, c: r.normal(60.0 if c else 50.0, 10.0, n)),
        ("normal_b", "numeric", "strong", "normal(0, 1); CUR scale x2 (0, 2)",
         lambda r, n, c: r.normal(0.0, 2.0 if c else 1.0, n)),
        ("normal_c", "numeric", "subtle", "normal(100, 15); CUR mean +0.2 std (103, 15)",
         lambda r, n, c: r.normal(103.0 if c else 100.0, 15.0, n)),
        ("counts_poisson20", "numeric", "subtle", "Poisson(20) integers; CUR Poisson(21): +0.22 std",
         lambda r, n, c: r.poisson(21.0 if c else 20.0, n).astype(np.int64)),
        ("normal_d", "numeric", None, "normal(0, 1)", lambda r, n, c: r.normal(0.0, 1.0, n)),
        ("normal_missing", "numeric", None, "normal(10, 2), 5% missing",
         lambda r, n, c: missing(r.normal(10.0, 2.0, n), r, 0.05)),
        ("lognormal_a", "numeric", None, "lognormal(3, 0.5)", lambda r, n, c: r.lognormal(3.0, 0.5, n)),
        ("lognormal_b", "numeric", None, "lognormal(0, 1.5) (heavy tail)",
         lambda r, n, c: r.lognormal(0.0, 1.5, n)),
        ("uniform_a", "numeric", None, "uniform(0, 1)", lambda r, n, c: r.uniform(0.0, 1.0, n)),
        ("uniform_b", "numeric", None, "uniform(-1000, 1000)", lambda r, n, c: r.uniform(-1000.0, 1000.0, n)),
        ("counts_poisson4", "numeric", None, "Poisson(4) integers (about 15 distinct values)",
         lambda r, n, c: r.poisson(4.0, n).astype(np.int64)),
        ("counts_negbin", "numeric", None, "negative binomial(5, 0.1) integers",
         lambda r, n, c: r.negative_binomial(5, 0.1, n).astype(np.int64)),
        ("exponential", "numeric", None, "exponential(scale 2)", lambda r, n, c: r.exponential(2.0, n)),
        ("beta", "numeric", None, "beta(2, 5)", lambda r, n, c: r.beta(2.0, 5.0, n)),
        ("cat_region", "categorical", "strong", "10 categories; region_00's share 5% -> 25% (+20 points)",
         lambda r, n, c: _categorical(r, n, REGIONS, _region_p(c))),
        ("cat_device", "categorical", "subtle",
         "5 categories (40/25/15/12/8%); CUR moves 12 points from desktop to console",
         lambda r, n, c: _categorical(r, n, DEVICES, _device_p(c))),
        ("cat_color", "categorical", None, "3 categories (50/30/20%)",
         lambda r, n, c: _categorical(r, n, ["red", "green", "blue"], [0.5, 0.3, 0.2])),
        ("cat_product", "categorical", None, "50 categories, Zipf(1.1) shares",
         lambda r, n, c: _categorical(r, n, PRODUCTS, _zipf(50))),
        ("cat_flag", "categorical", None, "binary yes/no (30% yes)",
         lambda r, n, c: _categorical(r, n, ["yes", "no"], [0.3, 0.7])),
        ("cat_country", "categorical", None, "20 country codes, Zipf(0.8) shares",
         lambda r, n, c: _categorical(r, n, COUNTRIES, _zipf(20, 0.8))),
    ]


def expected_effect(name):
    """The population effect size Evidently's default method measures at 1M rows."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon
    if name == "normal_a":
        return 1.0                      # W = 10, std 10
    if name == "normal_b":
        return math.sqrt(2 / math.pi)   # E|2Z - Z| = E|Z|
    if name == "normal_c":
        return 0.2
    if name == "counts_poisson20":
        return 1 / math.sqrt(20)
    if name == "cat_region":
        return float(jensenshannon(_region_p(False), _region_p(True)))
    if name == "cat_device":
        return float(jensenshannon(_device_p(False), _device_p(True)))
    return 0.0


def make_frame(n, side):
    """side: 0 ref, 1 cur (the 1M pair); 2 ref, 3 cur (the small CSV pair)."""
    import numpy as np
    import pandas as pd
    data = {}
    for i, (name, kind, truth, _desc, gen) in enumerate(columns()):
        rng = np.random.default_rng([SEED, side, i])
        data[name] = gen(rng, n, side % 2 == 1)
    return pd.DataFrame(data)


def cmd_gen(args):
    import pyarrow as pa
    import pyarrow.parquet as pq
    os.makedirs(WORK, exist_ok=True)
    outs = [w("ref.parquet"), w("cur.parquet"), w("small_ref.csv"), w("small_cur.csv"), w("truth.json")]
    if all(os.path.exists(p) for p in outs) and not args.force:
        note(f"gen: inputs present in {WORK} (gen --force rebuilds)")
        return
    t0 = time.perf_counter()
    for side, path in ((0, "ref.parquet"), (1, "cur.parquet")):
        df = make_frame(ROWS, side)
        table = pa.Table.from_pandas(df, preserve_index=False)   # NaN -> null
        pq.write_table(table, w(path), row_group_size=ROW_GROUP, compression="snappy")
        del df, table
    for side, n, path in ((2, SMALL_REF, "small_ref.csv"), (3, SMALL_CUR, "small_cur.csv")):
        # Python's shortest round-trip repr for floats; missing values as empty cells.
        make_frame(n, side).to_csv(w(path), index=False, na_rep="")
    truth = {
        "seed": SEED, "rows": ROWS, "row_group": ROW_GROUP,
        "small": {"ref_rows": SMALL_REF, "cur_rows": SMALL_CUR},
        "columns": [{"column": name, "kind": kind, "drifted": truth is not None,
                     "strength": truth, "design": desc,
                     "expected_effect": round(expected_effect(name), 4)}
                    for name, kind, truth, desc, _ in columns()],
    }
    save("truth.json", truth)
    meta = pq.ParquetFile(w("ref.parquet")).metadata
    note(f"gen: {ROWS:,} x {meta.num_columns} in {meta.num_row_groups} row groups, "
         f"ref {os.path.getsize(w('ref.parquet')) / 1e6:.1f} MB, cur {os.path.getsize(w('cur.parquet')) / 1e6:.1f} MB, "
         f"{time.perf_counter() - t0:.1f} s")


# ---------------------------------------------------------------- scipy

def scipy_tests(ref_cols, cur_cols, kinds):
    """Per-column two-sample tests: ks_2samp on the numbers (missing dropped),
    chi2_contingency on the 2 x K table of counts over the union of categories."""
    import numpy as np
    from scipy.stats import chi2_contingency, ks_2samp
    out = []
    for name, kind in kinds:
        r, c = ref_cols[name], cur_cols[name]
        if kind == "numeric":
            r = r[~np.isnan(r)]
            c = c[~np.isnan(c)]
            res = ks_2samp(r, c)
            out.append({"column": name, "kind": kind, "method": "ks",
                        "statistic": float(res.statistic), "p_value": float(res.pvalue)})
        else:
            cats = sorted(set(r) | set(c))
            table = [[r.get(k, 0) for k in cats], [c.get(k, 0) for k in cats]]
            res = chi2_contingency(table)
            out.append({"column": name, "kind": kind, "method": "chisquare",
                        "statistic": float(res.statistic), "p_value": float(res.pvalue),
                        "dof": int(res.dof), "categories": len(cats)})
    return out


def _arrow_columns(table):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    cols, kinds = {}, []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            cols[name] = col.to_numpy().astype(np.float64, copy=False)   # nulls -> NaN
            kinds.append((name, "numeric"))
        else:
            vc = pc.value_counts(col.drop_null())
            cols[name] = dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()))
            kinds.append((name, "categorical"))
    return cols, kinds


def run_scipy_parquet(ref_path, cur_path):
    import pyarrow.parquet as pq
    t0, c0 = time.perf_counter(), time.process_time()
    ref, kinds = _arrow_columns(pq.read_table(ref_path))
    cur, _ = _arrow_columns(pq.read_table(cur_path))
    t_read = time.perf_counter()
    res = scipy_tests(ref, cur, kinds)
    t1, c1 = time.perf_counter(), time.process_time()
    return res, {"seconds": t1 - t0, "read_seconds": t_read - t0, "cpu_seconds": c1 - c0}


def run_scipy_csv(ref_path, cur_path):
    import numpy as np
    import pandas as pd

    def cols(path):
        # round_trip: correctly rounded float parsing (pandas' default parser
        # may be off by an ulp), so both tools test the same numbers.
        df = pd.read_csv(path, float_precision="round_trip", keep_default_na=True)
        out, kinds = {}, []
        for name in df.columns:
            s = df[name]
            if pd.api.types.is_numeric_dtype(s):
                out[name] = s.to_numpy(dtype=np.float64)
                kinds.append((name, "numeric"))
            else:
                out[name] = s.dropna().value_counts().to_dict()
                kinds.append((name, "categorical"))
        return out, kinds

    ref, kinds = cols(ref_path)
    cur, _ = cols(cur_path)
    return scipy_tests(ref, cur, kinds)


def cmd_scipy_once(args):
    res, t = run_scipy_parquet(w("ref.parquet"), w("cur.parquet"))
    save(args.out, {"tool": "scipy", "columns": res, **t})


# ---------------------------------------------------------------- Evidently

P_VALUE_LE = ("K-S p_value",)   # Evidently's KS drifts at p <= threshold, other tests at p < threshold


def evidently_verdict(method, value, threshold):
    if "p_value" in method:
        return value <= threshold if method in P_VALUE_LE else value < threshold
    return value >= threshold


def cmd_evidently_once(args):
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset
    t0, c0 = time.perf_counter(), time.process_time()
    ref = pd.read_parquet(w("ref.parquet"))
    cur = pd.read_parquet(w("cur.parquet"))
    t_read = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(cur, ref)     # current, reference
    t1, c1 = time.perf_counter(), time.process_time()
    d = snapshot.dict()
    cols, summary = [], None
    for m in d["metrics"]:
        cfg = m.get("config", {})
        t = cfg.get("type", "")
        if t.endswith("ValueDrift"):
            v = float(m["value"])
            cols.append({"column": cfg["column"], "method": cfg["method"], "threshold": cfg["threshold"],
                         "statistic": v, "drifted": bool(evidently_verdict(cfg["method"], v, cfg["threshold"]))})
        elif t.endswith("DriftedColumnsCount"):
            summary = m["value"]
    save(args.out, {"tool": "evidently", "columns": cols, "drifted_columns": summary,
                    "seconds": t1 - t0, "read_seconds": t_read - t0, "cpu_seconds": c1 - c0})


# ---------------------------------------------------------------- timing

def time_v(argv, stdout_path=None):
    """Run argv under /usr/bin/time -v: wall seconds (perf_counter), peak RSS (KiB),
    CPU seconds (user + system), exit code, stderr."""
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
        tpath = tf.name
    pre = ["/usr/bin/time", "-v", "-o", tpath] if os.path.exists("/usr/bin/time") else []
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.run(pre + list(argv), stdout=out, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if stdout_path:
        out.close()
    rss = cpu = None
    try:
        text = open(tpath).read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        rss = int(m.group(1)) if m else None
        u = re.search(r"User time \(seconds\): ([\d.]+)", text)
        s_ = re.search(r"System time \(seconds\): ([\d.]+)", text)
        cpu = float(u.group(1)) + float(s_.group(1)) if u and s_ else None
    finally:
        os.unlink(tpath)
    return {"wall": dt, "rss": rss, "cpu": cpu, "rc": p.returncode, "stderr": p.stderr.decode(errors="replace")}


def time_python_tool(tool, runs):
    """One warm-up, then `runs` timed runs of `drift.py _TOOL-once`, each a fresh process."""
    if not os.path.exists(w("ref.parquet")):
        sys.exit(f"{tool}: no inputs in {WORK}; run `drift.py gen` first")
    res = {k: [] for k in ("work", "work_cpu", "read", "process", "process_cpu", "rss")}
    for f in ("ref.parquet", "cur.parquet"):          # page cache
        with open(w(f), "rb") as fh:
            while fh.read(1 << 24):
                pass
    # A warm-up run for scipy (cheap); Evidently's (minutes) only with BENCH_WARMUP_EVIDENTLY=1:
    # the files are in the page cache and its modules compiled after its first import.
    warm = 1 if tool == "scipy" else int(os.environ.get("BENCH_WARMUP_EVIDENTLY", "0"))
    for i in range(1 - warm, runs + 1):
        out = f"{tool}-run.json"
        t = time_v([sys.executable, os.path.abspath(__file__), f"_{tool}-once", "--out", out])
        if t["rc"] != 0:
            sys.exit(f"{tool} failed (exit {t['rc']}):\n{t['stderr'][-4000:]}")
        r = load(out)
        label = "warm-up" if i == 0 else f"run {i}/{runs}"
        note(f"{tool} {label}: {r['seconds']:.2f} s read+compute ({r['cpu_seconds']:.2f} s CPU), "
             f"{t['wall']:.2f} s process, {(t['rss'] or 0) / 1024:.0f} MiB peak")
        if i == 0:
            continue
        for k, v in (("work", r["seconds"]), ("work_cpu", r["cpu_seconds"]), ("read", r["read_seconds"]),
                     ("process", t["wall"]), ("process_cpu", t["cpu"]), ("rss", t["rss"])):
            res[k].append(v)
    os.replace(w(f"{tool}-run.json"), w(f"{tool}.json"))
    rss = [x for x in res.pop("rss") if x]
    save(f"t-{tool}.json", {"tool": tool, "runs": runs, **res, "peak_rss_kib": max(rss) if rss else None,
                            "timer": "time.perf_counter / process_time in the process (read + compute), "
                                     "perf_counter and /usr/bin/time -v around it"})


def cmd_scipy(args):
    time_python_tool("scipy", RUNS_PY)


def cmd_evidently(args):
    time_python_tool("evidently", RUNS_PY)


def mlsec_status():
    """(available, version or reason)."""
    if not (os.path.isfile(MLSEC) and os.access(MLSEC, os.X_OK)):
        return False, f"no mlsec binary at {MLSEC} (cargo build --release -p mlsec, or set MLSEC_BIN)"
    p = subprocess.run([MLSEC, "data", "drift", "--help"], capture_output=True, text=True)
    if p.returncode != 0:
        ver = subprocess.run([MLSEC, "--version"], capture_output=True, text=True).stdout.strip()
        return False, f"{MLSEC} ({ver}) has no `data drift` command yet"
    return True, subprocess.run([MLSEC, "--version"], capture_output=True, text=True).stdout.strip()


def run_mlsec_json(ref, cur, extra, out_name):
    """Run mlsec data drift -f json into WORK/out_name; the parsed envelope (exit 0 or 1 is fine)."""
    argv = [MLSEC, "data", "drift", ref, cur, "-f", "json"] + list(extra)
    t = time_v(argv, w(out_name))
    if t["rc"] not in (0, 1):
        note(f"mlsec failed (exit {t['rc']}): {' '.join(map(shlex.quote, argv))}\n{t['stderr'][-2000:]}")
        return None, t
    with open(w(out_name)) as f:
        return json.load(f), t


def cmd_mlsec(args):
    ok, info = mlsec_status()
    if not ok:
        note(f"note: {info}; mlsec is left out")
        save("t-mlsec.json", {"tool": "mlsec", "available": False, "reason": info})
        return
    ref, cur = w("ref.parquet"), w("cur.parquet")
    if not os.path.exists(ref):
        sys.exit(f"mlsec: no inputs in {WORK}; run `drift.py gen` first")
    cmd = [MLSEC, "data", "drift", ref, cur, "-f", "json"]
    import hashlib
    res = {"tool": "mlsec", "available": True, "version": info, "runs": RUNS,
           "sha256": hashlib.sha256(open(MLSEC, "rb").read()).hexdigest()}
    if shutil.which("hyperfine"):
        hf = w("hyperfine-mlsec.json")
        subprocess.run(["hyperfine", "-N", "-i", "--style", "basic", "--warmup", "1", "--runs", str(RUNS),
                        "--export-json", hf, "--", " ".join(map(shlex.quote, cmd))], check=True,
                       stdout=sys.stderr)
        h = json.load(open(hf))["results"][0]
        res["process"] = h["times"]
        res["process_cpu_mean"] = h["user"] + h["system"]
        res["timer"] = "hyperfine -N -i (1 warm-up)"
    else:
        note("note: hyperfine not installed (apt-get install hyperfine); timing with perf_counter")
        res["process"], cpu = [], []
        for i in range(RUNS + 1):
            t = time_v(cmd)
            if i:
                res["process"].append(t["wall"])
                cpu.append(t["cpu"])
        res["process_cpu_mean"] = statistics.mean(cpu) if all(cpu) else None
        res["timer"] = "time.perf_counter around the process (1 warm-up)"
    env, t = run_mlsec_json(ref, cur, [], "mlsec.json")
    res["peak_rss_kib"] = t["rss"]
    res["ok"] = env is not None
    save("t-mlsec.json", res)
    times = res["process"]
    note(f"mlsec: median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
         f"peak {(t['rss'] or 0) / 1024:.0f} MiB")


# ---------------------------------------------------------------- compare

def agree(got, want):
    """(ok, criterion): relative 1e-9, or absolute 1e-9 where |want| < 1e-9."""
    if got is None or want is None:
        return False, "missing"
    if isinstance(got, float) and math.isnan(got) or isinstance(want, float) and math.isnan(want):
        return (math.isnan(got) and math.isnan(want)), "nan"
    d = abs(got - want)
    if abs(want) < TOL:
        return d <= TOL, "abs"
    return d <= TOL * abs(want), "rel"


def holm(pvals, alpha=0.05):
    """Holm's step-down adjusted p-values (as statsmodels' multipletests 'holm')."""
    m = len(pvals)
    order = sorted(range(m), key=lambda i: pvals[i])
    adj, run = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (m - rank) * pvals[i]))
        adj[i] = run
    return adj


def mlsec_columns(env):
    return {c["column"]: c for c in env["details"]["columns"]}


def equality_rows(pair, mlsec_env, scipy_cols):
    rows, per_col = [], []
    mc = mlsec_columns(mlsec_env)
    for s in scipy_cols:
        m = mc.get(s["column"])
        entry = {"pair": pair, "column": s["column"], "kind": s["kind"], "scipy_method": s["method"],
                 "scipy_statistic": s["statistic"], "scipy_p_value": s["p_value"]}
        if m is None:
            entry["error"] = "column missing from mlsec's output"
        else:
            t = m.get("test") or {}
            # With --numeric-method ks --categorical-method chisquare the decision
            # method is the test; fall back to `test` if mlsec chose otherwise.
            src = m if m.get("method") == s["method"] else t
            entry.update({"mlsec_method": src.get("method"), "mlsec_statistic": src.get("statistic"),
                          "mlsec_p_value": src.get("p_value")})
            for k in ("statistic", "p_value"):
                ok, crit = agree(entry[f"mlsec_{k}"], entry[f"scipy_{k}"])
                entry[f"{k}_ok"], entry[f"{k}_criterion"] = ok, crit
                a, b = entry[f"mlsec_{k}"], entry[f"scipy_{k}"]
                if a is not None and b is not None:
                    entry[f"{k}_abs"] = abs(a - b)
                    entry[f"{k}_rel"] = abs(a - b) / abs(b) if b else (0.0 if a == b else math.inf)
        per_col.append(entry)
    return per_col


def verdicts(truth, tool_drifted):
    t = {c["column"]: c["drifted"] for c in truth["columns"]}
    found = [c for c in t if t[c] and tool_drifted.get(c)]
    missed = [c for c in t if t[c] and not tool_drifted.get(c)]
    false = [c for c in t if not t[c] and tool_drifted.get(c)]
    return {"found": found, "missed": missed, "false_alarms": false,
            "drifted_total": sum(t.values()), "columns": len(t)}


def cmd_compare(args):
    truth = load("truth.json")
    if truth is None:
        sys.exit("compare: no truth.json; run `drift.py gen` first")
    out = {"tolerance": TOL, "criterion": "relative 1e-9; absolute 1e-9 where scipy's value is below 1e-9"}
    scipy_big = load("scipy.json")
    scipy_small = run_scipy_csv(w("small_ref.csv"), w("small_cur.csv"))
    save("scipy-small.json", {"columns": scipy_small})

    # Verdicts with each tool's defaults (+ scipy's p-values at 0.05 with and without Holm).
    v = {}
    if scipy_big:
        cols = scipy_big["columns"]
        v["scipy"] = verdicts(truth, {c["column"]: c["p_value"] < 0.05 for c in cols})
        adj = holm([c["p_value"] for c in cols])
        v["scipy_holm"] = verdicts(truth, {c["column"]: a < 0.05 for c, a in zip(cols, adj)})
    ev = load("evidently.json")
    if ev:
        v["evidently"] = verdicts(truth, {c["column"]: c["drifted"] for c in ev["columns"]})
    ok, info = mlsec_status()
    out["mlsec"] = {"available": ok, "info": info}
    eq = []
    if ok:
        env = load("mlsec.json")
        if env is None:
            env, _ = run_mlsec_json(w("ref.parquet"), w("cur.parquet"), [], "mlsec.json")
        if env:
            v["mlsec"] = verdicts(truth, {c["column"]: bool(c["drifted"]) for c in env["details"]["columns"]})
        flags = ["--numeric-method", "ks", "--categorical-method", "chisquare", "--correction", "none"]
        env_ks, _ = run_mlsec_json(w("ref.parquet"), w("cur.parquet"), flags, "mlsec-ks.json")
        env_small, _ = run_mlsec_json(w("small_ref.csv"), w("small_cur.csv"), flags, "mlsec-ks-small.json")
        if env_ks and scipy_big:
            eq += equality_rows("1M Parquet", env_ks, scipy_big["columns"])
            v["mlsec_ks"] = verdicts(truth, {c["column"]: bool(c["drifted"]) for c in env_ks["details"]["columns"]})
        if env_small:
            eq += equality_rows(f"{SMALL_REF}/{SMALL_CUR}-row CSV", env_small, scipy_small)
    else:
        note(f"note: {info}; the equality check and mlsec's verdicts need it")
    out["verdicts"] = v
    out["equality"] = eq
    if eq:
        bad = [e for e in eq if not (e.get("statistic_ok") and e.get("p_value_ok"))]
        out["equality_ok"] = not bad
        for e in bad:
            note(f"DIFFERS {e['pair']} {e['column']}: mlsec {e.get('mlsec_statistic')} / {e.get('mlsec_p_value')} "
                 f"vs scipy {e['scipy_statistic']} / {e['scipy_p_value']}")
    save("compare.json", out)
    for tool, r in v.items():
        note(f"{tool}: found {len(r['found'])}/{r['drifted_total']}, missed {r['missed']}, false alarms {r['false_alarms']}")
    if eq:
        note(f"equality with scipy: {'all agree' if out['equality_ok'] else 'DIFFERENCES (above)'} "
             f"({len(eq)} columns)")


# ---------------------------------------------------------------- report

def versions():
    from importlib.metadata import version
    v = {"python": platform.python_version()}
    for p in ("numpy", "pandas", "pyarrow", "scipy", "evidently"):
        try:
            v[p] = version(p)
        except Exception:
            v[p] = "not installed"
    return v


def machine(stage):
    m = load("machine.json", {})
    if stage == "start" or "cores" not in m:
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
        m.update({"cores": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem / 2**20, 1),
                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "load_start": open("/proc/loadavg").read().split()[0], "nice": os.nice(0)})
    if stage == "end":
        m["load_end"] = open("/proc/loadavg").read().split()[0]
    save("machine.json", m)
    return m


def fmt_s(x):
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def fmt_g(x):
    if x is None:
        return "-"
    if x == 0:
        return "0"
    return f"{x:.3g}" if abs(x) < 1e-3 or abs(x) >= 1e4 else f"{x:.4f}"


def cmd_report(args):
    m = machine("end")
    truth = load("truth.json")
    if truth is None:
        sys.exit("report: no truth.json; run `drift.py gen` first")
    vers = versions()
    tm = {t: load(f"t-{t}.json") for t in ("mlsec", "scipy", "evidently")}
    cmp = load("compare.json", {})
    big = load("big.json")
    L = []
    add = L.append
    add("# Drift benchmark: `mlsec data drift` vs scipy vs Evidently")
    add("")
    add("Generated by `bench/quality/drift.py report` (do not edit by hand); "
        "[README.md](README.md) explains the method.")
    add("")
    add("## Machine and versions")
    add("")
    add(f"- {m.get('cores')} cores ({m.get('cpu')}), {m.get('mem_gib')} GiB memory; shared with other work: "
        f"load average {m.get('load_start')} at the start, {m.get('load_end')} at the end; "
        f"niceness {m.get('nice')}; {m.get('date')}.")
    ml = tm["mlsec"] or {}
    mver = ml.get("version") if ml.get("available") else f"not measured: {ml.get('reason', 'drift.py mlsec not run')}"
    add(f"- mlsec: {mver}" + (f" (binary sha256 {ml['sha256'][:16]}...)" if ml.get("sha256") else ""))
    add(f"- Python {vers['python']}: numpy {vers['numpy']}, pandas {vers['pandas']}, pyarrow {vers['pyarrow']}, "
        f"scipy {vers['scipy']}, evidently {vers['evidently']}.")
    size = lambda p: os.path.getsize(w(p)) / 1e6 if os.path.exists(w(p)) else float("nan")
    add(f"- Input: `ref.parquet` ({size('ref.parquet'):.1f} MB) and `cur.parquet` ({size('cur.parquet'):.1f} MB), "
        f"{truth['rows']:,} rows x {len(truth['columns'])} columns each, row groups of {truth['row_group']:,} rows, "
        f"seed {truth['seed']}.")
    add("")

    add("## Time (1M x 20 Parquet pair, page cache warm)")
    add("")
    add("Wall-clock and CPU (user + system) seconds. For scipy and Evidently, `read + compute` is measured "
        "inside the Python process (reading both files, then the tests or the report; not the interpreter's "
        "start or the imports), `process` around the whole command. mlsec has only `process` (its start is "
        "included). Ratios: the Python tool's median `read + compute` over mlsec's median `process`, for "
        "wall-clock and for CPU time. On a shared machine the CPU ratio is the steadier of the two.")
    add("")
    add("| tool | what | wall, median | wall, min | CPU, median | process wall | process CPU | runs | peak RSS "
        "| x slower than mlsec (wall) | (CPU) |")
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    mlw = statistics.median(ml["process"]) if ml.get("available") and ml.get("process") else None
    mlc = ml.get("process_cpu_mean") if ml.get("available") else None
    what = {"mlsec": "`mlsec data drift ref.parquet cur.parquet -f json` (defaults)",
            "scipy": "pyarrow read; `ks_2samp` x 14, `chi2_contingency` x 6",
            "evidently": "`pd.read_parquet`; `Report([DataDriftPreset()]).run(cur, ref)`, no HTML"}
    med = lambda xs: statistics.median(xs) if xs and all(x is not None for x in xs) else None
    for t in ("mlsec", "scipy", "evidently"):
        r = tm[t]
        if not r or (t == "mlsec" and not r.get("available")):
            add(f"| {t} | {what[t]} | not measured | | | | | | | | |")
            continue
        rss = r.get("peak_rss_kib")
        rss = f"{rss / 1024:.0f} MiB" if rss else "-"
        if t == "mlsec":
            add(f"| mlsec | {what[t]} | {fmt_s(mlw)} | {fmt_s(min(r['process']))} | {fmt_s(mlc)} (mean) | "
                f"{fmt_s(mlw)} | {fmt_s(mlc)} | {len(r['process'])} | {rss} | 1 | 1 |")
            continue
        ww, wc = med(r["work"]), med(r["work_cpu"])
        rw = f"**{ww / mlw:.1f}x**" if mlw and ww else "-"
        rc = f"**{wc / mlc:.1f}x**" if mlc and wc else "-"
        add(f"| {t} | {what[t]} | {fmt_s(ww)} | {fmt_s(min(r['work']))} | {fmt_s(wc)} | "
            f"{fmt_s(med(r['process']))} | {fmt_s(med(r['process_cpu']))} | {len(r['work'])} | {rss} | {rw} | {rc} |")
    sc, evt = tm["scipy"], tm["evidently"]
    if mlw and sc and evt:
        rs, re_ = med(sc["work"]) / mlw, med(evt["work"]) / mlw
        rsc = med(sc["work_cpu"]) / mlc if mlc else None
        rec = med(evt["work_cpu"]) / mlc if mlc else None
        wall_ok = re_ >= 20 and rs > 1
        cpu_ok = rec is not None and rec >= 20 and rsc > 1
        add("")
        add(f"Goal (issue 19): at least 20x faster than Evidently and faster than scipy. Measured: "
            f"Evidently {re_:.1f}x (wall) / " + (f"{rec:.1f}x (CPU)" if rec else "- (CPU)")
            + f", scipy {rs:.1f}x (wall) / " + (f"{rsc:.1f}x (CPU)" if rsc else "- (CPU)") + ": "
            + ("**met** on both." if wall_ok and cpu_ok else "**met** on wall-clock time only." if wall_ok
               else "**met** on CPU time only." if cpu_ok else "**not met**."))
    if sc and sc.get("read"):
        add("")
        add(f"Of these, reading both files takes {fmt_s(statistics.median(sc['read']))} wall for scipy (pyarrow)"
            + (f" and {fmt_s(statistics.median(evt['read']))} for Evidently (`pd.read_parquet`)." if evt else "."))
    add("")

    add("## Verdicts against the ground truth (1M pair, each tool's defaults)")
    add("")
    v = cmp.get("verdicts", {})
    names = [("mlsec", "mlsec defaults (Wasserstein >= 0.1 / Jensen-Shannon >= 0.1 at this size)"),
             ("evidently", "Evidently DataDriftPreset defaults (the same rule)"),
             ("scipy", "scipy KS / chi-square, p < 0.05 per column"),
             ("scipy_holm", "scipy KS / chi-square, Holm-adjusted p < 0.05"),
             ("mlsec_ks", "mlsec `--numeric-method ks --categorical-method chisquare --correction none`")]
    ndrift = sum(c["drifted"] for c in truth["columns"])
    add(f"{ndrift} of {len(truth['columns'])} columns drifted (see the per-column table).")
    add("")
    add("| tool and settings | found | missed | false alarms |")
    add("|---|---|---|---|")
    for k, label in names:
        if k not in v:
            add(f"| {label} | not run | | |")
            continue
        r = v[k]
        add(f"| {label} | {len(r['found'])}/{r['drifted_total']} | {', '.join(r['missed']) or 'none'} | "
            f"{', '.join(r['false_alarms']) or 'none'} |")
    add("")
    add("Per column (statistic of each tool's default method; Evidently and mlsec: normalised Wasserstein "
        "for numbers, Jensen-Shannon distance for categories; scipy: the p-value):")
    add("")
    add("| column | kind | truth | design | mlsec | Evidently | scipy p-value |")
    add("|---|---|---|---|---|---|---|")
    ev = {c["column"]: c for c in (load("evidently.json") or {}).get("columns", [])}
    sp = {c["column"]: c for c in (load("scipy.json") or {}).get("columns", [])}
    mj = load("mlsec.json") if ml.get("available") else None
    mc = mlsec_columns(mj) if mj else {}
    for c in truth["columns"]:
        n = c["column"]
        tr = f"**{c['strength']}**" if c["drifted"] else "no"

        def cell(x, key="statistic"):
            if not x:
                return "-"
            return f"{'**drift**' if x['drifted'] else 'ok'} {fmt_g(x.get(key))}"
        scell = "-"
        if n in sp:
            scell = f"{'**drift**' if sp[n]['p_value'] < 0.05 else 'ok'} {fmt_g(sp[n]['p_value'])}"
        add(f"| {n} | {c['kind']} | {tr} | {c['design']} | {cell(mc.get(n))} | {cell(ev.get(n))} | {scell} |")
    add("")

    add("## Statistics equal to scipy's")
    add("")
    eq = cmp.get("equality") or []
    if not eq:
        add(f"Not checked: {cmp.get('mlsec', {}).get('info') or 'drift.py compare not run'}.")
    else:
        add("mlsec run with `--numeric-method ks --categorical-method chisquare --correction none` against "
            "`scipy.stats.ks_2samp` (missing values dropped) and `scipy.stats.chi2_contingency` (2 x K counts "
            "over the union of categories, Yates' correction at one degree of freedom) on the same files. "
            f"Agreement: {cmp['criterion']}.")
        add("")
        add("| pair | statistic | columns | max abs difference | max rel difference | agree |")
        add("|---|---|---|---|---|---|")
        for pair in dict.fromkeys(e["pair"] for e in eq):
            for method, label in (("ks", "KS D"), ("chisquare", "chi-square")):
                for k, kl in (("statistic", label), ("p_value", f"{label} p-value")):
                    rows = [e for e in eq if e["pair"] == pair and e["scipy_method"] == method]
                    if not rows:
                        continue
                    ab = [e.get(f"{k}_abs") for e in rows if e.get(f"{k}_abs") is not None]
                    rl = [e.get(f"{k}_rel") for e in rows if e.get(f"{k}_rel") is not None]
                    okn = sum(bool(e.get(f"{k}_ok")) for e in rows)
                    add(f"| {pair} | {kl} | {len(rows)} | {fmt_g(max(ab)) if ab else '-'} | "
                        f"{fmt_g(max(rl)) if rl else '-'} | {okn}/{len(rows)} |")
        bad = [e for e in eq if not (e.get("statistic_ok") and e.get("p_value_ok"))]
        if bad:
            add("")
            add("Columns that differ:")
            add("")
            for e in bad:
                add(f"- {e['pair']} `{e['column']}`: mlsec {e.get('mlsec_statistic')!r} / p {e.get('mlsec_p_value')!r}, "
                    f"scipy {e['scipy_statistic']!r} / p {e['scipy_p_value']!r}" + (f" ({e['error']})" if e.get("error") else ""))
    add("")

    if mc and ev:
        add("## Effect sizes: mlsec vs Evidently (informational)")
        add("")
        add("| column | method (mlsec / Evidently) | mlsec | Evidently | abs difference |")
        add("|---|---|---|---|---|")
        for c in truth["columns"]:
            n = c["column"]
            if n in mc and n in ev:
                a, b = mc[n].get("statistic"), ev[n]["statistic"]
                d = abs(a - b) if a is not None else None
                add(f"| {n} | {mc[n].get('method')} / {ev[n]['method']} | {fmt_g(a)} | {fmt_g(b)} | {fmt_g(d)} |")
        add("")

    if big:
        add("## Large input (`drift.py big`)")
        add("")
        add(f"`{big['ref']}` ({big['ref_gb']:.2f} GB, {big['rows']:,} rows) against `{big['cur']}` "
            f"({big['cur_gb']:.2f} GB): " + (f"{fmt_s(big['seconds'])}, peak RSS {big['peak_rss_kib'] / 1024:.0f} MiB, "
                                               f"exit {big['rc']}; measured {big.get('date')}."
                                               if big.get("seconds") is not None else big.get("reason", "not measured")))
        add("")
    with open(RESULTS, "w") as f:
        f.write("\n".join(L))
    note(f"report: wrote {os.path.relpath(RESULTS, ROOT)}")


# ---------------------------------------------------------------- big

def cmd_big(args):
    """REF and CUR of about --gb GB each, by writing the 1M pair's row groups again
    and again; then mlsec's time and peak RSS on them (not part of `all`)."""
    import pyarrow.parquet as pq
    target = args.gb * 1e9
    free = shutil.disk_usage(WORK).free
    if free - 2 * target < 20e9 and not args.keep_existing:
        sys.exit(f"big: {free / 1e9:.0f} GB free; two {args.gb:g} GB files would leave under 20 GB (use --gb)")
    for src, dst in (("ref.parquet", "big_ref.parquet"), ("cur.parquet", "big_cur.parquet")):
        if os.path.exists(w(dst)) and args.keep_existing:
            continue
        pf = pq.ParquetFile(w(src))
        table = pf.read()
        reps = max(1, math.ceil(target / os.path.getsize(w(src))))
        t0 = time.perf_counter()
        with pq.ParquetWriter(w(dst) + ".tmp", pf.schema_arrow, compression="snappy") as wr:
            for i in range(reps):
                wr.write_table(table, row_group_size=ROW_GROUP)
        os.replace(w(dst) + ".tmp", w(dst))
        note(f"big: {dst} {os.path.getsize(w(dst)) / 1e9:.2f} GB, {reps * table.num_rows:,} rows, "
             f"{time.perf_counter() - t0:.0f} s")
        del table
    rows = pq.ParquetFile(w("big_ref.parquet")).metadata.num_rows
    res = {"ref": "big_ref.parquet", "cur": "big_cur.parquet", "rows": rows,
           "ref_gb": os.path.getsize(w("big_ref.parquet")) / 1e9,
           "cur_gb": os.path.getsize(w("big_cur.parquet")) / 1e9,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    ok, info = mlsec_status()
    if ok:
        t = time_v([MLSEC, "data", "drift", w("big_ref.parquet"), w("big_cur.parquet"), "-f", "json"],
                   w("mlsec-big.json"))
        res.update({"seconds": t["wall"], "cpu_seconds": t["cpu"], "peak_rss_kib": t["rss"], "rc": t["rc"],
                    "version": info})
        note(f"big: mlsec {t['wall']:.1f} s, peak {(t['rss'] or 0) / 1024:.0f} MiB, exit {t['rc']}")
        if t["rc"] not in (0, 1):
            note(t["stderr"][-2000:])
    else:
        res["reason"] = info
        note(f"note: {info}; only the inputs were written")
    save("big.json", res)


def cmd_all(args):
    machine("start")
    args.force = getattr(args, "force", False)
    for step in (cmd_gen, cmd_scipy, cmd_evidently, cmd_mlsec, cmd_compare, cmd_report):
        note(f"== {step.__name__[4:]}")
        step(args)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--force", action="store_true")
    for name in ("scipy", "evidently", "mlsec", "compare", "report"):
        sub.add_parser(name)
    a = sub.add_parser("all")
    a.add_argument("--force", action="store_true")
    b = sub.add_parser("big")
    b.add_argument("--gb", type=float, default=10.0, help="size of each file in GB (default 10)")
    b.add_argument("--keep-existing", action="store_true", help="reuse big_*.parquet when present")
    for name in ("_scipy-once", "_evidently-once"):
        s = sub.add_parser(name)
        s.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.cmd in ("scipy", "evidently", "mlsec"):
        # the timing steps: scipy is the first one of `all`, so it stamps the machine
        machine("start" if args.cmd == "scipy" or not load("machine.json") else "keep")
    {"gen": cmd_gen, "scipy": cmd_scipy, "evidently": cmd_evidently, "mlsec": cmd_mlsec,
     "compare": cmd_compare, "report": cmd_report, "all": cmd_all, "big": cmd_big,
     "_scipy-once": cmd_scipy_once, "_evidently-once": cmd_evidently_once}[args.cmd](args)


if __name__ == "__main__":
    main()
