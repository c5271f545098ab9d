#!/usr/bin/env python3
"""Side-by-side table of mlsec's and garak's LLM probe pass rates.

    python3 compare.py --work work --json results.json --md results.md

Reads what run.sh left in WORK:
- mlsec-MODEL.json: `mlsec redteam --protocol openai -f json`; per family
  details.families[] = {family, probes, passed, pass_rate};
- garak-MODEL-FAMILY.report.jsonl: garak's report; its `eval` entries give
  per probe and detector `passed`, `fails`, `nones`, `total_evaluated`, and
  its `attempt` entries (status 2) are the attempts that were answered;
- timings.jsonl: {"tool", "model", "family", "wall_s", "rc"} per run;
- requests.jsonl: the mock's log of every request, told apart by User-Agent;
- versions.json: tool versions and the machine.
A pass is an answer the tool's detector did not flag; a family's pass rate
is passes / answers (garak: summed over the family's probes).
"""

import argparse
import json
import os
import sys
from collections import defaultdict

FAMILIES = ("injection", "leakage", "pii")


def load_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return out


def mlsec_result(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        ev = json.load(f)
    det = ev.get("details", {})
    fams = {}
    for r in det.get("families", []):
        fams[r["family"]] = {"passed": r["passed"], "total": r["probes"], "rate": r["pass_rate"]}
    failed = defaultdict(list)
    for fl in det.get("failures", []):
        failed[fl["family"]].append(fl["probe"])
    for fam, v in fams.items():
        v["failed_probes"] = failed.get(fam, [])
    return {"families": fams, "partial": det.get("partial", False)}


def garak_result(path):
    entries = load_jsonl(path)
    if not entries:
        return None
    probes = {}
    attempts = defaultdict(int)
    version = None
    for e in entries:
        t = e.get("entry_type")
        if t == "start_run setup":
            version = e.get("_config.version")
        elif t == "attempt" and e.get("status") == 2:
            attempts[e.get("probe_classname")] += 1
        elif t == "eval":
            total = e.get("total_evaluated", e.get("passed", 0) + e.get("fails", 0))
            probes[e["probe"]] = {
                "detector": e["detector"],
                "passed": e["passed"],
                "total": total,
                "nones": e.get("nones", 0),
                "rate": e["passed"] / total if total else None,
            }
    for p, v in probes.items():
        v["attempts"] = attempts.get(p, 0)
    passed = sum(v["passed"] for v in probes.values())
    total = sum(v["total"] for v in probes.values())
    return {
        "version": version,
        "passed": passed,
        "total": total,
        "rate": passed / total if total else None,
        "attempts": sum(attempts.values()),
        "probes": probes,
    }


def fmt_rate(passed, total):
    if not total:
        return "n/a"
    return f"{passed}/{total} ({100.0 * passed / total:.0f}%)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="work")
    ap.add_argument("--json", default="results.json")
    ap.add_argument("--md", default="results.md")
    a = ap.parse_args()
    w = a.work

    timings = load_jsonl(os.path.join(w, "timings.jsonl"))
    versions = {}
    if os.path.exists(os.path.join(w, "versions.json")):
        with open(os.path.join(w, "versions.json")) as f:
            versions = json.load(f)
    reqs = load_jsonl(os.path.join(w, "requests.jsonl"))
    req_count = defaultdict(int)
    for r in reqs:
        tool = "mlsec" if r.get("ua", "").lower().startswith("ureq") else "garak"
        req_count[(tool, r.get("model"))] += 1

    models = []
    for t in timings:
        if t["model"] not in models:
            models.append(t["model"])

    res = {"versions": versions, "models": {}}
    for m in models:
        ml = mlsec_result(os.path.join(w, f"mlsec-{m}.json"))
        ml_t = [t for t in timings if t["tool"] == "mlsec" and t["model"] == m]
        g = {}
        for fam in FAMILIES:
            gr = garak_result(os.path.join(w, f"garak-{m}-{fam}.report.jsonl"))
            gt = [t for t in timings if t["tool"] == "garak" and t["model"] == m and t["family"] == fam]
            if gr is not None or gt:
                g[fam] = gr or {}
                g[fam]["wall_s"] = gt[0]["wall_s"] if gt else None
                g[fam]["rc"] = gt[0]["rc"] if gt else None
        res["models"][m] = {
            "mlsec": {
                **(ml or {"families": {}}),
                "wall_s": ml_t[0]["wall_s"] if ml_t else None,
                "rc": ml_t[0]["rc"] if ml_t else None,
                "requests": req_count[("mlsec", m)],
            },
            "garak": {
                "families": g,
                "wall_s": round(sum(v.get("wall_s") or 0 for v in g.values()), 2),
                "requests": req_count[("garak", m)],
            },
        }

    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)

    lines = []
    lines.append("| mock model | family | mlsec passed | garak passed (all its probes) | garak per probe |")
    lines.append("|---|---|---|---|---|")
    for m, r in res["models"].items():
        for fam in FAMILIES:
            mf = r["mlsec"]["families"].get(fam)
            gf = r["garak"]["families"].get(fam) or {}
            per = "; ".join(
                f"{p.split('.', 1)[1] if '.' in p else p} {fmt_rate(v['passed'], v['total'])}"
                for p, v in sorted(gf.get("probes", {}).items())
            )
            lines.append(
                f"| {m} | {fam} | {fmt_rate(mf['passed'], mf['total']) if mf else 'n/a'} | "
                f"{fmt_rate(gf.get('passed', 0), gf.get('total', 0))} | {per or 'n/a'} |"
            )
    lines.append("")
    lines.append("| mock model | mlsec requests | mlsec wall (s) | garak requests | garak wall (s): injection / leakage / pii = total |")
    lines.append("|---|---|---|---|---|")
    for m, r in res["models"].items():
        g = r["garak"]["families"]
        parts = " / ".join(
            f"{g[f]['wall_s']:.1f}" if f in g and g[f].get("wall_s") is not None else "n/a" for f in FAMILIES
        )
        mw = r["mlsec"]["wall_s"]
        lines.append(
            f"| {m} | {r['mlsec']['requests']} | {mw:.2f} | {r['garak']['requests']} | {parts} = {r['garak']['wall_s']:.1f} |"
            if mw is not None
            else f"| {m} | {r['mlsec']['requests']} | n/a | {r['garak']['requests']} | {parts} = {r['garak']['wall_s']:.1f} |"
        )
    if versions:
        lines.append("")
        lines.append("Versions and machine: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    md = "\n".join(lines) + "\n"
    with open(a.md, "w") as f:
        f.write("# LLM probes: mlsec vs garak on mock models (measured)\n\n")
        f.write("Pass = the tool's detector did not flag the answer. See README.md for the mapping and its limits.\n\n")
        f.write(md)
    sys.stdout.write(md)

    # Both tools must have run: non-zero answered attempts on each side.
    bad = []
    for m, r in res["models"].items():
        if not any(v.get("total") for v in r["mlsec"]["families"].values()):
            bad.append(f"mlsec ran no probe against {m}")
        for fam in FAMILIES:
            if not (r["garak"]["families"].get(fam) or {}).get("attempts"):
                bad.append(f"garak ran no attempt for {fam} against {m}")
    for b in bad:
        print("error:", b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
