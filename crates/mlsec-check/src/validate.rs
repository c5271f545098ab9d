//! The `[[validate]]` entries of `mlsec.toml` as checks: `mlsec redteam`,
//! `mlsec explain` and, with training rows, `mlsec privacy`, each on the
//! entry's ONNX model, loaded in process once for all three.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use mlsec_core::Subject;
use mlsec_validate::attack::{Kind, Norm};
use mlsec_validate::explain::ExplainOptions;
use mlsec_validate::privacy::{Attack, AuditOptions};
use mlsec_validate::RedteamOptions;

use crate::project::{short_name, Project, ValidateEntry};
use crate::{CheckError, CheckKind, Plan};

/// The entry's name in reports and evidence files: its own, else the name
/// of the `[[model]]` that holds the file, else the file's stem.
pub(crate) fn name_of(entry: &ValidateEntry, project: &Project) -> String {
    if let Some(name) = &entry.name {
        return name.clone();
    }
    project
        .model
        .iter()
        .find(|m| entry.model.starts_with(&m.path))
        .map(|m| m.name.clone().unwrap_or_else(|| short_name(&m.path)))
        .unwrap_or_else(|| {
            entry
                .model
                .file_stem()
                .map_or_else(|| short_name(&entry.model), |s| s.to_string_lossy().into())
        })
}

/// The files an entry names, each with what it is, for the check that they exist.
pub(crate) fn files(entry: &ValidateEntry) -> Vec<(&'static str, &Path)> {
    let mut files = vec![("validated model", entry.model.as_path())];
    files.push(("validation data", &entry.data));
    if let Some(p) = &entry.redteam.profile {
        files.push(("redteam profile", p));
    }
    if let Some(privacy) = &entry.privacy {
        files.push(("privacy members", &privacy.members));
        if let Some(p) = &privacy.non_members {
            files.push(("privacy non-members", p));
        }
        if let Some(p) = &privacy.shadow_data {
            files.push(("privacy shadow data", p));
        }
    }
    files
}

/// The model of an entry and its subject, loaded and hashed once by the
/// first of its checks to run and shared with the others.
#[derive(Clone)]
struct SharedModel {
    path: PathBuf,
    cell: Arc<OnceLock<Result<(mlsec_onnx::OnnxModel, Subject), String>>>,
}

impl SharedModel {
    fn get(&self) -> Result<(&mlsec_onnx::OnnxModel, Subject), String> {
        let loaded = self.cell.get_or_init(|| {
            let model = mlsec_onnx::OnnxModel::load(&self.path).map_err(|e| e.to_string())?;
            let subject = Subject::of_file(&self.path)
                .map_err(|e| format!("{}: {e}", self.path.display()))?;
            Ok((model, subject))
        });
        let (model, subject) = loaded.as_ref().map_err(Clone::clone)?;
        Ok((model, subject.clone()))
    }
}

/// The entry's checks. Options that do not parse (an unknown attack or
/// norm) are an error of the project file, found before anything runs.
pub(crate) fn plans(
    entry: &ValidateEntry,
    name: &str,
    config: &Path,
    at: &dyn Fn(&Path) -> PathBuf,
    wanted: &dyn Fn(CheckKind) -> bool,
) -> Result<Vec<Plan>, CheckError> {
    let bad = |key: &str, why: String| {
        CheckError::Project(format!(
            "{}: [[validate]] `{name}`: {key}: {why}",
            config.display()
        ))
    };
    let model = SharedModel {
        path: at(&entry.model),
        cell: Arc::default(),
    };
    let data = at(&entry.data);
    let features = (!entry.features.is_empty()).then(|| entry.features.clone());
    let target = model.path.display().to_string();
    let mut plans = Vec::new();

    if wanted(CheckKind::Redteam) {
        let r = &entry.redteam;
        let mut opts = RedteamOptions::new(data.clone(), entry.label.clone());
        opts.features = features.clone();
        opts.exclude = entry.exclude.clone();
        opts.seed = entry.seed;
        if let Some(list) = &r.attack {
            opts.attacks = list
                .iter()
                .map(|a| a.parse::<Kind>().map_err(|why| bad("redteam.attack", why)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(norm) = &r.norm {
            opts.norm = norm
                .parse::<Norm>()
                .map_err(|why| bad("redteam.norm", why))?;
        }
        if let Some(eps) = &r.eps {
            opts.eps = eps.clone();
        }
        opts.budget = r.budget.unwrap_or(opts.budget);
        opts.rows = r.rows.unwrap_or(opts.rows);
        opts.max_success = r.max_success.unwrap_or(opts.max_success);
        opts.target = r.target.clone();
        opts.profile = r.profile.as_ref().map(|p| at(p));
        opts.bounds = r
            .bounds
            .iter()
            .map(|(col, [lo, hi])| (col.clone(), *lo, *hi))
            .collect();
        opts.integer = r.integer.clone();
        opts.immutable = r.immutable.clone();
        opts.one_hot = r.one_hot.clone();
        let model = model.clone();
        plans.push(Plan {
            kind: CheckKind::Redteam,
            target: target.clone(),
            file: format!("redteam-{name}.json"),
            run: Box::new(move || {
                let (loaded, subject) = model.get()?;
                mlsec_validate::redteam(loaded, subject, &opts).map_err(|e| e.to_string())
            }),
        });
    }

    if let Some(p) = entry
        .privacy
        .as_ref()
        .filter(|_| wanted(CheckKind::Privacy))
    {
        let non_members = p
            .non_members
            .as_ref()
            .map_or_else(|| data.clone(), |n| at(n));
        let mut opts = AuditOptions::new(at(&p.members), non_members, entry.label.clone());
        opts.features = features.clone();
        opts.exclude = entry.exclude.clone();
        opts.shadow_data = p.shadow_data.as_ref().map(|s| at(s));
        opts.max_auc = p.max_auc.unwrap_or(opts.max_auc);
        if let Some(list) = &p.attack {
            opts.privacy.attacks = list
                .iter()
                .map(|a| {
                    a.parse::<Attack>()
                        .map_err(|why| bad("privacy.attack", why))
                })
                .collect::<Result<_, _>>()?;
        }
        opts.privacy.lira_shadows = p.shadow.unwrap_or(opts.privacy.lira_shadows);
        opts.privacy.rows = p.rows.unwrap_or(opts.privacy.rows);
        opts.privacy.inversion_rows = p.inversion_rows.unwrap_or(opts.privacy.inversion_rows);
        opts.privacy.seed = entry.seed;
        let model = model.clone();
        plans.push(Plan {
            kind: CheckKind::Privacy,
            target: target.clone(),
            file: format!("privacy-{name}.json"),
            run: Box::new(move || {
                let (loaded, subject) = model.get()?;
                mlsec_validate::privacy::audit(loaded, subject, &opts).map_err(|e| e.to_string())
            }),
        });
    }

    if wanted(CheckKind::Explain) {
        let x = &entry.explain;
        let mut opts = ExplainOptions::new(data, entry.label.clone());
        opts.features = features;
        opts.exclude = entry.exclude.clone();
        opts.sensitive = x.sensitive.clone();
        opts.positive = x.positive.clone();
        opts.min_ratio = x.min_ratio.unwrap_or(opts.min_ratio);
        opts.repeats = x.repeats.unwrap_or(opts.repeats);
        opts.shap_rows = x.shap_rows.clone();
        opts.background = x.background.unwrap_or(opts.background);
        opts.seed = entry.seed;
        plans.push(Plan {
            kind: CheckKind::Explain,
            target,
            file: format!("explain-{name}.json"),
            run: Box::new(move || {
                let (loaded, subject) = model.get()?;
                mlsec_validate::explain::explain(loaded, subject, &opts).map_err(|e| e.to_string())
            }),
        });
    }
    Ok(plans)
}
