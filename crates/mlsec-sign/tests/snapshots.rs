//! Pins every finding of `verify` on a realistic model folder tampered in each
//! way an attacker or an accident can (rule, severity, location, message), not
//! only the verdict. Update with
//! `INSTA_UPDATE=always cargo test -p mlsec-sign --test snapshots`.

use mlsec_core::Evidence;
use mlsec_sign::hash::HashAlgo;
use mlsec_sign::keys::{SigningKey, VerifyingKey};
use mlsec_sign::manifest::Method;
use mlsec_sign::{sign, verify, Credential, ModelOptions, SignOptions, Trust, VerifyOptions};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use std::fs;
use std::path::Path;

/// A fixed P-256 key, so key fingerprints in messages are stable.
fn key(seed: u8) -> (Credential, Trust) {
    let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
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

/// A Hugging Face style folder: weights in two shards, configs, tokenizer, code.
fn model(dir: &Path) {
    fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    let shard = |n: u8| (0..50_000u32).map(|i| (i as u8) ^ n).collect::<Vec<u8>>();
    fs::write(dir.join("model-00001-of-00002.safetensors"), shard(1)).unwrap();
    fs::write(dir.join("model-00002-of-00002.safetensors"), shard(2)).unwrap();
    fs::write(
        dir.join("config.json"),
        r#"{"model_type": "bert", "hidden_size": 384}"#,
    )
    .unwrap();
    fs::write(
        dir.join("tokenizer.json"),
        r#"{"version": "1.0", "model": {"type": "WordPiece"}}"#,
    )
    .unwrap();
    fs::write(
        dir.join("1_Pooling/config.json"),
        r#"{"pooling_mode_mean_tokens": true}"#,
    )
    .unwrap();
    fs::write(dir.join("modeling.py"), "import torch\n").unwrap();
}

fn options(dir: &Path) -> ModelOptions {
    ModelOptions {
        model: dir.to_path_buf(),
        signature: mlsec_sign::default_signature(dir),
        ignore_paths: vec![],
        ignore_git_paths: true,
        allow_symlinks: false,
    }
}

fn lines(evidence: &Evidence, root: &Path) -> String {
    let root = root.to_string_lossy();
    let mut out: Vec<String> = evidence
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} @ {}: {}",
                f.rule,
                f.severity,
                f.location.as_deref().unwrap_or("-"),
                f.message.replace(&*root, "ROOT"),
            )
        })
        .collect();
    out.sort();
    out.push(format!("verdict: {}", evidence.summary.verdict));
    out.join("\n")
}

#[test]
fn verify_findings_on_a_tampered_model_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("minilm");
    model(&root);
    let (credential, trust) = key(7);
    for (method, name) in [
        (Method::Files, "files"),
        (Method::Shards { shard_size: 16_384 }, "shards"),
    ] {
        let _ = fs::remove_dir_all(&root);
        model(&root);
        let opts = SignOptions {
            model: options(&root),
            method,
            hash: HashAlgo::Sha256,
        };
        sign(&opts, &credential, &|_| {}).unwrap();
        let verify_opts = VerifyOptions {
            model: options(&root),
            ignore_unsigned_files: false,
        };
        // One byte changed in a weight shard, a config deleted, code added,
        // and the tokenizer renamed.
        let mut w = fs::read(root.join("model-00002-of-00002.safetensors")).unwrap();
        w[40_000] ^= 0x80;
        fs::write(root.join("model-00002-of-00002.safetensors"), w).unwrap();
        fs::remove_file(root.join("1_Pooling/config.json")).unwrap();
        fs::write(root.join("inject.py"), "import os; os.system('id')\n").unwrap();
        fs::rename(root.join("tokenizer.json"), root.join("tokenizer.bak")).unwrap();
        let evidence = verify(&verify_opts, &trust, &|_| {}).unwrap();
        insta::assert_snapshot!(format!("tampered_{name}"), lines(&evidence, dir.path()));
    }

    // Signed by another key than the one trusted.
    let _ = fs::remove_dir_all(&root);
    model(&root);
    let (other, _) = key(9);
    let opts = SignOptions {
        model: options(&root),
        method: Method::Files,
        hash: HashAlgo::Sha256,
    };
    sign(&opts, &other, &|_| {}).unwrap();
    let evidence = verify(
        &VerifyOptions {
            model: options(&root),
            ignore_unsigned_files: false,
        },
        &trust,
        &|_| {},
    )
    .unwrap();
    insta::assert_snapshot!("wrong_key", lines(&evidence, dir.path()));
}
