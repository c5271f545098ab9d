//! `mlsec_check::run` on real project folders: the decision, the evidence it
//! keeps, and the errors that stop the gate (never a silent pass).

use mlsec_check::{run, CheckDetails, CheckError, CheckKind, CheckOptions};
use mlsec_core::Fault;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use std::fs;
use std::path::Path;

fn fixture(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

/// A project: a model signed with a fresh key, a downloads folder with a
/// malicious pickle, a pinned dataset, and notes holding personal data.
fn project(dir: &Path) {
    fs::create_dir_all(dir.join("models/clean")).unwrap();
    fs::create_dir_all(dir.join("downloads")).unwrap();
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::create_dir_all(dir.join("keys")).unwrap();
    fs::copy(
        fixture("folders/hf_model/model.safetensors"),
        dir.join("models/clean/model.safetensors"),
    )
    .unwrap();
    fs::copy(
        fixture("folders/hf_model/config.json"),
        dir.join("models/clean/config.json"),
    )
    .unwrap();
    fs::copy(
        fixture("pickle/inst_os_system.pkl"),
        dir.join("downloads/extra.pkl"),
    )
    .unwrap();
    fs::write(
        dir.join("data/train.csv"),
        "id,label\n1,cat\n2,dog\n3,cat\n",
    )
    .unwrap();
    fs::write(
        dir.join("data/notes.txt"),
        "Call Maria Garcia on +1 415 555 0134.\n",
    )
    .unwrap();

    let secret = p256::SecretKey::from_slice(&[3u8; 32]).unwrap();
    let private = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
    fs::write(dir.join("keys/key.pem"), private.as_bytes()).unwrap();
    fs::write(
        dir.join("keys/key.pub"),
        secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    let credential = mlsec_sign::load_credential(&mlsec_sign::KeyFiles {
        key: Some(dir.join("keys/key.pem")),
        ..Default::default()
    })
    .unwrap();
    let model = dir.join("models/clean");
    mlsec_sign::sign(
        &mlsec_sign::SignOptions {
            model: mlsec_sign::ModelOptions {
                model: model.clone(),
                signature: mlsec_sign::default_signature(&model),
                ignore_paths: vec![],
                ignore_git_paths: true,
                allow_symlinks: false,
            },
            method: mlsec_sign::manifest::Method::Files,
            hash: mlsec_sign::hash::HashAlgo::Sha256,
        },
        &credential,
        &|_| {},
    )
    .unwrap();
    mlsec_data::write_manifest(&mlsec_data::ManifestWriteOptions {
        paths: vec![dir.join("data/train.csv")],
        manifest: Default::default(),
        output: Some(dir.join("data/train.manifest.json")),
        credential: Some(credential),
        signature: None,
    })
    .unwrap();
    fs::write(
        dir.join("mlsec.toml"),
        r#"
[project]
name = "demo"

[[model]]
path = "models/clean"
key = "keys/key.pub"

[[model]]
path = "downloads"

[[dataset]]
path = "data/train.csv"
manifest = "data/train.manifest.json"
key = "keys/key.pub"

[[dataset]]
path = "data/notes.txt"
"#,
    )
    .unwrap();
}

fn options(dir: &Path) -> CheckOptions {
    CheckOptions {
        root: dir.to_path_buf(),
        ..Default::default()
    }
}

fn status<'a>(d: &'a CheckDetails, id: &str) -> &'a str {
    d.policy
        .rules
        .iter()
        .find(|r| r.metadata.id == id)
        .map_or("absent", |r| r.status.as_str())
}

#[test]
fn a_project_with_a_trojaned_download_is_denied_and_the_evidence_kept() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let evidence = run(&options(dir.path())).unwrap();
    assert_eq!(evidence.kind, "check");
    let d = CheckDetails::of(&evidence).unwrap();
    assert_eq!(d.decision, "deny", "{:#?}", d.policy.messages);
    assert!(evidence.failed());
    assert_eq!(status(&d, "MLP001"), "denied");
    assert_eq!(status(&d, "MLP002"), "passed", "the signed model verifies");
    assert_eq!(status(&d, "MLP003"), "passed", "the pinned data match");
    assert_eq!(
        status(&d, "MLP005"),
        "warned",
        "the notes hold a phone number"
    );
    let kinds: Vec<CheckKind> = d.checks.iter().map(|c| c.kind).collect();
    for k in [
        CheckKind::Scan,
        CheckKind::Sign,
        CheckKind::Bom,
        CheckKind::Data,
        CheckKind::Pii,
    ] {
        assert!(kinds.contains(&k), "{k:?} ran: {kinds:?}");
    }
    assert!(
        d.checks.iter().all(|c| c.status == "ran"),
        "{:#?}",
        d.checks
    );
    // Every envelope is kept, with the policy input and the decision.
    let kept = dir.path().join(".mlsec/evidence");
    for c in &d.checks {
        let file = kept.join(c.evidence.as_ref().unwrap());
        let e: mlsec_core::Evidence = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
        assert_eq!(Some(&e.kind), c.evidence_kind.as_ref());
    }
    assert!(kept.join("input.json").is_file() && kept.join("check.json").is_file());
    let denial = evidence
        .findings
        .iter()
        .find(|f| f.rule == "MLP001")
        .unwrap();
    assert!(
        denial.message.contains("extra.pkl") && denial.message.contains("PKL001"),
        "{}",
        denial.message
    );
}

#[test]
fn a_tampered_model_and_changed_data_are_denied() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    fs::remove_dir_all(dir.path().join("downloads")).unwrap();
    fs::create_dir(dir.path().join("downloads")).unwrap();
    fs::write(
        dir.path().join("models/clean/config.json"),
        "{\"model_type\": \"evil\"}",
    )
    .unwrap();
    fs::write(
        dir.path().join("data/train.csv"),
        "id,label\n1,cat\n2,cat\n3,cat\n",
    )
    .unwrap();
    let d = CheckDetails::of(&run(&options(dir.path())).unwrap()).unwrap();
    assert_eq!(status(&d, "MLP001"), "passed");
    assert_eq!(status(&d, "MLP002"), "denied");
    assert_eq!(status(&d, "MLP003"), "denied");
    let msgs: Vec<&str> = d.policy.messages.iter().map(|m| m.msg.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("config.json") && m.contains("SIG001")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("row 2") && m.contains("DAT004")),
        "{msgs:#?}"
    );
}

#[test]
fn only_and_skip_select_checks() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut o = options(dir.path());
    o.only = vec![CheckKind::Sign, CheckKind::Data];
    let d = CheckDetails::of(&run(&o).unwrap()).unwrap();
    let kinds: Vec<CheckKind> = d.checks.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [CheckKind::Sign, CheckKind::Data]);
    assert_eq!(d.decision, "pass", "{:#?}", d.policy.messages);
    assert_eq!(status(&d, "MLP001"), "not_applicable");
    let mut o = options(dir.path());
    o.skip = vec![CheckKind::Pii, CheckKind::Scan];
    let d = CheckDetails::of(&run(&o).unwrap()).unwrap();
    assert!(d
        .checks
        .iter()
        .all(|c| !matches!(c.kind, CheckKind::Pii | CheckKind::Scan)));
}

#[test]
fn a_missing_input_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    fs::remove_file(dir.path().join("data/train.manifest.json")).unwrap();
    let err = run(&options(dir.path())).unwrap_err();
    assert_eq!(err.fault(), Fault::Input);
    assert!(
        err.to_string()
            .contains("manifest `data/train.manifest.json` does not exist"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = run(&options(empty.path())).unwrap_err();
    assert!(
        err.to_string().contains("mlsec.toml: no project file"),
        "{err}"
    );
}

#[test]
fn a_malformed_project_file_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    fs::write(
        dir.path().join("mlsec.toml"),
        "[project]\nname = \"x\"\n\n[[model]]\npaht = \"models/clean\"\n",
    )
    .unwrap();
    let err = run(&options(dir.path())).unwrap_err();
    assert!(matches!(err, CheckError::Project(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("mlsec.toml:5:1: unknown field `paht`"),
        "{text}"
    );
}

#[test]
fn a_check_that_cannot_run_makes_the_decision_an_error() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    // The signature the model names is not a signature file at all: verify
    // reports it (a finding); a missing model.sig is a check that cannot run.
    fs::remove_file(dir.path().join("models/clean/model.sig")).unwrap();
    let d = CheckDetails::of(&run(&options(dir.path())).unwrap()).unwrap();
    let sign = d.checks.iter().find(|c| c.kind == CheckKind::Sign).unwrap();
    assert_eq!(sign.status, "error", "{sign:?}");
    assert!(
        sign.error.as_deref().unwrap().contains("model.sig"),
        "{sign:?}"
    );
    assert_eq!(d.decision, "error");
}

#[test]
fn a_policy_that_does_not_compile_stops_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    fs::create_dir(dir.path().join("policy")).unwrap();
    fs::write(
        dir.path().join("policy/bad.rego"),
        "package bad\nimport rego.v1\ndeny contains x if {\n",
    )
    .unwrap();
    let mut toml = fs::read_to_string(dir.path().join("mlsec.toml")).unwrap();
    toml.push_str("\n[policy]\npaths = [\"policy\"]\n");
    fs::write(dir.path().join("mlsec.toml"), toml).unwrap();
    let err = run(&options(dir.path())).unwrap_err();
    assert!(matches!(err, CheckError::Policy(_)), "{err:?}");
    assert!(err.to_string().contains("bad.rego:"), "{err}");
}
