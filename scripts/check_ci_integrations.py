"""Checks the CI integrations' definitions, then runs them as their hosts would.

Called by scripts/check-ci-integrations.sh:

    check_ci_integrations.py ROOT WORK MLSEC BARE_REPO VERSION HAS_REPORT

- action.yml, ci/gitlab/*.gitlab-ci.yml and .pre-commit-hooks.yaml parse and
  hold the keys their hosts require; every `${{ inputs.X }}` and
  `steps.ID.outputs.X` they use exists; every MLSEC_* setting
  ci/run-mlsec.sh reads is passed by the action and the GitLab template;
- the action's steps run in order as a composite action's would (a small
  evaluator for the expressions it uses; `uses:` steps are recorded, not run):
  once with mlsec on PATH, once building it (with a stub cargo);
- the GitLab job's script lines run as GitLab would (bash, set -eo pipefail,
  the template's variables), cloning mlsec from a local repository;
- the pre-commit hooks' `files` patterns match the model extensions;
- the YAML examples in docs/ci.md parse and use only real inputs, variables
  and hook ids.

Exits 1 with a message on the first failure.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap

import yaml

ROOT, WORK, MLSEC, BARE, VERSION, HAS_REPORT = sys.argv[1:7]
HAS_REPORT = HAS_REPORT == "true"
transcript = []  # the steps of the last action run, printed on failure
MODEL_EXTS = "pt pth bin ckpt pkl pickle joblib npy npz h5 keras onnx gguf safetensors".split()


def fail(msg):
    if transcript:
        print("".join(transcript), file=sys.stderr)
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}")


def read(path):
    with open(path) as f:
        return f.read()


def load(rel):
    path = os.path.join(ROOT, rel)
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except Exception as e:  # noqa: BLE001 - any parse error fails the check
        fail(f"{rel} does not parse as YAML: {e}")


def run_script_settings():
    """The MLSEC_* variables ci/run-mlsec.sh reads."""
    text = read(os.path.join(ROOT, "ci/run-mlsec.sh"))
    names = set(re.findall(r"\$\{(MLSEC_[A-Z_]+)[-:}]", text))
    if not {"MLSEC_COMMAND", "MLSEC_SARIF", "MLSEC_JUNIT"} <= names:
        fail(f"could not read the settings of ci/run-mlsec.sh (found {sorted(names)})")
    return names


def executable(rel):
    path = os.path.join(ROOT, rel)
    if not os.path.isfile(path):
        fail(f"{rel} does not exist")
    if not os.stat(path).st_mode & stat.S_IXUSR:
        fail(f"{rel} is not executable")


# --- action.yml ---------------------------------------------------------------

action = load("action.yml")
for key in ("name", "description", "inputs", "outputs", "runs"):
    if not action.get(key):
        fail(f"action.yml has no {key}")
if action["runs"].get("using") != "composite":
    fail("action.yml: runs.using is not composite")
inputs = action["inputs"]
for name in ("path", "command", "args", "fail-on", "sarif", "report", "junit", "version", "upload-sarif"):
    if name not in inputs:
        fail(f"action.yml has no input {name}")
for name, spec in inputs.items():
    if "description" not in spec:
        fail(f"action.yml: input {name} has no description")
steps = action["runs"]["steps"]
ids = [s.get("id") for s in steps if s.get("id")]
text = read(os.path.join(ROOT, "action.yml"))
for name in re.findall(r"inputs\.([a-z][a-z-]*)", text):
    if name not in inputs:
        fail(f"action.yml uses inputs.{name}, which it does not declare")
for sid in re.findall(r"steps\.([a-z][a-z-]*)\.outputs", text):
    if sid not in ids:
        fail(f"action.yml uses steps.{sid}, which is no step id")
for step in steps:
    if "run" in step:
        if not step.get("shell"):
            fail(f"action.yml: step {step.get('name')!r} runs a command without shell")
        for script in re.findall(r"\$GITHUB_ACTION_PATH/(\S+?\.sh)", step["run"]):
            executable(script)
    elif "uses" not in step:
        fail(f"action.yml: step {step.get('name')!r} neither runs nor uses")
run_step = next(s for s in steps if s.get("id") == "run")
missing = run_script_settings() - set(run_step["env"]) - {"MLSEC_PATH"} - {"MLSEC"}
if missing or "MLSEC_PATH" not in run_step["env"]:
    fail(f"action.yml: the run step does not pass {sorted(missing)}")
upload = [s for s in steps if "upload-sarif" in s.get("uses", "")]
if not upload or "always()" not in upload[0].get("if", ""):
    fail("action.yml: no upload-sarif step that runs always()")
ok("action.yml: composite, inputs, outputs and steps are consistent")


# A composite action's steps, run here. The evaluator knows the expressions
# action.yml uses: inputs.X, steps.ID.outputs.X, github.action_path,
# runner.temp, always(), 'strings', ==, !=, &&, ||, parentheses.
def evaluate(expr, ctx):
    py = expr.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"always\(\)", "True", py)

    def lookup(m):
        parts = m.group(0).split(".")
        if parts[0] == "inputs":
            return repr(ctx["inputs"].get(parts[1], ""))
        if parts[0] == "steps":
            return repr(ctx["steps"].get(parts[1], {}).get(parts[3], ""))
        if parts[0] in ("github", "runner"):
            return repr(ctx[parts[0]].get(parts[1], ""))
        fail(f"action.yml: the test's evaluator does not know {m.group(0)}")

    py = re.sub(r"\b(?:inputs|steps|github|runner)(?:\.[A-Za-z_][A-Za-z0-9_-]*)+", lookup, py)
    # `a or b` must give a's value when truthy, as GitHub's || does: Python's does.
    return eval(py, {"__builtins__": {}}, {})  # our own action.yml, with no builtins


def interpolate(value, ctx):
    if not isinstance(value, str):
        return value
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1), ctx)), value)


def read_kv(path):
    out = {}
    if os.path.exists(path):
        for line in read(path).splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def run_action(name, with_, cwd, path_env, extra_env=None):
    tmp = os.path.join(WORK, f"runner-{name}")
    os.makedirs(tmp)
    ctx = {
        "inputs": {k: str(v.get("default", "")) for k, v in inputs.items()},
        "steps": {},
        "github": {"action_path": ROOT},
        "runner": {"temp": tmp},
    }
    ctx["inputs"].update(with_)
    summary = os.path.join(tmp, "summary.md")
    github_path = os.path.join(tmp, "path")
    open(github_path, "w").close()
    failed, used, code = False, [], 0
    transcript.clear()
    for i, step in enumerate(steps):
        cond = step.get("if", "success()")
        cond = cond.replace("success()", "True" if not failed else "False")
        if not evaluate(cond, ctx):
            continue
        if "uses" in step:
            used.append((step["uses"], {k: interpolate(v, ctx) for k, v in step.get("with", {}).items()}))
            continue
        out = os.path.join(tmp, f"out-{i}")
        open(out, "w").close()
        extra_path = [p for p in read(github_path).splitlines() if p]
        env = {
            "PATH": os.pathsep.join(extra_path[::-1] + [path_env]),
            "HOME": tmp,
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": ROOT,
            "GITHUB_OUTPUT": out,
            "GITHUB_PATH": github_path,
            "GITHUB_STEP_SUMMARY": summary,
            **(extra_env or {}),
        }
        env.update({k: interpolate(v, ctx) for k, v in step.get("env", {}).items()})
        # As GitHub runs `shell: bash`.
        cmd = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
        p = subprocess.run(cmd, check=False, cwd=cwd, env=env, capture_output=True, text=True)
        transcript.append(f"--- step {step.get('name')!r}: exit {p.returncode}\n{p.stdout}{p.stderr}")
        if step.get("id"):
            ctx["steps"][step["id"]] = read_kv(out)
        if p.returncode != 0:
            failed, code = True, p.returncode
    outputs = {k: interpolate(v["value"], ctx) for k, v in action["outputs"].items()}
    return code, outputs, used, (open(summary).read() if os.path.exists(summary) else "")


def copy_examples(name):
    dest = os.path.join(WORK, name)
    shutil.copytree(os.path.join(ROOT, "examples"), dest, ignore=shutil.ignore_patterns(".mlsec"))
    return dest


# 1. mlsec on PATH: no build; the denied example fails the step after the SARIF is uploaded.
bindir = os.path.join(WORK, "bin-py")
os.makedirs(bindir)
os.symlink(MLSEC, os.path.join(bindir, "mlsec"))
project = copy_examples("action-project")
code, outputs, used, summary = run_action("on-path", {"path": "."}, project, f"{bindir}:/usr/bin:/bin")
if code != 1 or outputs["exit-code"] != "1" or outputs["decision"] != "deny":
    fail(f"action on the example: exit {code}, outputs {outputs}; expected 1 / deny")
if [u for u, _ in used if u.startswith("actions/cache")]:
    fail("action: restored a build although mlsec is on PATH")
uploads = [w for u, w in used if "upload-sarif" in u]
if not uploads or uploads[0].get("sarif_file") != "mlsec.sarif":
    fail(f"action: the SARIF upload did not run with mlsec.sarif after the denial ({used})")
sarif = json.loads(read(os.path.join(project, "mlsec.sarif")))
if sarif.get("version") != "2.1.0" or not sarif["runs"][0]["results"]:
    fail("action: mlsec.sarif is not SARIF 2.1.0 with results")
if "### mlsec check: DENY" not in summary:
    fail(f"action: no summary written:\n{summary}")
ok("action with mlsec on PATH: exit 1 after writing and uploading mlsec.sarif; outputs and summary set")

# 2. An error (no project file): exit 2, and no upload of a file that is not there.
code, outputs, used, _ = run_action("error", {"path": "no-such-dir"}, project, f"{bindir}:/usr/bin:/bin")
if code != 2 or outputs["sarif"] != "" or [u for u, _ in used if "upload-sarif" in u]:
    fail(f"action on a missing folder: exit {code}, outputs {outputs}, used {used}; expected 2, no upload")
ok("action on a missing folder: exit 2, the upload step skipped")

# 3. No mlsec on PATH: the action builds it (a stub cargo that copies the
# binary and logs its arguments), restoring and saving the build with actions/cache.
stubdir = os.path.join(WORK, "stub-py")
os.makedirs(stubdir)
log = os.path.join(WORK, "cargo-py.log")
with open(os.path.join(stubdir, "cargo"), "w") as f:
    f.write(f"""#!/bin/bash
echo "$@" >> {log}
root=""; while [ $# -gt 0 ]; do [ "$1" = --root ] && root=$2; shift; done
mkdir -p "$root/bin" && ln -s {MLSEC} "$root/bin/mlsec"
""")
os.chmod(os.path.join(stubdir, "cargo"), 0o755)
project = copy_examples("action-build")
code, outputs, used, _ = run_action(
    "build", {"args": "--only sign,data", "upload-sarif": "false"}, project, f"{stubdir}:/usr/bin:/bin"
)
calls = read(log).splitlines()
if code != 0 or outputs["decision"] != "pass":
    fail(f"action building mlsec: exit {code}, outputs {outputs}")
if len(calls) != 1 or not calls[0].startswith(f"install --locked --path {ROOT}/crates/mlsec --root "):
    fail(f"action: cargo was not called once to install from the action's checkout: {calls}")
caches = [w for u, w in used if u.startswith("actions/cache")]
if not caches or not re.fullmatch(r"mlsec-[a-z]+-[a-z0-9_]+-[0-9a-f]{24}", caches[0]["key"]):
    fail(f"action: no actions/cache step with a content key: {used}")
if not calls[0].endswith(caches[0]["path"]):
    fail(f"action: cargo installs into {calls[0]}, but the cache saves {caches[0]['path']}")
if [u for u, _ in used if "upload-sarif" in u]:
    fail("action: uploaded SARIF although upload-sarif is false")
ok("action without mlsec: built once from its own checkout into the cached folder, then passed")
transcript.clear()

# --- the GitLab template --------------------------------------------------------

template = load("ci/gitlab/mlsec.gitlab-ci.yml")
job = template.get(".mlsec")
if not isinstance(job, dict) or [k for k in template if not k.startswith(".")]:
    fail("the GitLab template must define only hidden jobs, .mlsec among them")
for key in ("image", "variables", "script", "artifacts", "cache"):
    if key not in job:
        fail(f"GitLab .mlsec has no {key}")
if (
    job["artifacts"].get("when") != "always"
    or job["artifacts"]["reports"].get("junit") != job["variables"]["MLSEC_JUNIT"]
):
    fail("GitLab .mlsec: artifacts must be kept always and reports.junit must be MLSEC_JUNIT")
for var in ("MLSEC_SARIF", "MLSEC_REPORT"):
    if job["variables"][var] not in job["artifacts"]["paths"]:
        fail(f"GitLab .mlsec: {var} is not an artifact")
if job["variables"]["MLSEC_EVIDENCE"] + "/" not in job["artifacts"]["paths"]:
    fail("GitLab .mlsec: the evidence folder is not an artifact")
missing = run_script_settings() - set(job["variables"])
if missing:
    fail(f"GitLab .mlsec sets no default for {sorted(missing)}")
example = load("ci/gitlab/example.gitlab-ci.yml")
if not str(example.get("include", [{}])[0].get("remote", "")).endswith("/ci/gitlab/mlsec.gitlab-ci.yml"):
    fail("the GitLab example does not include the template")
jobs = {k: v for k, v in example.items() if k not in ("include", "stages") and not k.startswith(".")}
if not jobs or any(v.get("extends") != ".mlsec" for v in jobs.values()):
    fail("the GitLab example's jobs must extend .mlsec")
ok("GitLab template and example: hidden job, variables, artifacts, JUnit report")


def run_gitlab(name, variables):
    """The job's script as GitLab runs it: one bash, set -eo pipefail, variables exported."""
    project = copy_examples(name)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.path.join(WORK, name + "-home"), "CI_PROJECT_DIR": project}
    os.makedirs(env["HOME"])
    merged = {**job["variables"], **variables}
    for k, v in merged.items():
        env[k] = re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), str(v))
    script = "set -eo pipefail\n" + "\n".join(job["script"])
    p = subprocess.run(["bash", "-c", script], check=False, cwd=project, env=env, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr, project


# mlsec from the image's PATH is not there; the job builds it with the stub cargo.
stub_path = {"PATH": f"{stubdir}:/usr/bin:/bin"}
variables = {"MLSEC_REPOSITORY": BARE, "MLSEC_VERSION": VERSION}
if not HAS_REPORT:
    # The template asks for JUnit and HTML, which need `mlsec report`.
    code, out, _ = run_gitlab("gitlab-noreport", {**variables, **stub_path})
    if code != 2 or "needs `mlsec report`" not in out:
        fail(f"GitLab job asking for JUnit without `mlsec report`: exit {code}, expected 2 naming it:\n{out}")
    ok("GitLab job: JUnit without `mlsec report` is an error (exit 2), as designed")
    variables.update({"MLSEC_JUNIT": "", "MLSEC_REPORT": ""})
open(log, "w").close()
code, out, project = run_gitlab("gitlab", {**variables, **stub_path})
if code != 1:
    fail(f"GitLab job on the example: exit {code}, expected 1:\n{out}")
if not os.path.isfile(os.path.join(project, "mlsec.sarif")) or not os.path.isfile(
    os.path.join(project, "mlsec-evidence", "check.json")
):
    fail(f"GitLab job: no mlsec.sarif or mlsec-evidence/check.json in the project folder:\n{out}")
if HAS_REPORT:
    for artefact in ("mlsec-junit.xml", "mlsec-report.html"):
        if not os.path.isfile(os.path.join(project, artefact)):
            fail(f"GitLab job: no {artefact}")
calls = read(log).splitlines()
if len(calls) != 1 or "/.mlsec-ci/src/crates/mlsec --root " + project + "/.mlsec-ci/bin/mlsec-" not in calls[0]:
    fail(f"GitLab job: cargo was not called once to build the clone into the cached folder: {calls}")
code, out, _ = run_gitlab(
    "gitlab-scan",
    {**variables, **stub_path, "MLSEC_COMMAND": "scan", "MLSEC_PATH": "downloads", "MLSEC_FAIL_ON": "never"},
)
if code != 0 or "FAIL (exit 1)" not in out:
    fail(f"GitLab scan job with fail-on never: exit {code}, expected 0 reporting FAIL:\n{out}")
ok(f"GitLab job run as GitLab would: clone at {VERSION}, build, exit 1 with SARIF and evidence as artifacts; scan job")

# --- pre-commit -------------------------------------------------------------------

hooks = load(".pre-commit-hooks.yaml")
if not isinstance(hooks, list) or {h.get("id") for h in hooks} != {"mlsec-scan", "mlsec-check"}:
    fail(".pre-commit-hooks.yaml must list the hooks mlsec-scan and mlsec-check")
for hook in hooks:
    for key in ("id", "name", "entry", "language", "files"):
        if not hook.get(key):
            fail(f".pre-commit-hooks.yaml: {hook.get('id')} has no {key}")
    if hook["language"] not in ("script", "unsupported_script"):
        fail(f".pre-commit-hooks.yaml: {hook['id']}: language {hook['language']}, expected script")
    executable(hook["entry"].split()[0])
    files = re.compile(hook["files"])
    for ext in MODEL_EXTS:
        for name in (f"model.{ext}", f"a/b/MODEL.{ext.upper()}"):
            if not files.search(name):
                fail(f".pre-commit-hooks.yaml: {hook['id']} does not match {name}")
    for name in ("README.md", "src/main.rs", "model.pt.txt"):
        if files.search(name):
            fail(f".pre-commit-hooks.yaml: {hook['id']} matches {name}")
check = next(h for h in hooks if h["id"] == "mlsec-check")
if check.get("pass_filenames") is not False:
    fail(".pre-commit-hooks.yaml: mlsec-check must not pass file names")
for name in ("mlsec.toml", "ml/mlsec.toml", "policy/team.rego", "data/train.csv", "data/train.manifest.json"):
    if not re.search(check["files"], name):
        fail(f".pre-commit-hooks.yaml: mlsec-check does not run on {name}")
ok(".pre-commit-hooks.yaml: ids, entries, languages, file patterns")

# --- the examples in docs/ci.md ---------------------------------------------------

hook_ids = {h["id"] for h in hooks}
blocks = re.findall(r"```yaml\n(.*?)```", read(os.path.join(ROOT, "docs/ci.md")), re.DOTALL)
seen = {"action": 0, "gitlab": 0, "pre-commit": 0}


def walk(node):
    if isinstance(node, list):
        for x in node:
            walk(x)
    elif isinstance(node, dict):
        if str(node.get("uses", "")).startswith("mlsec/mlsec@"):
            seen["action"] += 1
            unknown = set(node.get("with", {})) - set(inputs)
            if unknown:
                fail(f"docs/ci.md: the action has no input {sorted(unknown)}")
        if node.get("extends") == ".mlsec":
            seen["gitlab"] += 1
            unknown = set(node.get("variables", {})) - set(job["variables"])
            if unknown:
                fail(f"docs/ci.md: the GitLab template has no variable {sorted(unknown)}")
        if str(node.get("repo", "")).endswith("/mlsec/mlsec"):
            seen["pre-commit"] += 1
            unknown = {h["id"] for h in node.get("hooks", [])} - hook_ids
            if unknown:
                fail(f"docs/ci.md: no pre-commit hook {sorted(unknown)}")
        for x in node.values():
            walk(x)


for block in blocks:
    try:
        walk(yaml.safe_load(textwrap.dedent(block)))
    except yaml.YAMLError as e:
        fail(f"docs/ci.md: an example does not parse as YAML: {e}\n{block}")
if not all(seen.values()):
    fail(f"docs/ci.md: expected examples of the action, the GitLab job and the hooks, found {seen}")
ok(f"docs/ci.md: {len(blocks)} YAML examples parse and use only real inputs, variables and hook ids")
