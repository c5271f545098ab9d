//! mlsec's own scan of the model files, recorded in the BOM: a verdict per
//! file and for the model, and a vulnerability per serious finding, so a BOM
//! consumer sees what the scanner saw without running it again.

use crate::cyclonedx::{Affects, Property, Rating, Source, Vulnerability};
use mlsec_core::{Severity, Verdict};
use mlsec_scan::{scan_paths, ScanConfig};
use std::collections::BTreeMap;
use std::path::Path;

/// Findings at or above this severity become `vulnerabilities` entries;
/// lower ones only count towards the verdicts.
const VULNERABILITY_SEVERITY: Severity = Severity::High;

/// The property that carries a scan verdict, on files and on the model.
pub const VERDICT_PROPERTY: &str = "mlsec:scan:verdict";

/// What the scan said, keyed by the file paths the BOM uses.
#[derive(Debug)]
pub struct Evidence {
    /// Verdict per file path relative to the model folder, `/`-separated.
    pub verdicts: BTreeMap<String, Verdict>,
    /// The worst verdict of the files the scanner could judge: a README it
    /// has no parser for does not make the model "unsupported". Unsupported
    /// only when no file could be judged.
    pub overall: Verdict,
    /// Serious findings with the relative path of the file they are in.
    findings: Vec<(String, mlsec_core::Finding)>,
}

/// Scans `model` (a folder or one file); paths are made relative to `dir`,
/// the folder the BOM's file list is relative to.
pub fn scan(model: &Path, dir: &Path, config: &ScanConfig) -> Result<Evidence, crate::BomError> {
    let outcome = scan_paths(&[model.to_path_buf()], config, &|_| {})?;
    let overall = outcome.verdict();
    let mut verdicts = BTreeMap::new();
    let mut findings = Vec::new();
    for file in outcome.files {
        let rel = relative(dir, Path::new(&file.path));
        findings.extend(
            file.findings
                .into_iter()
                .filter(|f| f.severity >= VULNERABILITY_SEVERITY)
                .map(|f| (rel.clone(), f)),
        );
        verdicts.insert(rel, file.verdict);
    }
    Ok(Evidence {
        verdicts,
        overall,
        findings,
    })
}

impl Evidence {
    /// One vulnerability per serious finding. `file_ref` gives the bom-ref of
    /// the file component for a path, if the BOM lists it; otherwise the
    /// finding is put on `model_ref` (a folder that could not be read).
    pub fn vulnerabilities(
        &self,
        file_ref: impl Fn(&str) -> Option<String>,
        model_ref: &str,
    ) -> Vec<Vulnerability> {
        self.findings
            .iter()
            .map(|(path, f)| {
                let mut properties = vec![Property::new("mlsec:file", path)];
                if let Some(location) = &f.location {
                    properties.push(Property::new("mlsec:location", location.clone()));
                }
                properties.push(Property::new("mlsec:category", category(f.category)));
                Vulnerability {
                    id: f.rule.clone(),
                    source: Source { name: "mlsec" },
                    ratings: vec![Rating {
                        source: Source { name: "mlsec" },
                        severity: f.severity.as_str(),
                    }],
                    description: f.message.clone(),
                    affects: vec![Affects {
                        reference: file_ref(path).unwrap_or_else(|| model_ref.to_string()),
                    }],
                    properties,
                }
            })
            .collect()
    }
}

fn category(c: mlsec_core::Category) -> &'static str {
    use mlsec_core::Category;
    match c {
        Category::Info => "info",
        Category::Suspicious => "suspicious",
        Category::Error => "error",
        Category::Malicious => "malicious",
    }
}

/// `path` relative to `dir`, `/`-separated, as `files::describe` writes it.
fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
