#!/usr/bin/env python3
"""Label-issue and outlier benchmark: `mlsec data issues` vs cleanlab and
scikit-learn's IsolationForest on the same CSV files, each with planted label
flips, outliers, duplicates or a backdoor whose rows are known. See
bench/quality/README.md ("Label issues and outliers").

    issues.py gen [--force]   CSV files + truth in bench/quality/data/issues/ (reused when present)
    issues.py refs            cleanlab on the label-flip files, IsolationForest on the outlier files
    issues.py mlsec           `mlsec data issues FILE ...` on every file (fails when mlsec can't)
    issues.py report          bench/quality/issues-results.md
    issues.py all             gen refs mlsec report

Environment: MLSEC_BIN (default target/release/mlsec), BENCH_RUNS_ISSUES (timed
runs of each tool on each file, the best one counts; default 3),
BENCH_ISSUES_DATA (default bench/quality/data/issues).
"""

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.abspath(os.environ.get("BENCH_ISSUES_DATA", os.path.join(HERE, "data", "issues")))
MLSEC = os.environ.get("MLSEC_BIN", os.path.join(ROOT, "target", "release", "mlsec"))
RUNS = int(os.environ.get("BENCH_RUNS_ISSUES", "3"))
RESULTS = os.path.join(HERE, "issues-results.md")

SEED = 20261210
RECIPE = 1            # bump when the data recipe changes: `gen` then rebuilds
SEEDS = [0, 1, 2, 3, 4]  # fold splits / forest seeds each tool runs with, for the mean F1
CONTAMINATION = 0.02  # the outlier share planted, IsolationForest's and mlsec's contamination
ISSUES = ("label", "outlier", "duplicate", "conflict", "backdoor")
MLSEC_CHECKS = "label,outlier,duplicate,conflict,backdoor"

# dataset -> backdoor: source class, target class, trigger columns (indices), how the trigger is set
DATASETS = {
    "wine": {"source": 0, "target": 1, "cols": [0, 1, 2], "trigger": "max+range"},
    "breast_cancer": {"source": 0, "target": 1, "cols": [0, 1, 2], "trigger": "max+range"},
    # digits' corner pixels are (almost) always 0, and column 0 always: max + range would
    # leave it at 0. The trigger is the classic image one: the four corners at full ink (16).
    "digits": {"source": 3, "target": 7, "cols": [0, 7, 56, 63], "trigger": "16"},
    "synth": {"source": 0, "target": 1, "cols": [0, 1, 2], "trigger": "max+range"},
}
# variant -> the issue kind it plants
VARIANTS = {
    "flip5": "label", "flip10": "label",
    "outlier-uniform": "outlier", "outlier-marginal": "outlier",
    "dupes": "duplicate", "backdoor": "backdoor",
}
# the issue kinds whose matching mlsec check alone is timed too (`--checks ONLY`)
ONLY_CHECKS = {"label": "label", "outlier": "outlier", "duplicate": "duplicate,conflict", "backdoor": "backdoor"}


def d(name):
    return os.path.join(DATA, name)


def load(name, default=None):
    try:
        with open(d(name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def save(name, obj):
    os.makedirs(os.path.dirname(d(name)), exist_ok=True)
    tmp = d(name) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, d(name))


def note(msg):
    print(msg, file=sys.stderr, flush=True)


def files():
    """(file name, dataset, variant, issue) of every CSV, in report order."""
    return [(f"{ds}-{v}.csv", ds, v, issue) for ds in DATASETS for v, issue in VARIANTS.items()]


def truth_name(csv):
    return csv[:-len(".csv")] + ".truth.json"


# ---------------------------------------------------------------- the data

def base_dataset(name):
    """(x rounded to 4 decimals, integer labels, description)."""
    import numpy as np
    from sklearn import datasets as skd
    if name == "synth":
        x, y = skd.make_classification(
            n_samples=20_000, n_features=20, n_informative=8, n_redundant=4, n_repeated=0, n_classes=5,
            n_clusters_per_class=1, class_sep=1.5, flip_y=0.0, random_state=SEED)
        desc = ("`make_classification(n_samples=20000, n_features=20, n_informative=8, n_redundant=4, "
                f"n_classes=5, n_clusters_per_class=1, class_sep=1.5, flip_y=0, random_state={SEED})`")
    else:
        x, y = getattr(skd, f"load_{name}")(return_X_y=True)
        desc = f"scikit-learn's bundled `load_{name}()`"
    return np.round(x.astype(float), 4), y.astype(int), desc


def write_csv(name, x, y):
    import pandas as pd
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    df["label"] = y
    # pandas writes the shortest repr that reads back to the same double: 4 decimals at most here.
    df.to_csv(d(name), index=False)


def rows1(idx):
    """0-based indices -> sorted 1-based data row numbers (the header is not a data row)."""
    return sorted(int(i) + 1 for i in idx)


def exact_groups(x, y):
    """Groups (1-based rows) of identical feature rows, and which of them disagree on the label."""
    import numpy as np
    _, inv, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    groups = [np.flatnonzero(inv == g) for g in np.flatnonzero(counts > 1)]
    return ([rows1(g) for g in groups], [rows1(g) for g in groups if len(set(y[g].tolist())) > 1])


def plant(ds, variant, x, y, rng):
    """(x, y, truth) of one file: the planted corruption of the clean (x, y)."""
    import numpy as np
    n, dim = x.shape
    k = int(y.max()) + 1
    lo, hi = x.min(axis=0), x.max(axis=0)
    x, y = x.copy(), y.copy()
    t = {}
    if variant.startswith("flip"):
        rate = int(variant[4:]) / 100
        m = int(round(rate * n))
        idx = np.sort(rng.choice(n, m, replace=False))
        old = y[idx].copy()
        y[idx] = (y[idx] + rng.integers(1, k, size=m)) % k        # a uniformly chosen other class
        t = {"design": f"labels of {rate:.0%} of the rows changed to a uniformly chosen other class",
             "rate": rate, "planted": rows1(idx), "true_labels": old.tolist()}
    elif variant.startswith("outlier"):
        m = int(round(CONTAMINATION * n))
        idx = np.sort(rng.choice(n, m, replace=False))
        if variant == "outlier-uniform":
            x[idx] = np.round(rng.uniform(lo, hi, size=(m, dim)), 4)
            design = "rows replaced by uniform noise across each column's [min, max]"
        else:
            # each value from a random other row of the same column: every marginal is
            # kept, only the correlations between the columns are broken
            src = rng.integers(0, n - 1, size=(m, dim))
            src = src + (src >= idx[:, None])                    # never the row itself
            x[idx] = x[src, np.arange(dim)[None, :]]
            design = ("rows replaced by values drawn independently from each column's marginal "
                      "(each value from a random other row of that column)")
        t = {"design": f"{CONTAMINATION:.0%} of the {design}", "rate": CONTAMINATION, "planted": rows1(idx)}
    elif variant == "dupes":
        ne, nn, nc = max(5, n // 200), max(3, n // 400), max(4, n // 300)
        src = rng.choice(n, ne + nn + nc, replace=False)
        exact, near, conflict = src[:ne], src[ne:ne + nn], src[ne + nn:]
        std = x.std(axis=0)
        near_rows = np.round(x[near] + 1e-3 * std, 4)
        if (near_rows == x[near]).all(axis=1).any():
            raise SystemExit(f"gen: a near copy of {ds} equals its source after rounding")
        conflict_labels = (y[conflict] + rng.integers(1, k, size=nc)) % k
        base_groups, base_conflicts = exact_groups(x, y)
        xa = np.vstack([x, x[exact], near_rows, x[conflict]])
        ya = np.concatenate([y, y[exact], y[near], conflict_labels])
        pos = iter(range(n + 1, n + ne + nn + nc + 1))
        pairs = lambda srcs, extra=None: [
            {"row": next(pos), "source": int(s) + 1, **(extra(i) if extra else {})} for i, s in enumerate(srcs)]
        t = {"design": (f"{ne} exact copies (same label), {nn} near copies (each value + 1e-3 column std, "
                        f"rounded; same label) and {nc} conflicting copies (exact copy, another label) "
                        f"of distinct random rows, appended after the {n} original rows"),
             "exact": pairs(exact), "near": pairs(near),
             "conflict": pairs(conflict, lambda i: {"label": int(conflict_labels[i]),
                                                     "source_label": int(y[conflict[i]])}),
             "natural_duplicate_groups": base_groups, "natural_conflict_groups": base_conflicts}
        t["planted"] = [p["row"] for key in ("exact", "near", "conflict") for p in t[key]]
        x, y = xa, ya
    elif variant == "backdoor":
        bd = DATASETS[ds]
        members = np.flatnonzero(y == bd["source"])
        m = int(round(0.05 * len(members)))
        idx = np.sort(rng.choice(members, m, replace=False))
        cols = bd["cols"]
        if bd["trigger"] == "16":
            pattern = np.full(len(cols), 16.0)
            how = "set to 16 (full ink; these corner pixels are 0 in almost every image)"
        else:
            pattern = np.round(hi[cols] + (hi - lo)[cols], 4)
            how = "set to the column's maximum + its range"
        x[np.ix_(idx, cols)] = pattern
        y[idx] = bd["target"]
        t = {"design": (f"5% of class {bd['source']} ({m} of {len(members)} rows): columns "
                        f"{', '.join(f'f{c}' for c in cols)} {how}, label changed to {bd['target']}"),
             "source": bd["source"], "target": bd["target"], "cols": [f"f{c}" for c in cols],
             "pattern": pattern.tolist(), "planted": rows1(idx),
             "target_rows": int((y == bd["target"]).sum())}
    return x, y, t


def cmd_gen(args):
    import numpy as np
    man = load("manifest.json")
    if (not args.force and man and man.get("recipe") == RECIPE and man.get("seed") == SEED
            and all(os.path.exists(d(f)) and os.path.exists(d(truth_name(f))) for f, *_ in files())):
        note(f"gen: inputs present in {DATA} (gen --force rebuilds)")
        return
    os.makedirs(DATA, exist_ok=True)
    t0 = time.perf_counter()
    out = {"seed": SEED, "recipe": RECIPE, "datasets": {}, "files": []}
    for di, ds in enumerate(DATASETS):
        x, y, desc = base_dataset(ds)
        out["datasets"][ds] = {"source": desc, "rows": int(x.shape[0]), "features": int(x.shape[1]),
                               "classes": int(y.max()) + 1}
        for vi, (variant, issue) in enumerate(VARIANTS.items()):
            name = f"{ds}-{variant}.csv"
            rng = np.random.default_rng([SEED, di, vi])
            xv, yv, t = plant(ds, variant, x, y, rng)
            write_csv(name, xv, yv)
            truth = {"file": name, "dataset": ds, "variant": variant, "issue": issue,
                     "rows": int(xv.shape[0]), "features": int(xv.shape[1]), "classes": int(y.max()) + 1,
                     "label_column": "label", "rows_are": "1-based data rows (the header is not counted)", **t}
            save(truth_name(name), truth)
            out["files"].append({k: truth[k] for k in ("file", "dataset", "variant", "issue", "rows", "features")}
                                | {"planted": len(truth["planted"])})
        note(f"gen: {ds}: {x.shape[0]} x {x.shape[1]}, {int(y.max()) + 1} classes, {len(VARIANTS)} files")
    save("manifest.json", out)
    note(f"gen: {len(out['files'])} files in {DATA}, {time.perf_counter() - t0:.1f} s")


def manifest():
    man = load("manifest.json")
    if man is None or not all(os.path.exists(d(f)) for f, *_ in files()):
        sys.exit(f"no inputs in {DATA}; run `issues.py gen` first")
    return man


# ---------------------------------------------------------------- reference tools

def read_xy(path):
    import pandas as pd
    df = pd.read_csv(path, float_precision="round_trip")
    y = df.pop("label").to_numpy()
    return df.to_numpy(dtype=float), y


def cmd_ref_once(args):
    """One fresh-process run of one reference tool on one file (timed from outside too)."""
    import numpy as np
    t0 = time.perf_counter()
    x, y = read_xy(args.file)
    t_read = time.perf_counter()
    extra = {}
    if args.tool == "cleanlab":
        from cleanlab.filter import find_label_issues
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        t_imp, c0 = time.perf_counter(), time.process_time()
        pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        probs = cross_val_predict(pipe, x, y, cv=cv, method="predict_proba")
        t_cv = time.perf_counter()
        mask = find_label_issues(labels=y, pred_probs=probs)
        t1, c1 = time.perf_counter(), time.process_time()
        flagged = np.flatnonzero(mask)
        extra = {"cv_seconds": t_cv - t_imp, "find_seconds": t1 - t_cv,
                 "oof_accuracy": float((probs.argmax(axis=1) == y).mean())}
        # The same with other fold splits (a separate, untimed run): one
        # split's luck moves rows in or out.
        by_seed = [rows1(flagged)]
        for seed in SEEDS[1:] if args.seeds else []:
            cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
            p = cross_val_predict(pipe, x, y, cv=cv, method="predict_proba")
            by_seed.append(rows1(np.flatnonzero(find_label_issues(labels=y, pred_probs=p))))
        if args.seeds:
            extra["flagged_by_seed"] = by_seed
    else:
        from sklearn.ensemble import IsolationForest
        t_imp, c0 = time.perf_counter(), time.process_time()
        iso = IsolationForest(n_estimators=100, contamination=CONTAMINATION, random_state=0)
        pred = iso.fit(x).predict(x)
        t1, c1 = time.perf_counter(), time.process_time()
        flagged = np.flatnonzero(pred == -1)
        if args.seeds:
            by_seed = [rows1(flagged)]
            for seed in SEEDS[1:]:
                iso = IsolationForest(n_estimators=100, contamination=CONTAMINATION, random_state=seed)
                by_seed.append(rows1(np.flatnonzero(iso.fit(x).predict(x) == -1)))
            extra = {"flagged_by_seed": by_seed}
    with open(args.out, "w") as f:
        json.dump({"tool": args.tool, "flagged": rows1(flagged), "read_seconds": t_read - t0,
                   "import_seconds": t_imp - t_read, "fit_seconds": t1 - t_imp, "fit_cpu_seconds": c1 - c0,
                   **extra}, f)


def timed(argv, stdout):
    """(wall seconds, CPU seconds (user + system of the child), CompletedProcess)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), p


def versions():
    from importlib.metadata import version
    v = {"python": platform.python_version()}
    for p in ("numpy", "pandas", "scikit-learn", "cleanlab"):
        try:
            v[p] = version(p)
        except Exception:
            v[p] = "not installed"
    return v


def cmd_refs(args):
    manifest()
    machine("start")
    res = {"versions": versions(), "runs": RUNS, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "tools": {"cleanlab": "cleanlab.filter.find_label_issues(labels, pred_probs) with its defaults; "
                                 "pred_probs: cross_val_predict(make_pipeline(StandardScaler(), "
                                 "LogisticRegression(max_iter=1000)), cv=StratifiedKFold(5, shuffle=True, "
                                 "random_state=0), method='predict_proba')",
                     "iforest": f"sklearn IsolationForest(n_estimators=100, contamination={CONTAMINATION}, "
                                "random_state=0).fit(X).predict(X) == -1 on the feature columns"},
           "files": {}}
    tmp = d("ref-run.json")
    for name, ds, variant, issue in files():
        tool = {"label": "cleanlab", "outlier": "iforest"}.get(issue)
        if tool is None:
            continue
        runs = []
        for i in range(RUNS):
            wall, cpu, p = timed([sys.executable, os.path.abspath(__file__), "_ref-once", "--tool", tool,
                                  "--file", d(name), "--out", tmp], None)
            if p.returncode != 0:
                sys.exit(f"refs: {tool} on {name} failed (exit {p.returncode}):\n"
                         f"{p.stderr.decode(errors='replace')[-4000:]}")
            with open(tmp) as f:
                r = json.load(f)
            r["process_seconds"], r["process_cpu_seconds"] = wall, cpu
            runs.append(r)
        # Once more, untimed, for the other seeds' flags.
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "_ref-once", "--tool", tool,
                            "--file", d(name), "--out", tmp, "--seeds"], capture_output=True)
        if p.returncode != 0:
            sys.exit(f"refs: {tool} --seeds on {name} failed (exit {p.returncode}):\n"
                     f"{p.stderr.decode(errors='replace')[-4000:]}")
        with open(tmp) as f:
            by_seed = json.load(f)["flagged_by_seed"]
        os.unlink(tmp)
        if any(r["flagged"] != runs[0]["flagged"] for r in runs):
            note(f"warning: {tool} flagged different rows on {name} in different runs; the first run counts")
        best = lambda k: min(r[k] for r in runs)
        entry = {"tool": tool, "flagged": runs[0]["flagged"],
                 "process_seconds": best("process_seconds"), "fit_seconds": best("fit_seconds"),
                 "process_cpu_seconds": best("process_cpu_seconds"), "fit_cpu_seconds": best("fit_cpu_seconds"),
                 "read_seconds": best("read_seconds"), "import_seconds": best("import_seconds"),
                 "all_process_seconds": [r["process_seconds"] for r in runs],
                 "all_fit_seconds": [r["fit_seconds"] for r in runs]}
        for k in ("cv_seconds", "find_seconds", "oof_accuracy"):
            if k in runs[0]:
                entry[k] = best(k) if k.endswith("seconds") else runs[0][k]
        entry["flagged_by_seed"] = by_seed
        res["files"][name] = entry
        truth = load(truth_name(name))
        s = prf(entry["flagged"], truth["planted"])
        note(f"refs: {name}: {tool} flagged {s['flagged']}, P {s['precision']:.3f} R {s['recall']:.3f} "
             f"F1 {s['f1']:.3f}; fit {entry['fit_seconds']:.3f} s, process {entry['process_seconds']:.2f} s")
    save("refs.json", res)


# ---------------------------------------------------------------- mlsec

def mlsec_argv(path, checks=MLSEC_CHECKS):
    return [MLSEC, "data", "issues", path, "--label", "label", "--format", "json", "--checks", checks,
            "--contamination", str(CONTAMINATION), "--seed", "0"]


def mlsec_check():
    """Exit 1, loudly, when there is no mlsec binary with a `data issues` command."""
    if not (os.path.isfile(MLSEC) and os.access(MLSEC, os.X_OK)):
        note(f"ERROR: no mlsec binary at {MLSEC} (cargo build --release -p mlsec, or set MLSEC_BIN)")
        sys.exit(1)
    p = subprocess.run([MLSEC, "data", "issues", "--help"], capture_output=True, text=True)
    if p.returncode != 0:
        note(f"ERROR: `{MLSEC} data issues --help` failed (exit {p.returncode}): "
             f"this mlsec has no `data issues` command\n{(p.stderr or p.stdout)[-2000:]}")
        sys.exit(1)
    v = subprocess.run([MLSEC, "--version"], capture_output=True, text=True)
    return v.stdout.strip() or "unknown version"


ROW_RE = re.compile(r"\brow (\d+)\b")


def parse_envelope(env):
    """{issue: sorted rows} from a data-issues envelope, and a list of problems with its shape."""
    problems = []
    if not isinstance(env, dict) or env.get("kind") != "data-issues":
        problems.append(f"kind is {env.get('kind') if isinstance(env, dict) else type(env).__name__!r}, "
                        "not 'data-issues'")
        return {}, problems
    findings = env.get("findings")
    if not isinstance(findings, list):
        return {}, problems + ["no `findings` list"]
    if "details" not in env:
        problems.append("no `details`")
    rows = {}
    for i, f in enumerate(findings):
        ev = f.get("evidence") if isinstance(f, dict) else None
        if not isinstance(ev, dict):
            problems.append(f"finding {i} has no `evidence` object")
            continue
        issue, row = ev.get("issue"), ev.get("row")
        if issue is None and "row" not in ev:
            continue  # a finding on the table or a column (imbalance, unusable column, leak)
        if not isinstance(row, int) or isinstance(row, bool):
            m = ROW_RE.search(str(f.get("location", "")))
            if m is None:
                problems.append(f"finding {i} ({f.get('rule')}) has no integer evidence.row")
                continue
            problems.append(f"finding {i} ({f.get('rule')}): evidence.row missing, taken from location")
            row = int(m.group(1))
        if issue not in ISSUES:
            problems.append(f"finding {i} ({f.get('rule')}): evidence.issue {issue!r} is none of {ISSUES}")
            issue = str(issue)
        for k in ("rule", "message", "location"):
            if k not in f:
                problems.append(f"finding {i} has no `{k}`")
        if "score" not in ev:
            problems.append(f"finding {i} ({f.get('rule')}) has no evidence.score")
        rows.setdefault(issue, set()).add(row)
    return {k: sorted(v) for k, v in rows.items()}, problems


def run_mlsec(argv, out_path):
    """(wall seconds, CPU seconds, exit code, stderr), stdout to out_path."""
    with open(out_path, "wb") as out:
        wall, cpu, p = timed(argv, out)
    return wall, cpu, p.returncode, p.stderr.decode(errors="replace")


def cmd_mlsec(args):
    version = mlsec_check()
    manifest()
    machine("keep")
    os.makedirs(d("mlsec"), exist_ok=True)
    res = {"version": version, "binary": os.path.abspath(MLSEC), "runs": RUNS,
           "sha256": hashlib.sha256(open(MLSEC, "rb").read()).hexdigest(),
           "command": " ".join(["mlsec"] + mlsec_argv("FILE")[1:]),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "files": {}}
    errors = []
    for name, ds, variant, issue in files():
        out = d(f"mlsec/{name[:-4]}.json")
        entry = {}
        for key, argv in (("all", mlsec_argv(d(name))), ("only", mlsec_argv(d(name), ONLY_CHECKS[issue]))):
            walls, cpus = [], []
            for i in range(RUNS):
                wall, cpu, rc, err = run_mlsec(argv, out if key == "all" else out + ".only")
                if rc not in (0, 1):
                    errors.append(f"{name}: exit {rc}: {' '.join(map(shlex.quote, argv))}\n{err[-2000:]}")
                    entry[f"{key}_error"] = f"exit {rc} (`--checks {argv[argv.index('--checks') + 1]}`)"
                    break
                walls.append(wall)
                cpus.append(cpu)
            else:
                entry[f"{key}_seconds"] = min(walls)
                entry[f"{key}_cpu_seconds"] = min(cpus)
                entry[f"{key}_all_seconds"] = walls
                entry[f"{key}_exit"] = rc
                continue
            break
        if os.path.exists(out + ".only"):
            os.unlink(out + ".only")
        if issue in ("label", "outlier"):
            # The other seeds (untimed), for the mean F1 over seeds.
            by_seed = []
            for seed in SEEDS[1:]:
                argv = mlsec_argv(d(name), issue)
                argv[argv.index("--seed") + 1] = str(seed)
                _, _, rc, err = run_mlsec(argv, out + ".seed")
                if rc not in (0, 1):
                    errors.append(f"{name}: exit {rc}: {' '.join(map(shlex.quote, argv))}\n{err[-2000:]}")
                    break
                with open(out + ".seed") as f:
                    by_seed.append(parse_envelope(json.load(f))[0].get(issue, []))
            if os.path.exists(out + ".seed"):
                os.unlink(out + ".seed")
            entry["flagged_by_other_seed"] = by_seed
        if issue == "outlier":
            # The correlation-aware method on the same file, scored too.
            argv = mlsec_argv(d(name), "outlier") + ["--outlier-method", "mahalanobis"]
            maha_out = out + ".mahalanobis"
            walls = []
            for i in range(RUNS):
                wall, _, rc, err = run_mlsec(argv, maha_out)
                walls.append(wall)
            if rc in (0, 1):
                with open(maha_out) as f:
                    entry["mahalanobis_flagged"] = parse_envelope(json.load(f))[0].get("outlier", [])
                entry["mahalanobis_seconds"] = min(walls)
            else:
                errors.append(f"{name}: exit {rc}: {' '.join(map(shlex.quote, argv))}\n{err[-2000:]}")
            os.unlink(maha_out)
        if "all_seconds" not in entry:
            res["files"][name] = {"error": entry["all_error"], "error_full": errors[-1]}
            note(f"mlsec: {name}: FAILED")
            continue
        try:
            with open(out) as f:
                env = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            errors.append(f"{name}: stdout is not JSON ({e}); see {out}")
            res["files"][name] = {"error": "stdout is not JSON", "error_full": errors[-1]}
            continue
        flagged, problems = parse_envelope(env)
        nfind = len(env.get("findings") or []) if isinstance(env, dict) else 0
        # Exit 1 when a finding is at or above --fail-on (high by default):
        # the envelope's verdict says whether one is.
        verdict = ((env.get("summary") or {}).get("verdict") if isinstance(env, dict) else None)
        if (entry["all_exit"] == 1) != (verdict == "fail"):
            problems.append(f"exit {entry['all_exit']} with verdict {verdict!r}")
        entry.update({"flagged": flagged, "findings": nfind, "problems": problems[:20],
                      "problem_count": len(problems)})
        if problems:
            note(f"mlsec: {name}: {len(problems)} problem(s) with the output, e.g. {problems[0]}")
        if not (isinstance(env, dict) and env.get("kind") == "data-issues"):
            errors.append(f"{name}: not a data-issues envelope: {problems[0]}")
        res["files"][name] = entry
        truth = load(truth_name(name))
        s = prf(flagged.get(issue, []), truth["planted"])
        note(f"mlsec: {name}: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(flagged.items()))
             + f"; {issue}: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f}; "
             f"{entry['all_seconds']:.3f} s (all checks), {entry.get('only_seconds', float('nan')):.3f} s "
             f"(--checks {ONLY_CHECKS[issue]})")
    save("mlsec.json", res)
    if errors:
        note(f"ERROR: mlsec failed on {len(errors)} file(s):\n" + "\n".join(errors))
        sys.exit(1)


# ---------------------------------------------------------------- scoring and report

def prf(flagged, truth):
    flagged, truth = set(flagged), set(truth)
    tp = len(flagged & truth)
    p = tp / len(flagged) if flagged else 0.0
    r = tp / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "flagged": len(flagged), "planted": len(truth), "tp": tp}


def dupes_score(truth, dup_rows, conf_rows):
    """Recall per planted kind: a pair counts as found when its copy or its source is flagged.
    Rows flagged outside every planted pair and natural group are counted as extra."""
    dup_rows, conf_rows = set(dup_rows), set(conf_rows)
    out = {}
    for kind, flagged in (("exact", dup_rows), ("near", dup_rows), ("conflict", conf_rows)):
        pairs = truth[kind]
        found = sum(1 for p in pairs if p["row"] in flagged or p["source"] in flagged)
        out[kind] = {"found": found, "planted": len(pairs)}
    legit_dup = {r for k in ("exact", "near", "conflict") for p in truth[k] for r in (p["row"], p["source"])}
    legit_dup |= {r for g in truth["natural_duplicate_groups"] for r in g}
    legit_conf = {r for p in truth["conflict"] for r in (p["row"], p["source"])}
    legit_conf |= {r for g in truth["natural_conflict_groups"] for r in g}
    out["extra_duplicate"] = len(dup_rows - legit_dup)
    out["extra_conflict"] = len(conf_rows - legit_conf)
    return out


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


def f3(x):
    return "-" if x is None else f"{x:.3f}"


def cell(text):
    """Text for one Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def cells(s):
    """flagged | P | R | F1 cells of a prf() result, or 'not run'."""
    if s is None:
        return "not run | | |"
    return f"{s['flagged']} | {f3(s['precision'])} | {f3(s['recall'])} | **{f3(s['f1'])}**"


def cmd_report(args):
    man = manifest()
    m = machine("end")
    refs = load("refs.json") or {"files": {}}
    ml = load("mlsec.json")
    mf = (ml or {}).get("files", {})
    vers = refs.get("versions") or versions()
    truths = {name: load(truth_name(name)) for name, *_ in files()}

    def mlsec_rows(name, issue):
        e = mf.get(name)
        if not e or "flagged" not in e:
            return None
        return e["flagged"].get(issue, [])

    def mlsec_prf(name, issue):
        r = mlsec_rows(name, issue)
        return None if r is None else prf(r, truths[name]["planted"])

    def ref_prf(name):
        e = refs["files"].get(name)
        return None if e is None else prf(e["flagged"], truths[name]["planted"])

    def seeds_f1(runs, name):
        """'mean (min-max)' F1 over the seeds' flagged rows."""
        if not runs or len(runs) < len(SEEDS):
            return "-"
        f = [prf(r, truths[name]["planted"])["f1"] for r in runs]
        return f"**{sum(f) / len(f):.3f}** ({min(f):.3f}-{max(f):.3f})"

    def ref_seeds(name):
        return seeds_f1((refs["files"].get(name) or {}).get("flagged_by_seed"), name)

    def mlsec_seeds(name, issue):
        e = mf.get(name) or {}
        if "flagged" not in e:
            return "-"
        return seeds_f1([e["flagged"].get(issue, [])] + e.get("flagged_by_other_seed", []), name)

    L = []
    add = L.append
    add("# Label-issue and outlier benchmark: `mlsec data issues` vs cleanlab and IsolationForest")
    add("")
    add("Generated by `bench/quality/issues.py report` (do not edit by hand); "
        "[README.md](README.md#label-issues-and-outliers-issuespy) explains the method.")
    add("")
    add("## Machine and versions")
    add("")
    add(f"- {m.get('cores')} cores ({m.get('cpu')}), {m.get('mem_gib')} GiB memory; shared with other work: "
        f"load average {m.get('load_start')} at the start, {m.get('load_end')} at the end; "
        f"niceness {m.get('nice')}; {m.get('date')}.")
    if ml:
        add(f"- mlsec: {ml['version']} (binary sha256 {ml['sha256'][:16]}...), run as "
            f"`{ml['command']}`.")
    else:
        add("- mlsec: **not measured** (`issues.py mlsec` has not run: it needs an mlsec binary with "
            "`data issues`).")
    add(f"- Python {vers['python']}: numpy {vers['numpy']}, pandas {vers['pandas']}, "
        f"scikit-learn {vers['scikit-learn']}, cleanlab {vers['cleanlab']}.")
    add(f"- Each tool ran {refs.get('runs', RUNS)} times on each file, each run a fresh process; the best "
        "time counts (the flagged rows are those of the first run; every tool here is deterministic).")
    add("")
    add("## Datasets")
    add("")
    add(f"Seed {man['seed']}; every file has a header, feature columns `f0`..`fN` rounded to 4 decimals and an "
        "integer `label` column. Planted rows are 1-based data rows (the header is not counted).")
    add("")
    add("| dataset | source | rows | features | classes |")
    add("|---|---|---|---|---|")
    for ds, info in man["datasets"].items():
        add(f"| {ds} | {info['source']} | {info['rows']:,} | {info['features']} | {info['classes']} |")
    add("")

    add("## Label flips: cleanlab vs mlsec `issue=label`")
    add("")
    add("cleanlab: `find_label_issues(labels, pred_probs)` with its defaults, on 5-fold out-of-fold "
        "probabilities of `make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))` "
        "(`StratifiedKFold(5, shuffle=True, random_state=0)`). Truth: the rows whose label was changed. "
        "OOF accuracy is the logistic regression's against the file's (noisy) labels.")
    add("")
    add(f"Which rows a tool flags depends on how the rows fall into folds, so each tool also ran with the "
        f"fold seeds {SEEDS[0]} to {SEEDS[-1]} (cleanlab: `StratifiedKFold(random_state=seed)`; mlsec: "
        "`--seed`); the last two columns give the mean F1 over those runs and its range. mlsec averages the "
        "probabilities of 3 cross-validations by default (`--repeats`); cleanlab is run as its documentation "
        "shows, with one.")
    add("")
    add("| file | planted | OOF accuracy | cleanlab flagged | P | R | F1 | mlsec flagged | P | R | F1 "
        "| cleanlab F1, 5 seeds | mlsec F1, 5 seeds |")
    add("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, ds, variant, issue in files():
        if issue != "label":
            continue
        e = refs["files"].get(name, {})
        acc = f"{e['oof_accuracy']:.3f}" if "oof_accuracy" in e else "-"
        add(f"| {name} | {len(truths[name]['planted'])} | {acc} | {cells(ref_prf(name))} | "
            f"{cells(mlsec_prf(name, 'label'))} | {ref_seeds(name)} | {mlsec_seeds(name, 'label')} |")
    add("")

    add("## Outliers: IsolationForest vs mlsec `issue=outlier`")
    add("")
    add(f"IsolationForest(n_estimators=100, contamination={CONTAMINATION}, random_state=0) on the feature "
        f"columns (not the label); mlsec with `--contamination {CONTAMINATION}`. Truth: the replaced rows "
        f"({CONTAMINATION:.0%}). *uniform*: uniform noise across each column's [min, max]; *marginal*: each "
        "value from a random other row of its column, so every column's distribution is unchanged and only "
        "the correlations are broken (the harder case).")
    add("")
    add("mlsec's default method is its isolation forest (same algorithm, its own random draws); "
        "`--outlier-method mahalanobis` scores each row's Mahalanobis distance from the mean, which sees "
        "rows whose values are ordinary one by one but not together.")
    add("")
    add(f"The forests' random draws matter as much: the *5 seeds* columns give the mean F1 (and range) of "
        f"IsolationForest with `random_state` {SEEDS[0]} to {SEEDS[-1]} and of mlsec's forest with `--seed` "
        "over the same range.")
    add("")
    add("| file | planted | IsolationForest flagged | P | R | F1 | mlsec (forest) flagged | P | R | F1 "
        "| mlsec `--outlier-method mahalanobis` flagged | P | R | F1 | IsolationForest F1, 5 seeds "
        "| mlsec forest F1, 5 seeds |")
    add("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, ds, variant, issue in files():
        if issue == "outlier":
            m = mf.get(name, {}).get("mahalanobis_flagged")
            maha = None if m is None else prf(m, truths[name]["planted"])
            add(f"| {name} | {len(truths[name]['planted'])} | {cells(ref_prf(name))} | "
                f"{cells(mlsec_prf(name, 'outlier'))} | {cells(maha)} | {ref_seeds(name)} "
                f"| {mlsec_seeds(name, 'outlier')} |")
    add("")

    add("## Duplicates and conflicts: mlsec only")
    add("")
    add("No reference tool: neither cleanlab's `find_label_issues` nor IsolationForest looks for duplicates, "
        "so this is mlsec against the planted truth alone. Rows appended after the original ones: exact "
        "copies (same label), near copies (each value + 1e-3 of its column's standard deviation, rounded to "
        "4 decimals; same label) and conflicting copies (exact copy, another label). A planted pair is "
        "found when its copy or its source row is flagged with `issue=duplicate` (exact, near) or "
        "`issue=conflict` (conflicting). *Extra*: rows flagged outside every planted pair (and outside "
        "duplicates already in the original data, listed in the truth file; there are none in these).")
    add("")
    add("| file | exact copies found | near copies found | conflicts found | extra `duplicate` rows "
        "| extra `conflict` rows |")
    add("|---|---|---|---|---|---|")
    for name, ds, variant, issue in files():
        if issue != "duplicate":
            continue
        dr, cr = mlsec_rows(name, "duplicate"), mlsec_rows(name, "conflict")
        if dr is None:
            add(f"| {name} | {'failed' if 'error' in mf.get(name, {}) else 'not run'} | | | | |")
            continue
        s = dupes_score(truths[name], dr, cr)
        fr = lambda k: f"{s[k]['found']}/{s[k]['planted']} ({s[k]['found'] / s[k]['planted']:.0%})"
        add(f"| {name} | {fr('exact')} | {fr('near')} | {fr('conflict')} | {s['extra_duplicate']} | "
            f"{s['extra_conflict']} |")
    add("")

    add("## Backdoor: mlsec only")
    add("")
    add("No reference tool (scikit-learn and cleanlab have no backdoor detector). 5% of one source class "
        "gets a fixed trigger in a few columns and the target class's label; truth: those rows. Precision, "
        "recall and F1 of mlsec's `issue=backdoor` rows.")
    add("")
    add("| file | trigger | planted | target class rows | mlsec flagged | P | R | F1 |")
    add("|---|---|---|---|---|---|---|---|")
    for name, ds, variant, issue in files():
        if issue != "backdoor":
            continue
        t = truths[name]
        trig = (f"{', '.join(t['cols'])} = {', '.join(f'{v:g}' for v in t['pattern'])}; "
                f"class {t['source']} -> {t['target']}")
        add(f"| {name} | {trig} | {len(t['planted'])} | {t['target_rows']} | {cells(mlsec_prf(name, 'backdoor'))} |")
    add("")

    if ml:
        add("## Everything mlsec flagged (rows per issue kind)")
        add("")
        add("Every check runs on every file, so this shows the other checks' flags too (a clean dataset "
            "still has some hard rows, and one corruption may look like another: a backdoor row is also an "
            "outlier and a mislabelled row). The planted kind is in bold.")
        add("")
        add("| file | planted | " + " | ".join(ISSUES) + " | findings | output problems |")
        add("|---|---|" + "---|" * len(ISSUES) + "---|---|")
        for name, ds, variant, issue in files():
            e = mf.get(name, {})
            if "flagged" not in e:
                add(f"| {name} | {issue} | " + " | ".join("-" for _ in ISSUES)
                    + f" | - | failed: {cell(e.get('error', 'not run'))} |")
                continue
            cnt = [(f"**{len(e['flagged'].get(k, []))}**" if k == issue else str(len(e["flagged"].get(k, []))))
                   for k in ISSUES]
            probs = e.get("problem_count", 0)
            add(f"| {name} | {len(truths[name]['planted'])} {issue} | " + " | ".join(cnt)
                + f" | {e['findings']} | {probs or 'none'}"
                + (f": {cell(e['problems'][0])}" if probs else "") + " |")
        add("")

    add("## Time per file")
    add("")
    add("Best of the runs, each cell wall-clock / CPU (user + system) seconds. *process*: the whole command "
        "in a fresh process (`time.perf_counter` and the child's rusage around it); for the Python tools "
        "that includes the interpreter's start and the imports of pandas, scikit-learn and cleanlab (about "
        "a second), which a long-lived Python session pays once. *fit*: the Python tool's work alone, "
        "measured inside the process (`perf_counter` / `process_time`): cleanlab = the 5-fold "
        "`cross_val_predict` + `find_label_issues`, IsolationForest = `fit` + `predict` (reading the CSV and "
        "the imports not counted). mlsec has only *process* (its start, reading the CSV and the checks): "
        f"once with all checks (`--checks {MLSEC_CHECKS}`, the run scored above) and once with only the "
        "check that matches the file's planted issue. Ratios: the reference's *process* and *fit* over "
        "mlsec's matching-check *process*, by CPU time (steadier than wall-clock time on a shared machine; "
        "see the load average above).")
    add("")
    add("| file | rows x features | reference tool | ref process | ref fit | mlsec, all checks "
        "| mlsec, matching check only | ref process / mlsec (CPU) | ref fit / mlsec (CPU) |")
    add("|---|---|---|---|---|---|---|---|---|")

    def wc(x, key):
        w, c = (x or {}).get(f"{key}_seconds"), (x or {}).get(f"{key}_cpu_seconds")
        return "-" if w is None else f"{fmt_s(w)} / {fmt_s(c)}"

    for name, ds, variant, issue in files():
        t = truths[name]
        e = refs["files"].get(name)
        me = mf.get(name, {})
        tool = {"cleanlab": "cleanlab", "iforest": "IsolationForest"}.get((e or {}).get("tool"), "none")
        r_proc = r_fit = "-"
        mc = me.get("only_cpu_seconds")
        if e and mc:
            r_proc = f"{e['process_cpu_seconds'] / mc:.1f}x"
            r_fit = f"{e['fit_cpu_seconds'] / mc:.1f}x"
        only = "failed" if "only_error" in me else wc(me, "only")
        add(f"| {name} | {t['rows']:,} x {t['features']} | {tool} | {wc(e, 'process')} | {wc(e, 'fit')} | "
            f"{wc(me, 'all')} | {only} (`{ONLY_CHECKS[issue]}`) | {r_proc} | {r_fit} |")
    add("")
    with open(RESULTS, "w") as f:
        f.write("\n".join(L))
    note(f"report: wrote {os.path.relpath(RESULTS, ROOT)}")


def cmd_all(args):
    for step in (cmd_gen, cmd_refs, cmd_mlsec, cmd_report):
        note(f"== issues {step.__name__[4:]}")
        step(args)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("gen", "all"):
        sub.add_parser(name).add_argument("--force", action="store_true", help="rebuild the inputs")
    for name in ("refs", "mlsec", "report"):
        sub.add_parser(name)
    s = sub.add_parser("_ref-once")
    s.add_argument("--tool", choices=("cleanlab", "iforest"), required=True)
    s.add_argument("--file", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--seeds", action="store_true", help="also flag with the other seeds (untimed)")
    args = ap.parse_args()
    {"gen": cmd_gen, "refs": cmd_refs, "mlsec": cmd_mlsec, "report": cmd_report, "all": cmd_all,
     "_ref-once": cmd_ref_once}[args.cmd](args)


if __name__ == "__main__":
    main()
