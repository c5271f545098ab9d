//! `mlsec_sign::sign` and `verify`, the commands as library calls: the
//! signature evidence, and tampering found without the binary.

use mlsec_core::{Fault, Severity};
use mlsec_sign::hash::HashAlgo;
use mlsec_sign::manifest::Method;
use mlsec_sign::{
    attest_file, load_credential, load_trust, sign, verify, verify_attestation_file, AttestOptions,
    AttestationDetails, KeyFiles, ModelOptions, Operation, SignError, SignOptions,
    SignatureDetails, TrustFiles, VerifyAttestationOptions, VerifyOptions,
};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use std::fs;
use std::path::Path;

/// A P-256 key pair written as PEM files; returns (private, public) paths.
fn keys(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let private = dir.join("key.pem");
    let public = dir.join("key.pub");
    fs::write(
        &private,
        secret.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    fs::write(
        &public,
        secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    (private, public)
}

fn model_options(model: &Path) -> ModelOptions {
    ModelOptions {
        model: model.to_path_buf(),
        signature: mlsec_sign::default_signature(model),
        ignore_paths: vec![],
        ignore_git_paths: true,
        allow_symlinks: false,
    }
}

#[test]
fn sign_then_verify_then_tamper_all_in_process() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (private, public) = keys(keys_dir.path());
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    fs::create_dir(&model).unwrap();
    fs::write(model.join("weights.bin"), vec![1u8; 4096]).unwrap();
    fs::write(model.join("config.json"), b"{\"layers\": 2}").unwrap();

    let credential = load_credential(&KeyFiles {
        key: Some(private),
        ..KeyFiles::default()
    })
    .unwrap();
    let signed = sign(
        &SignOptions {
            model: model_options(&model),
            method: Method::Files,
            hash: HashAlgo::Sha256,
        },
        &credential,
        &|_| {},
    )
    .unwrap();
    assert_eq!(signed.kind, "signature");
    assert!(
        model.join("model.sig").is_file(),
        "the default signature is model.sig in the folder"
    );
    let d: SignatureDetails = serde_json::from_value(signed.details.clone()).unwrap();
    assert_eq!(d.operation, Operation::Sign);
    assert_eq!(d.verified, None);
    assert_eq!(d.manifest.as_ref().unwrap().resources.len(), 2);
    let root = signed.subjects[0].digest["sha256"].clone();

    let trust = load_trust(&TrustFiles {
        key: Some(public),
        ..TrustFiles::default()
    })
    .unwrap();
    let options = VerifyOptions {
        model: model_options(&model),
        ignore_unsigned_files: false,
    };
    let ok = verify(&options, &trust, &|_| {}).unwrap();
    assert!(ok.findings.is_empty(), "{:?}", ok.findings);
    assert_eq!(ok.summary.verdict, "pass");
    assert_eq!(ok.subjects[0].digest["sha256"], root);

    // One changed byte and one added file: two findings, each at its file.
    let mut weights = fs::read(model.join("weights.bin")).unwrap();
    weights[100] ^= 1;
    fs::write(model.join("weights.bin"), weights).unwrap();
    fs::write(model.join("extra.py"), b"import os").unwrap();
    let bad = verify(&options, &trust, &|_| {}).unwrap();
    let d: SignatureDetails = serde_json::from_value(bad.details.clone()).unwrap();
    assert_eq!(d.verified, Some(false));
    assert_eq!(bad.summary.verdict, "fail");
    let at: Vec<(&str, Option<&str>)> = bad
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.location.as_deref()))
        .collect();
    assert!(at.contains(&("SIG001", Some("weights.bin"))), "{at:?}");
    assert!(at.contains(&("SIG003", Some("extra.py"))), "{at:?}");
    assert!(bad.findings.iter().all(|f| f.severity >= Severity::High));
}

#[test]
fn a_missing_key_or_trust_is_an_error_that_says_what_to_give() {
    let err = load_credential(&KeyFiles::default()).err().unwrap();
    assert_eq!(err.fault(), Fault::Input);
    assert!(err.to_string().contains("--key"), "{err}");
    let err = load_trust(&TrustFiles::default()).err().unwrap();
    let text = err.to_string();
    assert!(
        text.contains("--key") && text.contains("--certificate-chain"),
        "{err}"
    );
    let err = load_trust(&TrustFiles {
        key: Some("/no/such/key.pub".into()),
        ..TrustFiles::default()
    })
    .err()
    .unwrap();
    assert!(matches!(err, SignError::Io { .. }), "{err:?}");
    assert_eq!(
        err.fault(),
        Fault::Input,
        "a missing file is the input's fault"
    );
    assert!(err.to_string().contains("/no/such/key.pub"), "{err}");
}

#[test]
fn a_malformed_key_is_a_credential_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = load_credential(&KeyFiles {
        key: Some(bad),
        ..KeyFiles::default()
    })
    .err()
    .unwrap();
    assert!(matches!(err, SignError::Credential(_)), "{err:?}");
    assert!(err.to_string().contains("bad.pem"), "{err}");
}

#[test]
fn attest_then_verify_then_tamper_all_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keys(dir.path());
    let credential = load_credential(&KeyFiles {
        key: Some(private),
        ..KeyFiles::default()
    })
    .unwrap();
    let trust = load_trust(&TrustFiles {
        key: Some(public),
        ..TrustFiles::default()
    })
    .unwrap();
    // A real envelope: the rules evidence has no subjects with digests, so
    // the statement's subject is the document's own digest.
    let evidence = mlsec_core::Rule::evidence(mlsec_sign::rules::RULES);
    let doc = dir.path().join("rules.json");
    fs::write(&doc, mlsec_core::render::json(&evidence)).unwrap();

    let attested = attest_file(
        &AttestOptions {
            document: doc.clone(),
            bundle: None,
        },
        &credential,
    )
    .unwrap();
    assert_eq!(attested.kind, "attestation");
    let d = AttestationDetails::of(&attested).unwrap();
    assert_eq!(
        d.bundle,
        dir.path().join("rules.json.sig").display().to_string()
    );
    assert_eq!(
        d.predicate_type.as_deref(),
        Some(mlsec_sign::EVIDENCE_PREDICATE_TYPE)
    );
    assert_eq!(attested.subjects.len(), 1);
    assert!(attested.subjects[0].digest.contains_key("sha256"));

    let options = VerifyAttestationOptions {
        bundle: dir.path().join("rules.json.sig"),
        document: Some(doc.clone()),
    };
    let ok = verify_attestation_file(&options, &trust).unwrap();
    assert!(ok.findings.is_empty(), "{:?}", ok.findings);
    let d = AttestationDetails::of(&ok).unwrap();
    assert_eq!(d.verified, Some(true));
    assert_eq!(d.signed.as_ref().unwrap()["kind"], "rules");

    // The local document changed after signing: a finding at the document.
    let mut changed: serde_json::Value = serde_json::from_slice(&fs::read(&doc).unwrap()).unwrap();
    changed["summary"]["verdict"] = "fail".into();
    fs::write(&doc, changed.to_string()).unwrap();
    let bad = verify_attestation_file(&options, &trust).unwrap();
    let rules: Vec<&str> = bad.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["SIG001"], "{:?}", bad.findings);
    assert_eq!(AttestationDetails::of(&bad).unwrap().verified, Some(false));

    // A bundle with a flipped byte does not verify: a finding, not an error.
    let sig = dir.path().join("rules.json.sig");
    let mut bundle: serde_json::Value = serde_json::from_slice(&fs::read(&sig).unwrap()).unwrap();
    let payload = bundle["dsseEnvelope"]["payload"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if payload.starts_with('e') { "f" } else { "e" };
    bundle["dsseEnvelope"]["payload"] = format!("{flipped}{}", &payload[1..]).into();
    fs::write(&sig, bundle.to_string()).unwrap();
    let forged = verify_attestation_file(
        &VerifyAttestationOptions {
            bundle: sig,
            document: None,
        },
        &trust,
    )
    .unwrap();
    let rules: Vec<&str> = forged.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["SIG005"], "{:?}", forged.findings);
    assert!(forged.failed());

    // A missing bundle stops the check: an error naming it.
    let err = verify_attestation_file(
        &VerifyAttestationOptions {
            bundle: dir.path().join("none.sig"),
            document: None,
        },
        &trust,
    )
    .unwrap_err();
    assert_eq!(err.fault(), Fault::Input);
    assert!(err.to_string().contains("none.sig"), "{err}");
}
