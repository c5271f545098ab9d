//! Signed data manifests: an in-toto statement whose subjects are the data
//! files (path and SHA-256) and whose predicate pins the manifest's own bytes
//! by digest, so the signature stays small however many row digests the
//! manifest holds. Signed and checked with mlsec-sign's keys and bundles.

use crate::manifest::Manifest;
use mlsec_core::digest::hex;
use mlsec_sign::bundle::Bundle;
use mlsec_sign::hash::HashAlgo;
use mlsec_sign::{Credential, Signer, Trust};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The in-toto predicate type of a signed data manifest.
pub const MANIFEST_PREDICATE_TYPE: &str = "https://mlsec.dev/data-manifest/v1";

/// Where a manifest's signature lives unless told otherwise: its path + `.sig`.
pub fn default_signature(manifest: &Path) -> PathBuf {
    let mut p = manifest.as_os_str().to_owned();
    p.push(".sig");
    PathBuf::from(p)
}

/// Signs `manifest`, whose serialized form is `bytes`.
pub fn sign_manifest(
    manifest: &Manifest,
    bytes: &[u8],
    credential: &Credential,
) -> Result<Bundle, mlsec_sign::SignError> {
    let subjects = manifest
        .files
        .iter()
        .map(|f| json!({"name": f.path, "digest": {"sha256": f.sha256}}))
        .collect();
    let predicate = json!({
        "manifest": {"digest": {"sha256": sha256_hex(bytes)}},
        "schema": manifest.schema,
        "created": manifest.created,
        "source": manifest.source,
    });
    mlsec_sign::sign_statement(subjects, MANIFEST_PREDICATE_TYPE, &predicate, credential)
}

/// Checks the signature in `signature` over the manifest's `bytes` with
/// `trust`; `Err` says why it was refused.
pub fn check_signature(bytes: &[u8], signature: &Path, trust: &Trust) -> Result<Signer, String> {
    let bundle = std::fs::read(signature).map_err(|e| format!("{}: {e}", signature.display()))?;
    let (predicate, signer) = mlsec_sign::open_statement(&bundle, trust, MANIFEST_PREDICATE_TYPE)?;
    let signed = predicate
        .get("manifest")
        .and_then(|m| m.get("digest"))
        .and_then(|d| d.get("sha256"))
        .and_then(serde_json::Value::as_str)
        .ok_or("the signed statement names no manifest digest")?;
    let actual = sha256_hex(bytes);
    if signed != actual {
        return Err(format!(
            "the manifest's SHA-256 is {actual}, the signature covers {signed}"
        ));
    }
    Ok(signer)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&HashAlgo::Sha256.digest(bytes))
}
