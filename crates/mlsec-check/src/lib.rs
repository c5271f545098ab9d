//! `mlsec check`: one gate for a model project. Reads `mlsec.toml`, runs
//! every applicable producer in-process and in parallel (scan, signature
//! verification, BOM, data verification, PII, drift, poisoning, and the
//! validation of models: robustness, privacy, fairness), keeps each
//! evidence envelope in the evidence folder, evaluates the policies over
//! all of it, and returns the decision as an envelope of kind `check`.

// Library code may not index, slice or unwrap: a bad length must become an
// error, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

mod init;
mod project;
mod validate;

pub use init::{init, Proposal, DATA_EXTENSIONS};
pub use project::{
    DatasetEntry, ExplainSection, ModelEntry, PolicySection, PrivacySection, Project,
    ProjectSection, RedteamSection, ValidateEntry,
};

use mlsec_core::{Category, Evidence, Fault, Finding, Severity, Subject};
use mlsec_policy::{Decision, FrameworkStatus, Level, PolicyOptions, PolicySet};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The checks `mlsec check` can run, by the names `--only` and `--skip` take.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// `mlsec scan` over every model.
    Scan,
    /// `mlsec verify` of each model that names a key or CA.
    Sign,
    /// `mlsec bom` of each model.
    Bom,
    /// `mlsec data verify` of each dataset that names a manifest.
    Data,
    /// `mlsec data pii` over the datasets.
    Pii,
    /// `mlsec data drift` of each dataset that names a `reference`.
    Drift,
    /// `mlsec data issues` of each dataset that names a `label`.
    Issues,
    /// `mlsec threat-model` of the project's `threat-model` file, against
    /// the policies this check loaded.
    Threat,
    /// `mlsec redteam` of each `[[validate]]` model.
    Redteam,
    /// `mlsec privacy` of each `[[validate]]` model with `[validate.privacy]`.
    Privacy,
    /// `mlsec explain` of each `[[validate]]` model.
    Explain,
}

impl CheckKind {
    pub const ALL: [CheckKind; 11] = [
        CheckKind::Scan,
        CheckKind::Sign,
        CheckKind::Bom,
        CheckKind::Data,
        CheckKind::Pii,
        CheckKind::Drift,
        CheckKind::Issues,
        CheckKind::Threat,
        CheckKind::Redteam,
        CheckKind::Privacy,
        CheckKind::Explain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Scan => "scan",
            CheckKind::Sign => "sign",
            CheckKind::Bom => "bom",
            CheckKind::Data => "data",
            CheckKind::Pii => "pii",
            CheckKind::Drift => "drift",
            CheckKind::Issues => "issues",
            CheckKind::Threat => "threat",
            CheckKind::Redteam => "redteam",
            CheckKind::Privacy => "privacy",
            CheckKind::Explain => "explain",
        }
    }
}

impl std::str::FromStr for CheckKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CheckKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = CheckKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("no check `{s}` (there are: {})", all.join(", "))
            })
    }
}

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The project folder.
    pub root: PathBuf,
    /// The project file; default `ROOT/mlsec.toml`.
    pub config: Option<PathBuf>,
    /// Run only these checks (empty: all that apply).
    pub only: Vec<CheckKind>,
    pub skip: Vec<CheckKind>,
    /// Where the evidence goes; default from the project file, else `ROOT/.mlsec/evidence`.
    pub evidence: Option<PathBuf>,
}

/// Why the gate could not decide. Every one of these exits 2, never 0.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{}: {reason}", path.display())]
    Io {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
    /// A project file that does not parse, or names what is not there.
    #[error("{0}")]
    Project(String),
    #[error(transparent)]
    Policy(#[from] mlsec_policy::PolicyError),
    /// Signing the evidence bundle failed.
    #[error(transparent)]
    Sign(#[from] mlsec_sign::SignError),
}

impl CheckError {
    pub fn fault(&self) -> Fault {
        match self {
            CheckError::Io { fault, .. } => *fault,
            CheckError::Project(_) => Fault::Input,
            CheckError::Policy(e) => e.fault(),
            CheckError::Sign(e) => e.fault(),
        }
    }

    pub(crate) fn io(path: &Path, e: &std::io::Error) -> CheckError {
        CheckError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
            fault: Fault::of_io(e),
        }
    }
}

/// One check as it ran.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckRun {
    pub kind: CheckKind,
    /// What it looked at: a model or dataset path, or `models`/`datasets` for all.
    pub target: String,
    /// `ran` or `error`.
    pub status: String,
    /// Why it could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The evidence file it wrote, relative to the evidence folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The envelope's kind and verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    pub findings: usize,
    pub millis: u64,
}

/// `details` of a `check` evidence envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckDetails {
    pub project: String,
    pub root: String,
    /// The project file.
    pub config: String,
    /// Where the envelopes are.
    pub evidence_dir: String,
    /// `pass`, `warn` (warnings only), `deny`, or `error` (a check could not run).
    pub decision: String,
    pub checks: Vec<CheckRun>,
    /// Every policy message and every rule's outcome.
    pub policy: Decision,
    /// Each framework's controls: met, failed or not covered.
    pub compliance: Vec<FrameworkStatus>,
}

impl CheckDetails {
    pub fn of(evidence: &Evidence) -> Result<CheckDetails, serde_json::Error> {
        serde_json::from_value(evidence.details.clone())
    }
}

/// A planned check.
pub(crate) struct Plan {
    kind: CheckKind,
    target: String,
    file: String,
    run: Box<dyn FnOnce() -> Result<Evidence, String> + Send>,
}

/// Runs the project's checks and decides. Returns the `check` envelope;
/// it is also written, with every producer's envelope and the policy input
/// document, to the evidence folder.
pub fn run(options: &CheckOptions) -> Result<Evidence, CheckError> {
    let root = &options.root;
    let config = options.config.clone().unwrap_or_else(|| {
        let file = root.join("mlsec.toml");
        file.strip_prefix(".")
            .map(Path::to_path_buf)
            .unwrap_or(file)
    });
    if !config.is_file() {
        return Err(CheckError::Project(format!(
            "{}: no project file (write one with the models, datasets and keys to check; see `mlsec check --help`)",
            config.display()
        )));
    }
    let project = Project::load(&config)?;
    let base = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let at = |p: &Path| {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        // `mlsec check .` names `models/x.pt`, not `./models/x.pt`: code
        // scanning matches SARIF locations to repository paths.
        let joined = base.join(p);
        match joined.strip_prefix(".") {
            Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
            _ => joined,
        }
    };
    check_inputs(&project, &config, &at)?;
    let scan_config = mlsec_scan::ScanConfig::from_toml_file(&config)
        .map_err(|e| CheckError::Project(e.to_string()))?;
    let policies = PolicySet::load(&PolicyOptions {
        packs: project.policy.packs.clone(),
        paths: project.policy.paths.iter().map(|p| at(p)).collect(),
        skip: project.policy.skip.clone(),
        ..PolicyOptions::default()
    })?;
    let evidence_dir = options
        .evidence
        .clone()
        .or_else(|| project.project.evidence.as_ref().map(|p| at(p)))
        .unwrap_or_else(|| base.join(".mlsec/evidence"));
    let wanted = |k: CheckKind| {
        (options.only.is_empty() || options.only.contains(&k)) && !options.skip.contains(&k)
    };
    let plans = unique_files(plan(&project, &config, &at, &scan_config, &wanted)?);
    std::fs::create_dir_all(&evidence_dir).map_err(|e| CheckError::io(&evidence_dir, &e))?;
    let runs = execute(plans, &evidence_dir);

    // The policy input: the project, what ran, and every envelope by kind.
    let mut by_kind: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (run, evidence) in &runs {
        if let Some(e) = evidence {
            let mut value = serde_json::to_value(e)
                .map_err(|e| CheckError::Project(format!("internal error: {e}")))?;
            // Which check made it, so a policy can tell one model's BOM from another's.
            if let Some(fields) = value.as_object_mut() {
                let check = json!({"kind": run.kind, "target": run.target, "file": run.evidence});
                fields.insert("check".into(), check);
            }
            by_kind.entry(e.kind.clone()).or_default().push(value);
        }
    }
    let name = project.project.name.clone().unwrap_or_else(|| {
        project::short_name(&std::path::absolute(&base).unwrap_or(base.clone()))
    });
    let checks: Vec<CheckRun> = runs.iter().map(|(r, _)| r.clone()).collect();
    let input = json!({
        "project": {"name": name, "root": base.display().to_string(), "config": project},
        "models": project.model.iter().map(|m| json!({
            "name": m.name.clone().unwrap_or_else(|| project::short_name(&m.path)),
            "path": at(&m.path).display().to_string(),
            "key": m.key.is_some() || !m.certificate_chain.is_empty(),
        })).collect::<Vec<_>>(),
        "datasets": project.dataset.iter().map(|d| json!({
            "name": d.name.clone().unwrap_or_else(|| project::short_name(&d.path)),
            "path": at(&d.path).display().to_string(),
            "manifest": d.manifest.as_ref().map(|m| at(m).display().to_string()),
            "pii": d.pii,
        })).collect::<Vec<_>>(),
        "checks": checks,
        "evidence": by_kind,
    });
    write_json(&evidence_dir.join("input.json"), &input)?;
    let decision = policies.evaluate(&input)?;
    let compliance = mlsec_policy::compliance(&mlsec_policy::Catalog::bundled(), &decision);

    // The threat model is judged against the rules that just ran, so it
    // comes after them; it is no input to the policies.
    let mut checks = checks;
    if let Some(pipeline) = project
        .project
        .threat_model
        .as_ref()
        .filter(|_| wanted(CheckKind::Threat))
    {
        checks.push(threat_model(&at(pipeline), &decision, &evidence_dir));
    }

    let errored = checks.iter().any(|c| c.status == "error");
    let verdict = if errored {
        "error"
    } else if decision.denied() {
        "deny"
    } else if decision.messages.is_empty() {
        "pass"
    } else {
        "warn"
    };
    let findings = decision
        .messages
        .iter()
        // A message that names no subject is about the project: its file.
        .map(|m| policy_finding(m, &config.display().to_string()))
        .collect();
    let mut subjects: Vec<Subject> = project
        .model
        .iter()
        .map(|m| &m.path)
        .chain(project.dataset.iter().map(|d| &d.path))
        .map(|p| Subject {
            name: at(p).display().to_string(),
            digest: Default::default(),
        })
        .collect();
    subjects.dedup_by(|a, b| a.name == b.name);
    let details = CheckDetails {
        project: name,
        root: base.display().to_string(),
        config: config.display().to_string(),
        evidence_dir: evidence_dir.display().to_string(),
        decision: verdict.into(),
        checks,
        policy: decision,
        compliance,
    };
    let details = serde_json::to_value(&details)
        .map_err(|e| CheckError::Project(format!("internal error: {e}")))?;
    let evidence = Evidence::new("check", subjects, findings, details);
    write_json(&evidence_dir.join("check.json"), &evidence)?;
    Ok(evidence)
}

/// Runs `mlsec threat-model` of `pipeline` with the decision's rules as the
/// coverage and keeps its envelope; a description that does not parse is a
/// check in error (exit 2), never a silent pass.
fn threat_model(pipeline: &Path, decision: &Decision, dir: &Path) -> CheckRun {
    let started = Instant::now();
    let coverage = mlsec_threat::Coverage::from_outcomes(&decision.rules);
    let file = "threat-model.json";
    let result = mlsec_threat::run(pipeline, &coverage)
        .map_err(|e| e.to_string())
        .and_then(|e| {
            write_json(&dir.join(file), &e)
                .map(|()| e)
                .map_err(|e| e.to_string())
        });
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut run = CheckRun {
        kind: CheckKind::Threat,
        target: pipeline.display().to_string(),
        status: "ran".into(),
        error: None,
        evidence: None,
        evidence_kind: None,
        verdict: None,
        findings: 0,
        millis,
    };
    match result {
        Ok(evidence) => {
            run.evidence = Some(file.into());
            run.evidence_kind = Some(evidence.kind.clone());
            run.verdict = Some(evidence.summary.verdict.clone());
            run.findings = evidence.findings.len();
        }
        Err(e) => {
            run.status = "error".into();
            run.error = Some(e);
        }
    }
    run
}

/// Everything the project file names must be there: a missing model, dataset,
/// manifest or key is an error naming it, never a silent pass.
fn check_inputs(
    project: &Project,
    config: &Path,
    at: &dyn Fn(&Path) -> PathBuf,
) -> Result<(), CheckError> {
    let must = |what: &str, p: &Path| -> Result<(), CheckError> {
        let full = at(p);
        if std::fs::metadata(&full).is_err() {
            return Err(CheckError::Project(format!(
                "{}: {what} `{}` does not exist ({})",
                config.display(),
                p.display(),
                full.display()
            )));
        }
        Ok(())
    };
    for m in &project.model {
        must("model", &m.path)?;
        for k in m.key.iter().chain(&m.certificate_chain) {
            must("key", k)?;
        }
        if let Some(s) = &m.signature {
            must("signature", s)?;
        }
    }
    for d in &project.dataset {
        must("dataset", &d.path)?;
        if let Some(m) = &d.manifest {
            must("manifest", m)?;
        }
        for k in d.key.iter().chain(&d.certificate_chain) {
            must("key", k)?;
        }
        if (d.key.is_some() || !d.certificate_chain.is_empty()) && d.manifest.is_none() {
            return Err(CheckError::Project(format!(
                "{}: dataset `{}` names a key but no manifest to check it against",
                config.display(),
                d.path.display()
            )));
        }
    }
    for d in &project.dataset {
        if let Some(r) = &d.reference {
            must("drift reference", r)?;
        }
    }
    if let Some(p) = &project.project.threat_model {
        must("threat model", p)?;
    }
    for entry in &project.validate {
        for (what, p) in validate::files(entry) {
            must(what, p)?;
        }
    }
    if project.model.is_empty() && project.dataset.is_empty() && project.validate.is_empty() {
        return Err(CheckError::Project(format!(
            "{}: names no [[model]], [[dataset]] or [[validate]]: nothing to check",
            config.display()
        )));
    }
    Ok(())
}

fn trust_of(
    key: &Option<PathBuf>,
    chain: &[PathBuf],
    at: &dyn Fn(&Path) -> PathBuf,
) -> Option<mlsec_sign::TrustFiles> {
    (key.is_some() || !chain.is_empty()).then(|| mlsec_sign::TrustFiles {
        key: key.as_ref().map(|k| at(k)),
        certificate_chain: chain.iter().map(|c| at(c)).collect(),
    })
}

/// The checks that apply, each as a closure that makes its envelope.
fn plan(
    project: &Project,
    config: &Path,
    at: &dyn Fn(&Path) -> PathBuf,
    scan_config: &mlsec_scan::ScanConfig,
    wanted: &dyn Fn(CheckKind) -> bool,
) -> Result<Vec<Plan>, CheckError> {
    let mut plans = Vec::new();
    let models: Vec<PathBuf> = project.model.iter().map(|m| at(&m.path)).collect();
    if wanted(CheckKind::Scan) && !models.is_empty() {
        let options = mlsec_scan::ScanOptions {
            paths: models.clone(),
            config: scan_config.clone(),
        };
        plans.push(Plan {
            kind: CheckKind::Scan,
            target: "models".into(),
            file: "scan.json".into(),
            run: Box::new(move || mlsec_scan::run(&options, &|_| {}).map_err(|e| e.to_string())),
        });
    }
    for m in &project.model {
        let path = at(&m.path);
        let name = m
            .name
            .clone()
            .unwrap_or_else(|| project::short_name(&m.path));
        if let Some(trust) =
            trust_of(&m.key, &m.certificate_chain, at).filter(|_| wanted(CheckKind::Sign))
        {
            let signature = m
                .signature
                .as_ref()
                .map(|s| at(s))
                .unwrap_or_else(|| mlsec_sign::default_signature(&path));
            let options = mlsec_sign::VerifyOptions {
                model: mlsec_sign::ModelOptions {
                    model: path.clone(),
                    signature,
                    ignore_paths: Vec::new(),
                    ignore_git_paths: true,
                    allow_symlinks: false,
                },
                ignore_unsigned_files: false,
            };
            plans.push(Plan {
                kind: CheckKind::Sign,
                target: path.display().to_string(),
                file: format!("signature-{name}.json"),
                run: Box::new(move || {
                    let trust = mlsec_sign::load_trust(&trust).map_err(|e| e.to_string())?;
                    mlsec_sign::verify(&options, &trust, &|_| {}).map_err(|e| e.to_string())
                }),
            });
        }
        if wanted(CheckKind::Bom) {
            let trust = trust_of(&m.key, &m.certificate_chain, at);
            let options = mlsec_bom::BomOptions {
                model: path.clone(),
                scan_config: scan_config.clone(),
                name: m.name.clone(),
                signature: m.signature.as_ref().map(|s| at(s)),
                ..Default::default()
            };
            plans.push(Plan {
                kind: CheckKind::Bom,
                target: path.display().to_string(),
                file: format!("bom-{name}.json"),
                run: Box::new(move || {
                    let mut options = options;
                    options.trust = trust
                        .map(|t| mlsec_sign::load_trust(&t))
                        .transpose()
                        .map_err(|e| e.to_string())?;
                    mlsec_bom::run(&options).map_err(|e| e.to_string())
                }),
            });
        }
    }
    for d in &project.dataset {
        let Some(manifest) = d.manifest.as_ref().map(|m| at(m)) else {
            continue;
        };
        if !wanted(CheckKind::Data) {
            continue;
        }
        let name = d
            .name
            .clone()
            .unwrap_or_else(|| project::short_name(&d.path));
        let trust = trust_of(&d.key, &d.certificate_chain, at);
        let paths = vec![at(&d.path)];
        let signature = d.signature.as_ref().map(|s| at(s));
        plans.push(Plan {
            kind: CheckKind::Data,
            target: at(&d.path).display().to_string(),
            file: format!("data.integrity-{name}.json"),
            run: Box::new(move || {
                let trust = trust
                    .map(|t| mlsec_sign::load_trust(&t))
                    .transpose()
                    .map_err(|e| e.to_string())?;
                mlsec_data::verify_dataset(&mlsec_data::DatasetVerifyOptions {
                    paths,
                    manifest,
                    signature,
                    trust,
                    read: mlsec_data::ReadOptions::default(),
                    exclude: Vec::new(),
                })
                .map_err(|e| e.to_string())
            }),
        });
    }
    for d in project.dataset.iter().filter(|_| wanted(CheckKind::Drift)) {
        let Some(reference) = d.reference.as_ref().map(|r| at(r)) else {
            continue;
        };
        let name = d
            .name
            .clone()
            .unwrap_or_else(|| project::short_name(&d.path));
        let current = at(&d.path);
        let mut options = mlsec_quality::DriftOptions::new(reference, current.clone());
        options.exclude = d.drift_exclude.clone();
        plans.push(Plan {
            kind: CheckKind::Drift,
            target: current.display().to_string(),
            file: format!("drift-{name}.json"),
            run: Box::new(move || mlsec_quality::drift(&options).map_err(|e| e.to_string())),
        });
    }
    for d in project.dataset.iter().filter(|_| wanted(CheckKind::Issues)) {
        let Some(label) = d.label.clone() else {
            continue;
        };
        let name = d
            .name
            .clone()
            .unwrap_or_else(|| project::short_name(&d.path));
        let data = at(&d.path);
        let mut options = mlsec_quality::IssuesOptions::new(data.clone());
        options.label = Some(label);
        options.exclude = d.issues_exclude.clone();
        plans.push(Plan {
            kind: CheckKind::Issues,
            target: data.display().to_string(),
            file: format!("issues-{name}.json"),
            run: Box::new(move || mlsec_quality::issues(&options).map_err(|e| e.to_string())),
        });
    }
    let pii: Vec<PathBuf> = project
        .dataset
        .iter()
        .filter(|d| d.pii)
        .map(|d| at(&d.path))
        .collect();
    if wanted(CheckKind::Pii) && !pii.is_empty() {
        plans.push(Plan {
            kind: CheckKind::Pii,
            target: "datasets".into(),
            file: "data.pii.json".into(),
            run: Box::new(move || {
                mlsec_data::scan_pii(&mlsec_data::PiiOptions {
                    paths: pii,
                    entities: Vec::new(),
                    read: mlsec_data::ReadOptions::default(),
                    max_findings: mlsec_data::pii::DEFAULT_MAX_FINDINGS,
                })
                .map_err(|e| e.to_string())
            }),
        });
    }
    for entry in &project.validate {
        let name = validate::name_of(entry, project);
        plans.extend(validate::plans(entry, &name, config, at, wanted)?);
    }
    Ok(plans)
}

/// Gives each plan an evidence file of its own: one path component of
/// safe characters (a name from `mlsec.toml` never leaves the evidence
/// folder), numbered when two checks would share it (two models in folders
/// of one name), so that no envelope overwrites another.
fn unique_files(mut plans: Vec<Plan>) -> Vec<Plan> {
    let mut taken = std::collections::BTreeSet::new();
    for p in &mut plans {
        let safe: String = p
            .file
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = safe.strip_suffix(".json").unwrap_or(&safe).to_string();
        let mut file = format!("{stem}.json");
        let mut n = 2;
        while !taken.insert(file.clone()) {
            file = format!("{stem}-{n}.json");
            n += 1;
        }
        p.file = file;
    }
    plans
}

/// Runs the plans in parallel and writes each envelope; a check that fails
/// is recorded as `error`, the others still run.
fn execute(plans: Vec<Plan>, dir: &Path) -> Vec<(CheckRun, Option<Evidence>)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = plans
            .into_iter()
            .map(|p| {
                let run = CheckRun {
                    kind: p.kind,
                    target: p.target.clone(),
                    status: "ran".into(),
                    error: None,
                    evidence: None,
                    evidence_kind: None,
                    verdict: None,
                    findings: 0,
                    millis: 0,
                };
                let handle = s.spawn(move || {
                    let started = Instant::now();
                    let result = (p.run)();
                    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let written = result.and_then(|evidence| {
                        write_json(&dir.join(&p.file), &evidence)
                            .map(|()| evidence)
                            .map_err(|e| e.to_string())
                    });
                    (written, p.file, millis)
                });
                (run, handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(mut run, handle)| match handle.join() {
                Ok((Ok(evidence), file, millis)) => {
                    run.millis = millis;
                    run.evidence = Some(file);
                    run.evidence_kind = Some(evidence.kind.clone());
                    run.verdict = Some(evidence.summary.verdict.clone());
                    run.findings = evidence.findings.len();
                    (run, Some(evidence))
                }
                Ok((Err(e), _, millis)) => {
                    run.millis = millis;
                    run.status = "error".into();
                    run.error = Some(e);
                    (run, None)
                }
                // A check that panicked is an error like any other, never
                // a check that silently did not happen.
                Err(_) => {
                    run.status = "error".into();
                    run.error = Some("internal error: the check panicked".into());
                    (run, None)
                }
            })
            .collect()
    })
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), CheckError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| CheckError::Project(format!("internal error: {e}")))?;
    text.push('\n');
    mlsec_core::output::write_atomic(path, text.as_bytes()).map_err(|e| CheckError::io(path, &e))
}

/// Writes the evidence bundle of a finished check: every file of its
/// evidence folder that the decision rests on (`check.json`, `input.json`,
/// each check's envelope, and `report.html` when there is one) under
/// `evidence/`, signed with `credential` (see `mlsec_sign::evidence_bundle`).
/// `mlsec verify-attestation FILE` verifies it.
pub fn write_bundle(
    check: &Evidence,
    out: &Path,
    credential: &mlsec_sign::Credential,
) -> Result<(), CheckError> {
    let details =
        CheckDetails::of(check).map_err(|e| CheckError::Project(format!("internal error: {e}")))?;
    let dir = PathBuf::from(&details.evidence_dir);
    let mut names: Vec<String> = vec!["check.json".into(), "input.json".into()];
    names.extend(details.checks.iter().filter_map(|c| c.evidence.clone()));
    if dir.join("report.html").is_file() {
        names.push("report.html".into());
    }
    let mut members = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|e| CheckError::io(&path, &e))?;
        members.push((format!("evidence/{name}"), bytes));
    }
    let predicate = json!({
        "project": details.project,
        "decision": details.decision,
        "created": check.created,
        "tool": check.tool,
        "checks": details.checks.iter().map(|c| json!({
            "kind": c.kind, "target": c.target, "status": c.status,
            "verdict": c.verdict, "evidence": c.evidence,
        })).collect::<Vec<_>>(),
    });
    let archive = mlsec_sign::evidence_bundle::write(&members, &predicate, credential)?;
    mlsec_core::output::write_atomic(out, &archive).map_err(|e| CheckError::io(out, &e))
}

/// A policy message as a finding of the `check` envelope: denials are high,
/// warnings medium, so the default threshold fails on denials alone.
fn policy_finding(m: &mlsec_policy::Message, project_file: &str) -> Finding {
    let subject = m
        .details
        .get("subject")
        .and_then(Value::as_str)
        .unwrap_or(project_file)
        .to_string();
    Finding {
        rule: m.rule.clone().unwrap_or_else(|| m.package.clone()),
        severity: match m.level {
            Level::Deny => Severity::High,
            Level::Warn => Severity::Medium,
        },
        category: match m.level {
            Level::Deny => Category::Suspicious,
            Level::Warn => Category::Info,
        },
        subject,
        location: None,
        span: None,
        member: None,
        offset: None,
        message: m.msg.clone(),
        evidence: if m.details.is_null() {
            Value::Null
        } else {
            m.details.clone()
        },
        entity: None,
        confidence: None,
        preview: None,
    }
}
