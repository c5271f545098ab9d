#!/usr/bin/env python3
"""mlsec privacy vs IBM ART's membership-inference attacks on the same models.

See bench/validate/README.md ("Membership inference"). Run through
bench/validate/run.sh --privacy (venv, release build); alone:

    python privacy.py --mlsec PATH/TO/mlsec [--datasets breast_cancer,digits,synthetic]
        [--models mlp,forest,logreg] [--seed 0] [--out privacy-results.json]

For each dataset: every feature MinMax-scaled to [0, 1] and rounded to
float32; a seeded stratified split into three equal parts: members (the
model's training rows), non-members (rows it never saw) and a shadow pool
(rows of the same kind in neither, which both tools may use to train shadow
models). Each model is trained on the members only, to the point of
overfitting (no regularisation, many iterations), and exported by skl2onnx
(ZipMap, the default, for mlsec; zipmap=False for onnxruntime, which
answers ART: the same float32 model).

Both tools get exactly the same three tables. ART's attacks:

- `rule`: MembershipInferenceBlackBoxRuleBased ("the model is right").
- `bb-nn`, `bb-rf`, `bb-gb`: MembershipInferenceBlackBox with its network,
  random-forest and gradient-boosting attack models on the predictions,
  fitted on half the members and non-members and scored on the other half,
  then the other way round (2-fold cross-fitting: every row is scored by an
  attack model that never saw its membership, as mlsec's `supervised`).
- `shadow-nn`, `shadow-rf`: ShadowModels (4 shadow models of the target's own
  learner, trained by ART on the shadow pool; ART knows the architecture,
  mlsec does not) then MembershipInferenceBlackBox fitted on the shadow
  models' answers only, scored on every row.

AUC, advantage and TPR at 1% and 0.1% FPR come from scikit-learn's
roc_curve on each attack's scores (ART's `infer(..., probabilities=True)`);
mlsec's are its own (equal to scikit-learn's, tested in the crate).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from importlib.metadata import version as pkg_version
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
logging.getLogger("art").setLevel(logging.ERROR)

import onnxruntime as ort  # noqa: E402
import sklearn.datasets  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402
from sklearn.model_selection import StratifiedKFold, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

from art.attacks.inference.membership_inference import (  # noqa: E402
    MembershipInferenceBlackBox,
    MembershipInferenceBlackBoxRuleBased,
    ShadowModels,
)
from art.estimators.classification import BlackBoxClassifier, SklearnClassifier  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402
from compare import PACKAGES, export, write_csv  # noqa: E402


def load(name, seed):
    if name == "synthetic":
        # 4 classes, 20 features, 10% of labels flipped: a model that fits
        # the flipped rows has memorised them.
        return sklearn.datasets.make_classification(
            n_samples=2400, n_features=20, n_informative=10, n_classes=4,
            flip_y=0.1, random_state=seed,
        )
    return compare.load(name)


def split(name, seed):
    x, y = load(name, seed)
    xs = np.clip(MinMaxScaler().fit_transform(x), 0.0, 1.0).astype(np.float32)
    y = np.asarray(y, dtype=np.int64)
    xm, rest_x, ym, rest_y = train_test_split(
        xs, y, train_size=1 / 3, random_state=seed, stratify=y)
    xn, xsh, yn, ysh = train_test_split(
        rest_x, rest_y, train_size=0.5, random_state=seed, stratify=rest_y)
    # As many non-members as members (mlsec samples the larger side down to
    # the smaller; ART takes every row), so both tools attack the same rows.
    n = len(ym)
    return (xm, ym), (xn[:n], yn[:n]), (xsh, ysh)


def learners(seed):
    # Overfit on purpose: no regularisation to speak of, trained to zero loss.
    return {
        "mlp": lambda: MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-6, max_iter=1000,
                                     random_state=seed),
        "forest": lambda: RandomForestClassifier(n_estimators=50, random_state=seed),
        "logreg": lambda: LogisticRegression(C=1e4, max_iter=20000, random_state=seed),
    }


def metrics(member, score):
    member = np.asarray(member, dtype=int)
    score = np.asarray(score, dtype=np.float64)
    fpr, tpr, _ = roc_curve(member, score)
    def tpr_at(limit):
        ok = fpr <= limit
        return float(tpr[ok].max()) if ok.any() else 0.0
    return dict(
        auc=float(roc_auc_score(member, score)),
        advantage=float(np.max(tpr - fpr)),
        tpr_at_fpr={"0.01": tpr_at(0.01), "0.001": tpr_at(0.001)},
    )


def run_mlsec(binary, model, tables, cols, seed):
    cmd = [
        str(binary), "privacy", str(model), "--members", str(tables["members"]),
        "--non-members", str(tables["non_members"]), "--shadow-data", str(tables["shadow"]),
        "--label", "label", "--features", ",".join(cols), "--seed", str(seed),
        "--max-auc", "1", "-f", "json",
    ]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        raise SystemExit(f"mlsec failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    det = json.loads(p.stdout)["details"]
    attacks = {a["attack"]: dict(auc=a["auc"], advantage=a["advantage"],
                                 tpr_at_fpr=a["tpr_at_fpr"]) for a in det["attacks"]}
    return dict(cmd=cmd, wall=wall, attacks=attacks, accuracy=det.get("accuracy"),
                rows=det.get("rows"))


def run_art(onnx_plain, members, non_members, shadow, nb_classes, make_learner, seed):
    sess = ort.InferenceSession(str(onnx_plain), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def predict(x):
        return np.asarray(sess.run(None, {name: np.asarray(x, dtype=np.float32)})[1])

    (xm, ym), (xn, yn) = members, non_members
    d = xm.shape[1]
    target = BlackBoxClassifier(predict, input_shape=(d,), nb_classes=nb_classes,
                                clip_values=(0.0, 1.0))
    # Labels as class indices for the attacks: ART turns one-hot labels of
    # two classes into one column, after which its rule-based attack sees
    # every row as wrong. Its shadow models take one-hot labels.
    labels = lambda y: np.asarray(y, dtype=np.int64)  # noqa: E731
    onehot = lambda y: np.eye(nb_classes)[y]  # noqa: E731
    x_all = np.concatenate([xm, xn])
    y_all = np.concatenate([ym, yn])
    member = np.concatenate([np.ones(len(xm)), np.zeros(len(xn))])
    out, seconds = {}, {}

    t0 = time.perf_counter()
    rule = MembershipInferenceBlackBoxRuleBased(target)
    # Its 0/1 decisions: for two classes, its `probabilities=True` output
    # fills whole columns from the first rows' decisions (ART 1.20.1).
    s = rule.infer(x_all, labels(y_all))
    out["rule"] = metrics(member, np.asarray(s, dtype=np.float64).reshape(-1))
    seconds["rule"] = time.perf_counter() - t0

    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    for kind, tag in (("nn", "bb-nn"), ("rf", "bb-rf"), ("gb", "bb-gb")):
        t0 = time.perf_counter()
        score = np.zeros(len(x_all))
        np.random.seed(seed)
        for fit_idx, test_idx in folds.split(x_all, member):
            attack = MembershipInferenceBlackBox(target, attack_model_type=kind)
            fm, fn = fit_idx[member[fit_idx] == 1], fit_idx[member[fit_idx] == 0]
            attack.fit(x_all[fm], labels(y_all[fm]), x_all[fn], labels(y_all[fn]))
            p = attack.infer(x_all[test_idx], labels(y_all[test_idx]), probabilities=True)
            p = np.asarray(p, dtype=np.float64)
            score[test_idx] = p[:, -1] if p.ndim == 2 else p
        out[tag] = metrics(member, score)
        seconds[tag] = time.perf_counter() - t0

    xs, ys = shadow
    t0 = time.perf_counter()
    # ART clones a fitted estimator (it reads the class count from it).
    template = SklearnClassifier(make_learner().fit(xs, ys), clip_values=(0.0, 1.0))
    shadows = ShadowModels(template, num_shadow_models=4, random_state=seed)
    (smx, smy, smp), (snx, sny, snp) = shadows.generate_shadow_dataset(xs, onehot(ys))
    shadow_seconds = time.perf_counter() - t0
    for kind, tag in (("nn", "shadow-nn"), ("rf", "shadow-rf")):
        t0 = time.perf_counter()
        np.random.seed(seed)
        attack = MembershipInferenceBlackBox(target, attack_model_type=kind)
        attack.fit(smx, smy, snx, sny, smp, snp)
        p = attack.infer(x_all, labels(y_all), probabilities=True)
        p = np.asarray(p, dtype=np.float64)
        out[tag] = metrics(member, p[:, -1] if p.ndim == 2 else p)
        seconds[tag] = time.perf_counter() - t0 + shadow_seconds
    return out, seconds


def table(results):
    """Markdown: per case the accuracy gap, mlsec's and ART's best AUC (and
    which attack), every attack's AUC and TPR at 1% FPR, and the seconds."""
    out = ["| dataset | model | train / test accuracy | mlsec best AUC | ART best AUC | mlsec s | ART s |",
           "|---|---|---|---|---|---:|---:|"]
    for c in results["cases"]:
        acc = c["sklearn_accuracy"]
        (ma, mv), (aa, av) = c["best"]["mlsec"], c["best"]["art"]
        mark = "**" if mv >= av else ""
        out.append(f"| {c['dataset']} | {c['model']} | {acc['members']:.3f} / {acc['non_members']:.3f} "
                   f"| {mark}{mv:.3f}{mark} ({ma}) | {av:.3f} ({aa}) "
                   f"| {c['mlsec']['wall']:.1f} | {c['art']['wall']:.1f} |")
    out += ["", "Every attack: its AUC (its TPR at 1% FPR).", "",
            "| dataset | model | tool | attacks |", "|---|---|---|---|"]
    for c in results["cases"]:
        for tool in ("mlsec", "art"):
            attacks = c[tool]["attacks"]
            cells = ", ".join(f"{k} {v['auc']:.3f} ({v['tpr_at_fpr']['0.01']:.3f})"
                              for k, v in attacks.items())
            out.append(f"| {c['dataset']} | {c['model']} | {tool} | {cells} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", metavar="JSON",
                    help="print the markdown tables of a results file and exit")
    ap.add_argument("--mlsec")
    ap.add_argument("--datasets", default="breast_cancer,digits,synthetic")
    ap.add_argument("--models", default="mlp,forest,logreg")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).with_name("privacy-results.json")))
    ap.add_argument("--mlsec-commit", default=None)
    args = ap.parse_args()
    if args.table:
        print(table(json.loads(Path(args.table).read_text())))
        return
    if not args.mlsec:
        ap.error("--mlsec is required")

    results = dict(
        seed=args.seed,
        machine=dict(platform=platform.platform(), cpus=os.cpu_count(),
                     python=platform.python_version()),
        versions={p: pkg_version(p) for p in PACKAGES},
        mlsec_commit=args.mlsec_commit,
        cases=[],
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for ds in args.datasets.split(","):
            members, non_members, shadow = split(ds, args.seed)
            d = members[0].shape[1]
            nb_classes = int(max(members[1].max(), non_members[1].max(), shadow[1].max())) + 1
            cols = [f"f{i:02}" for i in range(d)]
            tables = {}
            for key, (x, y) in (("members", members), ("non_members", non_members),
                                ("shadow", shadow)):
                tables[key] = tmp / f"{ds}-{key}.csv"
                write_csv(tables[key], x, y, cols)
            for mname, make in learners(args.seed).items():
                if mname not in args.models.split(","):
                    continue
                model = make().fit(*members)
                acc = dict(members=float(model.score(*members)),
                           non_members=float(model.score(*non_members)))
                zipmap = tmp / f"{ds}-{mname}.onnx"
                plain = tmp / f"{ds}-{mname}-plain.onnx"
                export(model, d, zipmap, zipmap=True)
                export(model, d, plain, zipmap=False)
                m = run_mlsec(args.mlsec, zipmap, tables, cols, args.seed)
                t0 = time.perf_counter()
                art, art_seconds = run_art(plain, members, non_members, shadow, nb_classes,
                                           make, args.seed)
                art_wall = time.perf_counter() - t0
                best = lambda a: max(a.items(), key=lambda kv: kv[1]["auc"])  # noqa: E731
                bm, ba = best(m["attacks"]), best(art)
                case = dict(dataset=ds, model=mname, rows=dict(
                    members=len(members[1]), non_members=len(non_members[1]),
                    shadow=len(shadow[1]), features=d, classes=nb_classes),
                    sklearn_accuracy=acc, mlsec=m, art=dict(attacks=art, seconds=art_seconds,
                                                          wall=art_wall),
                    best=dict(mlsec=[bm[0], bm[1]["auc"]], art=[ba[0], ba[1]["auc"]]))
                results["cases"].append(case)
                print(f"{ds:14} {mname:7} acc {acc['members']:.3f}/{acc['non_members']:.3f}  "
                      f"mlsec {bm[0]} {bm[1]['auc']:.4f} ({m['wall']:.1f}s)  "
                      f"ART {ba[0]} {ba[1]['auc']:.4f} ({art_wall:.1f}s)", flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
