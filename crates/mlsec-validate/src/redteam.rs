//! `mlsec redteam`: black-box evasion attacks on a labelled table, with the
//! clean accuracy, the robust accuracy and the attack success rate at each
//! epsilon, as an evidence envelope of kind `redteam`.
//!
//! Rows are sampled (seeded) from the data, and only those the model
//! classifies correctly are attacked. Features are scaled to [0, 1] by their
//! bounds (the data's minimum and maximum unless given), so `eps` is a share
//! of each feature's range. Score-based attacks run once per epsilon;
//! decision-based attacks run once, to the smallest epsilon, and their
//! distances give the success at every epsilon.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use mlsec_core::{Evidence, Finding, Subject};
use mlsec_data::ReadOptions;
use mlsec_model::{argmax, Model, Output};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::attack::{
    self, AttackError, Constraints, Goal, Kind, Norm, Oracle, Outcome, Settings, Task,
};
use crate::error::ValidateError;
use crate::rng::Rng;
use crate::rules;
use crate::table::{read_labelled, Labelled};

/// Options of [`redteam`].
#[derive(Debug, Clone)]
pub struct RedteamOptions {
    pub data: PathBuf,
    pub label: String,
    /// Feature columns in the model's input order (default: every column but
    /// the label and `exclude`, in file order).
    pub features: Option<Vec<String>>,
    pub exclude: Vec<String>,
    pub attacks: Vec<Kind>,
    pub norm: Norm,
    /// Radii, as shares of each feature's range.
    pub eps: Vec<f32>,
    /// Queries per attacked row.
    pub budget: usize,
    /// Rows sampled from the data (those classified correctly are attacked).
    pub rows: usize,
    pub seed: u64,
    /// Targeted attacks: the class every row must be moved to.
    pub target: Option<String>,
    /// Findings for attacks whose success rate is above this.
    pub max_success: f64,
    /// Bounds given for features (name, lower, upper), over the data's and
    /// the profile's.
    pub bounds: Vec<(String, f32, f32)>,
    /// A profile written by `mlsec data profile`: each feature that is a
    /// numeric column of it is bounded by the profile's minimum and maximum
    /// and the data's own.
    pub profile: Option<PathBuf>,
    pub integer: Vec<String>,
    pub immutable: Vec<String>,
    pub one_hot: Vec<Vec<String>>,
    /// Example perturbations reported per attack and epsilon.
    pub examples: usize,
    pub read: ReadOptions,
}

impl RedteamOptions {
    pub fn new(data: PathBuf, label: String) -> RedteamOptions {
        RedteamOptions {
            data,
            label,
            features: None,
            exclude: Vec::new(),
            attacks: vec![Kind::Square, Kind::Hsj],
            norm: Norm::Linf,
            eps: vec![0.05, 0.1],
            budget: 1000,
            rows: 200,
            seed: 0,
            target: None,
            max_success: 0.5,
            bounds: Vec::new(),
            profile: None,
            integer: Vec::new(),
            immutable: Vec::new(),
            one_hot: Vec::new(),
            examples: 3,
            read: ReadOptions::default(),
        }
    }
}

/// `details` of a `redteam` envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RedteamDetails {
    pub model: ModelInfo,
    pub data: DataInfo,
    /// Each feature's bounds and constraints, in the model's order.
    pub features: Vec<FeatureInfo>,
    /// Accuracy over the rows predicted: the sample, and (for
    /// decision-based attacks) up to 5,000 more rows to start from.
    pub clean_accuracy: f64,
    pub sample: SampleInfo,
    pub norm: String,
    pub budget: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// One entry per attack and epsilon.
    pub attacks: Vec<AttackResult>,
    /// Some rows could not be attacked to the end (the model failed or
    /// timed out): the rates count only the rows that finished.
    pub partial: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelInfo {
    pub name: String,
    pub features: usize,
    pub classes: Vec<String>,
    /// probabilities, scores or labels.
    pub output: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DataInfo {
    pub path: String,
    pub format: String,
    pub rows: u64,
    /// Rows left out: no label, or a feature that is not a finite number.
    pub skipped_rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeatureInfo {
    pub name: String,
    pub lower: f32,
    pub upper: f32,
    /// Where the bounds come from: `data` (the rows' minimum and maximum),
    /// `profile` (widened by the rows') or `given` (`--bounds`).
    pub bounds_from: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub integer: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immutable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SampleInfo {
    /// Rows sampled.
    pub rows: usize,
    /// Of those, rows the model classifies correctly (the ones attacked).
    pub correct: usize,
    pub seed: u64,
}

/// One attack at one epsilon.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttackResult {
    pub attack: String,
    pub norm: String,
    pub eps: f32,
    /// Accuracy on the sampled rows.
    pub clean_accuracy: f64,
    /// Accuracy on the sampled rows once attacked.
    pub robust_accuracy: f64,
    /// Share of the attacked rows whose decision flipped within `eps`.
    pub success_rate: f64,
    pub median_queries: f64,
    pub mean_queries: f64,
    /// Rows attacked to the end.
    pub rows: usize,
    pub successes: usize,
    /// The median distance of the successes (in the norm, scaled units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_perturbation: Option<f32>,
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
}

/// A row whose decision an attack flipped.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Example {
    /// 1-based row of the data.
    pub row: u64,
    pub label: String,
    pub adversarial_class: String,
    pub distance: f32,
    /// The features changed, in the data's units.
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    pub feature: String,
    pub from: f32,
    pub to: f32,
}

/// Scaled rows and what the oracle needs.
struct Space {
    lower: Vec<f32>,
    range: Vec<f32>,
    /// `FeatureInfo::bounds_from` of each feature.
    bounds_from: Vec<&'static str>,
    constraints: Constraints,
}

impl Space {
    fn scale(&self, row: &[f32]) -> Vec<f32> {
        row.iter()
            .zip(self.lower.iter().zip(&self.range))
            .map(|(&v, (&lo, &r))| {
                if r > 0.0 {
                    ((v - lo) / r).clamp(0.0, 1.0)
                } else {
                    0.0
                }
            })
            .collect()
    }
}

fn index_of(names: &[String], wanted: &str, what: &str) -> Result<usize, ValidateError> {
    names.iter().position(|n| n == wanted).ok_or_else(|| {
        ValidateError::Usage(format!(
            "{what}: no feature `{wanted}` (features: {})",
            names.join(", ")
        ))
    })
}

fn check_options(model: &dyn Model, opts: &RedteamOptions) -> Result<(), ValidateError> {
    if opts.attacks.is_empty() {
        return Err(ValidateError::Usage("no attack to run".into()));
    }
    if opts.eps.is_empty() || opts.eps.iter().any(|e| !(e.is_finite() && *e > 0.0)) {
        return Err(ValidateError::Usage(
            "--eps must be positive numbers".into(),
        ));
    }
    if opts.budget == 0 || opts.rows == 0 {
        return Err(ValidateError::Usage(
            "--budget and --rows must be at least 1".into(),
        ));
    }
    crate::error::threshold("max-success", opts.max_success, 0.0, 1.0)?;
    if model.output() == Output::Values || model.classes().len() < 2 {
        return Err(ValidateError::Usage(format!(
            "{}: a regressor; redteam attacks classifiers",
            model.name()
        )));
    }
    if model.output() == Output::Labels {
        if let Some(k) = opts.attacks.iter().find(|k| !k.decision_based()) {
            return Err(ValidateError::Usage(format!(
                "{}: the model answers labels only, and {} reads scores; use hsj or boundary",
                model.name(),
                k.as_str()
            )));
        }
    }
    Ok(())
}

/// Runs the attacks of `opts` on `model` and returns the evidence.
pub fn redteam(
    model: &dyn Model,
    model_subject: Subject,
    opts: &RedteamOptions,
) -> Result<Evidence, ValidateError> {
    check_options(model, opts)?;
    let data_name = opts.data.display().to_string();
    let table = read_labelled(
        &opts.data,
        &opts.label,
        opts.features.as_deref(),
        &opts.exclude,
        model,
        &opts.read,
    )?;
    let classes = model.classes().to_vec();
    let target = match &opts.target {
        Some(t) => Some(classes.iter().position(|c| c == t).ok_or_else(|| {
            ValidateError::Usage(format!(
                "--target {t}: not one of the model's classes ({})",
                classes.join(", ")
            ))
        })?),
        None => None,
    };
    let space = space(&table, opts)?;

    // The sample; the rows whose clean prediction is needed are the sample's
    // and, for decision-based attacks, up to START_POOL rows to start from:
    // not every row, since each prediction is a query (an endpoint's budget).
    let n = table.len();
    let sample = sample_rows(n, opts.rows, opts.seed);
    let needs_starts = opts.attacks.iter().any(|k| k.decision_based());
    let mut asked = sample.clone();
    if needs_starts {
        asked.extend(sample_rows(n, START_POOL, opts.seed ^ 0x5747_4152_5453));
        asked.sort_unstable();
        asked.dedup();
    }
    let x_asked: Vec<f32> = asked
        .iter()
        .flat_map(|&i| table.row(i).iter().copied())
        .collect();
    let mut predicted: Vec<Option<usize>> = vec![None; n];
    for (&i, p) in asked.iter().zip(predict_classes(model, &x_asked)?) {
        if let Some(slot) = predicted.get_mut(i) {
            *slot = Some(p);
        }
    }
    let right = |i: usize| predicted.get(i).copied().flatten() == table.labels.get(i).copied();
    let clean_accuracy =
        asked.iter().filter(|&&i| right(i)).count() as f64 / asked.len().max(1) as f64;

    let attacked: Vec<usize> = sample
        .iter()
        .copied()
        .filter(|&i| right(i))
        .filter(|&i| target.is_none_or(|t| table.labels.get(i) != Some(&t)))
        .collect();
    let correct_in_sample = sample.iter().filter(|&&i| right(i)).count();
    let sample_accuracy = correct_in_sample as f64 / sample.len().max(1) as f64;

    // Scaled rows, of the rows asked only.
    let mut scaled: Vec<Vec<f32>> = vec![Vec::new(); n];
    for &i in &asked {
        if let Some(slot) = scaled.get_mut(i) {
            *slot = space.scale(table.row(i));
        }
    }
    let starts: Vec<Vec<Vec<f32>>> = attacked
        .iter()
        .map(|&i| {
            if !needs_starts {
                return Vec::new();
            }
            let goal = goal_for(&table, i, target);
            nearest_meeting(&scaled, &predicted, &asked, i, &goal)
        })
        .collect();

    let mut results = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let min_eps = opts.eps.iter().copied().fold(f32::INFINITY, f32::min);
    for &kind in &opts.attacks {
        let runs: Vec<(f32, Vec<f32>)> = if kind.decision_based() {
            vec![(min_eps, opts.eps.clone())]
        } else {
            opts.eps.iter().map(|&e| (e, vec![e])).collect()
        };
        for (run_eps, report_eps) in runs {
            let started = Instant::now();
            let settings = Settings {
                norm: opts.norm,
                eps: run_eps,
                budget: opts.budget,
            };
            let outcomes: Vec<(usize, Result<Outcome, AttackError>)> = attacked
                .par_iter()
                .zip(starts.par_iter())
                .map(|(&i, starts)| {
                    let oracle = Oracle::new(
                        model,
                        &space.lower,
                        &space.range,
                        &space.constraints,
                        opts.budget,
                    );
                    let x = scaled.get(i).map(Vec::as_slice).unwrap_or(&[]);
                    let task = Task {
                        x,
                        goal: goal_for(&table, i, target),
                        starts,
                    };
                    let mut rng = Rng::for_row(opts.seed ^ (kind as u64) << 56, i as u64);
                    (i, attack::run(kind, &oracle, &task, &settings, &mut rng))
                })
                .collect();
            let seconds = started.elapsed().as_secs_f64();
            let mut finished = Vec::new();
            for (i, r) in outcomes {
                match r {
                    Ok(o) => finished.push((i, o)),
                    Err(AttackError::Unsupported(m)) => return Err(ValidateError::Usage(m)),
                    Err(e) => {
                        if failures.len() < 5 {
                            failures.push(format!(
                                "row {}: {e}",
                                table.rows.get(i).copied().unwrap_or(0)
                            ));
                        } else {
                            failures.push(String::new());
                        }
                    }
                }
            }
            for &eps in &report_eps {
                results.push(summarise(
                    kind,
                    opts,
                    eps,
                    &finished,
                    &table,
                    &space,
                    &classes,
                    &scaled,
                    model,
                    sample.len(),
                    correct_in_sample,
                    sample_accuracy,
                    seconds,
                ));
            }
        }
    }

    let partial = !failures.is_empty();
    let partial_reason = partial.then(|| {
        let shown: Vec<&str> = failures
            .iter()
            .filter(|f| !f.is_empty())
            .map(String::as_str)
            .collect();
        format!(
            "{} row attacks failed: {}",
            failures.len(),
            shown.join("; ")
        )
    });
    let findings = results
        .iter()
        .filter(|r| r.success_rate > opts.max_success)
        .map(|r| {
            Finding::new(
                &rules::EVASION,
                model.name(),
                format!(
                    "{} ({}, eps {}): {:.0}% of {} correctly classified rows flipped; median {} queries",
                    r.attack,
                    r.norm,
                    r.eps,
                    r.success_rate * 100.0,
                    r.rows,
                    r.median_queries
                ),
            )
            .with_evidence(serde_json::json!({
                "attack": r.attack, "norm": r.norm, "eps": r.eps,
                "success_rate": r.success_rate, "rows": r.rows,
                "median_queries": r.median_queries, "data": data_name,
            }))
        })
        .collect();
    let details = RedteamDetails {
        model: ModelInfo {
            name: model.name().to_string(),
            features: model.features(),
            classes: classes.clone(),
            output: output_name(model.output()).into(),
        },
        data: DataInfo {
            path: data_name.clone(),
            format: table.format.clone(),
            rows: table.total,
            skipped_rows: table.skipped,
        },
        features: table
            .features
            .iter()
            .enumerate()
            .map(|(j, name)| FeatureInfo {
                name: name.clone(),
                lower: space.lower.get(j).copied().unwrap_or(0.0),
                upper: space.lower.get(j).copied().unwrap_or(0.0)
                    + space.range.get(j).copied().unwrap_or(0.0),
                bounds_from: space.bounds_from.get(j).copied().unwrap_or("data").into(),
                integer: space.constraints.integer.contains(&j),
                immutable: space.constraints.immutable.contains(&j),
            })
            .collect(),
        clean_accuracy,
        sample: SampleInfo {
            rows: sample.len(),
            correct: correct_in_sample,
            seed: opts.seed,
        },
        norm: opts.norm.as_str().into(),
        budget: opts.budget,
        target: opts.target.clone(),
        attacks: results,
        partial,
        partial_reason,
    };
    let subjects = vec![
        model_subject,
        Subject {
            name: data_name,
            digest: BTreeMap::new(),
        },
    ];
    let details = serde_json::to_value(details).map_err(|e| ValidateError::Usage(e.to_string()))?;
    Ok(Evidence::new("redteam", subjects, findings, details))
}

pub(crate) fn output_name(o: Output) -> &'static str {
    match o {
        Output::Probabilities => "probabilities",
        Output::Scores => "scores",
        Output::Labels => "labels",
        Output::Values => "values",
    }
}

fn goal_for(table: &Labelled, i: usize, target: Option<usize>) -> Goal {
    Goal {
        label: table.labels.get(i).copied().unwrap_or(0),
        target,
    }
}

/// Bounds and constraints of each feature.
fn space(table: &Labelled, opts: &RedteamOptions) -> Result<Space, ValidateError> {
    let d = table.features.len();
    let mut lower = vec![f32::INFINITY; d];
    let mut upper = vec![f32::NEG_INFINITY; d];
    for row in table.x.chunks_exact(d.max(1)) {
        for ((lo, hi), &v) in lower.iter_mut().zip(upper.iter_mut()).zip(row) {
            *lo = lo.min(v);
            *hi = hi.max(v);
        }
    }
    let mut bounds_from = vec!["data"; d];
    if let Some(path) = &opts.profile {
        for (j, lo, hi) in profile_bounds(path, &table.features)? {
            if let (Some(l), Some(h), Some(from)) =
                (lower.get_mut(j), upper.get_mut(j), bounds_from.get_mut(j))
            {
                *l = l.min(lo);
                *h = h.max(hi);
                *from = "profile";
            }
        }
    }
    for (name, lo, hi) in &opts.bounds {
        let j = index_of(&table.features, name, "--bounds")?;
        if let Some(from) = bounds_from.get_mut(j) {
            *from = "given";
        }
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err(ValidateError::Usage(format!(
                "--bounds {name}: {lo} to {hi} is not a range"
            )));
        }
        if let (Some(l), Some(h)) = (lower.get_mut(j), upper.get_mut(j)) {
            *l = *lo;
            *h = *hi;
        }
    }
    let range = lower
        .iter()
        .zip(&upper)
        .map(|(l, h)| (h - l).max(0.0))
        .collect();
    let find = |names: &[String], what: &str| -> Result<Vec<usize>, ValidateError> {
        names
            .iter()
            .map(|n| index_of(&table.features, n, what))
            .collect()
    };
    let constraints = Constraints {
        integer: find(&opts.integer, "--integer")?,
        immutable: find(&opts.immutable, "--immutable")?,
        one_hot: opts
            .one_hot
            .iter()
            .map(|g| find(g, "--one-hot"))
            .collect::<Result<_, _>>()?,
    };
    Ok(Space {
        lower,
        range,
        bounds_from,
        constraints,
    })
}

/// The minimum and maximum that the profile at `path` records for each of
/// `features` that is a numeric column of it, by feature index. A profile
/// naming none of the features is an error (the wrong profile, most likely).
fn profile_bounds(
    path: &std::path::Path,
    features: &[String],
) -> Result<Vec<(usize, f32, f32)>, ValidateError> {
    let profile =
        mlsec_quality::load_profile(path).map_err(|e| ValidateError::Usage(e.to_string()))?;
    let mut out = Vec::new();
    for column in &profile.columns {
        let Some(j) = features.iter().position(|f| *f == column.name) else {
            continue;
        };
        if column.kind != Some(mlsec_quality::ColumnKind::Numeric) {
            continue;
        }
        let moments = &column.summary.moments;
        if let (Some(lo), Some(hi)) = (moments.min(), moments.max()) {
            // To f32 as the rows are read, so a profile of the same rows
            // gives their own bounds.
            let (lo, hi) = (lo as f32, hi as f32);
            if lo.is_finite() && hi.is_finite() && lo <= hi {
                out.push((j, lo, hi));
            }
        }
    }
    if out.is_empty() {
        return Err(ValidateError::Usage(format!(
            "{}: the profile has no numeric column named like a feature ({})",
            path.display(),
            features.join(", ")
        )));
    }
    Ok(out)
}

/// The predicted class of every row.
fn predict_classes(model: &dyn Model, x: &[f32]) -> Result<Vec<usize>, ValidateError> {
    let scores = model.predict(x)?;
    let width = model.width().max(1);
    scores
        .chunks_exact(width)
        .map(|s| {
            argmax(s).ok_or_else(|| {
                ValidateError::Model(mlsec_model::ModelError::Runtime(format!(
                    "{}: a score is NaN",
                    model.name()
                )))
            })
        })
        .collect()
}

/// `want` row indices of `n`, sampled without replacement (all when fewer),
/// in order.
fn sample_rows(n: usize, want: usize, seed: u64) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    if want >= n {
        return all;
    }
    let mut rng = Rng::for_row(seed, u64::MAX);
    for i in 0..want {
        let j = i + rng.below(n - i);
        all.swap(i, j);
    }
    all.truncate(want);
    all.sort_unstable();
    all
}

/// Rows predicted for decision-based attacks to start from, at most.
const START_POOL: usize = 5000;

/// Up to three of the `asked` rows that the model gives a class meeting
/// `goal`, nearest to row `i` first (L2, scaled).
fn nearest_meeting(
    scaled: &[Vec<f32>],
    predicted: &[Option<usize>],
    asked: &[usize],
    i: usize,
    goal: &Goal,
) -> Vec<Vec<f32>> {
    let Some(x) = scaled.get(i) else {
        return Vec::new();
    };
    let mut by_distance: Vec<(f32, usize)> = asked
        .iter()
        .copied()
        .filter(|&j| {
            predicted
                .get(j)
                .copied()
                .flatten()
                .is_some_and(|c| goal.reached_by(c))
        })
        .filter_map(|j| Some((Norm::L2.distance(x, scaled.get(j)?), j)))
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    by_distance
        .into_iter()
        .take(3)
        .filter_map(|(_, j)| scaled.get(j).cloned())
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(m).copied().unwrap_or(0.0)
    } else {
        (v.get(m - 1).copied().unwrap_or(0.0) + v.get(m).copied().unwrap_or(0.0)) / 2.0
    }
}

#[allow(clippy::too_many_arguments)]
fn summarise(
    kind: Kind,
    opts: &RedteamOptions,
    eps: f32,
    finished: &[(usize, Outcome)],
    table: &Labelled,
    space: &Space,
    classes: &[String],
    scaled: &[Vec<f32>],
    model: &dyn Model,
    sampled: usize,
    correct: usize,
    sample_accuracy: f64,
    seconds: f64,
) -> AttackResult {
    let successes: Vec<&(usize, Outcome)> = finished
        .iter()
        .filter(|(_, o)| o.success_within(eps))
        .collect();
    let mut queries: Vec<f64> = finished.iter().map(|(_, o)| o.queries as f64).collect();
    let mean_queries = if queries.is_empty() {
        0.0
    } else {
        queries.iter().sum::<f64>() / queries.len() as f64
    };
    let mut distances: Vec<f64> = successes
        .iter()
        .filter_map(|(_, o)| o.distance.map(f64::from))
        .collect();
    let rows = finished.len();
    let success_rate = if rows == 0 {
        0.0
    } else {
        successes.len() as f64 / rows as f64
    };
    // Correct rows of the sample that resisted (rows that failed to finish
    // count as resisting: the rate is over finished rows only).
    let robust = correct.saturating_sub(successes.len());
    let examples = successes
        .iter()
        .take(opts.examples)
        .filter_map(|(i, o)| {
            let adv = o.adversarial.as_ref()?;
            let x = scaled.get(*i)?;
            let changes = table
                .features
                .iter()
                .enumerate()
                .filter(|&(j, _)| matches!((adv.get(j), x.get(j)), (Some(a), Some(b)) if (a - b).abs() > 1e-6))
                .map(|(j, name)| {
                    let lo = space.lower.get(j).copied().unwrap_or(0.0);
                    let r = space.range.get(j).copied().unwrap_or(0.0);
                    Change {
                        feature: name.clone(),
                        from: table.row(*i).get(j).copied().unwrap_or(0.0),
                        to: lo + adv.get(j).copied().unwrap_or(0.0) * r,
                    }
                })
                .collect();
            let raw: Vec<f32> = adv
                .iter()
                .zip(space.lower.iter().zip(&space.range))
                .map(|(&z, (&lo, &r))| lo + z * r)
                .collect();
            let class = model.predict(&raw).ok().and_then(|s| argmax(&s))?;
            Some(Example {
                row: table.rows.get(*i).copied().unwrap_or(0),
                label: classes.get(table.labels.get(*i).copied()?)?.clone(),
                adversarial_class: classes.get(class)?.clone(),
                distance: o.distance.unwrap_or(0.0),
                changes,
            })
        })
        .collect();
    AttackResult {
        attack: kind.as_str().into(),
        norm: opts.norm.as_str().into(),
        eps,
        clean_accuracy: sample_accuracy,
        robust_accuracy: robust as f64 / sampled.max(1) as f64,
        success_rate,
        median_queries: median(&mut queries),
        mean_queries,
        rows,
        successes: successes.len(),
        median_perturbation: (!distances.is_empty()).then(|| median(&mut distances) as f32),
        seconds,
        examples,
    }
}
