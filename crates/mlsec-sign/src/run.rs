//! `mlsec sign` and `mlsec verify` as library calls: options in, a `signature`
//! evidence envelope out. Keys and certificates are loaded here too, so the
//! CLI, `mlsec check` and the gateway read them the same way.

use crate::hash::{hex, HashAlgo};
use crate::keys::{SigningKey, VerifyingKey};
use crate::manifest::{Diff, Manifest, Method};
use crate::{cert, read_text, rules, Credential, Failure, ModelOptions, SignError, Signer, Trust};
use mlsec_core::{output, Evidence, Finding, Subject};
use schemars::JsonSchema;
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
pub fn load_credential(k: &KeyFiles) -> Result<Credential, SignError> {
    let path = k
        .key
        .as_ref()
        .ok_or_else(|| SignError::Usage("give --key PRIVATE.pem to sign".into()))?;
    let key = SigningKey::from_pem(&read_text(path)?, k.password.as_deref())
        .map_err(|e| SignError::credential(path, e))?;
    let Some(cert_path) = &k.certificate else {
        return Ok(Credential::Key(key));
    };
    let mut chain = Vec::new();
    for path in std::iter::once(cert_path).chain(&k.certificate_chain) {
        let certs = cert::pem_certificates(&read_text(path)?)
            .map_err(|e| SignError::credential(path, e))?;
        chain.extend(certs);
    }
    let credential = Credential::Certificate { key, chain };
    credential
        .check()
        .map_err(|e| SignError::credential(cert_path, e))?;
    Ok(credential)
}

/// The files trust is read from: a public key, or CA certificates.
#[derive(Debug, Clone, Default)]
pub struct TrustFiles {
    pub key: Option<PathBuf>,
    pub certificate_chain: Vec<PathBuf>,
}

/// Reads what to trust when verifying. Errors name the file.
pub fn load_trust(t: &TrustFiles) -> Result<Trust, SignError> {
    if let Some(path) = &t.key {
        let key = VerifyingKey::from_pem(&read_text(path)?)
            .map_err(|e| SignError::credential(path, e))?;
        return Ok(Trust::Key(key));
    }
    if t.certificate_chain.is_empty() {
        return Err(SignError::Usage(
            "give --key PUBLIC.pem or --certificate-chain CA.pem to verify".into(),
        ));
    }
    let mut roots = Vec::new();
    for path in &t.certificate_chain {
        roots.extend(
            cert::pem_certificates(&read_text(path)?)
                .map_err(|e| SignError::credential(path, e))?,
        );
    }
    Ok(Trust::Certificates(roots))
}

/// Whether an envelope records signing or verifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Sign,
    Verify,
}

/// `details` of a `signature` evidence envelope (`mlsec sign`, `mlsec verify`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SignatureDetails {
    pub operation: Operation,
    /// Whether the model verified; `null` for `sign`.
    pub verified: Option<bool>,
    /// The signature file.
    pub signature: String,
    /// Who signed; for `verify`, `null` when the signature could not be opened.
    pub signer: Option<Signer>,
    /// The signed manifest; for `verify`, `null` when the signature did not check out.
    pub manifest: Option<ManifestSummary>,
    /// `verify` only: why it failed (`null` when it did not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// The signed manifest, as shown in evidence.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ManifestSummary {
    /// `{"sha256": hex}` over the resources' digests, as model_signing computes it.
    pub root_digest: BTreeMap<String, String>,
    pub serialization: SerializationSummary,
    pub resources: Vec<ResourceSummary>,
}

/// How the model was hashed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SerializationSummary {
    /// `files` or `shards`.
    pub method: String,
    /// `sha256`, `blake2b` or `blake3`.
    pub hash_type: String,
    /// Bytes per shard, for `shards`.
    pub shard_size: Option<u64>,
    pub allow_symlinks: bool,
    /// Paths left out of the signature, relative to the model.
    pub ignore_paths: Vec<String>,
}

/// One signed file or shard.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ResourceSummary {
    /// The file's path in the model (`path:start:end` for a shard).
    pub name: String,
    pub algorithm: String,
    /// Lowercase hex.
    pub digest: String,
}

impl SignatureDetails {
    /// The typed details of a `signature` envelope.
    pub fn of(evidence: &Evidence) -> Result<SignatureDetails, SignError> {
        serde_json::from_value(evidence.details.clone())
            .map_err(|e| SignError::Internal(format!("signature details: {e}")))
    }
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
) -> Result<Evidence, SignError> {
    if matches!(options.method, Method::Shards { shard_size: 0 }) {
        return Err(SignError::Usage("--shard-size must be at least 1".into()));
    }
    if options.hash == HashAlgo::Blake3 && matches!(options.method, Method::Shards { .. }) {
        return Err(SignError::Usage("--shard-size does not go with --hash blake3 (model_signing hashes blake3 per file; it uses all cores already)".into()));
    }
    let opts = &options.model;
    let (manifest, bundle) =
        crate::sign_model(opts, options.method, options.hash, credential, progress)?;
    output::write_atomic(&opts.signature, &bundle.to_json())
        .map_err(|e| SignError::io(&opts.signature, &e))?;
    let details = SignatureDetails {
        operation: Operation::Sign,
        verified: None,
        signature: opts.signature.display().to_string(),
        signer: Some(signer_of(credential)),
        manifest: Some(manifest_summary(&manifest)),
        failure: None,
    };
    Ok(Evidence::new(
        "signature",
        vec![model_subject(&opts.model, Some(&manifest))],
        Vec::new(),
        to_value(&details)?,
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
) -> Result<Evidence, SignError> {
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
        operation: Operation::Verify,
        verified: Some(result.failure.is_none()),
        signature: opts.signature.display().to_string(),
        signer: result.signer.clone(),
        manifest: result.manifest.as_ref().map(manifest_summary),
        failure: result.failure.clone(),
    };
    Ok(Evidence::new(
        "signature",
        vec![model_subject(&opts.model, result.manifest.as_ref())],
        findings,
        to_value(&details)?,
    ))
}

/// `details` of an `attestation` evidence envelope (`mlsec attest`,
/// `mlsec verify-attestation`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AttestationDetails {
    pub operation: Operation,
    /// The Sigstore bundle holding the signed in-toto statement.
    pub bundle: String,
    /// The evidence (or CycloneDX BOM) file signed, or compared with the signed one.
    pub document: Option<String>,
    /// The statement's predicate type: mlsec evidence or a CycloneDX BOM.
    pub predicate_type: Option<String>,
    /// Whether the bundle verified; `null` for `attest`.
    pub verified: Option<bool>,
    /// Who signed; `null` when the bundle could not be opened.
    pub signer: Option<Signer>,
    /// `verify` only: why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// `verify` only: the signed document, once the signature checked out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<Value>,
}

impl AttestationDetails {
    /// The typed details of an `attestation` envelope.
    pub fn of(evidence: &Evidence) -> Result<AttestationDetails, SignError> {
        serde_json::from_value(evidence.details.clone())
            .map_err(|e| SignError::Internal(format!("attestation details: {e}")))
    }
}

/// What to attest.
#[derive(Debug, Clone)]
pub struct AttestOptions {
    /// An mlsec evidence file or a CycloneDX BOM (JSON).
    pub document: PathBuf,
    /// Where the bundle goes (default: the document's path + `.sig`).
    pub bundle: Option<PathBuf>,
}

/// Where the attestation of `document` goes unless told otherwise.
pub fn default_attestation(document: &Path) -> PathBuf {
    let mut p = document.as_os_str().to_owned();
    p.push(".sig");
    PathBuf::from(p)
}

/// Signs an evidence file or BOM as an in-toto statement, writes the bundle
/// atomically, and returns the `attestation` evidence; its subjects are the
/// statement's.
pub fn attest_file(
    options: &AttestOptions,
    credential: &Credential,
) -> Result<Evidence, SignError> {
    let document = &options.document;
    let doc: Value = serde_json::from_str(&read_text(document)?)
        .map_err(|e| SignError::Document(format!("{}: not JSON: {e}", document.display())))?;
    let bundle = crate::attest(&doc, credential).map_err(|e| match e {
        SignError::Document(why) => SignError::Document(format!("{}: {why}", document.display())),
        e => e,
    })?;
    let out = options
        .bundle
        .clone()
        .unwrap_or_else(|| default_attestation(document));
    output::write_atomic(&out, &bundle.to_json()).map_err(|e| SignError::io(&out, &e))?;
    let (payload, _) = bundle
        .signed_payload()
        .map_err(|e| SignError::Internal(format!("the bundle just made: {e}")))?;
    let statement: Value = serde_json::from_slice(&payload)
        .map_err(|e| SignError::Internal(format!("the statement just made: {e}")))?;
    let details = AttestationDetails {
        operation: Operation::Sign,
        bundle: out.display().to_string(),
        document: Some(document.display().to_string()),
        predicate_type: statement
            .get("predicateType")
            .and_then(Value::as_str)
            .map(str::to_string),
        verified: None,
        signer: Some(signer_of(credential)),
        failure: None,
        signed: None,
    };
    Ok(Evidence::new(
        "attestation",
        statement_subjects(&statement),
        Vec::new(),
        to_value(&details)?,
    ))
}

/// What to check.
#[derive(Debug, Clone)]
pub struct VerifyAttestationOptions {
    /// The bundle `attest` wrote.
    pub bundle: PathBuf,
    /// The document it should sign, compared with the signed one when given.
    pub document: Option<PathBuf>,
}

/// Checks an attestation bundle with `trust` and returns the `attestation`
/// evidence: a bundle that does not verify, or a local document that differs
/// from the signed one, is a finding; the signed document is in the details.
/// Errors are for what stops the check (a missing bundle or document).
pub fn verify_attestation_file(
    options: &VerifyAttestationOptions,
    trust: &Trust,
) -> Result<Evidence, SignError> {
    let path = &options.bundle;
    let name = path.display().to_string();
    let mut details = AttestationDetails {
        operation: Operation::Verify,
        bundle: name.clone(),
        document: options.document.as_ref().map(|d| d.display().to_string()),
        predicate_type: None,
        verified: Some(false),
        signer: None,
        failure: None,
        signed: None,
    };
    if starts_as_tar(path) {
        return verify_evidence_bundle(options, trust, details);
    }
    // Read within the bundle size limit: an oversized file is refused, not
    // held in memory, and is a bad signature; a missing one is an error.
    let opened = match crate::bundle::read_file(path) {
        Ok(bytes) => {
            crate::verify_attestation(&bytes, trust).map_err(|why| format!("{name}: {why}"))
        }
        Err(e) if path.is_file() => Err(e),
        Err(_) => {
            let e = std::fs::metadata(path)
                .err()
                .unwrap_or_else(|| std::io::Error::other("not a regular file"));
            return Err(SignError::io(path, &e));
        }
    };
    let (signed, signer, predicate_type) = match opened {
        Ok(v) => v,
        Err(why) => {
            let finding = Finding::new(&rules::SIGNATURE_INVALID, &name, why.clone());
            details.failure = Some(why);
            return Ok(Evidence::new(
                "attestation",
                Vec::new(),
                vec![finding],
                to_value(&details)?,
            ));
        }
    };
    let mut findings = Vec::new();
    if let Some(document) = &options.document {
        let local: Value = serde_json::from_str(&read_text(document)?)
            .map_err(|e| SignError::Document(format!("{}: not JSON: {e}", document.display())))?;
        if local != signed {
            let why = format!(
                "{} differs from the signed document in {name}",
                document.display()
            );
            findings.push(
                Finding::new(&rules::FILE_CHANGED, &name, why.clone())
                    .at(Some(&document.display().to_string()), None),
            );
            details.failure = Some(why);
        }
    }
    details.verified = Some(findings.is_empty());
    details.signer = Some(signer);
    details.predicate_type = Some(predicate_type.to_string());
    let subjects = signed_subjects(&signed);
    details.signed = Some(signed);
    Ok(Evidence::new(
        "attestation",
        subjects,
        findings,
        to_value(&details)?,
    ))
}

/// Whether the file at `path` begins as a tar archive (an evidence bundle of
/// `mlsec check --bundle`) rather than a Sigstore bundle.
fn starts_as_tar(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|f| f.take(512).read(&mut head))
        .unwrap_or(0);
    head.get(..n).is_some_and(crate::evidence_bundle::is_tar)
}

/// `verify-attestation` of an evidence bundle: the signature, then every
/// member against the signed digests.
fn verify_evidence_bundle(
    options: &VerifyAttestationOptions,
    trust: &Trust,
    mut details: AttestationDetails,
) -> Result<Evidence, SignError> {
    if options.document.is_some() {
        return Err(SignError::Document(format!(
            "{}: an evidence bundle holds its documents; --document compares a single attested file",
            options.bundle.display()
        )));
    }
    let verified = crate::evidence_bundle::verify(&options.bundle, trust)?;
    details.predicate_type = Some(crate::evidence_bundle::BUNDLE_PREDICATE_TYPE.to_string());
    details.verified = Some(verified.findings.is_empty());
    details.failure = verified.findings.first().map(|f| f.message.clone());
    if let Some((predicate, signer)) = verified.signed {
        details.signer = Some(signer);
        details.signed = Some(predicate);
    }
    Ok(Evidence::new(
        "attestation",
        verified.subjects,
        verified.findings,
        to_value(&details)?,
    ))
}

/// The in-toto statement's subjects as evidence subjects.
fn statement_subjects(statement: &Value) -> Vec<Subject> {
    serde_json::from_value(statement["subject"].clone()).unwrap_or_default()
}

/// The subjects of a signed document: an envelope's own, or a BOM's model.
fn signed_subjects(doc: &Value) -> Vec<Subject> {
    match doc.get("subjects") {
        Some(s) => serde_json::from_value(s.clone()).unwrap_or_default(),
        None => doc
            .pointer("/metadata/component/name")
            .and_then(Value::as_str)
            .map(|name| {
                vec![Subject {
                    name: name.to_string(),
                    digest: Default::default(),
                }]
            })
            .unwrap_or_default(),
    }
}

/// Who signs, as the evidence of `sign` and `attest` records it.
fn signer_of(credential: &Credential) -> Signer {
    let key = credential.key().verifying_key();
    Signer {
        method: match credential {
            Credential::Key(_) => "key",
            Credential::Certificate { .. } => "certificate",
        }
        .into(),
        algorithm: key.algorithm().into(),
        key_fingerprint: key.hint(),
        certificate: None,
    }
}

fn to_value(details: &impl Serialize) -> Result<Value, SignError> {
    serde_json::to_value(details).map_err(|e| SignError::Internal(e.to_string()))
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

fn manifest_summary(m: &Manifest) -> ManifestSummary {
    let s = &m.serialization;
    let (method, shard_size) = match s.method {
        Method::Files => ("files", None),
        Method::Shards { shard_size } => ("shards", Some(shard_size)),
    };
    ManifestSummary {
        root_digest: [("sha256".to_string(), hex(&m.root_digest()))].into(),
        serialization: SerializationSummary {
            method: method.into(),
            hash_type: s.hash_type.as_str().into(),
            shard_size,
            allow_symlinks: s.allow_symlinks,
            ignore_paths: s.ignore_paths.iter().map(|p| p.as_posix()).collect(),
        },
        resources: m
            .resources
            .iter()
            .map(|r| ResourceSummary {
                name: r.name(),
                algorithm: r.algorithm.clone(),
                digest: hex(&r.digest),
            })
            .collect(),
    }
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
