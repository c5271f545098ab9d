//! `mlsec check` and `mlsec policy` as users and CI see them, on the bundled
//! example project.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn mlsec() -> Command {
    Command::cargo_bin("mlsec").unwrap()
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn the_example_project_is_denied_for_its_downloads_and_passes_without_them() {
    let out = tempfile::tempdir().unwrap();
    let run = mlsec()
        .arg("check")
        .arg(examples())
        .arg("--evidence")
        .arg(out.path())
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(text.contains("DENY MLP001"), "{text}");
    assert!(text.contains("tokenizer.pkl"), "{text}");
    assert!(
        text.contains("pass MLP002"),
        "the demo signatures verify: {text}"
    );
    assert!(
        text.contains("pass MLP003"),
        "the pinned data match: {text}"
    );
    assert!(text.contains("WARN MLP005"), "{text}");
    assert!(text.contains("DENY: 4 denial(s)"), "{text}");
    for file in ["scan.json", "check.json", "input.json", "data.pii.json"] {
        assert!(out.path().join(file).is_file(), "{file}");
    }
    // JSON: the `check` envelope.
    let run = mlsec()
        .arg("check")
        .arg(examples())
        .args(["--only", "sign,data", "-f", "json", "--evidence"])
        .arg(out.path())
        .assert()
        .code(0);
    let e: Value = serde_json::from_slice(&run.get_output().stdout).unwrap();
    assert_eq!(e["kind"], "check");
    assert_eq!(e["details"]["decision"], "pass");
    assert_eq!(e["summary"]["verdict"], "pass");
}

#[test]
fn a_bad_project_file_or_check_name_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mlsec.toml"), "[[model]\npath = 1\n").unwrap();
    let run = mlsec().arg("check").arg(dir.path()).assert().code(2);
    let err = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(err.contains("mlsec.toml:1:"), "{err}");
    mlsec().args(["check", "--only", "lint"]).assert().code(2);
}

#[test]
fn policy_test_runs_the_bundled_and_the_example_tests() {
    let run = mlsec()
        .args(["policy", "test", "--pack", "strict"])
        .arg(examples().join("policy"))
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(
        text.contains("PASS  team.model_docs_test.test_a_readme_is_enough"),
        "{text}"
    );
    assert!(text.contains("PASS  mlsec.strict.mlp101_test."), "{text}");
    assert!(text.contains(" 0 failed"), "{text}");
}

#[test]
fn policy_eval_decides_on_a_saved_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    std::fs::write(
        &input,
        r#"{"evidence": {"scan": [{"findings": [{"rule": "PKL001", "severity": "critical", "subject": "m.pkl", "message": "os.system"}]}]}}"#,
    )
    .unwrap();
    let run = mlsec()
        .args(["policy", "eval", "--input"])
        .arg(&input)
        .assert()
        .code(1);
    let d: Value = serde_json::from_slice(&run.get_output().stdout).unwrap();
    assert_eq!(d["messages"][0]["rule"], "MLP001");
}

#[test]
fn check_writes_the_report_and_report_renders_the_same_from_saved_evidence() {
    let out = tempfile::tempdir().unwrap();
    let evidence = out.path().join("evidence");
    // Default report path: inside the evidence folder.
    mlsec()
        .arg("check")
        .arg(examples())
        .arg("--evidence")
        .arg(&evidence)
        .assert()
        .code(1);
    let page = std::fs::read_to_string(evidence.join("report.html")).unwrap();
    assert!(page.contains("mlsec check: penguin-service") && page.contains("MLP001"));
    // --report names it; SARIF and JUnit come from the same evidence.
    let report = out.path().join("gate.html");
    let run = mlsec()
        .arg("check")
        .arg(examples())
        .arg("--evidence")
        .arg(&evidence)
        .arg("--report")
        .arg(&report)
        .args(["-f", "sarif"])
        .assert()
        .code(1);
    assert!(report.is_file());
    let from_check = run.get_output().stdout.clone();
    let log: Value = serde_json::from_slice(&from_check).unwrap();
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    let kinds: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["kind"].as_str().unwrap())
        .collect();
    for kind in ["scan", "data.pii", "check"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let again = mlsec()
        .arg("report")
        .arg(&evidence)
        .args(["-f", "sarif"])
        .assert()
        .code(0);
    assert_eq!(
        again.get_output().stdout,
        from_check,
        "report and check agree"
    );
    let junit = mlsec()
        .arg("report")
        .arg(&evidence)
        .args(["-f", "junit"])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&junit.get_output().stdout).into_owned();
    assert!(
        text.starts_with("<?xml") && text.contains("<testsuite name=\"policy\""),
        "{text}"
    );
    let human = mlsec()
        .arg("report")
        .arg(&evidence)
        .args(["-f", "human"])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&human.get_output().stdout).into_owned();
    assert!(text.contains("DENY MLP001"), "{text}");
    // HTML to a file, atomically.
    let html = out.path().join("again.html");
    mlsec()
        .arg("report")
        .arg(&evidence)
        .arg("-o")
        .arg(&html)
        .assert()
        .code(0);
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("Compliance"));
}

#[test]
fn report_refuses_newer_or_foreign_evidence_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("scan.json");
    std::fs::write(
        &newer,
        "{\n  \"schema\": \"mlsec.evidence/v7\",\n  \"kind\": \"scan\"\n}\n",
    )
    .unwrap();
    let run = mlsec().arg("report").arg(&newer).assert().code(2);
    let err = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(err.contains(&format!("{}:2:", newer.display())), "{err}");
    assert!(err.contains("newer"), "{err}");
    // A scan envelope has no decision to summarise.
    let scan = dir.path().join("real.json");
    let out = mlsec()
        .args(["scan", "-f", "json"])
        .arg(examples().join("models"))
        .assert()
        .code(0);
    std::fs::write(&scan, &out.get_output().stdout).unwrap();
    mlsec()
        .arg("report")
        .arg(&scan)
        .args(["-f", "human"])
        .assert()
        .code(2);
    mlsec()
        .arg("report")
        .arg(&scan)
        .args(["-f", "junit"])
        .assert()
        .code(0);
    mlsec().arg("report").assert().code(2);
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".mlsec" || name == "mlsec.toml" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn init_writes_a_project_file_that_check_runs_and_never_overwrites_one() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    copy_tree(&examples(), &project);
    mlsec().arg("init").arg(&project).assert().code(0);
    let text = std::fs::read_to_string(project.join("mlsec.toml")).unwrap();
    // The signed models get the public key, never the private one beside it.
    assert!(
        text.contains("path = \"models/species-classifier\"\nkey = \"keys/demo-signing-key.pub\""),
        "{text}"
    );
    assert!(!text.contains("demo-signing-key.pem"), "{text}");
    assert!(text.contains("path = \"downloads\""), "{text}");
    assert!(
        text.contains("manifest = \"data/penguins.manifest.json\""),
        "{text}"
    );
    assert!(text.contains("paths = [\"policy\"]"), "{text}");
    // Four tables in data/, one pinned by its own manifest: each its own
    // dataset, so that the manifest is checked.
    assert!(
        text.contains("path = \"data/penguins-holdout.csv\"\n# manifest"),
        "{text}"
    );
    // Each ONNX file gets a [[validate]] to finish by hand.
    assert!(
        text.contains("# [[validate]]")
            && text.contains("# model = \"models/species-classifier/model.onnx\""),
        "{text}"
    );
    // What it wrote is a project `mlsec check` runs: the downloads are denied,
    // the signatures and the pinned data pass.
    let run = mlsec().arg("check").arg(&project).assert().code(1);
    let out = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(
        out.contains("DENY MLP001") && out.contains("pass MLP002") && out.contains("pass MLP003"),
        "{out}"
    );
    // Run from inside the project, locations are repository paths (no `./`),
    // as code scanning needs to match them to files.
    let run = mlsec()
        .current_dir(&project)
        .args(["check", ".", "-f", "sarif"])
        .assert()
        .code(1);
    let log: Value = serde_json::from_slice(&run.get_output().stdout).unwrap();
    let uris: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.contains(&"downloads/tokenizer.pkl"), "{uris:?}");
    assert!(uris.iter().all(|u| !u.starts_with("./")), "{uris:?}");
    // A second init refuses; --stdout only prints.
    let run = mlsec().arg("init").arg(&project).assert().code(2);
    assert!(String::from_utf8_lossy(&run.get_output().stderr).contains("already exists"));
    let run = mlsec()
        .arg("init")
        .arg(&project)
        .arg("--stdout")
        .assert()
        .code(0);
    assert_eq!(String::from_utf8_lossy(&run.get_output().stdout), text);
    // An empty folder gets a commented file that says so, and check then
    // refuses it rather than passing.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    mlsec().arg("init").arg(&empty).assert().code(0);
    let text = std::fs::read_to_string(empty.join("mlsec.toml")).unwrap();
    assert!(text.contains("No model files found"), "{text}");
    mlsec().arg("check").arg(&empty).assert().code(2);
}

#[test]
fn check_bundle_is_signed_and_verify_attestation_checks_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("gate.tar");
    mlsec()
        .arg("check")
        .arg(examples())
        .arg("--evidence")
        .arg(dir.path().join("evidence"))
        .arg("--bundle")
        .arg(&bundle)
        .arg("--key")
        .arg(examples().join("keys/demo-signing-key.pem"))
        .assert()
        .code(1);
    let run = mlsec()
        .arg("verify-attestation")
        .arg(&bundle)
        .arg("--key")
        .arg(examples().join("keys/demo-signing-key.pub"))
        .assert()
        .code(0);
    let out = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(
        out.contains("evidence bundle of penguin-service (decision deny"),
        "{out}"
    );
    let json = mlsec()
        .arg("verify-attestation")
        .arg(&bundle)
        .args(["-f", "json", "--key"])
        .arg(examples().join("keys/demo-signing-key.pub"))
        .assert()
        .code(0);
    let signed: Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(signed["decision"], "deny");
    assert!(signed["checks"].as_array().unwrap().len() >= 9);
    // Flip one byte of a member: not verified, exit 1, the member named.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes
        .windows(8)
        .position(|w| w == b"\"deny\",\n" || w == b"\"deny\"\n ")
        .unwrap_or(600);
    bytes[at + 1] = b'D';
    std::fs::write(&bundle, &bytes).unwrap();
    let run = mlsec()
        .arg("verify-attestation")
        .arg(&bundle)
        .arg("--key")
        .arg(examples().join("keys/demo-signing-key.pub"))
        .assert()
        .code(1);
    let out = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(
        out.starts_with("NOT verified:") && out.contains("evidence/"),
        "{out}"
    );
    // A bundle needs a key.
    mlsec()
        .arg("check")
        .arg(examples())
        .arg("--bundle")
        .arg(dir.path().join("x.tar"))
        .assert()
        .code(2);
}

#[test]
fn a_threat_model_that_does_not_parse_makes_the_gate_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    copy_tree(&examples(), &project);
    std::fs::copy(examples().join("mlsec.toml"), project.join("mlsec.toml")).unwrap();
    std::fs::write(
        project.join("pipeline.yaml"),
        "system: x\ncomponents:\n  - {id: a, kind: spaceship}\n",
    )
    .unwrap();
    let run = mlsec().arg("check").arg(&project).assert().code(2);
    let out = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("threat ") && l.contains(" error ")),
        "{out}"
    );
    assert!(out.contains("pipeline.yaml:3:"), "{out}");
    // Without it, the same project decides again.
    mlsec()
        .arg("check")
        .arg(&project)
        .args(["--skip", "threat"])
        .assert()
        .code(1);
}
