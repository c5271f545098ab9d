//! `mlsec data verify`, `data pii` and `data redact` as library calls:
//! options in, an evidence envelope out.

use crate::detectors::PiiDetector;
use crate::manifest::Manifest;
use crate::redact::RedactReport;
use crate::verify::FileReport;
use crate::{signing, ReadOptions};
use mlsec_core::{Evidence, Finding, Severity, Subject};
use mlsec_sign::Trust;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    pub fail_on: Severity,
}

/// `details` of a `data.integrity` evidence envelope.
#[derive(Debug, Serialize, Deserialize)]
pub struct IntegrityDetails {
    /// The manifest's path and its own header (created, source, tool).
    pub manifest: Value,
    /// `checked`, and when checked `verified`, `path` and `signer` or `reason`.
    pub signature: Value,
    /// No file, row or schema differs.
    pub identical: bool,
    pub files: Vec<FileReport>,
}

/// Verifies datasets against a manifest (and its signature when `trust` is
/// given). Differences are findings; errors are for what stops the check.
pub fn verify_dataset(options: &DatasetVerifyOptions) -> Result<Evidence, String> {
    let path = &options.manifest;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let manifest = Manifest::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
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
    let signature = match &checked {
        None => json!({"checked": false}),
        Some(Ok(signer)) => {
            json!({"checked": true, "verified": true, "path": signature_file, "signer": signer})
        }
        Some(Err(why)) => {
            result.findings.insert(
                0,
                Finding::new(
                    &crate::rules::MANIFEST_SIGNATURE_INVALID,
                    &manifest_name,
                    format!("{manifest_name}: signature not accepted: {why}"),
                ),
            );
            json!({"checked": true, "verified": false, "path": signature_file, "reason": why})
        }
    };
    let details = IntegrityDetails {
        manifest: json!({
            "path": manifest_name,
            "created": manifest.created,
            "source": manifest.source,
            "tool": manifest.tool,
        }),
        signature,
        identical: result.identical(),
        files: result.files,
    };
    Ok(Evidence::new(
        "data.integrity",
        result.subjects,
        result.findings,
        options.fail_on,
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
    pub fail_on: Severity,
}

/// `details` of a `data.pii` evidence envelope.
#[derive(Debug, Serialize, Deserialize)]
pub struct PiiDetails {
    pub files: Vec<PiiFile>,
    /// Findings counted per entity, over all files.
    pub entities: BTreeMap<String, u64>,
    pub max_findings: usize,
}

/// One file of a `data.pii` scan.
#[derive(Debug, Serialize, Deserialize)]
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

#[derive(Debug, Serialize, Deserialize)]
pub struct PiiCount {
    /// The table column; `null` for text.
    pub column: Option<String>,
    pub entity: String,
    pub count: u64,
}

/// Finds personal data and secrets in the files under `options.paths`.
pub fn scan_pii(options: &PiiOptions) -> Result<Evidence, String> {
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
        options.fail_on,
        to_value(&details)?,
    ))
}

/// The `data.redact` evidence of a redaction: the input and output as
/// subjects, the counts as details.
pub fn redact_evidence(report: &RedactReport) -> Result<Evidence, String> {
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
        Severity::High,
        to_value(report)?,
    ))
}

fn to_value(details: &impl Serialize) -> Result<Value, String> {
    serde_json::to_value(details).map_err(|e| format!("internal error: {e}"))
}
