#!/usr/bin/env python3
"""Rewrites the `mitre-atlas` framework of crates/mlsec-policy/packs/controls.json.

    refresh-atlas.py [--from FILE | --url URL] [--controls PATH] [--check]

Reads the official ATLAS data (dist/ATLAS.yaml of github.com/mitre-atlas/atlas-data,
Apache-2.0): by default downloaded from the raw GitHub URL at the pinned tag below,
or from a local copy with --from (no network then). Every technique and
sub-technique of the ATLAS matrix becomes one control:

    {"id": "AML.T0010.003", "title": "AI Supply Chain Compromise: Model", "tactics": ["AML.TA0004"]}

A sub-technique's title is "<parent name>: <name>", the form the ATLAS website
uses; it carries its parent's tactics (the data gives tactics only on
techniques). Controls are sorted by id, tactic ids are sorted, and the
framework's version is the data's own `version` field, so the same input always
gives the same file. The framework also lists the matrix's tactics with their
names, in the matrix's order (the order of the attack lifecycle), so that
reports can name a technique's tactics:

    "tactics": [{"id": "AML.TA0002", "name": "Reconnaissance"}, ...]

and a `notice` that says whose data this is and under which licence (ATLAS is
Copyright MITRE, Apache-2.0; the notice travels with the copy). The other frameworks are left as they are; the file is
written as JSON with 2-space indentation and a trailing newline.

--check writes nothing and exits 1 when the file is not what the data gives.

ATLAS publishes YAML only (atlas-data has no JSON or STIX distribution; the
STIX bundle of mitre-atlas/atlas-navigator-data is deprecated), so parsing
needs PyYAML (`pip install pyyaml`). A JSON file with the same structure as
ATLAS.yaml is read with the standard library alone.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import urllib.request

ATLAS_TAG = "v5.6.0"
DEFAULT_URL = f"https://raw.githubusercontent.com/mitre-atlas/atlas-data/{ATLAS_TAG}/dist/ATLAS.yaml"
FRAMEWORK_ID = "mitre-atlas"
FRAMEWORK_NAME = "MITRE ATLAS"
FRAMEWORK_URL = "https://atlas.mitre.org"
NOTICE = (
    "Techniques and tactics from MITRE ATLAS (github.com/mitre-atlas/atlas-data, dist/ATLAS.yaml), "
    "Copyright 2021-2025 MITRE, licensed under the Apache License, Version 2.0 "
    "(http://www.apache.org/licenses/LICENSE-2.0). Copied: the ids and names of the ATLAS matrix's "
    "tactics and techniques, and each technique's tactics."
)
MAX_DOWNLOAD = 64 * 1024 * 1024

TECHNIQUE_ID = re.compile(r"AML\.T\d{4}(\.\d{3})?")
TACTIC_ID = re.compile(r"AML\.TA\d{4}")
DEFAULT_CONTROLS = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "crates", "mlsec-policy", "packs", "controls.json"
)


def fail(message):
    sys.exit(f"refresh-atlas: {message}")


def fetch(url):
    if not url.startswith("https://"):
        fail(f"refusing a non-https URL: {url} (use --from for local files)")
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read(MAX_DOWNLOAD + 1)
    except OSError as error:
        fail(f"cannot download {url}: {error} (offline? use --from FILE)")
    if len(data) > MAX_DOWNLOAD:
        fail(f"{url} is larger than {MAX_DOWNLOAD} bytes")
    return data


def parse(raw, origin):
    text = raw.decode("utf-8")
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        import yaml
    except ImportError:
        fail(f"{origin} is YAML; parsing it needs PyYAML (pip install pyyaml)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def atlas_controls(data):
    """Returns (version, tactics, controls) from parsed ATLAS data."""
    if not isinstance(data, dict) or data.get("id") != "ATLAS":
        fail("input is not ATLAS data (top-level id is not ATLAS)")
    version = str(data.get("version", "")).strip()
    if not version:
        fail("ATLAS data has no version")
    matrices = [m for m in data.get("matrices") or [] if m.get("id") == "ATLAS"]
    if len(matrices) != 1:
        fail(f"expected one matrix with id ATLAS, found {len(matrices)}")
    matrix = matrices[0]

    tactics = set()
    tactic_list = []
    for tactic in matrix.get("tactics") or []:
        tactic_id = tactic.get("id", "")
        if not TACTIC_ID.fullmatch(tactic_id):
            fail(f"unexpected tactic id {tactic_id!r}")
        if tactic_id in tactics:
            fail(f"tactic {tactic_id} appears twice")
        name = " ".join(str(tactic.get("name", "")).split())
        if not name:
            fail(f"tactic {tactic_id} has no name")
        tactics.add(tactic_id)
        tactic_list.append({"id": tactic_id, "name": name})

    techniques = {}
    for technique in matrix.get("techniques") or []:
        technique_id = technique.get("id", "")
        if not TECHNIQUE_ID.fullmatch(technique_id):
            fail(f"unexpected technique id {technique_id!r}")
        if technique_id in techniques:
            fail(f"technique {technique_id} appears twice")
        if not str(technique.get("name", "")).strip():
            fail(f"technique {technique_id} has no name")
        techniques[technique_id] = technique
    if not techniques:
        fail("ATLAS matrix has no techniques")

    controls = []
    for technique_id in sorted(techniques):
        technique = techniques[technique_id]
        name = " ".join(str(technique["name"]).split())
        parent_id = technique.get("subtechnique-of")
        if parent_id:
            parent = techniques.get(parent_id)
            if parent is None or not technique_id.startswith(parent_id + "."):
                fail(f"sub-technique {technique_id} names an unknown parent {parent_id!r}")
            title = " ".join(str(parent["name"]).split()) + ": " + name
            technique_tactics = parent.get("tactics") or []
        else:
            if "." in technique_id[len("AML.T"):]:
                fail(f"{technique_id} looks like a sub-technique but has no subtechnique-of")
            title = name
            technique_tactics = technique.get("tactics") or []
        unknown = [t for t in technique_tactics if t not in tactics]
        if unknown or not technique_tactics:
            fail(f"{technique_id} has missing or unknown tactics {unknown}")
        controls.append({"id": technique_id, "title": title, "tactics": sorted(set(technique_tactics))})
    return version, tactic_list, controls


def render(catalog, version, tactics, controls):
    frameworks = catalog.get("frameworks")
    if not isinstance(frameworks, list):
        fail("controls.json has no frameworks list")
    entry = {
        "id": FRAMEWORK_ID,
        "name": FRAMEWORK_NAME,
        "version": version,
        "url": FRAMEWORK_URL,
        "notice": NOTICE,
        "tactics": tactics,
        "controls": controls,
    }
    for index, framework in enumerate(frameworks):
        if framework.get("id") == FRAMEWORK_ID:
            entry["name"] = framework.get("name", FRAMEWORK_NAME)
            entry["url"] = framework.get("url", FRAMEWORK_URL)
            frameworks[index] = entry
            break
    else:
        frameworks.append(entry)
    return json.dumps(catalog, indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--from", dest="from_file", metavar="FILE", help="read ATLAS.yaml (or JSON) from FILE")
    source.add_argument("--url", default=DEFAULT_URL, help=f"download ATLAS.yaml from URL (default: {DEFAULT_URL})")
    parser.add_argument("--controls", default=DEFAULT_CONTROLS, help="controls.json to rewrite")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is out of date")
    args = parser.parse_args()

    if args.from_file:
        with open(args.from_file, "rb") as f:
            raw, origin = f.read(), args.from_file
    else:
        raw, origin = fetch(args.url), args.url
    version, tactics, controls = atlas_controls(parse(raw, origin))

    with open(args.controls, encoding="utf-8") as f:
        old = f.read()
    new = render(json.loads(old), version, tactics, controls)

    if args.check:
        if new != old:
            print(f"{args.controls} is out of date for ATLAS {version}", file=sys.stderr)
            return 1
        print(f"{args.controls} matches ATLAS {version} ({len(controls)} techniques)")
        return 0
    if new != old:
        directory = os.path.dirname(os.path.abspath(args.controls))
        mode = os.stat(args.controls).st_mode & 0o777
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, delete=False) as f:
            f.write(new)
        try:
            os.chmod(f.name, mode)
            os.replace(f.name, args.controls)
        except BaseException:
            os.unlink(f.name)
            raise
    print(f"{args.controls}: ATLAS {version}, {len(controls)} techniques ({'updated' if new != old else 'unchanged'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
