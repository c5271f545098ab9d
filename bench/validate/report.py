#!/usr/bin/env python3
"""Markdown tables from compare.py's results.json (stdlib only).

    python3 bench/validate/report.py [bench/validate/results.json]

Prints the tables that bench/validate/results.md quotes."""

import json
import sys
from pathlib import Path


def pct(x):
    return "–" if x is None else f"{100 * x:.1f}%"


def num(x, fmt="{:.0f}"):
    return "–" if x is None else fmt.format(x)


def sec(x):
    return "–" if x is None else f"{x:.2f}"


def main():
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("results.json"))
    rep = json.loads(path.read_text())
    res = rep["results"]

    print("### Square Attack, L-inf\n")
    print("ART's queries: distinct rows sent to the model per attacked row (median), "
          "then in brackets all rows ART passed to predict (median), cache hits included.\n")
    print("| dataset | model | eps | rows | success mlsec | success ART | success ART batch "
          "| median queries mlsec | median queries ART | mean queries mlsec / ART "
          "| s mlsec (attack, 2 threads / 1) | s mlsec (process, all eps) | s ART (per row) | s ART (batch) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in res:
        if r["attack"] != "square":
            continue
        m = r["mlsec"]["zipmap"]
        a = r["art"]["square"]
        b = r["art"].get("square_batch") or {}
        print(f"| {r['dataset']} | {r['model']} | {r['eps']:g} | {m['rows']} "
              f"| {pct(m['success_rate'])} | {pct(a['success_rate'])} "
              f"| {pct(b.get('success_rate'))} "
              f"| {num(m['median_queries'])} | {num(a['median_queries'])} "
              f"({num(a['median_raw_rows'])}) "
              f"| {num(m['mean_queries'])} / {num(a['mean_queries'])} "
              f"| {sec(m['seconds'])} / {sec(r['mlsec']['1thread']['seconds'])} "
              f"| {sec(m['process_wall'])} | {sec(a['seconds'])} "
              f"| {sec(b.get('seconds'))} |")

    for norm in ("linf", "l2"):
        rows = [r for r in res if r["attack"] == "hsj" and r["norm"] == norm]
        if not rows:
            continue
        print(f"\n### HopSkipJump, {'L-inf' if norm == 'linf' else 'L2'}\n")
        print("Success: the final (mlsec) or nearest adversarial row sent (ART) within eps. "
              "Queries: until a row within the smallest eps was found, else all spent "
              "(mlsec stops there; ART's count is read at that point). "
              "ART columns: default settings / small (init_eval 10, max_eval 100) / "
              "default settings started from mlsec's first starting row.\n")
        print("| dataset | model | eps | rows | success mlsec | success ART default / small / data start "
              "| median queries mlsec | median queries ART default / small / data start "
              "| median distance mlsec / ART best | s mlsec (attack, 2 threads / 1) | s mlsec (process) "
              "| s ART default / small / data start |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            m = r["mlsec"]["zipmap"]
            a = r["art"]
            keys = ["hsj_default", "hsj_small", "hsj_default_data_start"]
            best = max((a[k] for k in keys), key=lambda v: v["success_rate"])
            print(f"| {r['dataset']} | {r['model']} | {r['eps']:g} | {m['rows']} "
                  f"| {pct(m['success_rate'])} "
                  f"| {' / '.join(pct(a[k]['success_rate']) for k in keys)} "
                  f"| {num(m['median_queries'])} "
                  f"| {' / '.join(num(a[k]['median_queries']) for k in keys)} "
                  f"| {num(m['median_perturbation'], '{:.3f}')} / "
                  f"{num(best['median_perturbation'], '{:.3f}')} "
                  f"| {sec(m['seconds'])} / {sec(r['mlsec']['1thread']['seconds'])} "
                  f"| {sec(m['process_wall'])} "
                  f"| {' / '.join(sec(a[k]['seconds']) for k in keys)} |")

    print("\n### Summary\n")
    print("Rows where mlsec's success rate is above / equal to / below ART's "
          "(successes, not rates, compared), and ART's wall time over mlsec's "
          "(attack seconds from its JSON, 2 threads; and on one thread).\n")
    print("| comparison | above | equal | below | successes mlsec / ART (all rows) "
          "| time ART / mlsec (min-max) | time ART / mlsec 1 thread (min-max) |")
    print("|---|---|---|---|---|---|---|")

    def line(name, pairs):
        up = sum(1 for m, a, *_ in pairs if m > a)
        eq = sum(1 for m, a, *_ in pairs if m == a)
        down = sum(1 for m, a, *_ in pairs if m < a)
        sm = sum(p[0] for p in pairs)
        sa = sum(p[1] for p in pairs)
        ratios = [p[2] for p in pairs if p[2] is not None]
        ratios1 = [p[3] for p in pairs if p[3] is not None]
        rng = lambda xs: f"{min(xs):.1f}x-{max(xs):.0f}x" if xs else "–"  # noqa: E731
        print(f"| {name} | {up} | {eq} | {down} | {sm} / {sa} | {rng(ratios)} | {rng(ratios1)} |")

    def ratio(a, m):
        return a / m if a and m else None

    sq = [r for r in res if r["attack"] == "square"]
    line("Square L-inf: mlsec vs ART (per row)",
         [(r["mlsec"]["zipmap"]["successes"], r["art"]["square"]["successes"],
           ratio(r["art"]["square"]["seconds"], r["mlsec"]["zipmap"]["seconds"]),
           ratio(r["art"]["square"]["seconds"], r["mlsec"]["1thread"]["seconds"])) for r in sq])
    if all("square_batch" in r["art"] for r in sq):
        line("Square L-inf: mlsec vs ART (one batch)",
             [(r["mlsec"]["zipmap"]["successes"], r["art"]["square_batch"]["successes"],
               ratio(r["art"]["square_batch"]["seconds"], r["mlsec"]["zipmap"]["seconds"]),
               ratio(r["art"]["square_batch"]["seconds"], r["mlsec"]["1thread"]["seconds"]))
              for r in sq])
    for norm in ("linf", "l2"):
        hs = [r for r in res if r["attack"] == "hsj" and r["norm"] == norm]
        if not hs:
            continue
        for k in ("hsj_default", "hsj_small", "hsj_default_data_start"):
            line(f"HSJ {norm}: mlsec vs ART {k[4:].replace('_', ' ')}",
                 [(r["mlsec"]["zipmap"]["successes"], r["art"][k]["successes"],
                   ratio(r["art"][k]["seconds"], r["mlsec"]["zipmap"]["seconds"]),
                   ratio(r["art"][k]["seconds"], r["mlsec"]["1thread"]["seconds"])) for r in hs])
        line(f"HSJ {norm}: mlsec vs the best of ART's three",
             [(r["mlsec"]["zipmap"]["successes"],
               max(r["art"][k]["successes"]
                   for k in ("hsj_default", "hsj_small", "hsj_default_data_start")),
               None, None) for r in hs])

    print("\n### Checks\n")
    for c in rep["checks"]:
        print(f"- {'ok' if c['ok'] else '**MISMATCH**'}: {c['check']} {c['detail']}".rstrip())


if __name__ == "__main__":
    main()
