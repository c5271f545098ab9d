//! Reading saved envelopes back: an evidence folder written by `mlsec check`,
//! or envelope files of any command.

use mlsec_check::{CheckDetails, CheckRun};
use mlsec_core::{Evidence, Fault};
use std::path::{Path, PathBuf};

/// The newest envelope schema this build reads (`mlsec.evidence/v1`).
pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA_PREFIX: &str = "mlsec.evidence/v";

/// Evidence files are mlsec's own output, but `mlsec report` takes any path:
/// refuse one too big to be an envelope rather than read it all.
pub const MAX_EVIDENCE_BYTES: u64 = 1 << 30;

/// Why a report could not be made. Every one is an input fault (exit 2)
/// except an unreadable file, whose fault follows the I/O error.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {reason}", path.display())]
    Io {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
    /// Not JSON, or JSON that is not an mlsec evidence envelope.
    #[error("{}:{line}: {reason}", path.display())]
    NotEvidence {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// Written by a newer mlsec: reading it as v1 could misreport it.
    #[error("{}:{line}: evidence schema `{found}` is newer than this mlsec reads (mlsec.evidence/v{SCHEMA_VERSION}); upgrade mlsec to report on it", path.display())]
    NewerSchema {
        path: PathBuf,
        line: usize,
        found: String,
    },
    #[error("{0}")]
    Input(String),
}

impl ReportError {
    pub fn fault(&self) -> Fault {
        match self {
            ReportError::Io { fault, .. } => *fault,
            _ => Fault::Input,
        }
    }

    fn io(path: &Path, e: &std::io::Error) -> ReportError {
        ReportError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
            fault: Fault::of_io(e),
        }
    }
}

/// One producer's envelope as read back.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The file it was read from.
    pub file: PathBuf,
    pub evidence: Evidence,
    /// The check that made it, when it came from `mlsec check`.
    pub run: Option<CheckRun>,
}

/// What a report shows: the gate's decision, when there is one, and every
/// producer's envelope.
#[derive(Debug, Clone, Default)]
pub struct EvidenceSet {
    /// The `check` envelope and its details.
    pub check: Option<(Evidence, CheckDetails)>,
    pub envelopes: Vec<Envelope>,
    /// Checks that ran into an error and left no envelope.
    pub failed_runs: Vec<CheckRun>,
}

impl EvidenceSet {
    /// The decision: `pass`, `warn`, `deny` or `error` from the gate; without
    /// one, `fail` when some envelope failed its threshold, else `pass`.
    pub fn decision(&self) -> &str {
        match &self.check {
            Some((_, d)) => &d.decision,
            None if self.envelopes.iter().any(|e| e.evidence.failed()) => "fail",
            None => "pass",
        }
    }
}

/// Reads `paths`: each an evidence folder written by `mlsec check` (its
/// `check.json` and the envelopes it lists), a folder of envelope files, or
/// an envelope file. Anything that is not an envelope, or that a newer mlsec
/// wrote, is an error naming the file and line.
pub fn load(paths: &[PathBuf]) -> Result<EvidenceSet, ReportError> {
    let mut set = EvidenceSet::default();
    if paths.is_empty() {
        return Err(ReportError::Input(
            "no evidence given: name an evidence folder or envelope files".into(),
        ));
    }
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| ReportError::io(path, &e))?;
        if meta.is_dir() {
            load_folder(path, &mut set)?;
        } else {
            add(read_envelope(path)?, path, None, &mut set)?;
        }
    }
    Ok(set)
}

fn load_folder(dir: &Path, set: &mut EvidenceSet) -> Result<(), ReportError> {
    let check_file = dir.join("check.json");
    if check_file.is_file() {
        let check = read_envelope(&check_file)?;
        let details = check_details(&check, &check_file)?;
        for run in &details.checks {
            match &run.evidence {
                Some(file) => {
                    // The check names files inside its own folder; a name
                    // that leads out of it is not one the check wrote.
                    let inside = Path::new(file)
                        .components()
                        .all(|c| matches!(c, std::path::Component::Normal(_)));
                    if !inside {
                        return Err(ReportError::NotEvidence {
                            path: check_file.clone(),
                            line: 1,
                            reason: format!("names evidence `{file}` outside its folder"),
                        });
                    }
                    let path = dir.join(file);
                    let evidence = read_envelope(&path)?;
                    add(evidence, &path, Some(run.clone()), set)?;
                }
                None => set.failed_runs.push(run.clone()),
            }
        }
        return add(check, &check_file, None, set);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| ReportError::io(dir, &e))? {
        let entry = entry.map_err(|e| ReportError::io(dir, &e))?;
        let path = entry.path();
        let is_json = path.extension().is_some_and(|x| x == "json");
        // input.json is the policy input `mlsec check` writes, not an envelope.
        let is_input = path.file_name().is_some_and(|n| n == "input.json");
        if is_json && !is_input && entry.file_type().is_ok_and(|t| t.is_file()) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(ReportError::Input(format!(
            "{}: no evidence files (*.json) in this folder",
            dir.display()
        )));
    }
    files.sort();
    for path in files {
        let evidence = read_envelope(&path)?;
        add(evidence, &path, None, set)?;
    }
    Ok(())
}

fn add(
    evidence: Evidence,
    path: &Path,
    run: Option<CheckRun>,
    set: &mut EvidenceSet,
) -> Result<(), ReportError> {
    if evidence.kind == "check" {
        if set.check.is_some() {
            return Err(ReportError::Input(format!(
                "{}: a second `check` decision; report on one project's evidence at a time",
                path.display()
            )));
        }
        let details = check_details(&evidence, path)?;
        set.check = Some((evidence, details));
    } else {
        set.envelopes.push(Envelope {
            file: path.to_path_buf(),
            evidence,
            run,
        });
    }
    Ok(())
}

fn check_details(evidence: &Evidence, path: &Path) -> Result<CheckDetails, ReportError> {
    CheckDetails::of(evidence).map_err(|e| ReportError::NotEvidence {
        path: path.to_path_buf(),
        line: 1,
        reason: format!("`check` envelope with unreadable details: {e}"),
    })
}

/// Reads one envelope, checking its schema version before its shape, so a
/// newer file is named as newer rather than as malformed.
pub fn read_envelope(path: &Path) -> Result<Evidence, ReportError> {
    let meta = std::fs::metadata(path).map_err(|e| ReportError::io(path, &e))?;
    if !meta.is_file() {
        return Err(ReportError::Input(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    if meta.len() > MAX_EVIDENCE_BYTES {
        return Err(ReportError::Input(format!(
            "{}: {} bytes is more than an evidence file may hold ({MAX_EVIDENCE_BYTES})",
            path.display(),
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| ReportError::io(path, &e))?;
    let not = |line: usize, reason: String| ReportError::NotEvidence {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| not(e.line(), format!("not JSON: {e}")))?;
    let schema_line = line_of(&text, "\"schema\"");
    let schema = value
        .get("schema")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            not(
                1,
                "not an mlsec evidence envelope (no `schema` field)".into(),
            )
        })?;
    let version = schema
        .strip_prefix(SCHEMA_PREFIX)
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            not(
                schema_line,
                format!("schema `{schema}` is not an mlsec evidence schema"),
            )
        })?;
    if version > SCHEMA_VERSION {
        return Err(ReportError::NewerSchema {
            path: path.to_path_buf(),
            line: schema_line,
            found: schema.to_string(),
        });
    }
    serde_json::from_value(value).map_err(|e| not(1, format!("malformed envelope: {e}")))
}

/// The 1-based line of the first occurrence of `needle`, 1 when absent.
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(1, |at| {
        text.as_bytes()
            .iter()
            .take(at)
            .filter(|b| **b == b'\n')
            .count()
            + 1
    })
}
