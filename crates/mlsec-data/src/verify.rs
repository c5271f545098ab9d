//! Verification of data against a manifest: which files changed, were added or
//! removed, and for tables which rows changed, were inserted or deleted.
//!
//! Rows are located by aligning the manifest's row digests with the current ones
//! (Myers diff): a run of deleted rows directly replaced by inserted rows at the
//! same place is "changed" (as many rows as both runs share), the rest of the
//! run is inserted or deleted. Inserted and changed rows are numbered in the
//! current file, deleted rows in the pinned one (1-based data rows).

use crate::manifest::{self, Collected, DataFile, DataLink, FileEntry, Manifest, RowDigest};
use crate::read::ReadOptions;
use crate::rules;
use mlsec_core::{Finding, Subject};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use similar::{Algorithm, DiffOp};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Most row-range findings of one kind for one file; the details list them all
/// (up to [`MAX_RANGES`]).
pub const MAX_RANGE_FINDINGS: usize = 100;
/// Most row ranges of one kind kept in the details of one file.
pub const MAX_RANGES: usize = 10_000;
/// Time the row alignment of one table may take before it settles for a
/// correct but possibly longer diff.
const DIFF_DEADLINE: Duration = Duration::from_secs(60);

/// A run of rows, 1-based and inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rows {
    pub first: u64,
    pub last: u64,
}

impl Rows {
    fn new(start0: usize, len: usize) -> Rows {
        Rows {
            first: start0 as u64 + 1,
            last: (start0 + len) as u64,
        }
    }

    pub fn len(&self) -> u64 {
        self.last + 1 - self.first
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

impl std::fmt::Display for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "row {}", self.first)
        } else {
            write!(f, "rows {}-{}", self.first, self.last)
        }
    }
}

/// Changed rows: where they are now and where they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Changed {
    pub rows: Rows,
    pub old_rows: Rows,
}

/// How the rows of a table moved between the manifest and now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RowDiff {
    pub changed: Vec<Changed>,
    /// Numbered in the current file.
    pub inserted: Vec<Rows>,
    /// Numbered in the manifest's file.
    pub deleted: Vec<Rows>,
}

impl RowDiff {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.inserted.is_empty() && self.deleted.is_empty()
    }
}

/// Aligns the old and new row digests and classifies the differences.
pub fn diff_rows(old: &[RowDigest], new: &[RowDigest]) -> RowDiff {
    let deadline = Instant::now().checked_add(DIFF_DEADLINE);
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, old, new, deadline);
    let mut diff = RowDiff::default();
    for op in ops {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => diff.deleted.push(Rows::new(old_index, old_len)),
            DiffOp::Insert {
                new_index, new_len, ..
            } => diff.inserted.push(Rows::new(new_index, new_len)),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let both = old_len.min(new_len);
                diff.changed.push(Changed {
                    rows: Rows::new(new_index, both),
                    old_rows: Rows::new(old_index, both),
                });
                if new_len > both {
                    diff.inserted
                        .push(Rows::new(new_index + both, new_len - both));
                }
                if old_len > both {
                    diff.deleted
                        .push(Rows::new(old_index + both, old_len - both));
                }
            }
        }
    }
    diff
}

/// What verification found for one file.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileReport {
    pub path: String,
    /// `unchanged`, `changed`, `added`, `removed`, `unreadable` or `link` (a
    /// symbolic link, not followed: see [`rules::SYMLINK`]).
    pub verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowDiff>,
    /// Where a link points (as stored in the link).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone)]
pub struct Verification {
    pub files: Vec<FileReport>,
    pub findings: Vec<Finding>,
    pub subjects: Vec<Subject>,
}

impl Verification {
    pub fn identical(&self) -> bool {
        self.findings.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub read: ReadOptions,
    /// Files to leave out (the manifest itself, when inside a folder given).
    pub exclude: Vec<PathBuf>,
}

fn range_location(rows: Rows) -> Option<String> {
    Some(rows.to_string())
}

/// Checks the files under `paths` against `manifest`, files in parallel.
pub fn verify(
    manifest: &Manifest,
    paths: &[PathBuf],
    opts: &VerifyOptions,
) -> Result<Verification, crate::DatasetError> {
    let Collected {
        files: current,
        links,
    } = manifest::collect(paths, &opts.exclude)?;
    let mut pinned: BTreeMap<&str, &FileEntry> = BTreeMap::new();
    for entry in &manifest.files {
        pinned.insert(entry.path.as_str(), entry);
    }
    let present: BTreeSet<&str> = current
        .iter()
        .map(|f| f.key.as_str())
        .chain(links.iter().map(|l| l.key.as_str()))
        .collect();

    let mut results: Vec<(FileReport, Vec<Finding>, Option<Subject>)> = current
        .par_iter()
        .map(|file| check_file(file, pinned.get(file.key.as_str()).copied(), opts))
        .collect();
    for link in &links {
        results.push(check_link(link, pinned.get(link.key.as_str()).copied()));
    }
    for entry in &manifest.files {
        if !present.contains(entry.path.as_str()) {
            let finding = Finding::new(
                &rules::FILE_REMOVED,
                entry.path.clone(),
                format!("{}: in the manifest, missing now", entry.path),
            )
            .with_evidence(serde_json::json!({"sha256": entry.sha256}));
            results.push((
                FileReport {
                    path: entry.path.clone(),
                    verdict: "removed".into(),
                    sha256: None,
                    rows: None,
                    target: None,
                },
                vec![finding],
                None,
            ));
        }
    }
    results.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let mut out = Verification {
        files: Vec::new(),
        findings: Vec::new(),
        subjects: Vec::new(),
    };
    for (report, findings, subject) in results {
        out.files.push(report);
        out.findings.extend(findings);
        out.subjects.extend(subject);
    }
    Ok(out)
}

/// A symbolic link where a file could be: never followed, always reported.
fn check_link(
    link: &DataLink,
    entry: Option<&FileEntry>,
) -> (FileReport, Vec<Finding>, Option<Subject>) {
    let key = &link.key;
    let what = match entry {
        None => "not in the manifest".to_string(),
        Some(e) => format!(
            "where the manifest pins a regular file (SHA-256 {})",
            e.sha256
        ),
    };
    let finding = Finding::new(
        &rules::SYMLINK,
        key.clone(),
        format!(
            "{key}: a symbolic link to {}, {what}; mlsec does not follow links, so what it points to is not checked",
            link.target
        ),
    )
    .with_evidence(serde_json::json!({
        "target": link.target,
        "pinned_sha256": entry.map(|e| &e.sha256),
    }));
    let report = FileReport {
        path: key.clone(),
        verdict: "link".into(),
        sha256: None,
        rows: None,
        target: Some(link.target.clone()),
    };
    (report, vec![finding], None)
}

fn check_file(
    file: &DataFile,
    entry: Option<&FileEntry>,
    opts: &VerifyOptions,
) -> (FileReport, Vec<Finding>, Option<Subject>) {
    let key = file.key.clone();
    let unreadable = |e: String| {
        (
            FileReport {
                path: key.clone(),
                verdict: "unreadable".into(),
                sha256: None,
                rows: None,
                target: None,
            },
            vec![Finding::new(&rules::UNREADABLE_DATA, key.clone(), e)],
            None,
        )
    };
    let (sha256, _) = match manifest::file_sha256(&file.path) {
        Ok(x) => x,
        Err(e) => return unreadable(e.to_string()),
    };
    let subject = Some(Subject {
        name: key.clone(),
        digest: [("sha256".to_string(), sha256.clone())].into(),
    });
    let Some(entry) = entry else {
        let finding = Finding::new(
            &rules::FILE_ADDED,
            key.clone(),
            format!("{key}: not in the manifest"),
        )
        .with_evidence(serde_json::json!({"sha256": sha256}));
        let report = FileReport {
            path: key,
            verdict: "added".into(),
            sha256: Some(sha256),
            rows: None,
            target: None,
        };
        return (report, vec![finding], subject);
    };
    if entry.sha256 == sha256 {
        let report = FileReport {
            path: key,
            verdict: "unchanged".into(),
            sha256: Some(sha256),
            rows: None,
            target: None,
        };
        return (report, Vec::new(), subject);
    }
    let mut findings = vec![Finding::new(
        &rules::FILE_CHANGED,
        key.clone(),
        format!(
            "{key}: SHA-256 {} in the manifest, now {sha256}",
            entry.sha256
        ),
    )
    .with_evidence(serde_json::json!({"expected": entry.sha256, "actual": sha256}))];
    let mut report = FileReport {
        path: key.clone(),
        verdict: "changed".into(),
        sha256: Some(sha256),
        rows: None,
        target: None,
    };
    if let Some(table) = &entry.table {
        match compare_table(file, entry, table, opts) {
            Ok((diff, more)) => {
                findings.extend(more);
                report.rows = diff;
            }
            Err(f) => findings.push(*f),
        }
    }
    (report, findings, subject)
}

fn compare_table(
    file: &DataFile,
    entry: &FileEntry,
    table: &manifest::TableEntry,
    opts: &VerifyOptions,
) -> Result<(Option<RowDiff>, Vec<Finding>), Box<Finding>> {
    let key = &file.key;
    let format = crate::detect(&file.path).map_err(|e| {
        Box::new(Finding::new(
            &rules::UNREADABLE_DATA,
            key.clone(),
            e.to_string(),
        ))
    })?;
    let mut findings = Vec::new();
    if format != entry.format {
        findings.push(Finding::new(
            &rules::SCHEMA_CHANGED,
            key.clone(),
            format!(
                "{key}: format {} in the manifest, now {}",
                entry.format.as_str(),
                format.as_str()
            ),
        ));
        return Ok((None, findings));
    }
    let now = manifest::digest_table(&file.path, format, &opts.read, true).map_err(|e| {
        let mut f = Finding::new(&rules::UNREADABLE_DATA, key.clone(), e.to_string());
        if let Some(row) = e.row() {
            f.location = range_location(Rows {
                first: row,
                last: row,
            });
        }
        Box::new(f)
    })?;
    if now.skipped.count > 0 {
        findings.push(skipped_finding(key, &now.skipped));
    }
    if now.entry.schema != table.schema {
        let names = |s: &[manifest::Column]| {
            s.iter()
                .map(|c| format!("{}: {}", c.name, c.kind))
                .collect::<Vec<_>>()
                .join(", ")
        };
        findings.push(
            Finding::new(
                &rules::SCHEMA_CHANGED,
                key.clone(),
                format!(
                    "{key}: columns [{}] in the manifest, now [{}]",
                    names(&table.schema),
                    names(&now.entry.schema)
                ),
            )
            .with_evidence(
                serde_json::json!({"expected": table.schema, "actual": now.entry.schema}),
            ),
        );
    }
    let old = match manifest::decode_row_digests(table) {
        Ok(Some(old)) => old,
        Ok(None) => {
            if now.entry.merkle_root != table.merkle_root {
                findings.push(
                    Finding::new(
                        &rules::ROWS_CHANGED,
                        key.clone(),
                        format!(
                            "{key}: rows differ ({} rows in the manifest, {} now); the manifest holds no row digests to say which",
                            table.rows, now.entry.rows
                        ),
                    )
                    .with_evidence(serde_json::json!({"expected_merkle_root": table.merkle_root, "actual_merkle_root": now.entry.merkle_root})),
                );
            }
            return Ok((None, findings));
        }
        Err(e) => {
            findings.push(Finding::new(
                &rules::BAD_MANIFEST,
                key.clone(),
                format!("{key}: {e}"),
            ));
            return Ok((None, findings));
        }
    };
    let mut diff = diff_rows(&old, &now.digests);
    for c in diff.changed.iter().take(MAX_RANGE_FINDINGS) {
        let mut f = Finding::new(
            &rules::ROWS_CHANGED,
            key.clone(),
            format!("{key}: {} changed ({} in the manifest)", c.rows, c.old_rows),
        )
        .with_evidence(serde_json::json!({"rows": [c.rows.first, c.rows.last], "old_rows": [c.old_rows.first, c.old_rows.last]}));
        f.location = range_location(c.rows);
        findings.push(f);
    }
    for r in diff.inserted.iter().take(MAX_RANGE_FINDINGS) {
        let mut f = Finding::new(
            &rules::ROWS_INSERTED,
            key.clone(),
            format!("{key}: {r} inserted"),
        )
        .with_evidence(serde_json::json!({"rows": [r.first, r.last]}));
        f.location = range_location(*r);
        findings.push(f);
    }
    for r in diff.deleted.iter().take(MAX_RANGE_FINDINGS) {
        let mut f = Finding::new(
            &rules::ROWS_DELETED,
            key.clone(),
            format!("{key}: {r} of the manifest deleted"),
        )
        .with_evidence(serde_json::json!({"old_rows": [r.first, r.last]}));
        f.location = Some(format!("manifest {r}"));
        findings.push(f);
    }
    let more = [
        (diff.changed.len(), &rules::ROWS_CHANGED, "changed"),
        (diff.inserted.len(), &rules::ROWS_INSERTED, "inserted"),
        (diff.deleted.len(), &rules::ROWS_DELETED, "deleted"),
    ];
    for (n, rule, what) in more {
        if n > MAX_RANGE_FINDINGS {
            findings.push(Finding::new(
                rule,
                key.clone(),
                format!(
                    "{key}: {} more runs of {what} rows (see details)",
                    n - MAX_RANGE_FINDINGS
                ),
            ));
        }
    }
    diff.changed.truncate(MAX_RANGES);
    diff.inserted.truncate(MAX_RANGES);
    diff.deleted.truncate(MAX_RANGES);
    Ok((Some(diff), findings))
}

/// The DAT010 finding for rows skipped in `key`.
pub fn skipped_finding(key: &str, skipped: &crate::Skipped) -> Finding {
    let first = skipped
        .first
        .first()
        .map(|e| e.to_string())
        .unwrap_or_default();
    Finding::new(
        &rules::ROWS_SKIPPED,
        key.to_string(),
        format!(
            "{key}: {} malformed row(s) skipped; first: {first}",
            skipped.count
        ),
    )
    .with_evidence(serde_json::json!({
        "count": skipped.count,
        "first": skipped.first.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(xs: &[u8]) -> Vec<RowDigest> {
        xs.iter().map(|&x| [x; 16]).collect()
    }

    #[test]
    fn diff_classifies_changed_inserted_and_deleted_rows() {
        let old = seq(&[1, 2, 3, 4, 5, 6, 7]);
        // Row 2 edited, a row inserted after row 4, row 6 deleted.
        let new = seq(&[1, 20, 3, 4, 40, 5, 7]);
        let d = diff_rows(&old, &new);
        assert_eq!(
            d.changed,
            vec![Changed {
                rows: Rows { first: 2, last: 2 },
                old_rows: Rows { first: 2, last: 2 }
            }]
        );
        assert_eq!(d.inserted, vec![Rows { first: 5, last: 5 }]);
        assert_eq!(d.deleted, vec![Rows { first: 6, last: 6 }]);
        assert!(diff_rows(&old, &old).is_empty());
    }

    #[test]
    fn uneven_replacements_split_into_changed_and_inserted() {
        let d = diff_rows(&seq(&[1, 2, 9]), &seq(&[1, 3, 4, 5, 9]));
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].rows, Rows { first: 2, last: 2 });
        assert_eq!(d.inserted, vec![Rows { first: 3, last: 4 }]);
        assert!(d.deleted.is_empty());
    }
}
