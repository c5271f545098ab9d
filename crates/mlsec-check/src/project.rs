//! `mlsec.toml`, the project file: the models, datasets, keys and policies
//! of a model project. Paths are relative to the file's folder.

use crate::CheckError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The parsed project file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    #[serde(default)]
    pub project: ProjectSection,
    /// Models the project ships or uses: each a file or folder.
    #[serde(default)]
    pub model: Vec<ModelEntry>,
    /// Datasets the models were trained or evaluated on.
    #[serde(default)]
    pub dataset: Vec<DatasetEntry>,
    /// `mlsec scan`'s settings (`allow`, `deny`); read by the scanner itself.
    #[serde(default)]
    pub scan: Option<serde_json::Value>,
    #[serde(default)]
    pub policy: PolicySection,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectSection {
    /// The project's name; default: its folder's.
    pub name: Option<String>,
    /// Where the evidence goes; default `.mlsec/evidence`.
    pub evidence: Option<PathBuf>,
    /// A description of the ML system (`pipeline.yaml`, see `mlsec
    /// threat-model`): its threats and which checks cover them join the
    /// evidence and the report.
    pub threat_model: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelEntry {
    pub path: PathBuf,
    /// A short name for reports; default: the file or folder name.
    pub name: Option<String>,
    /// The model's signature; default `model.sig` in the model folder.
    pub signature: Option<PathBuf>,
    /// The public key that must have signed it; with it, the signature is verified.
    pub key: Option<PathBuf>,
    /// Or the CA certificates its signing certificate must chain to.
    #[serde(default)]
    pub certificate_chain: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DatasetEntry {
    pub path: PathBuf,
    pub name: Option<String>,
    /// The manifest `mlsec data manifest` wrote; with it, the data are verified.
    pub manifest: Option<PathBuf>,
    /// The manifest's signature; default: the manifest's path + `.sig`.
    pub signature: Option<PathBuf>,
    /// The public key that must have signed the manifest.
    pub key: Option<PathBuf>,
    #[serde(default)]
    pub certificate_chain: Vec<PathBuf>,
    /// Look for personal data and secrets (default true).
    #[serde(default = "yes")]
    pub pii: bool,
    /// What the dataset is compared with for drift: the data it was trained
    /// or validated on, or a profile of it (`mlsec data profile`).
    pub reference: Option<PathBuf>,
    /// Columns the drift check leaves out (identifiers, timestamps).
    #[serde(default)]
    pub drift_exclude: Vec<String>,
    /// The label column of training data: with it, `mlsec data issues`
    /// looks for wrong labels, outliers, copies and backdoor signals.
    pub label: Option<String>,
    /// Columns the issues check leaves out of the features (identifiers).
    #[serde(default)]
    pub issues_exclude: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PolicySection {
    /// Bundled packs: `baseline`, `strict`.
    #[serde(default = "baseline")]
    pub packs: Vec<String>,
    /// Your own policies: `.rego` files and `.json` data, or folders of them.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// Bundled rule ids not to apply.
    #[serde(default)]
    pub skip: Vec<String>,
}

impl Default for PolicySection {
    fn default() -> Self {
        PolicySection {
            packs: baseline(),
            paths: Vec::new(),
            skip: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

fn baseline() -> Vec<String> {
    vec!["baseline".into()]
}

impl Project {
    /// Reads the project file. Errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Project, CheckError> {
        let text = std::fs::read_to_string(path).map_err(|e| CheckError::io(path, &e))?;
        toml::from_str(&text).map_err(|e| {
            let place = e
                .span()
                .map(|span| {
                    let before = text.get(..span.start).unwrap_or("");
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            CheckError::Project(format!("{}{place}: {}", path.display(), e.message()))
        })
    }
}

/// The name of a path for reports and evidence file names: its last component.
pub(crate) fn short_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
