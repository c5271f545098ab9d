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

fn key(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

/// The in-toto statement inside a signature bundle.
fn signed_statement(bundle: &std::path::Path) -> Value {
    use base64::Engine;
    let bundle: Value = serde_json::from_slice(&fs::read(bundle).unwrap()).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn a_signed_manifest_verifies_and_a_rewritten_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("users.csv"), USERS).unwrap();
    let manifest = dir.path().join("manifest.json");
    let sig = dir.path().join("manifest.json.sig");
    let pin = || {
        mlsec()
            .args(["data", "manifest", "-o"])
            .arg(&manifest)
            .arg("--key")
            .arg(key("p256-encrypted.pem"))
            .arg(&data)
            .env("MLSEC_KEY_PASSWORD", "hunter2")
            .assert()
            .code(0);
    };
    pin();
    // The statement names each data file with its SHA-256 and pins the
    // manifest's bytes.
    let statement = signed_statement(&sig);
    assert_eq!(
        statement["predicateType"],
        "https://mlsec.dev/data-manifest/v1"
    );
    assert_eq!(statement["subject"][0]["name"], "users.csv");
    let m: Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        m["files"][0]["sha256"]
    );

    let verify = |public: &str, sig: &std::path::Path| {
        let out = mlsec()
            .args(["data", "verify", "--format", "json", "--manifest"])
            .arg(&manifest)
            .arg("--key")
            .arg(key(public))
            .arg("--signature")
            .arg(sig)
            .arg(&data)
            .output()
            .unwrap();
        let e: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), e)
    };
    let (code, e) = verify("p256.pub", &sig);
    assert_eq!(code, Some(0), "{e}");
    assert_eq!(e["details"]["signature"]["verified"], true);
    assert_eq!(
        e["details"]["signature"]["signer"]["algorithm"],
        "ecdsa-p256-sha256"
    );

    let dat011 = |e: &Value| -> String {
        let f = &e["findings"][0];
        assert_eq!(f["rule"], "DAT011", "{e}");
        assert_eq!(e["details"]["signature"]["verified"], false);
        f["message"].as_str().unwrap().to_string()
    };
    // Another signer's key.
    let (code, e) = verify("ed25519.pub", &sig);
    assert_eq!(code, Some(1));
    assert!(dat011(&e).contains("key mismatch"), "{e}");
    // No signature where one is required.
    let (code, e) = verify("p256.pub", &dir.path().join("absent.sig"));
    assert_eq!(code, Some(1));
    assert!(dat011(&e).contains("absent.sig"), "{e}");

    // Whoever edits the data and writes a fresh manifest to match cannot sign
    // it: the data agrees with the manifest, but the signature does not.
    let signed = fs::read(&sig).unwrap();
    fs::write(data.join("users.csv"), USERS.replace("Bob", "Mallory")).unwrap();
    pin();
    fs::write(&sig, signed).unwrap();
    let (code, e) = verify("p256.pub", &sig);
    assert_eq!(code, Some(1));
    assert!(dat011(&e).contains("the signature covers"), "{e}");
    assert_eq!(e["findings"].as_array().unwrap().len(), 1, "{e}");
}

#[test]
fn signing_a_manifest_needs_a_place_for_the_signature_and_writes_nothing_on_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("users.csv"), USERS).unwrap();
    let out = mlsec()
        .args(["data", "manifest", "--key"])
        .arg(key("p256.pem"))
        .arg(dir.path().join("users.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--signature"));
    // A wrong password: neither the manifest nor a signature is written.
    let manifest = dir.path().join("m.json");
    let out = mlsec()
        .args(["data", "manifest", "--password", "wrong", "-o"])
        .arg(&manifest)
        .arg("--key")
        .arg(key("p256-encrypted.pem"))
        .arg(dir.path().join("users.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("p256-encrypted.pem"));
    assert!(!manifest.exists());
    assert!(!dir.path().join("m.json.sig").exists());
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

#[test]
fn pii_reports_masked_entities_at_row_column_and_code_points() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    fs::write(
        &csv,
        "id,name,note\n1,Zoë,write to zoe.martin@example.org please\n2,Bob,order 12345 shipped v1.2.3\n3,Eve,key AKIAIOSFODNN7EXAMPLE leaked\n",
    )
    .unwrap();
    let out = mlsec()
        .args(["data", "pii", "-f", "json"])
        .arg(&csv)
        .output()
        .unwrap();
    // A secret is high severity: the default threshold fails the run.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "data.pii");
    let findings = v["findings"].as_array().unwrap();
    let email = findings
        .iter()
        .find(|f| f["entity"] == "EMAIL")
        .expect("email found");
    assert_eq!(email["span"]["row"], 1);
    assert_eq!(email["span"]["column"], "note");
    assert_eq!(email["span"]["start"], 9);
    assert_eq!(email["span"]["end"], 31);
    assert!(!email["preview"].as_str().unwrap().contains("zoe.martin"));
    let aws = findings
        .iter()
        .find(|f| f["entity"] == "AWS_ACCESS_KEY")
        .expect("aws key found");
    assert_eq!(aws["rule"], "PII002");
    assert_eq!(aws["span"]["row"], 3);
    // Order numbers and version strings are not personal data; the names in
    // the `name` column are.
    assert!(
        findings
            .iter()
            .all(|f| f["span"]["row"] != 2 || f["span"]["column"] == "name"),
        "{findings:?}"
    );
    let names: Vec<_> = findings
        .iter()
        .filter(|f| f["entity"] == "PERSON")
        .map(|f| f["span"]["row"].as_u64().unwrap())
        .collect();
    assert_eq!(names, [1, 2, 3], "{findings:?}");

    // The counts in `details` cover every hit; --max-findings limits the list.
    let mut big = String::from("id,contact\n");
    for i in 1..=30 {
        big.push_str(&format!("{i},user{i}@example.org\n"));
    }
    let big_csv = dir.path().join("big.csv");
    fs::write(&big_csv, big).unwrap();
    let out = mlsec()
        .args(["data", "pii", "-f", "json", "--max-findings", "10"])
        .arg(&big_csv)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 10);
    let file = &v["details"]["files"][0];
    assert_eq!(
        (file["findings"].as_u64(), file["listed"].as_u64()),
        (Some(30), Some(10))
    );
    assert_eq!(file["counts"][0]["column"], "contact");
    assert_eq!(file["counts"][0]["count"], 30);
    assert_eq!(v["details"]["entities"]["EMAIL"], 30);
    assert!(String::from_utf8_lossy(&out.stderr).contains("20 more finding(s)"));

    // Only the entities asked for; unknown names are usage errors.
    let out = mlsec()
        .args(["data", "pii", "-f", "json", "--entities", "EMAIL"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    mlsec()
        .args(["data", "pii", "--entities", "NOPE"])
        .arg(&csv)
        .assert()
        .code(2);

    // Redaction keeps the format and removes every detected value.
    let red = dir.path().join("users.redacted.csv");
    mlsec()
        .args(["data", "redact", "--strategy", "replace", "-o"])
        .arg(&red)
        .arg(&csv)
        .assert()
        .code(0);
    let text = fs::read_to_string(&red).unwrap();
    assert!(text.starts_with("id,name,note\n"), "{text}");
    assert!(
        text.contains("<EMAIL>")
            && !text.contains("zoe.martin")
            && !text.contains("AKIAIOSFODNN7EXAMPLE"),
        "{text}"
    );
    assert!(text.contains("order 12345 shipped v1.2.3"));
    mlsec()
        .args(["data", "pii", "--entities", "EMAIL,AWS_ACCESS_KEY"])
        .arg(&red)
        .assert()
        .code(0);
    // Its JSON report is the evidence envelope, like every command's.
    let out = mlsec()
        .args(["data", "redact", "--strategy", "mask", "-f", "json", "-o"])
        .arg(dir.path().join("users.masked.csv"))
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let evidence: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(evidence["schema"], "mlsec.evidence/v1");
    assert_eq!(evidence["kind"], "data.redact");
    assert!(evidence["details"]["total"].as_u64().unwrap() >= 2);
    assert_eq!(evidence["subjects"].as_array().unwrap().len(), 2);
}

#[test]
fn the_bom_carries_a_dataset_manifest_digest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("users.csv"), USERS).unwrap();
    let manifest = data.join("manifest.json");
    mlsec()
        .args(["data", "manifest", "--source", "s3://bucket/users/"])
        .arg(data.join("users.csv"))
        .arg("-o")
        .arg(&manifest)
        .assert()
        .code(0);
    let model = dir.path().join("model");
    fs::create_dir(&model).unwrap();
    fs::write(model.join("config.json"), "{}").unwrap();
    let out = mlsec()
        .arg("bom")
        .arg(&model)
        .arg("--dataset")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bom: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dataset = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "data" && c["name"] == "data")
        .expect("dataset component");
    let props: Vec<(&str, &str)> = dataset["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(fs::read(&manifest).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        props.contains(&("mlsec:data-manifest:sha256", want.as_str())),
        "{props:?}"
    );
    assert!(
        props.contains(&("mlsec:data-manifest:source", "s3://bucket/users/")),
        "{props:?}"
    );
    // A folder without a manifest gets none.
    fs::remove_file(&manifest).unwrap();
    let out = mlsec()
        .arg("bom")
        .arg(&model)
        .arg("--dataset")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("mlsec:data-manifest"));
}

/// A symbolic link in a dataset folder is never skipped silently: `data
/// manifest` refuses the folder (exit 2, nothing written) naming the link and
/// its target, and `data verify` reports a link as DAT012 (exit 1).
#[cfg(unix)]
#[test]
fn symbolic_links_in_a_dataset_are_refused_or_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("users.csv"), USERS).unwrap();
    let outside = dir.path().join("elsewhere.csv");
    fs::write(&outside, USERS).unwrap();
    let manifest = dir.path().join("manifest.json");
    mlsec()
        .args(["data", "manifest"])
        .arg(&data)
        .arg("-o")
        .arg(&manifest)
        .assert()
        .code(0);

    std::os::unix::fs::symlink(&outside, data.join("extra.csv")).unwrap();
    let m2 = dir.path().join("m2.json");
    let out = mlsec()
        .args(["data", "manifest"])
        .arg(&data)
        .arg("-o")
        .arg(&m2)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("extra.csv -> {}", outside.display())),
        "{err}"
    );
    assert!(!m2.exists());

    let out = mlsec()
        .args(["data", "verify", "-f", "json", "--manifest"])
        .arg(&manifest)
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &e["findings"][0];
    assert_eq!(f["rule"], "DAT012", "{e}");
    assert_eq!(f["subject"], "extra.csv");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains(&outside.display().to_string()));
    assert_eq!(e["findings"].as_array().unwrap().len(), 1, "{e}");
}

/// A CSV row over the 16 MiB record limit in the middle of a file is skipped
/// under `--skip-bad-rows` like any malformed row (DAT010), and the rows after
/// it are still read, by every command that reads CSV.
#[test]
fn a_20_mb_csv_row_is_skipped_and_the_rows_after_it_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    let mut data = b"id,name,note\n1,Ann,ann@example.org\n2,Blob,\"".to_vec();
    data.extend(std::iter::repeat_n(b'z', 20 << 20));
    data.extend(b"\"\n3,Bob,write to bob.smith@example.org\n4,Cy,none\n");
    fs::write(&csv, &data).unwrap();

    let out = mlsec()
        .args(["data", "pii", "--skip-bad-rows", "-f", "json"])
        .arg(&csv)
        .output()
        .unwrap();
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = e["findings"].as_array().unwrap();
    let emails: Vec<_> = findings
        .iter()
        .filter(|f| f["entity"] == "EMAIL")
        .map(|f| f["span"]["row"].clone())
        .collect();
    assert_eq!(emails, [1, 3], "{e}");
    let skipped = findings.iter().find(|f| f["rule"] == "DAT010").unwrap();
    let message = skipped["message"].as_str().unwrap();
    // The record: `2,Blob,"`, the 20 MiB cell and the closing quote.
    let why = format!(
        "row 2 (line 3): record of {} bytes is over the limit of 16777216 bytes",
        (20 << 20) + 9
    );
    assert!(message.contains(&why), "{message}");
    assert!(!findings.iter().any(|f| f["rule"] == "DAT009"), "{e}");

    let manifest = dir.path().join("m.json");
    let out = mlsec()
        .args(["data", "manifest", "--skip-bad-rows"])
        .arg(&csv)
        .arg("-o")
        .arg(&manifest)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("1 malformed row(s) skipped"), "{err}");
    let m: Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(m["files"][0]["table"]["rows"], 3);

    let red = dir.path().join("red.csv");
    mlsec()
        .args(["data", "redact", "--skip-bad-rows", "--strategy", "replace"])
        .arg(&csv)
        .arg("-o")
        .arg(&red)
        .assert()
        .code(0);
    let red = fs::read_to_string(&red).unwrap();
    // Bob and Cy sit in the `name` column: personal names.
    assert!(
        red.contains("3,<PERSON>,write to <EMAIL>\n4,<PERSON>,none"),
        "{red}"
    );
}

/// The mode of a file in `dir` (permission bits only).
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Runs `mlsec ARGS` under `umask`, as a shell user would.
#[cfg(unix)]
fn under_umask(umask: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(assert_cmd::cargo::cargo_bin("mlsec"))
        .args(args)
        .output()
        .unwrap()
}

/// Files mlsec writes are created as other tools create them (0666 less the
/// umask); a file written over keeps its mode, as `cp` and editors keep it.
#[cfg(unix)]
#[test]
fn outputs_honour_the_umask_and_keep_the_mode_of_a_file_written_over() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    fs::write(&csv, USERS).unwrap();
    let manifest = dir.path().join("manifest.json");
    let sig = dir.path().join("manifest.json.sig");
    let red = dir.path().join("red.csv");
    let os = |p: &std::path::Path| p.as_os_str().to_owned();
    let run = |umask: &str, args: &[std::ffi::OsString]| {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let out = under_umask(umask, &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let manifest_args = [
        "data".into(),
        "manifest".into(),
        os(&csv),
        "-o".into(),
        os(&manifest),
        "--key".into(),
        os(&key("p256.pem")),
    ];
    run("022", &manifest_args);
    assert_eq!(mode(&manifest), 0o644);
    assert_eq!(mode(&sig), 0o644);
    let redact_args = |to: &std::path::Path| {
        [
            "data".into(),
            "redact".into(),
            os(&csv),
            "-o".into(),
            os(to),
        ]
    };
    run("027", &redact_args(&red));
    assert_eq!(mode(&red), 0o640);

    // Written over: the old mode stays, whatever the umask (setuid and the
    // like dropped).
    fs::set_permissions(&manifest, fs::Permissions::from_mode(0o664)).unwrap();
    fs::set_permissions(&red, fs::Permissions::from_mode(0o4755)).unwrap();
    run("077", &manifest_args);
    run("077", &redact_args(&red));
    assert_eq!(mode(&manifest), 0o664);
    assert_eq!(mode(&sig), 0o644);
    assert_eq!(mode(&red), 0o755);
    // A new file under umask 077 is the owner's alone.
    let red2 = dir.path().join("red2.csv");
    run("077", &redact_args(&red2));
    assert_eq!(mode(&red2), 0o600);
}

/// Help is written for users: `--key` of `data manifest` says what it does
/// (not how the code checks it), and `data redact --strategy` names each
/// strategy in the short help too.
#[test]
fn data_help_texts_describe_the_options() {
    let help = |args: &[&str]| {
        let out = mlsec().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let manifest = help(&["data", "manifest", "--help"]);
    assert!(!manifest.contains("`credential`"), "{manifest}");
    assert!(manifest.contains("Sign the manifest"), "{manifest}");
    for flag in ["-h", "--help"] {
        let redact = help(&["data", "redact", flag]);
        let strategy = redact
            .split("--strategy <STRATEGY>")
            .nth(1)
            .unwrap()
            .split("--entities")
            .next()
            .unwrap();
        for word in ["How to redact", "mask", "hash", "replace", "drop-column"] {
            assert!(strategy.contains(word), "{word} not in {strategy}");
        }
    }
}

/// `mlsec data drift --follow`: windows of a growing CSV, one JSON line
/// each, a row written in two pieces read once whole, and the window that
/// drifted POSTed to the webhook.
#[test]
fn drift_follows_a_growing_file_window_by_window_and_calls_the_webhook() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = (dir.path().join("ref.csv"), dir.path().join("log.csv"));
    let rows = |shift: f64, n: usize| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "{},{}\n",
                    (i % 100) as f64 / 100.0 + shift,
                    ["x", "y", "z"][i % 3]
                )
            })
            .collect()
    };
    fs::write(&reference, format!("a,b\n{}", rows(0.0, 500))).unwrap();
    fs::write(&current, format!("a,b\n{}", rows(0.0, 100))).unwrap();

    // A webhook that keeps every body it is sent.
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hook.local_addr().unwrap().port();
    let (sent, received) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for stream in hook.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .unwrap();
            sent.send(String::from_utf8(body).unwrap()).unwrap();
        }
    });

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mlsec"))
        .args(["data", "drift"])
        .arg(&reference)
        .arg(&current)
        .args([
            "--follow",
            "--from-start",
            "--window-rows",
            "100",
            "--max-windows",
            "2",
        ])
        .args([
            "-f",
            "json",
            "--webhook",
            &format!("http://127.0.0.1:{port}/hook"),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The second window comes later, its first row in two writes.
    std::thread::sleep(std::time::Duration::from_millis(800));
    let later = rows(0.5, 100);
    let (head, tail) = later.split_at(3);
    let mut log = fs::OpenOptions::new().append(true).open(&current).unwrap();
    log.write_all(head.as_bytes()).unwrap();
    log.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    log.write_all(tail.as_bytes()).unwrap();
    drop(log);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "--follow did not stop after 2 windows"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "a window drifted");
    let windows: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(windows.len(), 2);
    assert_eq!(
        windows[0]["details"]["window"],
        serde_json::json!({"index": 1, "first_row": 1, "rows": 100})
    );
    assert_eq!(windows[0]["details"]["drifted"], 0);
    assert_eq!(
        windows[1]["details"]["window"],
        serde_json::json!({"index": 2, "first_row": 101, "rows": 100})
    );
    assert_eq!(windows[1]["details"]["columns"][0]["column"], "a");
    assert_eq!(windows[1]["details"]["columns"][0]["drifted"], true);
    assert_eq!(windows[1]["details"]["columns"][0]["current"]["count"], 100);
    let told: Value = serde_json::from_str(
        &received
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(told["details"]["window"]["index"], 2);
    assert!(
        received.try_recv().is_err(),
        "only the window that drifted is sent"
    );
}
