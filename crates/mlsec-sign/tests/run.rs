//! `mlsec_sign::sign` and `verify`, the commands as library calls: the
//! signature evidence, and tampering found without the binary.

use mlsec_core::Severity;
use mlsec_sign::hash::HashAlgo;
use mlsec_sign::manifest::Method;
use mlsec_sign::{
    load_credential, load_trust, sign, verify, KeyFiles, ModelOptions, SignOptions,
    SignatureDetails, TrustFiles, VerifyOptions,
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
    assert_eq!(d.operation, "sign");
    assert_eq!(d.verified, None);
    assert_eq!(
        d.manifest.as_ref().unwrap()["resources"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
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
    assert!(err.contains("--key"), "{err}");
    let err = load_trust(&TrustFiles::default()).err().unwrap();
    assert!(
        err.contains("--key") && err.contains("--certificate-chain"),
        "{err}"
    );
    let err = load_trust(&TrustFiles {
        key: Some("/no/such/key.pub".into()),
        ..TrustFiles::default()
    })
    .err()
    .unwrap();
    assert!(err.contains("/no/such/key.pub"), "{err}");
}
