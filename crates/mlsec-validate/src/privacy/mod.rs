//! Membership-inference audits: can someone who queries a model tell the
//! rows it was trained on from other rows of the same kind, and how many
//! queries does a copy of it cost?
//!
//! - [`metrics`]: ROC AUC, membership advantage and TPR at low FPR of
//!   membership scores (checked against scikit-learn).
//! - [`attacks`]: the attacks, each a score per row: `gap`, `loss`,
//!   `confidence`, `entropy`, `mentr` from the model's answers alone;
//!   `shadow` (Shokri et al.) and `lira`, `lira-offline` (Carlini et al.)
//!   with shadow models; `supervised`, an attack model cross-fitted on the
//!   audit's ground truth over all of those signals (the strongest).
//! - [`learner`]: the shadow models' learner (an MLP by default).
//! - [`extraction`]: queries a surrogate needs to agree with the model.
//! - [`inversion`]: how well a feature of a row can be recovered from the
//!   others and the model (attribute inference), on members and others.
//! - [`privacy`]: all of it on a model, its training rows (members) and
//!   rows it never saw (non-members).
//!
//! The audit needs ground truth: the caller knows which rows trained the
//! model. [`privacy`] samples the larger of members and non-members down to
//! the smaller (at most [`PrivacyOptions::rows`] each), attacks those rows,
//! and gives the attacks that need shadow models a shadow pool: the
//! non-members it does not attack ([`PrivacyOptions::shadow_share`] of them
//! at least), or a table of the caller's ([`PrivacyOptions::shadow_data`]).
//! The target model answers each attacked row once, in one batch; the
//! extraction estimate queries each pool row once more. Shadow models are
//! mlsec's own, trained on the rows' true labels, never the target's.
//!
//! Numbers in, numbers out: no files, no report. Every random choice comes
//! from [`crate::rng::Rng`] and [`PrivacyOptions::seed`], so a run can be
//! repeated exactly.

pub mod attacks;
pub mod extraction;
pub mod inversion;
pub mod learner;
pub mod metrics;

use mlsec_model::{argmax, Model, ModelError, Output};
use serde::{Deserialize, Serialize};

pub use attacks::{
    Attack, LiraScores, LiraSettings, Rows, ShadowSettings, SupervisedSettings, Variance,
};
pub use extraction::{Extraction, ExtractionSettings};
pub use inversion::{FeatureInversion, Inversion, InversionSettings};
pub use learner::{Learner, Mlp};
pub use metrics::{Separation, TprAtFpr};

use crate::error::ValidateError;
use crate::redteam::output_name;
use crate::rng::Rng;
use crate::table::Labelled;
use crate::ModelInfo;

/// Options of [`privacy`].
#[derive(Debug, Clone)]
pub struct PrivacyOptions {
    /// Attacks run, reported in this order (default: all of [`Attack::ALL`];
    /// a model that answers labels or scores allows only `gap`:
    /// [`Attack::defaults`]).
    pub attacks: Vec<Attack>,
    /// Shadow models of LiRA (default 16).
    pub lira_shadows: usize,
    /// Shadow models of the shadow attack (default 4).
    pub shokri_shadows: usize,
    /// How LiRA estimates the spread of φ (default: global below 64
    /// shadows).
    pub variance: Variance,
    /// LiRA maps the target's confidences onto the shadows' scale by
    /// quantiles before scoring (default true; see [`attacks`]).
    pub calibrate: bool,
    /// Learner of shadow models and the extraction surrogate (default: an
    /// MLP, [`Mlp::default`]).
    pub learner: Learner,
    pub seed: u64,
    /// Rows attacked per side at most (default 2,000); the larger side is
    /// sampled down to the smaller.
    pub rows: usize,
    /// Without `shadow_data`: the share of non-members held out as the
    /// shadow pool, at least (default 0.5). Non-members not attacked join
    /// the pool.
    pub shadow_share: f64,
    /// Rows the shadow pool keeps at most (default 4,000), sampled.
    pub shadow_rows: usize,
    /// A table of the caller's as the shadow pool (rows from the model's
    /// domain, trained on by neither side); then every non-member can be
    /// attacked.
    pub shadow_data: Option<Labelled>,
    /// Measure the extraction cost on the shadow pool (default true).
    pub extraction: bool,
    /// Agreement that counts as a copy (default 0.9).
    pub agreement: f64,
    /// Rows per side whose features are inferred by model inversion
    /// (default 200; 0 skips it).
    pub inversion_rows: usize,
}

impl Default for PrivacyOptions {
    fn default() -> Self {
        PrivacyOptions {
            attacks: Attack::ALL.to_vec(),
            lira_shadows: 16,
            shokri_shadows: 4,
            variance: Variance::Auto,
            calibrate: true,
            learner: Learner::default(),
            seed: 0,
            rows: 2000,
            shadow_share: 0.5,
            shadow_rows: 4000,
            shadow_data: None,
            extraction: true,
            agreement: 0.9,
            inversion_rows: 200,
        }
    }
}

/// Fewest rows attacked per side, and fewest shadow-pool rows for the
/// shadow attack and extraction.
pub const MIN_ROWS: usize = 20;

/// `details` of a `privacy` envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PrivacyDetails {
    pub model: ModelInfo,
    pub rows: RowsInfo,
    /// Accuracy on the attacked rows of each side: a gap is what the
    /// simplest attacks read.
    pub accuracy: Accuracy,
    /// One entry per attack, in the order asked.
    pub attacks: Vec<AttackReport>,
    /// Learner and counts of the shadow models, when an attack used them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadows: Option<ShadowInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction: Option<Extraction>,
    /// Model inversion: each feature inferred from the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inversion: Option<Inversion>,
    /// Rows sent to the model.
    pub queries: usize,
    pub seed: u64,
}

/// The rows of the audit.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RowsInfo {
    /// Members attacked (of `members_given`).
    pub members: usize,
    pub members_given: usize,
    /// Non-members attacked (of `non_members_given`).
    pub non_members: usize,
    pub non_members_given: usize,
    /// Rows of the shadow pool.
    pub shadow_pool: usize,
    /// Where the pool came from: `non-members` or `shadow-data`.
    pub shadow_source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Accuracy {
    pub members: f64,
    pub non_members: f64,
}

/// How well one attack tells members from non-members.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttackReport {
    pub attack: String,
    /// ROC AUC of the membership scores (0.5: guessing).
    pub auc: f64,
    /// Largest TPR − FPR over the thresholds.
    pub advantage: f64,
    /// Largest TPR at FPR ≤ 1% and ≤ 0.1%, keyed "0.01" and "0.001".
    pub tpr_at_fpr: TprAtFpr,
    /// Rows scored: members and non-members.
    pub rows: usize,
    /// Shadow models trained, for the attacks that use them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadows: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShadowInfo {
    pub learner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lira_shadows: Option<usize>,
    /// `global` or `per-row`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lira_variance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shokri_shadows: Option<usize>,
}

fn usage(m: impl Into<String>) -> ValidateError {
    ValidateError::Usage(m.into())
}

/// Checks that `table` holds rows the model reads with classes it has.
fn check_table(model: &dyn Model, table: &Labelled, what: &str) -> Result<(), ValidateError> {
    let (d, k) = (model.features(), model.classes().len());
    if table.features.len() != d || table.x.len() != table.len() * d {
        return Err(usage(format!(
            "{what}: {} features per row, and {} reads {d}",
            table.features.len(),
            model.name()
        )));
    }
    if let Some(l) = table.labels.iter().find(|&&l| l >= k) {
        return Err(usage(format!(
            "{what}: class index {l}, and {} has {k} classes ({})",
            model.name(),
            model.classes().join(", ")
        )));
    }
    Ok(())
}

fn check_options(model: &dyn Model, opts: &PrivacyOptions) -> Result<(), ValidateError> {
    if model.output() == Output::Values || model.classes().len() < 2 {
        return Err(usage(format!(
            "{}: a regressor; membership attacks read classifiers",
            model.name()
        )));
    }
    if opts.attacks.is_empty() {
        return Err(usage("no attack to run"));
    }
    if model.output() != Output::Probabilities {
        if let Some(a) = opts.attacks.iter().find(|a| a.needs_probabilities()) {
            return Err(usage(format!(
                "{}: the model answers {}, not probabilities, and the {} attack reads probabilities; only the gap attack works on {} (softmax of scores would not be the model's confidence)",
                model.name(),
                output_name(model.output()),
                a.as_str(),
                output_name(model.output())
            )));
        }
    }
    if opts.attacks.contains(&Attack::Shadow) && opts.shokri_shadows == 0 {
        return Err(usage("the shadow attack needs at least 1 shadow model"));
    }
    let lira = opts
        .attacks
        .iter()
        .any(|a| matches!(a, Attack::Lira | Attack::LiraOffline));
    if lira && opts.lira_shadows < 2 {
        return Err(usage("LiRA needs at least 2 shadow models"));
    }
    if !(opts.shadow_share >= 0.0 && opts.shadow_share < 1.0) {
        return Err(usage("the shadow share must be in [0, 1)"));
    }
    if opts.rows < MIN_ROWS {
        return Err(usage(format!(
            "at least {MIN_ROWS} rows per side are needed, not {}",
            opts.rows
        )));
    }
    if !(opts.agreement > 0.0 && opts.agreement <= 1.0) {
        return Err(usage("the extraction agreement must be in (0, 1]"));
    }
    opts.learner.check().map_err(usage)?;
    Ok(())
}

/// A seeded shuffle of `0..n`.
fn shuffled(n: usize, seed: u64, stream: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::for_row(seed, stream);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

/// Rows `idx` of `table`: features and labels.
fn gather(table: &Labelled, idx: &[usize]) -> (Vec<f32>, Vec<usize>) {
    let mut x = Vec::with_capacity(idx.len() * table.features.len());
    let mut y = Vec::with_capacity(idx.len());
    for &i in idx {
        if let Some(&l) = table.labels.get(i) {
            x.extend_from_slice(table.row(i));
            y.push(l);
        }
    }
    (x, y)
}

/// The model's answers to `x`, checked: `width` finite numbers per row.
fn ask(model: &dyn Model, x: &[f32]) -> Result<Vec<f32>, ValidateError> {
    let n = mlsec_model::check_rows(model, x)?;
    let width = model.width();
    let answers = model.predict(x)?;
    if answers.len() != n * width {
        return Err(ValidateError::Model(ModelError::Runtime(format!(
            "{}: answered {} numbers for {n} rows of {width} outputs",
            model.name(),
            answers.len()
        ))));
    }
    if let Some(bad) = answers.iter().find(|v| !v.is_finite()) {
        return Err(ValidateError::Model(ModelError::Runtime(format!(
            "{}: answered a score that is not a finite number ({bad})",
            model.name()
        ))));
    }
    Ok(answers)
}

fn predicted(answers: &[f32], width: usize) -> Vec<usize> {
    answers
        .chunks_exact(width.max(1))
        .map(|r| argmax(r).unwrap_or(0))
        .collect()
}

fn accuracy(pred: &[usize], labels: &[usize]) -> f64 {
    let right = pred.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / labels.len().max(1) as f64
}

/// Membership-inference audit of `model`: `members` are rows it was trained
/// on, `non_members` rows of the same kind it never saw (their labels are
/// class indices into `model.classes()`).
pub fn privacy(
    model: &dyn Model,
    members: &Labelled,
    non_members: &Labelled,
    opts: &PrivacyOptions,
) -> Result<PrivacyDetails, ValidateError> {
    check_options(model, opts)?;
    check_table(model, members, "members")?;
    check_table(model, non_members, "non-members")?;
    if members.features != non_members.features {
        return Err(usage(format!(
            "members and non-members have different feature columns ({} and {})",
            members.features.join(", "),
            non_members.features.join(", ")
        )));
    }
    if let Some(s) = &opts.shadow_data {
        check_table(model, s, "shadow data")?;
    }
    let (d, k) = (model.features(), model.classes().len());

    // Which rows are attacked, and which form the shadow pool.
    let non_order = shuffled(non_members.len(), opts.seed, 0x4E4F_4E4D);
    let held = match opts.shadow_data {
        Some(_) => 0,
        None => (opts.shadow_share * non_members.len() as f64).round() as usize,
    };
    let side = members
        .len()
        .min(non_members.len().saturating_sub(held))
        .min(opts.rows);
    if side < MIN_ROWS {
        return Err(usage(format!(
            "{} members and {} non-members{}: at least {MIN_ROWS} of each are needed to attack",
            members.len(),
            non_members.len().saturating_sub(held),
            if held > 0 {
                format!(" (after holding {held} out as the shadow pool)")
            } else {
                String::new()
            }
        )));
    }
    let mut member_idx: Vec<usize> = shuffled(members.len(), opts.seed, 0x4D45_4D42)
        .into_iter()
        .take(side)
        .collect();
    member_idx.sort_unstable();
    let mut non_idx: Vec<usize> = non_order.iter().copied().take(side).collect();
    non_idx.sort_unstable();
    let (pool_x, pool_y, source) = match &opts.shadow_data {
        Some(s) => {
            let idx: Vec<usize> = shuffled(s.len(), opts.seed, 0x5348_4457)
                .into_iter()
                .take(opts.shadow_rows)
                .collect();
            let (x, y) = gather(s, &idx);
            (x, y, "shadow-data")
        }
        None => {
            let idx: Vec<usize> = non_order
                .iter()
                .copied()
                .skip(side)
                .take(opts.shadow_rows)
                .collect();
            let (x, y) = gather(non_members, &idx);
            (x, y, "non-members")
        }
    };
    let pool_n = pool_y.len();
    let needs_pool = opts.attacks.contains(&Attack::Shadow) || opts.extraction;
    if needs_pool && pool_n < MIN_ROWS {
        return Err(usage(format!(
            "the shadow pool has {pool_n} rows; the shadow attack and the extraction estimate need at least {MIN_ROWS} (give shadow data, or a larger shadow share)"
        )));
    }

    // The attacked rows: members first, then non-members; one query each.
    let (mx, my) = gather(members, &member_idx);
    let (nx, ny) = gather(non_members, &non_idx);
    let x: Vec<f32> = mx.iter().chain(&nx).copied().collect();
    let labels: Vec<usize> = my.iter().chain(&ny).copied().collect();
    let answers = ask(model, &x)?;
    let mut queries = labels.len();
    let width = model.width();
    let pred = predicted(&answers, width);
    let (pred_m, pred_n) = pred.split_at(side.min(pred.len()));
    let acc = Accuracy {
        members: accuracy(pred_m, &my),
        non_members: accuracy(pred_n, &ny),
    };

    let mut attacks_run: Vec<Attack> = Vec::new();
    for &a in &opts.attacks {
        if !attacks_run.contains(&a) {
            attacks_run.push(a);
        }
    }
    let targets = Rows {
        x: &x,
        d,
        labels: &labels,
    };
    let pool = Rows {
        x: &pool_x,
        d,
        labels: &pool_y,
    };
    let wants_lira = attacks_run
        .iter()
        .any(|a| matches!(a, Attack::Lira | Attack::LiraOffline | Attack::Supervised));
    let lira_settings = LiraSettings {
        shadows: opts.lira_shadows,
        learner: opts.learner.clone(),
        variance: opts.variance,
        calibrate: opts.calibrate,
        seed: opts.seed,
    };
    let lira_scores = if wants_lira {
        Some(attacks::lira(&answers, targets, pool, k, &lira_settings)?)
    } else {
        None
    };

    let mut reports = Vec::new();
    for &attack in &attacks_run {
        let (scores, shadows): (Vec<f64>, Option<usize>) = match attack {
            Attack::Shadow => (
                attacks::shadow_attack(
                    &answers,
                    &labels,
                    k,
                    pool,
                    &ShadowSettings {
                        shadows: opts.shokri_shadows,
                        learner: opts.learner.clone(),
                        seed: opts.seed,
                    },
                )?,
                Some(opts.shokri_shadows),
            ),
            Attack::Lira | Attack::LiraOffline => {
                let s = lira_scores.as_ref().map(|l| {
                    if attack == Attack::Lira {
                        l.online.clone()
                    } else {
                        l.offline.clone()
                    }
                });
                (s.unwrap_or_default(), Some(opts.lira_shadows))
            }
            Attack::Supervised => {
                let features =
                    attacks::supervised_features(&answers, width, &labels, lira_scores.as_ref());
                let member: Vec<bool> = (0..labels.len()).map(|i| i < side).collect();
                let settings = SupervisedSettings {
                    seed: opts.seed,
                    ..SupervisedSettings::default()
                };
                (
                    attacks::supervised_attack(&features, &member, &settings)?,
                    Some(opts.lira_shadows),
                )
            }
            other => (
                attacks::metric_scores(other, &answers, width, &labels).unwrap_or_default(),
                None,
            ),
        };
        let (sm, sn) = scores.split_at(side.min(scores.len()));
        let sep = metrics::separation(sm, sn).ok_or_else(|| {
            usage(format!(
                "{}: no scores on one side (model answered {} rows)",
                attack.as_str(),
                pred.len()
            ))
        })?;
        reports.push(AttackReport {
            attack: attack.as_str().into(),
            auc: sep.auc,
            advantage: sep.advantage,
            tpr_at_fpr: sep.tpr_at_fpr,
            rows: scores.len(),
            shadows,
        });
    }

    let extraction = if opts.extraction {
        // Query order: the pool is already a seeded shuffle.
        let pool_answers = ask(model, &pool_x)?;
        queries += pool_n;
        let pool_pred = predicted(&pool_answers, width);
        Some(extraction::extraction_cost(
            &pool_x,
            &pool_pred,
            &nx,
            pred_n,
            d,
            k,
            &ExtractionSettings {
                learner: opts.learner.clone(),
                agreement: opts.agreement,
                start: 16,
                seed: opts.seed,
            },
        )?)
    } else {
        None
    };
    let inversion = if opts.inversion_rows > 0 {
        // The attacker knows the domain: the pool's values, or the
        // non-members' when there is no pool.
        let domain = if pool_n > 0 { &pool_x } else { &nx };
        let settings = InversionSettings {
            rows: opts.inversion_rows,
            ..InversionSettings::default()
        };
        let found = inversion::inversion(
            model,
            &members.features,
            (mx.as_slice(), my.as_slice()),
            (nx.as_slice(), ny.as_slice()),
            domain,
            &settings,
        )?;
        queries += found.queries;
        Some(found)
    } else {
        None
    };
    let uses_shokri = attacks_run.contains(&Attack::Shadow);
    let shadows = (wants_lira || uses_shokri).then(|| ShadowInfo {
        learner: opts.learner.describe(),
        lira_shadows: wants_lira.then_some(opts.lira_shadows),
        lira_variance: wants_lira.then(|| {
            let per_row = match opts.variance {
                Variance::PerRow => true,
                Variance::Global => false,
                Variance::Auto => opts.lira_shadows >= 64,
            };
            if per_row { "per-row" } else { "global" }.to_string()
        }),
        shokri_shadows: uses_shokri.then_some(opts.shokri_shadows),
    });

    Ok(PrivacyDetails {
        model: ModelInfo {
            name: model.name().to_string(),
            features: d,
            classes: model.classes().to_vec(),
            output: output_name(model.output()).into(),
        },
        rows: RowsInfo {
            members: side,
            members_given: members.len(),
            non_members: side,
            non_members_given: non_members.len(),
            shadow_pool: pool_n,
            shadow_source: source.into(),
        },
        accuracy: acc,
        attacks: reports,
        shadows,
        extraction,
        inversion,
        queries,
        seed: opts.seed,
    })
}

/// The `privacy` evidence of `details`: a finding (PRV001) for each attack
/// whose AUC is above `max_auc`.
pub fn evidence(
    details: &PrivacyDetails,
    subjects: Vec<mlsec_core::Subject>,
    max_auc: f64,
) -> Result<mlsec_core::Evidence, ValidateError> {
    crate::error::threshold("max-auc", max_auc, 0.0, 1.0)?;
    let findings = details
        .attacks
        .iter()
        .filter(|a| a.auc > max_auc)
        .map(|a| {
            mlsec_core::Finding::new(
                &crate::rules::MEMBERSHIP,
                details.model.name.as_str(),
                format!(
                    "{}: AUC {:.3}, advantage {:.3}, TPR {:.3} at 1% FPR (members {}, non-members {})",
                    a.attack,
                    a.auc,
                    a.advantage,
                    a.tpr_at_fpr.fpr_1e2,
                    details.rows.members,
                    details.rows.non_members
                ),
            )
            .with_evidence(serde_json::json!({
                "attack": a.attack, "auc": a.auc, "advantage": a.advantage,
                "tpr_at_fpr": a.tpr_at_fpr, "max_auc": max_auc,
            }))
        })
        .collect();
    let value = serde_json::to_value(details).map_err(|e| usage(e.to_string()))?;
    Ok(mlsec_core::Evidence::new(
        "privacy", subjects, findings, value,
    ))
}

/// What [`audit`] reads: the model's training rows and rows it never saw,
/// as files, and when a membership score counts as a leak.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Rows the model was trained on (CSV, JSONL or Parquet).
    pub members: std::path::PathBuf,
    /// Rows of the same kind it never saw.
    pub non_members: std::path::PathBuf,
    pub label: String,
    /// Feature columns in the model's input order (default: every column
    /// but the label and `exclude`).
    pub features: Option<Vec<String>>,
    pub exclude: Vec<String>,
    /// Rows of the model's domain that neither side holds, for the shadow
    /// models (default: half the non-members).
    pub shadow_data: Option<std::path::PathBuf>,
    /// A finding (PRV001) for an attack whose AUC is above this.
    pub max_auc: f64,
    pub read: mlsec_data::ReadOptions,
    pub privacy: PrivacyOptions,
}

impl AuditOptions {
    pub fn new(
        members: std::path::PathBuf,
        non_members: std::path::PathBuf,
        label: String,
    ) -> AuditOptions {
        AuditOptions {
            members,
            non_members,
            label,
            features: None,
            exclude: Vec::new(),
            shadow_data: None,
            max_auc: 0.6,
            read: mlsec_data::ReadOptions::default(),
            privacy: PrivacyOptions::default(),
        }
    }
}

/// `mlsec privacy`: reads the member and non-member files, runs
/// [`privacy`] and returns the `privacy` envelope, whose subjects are the
/// model and both files.
pub fn audit(
    model: &dyn Model,
    model_subject: mlsec_core::Subject,
    opts: &AuditOptions,
) -> Result<mlsec_core::Evidence, ValidateError> {
    let table = |path: &std::path::Path| {
        crate::table::read_labelled(
            path,
            &opts.label,
            opts.features.as_deref(),
            &opts.exclude,
            model,
            &opts.read,
        )
    };
    let members = table(&opts.members)?;
    let non_members = table(&opts.non_members)?;
    let mut privacy_options = opts.privacy.clone();
    if let Some(path) = &opts.shadow_data {
        privacy_options.shadow_data = Some(table(path)?);
    }
    let details = privacy(model, &members, &non_members, &privacy_options)?;
    let file = |path: &std::path::Path| mlsec_core::Subject {
        name: path.display().to_string(),
        digest: Default::default(),
    };
    let subjects = vec![model_subject, file(&opts.members), file(&opts.non_members)];
    evidence(&details, subjects, opts.max_auc)
}
