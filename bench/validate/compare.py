#!/usr/bin/env python3
"""mlsec redteam vs IBM ART on the same models, rows, radii and query budgets.

See bench/validate/README.md. Run through bench/validate/run.sh (venv, release
build); alone:

    python compare.py --mlsec PATH/TO/mlsec [--datasets iris,wine,breast_cancer]
        [--budget 1000] [--eps 0.05,0.1] [--l2-eps 0.1,0.25] [--seed 0]
        [--repeat 3] [--out results.json]

For each scikit-learn dataset: every feature MinMax-scaled to [0, 1] over the
whole dataset (checked: min 0, max 1 per column) and rounded to float32 (the
ONNX input type, so every tool sees the same numbers); a seeded stratified
train/test split; LogisticRegression and a small MLPClassifier, each exported
by skl2onnx with ZipMap (the default) and with zipmap=False; the test split
written as CSV. mlsec gets `--bounds f=0:1` for every feature, so its scaled
space is exactly the one ART sees with clip_values=(0, 1), and `--rows`
larger than the test split, so it samples every test row and attacks those
the model classifies correctly. ART attacks the same rows (the test rows the
ONNX model classifies correctly, through onnxruntime) of the same ONNX file.

ART is queried through an oracle that counts the distinct rows it sends to
the model per attacked row (a repeated row is answered from a cache, as any
attacker would), stops the attack with an exception once `--budget` distinct
rows were sent, and remembers the nearest adversarial row it saw. So both
tools get the same hard query budget per row.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from importlib.metadata import version as pkg_version
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
import onnxruntime as ort  # noqa: E402
import sklearn.datasets  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402

import logging  # noqa: E402

logging.getLogger("art").setLevel(logging.ERROR)
from art.attacks.evasion import HopSkipJump, SquareAttack  # noqa: E402
from art.estimators.classification import (  # noqa: E402
    BlackBoxClassifier,
    BlackBoxClassifierNeuralNetwork,
)

PACKAGES = [
    "scikit-learn",
    "skl2onnx",
    "onnx",
    "onnxruntime",
    "numpy",
    "scipy",
    "adversarial-robustness-toolbox",
]

# ART HopSkipJump settings compared (each under the same hard budget).
HSJ_CONFIGS = {
    # ART's defaults.
    "default": dict(max_iter=50, max_eval=10000, init_eval=100, init_size=100),
    # Fewer samples per gradient estimate, so more iterations fit the budget.
    "small": dict(max_iter=1000, max_eval=100, init_eval=10, init_size=100),
}


class BudgetSpent(Exception):
    """Raised by the oracle when the row's query budget is used up."""


class Oracle:
    """The ONNX model as ART sees it, for one attacked row.

    Counts distinct rows sent to the model (repeats come from a cache and
    are not counted); raises BudgetSpent once `budget` were sent; remembers
    the nearest adversarial row seen (in `norm`) and, for each radius, the
    query count at which a row within it was first seen."""

    def __init__(self, sess, d, budget, label, x0, norm, radii, layout=None):
        self.sess = sess
        self.input = sess.get_inputs()[0].name
        self.d = d
        self.budget = budget
        self.label = label
        self.x0 = x0.astype(np.float32)
        self.norm = norm
        self.radii = list(radii)
        self.layout = layout  # (k, g): features in the top-left k*k of a g*g grid
        self.cache = {}
        self.queries = 0
        self.raw_rows = 0
        self.calls = 0
        self.best = math.inf
        self.best_row = None
        self.first_within = {r: None for r in self.radii}
        self.spent = False

    def to_rows(self, x):
        x = np.asarray(x, dtype=np.float32)
        if self.layout is None:
            return x.reshape(x.shape[0], -1)[:, : self.d]
        k, g = self.layout
        return x.reshape(x.shape[0], g, g)[:, :k, :k].reshape(x.shape[0], k * k)[:, : self.d]

    def distance(self, row):
        diff = row.astype(np.float64) - self.x0.astype(np.float64)
        if self.norm == "linf":
            return float(np.max(np.abs(diff)))
        return float(np.linalg.norm(diff))

    def __call__(self, x):
        rows = self.to_rows(x)
        self.calls += 1
        self.raw_rows += rows.shape[0]
        out = [None] * rows.shape[0]
        new = []
        for i, r in enumerate(rows):
            key = r.tobytes()
            hit = self.cache.get(key)
            if hit is not None:
                out[i] = hit
            else:
                new.append(i)
        # de-duplicate inside the batch too
        uniq = {}
        for i in new:
            uniq.setdefault(rows[i].tobytes(), []).append(i)
        keys = list(uniq)
        left = self.budget - self.queries
        over = len(keys) > left
        keys = keys[: max(left, 0)]
        if keys:
            batch = np.stack([rows[uniq[k][0]] for k in keys])
            probs = self.sess.run(None, {self.input: batch})[1]
            probs = np.asarray(probs, dtype=np.float32)
            for j, key in enumerate(keys):
                self.queries += 1
                p = probs[j]
                self.cache[key] = p
                for i in uniq[key]:
                    out[i] = p
                if int(np.argmax(p)) != self.label:
                    dist = self.distance(batch[j])
                    if dist < self.best:
                        self.best = dist
                        self.best_row = batch[j].copy()
                    for r in self.radii:
                        if self.first_within[r] is None and dist <= r + 1e-6:
                            self.first_within[r] = self.queries
        if over:
            self.spent = True
            raise BudgetSpent()
        return np.stack(out)


def seeded_random_state(seed):
    """np.random.RandomState() with no seed (ART's HopSkipJump initialisation)
    made reproducible: successive unseeded calls get seed, seed+1, ..."""
    original = np.random.RandomState
    counter = [seed]

    class Seeded(original):
        def __init__(self, s=None):
            if s is None:
                s = counter[0] % (2**32)
                counter[0] += 1
            super().__init__(s)

    return original, Seeded


def median(xs):
    return float(statistics.median(xs)) if xs else None


def mean(xs):
    return float(statistics.fmean(xs)) if xs else None


# --------------------------------------------------------------------------
# data and models


def load(name):
    loader = {
        "iris": sklearn.datasets.load_iris,
        "wine": sklearn.datasets.load_wine,
        "breast_cancer": sklearn.datasets.load_breast_cancer,
        "digits": sklearn.datasets.load_digits,
    }[name]
    ds = loader()
    return np.asarray(ds.data, dtype=np.float64), np.asarray(ds.target, dtype=np.int64)


def prepare(name, seed, test_size):
    x, y = load(name)
    xs = MinMaxScaler().fit_transform(x)
    # Exact [0, 1] per column: MinMaxScaler can land a hair off; clip, then
    # round to float32 (the model's input type) and check.
    xs = np.clip(xs, 0.0, 1.0).astype(np.float32)
    lo, hi = xs.min(axis=0), xs.max(axis=0)
    if not (np.all(lo == 0.0) and np.all(hi == 1.0)):
        raise SystemExit(f"{name}: scaled columns are not exactly [0, 1]: {lo} {hi}")
    xtr, xte, ytr, yte = train_test_split(
        xs, y, test_size=test_size, random_state=seed, stratify=y
    )
    return xs, y, xtr, xte, ytr, yte


def models(seed):
    return {
        "logreg": LogisticRegression(max_iter=5000, random_state=seed),
        "mlp": MLPClassifier(hidden_layer_sizes=(16,), max_iter=3000, random_state=seed),
    }


def export(model, d, path, zipmap):
    opts = {} if zipmap else {id(model): {"zipmap": False}}
    onx = to_onnx(
        model,
        initial_types=[("X", FloatTensorType([None, d]))],
        options=opts,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    path.write_bytes(onx.SerializeToString())


def write_csv(path, x, y, cols):
    with open(path, "w") as f:
        f.write(",".join(cols + ["label"]) + "\n")
        for row, label in zip(x, y):
            # %.9g round-trips a float32 exactly
            f.write(",".join("%.9g" % float(v) for v in row) + f",{int(label)}\n")


# --------------------------------------------------------------------------
# mlsec


def run_mlsec(binary, model, csv, cols, attack, norm, eps, budget, rows, seed, repeat,
              threads=None):
    cmd = [
        str(binary), "redteam", str(model), "--data", str(csv), "--label", "label",
        "--features", ",".join(cols), "--attack", attack, "--norm", norm,
        "--eps", ",".join(str(e) for e in eps), "--budget", str(budget),
        "--rows", str(rows), "--seed", str(seed), "--max-success", "1", "-f", "json",
    ]
    for c in cols:
        cmd += ["--bounds", f"{c}=0:1"]
    walls, outs = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        env = dict(os.environ)
        if threads:
            env["RAYON_NUM_THREADS"] = str(threads)
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - t0)
        if p.returncode not in (0, 1):
            raise SystemExit(
                f"mlsec failed ({p.returncode}): {shlex.join(cmd)}\n{p.stderr[-2000:]}"
            )
        outs.append(json.loads(p.stdout)["details"])
    det = outs[0]
    # Determinism: the same seed gives the same numbers on every repeat.
    strip = lambda d: [  # noqa: E731
        {k: v for k, v in a.items() if k not in ("seconds",)} for a in d["attacks"]
    ]
    same = all(strip(o) == strip(det) for o in outs)
    seconds = {}
    for a in det["attacks"]:
        key = round(a["eps"], 6)
        seconds[key] = median(
            [next(b["seconds"] for b in o["attacks"] if round(b["eps"], 6) == key) for o in outs]
        )
    return dict(cmd=cmd, details=det, wall=median(walls), walls=walls, seconds=seconds,
                deterministic=same)


def mlsec_row(det, eps):
    for a in det["attacks"]:
        if abs(a["eps"] - eps) < 1e-6:
            return a
    raise KeyError(eps)


# --------------------------------------------------------------------------
# ART


def art_square(sess, xs, labels, d, nb_classes, eps, budget, seed):
    """ART SquareAttack (L-inf), one generate call per row, hard budget.

    ART's SquareAttack takes images only (4-D input) and never places a
    square on the last row or column (np.random.randint's upper bound is
    exclusive), so the d features fill the top-left k x k block of a
    (k+1) x (k+1) one-channel image, k = ceil(sqrt(d)); the other cells are
    padding the oracle drops (changes to them are not new queries)."""
    k = math.ceil(math.sqrt(d))
    g = k + 1
    # p_init as ART's default (0.8) unless the first square would not fit.
    p_init = min(0.8, 0.98 * ((g - 0.5) / g) ** 2)
    per_row = []
    t_total = 0.0
    for idx, (x, label) in enumerate(zip(xs, labels)):
        oracle = Oracle(sess, d, budget, label, x, "linf", [eps], layout=(k, g))
        clf = BlackBoxClassifierNeuralNetwork(
            oracle, input_shape=(1, g, g), nb_classes=nb_classes,
            channels_first=True, clip_values=(0.0, 1.0),
        )
        attack = SquareAttack(clf, norm=np.inf, eps=eps, max_iter=budget, p_init=p_init,
                              nb_restarts=1, batch_size=128, verbose=False)
        img = np.zeros((1, 1, g, g), dtype=np.float32)
        flat = np.zeros(k * k, dtype=np.float32)
        flat[:d] = x
        img[0, 0, :k, :k] = flat.reshape(k, k)
        y1 = np.eye(nb_classes, dtype=np.float32)[[label]]
        np.random.seed((seed * 1_000_003 + idx) % (2**32))
        t0 = time.perf_counter()
        try:
            attack.generate(img, y1)
        except BudgetSpent:
            pass
        t_total += time.perf_counter() - t0
        ok = oracle.first_within[eps] is not None
        per_row.append(dict(success=ok, queries=oracle.queries, raw_rows=oracle.raw_rows,
                            distance=oracle.best if ok else None))
    return summarise_art(per_row, t_total), dict(p_init=p_init, grid=g, block=k, max_iter=budget)


def art_square_batch(sess, xs, labels, d, nb_classes, eps, budget, seed):
    """ART SquareAttack on all rows in one generate call (how ART is usually
    run; its fastest wall time). No per-row cap: max_iter=budget; queries are
    distinct rows sent over all rows, divided by the rows."""
    k = math.ceil(math.sqrt(d))
    g = k + 1
    p_init = min(0.8, 0.98 * ((g - 0.5) / g) ** 2)
    n = len(xs)
    oracle = Oracle(sess, d, 10**12, -1, np.zeros(d), "linf", [], layout=(k, g))
    clf = BlackBoxClassifierNeuralNetwork(
        oracle, input_shape=(1, g, g), nb_classes=nb_classes, channels_first=True,
        clip_values=(0.0, 1.0),
    )
    attack = SquareAttack(clf, norm=np.inf, eps=eps, max_iter=budget, p_init=p_init,
                          nb_restarts=1, batch_size=128, verbose=False)
    imgs = np.zeros((n, 1, g, g), dtype=np.float32)
    for i, x in enumerate(xs):
        flat = np.zeros(k * k, dtype=np.float32)
        flat[:d] = x
        imgs[i, 0, :k, :k] = flat.reshape(k, k)
    y1 = np.eye(nb_classes, dtype=np.float32)[labels]
    np.random.seed(seed % (2**32))
    t0 = time.perf_counter()
    adv = attack.generate(imgs, y1)
    secs = time.perf_counter() - t0
    rows = oracle.to_rows(adv)
    probs = np.asarray(sess.run(None, {sess.get_inputs()[0].name: rows})[1])
    flipped = np.argmax(probs, axis=1) != np.asarray(labels)
    dist = np.max(np.abs(rows.astype(np.float64) - np.asarray(xs, dtype=np.float64)), axis=1)
    ok = flipped & (dist <= eps + 1e-6)
    return dict(rows=n, successes=int(ok.sum()), success_rate=float(ok.mean()) if n else None,
                mean_queries=oracle.queries / n if n else None,
                mean_raw_rows=oracle.raw_rows / n if n else None, seconds=secs)


def art_hsj(sess, xs, labels, d, nb_classes, norm, radii, budget, seed, config, starts=None):
    """ART HopSkipJump (untargeted), one row at a time, hard budget. Success
    at a radius: an adversarial row within it was sent to the model. Queries
    as mlsec counts them for a decision-based attack (it stops once within
    the smallest radius): the count when a row within the smallest radius
    was first seen, else all queries spent."""
    per_row = []
    t_total = 0.0
    rmin = min(radii)
    original, Seeded = seeded_random_state(seed)
    for idx, (x, label) in enumerate(zip(xs, labels)):
        oracle = Oracle(sess, d, budget, label, x, norm, radii)
        clf = BlackBoxClassifier(oracle, input_shape=(d,), nb_classes=nb_classes,
                                 clip_values=(0.0, 1.0))
        attack = HopSkipJump(clf, targeted=False, norm=2 if norm == "l2" else np.inf,
                             batch_size=64, verbose=False, **HSJ_CONFIGS[config])
        kwargs = {}
        if starts is not None:
            kwargs["x_adv_init"] = starts[idx][None].astype(np.float32)
        np.random.seed((seed * 1_000_003 + idx) % (2**32))
        np.random.RandomState = Seeded
        t0 = time.perf_counter()
        try:
            attack.generate(x[None].astype(np.float32),
                            np.eye(nb_classes, dtype=np.float32)[[label]], **kwargs)
        except BudgetSpent:
            pass
        finally:
            t_total += time.perf_counter() - t0
            np.random.RandomState = original
        first = oracle.first_within[rmin]
        per_row.append(dict(
            best=oracle.best,
            within={r: oracle.first_within[r] is not None for r in radii},
            queries=first if first is not None else oracle.queries,
            queries_total=oracle.queries,
            raw_rows=oracle.raw_rows,
        ))
    out = {}
    n = len(per_row)
    for r in radii:
        succ = [p for p in per_row if p["within"][r]]
        out[r] = dict(
            rows=n, successes=len(succ), success_rate=len(succ) / n if n else None,
            median_queries=median([p["queries"] for p in per_row]),
            mean_queries=mean([p["queries"] for p in per_row]),
            median_queries_total=median([p["queries_total"] for p in per_row]),
            median_perturbation=median([p["best"] for p in succ]),
            median_raw_rows=median([p["raw_rows"] for p in per_row]),
            seconds=t_total,
        )
    return out


def summarise_art(per_row, seconds):
    n = len(per_row)
    succ = [p for p in per_row if p["success"]]
    return dict(
        rows=n, successes=len(succ), success_rate=len(succ) / n if n else None,
        median_queries=median([p["queries"] for p in per_row]),
        mean_queries=mean([p["queries"] for p in per_row]),
        median_raw_rows=median([p["raw_rows"] for p in per_row]),
        median_perturbation=median([p["distance"] for p in succ]),
        seconds=seconds,
    )


def nearest_other(xs_all, pred_all, x, label):
    """The nearest row (L2) of the attacked file that the model gives another
    class: mlsec's first starting point for hsj (before its own search)."""
    cand = np.where(pred_all != label)[0]
    dd = np.linalg.norm(xs_all[cand].astype(np.float64) - x.astype(np.float64), axis=1)
    return xs_all[cand[int(np.argmin(dd))]]


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlsec", required=True)
    ap.add_argument("--datasets", default="iris,wine,breast_cancer")
    ap.add_argument("--models", default="logreg,mlp")
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--eps", default="0.05,0.1")
    ap.add_argument("--l2-eps", default="0.1,0.25",
                    help="radii of the L2 HopSkipJump comparison ('' to skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-size", type=float, default=0.25)
    ap.add_argument("--repeat", type=int, default=3, help="mlsec runs per command (median wall)")
    ap.add_argument("--no-batch", action="store_true", help="skip ART's batch Square run")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--mlsec-commit", default=None,
                    help="the commit the binary was built from (default: this checkout's HEAD)")
    args = ap.parse_args()

    eps = [float(e) for e in args.eps.split(",") if e]
    l2_eps = [float(e) for e in args.l2_eps.split(",") if e]
    budget, seed = args.budget, args.seed
    mlsec = Path(args.mlsec).resolve()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mlsec-validate-"))
    work.mkdir(parents=True, exist_ok=True)

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1

    ver = subprocess.run([str(mlsec), "--version"], capture_output=True, text=True).stdout.strip()
    commit = args.mlsec_commit
    if commit is None:
        root = Path(__file__).resolve().parents[2]
        git = lambda *a: subprocess.run(["git", "-C", str(root), *a],  # noqa: E731
                                        capture_output=True, text=True).stdout.strip()
        commit = git("rev-parse", "HEAD") + (" (dirty tree)" if git("status", "--porcelain",
                                                                   "--untracked-files=no") else "")
    report = dict(
        settings=dict(datasets=args.datasets.split(","), models=args.models.split(","),
                      budget=budget, eps=eps, l2_eps=l2_eps, seed=seed,
                      test_size=args.test_size, mlsec_repeats=args.repeat,
                      hsj_configs=HSJ_CONFIGS),
        environment=dict(
            python=sys.version.split()[0], platform=platform.platform(),
            cpus=os.cpu_count(), loadavg_start=os.getloadavg(),
            packages={p: pkg_version(p) for p in PACKAGES},
            mlsec=ver, mlsec_binary=str(mlsec), mlsec_commit=commit,
            onnxruntime_threads=1,
        ),
        datasets=[], results=[], checks=[],
    )
    # What a whole ART process pays before its first attack: the imports.
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy, onnxruntime, "
                    "art.attacks.evasion, art.estimators.classification"],
                   capture_output=True, check=True)
    report["environment"]["art_import_seconds"] = time.perf_counter() - t0
    started = time.perf_counter()

    def check(what, ok, detail=""):
        report["checks"].append(dict(check=what, ok=bool(ok), detail=detail))
        print(f"  [{'ok' if ok else 'MISMATCH'}] {what} {detail}", flush=True)

    for ds in args.datasets.split(","):
        xs, y, xtr, xte, ytr, yte = prepare(ds, seed, args.test_size)
        d = xs.shape[1]
        nb = int(y.max()) + 1
        cols = [f"f{j:02d}" for j in range(d)]
        ddir = work / ds
        ddir.mkdir(exist_ok=True)
        csv = ddir / "test.csv"
        write_csv(csv, xte, yte, cols)
        write_csv(ddir / "all.csv", xs, y, cols)
        report["datasets"].append(dict(name=ds, rows=len(y), features=d, classes=nb,
                                       train=len(ytr), test=len(yte),
                                       min_per_column=0.0, max_per_column=1.0))
        print(f"== {ds}: {len(y)} rows, {d} features, {nb} classes; test {len(yte)}", flush=True)
        for mname in args.models.split(","):
            model = models(seed)[mname].fit(xtr, ytr)
            paths = {}
            for form, zm in (("zipmap", True), ("nozipmap", False)):
                paths[form] = ddir / f"{mname}_{form}.onnx"
                export(model, d, paths[form], zm)
            sess = ort.InferenceSession(str(paths["nozipmap"]), so,
                                        providers=["CPUExecutionProvider"])
            inp = sess.get_inputs()[0].name
            ort_pred = np.asarray(sess.run(None, {inp: xte})[0]).astype(np.int64)
            sk_pred = model.predict(xte)
            sk_correct = int((sk_pred == yte).sum())
            correct_idx = np.where(ort_pred == yte)[0]
            xs_att, y_att = xte[correct_idx], yte[correct_idx]
            print(f"-- {ds}/{mname}: sklearn {sk_correct}/{len(yte)} correct, "
                  f"onnxruntime {len(correct_idx)}", flush=True)
            check(f"{ds}/{mname}: onnxruntime predictions equal sklearn's",
                  np.array_equal(ort_pred, sk_pred),
                  f"({int((ort_pred != sk_pred).sum())} differ)")

            # mlsec: both ZipMap forms; L-inf square and hsj, L2 hsj.
            runs = [("square", "linf", eps), ("hsj", "linf", eps)]
            if l2_eps:
                runs.append(("hsj", "l2", l2_eps))
            ml = {}
            for form in ("zipmap", "nozipmap"):
                for attack, norm, radii in runs:
                    ml[(form, attack, norm)] = run_mlsec(
                        mlsec, paths[form], csv, cols, attack, norm, radii, budget,
                        len(yte) * 10, seed, args.repeat)
            # One thread (ART runs on one): RAYON_NUM_THREADS=1.
            for attack, norm, radii in runs:
                ml[("1thread", attack, norm)] = run_mlsec(
                    mlsec, paths["zipmap"], csv, cols, attack, norm, radii, budget,
                    len(yte) * 10, seed, args.repeat, threads=1)
            first = ml[("zipmap", "square", "linf")]["details"]
            check(f"{ds}/{mname}: mlsec clean accuracy on the test rows equals sklearn's",
                  first["sample"]["rows"] == len(yte) and first["sample"]["correct"] == sk_correct,
                  f"(mlsec {first['sample']['correct']}/{first['sample']['rows']}, "
                  f"sklearn {sk_correct}/{len(yte)}, clean_accuracy {first['clean_accuracy']:.4f})")
            check(f"{ds}/{mname}: mlsec attacks the rows ART attacks (count)",
                  first["sample"]["correct"] == len(correct_idx),
                  f"(mlsec {first['sample']['correct']}, ART {len(correct_idx)})")
            bounds_ok = all(f["lower"] == 0.0 and f["upper"] == 1.0 for f in first["features"])
            check(f"{ds}/{mname}: mlsec's feature bounds are [0, 1]", bounds_ok)
            for attack, norm, radii in runs:
                a = ml[("zipmap", attack, norm)]
                b = ml[("nozipmap", attack, norm)]
                strip = lambda d_: [{k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
                                    for r in d_["attacks"]]
                check(f"{ds}/{mname}: mlsec {attack} {norm}: ZipMap and zipmap=False give "
                      "the same results", strip(a["details"]) == strip(b["details"]))
                c = ml[("1thread", attack, norm)]
                check(f"{ds}/{mname}: mlsec {attack} {norm}: same numbers on "
                      f"{args.repeat} runs and on one thread",
                      a["deterministic"] and b["deterministic"] and c["deterministic"]
                      and strip(a["details"]) == strip(c["details"]))

            def ml_entry(form, attack, norm, e):
                r = ml[(form, attack, norm)]
                a = mlsec_row(r["details"], e)
                return dict(
                    rows=a["rows"], successes=a["successes"], success_rate=a["success_rate"],
                    robust_accuracy=a["robust_accuracy"], clean_accuracy=a["clean_accuracy"],
                    median_queries=a["median_queries"], mean_queries=a["mean_queries"],
                    median_perturbation=a.get("median_perturbation"),
                    seconds=r["seconds"][round(a["eps"], 6)], process_wall=r["wall"],
                    process_walls=r["walls"], command=shlex.join(r["cmd"]),
                )

            def record(attack, norm, e, art, extra=None):
                entry = dict(dataset=ds, model=mname, attack=attack, norm=norm, eps=e,
                             budget=budget, test_rows=len(yte),
                             mlsec={f: ml_entry(f, attack, norm, e)
                                    for f in ("zipmap", "nozipmap", "1thread")},
                             art=art)
                if extra:
                    entry.update(extra)
                report["results"].append(entry)
                m = entry["mlsec"]["zipmap"]
                best = max((v for v in art.values() if v.get("success_rate") is not None),
                           key=lambda v: v["success_rate"])
                print(f"   {attack:6s} {norm:4s} eps {e:<5g} mlsec {m['success_rate']:.3f} "
                      f"q{m['median_queries']:.0f} {m['seconds']:.2f}s/{m['process_wall']:.2f}s"
                      f" | ART best {best['success_rate']:.3f} "
                      f"q{best.get('median_queries') or best.get('mean_queries'):.0f} "
                      f"{best['seconds']:.2f}s", flush=True)

            # ART Square, L-inf, per eps.
            for e in eps:
                art = {}
                res, info = art_square(sess, xs_att, y_att, d, nb, e, budget, seed)
                art["square"] = res
                if not args.no_batch:
                    art["square_batch"] = art_square_batch(sess, xs_att, y_att, d, nb, e,
                                                           budget, seed)
                record("square", "linf", e, art, dict(art_square_layout=info))

            # ART HopSkipJump: L-inf (and L2), both configs, and the default
            # config from mlsec's starting row.
            all_pred = np.asarray(sess.run(None, {inp: xte})[0]).astype(np.int64)
            starts = np.stack([nearest_other(xte, all_pred, x, lab)
                               for x, lab in zip(xs_att, y_att)]) if len(xs_att) else None
            for norm, radii in (("linf", eps), ("l2", l2_eps)):
                if not radii:
                    continue
                art_runs = {}
                for cfg in HSJ_CONFIGS:
                    art_runs[f"hsj_{cfg}"] = art_hsj(sess, xs_att, y_att, d, nb, norm, radii,
                                                    budget, seed, cfg)
                art_runs["hsj_default_data_start"] = art_hsj(
                    sess, xs_att, y_att, d, nb, norm, radii, budget, seed, "default",
                    starts=starts)
                for e in radii:
                    record("hsj", norm, e, {k: v[e] for k, v in art_runs.items()})

    report["environment"]["loadavg_end"] = os.getloadavg()
    report["environment"]["total_seconds"] = time.perf_counter() - started
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    bad = [c for c in report["checks"] if not c["ok"]]
    print(f"wrote {args.out}; {len(report['checks'])} checks, {len(bad)} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
