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
    /// Models tested before they ship: adversarial robustness (`mlsec
    /// redteam`), fairness and importance (`mlsec explain`) and, given the
    /// training rows, membership inference (`mlsec privacy`).
    #[serde(default)]
    pub validate: Vec<ValidateEntry>,
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

/// A classifier exported to ONNX and the labelled rows it is tested on.
/// Each check takes the defaults of its command; the sub-tables
/// `[validate.redteam]`, `[validate.privacy]` and `[validate.explain]` set
/// their options under the same names as the commands' flags.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ValidateEntry {
    /// The model: an ONNX file, run in process.
    pub model: PathBuf,
    /// A short name for reports and evidence files; default: the model
    /// file's folder, or its name when the folder is the project's.
    pub name: Option<String>,
    /// Labelled rows the model was not trained on (a held-out split), CSV,
    /// JSONL or Parquet: attacked, explained, and the non-members of the
    /// privacy audit.
    pub data: PathBuf,
    /// The label column; its values must be the model's class labels.
    pub label: String,
    /// Feature columns in the model's input order; default: every column
    /// but the label, `exclude` and the sensitive column, in file order.
    #[serde(default)]
    pub features: Vec<String>,
    /// Columns that are not features (identifiers, timestamps).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Seed of every sample and attack: the same seed, the same evidence.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub redteam: RedteamSection,
    /// With it, the membership-inference audit runs.
    pub privacy: Option<PrivacySection>,
    #[serde(default)]
    pub explain: ExplainSection,
}

/// `mlsec redteam`'s options (defaults: the command's).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RedteamSection {
    /// Attacks: square, simba, nes, hsj, boundary (default square, hsj).
    pub attack: Option<Vec<String>>,
    /// linf (default) or l2.
    pub norm: Option<String>,
    /// Radii as shares of each feature's range (default 0.05, 0.1).
    pub eps: Option<Vec<f32>>,
    /// Queries per attacked row (default 1,000).
    pub budget: Option<usize>,
    /// Rows sampled from the data (default 200).
    pub rows: Option<usize>,
    /// A finding (RTM001) when an attack's success rate is above this
    /// (default 0.5).
    pub max_success: Option<f64>,
    /// The class every row must be moved to (targeted attacks).
    pub target: Option<String>,
    /// A profile of the training data (`mlsec data profile`) that widens
    /// each feature's bounds to its minimum and maximum.
    pub profile: Option<PathBuf>,
    /// Bounds of features: `{ age = [18, 100] }`.
    #[serde(default)]
    pub bounds: std::collections::BTreeMap<String, [f32; 2]>,
    /// Features that hold whole numbers.
    #[serde(default)]
    pub integer: Vec<String>,
    /// Features an attacker cannot change.
    #[serde(default)]
    pub immutable: Vec<String>,
    /// Groups of one-hot columns, one category each.
    #[serde(default)]
    pub one_hot: Vec<Vec<String>>,
}

/// `mlsec privacy`'s inputs and options.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrivacySection {
    /// The rows the model was trained on.
    pub members: PathBuf,
    /// Rows it never saw; default: the entry's `data`.
    pub non_members: Option<PathBuf>,
    /// Rows of the model's domain that neither side holds, for the shadow
    /// models; default: half the non-members.
    pub shadow_data: Option<PathBuf>,
    /// Attacks: gap, loss, confidence, entropy, mentr, shadow, lira,
    /// lira-offline, supervised (default: all).
    pub attack: Option<Vec<String>>,
    /// Shadow models of LiRA (default 16).
    pub shadow: Option<usize>,
    /// Rows attacked per side at most (default 2,000).
    pub rows: Option<usize>,
    /// A finding (PRV001) for an attack whose AUC is above this (default 0.6).
    pub max_auc: Option<f64>,
    /// Rows per side whose features model inversion infers (default 200;
    /// 0 skips it).
    pub inversion_rows: Option<usize>,
}

/// `mlsec explain`'s options (defaults: the command's).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExplainSection {
    /// A sensitive column (sex, age band, region): fairness across its groups.
    pub sensitive: Option<String>,
    /// The favourable class (default: the model's last class).
    pub positive: Option<String>,
    /// A finding (EXP001) when a fairness ratio is below this (default 0.8).
    pub min_ratio: Option<f64>,
    /// Repeats of permutation importance (default 5; 0 skips it).
    pub repeats: Option<usize>,
    /// 1-based data rows explained with Kernel SHAP.
    #[serde(default)]
    pub shap_rows: Vec<u64>,
    /// Background rows for Kernel SHAP (default 100).
    pub background: Option<usize>,
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
