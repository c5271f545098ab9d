//! `mlsec sign` and `mlsec verify` as library calls: options in, a `signature`
//! evidence envelope out. Keys and certificates are loaded here too, so the
//! CLI, `mlsec check` and the gateway read them the same way.

use crate::hash::{hex, HashAlgo};
use crate::keys::{SigningKey, VerifyingKey};
use crate::manifest::{resource_table, Diff, Manifest, Method};
use crate::{cert, read_text, rules, Credential, Failure, ModelOptions, Trust};
use mlsec_core::{output, Evidence, Finding, Severity, Subject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the signature of `model` goes unless told otherwise:
/// [`DEFAULT_SIGNATURE`](crate::DEFAULT_SIGNATURE) in the model folder, or
/// beside a single-file model.
pub fn default_signature(model: &Path) -> PathBuf {
    let folder = if model.is_dir() {
        model
    } else {
        model.parent().unwrap_or(Path::new(""))
    };
    folder.join(crate::DEFAULT_SIGNATURE)
}

/// The files a signing credential is read from.
#[derive(Debug, Clone, Default)]
pub struct KeyFiles {
    /// The private key (PEM, PKCS#8 or SEC1; encrypted PKCS#8 with `password`).
    pub key: Option<PathBuf>,
    pub password: Option<String>,
    /// The signing certificate (PEM), for certificate-based signing.
    pub certificate: Option<PathBuf>,
    /// The rest of its chain (PEM files), leaf side first.
    pub certificate_chain: Vec<PathBuf>,
}

/// Reads a signing key, and its certificate chain when one is given, and
/// checks that the certificate holds the key. Errors name the file.
pub fn load_credential(k: &KeyFiles) -> Result<Credential, String> {
    let path = k.key.as_ref().ok_or("give --key PRIVATE.pem to sign")?;
    let key = SigningKey::from_pem(&read_text(path)?, k.password.as_deref())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(cert_path) = &k.certificate else {
        return Ok(Credential::Key(key));
    };
    let mut chain = Vec::new();
    for path in std::iter::once(cert_path).chain(&k.certificate_chain) {
        let certs = cert::pem_certificates(&read_text(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        chain.extend(certs);
    }
    let credential = Credential::Certificate { key, chain };
    credential
        .check()
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    Ok(credential)
}

/// The files trust is read from: a public key, or CA certificates.
#[derive(Debug, Clone, Default)]
pub struct TrustFiles {
    pub key: Option<PathBuf>,
    pub certificate_chain: Vec<PathBuf>,
}

/// Reads what to trust when verifying. Errors name the file.
pub fn load_trust(t: &TrustFiles) -> Result<Trust, String> {
    if let Some(path) = &t.key {
        let key = VerifyingKey::from_pem(&read_text(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(Trust::Key(key));
    }
    if t.certificate_chain.is_empty() {
        return Err("give --key PUBLIC.pem or --certificate-chain CA.pem to verify".into());
    }
    let mut roots = Vec::new();
    for path in &t.certificate_chain {
        roots.extend(
            cert::pem_certificates(&read_text(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    Ok(Trust::Certificates(roots))
}

/// `details` of a `signature` evidence envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignatureDetails {
    /// `sign` or `verify`.
    pub operation: String,
    /// Whether the model verified; `null` for `sign`.
    pub verified: Option<bool>,
    /// The signature file.
    pub signature: String,
    /// `method`, `algorithm`, `key_fingerprint` and, for certificates, the leaf.
    pub signer: Option<Value>,
    /// The signed manifest: root digest, serialization, resources.
    pub manifest: Option<Value>,
    /// `verify` only: why it failed (`null` when it did not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Value>,
}

/// What to sign, and how.
#[derive(Debug, Clone)]
pub struct SignOptions {
    pub model: ModelOptions,
    pub method: Method,
    pub hash: HashAlgo,
}

/// Signs the model, writes the signature atomically to
/// `options.model.signature`, and returns the `signature` evidence.
pub fn sign(
    options: &SignOptions,
    credential: &Credential,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Evidence, String> {
    let opts = &options.model;
    let (manifest, bundle) =
        crate::sign_model(opts, options.method, options.hash, credential, progress)?;
    output::write_atomic(&opts.signature, &bundle.to_json())
        .map_err(|e| format!("{}: {e}", opts.signature.display()))?;
    let key = credential.key().verifying_key();
    let details = SignatureDetails {
        operation: "sign".into(),
        verified: None,
        signature: opts.signature.display().to_string(),
        signer: Some(json!({
            "method": if matches!(credential, Credential::Key(_)) { "key" } else { "certificate" },
            "algorithm": key.algorithm(),
            "key_fingerprint": key.hint(),
        })),
        manifest: Some(manifest_json(&manifest)),
        failure: None,
    };
    Ok(Evidence::new(
        "signature",
        vec![model_subject(&opts.model, Some(&manifest))],
        Vec::new(),
        Severity::High,
        details_value(&details),
    ))
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub model: ModelOptions,
    /// Files in the model that the signature does not cover are not findings.
    pub ignore_unsigned_files: bool,
}

/// Verifies the model against its signature and returns the `signature`
/// evidence: a bad signature or any changed, missing, unsigned or renamed
/// file is a finding. Errors are for what stops the check itself (no
/// signature file, an unreadable model).
pub fn verify(
    options: &VerifyOptions,
    trust: &Trust,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Evidence, String> {
    let opts = &options.model;
    let result = crate::verify_model(opts, trust, options.ignore_unsigned_files, progress)?;
    let subject = opts.model.display().to_string();
    let findings = match &result.failure {
        None => Vec::new(),
        Some(Failure::Signature { message }) => vec![Finding::new(
            &rules::SIGNATURE_INVALID,
            &subject,
            message.clone(),
        )],
        Some(Failure::Content { diff }) => diff_findings(&subject, diff),
    };
    let details = SignatureDetails {
        operation: "verify".into(),
        verified: Some(result.failure.is_none()),
        signature: opts.signature.display().to_string(),
        signer: result.signer.as_ref().map(|s| json!(s)),
        manifest: result.manifest.as_ref().map(manifest_json),
        failure: Some(json!(result.failure)),
    };
    Ok(Evidence::new(
        "signature",
        vec![model_subject(&opts.model, result.manifest.as_ref())],
        findings,
        Severity::High,
        details_value(&details),
    ))
}

fn details_value(details: &SignatureDetails) -> Value {
    // Plain strings, options and JSON values: serializing cannot fail.
    serde_json::to_value(details).unwrap_or(Value::Null)
}

fn model_subject(model: &Path, manifest: Option<&Manifest>) -> Subject {
    let mut digest = BTreeMap::new();
    if let Some(m) = manifest {
        digest.insert("sha256".to_string(), hex(&m.root_digest()));
    }
    Subject {
        name: model.display().to_string(),
        digest,
    }
}

fn manifest_json(m: &Manifest) -> Value {
    let s = &m.serialization;
    let (method, shard_size) = match s.method {
        Method::Files => ("files", None),
        Method::Shards { shard_size } => ("shards", Some(shard_size)),
    };
    json!({
        "root_digest": {"sha256": hex(&m.root_digest())},
        "serialization": {
            "method": method,
            "hash_type": s.hash_type.as_str(),
            "shard_size": shard_size,
            "allow_symlinks": s.allow_symlinks,
            "ignore_paths": s.ignore_paths.iter().map(|p| p.as_posix()).collect::<Vec<_>>(),
        },
        "resources": resource_table(m),
    })
}

/// One finding per file that differs from the signed manifest, located at the file.
fn diff_findings(subject: &str, diff: &Diff) -> Vec<Finding> {
    let at = |rule, member: &str, message: String| {
        Finding::new(rule, subject, message).at(Some(member), None)
    };
    let mut out = Vec::new();
    for path in &diff.changed {
        let message = format!("{path}: content differs from the signed digest");
        out.push(at(&rules::FILE_CHANGED, path, message));
    }
    for path in &diff.algorithm_mismatch {
        let message = format!("{path}: hashed with other parameters than signed");
        out.push(at(&rules::FILE_CHANGED, path, message));
    }
    for path in &diff.missing {
        out.push(at(
            &rules::FILE_MISSING,
            path,
            format!("{path}: signed but missing"),
        ));
    }
    for path in &diff.extra {
        let message = format!("{path}: not covered by the signature");
        out.push(at(&rules::FILE_UNSIGNED, path, message));
    }
    for (old, new) in &diff.renamed {
        out.push(
            at(
                &rules::FILE_RENAMED,
                new,
                format!("{old}: renamed to {new}"),
            )
            .with_evidence(json!({"signed_name": old, "local_name": new})),
        );
    }
    out
}
