//! Evidence bundles (`mlsec check --bundle`): written, verified, and
//! tampered with every way an archive allows.

use mlsec_sign::evidence_bundle::{self, ATTESTATION_MEMBER};
use mlsec_sign::{
    load_credential, load_trust, verify_attestation_file, AttestationDetails, KeyFiles, TrustFiles,
    VerifyAttestationOptions,
};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};

fn key_pair(dir: &Path, seed: u8) -> (PathBuf, PathBuf) {
    let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
    let private = dir.join(format!("key{seed}.pem"));
    let public = dir.join(format!("key{seed}.pub"));
    fs::write(
        &private,
        secret.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    let pem = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    fs::write(&public, pem).unwrap();
    (private, public)
}

fn members() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "evidence/check.json".into(),
            br#"{"decision": "deny"}"#.to_vec(),
        ),
        ("evidence/scan.json".into(), vec![b'x'; 70_000]),
        ("evidence/report.html".into(), b"<!DOCTYPE html>".to_vec()),
    ]
}

/// The archive's members, each (name, bytes), in order.
fn read_members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (name, data)
        })
        .collect()
}

/// A tar of `members` as given, links and all, without signing anything.
fn raw_tar(members: &[(String, Vec<u8>)], link: Option<(&str, &str)>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // The name written as is: the tar crate refuses `..` (as it should).
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    if let Some((name, target)) = link {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, name, target).unwrap();
    }
    b.into_inner().unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    public: PathBuf,
    other_public: PathBuf,
    archive: Vec<u8>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = key_pair(dir.path(), 7);
    let (_, other_public) = key_pair(dir.path(), 9);
    let credential = load_credential(&KeyFiles {
        key: Some(private),
        ..KeyFiles::default()
    })
    .unwrap();
    let predicate = json!({"project": "p", "decision": "deny"});
    let archive = evidence_bundle::write(&members(), &predicate, &credential).unwrap();
    Setup {
        dir: dir.path().to_path_buf(),
        _dir: dir,
        public,
        other_public,
        archive,
    }
}

/// Verifies `bytes` written to a file: (verified, finding rule ids, failure).
fn check(s: &Setup, bytes: &[u8], public: &Path) -> (bool, Vec<String>, Option<String>) {
    let path = s.dir.join("bundle.tar");
    fs::write(&path, bytes).unwrap();
    let trust = load_trust(&TrustFiles {
        key: Some(public.to_path_buf()),
        ..TrustFiles::default()
    })
    .unwrap();
    let evidence = verify_attestation_file(
        &VerifyAttestationOptions {
            bundle: path,
            document: None,
        },
        &trust,
    )
    .unwrap();
    let d = AttestationDetails::of(&evidence).unwrap();
    let rules = evidence.findings.iter().map(|f| f.rule.clone()).collect();
    (d.verified == Some(true), rules, d.failure)
}

#[test]
fn a_written_bundle_verifies_and_is_the_same_bytes_each_time() {
    let s = setup();
    assert!(evidence_bundle::is_tar(&s.archive));
    let names: Vec<String> = read_members(&s.archive).into_iter().map(|m| m.0).collect();
    assert_eq!(
        names,
        [
            "evidence/check.json",
            "evidence/scan.json",
            "evidence/report.html",
            ATTESTATION_MEMBER
        ]
    );
    let (ok, rules, failure) = check(&s, &s.archive, &s.public);
    assert!(ok && rules.is_empty(), "{rules:?} {failure:?}");
    // ECDSA signatures differ each time, the members do not.
    let again = setup();
    let strip = |a: &[u8]| {
        read_members(a)
            .into_iter()
            .filter(|m| m.0 != ATTESTATION_MEMBER)
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&s.archive), strip(&again.archive));
}

#[test]
fn the_wrong_key_does_not_verify() {
    let s = setup();
    let (ok, rules, _) = check(&s, &s.archive, &s.other_public);
    assert!(!ok);
    assert_eq!(rules, ["SIG005"]);
}

#[test]
fn a_changed_missing_or_added_member_is_named() {
    let s = setup();
    let original = read_members(&s.archive);
    // Changed.
    let mut changed = original.clone();
    changed[0].1 = br#"{"decision": "pass"}"#.to_vec();
    let (ok, rules, failure) = check(&s, &raw_tar(&changed, None), &s.public);
    assert!(!ok);
    assert_eq!(rules, ["SIG001"], "{failure:?}");
    assert!(failure.unwrap().contains("evidence/check.json"));
    // Missing.
    let missing: Vec<_> = original
        .iter()
        .filter(|m| m.0 != "evidence/scan.json")
        .cloned()
        .collect();
    let (ok, rules, _) = check(&s, &raw_tar(&missing, None), &s.public);
    assert!(!ok);
    assert_eq!(rules, ["SIG002"]);
    // Added.
    let mut added = original.clone();
    added.insert(0, ("evidence/extra.json".into(), b"{}".to_vec()));
    let (ok, rules, _) = check(&s, &raw_tar(&added, None), &s.public);
    assert!(!ok);
    assert_eq!(rules, ["SIG003"]);
    // Without the signature it is no bundle.
    let unsigned: Vec<_> = original
        .iter()
        .filter(|m| m.0 != ATTESTATION_MEMBER)
        .cloned()
        .collect();
    let (ok, rules, failure) = check(&s, &raw_tar(&unsigned, None), &s.public);
    assert!(!ok);
    assert_eq!(rules, ["SIG005"]);
    assert!(failure.unwrap().contains("not a signed evidence bundle"));
}

#[test]
fn archive_tricks_an_extractor_would_fall_for_are_refused() {
    let s = setup();
    let original = read_members(&s.archive);
    // A second copy of a member after the signed one: extractors keep the last.
    let mut twice = original.clone();
    twice.push((
        "evidence/check.json".into(),
        br#"{"decision": "pass"}"#.to_vec(),
    ));
    let (ok, rules, failure) = check(&s, &raw_tar(&twice, None), &s.public);
    assert!(!ok);
    assert_eq!(rules, ["SIG005"]);
    assert!(failure.unwrap().contains("twice"));
    // A name leading out of the folder.
    let mut escape = original.clone();
    escape.push(("evidence/../../outside.json".into(), b"{}".to_vec()));
    let (ok, _, failure) = check(&s, &raw_tar(&escape, None), &s.public);
    assert!(!ok);
    assert!(failure.unwrap().contains("leads out"));
    // A link.
    let (ok, _, failure) = check(
        &s,
        &raw_tar(&original, Some(("evidence/link", "/etc/passwd"))),
        &s.public,
    );
    assert!(!ok);
    assert!(failure.unwrap().contains("not a regular file"));
    // Cut short.
    let cut = &s.archive[..s.archive.len() / 2];
    let (ok, _, _) = check(&s, cut, &s.public);
    assert!(!ok);
}

#[test]
fn writing_refuses_names_that_are_not_plain() {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = key_pair(dir.path(), 7);
    let credential = load_credential(&KeyFiles {
        key: Some(private),
        ..KeyFiles::default()
    })
    .unwrap();
    for bad in ["../x.json", "/abs.json", ATTESTATION_MEMBER, ""] {
        let members = vec![(bad.to_string(), b"{}".to_vec())];
        assert!(
            evidence_bundle::write(&members, &json!({}), &credential).is_err(),
            "{bad}"
        );
    }
    let dup = vec![("a".to_string(), vec![]), ("a".to_string(), vec![])];
    assert!(evidence_bundle::write(&dup, &json!({}), &credential).is_err());
    drop(s);
}
