//! `mlsec data profile`: a reference profile of a dataset, summaries whose
//! size does not grow with the rows (quantile sketches and moments for
//! numbers, capped frequency tables for categories), mergeable so that shards
//! profiled apart give the profile of the whole. `mlsec data drift` takes a
//! profile as its reference.

use crate::columns::{self, Column, Columns, Keep, Summary, Values};
use crate::table::{ColumnKind, Side};
use crate::QualityError;
use mlsec_core::{Evidence, Subject};
use mlsec_data::ReadOptions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The kind of a profile's evidence envelope.
pub const PROFILE_KIND: &str = "data.profile";

/// The profile format this version writes and reads.
pub const PROFILE_VERSION: u32 = 1;

/// Largest profile read, in bytes (a profile of 1,000 columns is a few MB).
pub const MAX_PROFILE_BYTES: u64 = 256 << 20;

/// What `mlsec data profile` reads.
#[derive(Debug, Clone, Default)]
pub struct ProfileOptions {
    /// Tables to profile together (their profiles are merged), or, with
    /// `merge`, profiles to merge.
    pub paths: Vec<PathBuf>,
    pub merge: bool,
    pub read: ReadOptions,
}

/// `details` of a `data.profile` envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileDetails {
    /// Format version ([`PROFILE_VERSION`]).
    pub version: u32,
    pub rows: u64,
    /// The tables profiled (for a merged profile, every shard's).
    pub sources: Vec<Side>,
    pub columns: Vec<ColumnProfile>,
}

/// One column's profile.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnProfile {
    pub name: String,
    /// Numeric or categorical as the data says so far; `null` when the column
    /// had no value at all, or values that cannot be profiled (see `unsupported`).
    pub kind: Option<ColumnKind>,
    pub rows: u64,
    pub missing: u64,
    pub finite: u64,
    pub non_finite: u64,
    pub non_numeric: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_non_numeric: Option<(u64, String)>,
    pub typed_numeric: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
    /// Quantile sketch (KLL), moments and frequency table.
    #[schemars(with = "serde_json::Value")]
    pub summary: Summary,
}

impl ColumnProfile {
    fn of(column: Column) -> ColumnProfile {
        let kind = if column.unsupported.is_some() || column.present() == 0 {
            None
        } else if column.is_numeric() {
            Some(ColumnKind::Numeric)
        } else {
            Some(ColumnKind::Categorical)
        };
        let summary = match column.values {
            Values::Summary(s) => *s,
            // `read` with Keep::Summaries gives summaries only.
            Values::Exact(_) => Summary::default(),
        };
        ColumnProfile {
            name: column.name,
            kind,
            rows: column.rows,
            missing: column.missing,
            finite: column.finite,
            non_finite: column.non_finite,
            non_numeric: column.non_numeric,
            first_non_numeric: column.first_non_numeric,
            typed_numeric: column.typed_numeric,
            unsupported: column.unsupported,
            summary,
        }
    }

    fn into_column(self) -> Column {
        Column {
            name: self.name,
            rows: self.rows,
            missing: self.missing,
            finite: self.finite,
            non_finite: self.non_finite,
            non_numeric: self.non_numeric,
            first_non_numeric: self.first_non_numeric,
            typed_numeric: self.typed_numeric,
            unsupported: self.unsupported,
            values: Values::Summary(Box::new(self.summary)),
        }
    }
}

/// Profiles the tables of `opts` (or merges the profiles, with `merge`) and
/// returns the `data.profile` evidence.
pub fn profile(opts: &ProfileOptions) -> Result<Evidence, QualityError> {
    if opts.paths.is_empty() {
        return Err(QualityError::Usage("nothing to profile".into()));
    }
    let mut parts = Vec::with_capacity(opts.paths.len());
    if opts.merge {
        for path in &opts.paths {
            parts.push(load(path)?);
        }
    } else {
        use rayon::prelude::*;
        let read: Vec<Result<ProfileDetails, QualityError>> = opts
            .paths
            .par_iter()
            .map(|path| {
                let format = mlsec_data::detect(path)?;
                let columns = columns::read(path, format, &opts.read, Keep::Summaries)?;
                let source = Side {
                    path: path.display().to_string(),
                    format: format.as_str().to_string(),
                    rows: columns.rows,
                    skipped_rows: columns.skipped,
                };
                Ok(details(columns, vec![source]))
            })
            .collect();
        for part in read {
            parts.push(part?);
        }
    }
    let mut whole = parts.remove(0);
    for part in parts {
        whole = merge(whole, part)?;
    }
    let subjects = whole
        .sources
        .iter()
        .map(|s| Subject {
            name: s.path.clone(),
            digest: BTreeMap::new(),
        })
        .collect();
    let details = serde_json::to_value(&whole).map_err(|e| QualityError::Usage(e.to_string()))?;
    Ok(Evidence::new(PROFILE_KIND, subjects, Vec::new(), details))
}

fn details(columns: Columns, sources: Vec<Side>) -> ProfileDetails {
    ProfileDetails {
        version: PROFILE_VERSION,
        rows: columns.rows,
        sources,
        columns: columns.columns.into_iter().map(ColumnProfile::of).collect(),
    }
}

/// The profile of two shards together. Columns are matched by name; a column
/// only one shard has is missing in every row of the other.
fn merge(a: ProfileDetails, b: ProfileDetails) -> Result<ProfileDetails, QualityError> {
    let mut whole = Columns::from_profile(
        a.rows,
        a.columns
            .into_iter()
            .map(ColumnProfile::into_column)
            .collect(),
    );
    let part = Columns::from_profile(
        b.rows,
        b.columns
            .into_iter()
            .map(ColumnProfile::into_column)
            .collect(),
    );
    whole
        .merge(part)
        .map_err(|e| QualityError::Usage(format!("profiles do not merge: {e}")))?;
    let mut sources = a.sources;
    sources.extend(b.sources);
    Ok(details(whole, sources))
}

/// Reads a profile written by `mlsec data profile`: an evidence envelope of
/// kind `data.profile`, every summary checked as it is read.
pub fn load(path: &Path) -> Result<ProfileDetails, QualityError> {
    let bad = |why: String| QualityError::Usage(format!("{}: {why}", path.display()));
    let size = std::fs::metadata(path).map_err(|e| io(path, &e))?.len();
    if size > MAX_PROFILE_BYTES {
        return Err(bad(format!(
            "{size} bytes is larger than a profile can be ({MAX_PROFILE_BYTES})"
        )));
    }
    let text = std::fs::read(path).map_err(|e| io(path, &e))?;
    parse(&text).map_err(bad)
}

/// Reads a profile from the bytes of its file; the error says what is wrong
/// (the caller names the file).
pub fn parse(bytes: &[u8]) -> Result<ProfileDetails, String> {
    let evidence: Evidence = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a profile (mlsec data profile writes one): {e}"))?;
    if evidence.kind != PROFILE_KIND {
        return Err(format!(
            "evidence of kind `{}`, not a profile (`{PROFILE_KIND}`)",
            evidence.kind
        ));
    }
    let details: ProfileDetails = serde_json::from_value(evidence.details)
        .map_err(|e| format!("profile does not read: {e}"))?;
    if details.version != PROFILE_VERSION {
        return Err(format!(
            "profile version {} (this mlsec reads version {PROFILE_VERSION})",
            details.version
        ));
    }
    Ok(details)
}

/// Whether `path` holds a profile rather than a table: JSON whose first
/// key-value pairs name the evidence schema.
pub fn is_profile(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let head = String::from_utf8_lossy(head.get(..n).unwrap_or_default());
    head.trim_start().starts_with('{') && head.contains(mlsec_core::EVIDENCE_SCHEMA)
}

/// A profile as columns of summaries, for drift.
pub fn columns(details: ProfileDetails) -> Columns {
    Columns::from_profile(
        details.rows,
        details
            .columns
            .into_iter()
            .map(ColumnProfile::into_column)
            .collect(),
    )
}

fn io(path: &Path, e: &std::io::Error) -> QualityError {
    QualityError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
        fault: mlsec_core::Fault::of_io(e),
    }
}
