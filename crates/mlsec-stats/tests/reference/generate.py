#!/usr/bin/env python3
"""Writes cases.json: seeded inputs and what scipy, statsmodels and evidently
compute on them, for the Rust integration test `tests/twosample_reference.rs`.

Run from this folder with the pinned packages (requirements.txt) installed:

    python3 -m venv venv && venv/bin/pip install -r requirements.txt
    PYTHONHASHSEED=0 venv/bin/python generate.py

(pandas is pinned below 3: Evidently 0.7.23 does not import with pandas 3.
PYTHONHASHSEED fixes the order in which Evidently walks its category sets,
so that rerunning reproduces the file to the last bit.)

A function that raises on an input (scipy refuses, say, a single distinct
value for anderson_ksamp) is recorded as null: the Rust side must then return
an error too.
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import scipy.stats as st
import statsmodels
from scipy.spatial import distance
from statsmodels.stats.multitest import multipletests

import evidently
from evidently.legacy.calculations.stattests.hellinger_distance import _hellinger_distance
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
from evidently.legacy.calculations.stattests.kl_div import _kl_div
from evidently.legacy.calculations.stattests.psi import _psi
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test, proportions_diff_z_stat_ind
from evidently.legacy.core import ColumnType

rng = np.random.default_rng(20261204)


def fl(x):
    """A float for JSON; NaN and infinities as the strings "nan", "inf", "-inf"."""
    if x is None:
        return None
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def guarded(f):
    """f() as floats, or None where the reference raises."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = f()
        return out, [str(w.message) for w in caught]
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return None, []


# Large samples are stored once, under "shared", and cases name them with
# {"shared": NAME, "take": N} (the first N values), to keep cases.json small.
shared = {}


def share(name, values):
    shared[name] = np.asarray(values, dtype=float)
    return name


def resolve(x):
    if isinstance(x, tuple):
        name, take = x
        return shared[name][:take], {"shared": name, "take": int(take)}
    x = np.asarray(x, dtype=float)
    return x, x.tolist()


def numeric_case(name, a, b):
    a, a_json = resolve(a)
    b, b_json = resolve(b)
    case = {"name": name, "a": a_json, "b": b_json}

    ks = st.ks_2samp(a, b)
    case["ks"] = {"statistic": fl(ks.statistic), "p_value": fl(ks.pvalue)}

    cvm, _ = guarded(lambda: st.cramervonmises_2samp(a, b))
    case["cvm"] = None if cvm is None else {"statistic": fl(cvm.statistic), "p_value": fl(cvm.pvalue)}

    ad, msgs = guarded(lambda: st.anderson_ksamp([a, b], variant="midrank"))
    if ad is None:
        case["anderson"] = None
    else:
        bound = "none"
        if any("capped" in m for m in msgs):
            bound = "capped"
        if any("floored" in m for m in msgs):
            bound = "floored"
        case["anderson"] = {"statistic": fl(ad.statistic), "p_value": fl(ad.pvalue), "bound": bound}

    case["wasserstein"] = fl(st.wasserstein_distance(a, b))
    sa, sb = pd.Series(a), pd.Series(b)
    case["wasserstein_norm"] = fl(_wasserstein_distance_norm(sa, sb, ColumnType.Numerical, 0.1)[0])

    combined = np.concatenate([a, b])
    case["sturges_edges"] = np.histogram_bin_edges(combined, bins="sturges").tolist()
    case["psi"] = fl(_psi(sa.copy(), sb.copy(), ColumnType.Numerical, 0.1)[0])
    case["kl_div"] = fl(_kl_div(sa.copy(), sb.copy(), ColumnType.Numerical, 0.1)[0])
    case["jensenshannon"] = fl(_jensenshannon(sa.copy(), sb.copy(), ColumnType.Numerical, 0.1)[0])
    case["hellinger"] = fl(_hellinger_distance(sa.copy(), sb.copy(), ColumnType.Numerical, 0.1)[0])
    return case


def categorical_case(name, ref, cur):
    ref = [int(x) for x in ref]
    cur = [int(x) for x in cur]
    case = {"name": name, "reference": ref, "current": cur}
    keep = [i for i in range(len(ref)) if ref[i] + cur[i] > 0]
    table = np.array([[ref[i] for i in keep], [cur[i] for i in keep]])
    if table.shape[1] == 0 or table[0].sum() == 0 or table[1].sum() == 0:
        case["chi2"] = None
    else:
        res = st.chi2_contingency(table)
        case["chi2"] = {"statistic": fl(res.statistic), "p_value": fl(res.pvalue), "dof": int(res.dof)}

    # Evidently works on the rows themselves: category i is the label
    # "c{i:03}", so the sorted labels follow the index order.
    labels = [f"c{i:03}" for i in range(len(ref))]
    sr = pd.Series([labels[i] for i in range(len(ref)) for _ in range(ref[i])])
    sc = pd.Series([labels[i] for i in range(len(cur)) for _ in range(cur[i])])
    if len(sr) == 0 or len(sc) == 0:
        for k in ("z", "psi", "kl_div", "jensenshannon", "hellinger"):
            case[k] = None
        case["scipy_jensenshannon"] = None
        return case
    if len(ref) == 2:
        p_value = _z_stat_test(sr, sc, ColumnType.Categorical, 0.05)[0]
        keys = sorted(set(sr) | set(sc))
        if len(keys) == 1:
            z = 0.0
        else:
            z = proportions_diff_z_stat_ind(
                sr.apply(lambda x: 0 if x == keys[0] else 1), sc.apply(lambda x: 0 if x == keys[0] else 1)
            )
        case["z"] = {"statistic": fl(z), "p_value": fl(p_value)}
    else:
        case["z"] = None
    case["psi"] = fl(_psi(sr.copy(), sc.copy(), ColumnType.Categorical, 0.1)[0])
    case["kl_div"] = fl(_kl_div(sr.copy(), sc.copy(), ColumnType.Categorical, 0.1)[0])
    case["jensenshannon"] = fl(_jensenshannon(sr.copy(), sc.copy(), ColumnType.Categorical, 0.1)[0])
    case["hellinger"] = fl(_hellinger_distance(sr.copy(), sc.copy(), ColumnType.Categorical, 0.1)[0])
    case["scipy_jensenshannon"] = fl(distance.jensenshannon(np.array(ref, float), np.array(cur, float)))
    return case


def multitest_case(name, p):
    p = np.asarray(p, dtype=float)
    return {
        "name": name,
        "p": p.tolist(),
        "holm": multipletests(p, method="holm")[1].tolist(),
        "bonferroni": multipletests(p, method="bonferroni")[1].tolist(),
        "fdr_bh": multipletests(p, method="fdr_bh")[1].tolist(),
    }


def r(x, digits):
    return np.round(np.asarray(x), digits)


share("big", r(rng.normal(0, 1, 12000), 2))
share("shifted", r(rng.normal(0.06, 1, 10500), 2))
share("same", r(rng.normal(0, 1, 11000), 2))

numeric = [
    numeric_case("small_ties", [1, 2, 2, 3, 3, 3, 4], [2, 3, 3, 5, 5, 6]),
    numeric_case("n7_vs_13", r(rng.normal(0, 1, 7), 4), r(rng.normal(0.5, 1, 13), 4)),
    numeric_case("exact_10_vs_15_ties", r(rng.normal(0, 1, 10), 1), r(rng.normal(0.3, 1, 15), 1)),
    numeric_case("exact_20_vs_20", r(rng.normal(0, 1, 20), 5), r(rng.normal(1.0, 1, 20), 5)),
    numeric_case("equal_25_vs_25", r(rng.normal(0, 1, 25), 5), r(rng.normal(0.5, 1, 25), 5)),
    numeric_case("uniform_60_vs_45", r(rng.uniform(0, 1, 60), 6), r(rng.uniform(0.1, 1.1, 45), 6)),
    numeric_case("normal_2000_vs_3000_shift", r(rng.normal(0, 1, 2000), 4), r(rng.normal(0.1, 1, 3000), 4)),
    numeric_case("normal_2000_vs_3000_same", r(rng.normal(0, 1, 2000), 4), r(rng.normal(0, 1, 3000), 4)),
    numeric_case("heavy_ties_500_vs_700", np.round(rng.normal(0, 2, 500)), np.round(rng.normal(0.2, 2, 700))),
    numeric_case("single_value", [3.0] * 10, [3.0] * 12),
    numeric_case("single_value_differs", [3.0] * 10, [4.0] * 12),
    numeric_case("very_unequal_5_vs_3000", r(rng.normal(0, 1, 5), 4), r(rng.normal(0, 1, 3000), 4)),
    numeric_case("one_vs_40", [0.25], r(rng.normal(0, 1, 40), 4)),
    numeric_case("disjoint_30_vs_30", np.arange(30.0), np.arange(100.0, 130.0)),
    numeric_case("binary_200_vs_300", rng.integers(0, 2, 200), (rng.uniform(0, 1, 300) < 0.6).astype(float)),
    numeric_case("asymp_12000_vs_40", ("big", 12000), r(rng.normal(0.3, 1, 40), 2)),
    numeric_case("asymp_12000_vs_40_same", ("big", 12000), r(rng.normal(0, 1, 40), 2)),
    numeric_case("asymp_12000_vs_40_shift", ("big", 12000), r(rng.normal(0.6, 1, 40), 2)),
    numeric_case("asymp_12000_vs_11000_subset", ("big", 12000), ("big", 11000)),
    numeric_case("asymp_12000_vs_3_far", ("big", 12000), [1.5, 2.0, 2.5]),
    numeric_case("asymp_12000_vs_3_near", ("big", 12000), [-0.7, 0.0, 0.7]),
    numeric_case("asymp_12000_vs_3_mid", ("big", 12000), [0.3, 0.9, 1.6]),
    numeric_case("asymp_12000_vs_8", ("big", 12000), r(rng.normal(0.5, 1, 8), 2)),
    numeric_case("asymp_12000_vs_150_shift", ("big", 12000), r(rng.normal(0.4, 1, 150), 2)),
    numeric_case("asymp_12000_vs_150_same", ("big", 12000), r(rng.normal(0, 1, 150), 2)),
    numeric_case("asymp_10500_vs_10500_shift", ("big", 10500), ("shifted", 10500)),
    numeric_case("asymp_12000_vs_11000_same", ("big", 12000), ("same", 11000)),
    numeric_case("exact_10000_vs_9999_shift", ("big", 10000), ("shifted", 9999)),
    numeric_case("exact_10000_vs_10000_same", ("big", 10000), ("same", 10000)),
]
# identical samples: the same values on both sides
same = r(rng.normal(0, 1, 50), 3)
numeric.append(numeric_case("identical_50", same, same.copy()))

categorical = [
    categorical_case("three_categories", [50, 30, 20], [45, 35, 20]),
    categorical_case("zero_in_both", [10, 0, 5, 7], [8, 0, 9, 3]),
    categorical_case("zero_on_one_side", [10, 0, 5], [8, 4, 9]),
    categorical_case("two_by_two", [30, 70], [45, 55]),
    categorical_case("two_by_two_small", [3, 1], [1, 4]),
    categorical_case("two_by_two_same_single", [10, 0], [7, 0]),
    categorical_case("two_by_two_disjoint", [10, 0], [0, 7]),
    categorical_case("two_by_two_large", [600000, 400000], [590000, 410000]),
    categorical_case("single_category", [10], [5]),
    categorical_case("wide_30", rng.integers(0, 200, 30), rng.integers(0, 220, 30)),
    categorical_case("rare_categories", [100000, 5, 1, 0], [99000, 0, 2, 3]),
]

multitest = [
    multitest_case("mixed", [0.01, 0.04, 0.03, 0.2, 0.5, 0.001, 0.04, 1.0]),
    multitest_case("ties_and_zero", [0.0, 0.05, 0.05, 0.05, 0.9, 0.9]),
    multitest_case("single", [0.03]),
    multitest_case("random_40", rng.uniform(0, 0.2, 40)),
    multitest_case("empty", []),
]

# Distribution functions on grids that reach every branch: SciPy's kstwo.sf
# (exact Kolmogorov distribution, used by ks_2samp's asymptotic mode),
# chi2.sf and norm.sf. The Rust unit tests in src/special.rs read these.
kstwo = []
for n in [1, 2, 3, 5, 10, 40, 100, 140, 141, 500, 5000, 100000, 100001, 2000000]:
    xs = [c / np.sqrt(n) for c in [0.1, 0.3, 0.5, 0.8, 1.0, 1.3, 1.6, 2.0, 3.0, 5.0, 13.0, 19.0]]
    xs += [0.4 / n, 0.75 / n, 1.0 / n, 1.5 / n, 0.5, 0.7, 1 - 1.0 / n, 1 - 0.5 / n]
    for x in sorted(set(xs)):
        if 0 < x < 1:
            kstwo.append([n, float(x), fl(st.kstwo.sf(x, n))])
chi2_grid = []
for dof in [1, 2, 3, 10, 29, 100, 1000, 10000]:
    for f in [0.01, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0]:
        chi2_grid.append([dof, dof * f, fl(st.chi2.sf(dof * f, dof))])
norm_grid = [[z, fl(st.norm.sf(z))] for z in [-5.0, -1.0, -1e-3, 0.0, 1e-8, 0.5, 1.0, 1.96, 3.0, 5.0, 8.0, 12.0, 20.0, 37.0]]

out = {
    "versions": {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "statsmodels": statsmodels.__version__,
        "evidently": evidently.__version__,
    },
    "shared": {k: v.tolist() for k, v in shared.items()},
    "numeric": numeric,
    "categorical": categorical,
    "multitest": multitest,
    "kstwo_sf": kstwo,
    "chi2_sf": chi2_grid,
    "norm_sf": norm_grid,
}
with open("cases.json", "w") as f:
    json.dump(out, f, separators=(",", ":"), allow_nan=False)
