//! `mlsec data manifest`, `data verify`, `data pii` and `data redact` as
//! library calls: options in, an evidence envelope out.

use crate::detectors::PiiDetector;
use crate::manifest::{Manifest, ManifestOptions};
use crate::redact::{Redactor, Strategy};
use crate::verify::FileReport;
use crate::{signing, DatasetError, ReadOptions};
use mlsec_core::render::{FileLine, Tabulate};
use mlsec_core::{output, Evidence, Finding, Subject};
use mlsec_sign::{Credential, Signer, Trust};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What `data manifest` pins, and where it writes.
pub struct ManifestWriteOptions {
    /// Data files and folders.
    pub paths: Vec<PathBuf>,
    pub manifest: ManifestOptions,
    /// The manifest file; `None` writes it to standard output.
    pub output: Option<PathBuf>,
    /// Signs the manifest; needs `output` or `signature`.
    pub credential: Option<Credential>,
    /// Where the signature goes (default: the manifest's path + `.sig`).
    pub signature: Option<PathBuf>,
}

/// `details` of a `data.manifest` evidence envelope.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ManifestDetails {
    /// The manifest file; `null` when it went to standard output.
    pub manifest: Option<String>,
    /// The signature file, when signed.
    pub signature: Option<String>,
    pub files: usize,
    /// Table rows pinned, over all files.
    pub rows: u64,
    /// Malformed rows skipped (with `skip_bad_rows`), per file.
    pub skipped: BTreeMap<String, u64>,
}

/// Builds the manifest of `options.paths`, signs it when a credential is
/// given (before anything is written, so a bad key leaves nothing behind),
/// and writes both atomically. The evidence's subjects are the pinned files;
/// skipped rows are findings.
pub fn write_manifest(options: &ManifestWriteOptions) -> Result<Evidence, DatasetError> {
    let (manifest, skipped) = crate::manifest::build(&options.paths, &options.manifest)?;
    let bytes = manifest.to_bytes();
    let signed = match &options.credential {
        None => None,
        Some(credential) => {
            let path = options
                .signature
                .clone()
                .or_else(|| options.output.as_deref().map(signing::default_signature))
                .ok_or_else(|| {
                    DatasetError::Usage(
                        "--key needs -o FILE or --signature FILE to name where the signature goes"
                            .into(),
                    )
                })?;
            Some((path, signing::sign_manifest(&manifest, &bytes, credential)?))
        }
    };
    output::emit(options.output.as_deref(), &bytes).map_err(|e| match &options.output {
        Some(p) => DatasetError::write(p, e),
        None => DatasetError::Environment(format!("standard output: {e}")),
    })?;
    if let Some((path, bundle)) = &signed {
        output::write_atomic(path, &bundle.to_json()).map_err(|e| DatasetError::io(path, &e))?;
    }
    let subjects = manifest
        .files
        .iter()
        .map(|f| Subject {
            name: f.path.clone(),
            digest: [("sha256".to_string(), f.sha256.clone())].into(),
        })
        .collect();
    let findings = skipped
        .iter()
        .map(|(file, s)| crate::verify::skipped_finding(file, s))
        .collect();
    let details = ManifestDetails {
        manifest: options.output.as_ref().map(|p| p.display().to_string()),
        signature: signed.as_ref().map(|(p, _)| p.display().to_string()),
        files: manifest.files.len(),
        rows: manifest
            .files
            .iter()
            .filter_map(|f| f.table.as_ref())
            .map(|t| t.rows)
            .sum(),
        skipped: skipped.iter().map(|(f, s)| (f.clone(), s.count)).collect(),
    };
    Ok(Evidence::new(
        "data.manifest",
        subjects,
        findings,
        to_value(&details)?,
    ))
}

/// What `data verify` checks.
pub struct DatasetVerifyOptions {
    /// Data files and folders, given as they were to `data manifest`.
    pub paths: Vec<PathBuf>,
    /// The manifest file.
    pub manifest: PathBuf,
    /// The manifest's signature (default: the manifest's path + `.sig`).
    pub signature: Option<PathBuf>,
    /// Check the signature with this; without it the signature is not checked.
    pub trust: Option<Trust>,
    pub read: ReadOptions,
    /// Files to leave out besides the manifest (e.g. the report being written).
    pub exclude: Vec<PathBuf>,
}

/// `details` of a `data.integrity` evidence envelope.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct IntegrityDetails {
    /// The manifest's path and its own header.
    pub manifest: ManifestHeader,
    /// Whether and how the manifest's signature was checked.
    pub signature: SignatureCheck,
    /// No file, row or schema differs.
    pub identical: bool,
    pub files: Vec<FileReport>,
}

/// The manifest a dataset was checked against.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ManifestHeader {
    pub path: String,
    /// When the manifest was made (RFC 3339).
    pub created: String,
    /// Where the data came from, as recorded.
    pub source: Option<String>,
    /// The tool that made it.
    pub tool: mlsec_core::Tool,
}

/// The check of a manifest's signature.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SignatureCheck {
    /// False when no key or CA was given.
    pub checked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<Signer>,
    /// Why the signature was not accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Verifies datasets against a manifest (and its signature when `trust` is
/// given). Differences are findings; errors are for what stops the check.
pub fn verify_dataset(options: &DatasetVerifyOptions) -> Result<Evidence, DatasetError> {
    let path = &options.manifest;
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, &e))?;
    let manifest = Manifest::from_bytes(&bytes).map_err(|reason| DatasetError::Manifest {
        path: path.clone(),
        reason,
    })?;
    let signature_file = options
        .signature
        .clone()
        .unwrap_or_else(|| signing::default_signature(path));
    let checked = options
        .trust
        .as_ref()
        .map(|trust| signing::check_signature(&bytes, &signature_file, trust));
    let mut exclude = vec![path.clone()];
    exclude.extend(options.exclude.iter().cloned());
    let verify_options = crate::verify::VerifyOptions {
        read: options.read.clone(),
        exclude,
    };
    let mut result = crate::verify::verify(&manifest, &options.paths, &verify_options)?;
    let manifest_name = path.display().to_string();
    let signature = match checked {
        None => SignatureCheck {
            checked: false,
            verified: None,
            path: None,
            signer: None,
            reason: None,
        },
        Some(Ok(signer)) => SignatureCheck {
            checked: true,
            verified: Some(true),
            path: Some(signature_file),
            signer: Some(signer),
            reason: None,
        },
        Some(Err(why)) => {
            result.findings.insert(
                0,
                Finding::new(
                    &crate::rules::MANIFEST_SIGNATURE_INVALID,
                    &manifest_name,
                    format!("{manifest_name}: signature not accepted: {why}"),
                ),
            );
            SignatureCheck {
                checked: true,
                verified: Some(false),
                path: Some(signature_file),
                signer: None,
                reason: Some(why),
            }
        }
    };
    let details = IntegrityDetails {
        manifest: ManifestHeader {
            path: manifest_name,
            created: manifest.created,
            source: manifest.source,
            tool: manifest.tool,
        },
        signature,
        identical: result.identical(),
        files: result.files,
    };
    Ok(Evidence::new(
        "data.integrity",
        result.subjects,
        result.findings,
        to_value(&details)?,
    ))
}

/// What `data pii` scans.
#[derive(Debug, Clone)]
pub struct PiiOptions {
    /// Data files and folders (folders are walked).
    pub paths: Vec<PathBuf>,
    /// Entity names to look for; empty for all.
    pub entities: Vec<String>,
    pub read: ReadOptions,
    /// Findings listed per file, column and entity (the rest are counted); 0 lists all.
    pub max_findings: usize,
}

/// `details` of a `data.pii` evidence envelope.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PiiDetails {
    pub files: Vec<PiiFile>,
    /// Findings counted per entity, over all files.
    pub entities: BTreeMap<String, u64>,
    pub max_findings: usize,
}

/// One file of a `data.pii` scan.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PiiFile {
    pub path: String,
    pub format: Option<crate::DataFormat>,
    pub bytes: u64,
    /// Findings counted (listed or not).
    pub findings: u64,
    /// Findings listed in the envelope (see `max_findings`).
    pub listed: usize,
    pub counts: Vec<PiiCount>,
    /// `clean`, `suspicious` (something found) or `error` (not read to its end).
    pub verdict: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PiiCount {
    /// The table column; `null` for text.
    pub column: Option<String>,
    pub entity: String,
    pub count: u64,
}

/// Finds personal data and secrets in the files under `options.paths`.
pub fn scan_pii(options: &PiiOptions) -> Result<Evidence, DatasetError> {
    let detector = PiiDetector::for_entities(&options.entities)?;
    let scans = crate::pii::scan_paths(
        &options.paths,
        &detector,
        &options.read,
        options.max_findings,
    )?;
    let findings = crate::pii::findings(&scans);
    let subjects = scans
        .iter()
        .map(|s| Subject {
            name: s.path.clone(),
            digest: Default::default(),
        })
        .collect();
    let mut entities: BTreeMap<String, u64> = BTreeMap::new();
    for s in &scans {
        for ((_, entity), n) in &s.counts {
            *entities.entry(entity.clone()).or_default() += n;
        }
    }
    let files = scans
        .iter()
        .map(|s| PiiFile {
            path: s.path.clone(),
            format: s.format,
            bytes: s.bytes,
            findings: s.counts.values().sum(),
            listed: s.hits.len(),
            counts: s
                .counts
                .iter()
                .map(|((column, entity), n)| PiiCount {
                    column: (!column.is_empty()).then(|| column.clone()),
                    entity: entity.clone(),
                    count: *n,
                })
                .collect(),
            verdict: if s.error.is_some() {
                "error"
            } else if s.hits.is_empty() {
                "clean"
            } else {
                "suspicious"
            }
            .into(),
        })
        .collect();
    let details = PiiDetails {
        files,
        entities,
        max_findings: options.max_findings,
    };
    Ok(Evidence::new(
        "data.pii",
        subjects,
        findings,
        to_value(&details)?,
    ))
}

/// What `data redact` redacts, and how.
#[derive(Debug, Clone)]
pub struct RedactOptions {
    /// The data file to redact.
    pub input: PathBuf,
    /// Where the redacted copy goes (written atomically; never the input).
    pub output: PathBuf,
    pub strategy: Strategy,
    /// Entity names to redact; empty for all.
    pub entities: Vec<String>,
    pub read: ReadOptions,
}

/// Writes a redacted copy of `options.input` and returns the `data.redact`
/// evidence: the input and output as subjects, the counts as details.
pub fn redact(options: &RedactOptions) -> Result<Evidence, DatasetError> {
    let detector = PiiDetector::for_entities(&options.entities)?;
    let redactor = Redactor::new(&detector, options.strategy)?;
    let report =
        crate::redact::redact_file(&options.input, &options.output, &redactor, &options.read)?;
    let subjects = [&report.input, &report.output]
        .into_iter()
        .map(|name| Subject {
            name: name.clone(),
            digest: Default::default(),
        })
        .collect();
    Ok(Evidence::new(
        "data.redact",
        subjects,
        Vec::new(),
        to_value(&report)?,
    ))
}

fn to_value(details: &impl Serialize) -> Result<Value, DatasetError> {
    serde_json::to_value(details).map_err(|e| DatasetError::Internal(e.to_string()))
}

impl Tabulate for IntegrityDetails {
    fn files(&self) -> Vec<FileLine<'_>> {
        self.files
            .iter()
            .map(|f| FileLine {
                path: &f.path,
                verdict: &f.verdict,
                format: "",
                judged: true,
            })
            .collect()
    }
}

impl Tabulate for PiiDetails {
    fn files(&self) -> Vec<FileLine<'_>> {
        self.files
            .iter()
            .map(|f| FileLine {
                path: &f.path,
                verdict: &f.verdict,
                format: f.format.map_or("", |f| f.as_str()),
                judged: true,
            })
            .collect()
    }
}
