//! Signing and verifying models the OpenSSF model_signing v1.0 way: a manifest
//! of per-file (or per-shard) digests, wrapped in an in-toto Statement, signed
//! as a DSSE envelope and stored as a Sigstore bundle (`model.sig`). Any mlsec
//! evidence document can be signed the same way ([`attest`]).
//!
//! Signatures made here verify with `model_signing verify key|certificate`, and
//! signatures made by model_signing (files or shards; sha256, blake2b or blake3;
//! P-256, P-384 or P-521) verify here. Ed25519 keys are an mlsec extension that
//! model_signing does not accept.
//!
//! [`sign`] and [`verify`] are the commands as library calls, returning the
//! `signature` evidence envelope.

// Library code may not index, slice or unwrap: a bad length must become an
// error, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod bundle;
pub mod cert;
mod error;
pub mod evidence_bundle;
pub mod hash;
pub mod keys;
pub mod manifest;
pub mod rules;
mod run;
pub mod statement;
pub mod walk;

pub use error::SignError;
pub use run::{
    attest_file, default_attestation, default_signature, load_credential, load_trust, sign, verify,
    verify_attestation_file, AttestOptions, AttestationDetails, KeyFiles, ManifestSummary,
    Operation, ResourceSummary, SerializationSummary, SignOptions, SignatureDetails, TrustFiles,
    VerifyAttestationOptions, VerifyOptions,
};

use bundle::{Bundle, PublicKeyIdentifier, VerificationMaterial};
use cert::CertificateInfo;
use hash::HashAlgo;
use keys::{SigningKey, VerifyingKey};
use manifest::{Diff, Manifest, Method, Serialization};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use walk::IgnorePath;

/// Paths model_signing leaves out by default, relative to the model root.
pub const GIT_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Which files make up the model.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    pub model: PathBuf,
    /// The signature file; left out of the model when it lies inside it.
    pub signature: PathBuf,
    /// Paths to leave out, relative to the current folder (or absolute); those
    /// outside the model are dropped, as model_signing does.
    pub ignore_paths: Vec<PathBuf>,
    pub ignore_git_paths: bool,
    pub allow_symlinks: bool,
}

impl ModelOptions {
    fn ignore_set(&self) -> Vec<IgnorePath> {
        let mut set: BTreeSet<IgnorePath> = BTreeSet::new();
        if std::fs::metadata(&self.model).is_ok_and(|m| m.is_dir()) {
            for p in self.ignore_paths.iter().chain([&self.signature]) {
                if let Some(rel) = IgnorePath::from_path(&self.model, p) {
                    set.insert(rel);
                }
            }
            if self.ignore_git_paths {
                set.extend(GIT_PATHS.iter().filter_map(|p| IgnorePath::parse(p).ok()));
            }
        }
        set.into_iter().collect()
    }
}

/// What signs: a key alone, or a key with its certificate chain (leaf first, DER).
pub enum Credential {
    Key(SigningKey),
    Certificate {
        key: SigningKey,
        chain: Vec<Vec<u8>>,
    },
}

impl Credential {
    fn key(&self) -> &SigningKey {
        match self {
            Credential::Key(k) | Credential::Certificate { key: k, .. } => k,
        }
    }

    /// Checks that a certificate credential's leaf holds the key's public half.
    pub fn check(&self) -> Result<(), SignError> {
        if let Credential::Certificate { key, chain } = self {
            let leaf = chain
                .first()
                .ok_or_else(|| SignError::Credential("no signing certificate".into()))?;
            let leaf = cert::parse(leaf).map_err(SignError::Credential)?;
            if cert::public_key(&leaf).map_err(SignError::Credential)? != key.verifying_key() {
                return Err(SignError::Credential(
                    "the certificate's public key does not match the private key".into(),
                ));
            }
        }
        Ok(())
    }

    fn material(&self) -> VerificationMaterial {
        use base64::Engine;
        match self {
            Credential::Key(k) => VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: Some(k.verifying_key().hint()),
                }),
                ..Default::default()
            },
            Credential::Certificate { chain, .. } => VerificationMaterial {
                x509_certificate_chain: Some(bundle::CertificateChain {
                    certificates: chain
                        .iter()
                        .map(|d| bundle::RawBytes {
                            raw_bytes: base64::engine::general_purpose::STANDARD.encode(d),
                        })
                        .collect(),
                }),
                ..Default::default()
            },
        }
    }
}

/// Who signed, as far as the verifier established.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Signer {
    /// `key` or `certificate`.
    pub method: String,
    /// `ecdsa-p256-sha256`, ..., `ed25519`.
    pub algorithm: String,
    /// Hex SHA-256 of the public key's PEM text (model_signing's key hint).
    pub key_fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateInfo>,
}

/// Hashes the model and signs its manifest; returns the manifest and the bundle.
pub fn sign_model(
    opts: &ModelOptions,
    method: Method,
    hash: HashAlgo,
    credential: &Credential,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Manifest, Bundle), SignError> {
    credential.check()?;
    let serialization = Serialization {
        method,
        hash_type: hash,
        allow_symlinks: opts.allow_symlinks,
        ignore_paths: opts.ignore_set(),
    };
    let manifest = manifest::hash_model(&opts.model, &serialization, None, progress)?;
    let payload = statement::to_payload(&manifest);
    let signature = credential
        .key()
        .sign(&bundle::pae(bundle::IN_TOTO_PAYLOAD_TYPE, &payload));
    Ok((
        manifest,
        Bundle::new(credential.material(), &payload, &signature),
    ))
}

/// What the verifier trusts.
#[derive(Clone)]
pub enum Trust {
    Key(VerifyingKey),
    /// CA certificates (DER); the bundle must carry a chain leading to one.
    Certificates(Vec<Vec<u8>>),
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::Key(k) => write!(f, "Trust::Key({} {})", k.algorithm(), k.hint()),
            Trust::Certificates(c) => write!(f, "Trust::Certificates({} CA)", c.len()),
        }
    }
}

/// Why a model did not verify.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Failure {
    /// The signature file is malformed, or not made by the trusted key.
    Signature { message: String },
    /// The local files differ from the signed manifest.
    Content { diff: Diff },
}

/// The result of verifying a model.
#[derive(Debug, Clone)]
pub struct Verification {
    pub signer: Option<Signer>,
    /// The signed manifest, once the signature checked out.
    pub manifest: Option<Manifest>,
    pub failure: Option<Failure>,
}

/// Checks the bundle's signature with `trust` and returns the signed payload.
pub fn open_bundle(bundle_bytes: &[u8], trust: &Trust) -> Result<(Vec<u8>, Signer), String> {
    let bundle = Bundle::parse(bundle_bytes)?;
    let (payload, signature) = bundle.signed_payload()?;
    let (key, method, certificate) = match trust {
        Trust::Key(key) => {
            let hint = bundle
                .verification_material
                .public_key
                .as_ref()
                .and_then(|k| k.hint.as_deref());
            if let Some(hint) = hint.filter(|h| !h.is_empty()) {
                if hint != key.hint() {
                    return Err(format!(
                        "key mismatch: the signature was made with key {hint}, the given key is {}",
                        key.hint()
                    ));
                }
            }
            (key.clone(), "key", None)
        }
        Trust::Certificates(roots) => {
            let (key, info) = cert::verify_chain(&bundle.certificates()?, roots)?;
            (key, "certificate", Some(info))
        }
    };
    if !key.verify(
        &bundle::pae(bundle::IN_TOTO_PAYLOAD_TYPE, &payload),
        &signature,
    ) {
        return Err(format!(
            "the signature does not verify with the {} key {}",
            key.algorithm(),
            key.hint()
        ));
    }
    let signer = Signer {
        method: method.into(),
        algorithm: key.algorithm().into(),
        key_fingerprint: key.hint(),
        certificate,
    };
    Ok((payload, signer))
}

/// Verifies the model at `opts.model` against the bundle at `opts.signature`.
/// I/O problems (an unreadable signature file or model) are errors; a bad
/// signature or different content is a [`Failure`].
pub fn verify_model(
    opts: &ModelOptions,
    trust: &Trust,
    ignore_unsigned_files: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Verification, SignError> {
    let meta =
        std::fs::metadata(&opts.signature).map_err(|e| SignError::io(&opts.signature, &e))?;
    if meta.len() > bundle::MAX_BUNDLE_BYTES {
        return Ok(signature_failure(format!(
            "the signature file is larger than {} MiB",
            bundle::MAX_BUNDLE_BYTES >> 20
        )));
    }
    let bytes = std::fs::read(&opts.signature).map_err(|e| SignError::io(&opts.signature, &e))?;
    let (payload, signer) = match open_bundle(&bytes, trust) {
        Ok(opened) => opened,
        Err(message) => return Ok(signature_failure(message)),
    };
    let signed = match statement::from_payload(&payload) {
        Ok(m) => m,
        Err(message) => {
            return Ok(Verification {
                signer: Some(signer),
                manifest: None,
                failure: Some(Failure::Signature { message }),
            })
        }
    };
    // Hash the way the signer did, leaving out what it left out and what we are told to.
    let mut ignore: BTreeSet<IgnorePath> =
        signed.serialization.ignore_paths.iter().cloned().collect();
    ignore.extend(opts.ignore_set());
    let serialization = Serialization {
        allow_symlinks: opts.allow_symlinks,
        ignore_paths: ignore.into_iter().collect(),
        ..signed.serialization.clone()
    };
    let only: Option<BTreeSet<String>> =
        ignore_unsigned_files.then(|| signed.resources.iter().map(|r| r.path.clone()).collect());
    let local = manifest::hash_model(&opts.model, &serialization, only.as_ref(), progress)?;
    let diff = manifest::diff(&signed, &local);
    let failure = (!diff.is_empty()).then_some(Failure::Content { diff });
    Ok(Verification {
        signer: Some(signer),
        manifest: Some(signed),
        failure,
    })
}

fn signature_failure(message: String) -> Verification {
    Verification {
        signer: None,
        manifest: None,
        failure: Some(Failure::Signature { message }),
    }
}

/// predicateType of signed mlsec evidence.
pub const EVIDENCE_PREDICATE_TYPE: &str = "https://mlsec.dev/evidence/v1";

/// Wraps an mlsec evidence document in a signed in-toto Statement: its subjects
/// (those with digests) become the statement's subjects and the whole document
/// the predicate. Without any subject digest, the subject is the document itself.
pub fn attest(evidence: &serde_json::Value, credential: &Credential) -> Result<Bundle, SignError> {
    use serde_json::json;
    if is_cyclonedx(evidence) {
        return attest_bom(evidence, credential);
    }
    if evidence.get("schema").and_then(|s| s.as_str()) != Some(mlsec_core::EVIDENCE_SCHEMA) {
        return Err(SignError::Document(format!(
            "neither an mlsec evidence document (schema {}) nor a CycloneDX BOM",
            mlsec_core::EVIDENCE_SCHEMA
        )));
    }
    let mut subjects: Vec<serde_json::Value> = evidence["subjects"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter(|s| s["digest"].as_object().is_some_and(|d| !d.is_empty()))
                .map(|s| json!({"name": s["name"], "digest": s["digest"]}))
                .collect()
        })
        .unwrap_or_default();
    if subjects.is_empty() {
        let bytes = mlsec_core::json::sorted_bytes(evidence);
        let kind = evidence["kind"].as_str().unwrap_or("evidence");
        subjects.push(json!({"name": format!("mlsec {kind} evidence"), "digest": {"sha256": hash::hex(&HashAlgo::Sha256.digest(&bytes))}}));
    }
    sign_statement(subjects, EVIDENCE_PREDICATE_TYPE, evidence, credential)
}

/// Signs an in-toto Statement v1 of `predicate_type` over `subjects`
/// (`{"name", "digest"}` objects) as a DSSE envelope in a Sigstore bundle.
pub fn sign_statement(
    subjects: Vec<serde_json::Value>,
    predicate_type: &str,
    predicate: &serde_json::Value,
    credential: &Credential,
) -> Result<Bundle, SignError> {
    credential.check()?;
    let statement = serde_json::json!({
        "_type": statement::STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": predicate_type,
        "predicate": predicate,
    });
    let payload = mlsec_core::json::sorted_bytes(&statement);
    let signature = credential
        .key()
        .sign(&bundle::pae(bundle::IN_TOTO_PAYLOAD_TYPE, &payload));
    Ok(Bundle::new(credential.material(), &payload, &signature))
}

/// Checks a bundle made by [`sign_statement`] with `trust` and returns its
/// predicate, which must be of `predicate_type`.
pub fn open_statement(
    bundle_bytes: &[u8],
    trust: &Trust,
    predicate_type: &str,
) -> Result<(serde_json::Value, Signer), String> {
    let (payload, signer) = open_bundle(bundle_bytes, trust)?;
    let statement: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|e| format!("the signed statement is not JSON: {e}"))?;
    let found = statement
        .get("predicateType")
        .unwrap_or(&serde_json::Value::Null);
    if *found != predicate_type {
        return Err(format!("predicate type {found} is not {predicate_type}"));
    }
    let predicate = statement.get("predicate").cloned().unwrap_or_default();
    Ok((predicate, signer))
}

/// Where a model's signature lives unless told otherwise: `model.sig` in the
/// model folder (beside a single-file model). `mlsec sign`, `verify` and
/// `bom` all look there, so the signature travels with the model.
pub const DEFAULT_SIGNATURE: &str = "model.sig";

/// The in-toto predicate type of a CycloneDX BOM, as the in-toto attestation
/// framework names it.
pub const CYCLONEDX_PREDICATE_TYPE: &str = "https://cyclonedx.org/bom";

fn is_cyclonedx(doc: &serde_json::Value) -> bool {
    doc.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX")
}

/// Signs a CycloneDX BOM (such as `mlsec bom` writes) as the predicate of
/// an in-toto statement. Its subject is the model the BOM describes, by the
/// SHA-256 of its metadata component, or else the BOM document's own digest.
fn attest_bom(bom: &serde_json::Value, credential: &Credential) -> Result<Bundle, SignError> {
    use serde_json::json;
    let component = bom
        .pointer("/metadata/component")
        .unwrap_or(&serde_json::Value::Null);
    let sha256 = component["hashes"].as_array().and_then(|hashes| {
        hashes
            .iter()
            .find(|h| h["alg"] == "SHA-256")
            .and_then(|h| h["content"].as_str())
    });
    let subject = match (component["name"].as_str(), sha256) {
        (Some(name), Some(digest)) => json!({"name": name, "digest": {"sha256": digest}}),
        _ => {
            let bytes = mlsec_core::json::sorted_bytes(bom);
            json!({"name": "CycloneDX BOM", "digest": {"sha256": hash::hex(&HashAlgo::Sha256.digest(&bytes))}})
        }
    };
    sign_statement(vec![subject], CYCLONEDX_PREDICATE_TYPE, bom, credential)
}

/// Checks a bundle made by [`attest`] and returns the evidence (or the
/// CycloneDX BOM) it signs, who signed it, and the predicate type.
pub fn verify_attestation(
    bundle_bytes: &[u8],
    trust: &Trust,
) -> Result<(serde_json::Value, Signer, &'static str), String> {
    let (payload, _) = open_bundle(bundle_bytes, trust)?;
    let statement: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|e| format!("the signed statement is not JSON: {e}"))?;
    let predicate_type = if statement.get("predicateType").and_then(|t| t.as_str())
        == Some(CYCLONEDX_PREDICATE_TYPE)
    {
        CYCLONEDX_PREDICATE_TYPE
    } else {
        EVIDENCE_PREDICATE_TYPE
    };
    let (predicate, signer) = open_statement(bundle_bytes, trust, predicate_type)?;
    Ok((predicate, signer, predicate_type))
}

/// Reads a file to text, naming it in errors.
pub fn read_text(path: &Path) -> Result<String, SignError> {
    std::fs::read_to_string(path).map_err(|e| SignError::io(path, &e))
}
