//! Signatures made by the reference, model-signing 1.1.1 (tests/vectors/make.py),
//! must verify, and must stop verifying when the model changes.

use mlsec_sign::keys::VerifyingKey;
use mlsec_sign::{cert, verify_model, Failure, ModelOptions, Trust};
use std::fs;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn key(name: &str) -> Trust {
    let text = fs::read_to_string(vectors().join("keys").join(name)).unwrap();
    Trust::Key(VerifyingKey::from_pem(&text).unwrap())
}

fn ca() -> Trust {
    let text = fs::read_to_string(vectors().join("keys/ca.pem")).unwrap();
    Trust::Certificates(cert::pem_certificates(&text).unwrap())
}

fn options(model: &Path, sig: &str) -> ModelOptions {
    ModelOptions {
        model: model.to_path_buf(),
        signature: vectors().join("sigs").join(sig),
        ignore_paths: vec![],
        ignore_git_paths: true,
        allow_symlinks: false,
    }
}

/// Every reference signature and the key (or CA) that verifies it.
fn cases() -> Vec<(&'static str, Trust)> {
    vec![
        ("p256-files-sha256.sig", key("p256.pub")),
        ("p384-files-sha256.sig", key("p384.pub")),
        ("p521-files-sha256.sig", key("p521.pub")),
        ("p256-shards-sha256.sig", key("p256.pub")),
        ("p256-shards-blake2b.sig", key("p256.pub")),
        ("p256-files-blake2b.sig", key("p256.pub")),
        ("p256-files-blake3.sig", key("p256.pub")),
        ("p256-certificate.sig", ca()),
    ]
}

fn copy_model(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&vectors().join("model"), to);
}

#[test]
fn reference_signatures_verify() {
    for (sig, trust) in cases() {
        let v = verify_model(
            &options(&vectors().join("model"), sig),
            &trust,
            false,
            &|_| {},
        )
        .unwrap();
        assert!(v.failure.is_none(), "{sig}: {:?}", v.failure);
        let signer = v.signer.unwrap();
        assert_eq!(
            signer.method,
            if sig.contains("certificate") {
                "certificate"
            } else {
                "key"
            }
        );
        assert!(v.manifest.unwrap().resources.len() >= 6, "{sig}");
    }
}

#[test]
fn a_changed_byte_is_named_for_every_reference_signature() {
    for (sig, trust) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        copy_model(&model);
        let weights = model.join("weights/shard-00001.bin");
        let mut bytes = fs::read(&weights).unwrap();
        bytes[700] ^= 1;
        fs::write(&weights, bytes).unwrap();
        let v = verify_model(&options(&model, sig), &trust, false, &|_| {}).unwrap();
        match v.failure {
            Some(Failure::Content { diff }) => {
                assert_eq!(diff.changed, ["weights/shard-00001.bin"], "{sig}")
            }
            other => panic!("{sig}: {other:?}"),
        }
    }
}

#[test]
fn added_removed_and_renamed_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    copy_model(&model);
    fs::write(model.join("extra.pkl"), b"\x80\x04N.").unwrap();
    fs::remove_file(model.join("config.json")).unwrap();
    fs::rename(
        model.join("tokenizer/extra/vocab ü.txt"),
        model.join("tokenizer/vocab.txt"),
    )
    .unwrap();
    let v = verify_model(
        &options(&model, "p256-files-sha256.sig"),
        &key("p256.pub"),
        false,
        &|_| {},
    )
    .unwrap();
    let Some(Failure::Content { diff }) = v.failure else {
        panic!("{:?}", v.failure)
    };
    assert_eq!(diff.extra, ["extra.pkl"]);
    assert_eq!(diff.missing, ["config.json"]);
    assert_eq!(
        diff.renamed,
        [(
            "tokenizer/extra/vocab ü.txt".to_string(),
            "tokenizer/vocab.txt".to_string()
        )]
    );

    // --ignore-unsigned-files tolerates the extra file but not the rest.
    let v = verify_model(
        &options(&model, "p256-files-sha256.sig"),
        &key("p256.pub"),
        true,
        &|_| {},
    )
    .unwrap();
    let Some(Failure::Content { diff }) = v.failure else {
        panic!()
    };
    assert!(diff.extra.is_empty() && diff.missing.len() == 2);
}

#[test]
fn another_key_or_ca_is_refused() {
    let model = vectors().join("model");
    let v = verify_model(
        &options(&model, "p256-files-sha256.sig"),
        &key("p384.pub"),
        false,
        &|_| {},
    )
    .unwrap();
    match v.failure {
        Some(Failure::Signature { message }) => {
            assert!(message.contains("key mismatch"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let v = verify_model(
        &options(&model, "p256-files-sha256.sig"),
        &ca(),
        false,
        &|_| {},
    )
    .unwrap();
    assert!(matches!(v.failure, Some(Failure::Signature { .. })));
    // A certificate bundle checked against an unrelated CA (here: the signer's own
    // intermediate is not trusted, the leaf is not self-signed).
    let v = verify_model(
        &options(&model, "p256-certificate.sig"),
        &key("p256.pub"),
        false,
        &|_| {},
    )
    .unwrap();
    assert!(
        matches!(v.failure, Some(Failure::Signature { .. })),
        "{:?}",
        v.failure
    );
}
