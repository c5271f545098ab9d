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
