//! `mlsec scan` as a library call: options in, an evidence envelope out.

use crate::config::ConfigRecord;
use crate::{scan_paths, FileResult, ScanConfig};
use mlsec_core::render::{FileLine, Tabulate};
use mlsec_core::{Evidence, Fault};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files and folders, as the user named them (folders are walked).
    pub paths: Vec<PathBuf>,
    pub config: ScanConfig,
}

/// Why a scan could not be made at all. Problems with files found while
/// walking are findings in the evidence, never errors.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A configuration file that cannot be read or parsed.
    #[error("{}: {reason}", path.display())]
    Config {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
    /// An `--allow` entry that is not `module.name` or `module.*`.
    #[error("--allow {0}: write module.name or module.*")]
    AllowEntry(String),
    /// A bug in mlsec.
    #[error("internal error: {0}")]
    Internal(String),
    /// A path the user named that cannot be looked at.
    #[error("{}: {reason}", path.display())]
    Path {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
}

impl ScanError {
    pub fn fault(&self) -> Fault {
        match self {
            ScanError::Config { fault, .. } | ScanError::Path { fault, .. } => *fault,
            ScanError::AllowEntry(_) => Fault::Input,
            ScanError::Internal(_) => Fault::Internal,
        }
    }

    pub(crate) fn path(path: &Path, e: &std::io::Error) -> ScanError {
        ScanError::Path {
            path: path.to_path_buf(),
            reason: crate::engine::io_reason(e),
            fault: Fault::of_io(e),
        }
    }
}

/// `details` of a `scan` evidence envelope.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ScanDetails {
    /// One entry per file judged, in the order of the walk.
    pub files: Vec<FileResult>,
    /// How many files got each verdict (`clean`, `malicious`, ...).
    pub verdicts: BTreeMap<String, usize>,
    /// The configuration file used, and every allowance and denial in effect.
    pub config: ConfigRecord,
    /// Lines for people, such as which configuration was used.
    pub notes: Vec<String>,
}

impl ScanDetails {
    /// The typed details of a `scan` envelope.
    pub fn of(evidence: &Evidence) -> Result<ScanDetails, ScanError> {
        serde_json::from_value(evidence.details.clone())
            .map_err(|e| ScanError::Internal(format!("scan details: {e}")))
    }
}

impl Tabulate for ScanDetails {
    fn files(&self) -> Vec<FileLine<'_>> {
        self.files
            .iter()
            .map(|f| FileLine {
                path: &f.path,
                verdict: f.verdict.as_str(),
                format: &f.format,
                // Files no parser recognised (READMEs, CSVs) are counted, not listed.
                judged: f.verdict != mlsec_core::Verdict::Unsupported,
            })
            .collect()
    }

    fn notes(&self) -> &[String] {
        &self.notes
    }
}

/// Scans `options.paths` and returns the `scan` evidence. `on_file` is called
/// once per file judged with the total count, for progress display.
pub fn run(options: &ScanOptions, on_file: &(dyn Fn(usize) + Sync)) -> Result<Evidence, ScanError> {
    let outcome = scan_paths(&options.paths, &options.config, on_file)?;
    let mut verdicts = BTreeMap::new();
    for f in &outcome.files {
        *verdicts.entry(f.verdict.as_str().to_string()).or_default() += 1;
    }
    let subjects = outcome.subjects();
    let findings = outcome.findings();
    let details = ScanDetails {
        files: outcome.files,
        verdicts,
        config: options.config.to_evidence(),
        notes: options.config.summary_line().into_iter().collect(),
    };
    let details = serde_json::to_value(details)
        .map_err(|e| ScanError::Internal(format!("scan details: {e}")))?;
    Ok(Evidence::new("scan", subjects, findings, details))
}
