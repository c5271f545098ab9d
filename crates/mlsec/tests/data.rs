//! `mlsec data manifest` and `mlsec data verify` as users and CI see them.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;

fn mlsec() -> Command {
    Command::cargo_bin("mlsec").unwrap()
}

const USERS: &str = "id,name,email\n1,Alice,alice@example.org\n2,Bob,bob@example.org\n3,\"Carol, Jr\",carol@example.org\n4,Dan,dan@example.org\n";

#[test]
fn manifest_then_verify_exits_0_then_1_naming_rows_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("users.csv"), USERS).unwrap();
    fs::write(data.join("notes.txt"), "export of 2026-11-01\n").unwrap();
    let manifest = dir.path().join("manifest.json");
    mlsec()
        .args(["data", "manifest", "--source", "s3://bucket/users/"])
        .arg(&data)
        .arg("-o")
        .arg(&manifest)
        .assert()
        .code(0);
    let m: Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(m["schema"], "mlsec.data-manifest/v1");
    assert_eq!(m["source"], "s3://bucket/users/");
    assert_eq!(m["files"][1]["path"], "users.csv");
    assert_eq!(m["files"][1]["table"]["rows"], 4);
    assert_eq!(m["files"][1]["table"]["columns"], 3);

    let verify = |fmt: &str| {
        mlsec()
            .args(["data", "verify", "--manifest"])
            .arg(&manifest)
            .arg(&data)
            .args(["--format", fmt])
            .output()
            .unwrap()
    };
    let out = verify("json");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["kind"], "data.integrity");
    assert_eq!(e["summary"]["verdict"], "pass");

    // Edit row 2, insert a row after row 3, delete row 4; remove a file, add one.
    fs::write(
        data.join("users.csv"),
        "id,name,email\n1,Alice,alice@example.org\n2,Bob,bob@evil.test\n3,\"Carol, Jr\",carol@example.org\n5,Eve,eve@example.org\n",
    )
    .unwrap();
    fs::remove_file(data.join("notes.txt")).unwrap();
    fs::write(data.join("extra.jsonl"), "{\"a\": 1}\n").unwrap();
    let out = verify("json");
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, String, String)> = e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                f["location"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("DAT002", "extra.jsonl", ""),
        ("DAT003", "notes.txt", ""),
        ("DAT001", "users.csv", ""),
        ("DAT004", "users.csv", "row 2"),
    ];
    assert_eq!(got.len(), 5, "{got:?}");
    for (i, (rule, subject, location)) in want.iter().enumerate() {
        let g = &got[i];
        assert_eq!(
            (g.0.as_str(), g.1.as_str(), g.2.as_str()),
            (*rule, *subject, *location),
            "{got:?}"
        );
    }
    assert_eq!(got[4].2, "row 4");
    // Row 2 edited, row 4 (Dan) replaced by Eve: both changed in place.
    let rows = &e["details"]["files"][2]["rows"];
    assert_eq!(rows["changed"][0]["rows"]["first"], 2);
    assert_eq!(rows["changed"][1]["rows"]["first"], 4);

    let out = verify("sarif");
    assert_eq!(out.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["runs"][0]["results"].as_array().unwrap().len(), 5);
    assert!(s["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == "DAT004"));
    let human = String::from_utf8(verify("human").stdout).unwrap();
    assert!(human.contains("users.csv: row 2 changed"), "{human}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = mlsec()
        .args(["data", "manifest", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/definitely/not/here"));
    fs::write(dir.path().join("m.json"), "not json").unwrap();
    let out = mlsec()
        .args(["data", "verify", "--manifest"])
        .arg(dir.path().join("m.json"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a data manifest"));
    fs::write(dir.path().join("bad.csv"), "a,b\n1\n").unwrap();
    let out = mlsec()
        .args(["data", "manifest"])
        .arg(dir.path().join("bad.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv: row 1 (line 2): 1 field(s) but the header has 2"),
        "{err}"
    );
    let out = mlsec()
        .args(["data", "manifest", "--skip-bad-rows"])
        .arg(dir.path().join("bad.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 malformed row(s) skipped"));
}
