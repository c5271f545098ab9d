"""Writes issues.json for tests/issues.rs: three of scikit-learn's bundled
datasets (no download), the corruptions planted in them, and what
scikit-learn and cleanlab say of the same numbers. Run with the versions in
requirements.txt:

    python3 -m venv /tmp/v && /tmp/v/bin/pip install -r requirements.txt
    /tmp/v/bin/python generate.py

Every number the Rust tests read is stored after rounding, and every
reference result is computed from the rounded numbers, so both sides see the
same inputs. The recipe (per dataset, one seeded numpy generator):

- x: the features rounded to 4 decimals; labels: the true classes.
- flips at 5% and 10%: that share of rows (without replacement) gets a
  uniformly chosen other class. For each: sklearn's 5-fold out-of-fold
  LogisticRegression probabilities (StratifiedKFold shuffle, seed 0; stored
  to 9 significant digits) and cleanlab's find_label_issues on exactly those
  stored probabilities; and cleanlab's scores for fold seeds 0 to 4.
- outliers at 2%: those rows replaced by uniform noise across each column's
  [min, max], rounded to 4 decimals; sklearn IsolationForest (100 trees,
  contamination 0.02, seeds 0 to 4) and a brute-force 5-NN mean distance on the
  standardised matrix, each flagging 2%, scored against the planted rows.
- duplicates: rows appended after x: exact copies (same label), near copies
  (each value + 1e-3 column std, same label), conflicts (exact copies with
  another label). Expected counts by numpy on the augmented matrix.
- backdoor: 5% of the source class gets a fixed pattern (columns set to
  their maximum + 1 column range) and the target label; spectral signatures
  by numpy's SVD on the standardised target class.
"""
import json
import os

import cleanlab
import numpy as np
import sklearn
from cleanlab.count import compute_confident_joint
from cleanlab.filter import find_label_issues
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "issues.json")


def standardise(x):
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std


def g9(m):
    return [[float("%.9g" % v) for v in row] for row in m]


def prf(flagged, truth):
    flagged, truth = set(map(int, flagged)), set(map(int, truth))
    tp = len(flagged & truth)
    p = tp / len(flagged) if flagged else 0.0
    r = tp / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "flagged": len(flagged)}


def lr():
    return LogisticRegression(C=1.0, max_iter=100000, tol=1e-10)


def top_share(scores, share):
    m = int(round(share * len(scores)))
    return np.argsort(-scores, kind="stable")[:m]


datasets = {
    "wine": (load_wine, 11, {"source": 0, "target": 1, "cols": [0, 1, 2]}),
    "breast_cancer": (load_breast_cancer, 12, {"source": 0, "target": 1, "cols": [0, 1, 2]}),
    "digits": (load_digits, 13, {"source": 3, "target": 7, "cols": [0, 7, 56, 63]}),
}
out = {"versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__,
                    "cleanlab": cleanlab.__version__}, "datasets": {}}

for name, (loader, seed, bd) in datasets.items():
    rng = np.random.default_rng(seed)
    x, y = loader(return_X_y=True)
    x = np.round(x.astype(float), 4)
    y = y.astype(int)
    n, d = x.shape
    k = int(y.max()) + 1
    xs = standardise(x)
    ds = {"n": n, "d": d, "k": k, "x": [[float(v) for v in row] for row in x], "labels": y.tolist()}

    # Logistic regression on the whole standardised set: probabilities of the first 200 rows.
    full = lr().fit(xs, y)
    ds["lr_proba_rows"] = min(200, n)
    ds["lr_proba"] = [[float(v) for v in row] for row in full.predict_proba(xs[:200])]

    flips = []
    for rate in (0.05, 0.10):
        m = int(round(rate * n))
        idx = np.sort(rng.choice(n, m, replace=False))
        noisy = y.copy()
        noisy[idx] = (y[idx] + rng.integers(1, k, size=m)) % k
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        probs = cross_val_predict(lr(), xs, noisy, cv=cv, method="predict_proba")
        probs = np.array(g9(probs))
        mask = find_label_issues(noisy, probs)
        ranked = find_label_issues(noisy, probs, return_indices_ranked_by="self_confidence")
        cj = compute_confident_joint(noisy, probs)
        # The same pipeline over five fold seeds: the comparison is of means.
        seeds = []
        for cv_seed in range(5):
            cvs = StratifiedKFold(n_splits=5, shuffle=True, random_state=cv_seed)
            ps = cross_val_predict(lr(), xs, noisy, cv=cvs, method="predict_proba")
            seeds.append(prf(np.flatnonzero(find_label_issues(noisy, ps)), idx))
        flips.append({
            "rate": rate, "flipped": idx.tolist(), "labels": noisy.tolist(),
            "pred_probs": probs.tolist(),
            "cleanlab_flagged": np.flatnonzero(mask).tolist(),
            "cleanlab_ranked": ranked.tolist(),
            "cleanlab_confident_joint": cj.tolist(),
            "cleanlab_score": prf(np.flatnonzero(mask), idx),
            "cleanlab_seeds": seeds,
        })
    ds["flips"] = flips

    # Outliers.
    m = int(round(0.02 * n))
    idx = np.sort(rng.choice(n, m, replace=False))
    lo, hi = x.min(axis=0), x.max(axis=0)
    rows = np.round(rng.uniform(lo, hi, size=(m, d)), 4)
    xo = x.copy()
    xo[idx] = rows
    iso_seeds = []
    for iso_seed in range(5):
        iso = IsolationForest(n_estimators=100, contamination=0.02, random_state=iso_seed).fit(xo)
        iso_seeds.append(prf(np.flatnonzero(iso.predict(xo) == -1), idx))
    xos = standardise(xo)
    dist = np.sqrt(((xos[:, None, :] - xos[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    knn = np.sort(dist, axis=1)[:, :5].mean(axis=1)
    ds["outliers"] = {
        "rows": idx.tolist(), "values": [[float(v) for v in r] for r in rows],
        "sklearn_iforest": iso_seeds,
        "knn5_mean": prf(top_share(knn, 0.02), idx),
    }

    # Duplicates, near duplicates, conflicts.
    src = rng.choice(n, 12, replace=False)
    exact, near, conflict = src[:5], src[5:8], src[8:]
    std = x.std(axis=0)
    near_rows = np.round(x[near] + 1e-3 * std, 4)
    conflict_labels = (y[conflict] + 1) % k
    xa = np.vstack([x, x[exact], near_rows, x[conflict]])
    ya = np.concatenate([y, y[exact], y[near], conflict_labels])
    _, inverse, counts = np.unique(xa, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    groups = [np.flatnonzero(inverse == g) for g in np.flatnonzero(counts > 1)]
    conflicting = [g for g in groups if len(set(ya[g].tolist())) > 1]
    xas = standardise(xa)
    sq = ((xas[:, None, :] - xas[None, :, :]) ** 2).sum(-1)
    iu = np.triu_indices(len(xa), 1)
    eps = 0.05
    near_pairs = int(((sq[iu] > 0) & (sq[iu] <= eps * eps)).sum())
    ds["duplicates"] = {
        "exact_sources": exact.tolist(), "near_sources": near.tolist(),
        "near_values": [[float(v) for v in r] for r in near_rows],
        "conflict_sources": conflict.tolist(), "conflict_labels": conflict_labels.tolist(),
        "radius": eps,
        "duplicate_groups": len(groups),
        "duplicate_rows": int(sum(len(g) - 1 for g in groups)),
        "conflicting_groups": len(conflicting),
        "near_pairs": near_pairs,
    }

    # Backdoor.
    members = np.flatnonzero(y == bd["source"])
    m = int(round(0.05 * len(members)))
    idx = np.sort(rng.choice(members, m, replace=False))
    xb, yb = x.copy(), y.copy()
    pattern = hi[bd["cols"]] + (hi - lo)[bd["cols"]]
    for r in idx:
        xb[r, bd["cols"]] = pattern
    yb[idx] = bd["target"]
    target = np.flatnonzero(yb == bd["target"])
    xt = standardise(xb)[target]
    xt = xt - xt.mean(axis=0)
    _, _, vt = np.linalg.svd(xt, full_matrices=False)
    score = (xt @ vt[0]) ** 2
    eps_frac = m / len(target)
    flagged = target[top_share(score, 1.5 * eps_frac)]
    ds["backdoor"] = {
        "source": bd["source"], "target": bd["target"], "cols": bd["cols"],
        "pattern": [float(v) for v in pattern], "rows": idx.tolist(),
        "poison_fraction": eps_frac,
        "numpy_svd": prf(flagged, idx),
    }
    out["datasets"][name] = ds
    print(name, n, d, k)

with open(OUT, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(os.path.getsize(OUT))
