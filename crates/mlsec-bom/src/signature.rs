//! The model's signature in the BOM: an `attestation` external reference to the
//! model_signing bundle, its status as properties, and, once verified, the
//! signed root digest as the model component's hash, so BOM and signature can
//! be checked against each other.

use crate::cyclonedx::{ExternalReference, Property};
use mlsec_sign::{Failure, ModelOptions, Trust};
use std::path::{Path, PathBuf};

/// What the BOM says about the model's signature.
pub struct SignatureEvidence {
    pub reference: ExternalReference,
    pub properties: Vec<Property>,
    /// Hex SHA-256 root digest of a verified signature.
    pub root_digest: Option<String>,
}

/// Looks for the signature (`signature`, else `model.sig` in the model folder)
/// and verifies it when `trust` is given. `None` when there is no signature.
pub fn check(
    model: &Path,
    dir: &Path,
    signature: Option<&Path>,
    trust: Option<&Trust>,
) -> Result<Option<SignatureEvidence>, crate::BomError> {
    let path: PathBuf = match signature {
        Some(p) => p.to_path_buf(),
        None => {
            let p = mlsec_sign::default_signature(model);
            if !p.is_file() {
                return Ok(None);
            }
            p
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| crate::BomError::io(&path, &e))?;
    let url = path
        .strip_prefix(dir)
        .unwrap_or(&path)
        .to_string_lossy()
        .replace('\\', "/");
    let reference = ExternalReference {
        kind: "attestation",
        url,
        comment: Some("OpenSSF model_signing v1.0 signature (Sigstore bundle)".into()),
    };
    let mut properties = Vec::new();
    let mut root_digest = None;
    match trust {
        None => {
            properties.push(Property::new("mlsec:signature:status", "unchecked"));
            // The key the bundle claims, not yet checked.
            let hint = mlsec_sign::bundle::Bundle::parse(&bytes)
                .ok()
                .and_then(|b| b.verification_material.public_key.and_then(|k| k.hint));
            if let Some(hint) = hint {
                properties.push(Property::new(
                    "mlsec:signature:claimed_key_fingerprint",
                    hint,
                ));
            }
        }
        Some(trust) => {
            let opts = ModelOptions {
                model: model.to_path_buf(),
                signature: path.clone(),
                ignore_paths: Vec::new(),
                ignore_git_paths: true,
                allow_symlinks: false,
            };
            let v = mlsec_sign::verify_model(&opts, trust, false, &|_| {})?;
            let status = if v.failure.is_none() {
                "verified"
            } else {
                "not-verified"
            };
            properties.push(Property::new("mlsec:signature:status", status));
            if let Some(signer) = &v.signer {
                properties.push(Property::new("mlsec:signature:method", &signer.method));
                properties.push(Property::new(
                    "mlsec:signature:key_fingerprint",
                    signer.key_fingerprint.clone(),
                ));
            }
            match &v.failure {
                None => {
                    let root = v
                        .manifest
                        .as_ref()
                        .map(|m| mlsec_sign::hash::hex(&m.root_digest()));
                    if let Some(root) = &root {
                        properties.push(Property::new(
                            "mlsec:signature:root_digest",
                            format!("sha256:{root}"),
                        ));
                    }
                    root_digest = root;
                }
                Some(Failure::Signature { message }) => {
                    properties.push(Property::new("mlsec:signature:problem", message.clone()))
                }
                Some(Failure::Content { diff }) => {
                    let n = diff.changed.len()
                        + diff.missing.len()
                        + diff.extra.len()
                        + diff.renamed.len();
                    properties.push(Property::new(
                        "mlsec:signature:problem",
                        format!("{n} file(s) differ from the signed manifest"),
                    ));
                }
            }
        }
    }
    Ok(Some(SignatureEvidence {
        reference,
        properties,
        root_digest,
    }))
}
