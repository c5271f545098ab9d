"""Writes cases.json: seeded samples and what scipy and statsmodels say of
them, for tests/reference.rs. Run with the versions in requirements.txt:

    python3 -m venv /tmp/v && /tmp/v/bin/pip install -r requirements.txt
    /tmp/v/bin/python generate.py
"""
import json
import os

import numpy as np
import scipy
import statsmodels
from scipy import stats
from scipy.spatial import distance
from statsmodels.stats.multitest import multipletests

rng = np.random.default_rng(20261204)
cases = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__}}


def r(x):
    return [float(v) for v in x]


ks = []
samples = [
    ("7 vs 13", rng.normal(size=7), rng.normal(0.5, size=13)),
    ("equal 50", rng.normal(size=50), rng.normal(0.3, size=50)),
    ("ties", np.round(rng.normal(size=300), 1), np.round(rng.normal(0.1, size=200), 1)),
    ("identical", np.arange(40.0), np.arange(40.0)),
    ("one value", np.full(30, 2.0), np.full(25, 2.0)),
    ("disjoint", np.arange(20.0), np.arange(100.0, 130.0)),
]
small = []
for name, a, b in samples:
    res = stats.ks_2samp(a, b)
    w = stats.wasserstein_distance(a, b)
    item = {"name": name, "statistic": float(res.statistic), "p_value": float(res.pvalue),
            "wasserstein": float(w)}
    item["a"], item["b"] = r(a), r(b)
    ks.append(item)
cases["ks"] = ks

# Large samples are not stored: both sides regenerate them with SplitMix64
# (integer arithmetic, so the same floats): uniform(seed) + shift, n values.
def splitmix(seed, n):
    out = np.empty(n)
    state = seed
    mask = (1 << 64) - 1
    for i in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out[i] = (z >> 11) / float(1 << 53)
    return out


big = []
for name, (sa, na), (sb, nb, shift) in [
    ("2000 vs 3000", (11, 2000), (12, 3000, 0.03)),
    ("9000 vs 10000", (13, 9000), (14, 10000, 0.0)),
    ("1 vs 12000", (15, 1), (16, 12000, 0.0)),
    ("130 vs 20000", (17, 130), (18, 20000, 0.05)),
    ("3000 vs 12000 near", (19, 3000), (20, 12000, 0.01)),
    ("10000 vs 10000 exact", (21, 10000), (22, 10000, 0.01)),
    ("20000 vs 30000 same", (1, 20000), (2, 30000, 0.0)),
    ("20000 vs 30000 shift", (3, 20000), (4, 30000, 0.01)),
    ("200000 vs 250000 subtle", (5, 200000), (6, 250000, 0.001)),
    ("200000 vs 250000 shift", (7, 200000), (8, 250000, 0.004)),
    ("500000 vs 500000 subtle", (9, 500000), (10, 500000, 0.0015)),
]:
    a = splitmix(sa, na)
    b = splitmix(sb, nb) + shift
    res = stats.ks_2samp(a, b)
    big.append({"name": name, "a": [sa, na, 0.0], "b": [sb, nb, shift],
                "statistic": float(res.statistic), "p_value": float(res.pvalue),
                "wasserstein": float(stats.wasserstein_distance(a, b))})
cases["ks_generated"] = big

kstwo = []
for n, x in [(10, 0.05), (10, 0.3), (10, 0.7), (100, 0.05), (100, 0.1), (100, 0.2), (140, 0.15),
             (141, 0.1), (500, 0.03), (500, 0.08), (5000, 0.01), (5000, 0.02), (50000, 0.003),
             (50000, 0.006), (99999, 0.004), (120000, 0.002), (120000, 0.0045), (500000, 0.001),
             (500000, 0.0018), (500000, 0.0025), (500000, 0.01), (500000, 0.03), (3, 0.6), (2, 0.3)]:
    kstwo.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
cases["kstwo"] = kstwo

chi = []
tables = [
    ("3 categories", [30, 50, 20], [25, 55, 40]),
    ("2x2 yates", [30, 10], [20, 25]),
    ("zero column", [30, 0, 20, 5], [25, 0, 40, 9]),
    ("big", [300000, 200000, 500000], [301000, 199000, 500000]),
    ("many", list(rng.integers(1, 500, size=40)), list(rng.integers(1, 500, size=40))),
    ("same", [100, 200, 300], [100, 200, 300]),
]
for name, a, b in tables:
    t = np.array([a, b])
    t = t[:, t.sum(axis=0) > 0]
    res = stats.chi2_contingency(t)
    chi.append({"name": name, "a": [int(x) for x in a], "b": [int(x) for x in b],
                "statistic": float(res.statistic), "p_value": float(res.pvalue)})
cases["chi2"] = chi

js = []
for name, p, q in [("simple", [0.1, 0.4, 0.5], [0.2, 0.3, 0.5]), ("zero", [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]),
                   ("counts", [10, 20, 30, 40], [40, 30, 20, 10])]:
    js.append({"name": name, "p": p, "q": q, "js": float(distance.jensenshannon(p, q))})
cases["jensenshannon"] = js

pv = list(rng.uniform(size=12) ** 3) + [0.0, 1.0, 0.04, 0.04]
cases["corrections"] = {
    "p": r(pv),
    "holm": r(multipletests(pv, method="holm")[1]),
    "bonferroni": r(multipletests(pv, method="bonferroni")[1]),
    "bh": r(multipletests(pv, method="fdr_bh")[1]),
}
norm = [{"z": z, "sf": float(stats.norm.sf(z))} for z in [-3.0, -0.5, 0.0, 0.3, 1.0, 1.96, 3.5, 6.0, 10.0, 20.0, 37.0]]
cases["norm_sf"] = norm
chi2 = [{"x": x, "dof": d, "sf": float(stats.chi2.sf(x, d))} for x, d in [(0.5, 1), (3.84, 1), (10.0, 3), (100.0, 10), (1e-3, 2), (50.0, 60), (400.0, 300), (2000.0, 1000)]]
cases["chi2_sf"] = chi2

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.json"), "w") as f:
    json.dump(cases, f)
print("cases:", {k: len(v) for k, v in cases.items()})
