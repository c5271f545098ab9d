"""Turns oha's JSON results (bench/gateway/work/*.json) into results.md."""
import json
import os
import platform
import statistics
import sys

work, rates, seconds, rounds = sys.argv[1], sys.argv[2].split(), sys.argv[3], int(sys.argv[4])
TARGETS = ("direct", "mlsec", "guarded", "litellm")


def load(name):
    with open(os.path.join(work, name + ".json")) as f:
        return json.load(f)


def ms(result, p):
    return result["latencyPercentiles"][p] * 1e3


def counts(result):
    codes = result.get("statusCodeDistribution", {})
    total = sum(codes.values()) + sum(result.get("errorDistribution", {}).values())
    return codes.get("200", 0), total


def ok_share(*results):
    ok, total = (sum(c) for c in zip(*(counts(r) for r in results)))
    return ok / total if total else 0.0


def median_ms(results, p):
    return statistics.median(ms(r, p) for r in results)


print("# mlsec gateway vs LiteLLM proxy: added latency and throughput\n")
print(f"Made by `bench/gateway/run.sh` on {platform.machine()}, {os.cpu_count()} cores "
      "(the load generator, the proxy and the stand-in model server share them), "
      f"{seconds} s per measurement. Each fixed rate is measured in {rounds} rounds, "
      "every target once per round; the tables give each target's median over the rounds. "
      "Requests are non-streaming chat completions; "
      "the model server answers at once, so the numbers are the proxies' own cost.\n")
print("mlsec gateway: API key, Cedar policy, a rate limit and the SQLite audit log on; "
      "\"+ guards\": the same with the prompt-injection and secrets guards on the route. "
      "LiteLLM proxy: master key and a per-model rpm limit (no audit log: it needs a database).\n")
print("## Added latency at fixed rates (ms over the direct call)\n")
print("| rate (req/s) | direct p50 | direct p99 | mlsec added p50 | mlsec added p99 | + guards added p50 | + guards added p99 | LiteLLM added p50 | LiteLLM added p99 | mlsec 200s | + guards 200s | LiteLLM 200s |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for rate in rates:
    runs = {t: [load(f"{t}-rate{rate}-round{i}") for i in range(1, rounds + 1)] for t in TARGETS}
    d = {p: median_ms(runs["direct"], p) for p in ("p50", "p99")}
    added = lambda t, p: median_ms(runs[t], p) - d[p]
    print(f"| {rate} | {d['p50']:.3f} | {d['p99']:.3f} "
          + "".join(f"| {added(t, 'p50'):.3f} | {added(t, 'p99'):.3f} " for t in TARGETS[1:])
          + "".join(f"| {ok_share(*runs[t]):.1%} " for t in TARGETS[1:]) + "|")
print("\n## Maximum throughput (64 connections)\n")
print("| target | requests/s | p50 ms | p99 ms | 200s |")
print("|---|---|---|---|---|")
rps = {}
for t in TARGETS:
    r = load(f"{t}-max")
    rps[t] = r["summary"]["requestsPerSec"]
    print(f"| {t} | {rps[t]:,.0f} | {ms(r, 'p50'):.2f} | {ms(r, 'p99'):.2f} | {ok_share(r):.1%} |")
if rps.get("litellm"):
    print(f"\nmlsec gateway's maximum throughput is {rps['mlsec'] / rps['litellm']:.0f}x LiteLLM's.")
