//! `mlsec sign`, `verify`, `attest` and `verify-attestation` as users and CI see
//! them: exit codes, named files, evidence, clear errors.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

fn mlsec() -> Command {
    Command::cargo_bin("mlsec").unwrap()
}

fn key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

/// A model folder with nesting, a non-ASCII name, an empty file and a .git folder.
fn model() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path();
    for (name, data) in [
        ("config.json", &b"{\"hidden_size\": 8}"[..]),
        ("weights/model-00001.safetensors", &[7u8; 70_000][..]),
        ("weights.index.json", b"{}"),
        ("tokenizer/vocab \u{fc}.txt", b"a\nb\n"),
        ("empty", b""),
        (".git/HEAD", b"ref: refs/heads/main\n"),
    ] {
        let p = m.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }
    dir
}

fn sign(model: &Path, key_name: &str, extra: &[&str]) -> Value {
    let out = mlsec()
        .arg("sign")
        .arg(model)
        .arg("--key")
        .arg(key(key_name))
        .args(extra)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn verify(model: &Path, public: &str, extra: &[&str]) -> (i32, Value) {
    let out = mlsec()
        .arg("verify")
        .arg(model)
        .arg("--key")
        .arg(key(public))
        .args(extra)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

#[test]
fn sign_then_verify_with_each_key_type_and_hash() {
    let dir = model();
    let m = dir.path();
    let sig = m.join("model.sig");
    let sig = sig.to_str().unwrap();
    for (private, public, extra) in [
        ("p256.pem", "p256.pub", vec![]),
        ("p384-sec1.pem", "p384.pub", vec!["--hash", "blake3"]),
        (
            "ed25519.pem",
            "ed25519.pub",
            vec!["--hash", "blake2b", "--shard-size", "4096"],
        ),
    ] {
        let mut args = vec!["--signature", sig];
        args.extend(extra);
        let signed = sign(m, private, &args);
        assert_eq!(signed["kind"], "signature");
        let resources = signed["details"]["manifest"]["resources"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = resources
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with(".git") || n.starts_with("model.sig")),
            "{names:?}"
        );
        let (code, v) = verify(m, public, &["--signature", sig]);
        assert_eq!(code, 0, "{private}: {v}");
        assert_eq!(v["details"]["verified"], true);
        assert_eq!(
            v["subjects"][0]["digest"]["sha256"],
            signed["subjects"][0]["digest"]["sha256"]
        );
        assert_eq!(
            v["details"]["signer"]["key_fingerprint"],
            signed["details"]["signer"]["key_fingerprint"]
        );
    }
}

#[test]
fn tampering_is_named_and_exits_1() {
    let dir = model();
    let m = dir.path();
    sign(
        m,
        "p256.pem",
        &["--signature", m.join("model.sig").to_str().unwrap()],
    );
    let sig = [
        "--signature",
        m.join("model.sig").to_str().unwrap().to_string().leak(),
    ];
    fs::write(m.join("weights/model-00001.safetensors"), [8u8; 70_000]).unwrap();
    fs::write(m.join("weights/extra.bin"), b"x").unwrap();
    fs::remove_file(m.join("config.json")).unwrap();
    let (code, v) = verify(m, "p256.pub", &sig);
    assert_eq!(code, 1);
    let found: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["member"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("SIG001", "weights/model-00001.safetensors"),
        ("SIG002", "config.json"),
        ("SIG003", "weights/extra.bin"),
    ] {
        assert!(
            found.contains(&(want.0.into(), want.1.into())),
            "{want:?} not in {found:?}"
        );
    }
    // Human output names the files too.
    let out = mlsec()
        .arg("verify")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pub"))
        .args(sig)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("NOT verified") && text.contains("weights/extra.bin: not covered"),
        "{text}"
    );
    // SARIF for code-scanning dashboards.
    let out = mlsec()
        .arg("verify")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pub"))
        .args(sig)
        .args(["-f", "sarif"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
}

#[test]
fn wrong_key_and_bad_signature_files_fail_with_reasons() {
    let dir = model();
    let m = dir.path();
    let sig_path = m.join("model.sig");
    let sig = ["--signature", sig_path.to_str().unwrap().to_string().leak()];
    sign(m, "p256.pem", &sig);
    let (code, v) = verify(m, "p384.pub", &sig);
    assert_eq!(code, 1);
    assert_eq!(v["findings"][0]["rule"], "SIG005");
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("key mismatch"));

    for (bytes, why) in [
        (&b"{not json"[..], "not a Sigstore bundle"),
        (
            &b"{\"mediaType\":\"x\",\"verificationMaterial\":{}}"[..],
            "media type",
        ),
    ] {
        fs::write(&sig_path, bytes).unwrap();
        let (code, v) = verify(m, "p256.pub", &sig);
        assert_eq!(code, 1);
        assert!(
            v["findings"][0]["message"].as_str().unwrap().contains(why),
            "{v}"
        );
    }
}

#[test]
fn usage_and_io_errors_exit_2_naming_the_file() {
    let dir = model();
    let m = dir.path();
    let out = mlsec()
        .arg("verify")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pub"))
        .args(["--signature", "/nonexistent/model.sig"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/model.sig"));

    let out = mlsec()
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("rsa.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rsa.pem") && err.contains("RSA keys are not supported"),
        "{err}"
    );

    let out = mlsec()
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("p256-encrypted.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password"));
    let out = mlsec()
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("p256-encrypted.pem"))
        .args(["--password", "wrong"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    let sig = m.join("enc.sig");
    mlsec()
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("p256-encrypted.pem"))
        .env("MLSEC_KEY_PASSWORD", "hunter2")
        .arg("--signature")
        .arg(&sig)
        .assert()
        .code(0);
    let (code, _) = verify(m, "p256.pub", &["--signature", sig.to_str().unwrap()]);
    assert_eq!(code, 0);

    let out = mlsec()
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pem"))
        .args(["--hash", "blake3", "--shard-size", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn links_and_special_files_are_clear_errors() {
    let dir = model();
    let m = dir.path();
    std::os::unix::fs::symlink("config.json", m.join("link.json")).unwrap();
    let out = mlsec()
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pem"))
        .arg("--signature")
        .arg(m.join("s.sig"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("link.json: is a symbolic link"));
    mlsec()
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pem"))
        .arg("--allow-symlinks")
        .arg("--signature")
        .arg(m.join("s.sig"))
        .assert()
        .code(0);
    fs::remove_file(m.join("link.json")).unwrap();

    let fifo = m.join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = mlsec()
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pem"))
        .arg("--signature")
        .arg(m.join("s.sig"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pipe: not a regular file"));
}

#[test]
fn single_file_models_sign_as_dot() {
    let dir = model();
    let file = dir.path().join("config.json");
    let sig = dir.path().join("c.sig");
    let signed = sign(&file, "p256.pem", &["--signature", sig.to_str().unwrap()]);
    assert_eq!(signed["details"]["manifest"]["resources"][0]["name"], ".");
    let (code, _) = verify(&file, "p256.pub", &["--signature", sig.to_str().unwrap()]);
    assert_eq!(code, 0);
}

#[test]
fn evidence_attestations_are_tamper_evident() {
    let dir = model();
    let m = dir.path();
    let evidence = m.join("scan.json");
    let out = mlsec()
        .args(["scan", "--digest", "-f", "json", "-o"])
        .arg(&evidence)
        .arg(m.join("weights"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    mlsec()
        .arg("attest")
        .arg(&evidence)
        .arg("--key")
        .arg(key("p256.pem"))
        .assert()
        .code(0);
    let bundle = m.join("scan.json.sig");
    let out = mlsec()
        .arg("verify-attestation")
        .arg(&bundle)
        .arg("--key")
        .arg(key("p256.pub"))
        .arg("--evidence")
        .arg(&evidence)
        .args(["-f", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let signed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(signed["kind"], "scan");

    // The statement's subjects are the scanned files with their digests.
    let statement = statement_of(&bundle);
    assert_eq!(statement["predicateType"], "https://mlsec.dev/evidence/v1");
    assert!(statement["subject"][0]["digest"]["sha256"].is_string());

    // An edited report no longer matches; another key is refused.
    let text = fs::read_to_string(&evidence)
        .unwrap()
        .replace("\"pass\"", "\"fail\"");
    fs::write(&evidence, text).unwrap();
    mlsec()
        .arg("verify-attestation")
        .arg(&bundle)
        .arg("--key")
        .arg(key("p256.pub"))
        .arg("--evidence")
        .arg(&evidence)
        .assert()
        .code(1);
    mlsec()
        .arg("verify-attestation")
        .arg(&bundle)
        .arg("--key")
        .arg(key("p384.pub"))
        .assert()
        .code(1);
    // SARIF of the signed evidence is SARIF, not the envelope again.
    let out = mlsec()
        .arg("verify-attestation")
        .arg(&bundle)
        .arg("--key")
        .arg(key("p256.pub"))
        .args(["-f", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["runs"][0]["results"].is_array());
    // Only mlsec evidence and CycloneDX BOMs are attested.
    fs::write(m.join("other.json"), b"{\"a\":1}").unwrap();
    mlsec()
        .arg("attest")
        .arg(m.join("other.json"))
        .arg("--key")
        .arg(key("p256.pem"))
        .assert()
        .code(2);
}

#[test]
fn the_bom_carries_the_signature_and_its_status() {
    let dir = model();
    let m = dir.path();
    let bom = |extra: &[&str]| -> Value {
        let out = mlsec().arg("bom").arg(m).args(extra).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let prop = |b: &Value, name: &str| -> Option<String> {
        b["metadata"]["component"]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["value"].as_str().unwrap().to_string())
    };
    assert_eq!(
        prop(&bom(&[]), "mlsec:signature:status").as_deref(),
        Some("absent")
    );

    let signed = sign(
        m,
        "p256.pem",
        &["--signature", m.join("model.sig").to_str().unwrap()],
    );
    let b = bom(&[]);
    assert_eq!(
        prop(&b, "mlsec:signature:status").as_deref(),
        Some("unchecked")
    );
    let refs = b["metadata"]["component"]["externalReferences"]
        .as_array()
        .unwrap();
    assert!(
        refs.iter()
            .any(|r| r["type"] == "attestation" && r["url"] == "model.sig"),
        "{refs:?}"
    );

    let key_path = key("p256.pub");
    let b = bom(&["--key", key_path.to_str().unwrap()]);
    assert_eq!(
        prop(&b, "mlsec:signature:status").as_deref(),
        Some("verified")
    );
    let root = signed["subjects"][0]["digest"]["sha256"].as_str().unwrap();
    assert_eq!(b["metadata"]["component"]["hashes"][0]["content"], root);
    // Per-file hashes in the BOM are the signature's per-file digests.
    let bom_files: std::collections::BTreeMap<String, String> = b["metadata"]["component"]
        ["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["hashes"][0]["content"].as_str().unwrap().into(),
            )
        })
        .collect();
    for r in signed["details"]["manifest"]["resources"]
        .as_array()
        .unwrap()
    {
        assert_eq!(
            bom_files.get(r["name"].as_str().unwrap()),
            Some(&r["digest"].as_str().unwrap().to_string())
        );
    }
    let path = m.join("bom.json");
    fs::write(&path, serde_json::to_vec(&b).unwrap()).unwrap();
    mlsec()
        .arg("bom")
        .arg("--validate")
        .arg(&path)
        .assert()
        .code(0);
    fs::remove_file(&path).unwrap();

    fs::write(m.join("config.json"), b"{}").unwrap();
    let b = bom(&["--key", key_path.to_str().unwrap()]);
    assert_eq!(
        prop(&b, "mlsec:signature:status").as_deref(),
        Some("not-verified")
    );
    assert!(prop(&b, "mlsec:signature:problem")
        .unwrap()
        .contains("1 file(s) differ"));
}

/// Signature bundles are created as other tools create files (0666 less the
/// umask), and one written over keeps its mode.
#[cfg(unix)]
#[test]
fn bundles_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = model();
    let out_dir = tempfile::tempdir().unwrap();
    let sig = out_dir.path().join("model.sig");
    let run = |umask: &str, args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(assert_cmd::cargo::cargo_bin("mlsec"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let p256 = key("p256.pem");
    let sign_args = [
        "sign".as_ref(),
        dir.path().as_os_str(),
        "--key".as_ref(),
        p256.as_os_str(),
        "--signature".as_ref(),
        sig.as_os_str(),
    ];
    run("022", &sign_args);
    assert_eq!(mode(&sig), 0o644);
    fs::set_permissions(&sig, fs::Permissions::from_mode(0o660)).unwrap();
    run("077", &sign_args);
    assert_eq!(mode(&sig), 0o660);

    let evidence = out_dir.path().join("scan.json");
    let out = mlsec()
        .args(["scan", "-f", "json", "-o"])
        .arg(&evidence)
        .arg(dir.path().join("config.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    run(
        "027",
        &[
            "attest".as_ref(),
            evidence.as_os_str(),
            "--key".as_ref(),
            p256.as_os_str(),
        ],
    );
    assert_eq!(mode(&out_dir.path().join("scan.json.sig")), 0o640);
}

#[test]
fn key_help_is_for_users() {
    for cmd in ["sign", "attest"] {
        let help =
            String::from_utf8(mlsec().args([cmd, "--help"]).output().unwrap().stdout).unwrap();
        assert!(!help.contains("`credential`"), "{help}");
        assert!(help.contains("Private key to sign with"), "{help}");
    }
}

/// The README says BOMs can be attested: a CycloneDX BOM is signed with the
/// CycloneDX in-toto predicate type, and verified back.
#[test]
fn a_cyclonedx_bom_is_attested_and_verified() {
    let dir = model();
    let m = dir.path();
    let out_dir = tempfile::tempdir().unwrap();
    let bom = out_dir.path().join("bom.json");
    mlsec()
        .arg("bom")
        .arg(m)
        .arg("--output")
        .arg(&bom)
        .assert()
        .code(0);
    mlsec()
        .arg("attest")
        .arg(&bom)
        .arg("--key")
        .arg(key("p256.pem"))
        .assert()
        .code(0);
    let bundle = out_dir.path().join("bom.json.sig");
    let statement = statement_of(&bundle);
    assert_eq!(statement["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(statement["predicate"]["bomFormat"], "CycloneDX");
    let out = mlsec()
        .arg("verify-attestation")
        .arg(&bundle)
        .arg("--key")
        .arg(key("p256.pub"))
        .arg("--evidence")
        .arg(&bom)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("CycloneDX BOM of"), "{text}");
}

/// The in-toto statement a bundle file signs.
fn statement_of(bundle: &Path) -> Value {
    use base64::Engine;
    let b: Value = serde_json::from_slice(&fs::read(bundle).unwrap()).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// `sign`, `verify` and `bom` share one default signature path: `model.sig`
/// in the model folder, whatever the current folder is.
#[test]
fn sign_verify_and_bom_share_the_default_signature_path() {
    let dir = model();
    let m = dir.path();
    let elsewhere = tempfile::tempdir().unwrap();
    mlsec()
        .current_dir(elsewhere.path())
        .arg("sign")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pem"))
        .arg("-q")
        .assert()
        .code(0);
    assert!(m.join("model.sig").is_file());
    assert!(!elsewhere.path().join("model.sig").exists());
    let out = mlsec()
        .current_dir(elsewhere.path())
        .arg("verify")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pub"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = mlsec()
        .arg("bom")
        .arg(m)
        .arg("--key")
        .arg(key("p256.pub"))
        .output()
        .unwrap();
    let bom: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = bom["metadata"]["component"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "mlsec:signature:status")
        .map(|p| p["value"].clone());
    assert_eq!(status, Some(Value::from("verified")));
}
