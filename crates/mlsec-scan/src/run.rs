//! `mlsec scan` as a library call: options in, an evidence envelope out.

use crate::{scan_paths, FileResult, ScanConfig};
use mlsec_core::{Evidence, Fault, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files and folders, as the user named them (folders are walked).
    pub paths: Vec<PathBuf>,
    pub config: ScanConfig,
    /// Findings at or above this severity fail the evidence's summary.
    pub fail_on: Severity,
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
#[derive(Debug, Serialize, Deserialize)]
pub struct ScanDetails {
    /// One entry per file judged, in the order of the walk.
    pub files: Vec<FileResult>,
    /// How many files got each verdict (`clean`, `malicious`, ...).
    pub verdicts: BTreeMap<String, usize>,
    /// The configuration file used, and every allowance and denial in effect.
    pub config: serde_json::Value,
    /// Lines for people, such as which configuration was used.
    pub notes: Vec<String>,
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
    let details = serde_json::to_value(details).expect("scan details are plain data");
    Ok(Evidence::new(
        "scan",
        subjects,
        findings,
        options.fail_on,
        details,
    ))
}
