//! The data commands as library calls (`verify_dataset`, `scan_pii`): the
//! evidence they return, and a signed manifest's tampering found without the
//! binary.

use mlsec_data::manifest::{self, ManifestOptions};
use mlsec_data::{
    signing, verify_dataset, DatasetVerifyOptions, IntegrityDetails, PiiDetails, PiiOptions,
    ReadOptions,
};
use mlsec_sign::keys::{SigningKey, VerifyingKey};
use mlsec_sign::{Credential, Trust};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use std::fs;
use std::path::Path;

fn credential_and_trust() -> (Credential, Trust) {
    let secret = p256::SecretKey::from_slice(&[9u8; 32]).unwrap();
    let private = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
    let public = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (
        Credential::Key(SigningKey::from_pem(&private, None).unwrap()),
        Trust::Key(VerifyingKey::from_pem(&public).unwrap()),
    )
}

/// A dataset folder, its manifest and the manifest's signature.
fn signed_dataset(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Trust) {
    let data = dir.join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("train.csv"), "id,label\n1,cat\n2,dog\n3,cat\n").unwrap();
    let (manifest, _) =
        manifest::build(std::slice::from_ref(&data), &ManifestOptions::default()).unwrap();
    let bytes = manifest.to_bytes();
    let path = dir.join("data.manifest.json");
    fs::write(&path, &bytes).unwrap();
    let (credential, trust) = credential_and_trust();
    let bundle = signing::sign_manifest(&manifest, &bytes, &credential).unwrap();
    fs::write(signing::default_signature(&path), bundle.to_json()).unwrap();
    (data, path, trust)
}

fn verify(data: &Path, manifest: &Path, trust: Option<Trust>) -> mlsec_core::Evidence {
    verify_dataset(&DatasetVerifyOptions {
        paths: vec![data.to_path_buf()],
        manifest: manifest.to_path_buf(),
        signature: None,
        trust,
        read: ReadOptions::default(),
        exclude: vec![],
    })
    .unwrap()
}

#[test]
fn a_signed_manifest_verifies_and_a_changed_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (data, manifest, trust) = signed_dataset(dir.path());
    let ok = verify(&data, &manifest, Some(trust));
    assert_eq!(ok.kind, "data.integrity");
    assert!(ok.findings.is_empty(), "{:?}", ok.findings);
    let d: IntegrityDetails = serde_json::from_value(ok.details.clone()).unwrap();
    assert!(d.identical);
    assert_eq!(d.signature.verified, Some(true));
    assert!(d.signature.signer.is_some());

    fs::write(data.join("train.csv"), "id,label\n1,cat\n2,cat\n3,cat\n").unwrap();
    let (_, trust) = credential_and_trust();
    let bad = verify(&data, &manifest, Some(trust));
    let d: IntegrityDetails = serde_json::from_value(bad.details.clone()).unwrap();
    assert!(!d.identical);
    assert_eq!(d.files[0].verdict, "changed");
    assert!(
        bad.findings
            .iter()
            .any(|f| f.location.as_deref() == Some("row 2")),
        "{:?}",
        bad.findings
    );
}

#[test]
fn a_tampered_manifest_fails_its_signature_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let (data, manifest, trust) = signed_dataset(dir.path());
    // Whoever changes the data and rewrites the manifest to match cannot
    // re-sign it: the data verify against the manifest, the signature does not.
    fs::write(data.join("train.csv"), "id,label\n1,cat\n2,cat\n3,cat\n").unwrap();
    let (rebuilt, _) =
        manifest::build(std::slice::from_ref(&data), &ManifestOptions::default()).unwrap();
    fs::write(&manifest, rebuilt.to_bytes()).unwrap();
    let evidence = verify(&data, &manifest, Some(trust));
    let rules: Vec<&str> = evidence.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["DAT011"], "{:?}", evidence.findings);
    assert_eq!(evidence.summary.verdict, "fail");
    let d: IntegrityDetails = serde_json::from_value(evidence.details.clone()).unwrap();
    assert_eq!(d.signature.verified, Some(false));
    assert!(
        d.signature.reason.as_deref().unwrap().contains("SHA-256"),
        "{:?}",
        d.signature
    );
}

#[test]
fn pii_evidence_counts_per_file_and_entity() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    fs::write(
        &csv,
        "id,email,score\n1,ann@example.org,0.5\n2,bob@example.com,0.25\n",
    )
    .unwrap();
    let evidence = mlsec_data::scan_pii(&PiiOptions {
        paths: vec![csv],
        entities: vec![],
        read: ReadOptions::default(),
        max_findings: 1,
    })
    .unwrap();
    assert_eq!(evidence.kind, "data.pii");
    let d: PiiDetails = serde_json::from_value(evidence.details.clone()).unwrap();
    assert_eq!(d.entities["EMAIL"], 2);
    assert_eq!(d.files[0].findings, 2);
    assert_eq!(d.files[0].listed, 1, "max_findings caps what is listed");
    assert_eq!(d.files[0].verdict, "suspicious");
    assert_eq!(
        evidence.findings[0].location.as_deref(),
        Some("row 1 [email]:0-15")
    );
    let err = mlsec_data::scan_pii(&PiiOptions {
        paths: vec![dir.path().into()],
        entities: vec!["NOT_AN_ENTITY".into()],
        read: ReadOptions::default(),
        max_findings: 0,
    })
    .unwrap_err();
    assert_eq!(err.fault(), mlsec_core::Fault::Input);
    let err = err.to_string();
    assert!(
        err.contains("NOT_AN_ENTITY") && err.contains("EMAIL"),
        "{err}"
    );
}
