//! `mlsec data issues DATA --label COL`: suspect rows of a labelled table and
//! why: label errors (confident learning), outliers (isolation forest,
//! Mahalanobis or k-nearest-neighbour distance), exact and near duplicates,
//! conflicting duplicates, backdoor signals (spectral signatures), and per
//! table class imbalance, unusable columns and label leaks.
//!
//! The table is read row-aligned ([`Keep::Rows`]); numeric columns become
//! features as they are (missing values replaced by the column's median),
//! text columns with few values one-hot, the rest is left out with a reason.
//! The numbers come from `mlsec_stats::issues`.

use crate::columns::{self, Column, Columns, Keep, RowCodes};
use crate::table::Side;
use crate::{rules, QualityError};
use mlsec_core::{Evidence, Finding, Rule, Subject};
use mlsec_data::ReadOptions;
use mlsec_model::{Model, Output};
use mlsec_stats::issues::{
    confident, duplicates, knn, logistic, outliers, spectral, IssuesError, Matrix,
    MAX_PAIRWISE_ROWS,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// A text column with at most this many distinct values is one-hot encoded;
/// one with more is an identifier or free text and left out.
pub const MAX_ONE_HOT: usize = 64;

/// Near duplicates by default: within this many standard deviations per
/// feature (times √features): copies with rounding or a little noise, not
/// rows that happen to be close in dense, low-dimensional data.
pub const DEFAULT_NEAR_RADIUS: f64 = 0.002;

/// Near-duplicate pairs reported at most (the first in row order).
pub const MAX_NEAR_PAIRS: usize = 10_000;

/// A class smaller than this share of the largest class is reported (DQI006).
pub const IMBALANCE_RATIO: f64 = 0.1;

/// The default isolation-forest score above which a row is an outlier, when
/// neither `contamination` nor `outlier_threshold` is given. Scores run from
/// 0 to 1; 0.5 is the average row of a random sample, and scikit-learn's
/// `contamination="auto"` cuts at 0.5, which flags a tenth or more of most
/// real tables. 0.62 flags what stands clearly apart.
pub const DEFAULT_FOREST_THRESHOLD: f64 = 0.62;

/// The default share of rows flagged by the k-nearest-neighbour and
/// Mahalanobis methods (their distances have no common scale).
pub const DEFAULT_DISTANCE_CONTAMINATION: f64 = 0.01;

/// Ashman's D at or above which two 1-D clusters along a class's top singular
/// vector count as separate (DQI005): a normal sample split in two gives
/// about 2.5.
pub const BACKDOOR_SEPARATION: f64 = 4.0;

/// How much more spread (standard deviation along the direction) a backdoor
/// group may be than the rest of its class: trigger rows share a pattern,
/// and stay within twice the class's spread even when rows relabelled
/// without a trigger join them; broken or random rows spread 3 to 10 times
/// wider.
pub const BACKDOOR_SPREAD: f64 = 2.0;

/// The fewest rows a backdoor group has: two rows apart from the rest are as
/// likely two broken rows.
pub const BACKDOOR_MIN_ROWS: usize = 3;

/// Singular directions of each class searched for a separated group: a
/// trigger can sit on the second or third when the class varies more along
/// others.
pub const BACKDOOR_DIRECTIONS: usize = 3;

/// The label check's model: scikit-learn's defaults (C = 1) stopped at a
/// gradient of 1e-5, about where scikit-learn's lbfgs stops (1e-4): the
/// probabilities are then within 1e-4 of the optimum's, which moves no row
/// across confident learning's thresholds, in a fraction of the iterations
/// that 1e-8 takes.
const LABEL_MODEL: logistic::LogisticOptions = logistic::LogisticOptions {
    c: 1.0,
    max_iter: 2000,
    tol: 1e-5,
};

/// Rows x features x classes (and rows x classes²) up to which the label
/// check runs: one pass of the model over the data costs about this many
/// multiplications, and a fit takes up to a few hundred passes, times folds
/// x repeats; confident learning's pruning costs rows x classes².
pub const MAX_LABEL_WORK: f64 = 5e8;

/// A kind of suspect row.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Issue {
    Label,
    Outlier,
    Duplicate,
    Conflict,
    Backdoor,
}

impl Issue {
    pub const ALL: [Issue; 5] = [
        Issue::Label,
        Issue::Outlier,
        Issue::Duplicate,
        Issue::Conflict,
        Issue::Backdoor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Issue::Label => "label",
            Issue::Outlier => "outlier",
            Issue::Duplicate => "duplicate",
            Issue::Conflict => "conflict",
            Issue::Backdoor => "backdoor",
        }
    }

    pub fn parse(s: &str) -> Option<Issue> {
        Issue::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// Whether the check needs a label column.
    pub fn needs_label(self) -> bool {
        matches!(self, Issue::Label | Issue::Conflict | Issue::Backdoor)
    }

    fn rule(self) -> &'static Rule {
        match self {
            Issue::Label => &rules::LABEL_ERROR,
            Issue::Outlier => &rules::OUTLIER,
            Issue::Duplicate => &rules::DUPLICATE,
            Issue::Conflict => &rules::CONFLICT,
            Issue::Backdoor => &rules::BACKDOOR,
        }
    }
}

/// The model whose out-of-fold probabilities confident learning reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelModelKind {
    /// Multinomial logistic regression (L2, C = 1) on standardised features.
    #[default]
    Logistic,
    /// The share of the k nearest rows (standardised features) per class:
    /// for classes that are clusters rather than half-spaces.
    Knn,
}

/// How outliers are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OutlierMethod {
    /// Isolation forest, 100 trees of 256 rows (scores 0 to 1).
    IsolationForest,
    /// Mean Euclidean distance to the k nearest rows on standardised features
    /// (at most 20,000 rows).
    Knn,
    /// Mahalanobis distance from the mean: sees rows whose values are each
    /// ordinary but whose combination is not (at most 256 features).
    Mahalanobis,
}

/// What `mlsec data issues` checks and how.
#[derive(Debug, Clone)]
pub struct IssuesOptions {
    pub data: PathBuf,
    pub read: ReadOptions,
    /// The label column; without it only outliers and duplicates are checked.
    pub label: Option<String>,
    /// The checks to run (default: all that the label allows).
    pub checks: Vec<Issue>,
    /// Columns left out of the features (identifiers, timestamps).
    pub exclude: Vec<String>,
    /// Folds of the cross-validation behind the label check.
    pub folds: usize,
    /// The model behind the label check.
    pub label_model: LabelModelKind,
    /// Neighbours for `LabelModelKind::Knn`.
    pub label_neighbours: usize,
    /// Cross-validations (with different splits) whose probabilities are
    /// averaged: one split's luck moves a few rows in or out.
    pub repeats: usize,
    pub outlier_method: OutlierMethod,
    /// Flag this share of rows as outliers (0 to 0.5]...
    pub contamination: Option<f64>,
    /// ...or the rows scoring above this.
    pub outlier_threshold: Option<f64>,
    /// Neighbours for `OutlierMethod::Knn`.
    pub neighbours: usize,
    /// Near duplicates: rows within this Euclidean distance after
    /// standardisation (default [`DEFAULT_NEAR_RADIUS`] × √features).
    pub near_radius: Option<f64>,
    /// The share of a class that may be poisoned (spectral signatures' ε).
    pub poison_fraction: f64,
    pub seed: u64,
    /// Cells (rows x columns) read at most.
    pub max_cells: u64,
    /// A model of the user's whose probabilities the label check uses
    /// instead of cross-validating the built-in one (`--model`).
    pub model: Option<Arc<dyn Model>>,
    /// The columns `model` reads, in its order (default: every column but
    /// the label and `exclude`, in file order).
    pub model_features: Option<Vec<String>>,
}

impl IssuesOptions {
    pub fn new(data: PathBuf) -> IssuesOptions {
        IssuesOptions {
            data,
            read: ReadOptions::default(),
            label: None,
            checks: Vec::new(),
            exclude: Vec::new(),
            folds: 5,
            repeats: 3,
            outlier_method: OutlierMethod::IsolationForest,
            contamination: None,
            outlier_threshold: None,
            neighbours: 5,
            label_model: LabelModelKind::Logistic,
            label_neighbours: 10,
            near_radius: None,
            poison_fraction: 0.05,
            seed: 0,
            max_cells: Matrix::MAX_CELLS as u64,
            model: None,
            model_features: None,
        }
    }
}

/// `details` of a `data-issues` envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IssuesDetails {
    pub data: Side,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Rows per class, in class order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassCount>,
    /// Rows without a label, left out of the label, conflict and backdoor checks.
    #[serde(default)]
    pub unlabelled: u64,
    /// The columns used as features and how.
    pub features: Vec<Feature>,
    /// Columns not used, and why.
    pub excluded: Vec<Excluded>,
    /// Each check that ran or was skipped.
    pub checks: Vec<Check>,
    /// Flagged rows per issue.
    pub counts: BTreeMap<Issue, usize>,
    /// Rows flagged by any check.
    pub flagged_rows: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_model: Option<LabelModel>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClassCount {
    pub label: String,
    pub rows: u64,
}

/// A column used as features.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Feature {
    pub column: String,
    /// `numeric` (one feature) or `one-hot` (one feature per value).
    pub encoding: String,
    /// Features it became.
    pub width: usize,
    /// Missing values replaced by the median (numeric) or left all-zero (one-hot).
    pub missing: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Excluded {
    pub column: String,
    pub reason: String,
}

/// One check: how it ran and what it flagged.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Check {
    pub issue: Issue,
    pub method: String,
    /// Whether it ran (false: see `note`).
    pub ran: bool,
    pub flagged: usize,
    /// The cut applied (a score threshold), where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The cross-validated model behind the label check.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LabelModel {
    pub model: String,
    /// Folds of the cross-validation; 0 for a user's model (`--model`).
    pub folds: usize,
    /// Share of rows whose out-of-fold prediction is their given label.
    pub accuracy: f64,
    /// Estimated share of wrong labels (the confident joint's off-diagonal mass).
    pub estimated_noise: f64,
}

/// The table as the checks see it.
struct Prepared {
    columns: Columns,
    /// Per row, its class (`None`: no label).
    labels: Vec<Option<usize>>,
    class_names: Vec<String>,
    features: Vec<Feature>,
    excluded: Vec<Excluded>,
    /// Row-major features, `features` wide in total.
    x: Option<Matrix>,
    findings: Vec<Finding>,
}

/// Checks the table and returns the `data-issues` evidence. Errors when the
/// file cannot be read, the label column is missing or has fewer than two
/// values, or no column can be used as a feature.
pub fn issues(opts: &IssuesOptions) -> Result<Evidence, QualityError> {
    check_options(opts)?;
    let checks = checks_to_run(opts)?;
    let subject = opts.data.display().to_string();
    let format = mlsec_data::detect(&opts.data)?;
    let keep = Keep::Rows {
        max_cells: opts.max_cells,
    };
    let table = columns::read(&opts.data, format, &opts.read, keep)?;
    if table.rows == 0 {
        return Err(QualityError::Usage(format!("{subject}: no data rows")));
    }
    for name in opts.label.iter().chain(&opts.exclude) {
        if table.get(name).is_none() {
            return Err(QualityError::Usage(format!(
                "{subject}: no column `{name}` (columns: {})",
                column_list(&table)
            )));
        }
    }
    let model_scores = match &opts.model {
        Some(model) => Some(model_scores(model.as_ref(), opts, &subject, &table)?),
        None => None,
    };
    let mut p = prepare(opts, &subject, table)?;
    let model_probs = match (&opts.model, model_scores) {
        (Some(model), Some(scores)) => Some(in_data_classes(
            model.as_ref(),
            &subject,
            scores,
            &p.class_names,
        )?),
        _ => None,
    };
    let x = p.x.take().ok_or_else(|| {
        QualityError::Usage(format!(
            "{subject}: no column can be used as a feature ({})",
            p.excluded
                .iter()
                .map(|e| format!("{}: {}", e.column, e.reason))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let mut run = Run {
        opts,
        subject: &subject,
        x: &x,
        labels: &p.labels,
        class_names: &p.class_names,
        findings: Vec::new(),
        checks: Vec::new(),
        label_model: None,
        model_probs: model_probs.as_deref(),
    };
    run.duplicates(
        checks.contains(&Issue::Duplicate),
        checks.contains(&Issue::Conflict),
    )
    .map_err(|e| stats_error(&subject, e))?;
    if checks.contains(&Issue::Label) {
        run.label_errors().map_err(|e| stats_error(&subject, e))?;
    }
    if checks.contains(&Issue::Outlier) {
        run.outliers().map_err(|e| stats_error(&subject, e))?;
    }
    if checks.contains(&Issue::Backdoor) {
        run.backdoor().map_err(|e| stats_error(&subject, e))?;
    }
    let Run {
        findings: mut row_findings,
        checks: ran,
        label_model,
        ..
    } = run;
    row_findings.sort_by_key(|f| (f.rule.clone(), finding_row(f)));
    let mut counts = BTreeMap::new();
    let mut flagged = BTreeSet::new();
    for f in &row_findings {
        if let Some((issue, row)) = issue_of(f) {
            *counts.entry(issue).or_insert(0) += 1;
            flagged.insert(row);
        }
    }
    let mut findings = std::mem::take(&mut p.findings);
    findings.append(&mut row_findings);

    let labelled = p.labels.iter().filter(|l| l.is_some()).count() as u64;
    let mut class_rows = vec![0u64; p.class_names.len()];
    for c in p.labels.iter().flatten() {
        if let Some(n) = class_rows.get_mut(*c) {
            *n += 1;
        }
    }
    let details = IssuesDetails {
        data: Side {
            path: subject.clone(),
            format: format.as_str().to_string(),
            rows: p.columns.rows,
            skipped_rows: p.columns.skipped,
        },
        label: opts.label.clone(),
        classes: p
            .class_names
            .iter()
            .zip(&class_rows)
            .map(|(label, &rows)| ClassCount {
                label: label.clone(),
                rows,
            })
            .collect(),
        unlabelled: if opts.label.is_some() {
            p.columns.rows - labelled
        } else {
            0
        },
        features: p.features,
        excluded: p.excluded,
        checks: ran,
        counts,
        flagged_rows: flagged.len(),
        label_model,
    };
    let subjects = vec![Subject {
        name: subject,
        digest: BTreeMap::new(),
    }];
    let details = serde_json::to_value(details).map_err(|e| QualityError::Usage(e.to_string()))?;
    Ok(Evidence::new("data-issues", subjects, findings, details))
}

/// The user's model's class scores for every row of `table`, in the
/// model's class order (`None` where a feature the model reads is missing or
/// not finite).
fn model_scores(
    model: &dyn Model,
    opts: &IssuesOptions,
    subject: &str,
    table: &Columns,
) -> Result<Vec<Option<Vec<f32>>>, QualityError> {
    if model.output() != Output::Probabilities {
        return Err(QualityError::Usage(format!(
            "{}: the label check needs class probabilities, and the model gives {}",
            model.name(),
            match model.output() {
                Output::Scores => "scores that are not probabilities",
                Output::Labels => "labels only",
                _ => "values (a regressor)",
            }
        )));
    }
    let names: Vec<String> = match &opts.model_features {
        Some(f) => f.clone(),
        None => table
            .columns
            .iter()
            .filter(|c| opts.label.as_ref() != Some(&c.name) && !opts.exclude.contains(&c.name))
            .map(|c| c.name.clone())
            .collect(),
    };
    crate::answers::model_answers(model, &names, table, subject)
}

/// The model's probabilities of the data's classes, in the data's class
/// order (classes the data does not have are dropped and the rest
/// renormalised). Errors when a label is not one of the model's classes.
fn in_data_classes(
    model: &dyn Model,
    subject: &str,
    scores: Vec<Option<Vec<f32>>>,
    class_names: &[String],
) -> Result<Vec<Option<Vec<f64>>>, QualityError> {
    let classes = model.classes();
    let at: Vec<usize> = class_names
        .iter()
        .map(|name| {
            classes.iter().position(|c| c == name).ok_or_else(|| {
                QualityError::Usage(format!(
                    "{subject}: label `{name}` is not one of {}'s classes ({})",
                    model.name(),
                    classes.join(", ")
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(scores
        .into_iter()
        .map(|row| {
            let row = row?;
            let p: Vec<f64> = at
                .iter()
                .map(|&i| f64::from(row.get(i).copied().unwrap_or(0.0)).max(0.0))
                .collect();
            let sum: f64 = p.iter().sum();
            (sum > 0.0 && sum.is_finite()).then(|| p.iter().map(|v| v / sum).collect())
        })
        .collect())
}

/// The 1-based data rows flagged by row-level findings of `evidence` (for
/// `--write-clean`).
pub fn flagged_rows(evidence: &Evidence) -> BTreeSet<u64> {
    evidence
        .findings
        .iter()
        .filter_map(issue_of)
        .map(|(_, row)| row)
        .collect()
}

fn issue_of(f: &Finding) -> Option<(Issue, u64)> {
    let issue = Issue::parse(f.evidence.get("issue")?.as_str()?)?;
    let row = f.evidence.get("row")?.as_u64()?;
    Some((issue, row))
}

fn finding_row(f: &Finding) -> u64 {
    f.evidence.get("row").and_then(|r| r.as_u64()).unwrap_or(0)
}

fn check_options(opts: &IssuesOptions) -> Result<(), QualityError> {
    let usage = |m: String| Err(QualityError::Usage(m));
    if let Some(c) = opts.contamination {
        if !(c > 0.0 && c <= 0.5) {
            return usage(format!("--contamination must be in (0, 0.5], not {c}"));
        }
    }
    if let Some(t) = opts.outlier_threshold {
        if !t.is_finite() {
            return usage(format!("--outlier-threshold must be a number, not {t}"));
        }
    }
    if opts.contamination.is_some() && opts.outlier_threshold.is_some() {
        return usage("give --contamination or --outlier-threshold, not both".into());
    }
    if opts.folds < 2 || opts.folds > 100 {
        return usage(format!("--folds must be 2 to 100, not {}", opts.folds));
    }
    if opts.repeats == 0 || opts.repeats > 20 {
        return usage(format!("--repeats must be 1 to 20, not {}", opts.repeats));
    }
    if opts.neighbours == 0 || opts.label_neighbours == 0 {
        return usage("--neighbours and --label-neighbours must be at least 1".into());
    }
    if let Some(r) = opts.near_radius {
        if !(r > 0.0 && r.is_finite()) {
            return usage(format!("--near-radius must be a number above 0, not {r}"));
        }
    }
    if !(opts.poison_fraction > 0.0 && opts.poison_fraction < 0.5) {
        return usage(format!(
            "--poison-fraction must be in (0, 0.5), not {}",
            opts.poison_fraction
        ));
    }
    if opts.label.is_some() && opts.exclude.iter().any(|e| Some(e) == opts.label.as_ref()) {
        return usage("the label column cannot also be excluded".into());
    }
    Ok(())
}

fn checks_to_run(opts: &IssuesOptions) -> Result<BTreeSet<Issue>, QualityError> {
    if opts.checks.is_empty() {
        return Ok(Issue::ALL
            .into_iter()
            .filter(|i| opts.label.is_some() || !i.needs_label())
            .collect());
    }
    if opts.label.is_none() {
        if let Some(i) = opts.checks.iter().find(|i| i.needs_label()) {
            return Err(QualityError::Usage(format!(
                "the {} check needs the label column: give --label COL",
                i.as_str()
            )));
        }
    }
    Ok(opts.checks.iter().copied().collect())
}

fn column_list(table: &Columns) -> String {
    let names: Vec<&str> = table
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .take(20)
        .collect();
    let more = table.columns.len().saturating_sub(names.len());
    if more > 0 {
        format!("{} and {more} more", names.join(", "))
    } else {
        names.join(", ")
    }
}

fn stats_error(subject: &str, e: IssuesError) -> QualityError {
    QualityError::Usage(format!("{subject}: {e}"))
}

/// A column's codes when usable (read row by row, not too many values).
fn usable_codes(c: &Column) -> Option<&RowCodes> {
    c.codes().filter(|codes| !codes.overflow)
}

/// Class order: numeric labels by value, others by text.
fn class_order(names: &[String]) -> Vec<usize> {
    let numbers: Option<Vec<f64>> = names.iter().map(|n| n.parse::<f64>().ok()).collect();
    let mut order: Vec<usize> = (0..names.len()).collect();
    match numbers {
        Some(v) => order.sort_by(|&a, &b| {
            let (x, y) = (
                v.get(a).copied().unwrap_or(0.0),
                v.get(b).copied().unwrap_or(0.0),
            );
            x.total_cmp(&y)
        }),
        None => order.sort_by(|&a, &b| names.get(a).cmp(&names.get(b))),
    }
    order
}

fn prepare(opts: &IssuesOptions, subject: &str, table: Columns) -> Result<Prepared, QualityError> {
    let rows = table.rows as usize;
    let mut findings = Vec::new();
    let mut labels = vec![None; rows];
    let mut class_names = Vec::new();
    if let Some(name) = &opts.label {
        let column = table
            .get(name)
            .ok_or_else(|| QualityError::Usage(format!("{subject}: no label column `{name}`")))?;
        let codes = usable_codes(column).ok_or_else(|| {
            QualityError::Usage(format!(
                "{subject}: label column `{name}` has more than {} distinct values: not a class label",
                columns::MAX_CATEGORIES
            ))
        })?;
        let order = class_order(&codes.names);
        let mut class_of = vec![0usize; codes.names.len()];
        for (class, &code) in order.iter().enumerate() {
            if let Some(c) = class_of.get_mut(code) {
                *c = class;
            }
        }
        class_names = order
            .iter()
            .filter_map(|&c| codes.names.get(c).cloned())
            .collect();
        for (label, &code) in labels.iter_mut().zip(&codes.codes) {
            if code != RowCodes::MISSING {
                *label = class_of.get(code as usize).copied();
            }
        }
        match class_names.as_slice() {
            [] => {
                return Err(QualityError::Usage(format!(
                    "{subject}: label column `{name}` has no values"
                )))
            }
            [only] => {
                return Err(QualityError::Usage(format!(
                    "{subject}: label column `{name}` has one value (`{}`) in every labelled row: \
                     there is nothing to check labels against",
                    mlsec_core::render::printable(only)
                )))
            }
            _ => {}
        }
        imbalance(subject, name, &labels, &class_names, &mut findings);
    }

    let mut features = Vec::new();
    let mut excluded = Vec::new();
    let mut blocks: Vec<Vec<f64>> = Vec::new(); // per feature, one value per row
                                                // Features in column-name order: JSONL objects do not keep their keys'
                                                // order, and the isolation forest's trees depend on the features' order,
                                                // so the same table gives the same rows in every format.
    let mut by_name: Vec<&Column> = table.columns.iter().collect();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    for column in by_name {
        if Some(&column.name) == opts.label.as_ref() {
            continue;
        }
        if opts.exclude.contains(&column.name) {
            excluded.push(Excluded {
                column: column.name.clone(),
                reason: "excluded".into(),
            });
            continue;
        }
        if opts.label.is_some() {
            if let Some(why) = leak(column, &labels, class_names.len()) {
                let message = format!(
                    "column {} determines the label {} ({why})",
                    column.name,
                    opts.label.as_deref().unwrap_or_default()
                );
                findings.push(column_finding(
                    &rules::LABEL_LEAK,
                    subject,
                    &column.name,
                    message,
                ));
                excluded.push(Excluded {
                    column: column.name.clone(),
                    reason: format!("determines the label ({why})"),
                });
                continue;
            }
        }
        match encode(column, rows) {
            Ok((feature, values, note)) => {
                if let Some(note) = note {
                    let message = format!("column {}: {note}", column.name);
                    findings.push(column_finding(
                        &rules::UNUSABLE_COLUMN,
                        subject,
                        &column.name,
                        message,
                    ));
                }
                features.push(feature);
                blocks.extend(values);
            }
            Err(reason) => {
                let message = format!("column {}: not used: {reason}", column.name);
                findings.push(column_finding(
                    &rules::UNUSABLE_COLUMN,
                    subject,
                    &column.name,
                    message,
                ));
                excluded.push(Excluded {
                    column: column.name.clone(),
                    reason,
                });
            }
        }
    }
    let x = if blocks.is_empty() {
        None
    } else {
        let width = blocks.len();
        if (rows as u64).saturating_mul(width as u64) > opts.max_cells {
            return Err(QualityError::Usage(format!(
                "{subject}: {rows} rows x {width} features is more than {} cells",
                opts.max_cells
            )));
        }
        let mut data = Vec::with_capacity(rows * width);
        for r in 0..rows {
            data.extend(blocks.iter().map(|b| b.get(r).copied().unwrap_or(0.0)));
        }
        Some(Matrix::new(data, width).map_err(|e| stats_error(subject, e))?)
    };
    Ok(Prepared {
        columns: table,
        labels,
        class_names,
        features,
        excluded,
        x,
        findings,
    })
}

/// A column as features: (how, one vector per feature, a note for DQI007),
/// or why it cannot be used.
#[allow(clippy::type_complexity)]
fn encode(
    column: &Column,
    rows: usize,
) -> Result<(Feature, Vec<Vec<f64>>, Option<String>), String> {
    if let Some(t) = &column.unsupported {
        return Err(format!("values of type {t} have no numeric meaning"));
    }
    if column.present() == 0 {
        return Err("every value is missing".into());
    }
    let codes = usable_codes(column);
    let distinct = codes.map(|c| c.names.len());
    if distinct == Some(1) {
        let value = codes
            .and_then(|c| c.names.first())
            .map(|v| mlsec_core::render::printable(v))
            .unwrap_or_default();
        return Err(format!("a single value (`{value}`)"));
    }
    if column.is_numeric() {
        let numbers = column.numbers().unwrap_or_default();
        let mut finite: Vec<f64> = numbers.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            return Err("no finite number".into());
        }
        finite.sort_unstable_by(f64::total_cmp);
        let mid = finite.len() / 2;
        let median = if finite.len() % 2 == 1 {
            finite.get(mid).copied().unwrap_or(0.0)
        } else {
            let a = finite.get(mid.saturating_sub(1)).copied().unwrap_or(0.0);
            let b = finite.get(mid).copied().unwrap_or(a);
            a / 2.0 + b / 2.0
        };
        let values: Vec<f64> = numbers
            .iter()
            .map(|&v| if v.is_finite() { v } else { median })
            .collect();
        let missing = values.len().saturating_sub(finite.len()) as u64;
        let feature = Feature {
            column: column.name.clone(),
            encoding: "numeric".into(),
            width: 1,
            missing,
        };
        return Ok((feature, vec![values], None));
    }
    // Text, or numbers mixed with text: categories, if there are few.
    let mixed = (column.finite > 0).then(|| {
        let (row, value) = column.first_non_numeric.clone().unwrap_or_default();
        format!(
            "{} not a number (first at row {row}: \"{}\")",
            if column.non_numeric == 1 {
                "1 value is".to_string()
            } else {
                format!("{} values are", column.non_numeric)
            },
            mlsec_core::render::printable(&value)
        )
    });
    // An identifier has about as many values as rows: one-hot, it would let
    // every row be told apart.
    let few = |c: &&RowCodes| {
        c.names.len() <= MAX_ONE_HOT && (c.names.len() as u64) * 2 <= column.present()
    };
    let Some(codes) = codes.filter(few) else {
        let why = match distinct {
            Some(n) => format!("{n} distinct values in {} rows", column.present()),
            None => format!("more than {} distinct values", columns::MAX_CATEGORIES),
        };
        return Err(match mixed {
            Some(m) => format!("{m}; as text, {why}: too many to use as categories"),
            None => format!("{why}: an identifier or free text, too many to use as categories"),
        });
    };
    let mut values = vec![vec![0.0; rows]; codes.names.len()];
    for (r, &code) in codes.codes.iter().enumerate() {
        if let Some(v) = values.get_mut(code as usize).and_then(|b| b.get_mut(r)) {
            *v = 1.0;
        }
    }
    let feature = Feature {
        column: column.name.clone(),
        encoding: "one-hot".into(),
        width: codes.names.len(),
        missing: column.missing,
    };
    Ok((
        feature,
        values,
        mixed.map(|m| format!("{m}; used as categories")),
    ))
}

/// Why `column` leaks the label, if it does: each of its values goes with
/// one class, it has two or more values and no more than there are classes,
/// and it is present in at least half the labelled rows.
fn leak(column: &Column, labels: &[Option<usize>], classes: usize) -> Option<String> {
    let codes = usable_codes(column)?;
    let n = codes.names.len();
    if n < 2 || n > classes {
        return None;
    }
    let mut class_of: Vec<Option<usize>> = vec![None; n];
    let mut both = 0usize;
    for (&code, label) in codes.codes.iter().zip(labels) {
        let (Some(label), true) = (label, code != RowCodes::MISSING) else {
            continue;
        };
        let slot = class_of.get_mut(code as usize)?;
        match slot {
            Some(c) if c != label => return None,
            _ => *slot = Some(*label),
        }
        both += 1;
    }
    let labelled = labels.iter().filter(|l| l.is_some()).count();
    // Present in at least half the labelled rows, and each value in two rows
    // on average (on a handful of rows, any column of distinct values
    // would "determine" the label).
    (both * 2 >= labelled && both >= 2 * n).then(|| format!("{n} values, {classes} classes"))
}

fn imbalance(
    subject: &str,
    label: &str,
    labels: &[Option<usize>],
    names: &[String],
    findings: &mut Vec<Finding>,
) {
    let mut counts = vec![0u64; names.len()];
    for c in labels.iter().flatten() {
        if let Some(n) = counts.get_mut(*c) {
            *n += 1;
        }
    }
    let Some((largest, &most)) = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, &n)| (n, usize::MAX - i))
    else {
        return;
    };
    for (class, &n) in counts.iter().enumerate() {
        if (n as f64) < IMBALANCE_RATIO * most as f64 {
            let name = names.get(class).map(String::as_str).unwrap_or_default();
            let big = names.get(largest).map(String::as_str).unwrap_or_default();
            let message = format!(
                "class {} has {n} rows, {:.1}% of the largest class {} ({most} rows)",
                mlsec_core::render::printable(name),
                100.0 * n as f64 / most as f64,
                mlsec_core::render::printable(big)
            );
            let mut f = Finding::new(&rules::CLASS_IMBALANCE, subject, message);
            f.evidence =
                serde_json::json!({ "column": label, "class": name, "rows": n, "largest": most });
            findings.push(f);
        }
    }
}

fn column_finding(rule: &Rule, subject: &str, column: &str, message: String) -> Finding {
    let mut f = Finding::new(rule, subject, message);
    f.location = Some(format!("[{column}]"));
    f.evidence = serde_json::json!({ "column": column });
    f
}

/// The checks' shared inputs and what they found.
struct Run<'a> {
    opts: &'a IssuesOptions,
    subject: &'a str,
    x: &'a Matrix,
    labels: &'a [Option<usize>],
    class_names: &'a [String],
    findings: Vec<Finding>,
    checks: Vec<Check>,
    label_model: Option<LabelModel>,
    /// Per row, the user's model's probabilities of the data's classes
    /// (`None`: the row has a feature the model cannot read).
    model_probs: Option<&'a [Option<Vec<f64>>]>,
}

impl Run<'_> {
    /// Records a check that did not run, and why.
    fn not_run(&mut self, issue: Issue, method: String, why: String) {
        self.checks.push(Check {
            issue,
            method,
            ran: false,
            flagged: 0,
            threshold: None,
            note: Some(why),
        });
    }

    fn class(&self, c: usize) -> String {
        mlsec_core::render::printable(self.class_names.get(c).map(String::as_str).unwrap_or("?"))
            .to_string()
    }

    /// A finding for row `index` (0-based in the table).
    fn flag(
        &mut self,
        issue: Issue,
        index: usize,
        score: f64,
        message: String,
        extra: serde_json::Value,
    ) {
        let row = index as u64 + 1;
        let mut f = Finding::new(issue.rule(), self.subject, format!("row {row}: {message}"));
        f.location = Some(format!("row {row}"));
        let mut evidence =
            serde_json::json!({ "row": row, "issue": issue.as_str(), "score": round(score) });
        if let (Some(e), serde_json::Value::Object(more)) = (evidence.as_object_mut(), extra) {
            e.extend(more);
        }
        f.evidence = evidence;
        self.findings.push(f);
    }

    /// The labelled rows, their classes, and the standardised features of those rows.
    fn labelled(&self) -> Result<(Vec<usize>, Vec<usize>, Matrix), IssuesError> {
        let rows: Vec<usize> = (0..self.labels.len())
            .filter(|&i| self.labels.get(i).is_some_and(Option::is_some))
            .collect();
        let classes: Vec<usize> = rows
            .iter()
            .filter_map(|&i| self.labels.get(i).copied().flatten())
            .collect();
        let x = if rows.len() == self.x.rows() {
            self.x.standardised()
        } else {
            self.x.select(&rows)?.standardised()
        };
        Ok((rows, classes, x))
    }

    fn duplicates(&mut self, duplicates: bool, conflicts: bool) -> Result<(), IssuesError> {
        if !duplicates && !conflicts {
            return Ok(());
        }
        let k = self.class_names.len();
        // Unlabelled rows get class k: copies of them are duplicates, never conflicts.
        let labels: Vec<usize> = self.labels.iter().map(|l| l.unwrap_or(k)).collect();
        let has_labels = !self.class_names.is_empty();
        let groups = duplicates::exact_duplicates(self.x, has_labels.then_some(labels.as_slice()))?;
        let mut dup = 0;
        let mut conflict = 0;
        let mut done: BTreeSet<usize> = BTreeSet::new();
        for g in &groups {
            let known: Vec<usize> = g.labels.iter().copied().filter(|&l| l < k).collect();
            let first = g.rows.first().copied().unwrap_or(0);
            if known.len() > 1 {
                if conflicts {
                    for &r in &g.rows {
                        let others: Vec<u64> = g
                            .rows
                            .iter()
                            .filter(|&&o| o != r)
                            .map(|&o| o as u64 + 1)
                            .collect();
                        let mine = labels.get(r).copied().unwrap_or(k);
                        let other_labels: Vec<String> = known
                            .iter()
                            .filter(|&&l| l != mine)
                            .map(|&l| self.class(l))
                            .collect();
                        let msg = format!(
                            "same features as row{} {} with another label ({}, not {})",
                            if others.len() > 1 { "s" } else { "" },
                            list(&others),
                            other_labels.join(", "),
                            if mine < k {
                                self.class(mine)
                            } else {
                                "none".into()
                            }
                        );
                        self.flag(
                            Issue::Conflict,
                            r,
                            0.0,
                            msg,
                            serde_json::json!({ "rows": others, "distance": 0.0 }),
                        );
                        conflict += 1;
                    }
                }
                done.extend(&g.rows);
            } else if duplicates {
                for &r in g.rows.iter().skip(1) {
                    let msg = format!("duplicate of row {}", first + 1);
                    self.flag(
                        Issue::Duplicate,
                        r,
                        0.0,
                        msg,
                        serde_json::json!({ "duplicate_of": first as u64 + 1, "distance": 0.0 }),
                    );
                    dup += 1;
                }
                done.extend(g.rows.iter().skip(1));
            }
        }
        let radius = self
            .opts
            .near_radius
            .unwrap_or(DEFAULT_NEAR_RADIUS * (self.x.cols() as f64).sqrt());
        let mut note = None;
        let near = match duplicates::near_duplicates(self.x, radius, MAX_NEAR_PAIRS) {
            Err(IssuesError::TooLarge { limit, .. }) => {
                note = Some(format!(
                    "near duplicates not checked: the rows are packed so close that more than \
                     {limit} comparisons would be needed (exact duplicates were checked)"
                ));
                None
            }
            other => Some(other?),
        };
        if let Some(pairs) = near {
            if pairs.len() >= MAX_NEAR_PAIRS {
                note = Some(format!("near duplicates: the first {MAX_NEAR_PAIRS} pairs"));
            }
            for pair in pairs {
                if done.contains(&pair.b) {
                    continue;
                }
                let (la, lb) = (
                    labels.get(pair.a).copied().unwrap_or(k),
                    labels.get(pair.b).copied().unwrap_or(k),
                );
                let extra = serde_json::json!({
                    "duplicate_of": pair.a as u64 + 1,
                    "distance": round(pair.distance),
                    "near": true,
                });
                if la != lb && la < k && lb < k {
                    if conflicts {
                        let msg = format!(
                            "nearly the same features as row {} (distance {:.4}) with another label ({}, not {})",
                            pair.a + 1,
                            pair.distance,
                            self.class(la),
                            self.class(lb)
                        );
                        self.flag(Issue::Conflict, pair.b, pair.distance, msg, extra);
                        conflict += 1;
                        done.insert(pair.b);
                    }
                } else if duplicates {
                    let msg = format!(
                        "near duplicate of row {} (distance {:.4})",
                        pair.a + 1,
                        pair.distance
                    );
                    self.flag(Issue::Duplicate, pair.b, pair.distance, msg, extra);
                    dup += 1;
                    done.insert(pair.b);
                }
            }
        }
        let method = format!(
            "exact (hash), near (distance <= {} standardised)",
            round(radius)
        );
        for (issue, on, flagged) in [
            (Issue::Duplicate, duplicates, dup),
            (Issue::Conflict, conflicts, conflict),
        ] {
            if on {
                self.checks.push(Check {
                    issue,
                    method: method.clone(),
                    ran: true,
                    flagged,
                    threshold: Some(round(radius)),
                    note: note.clone(),
                });
            }
        }
        Ok(())
    }

    fn label_errors(&mut self) -> Result<(), IssuesError> {
        if let Some(probs) = self.model_probs {
            let mut rows = Vec::new();
            let mut classes = Vec::new();
            let mut kept = Vec::new();
            for (i, label) in self.labels.iter().enumerate() {
                if let (Some(c), Some(Some(p))) = (label, probs.get(i)) {
                    rows.push(i);
                    classes.push(*c);
                    kept.push(p.clone());
                }
            }
            let name = self
                .opts
                .model
                .as_ref()
                .map_or(String::new(), |m| m.name().to_string());
            let method = format!("confident learning on the probabilities of {name}");
            return self.confident_learning(rows, classes, kept, method, name, 0);
        }
        let (rows, classes, z) = self.labelled()?;
        let k = self.class_names.len();
        let knn = self.opts.label_model == LabelModelKind::Knn;
        let (model_name, model_long) = if knn {
            let k = self.opts.label_neighbours;
            (
                format!("{k}-nearest-neighbour"),
                format!("{k} nearest neighbours (Euclidean, standardised features)"),
            )
        } else {
            (
                "logistic regression".to_string(),
                "logistic regression (L2, C = 1, standardised features)".to_string(),
            )
        };
        let method = format!(
            "confident learning on {}-fold {model_name} (mean of {} splits)",
            self.opts.folds, self.opts.repeats
        );
        // The model's passes cost rows x features x classes (the neighbours'
        // search rows² x features); confident learning's pruning, rows x classes².
        let n = rows.len() as f64;
        let work = if knn {
            n * n * (z.cols() as f64 + 1.0)
        } else {
            n * (z.cols() as f64 + 1.0) * k as f64
        };
        if work > MAX_LABEL_WORK || n * (k * k) as f64 > MAX_LABEL_WORK {
            self.not_run(
                Issue::Label,
                method,
                format!(
                    "{} rows x {} features x {k} classes is more than the built-in model fits \
                     in reasonable time (rows x features x classes and rows x classes² at most \
                     {MAX_LABEL_WORK:e}): sample the rows or merge classes",
                    rows.len(),
                    z.cols()
                ),
            );
            return Ok(());
        }
        if rows.len() < self.opts.folds.max(2) {
            self.not_run(
                Issue::Label,
                method,
                format!("fewer labelled rows than folds ({})", rows.len()),
            );
            return Ok(());
        }
        // Out-of-fold probabilities, averaged over `repeats` splits (in parallel).
        use rayon::prelude::*;
        let runs: Vec<Vec<Vec<f64>>> = (0..self.opts.repeats)
            .into_par_iter()
            .map(|r| {
                let seed = self.opts.seed.wrapping_add(r as u64);
                if knn {
                    let neighbours = self.opts.label_neighbours;
                    logistic::out_of_fold(&z, &classes, k, self.opts.folds, seed, &|x, y, test| {
                        knn::knn_proba(x, y, k, test, neighbours.min(x.rows()))
                    })
                } else {
                    logistic::out_of_fold_proba(
                        &z,
                        &classes,
                        k,
                        self.opts.folds,
                        seed,
                        &LABEL_MODEL,
                    )
                }
            })
            .collect::<Result<_, _>>()?;
        let mut probs: Vec<Vec<f64>> = Vec::new();
        for run in runs {
            if probs.is_empty() {
                probs = run;
            } else {
                for (sum, p) in probs.iter_mut().zip(run) {
                    sum.iter_mut().zip(p).for_each(|(a, b)| *a += b);
                }
            }
        }
        let scale = 1.0 / self.opts.repeats as f64;
        probs.iter_mut().flatten().for_each(|p| *p *= scale);
        self.confident_learning(rows, classes, probs, method, model_long, self.opts.folds)
    }

    /// Confident learning on out-of-sample probabilities `probs` of the
    /// labelled `rows` (data rows) whose classes are `classes`.
    fn confident_learning(
        &mut self,
        rows: Vec<usize>,
        classes: Vec<usize>,
        probs: Vec<Vec<f64>>,
        method: String,
        model_long: String,
        folds: usize,
    ) -> Result<(), IssuesError> {
        let k = self.class_names.len();
        let correct = probs
            .iter()
            .zip(&classes)
            .filter(|(p, &c)| argmax(p) == c)
            .count();
        let joint = confident::confident_joint(&classes, &probs)?;
        let total: u64 = joint.joint.iter().flatten().sum();
        let off: u64 = joint
            .joint
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, v)| v)
                    .sum::<u64>()
            })
            .sum();
        self.label_model = Some(LabelModel {
            model: model_long,
            folds,
            accuracy: round(correct as f64 / rows.len().max(1) as f64),
            estimated_noise: round(if total > 0 {
                off as f64 / total as f64
            } else {
                0.0
            }),
        });
        // A model no better than always answering the largest class cannot
        // tell a wrong label from a hard row: confident learning would flag
        // rows at random. "Better" means significantly (one-sided binomial
        // test against the largest class's share, normal approximation, z
        // of 2.33, p 0.01), since chance alone lifts the accuracy a little.
        let mut per_class = vec![0usize; k];
        classes.iter().for_each(|&c| {
            if let Some(n) = per_class.get_mut(c) {
                *n += 1;
            }
        });
        let majority = per_class.iter().max().copied().unwrap_or(0);
        let n = rows.len() as f64;
        let share = majority as f64 / n;
        let spread = (n * share * (1.0 - share)).sqrt();
        let z = if spread > 0.0 {
            (correct as f64 - majority as f64) / spread
        } else {
            0.0
        };
        if z < 2.33 {
            self.not_run(
                Issue::Label,
                method,
                format!(
                    "the model predicts the labels no better than always answering the largest \
                     class ({correct} of {} right, the largest class has {majority}): the features \
                     do not predict the label, so wrong labels cannot be told from hard rows",
                    rows.len()
                ),
            );
            return Ok(());
        }
        let found = confident::find_label_issues(&classes, &probs)?;
        let flagged = found.len();
        for issue in found {
            let Some(&index) = rows.get(issue.row) else {
                continue;
            };
            let msg = format!(
                "label {} looks wrong: the model says {} (p({}) = {:.3})",
                self.class(issue.given),
                self.class(issue.suggested),
                self.class(issue.given),
                issue.quality
            );
            let extra = serde_json::json!({
                "given": self.class_names.get(issue.given),
                "suggested": self.class_names.get(issue.suggested),
                "label_quality": round(issue.quality),
            });
            self.flag(Issue::Label, index, 1.0 - issue.quality, msg, extra);
        }
        self.checks.push(Check {
            issue: Issue::Label,
            method,
            ran: true,
            flagged,
            threshold: None,
            note: None,
        });
        Ok(())
    }

    fn outliers(&mut self) -> Result<(), IssuesError> {
        let (method, scores, default_threshold) = match self.opts.outlier_method {
            OutlierMethod::IsolationForest => {
                let forest = outliers::IsolationForest::fit(
                    self.x,
                    &outliers::IsolationForestOptions {
                        seed: self.opts.seed,
                        ..Default::default()
                    },
                )?;
                (
                    "isolation forest (100 trees, 256 rows each)".to_string(),
                    forest.score(self.x)?,
                    Some(DEFAULT_FOREST_THRESHOLD),
                )
            }
            OutlierMethod::Knn => {
                let k = self.opts.neighbours;
                let method = format!("mean distance to the {k} nearest rows (standardised)");
                if self.x.rows() > MAX_PAIRWISE_ROWS || k >= self.x.rows() {
                    self.not_run(Issue::Outlier, method, format!(
                            "needs more than {k} and at most {MAX_PAIRWISE_ROWS} rows; use the isolation forest"
                        ));
                    return Ok(());
                }
                let z = self.x.standardised();
                (
                    method,
                    outliers::knn_scores(&z, k, outliers::KnnScore::Mean)?,
                    None,
                )
            }
            OutlierMethod::Mahalanobis => {
                let method =
                    "Mahalanobis distance from the mean (covariance of all rows)".to_string();
                let Some(scores) = mahalanobis(self.x) else {
                    self.not_run(Issue::Outlier, method, format!(
                            "needs two rows or more and at most {} features; use the isolation forest",
                            mlsec_stats::sketch::MAX_DIM
                        ));
                    return Ok(());
                };
                (method, scores, None)
            }
        };
        let (flagged, threshold) = match (
            self.opts.contamination,
            self.opts.outlier_threshold,
            default_threshold,
        ) {
            (Some(c), _, _) => {
                let rows = outliers::flag_by_contamination(&scores, c)?;
                let cut = rows
                    .iter()
                    .filter_map(|&r| scores.get(r).copied())
                    .fold(f64::INFINITY, f64::min);
                (rows, cut.is_finite().then_some(cut))
            }
            (None, Some(t), _) | (None, None, Some(t)) => {
                let rows = (0..scores.len())
                    .filter(|&i| scores.get(i).is_some_and(|&s| s > t))
                    .collect();
                (rows, Some(t))
            }
            (None, None, None) => {
                let rows =
                    outliers::flag_by_contamination(&scores, DEFAULT_DISTANCE_CONTAMINATION)?;
                (rows, None)
            }
        };
        let count = flagged.len();
        for index in flagged {
            let score = scores.get(index).copied().unwrap_or(0.0);
            let msg = match (self.opts.contamination, threshold) {
                (None, Some(t)) => format!("outlier (score {score:.3} > {t})"),
                (Some(c), _) => format!(
                    "outlier (score {score:.3}, in the top {}% of rows)",
                    round(c * 100.0)
                ),
                _ => format!("outlier (score {score:.3})"),
            };
            self.flag(Issue::Outlier, index, score, msg, serde_json::json!({}));
        }
        self.checks.push(Check {
            issue: Issue::Outlier,
            method,
            ran: true,
            flagged: count,
            threshold: threshold.map(round),
            note: self
                .opts
                .contamination
                .map(|c| format!("contamination {c}")),
        });
        Ok(())
    }

    fn backdoor(&mut self) -> Result<(), IssuesError> {
        let (rows, classes, z) = self.labelled()?;
        let k = self.class_names.len();
        let result = spectral::spectral_signatures(
            &z,
            &classes,
            k,
            &spectral::SpectralOptions {
                poison_fraction: self.opts.poison_fraction,
                seed: self.opts.seed,
                directions: BACKDOOR_DIRECTIONS,
                // Each power iteration reads every cell once: cap the whole
                // search at about 10^10 reads, however large the table.
                max_iter: (1e10 / (z.rows() as f64 * z.cols() as f64 * BACKDOOR_DIRECTIONS as f64))
                    .clamp(20.0, 1000.0) as usize,
                ..Default::default()
            },
        )?;
        let mut count = 0;
        let mut notes = Vec::new();
        for class in 0..k {
            let members: Vec<usize> = (0..classes.len())
                .filter(|&i| classes.get(i) == Some(&class))
                .collect();
            // The best-separated group on either side of any of the top
            // directions; its rows' distance along that direction.
            let mut best: Option<(Group, Vec<f64>, usize)> = None;
            for (direction, projection) in result.projections.iter().enumerate() {
                for sign in [1.0, -1.0] {
                    let along: Vec<f64> = members
                        .iter()
                        .map(|&i| sign * projection.get(i).copied().unwrap_or(0.0))
                        .collect();
                    if let Some(g) = separated_group(&along, 2.0 * self.opts.poison_fraction) {
                        if best
                            .as_ref()
                            .is_none_or(|(b, _, _)| g.separation > b.separation)
                        {
                            best = Some((g, along, direction));
                        }
                    }
                }
            }
            let Some((split, spread, direction)) = best else {
                continue;
            };
            let which = ["top", "second", "third"]
                .get(direction)
                .copied()
                .unwrap_or("next");
            notes.push(format!(
                "class {}: {} of {} rows stand apart (D {:.1})",
                self.class(class),
                split.rows.len(),
                members.len(),
                split.separation
            ));
            for &m in &split.rows {
                let (Some(&i), Some(&s)) = (members.get(m), spread.get(m)) else {
                    continue;
                };
                let Some(&index) = rows.get(i) else { continue };
                let msg = format!(
                    "backdoor signal in class {} (score {:.2}): {} of {} rows stand apart along the class's {which} direction (D {:.1})",
                    self.class(class),
                    s,
                    split.rows.len(),
                    members.len(),
                    split.separation
                );
                let extra = serde_json::json!({
                    "class": self.class_names.get(class),
                    "group": split.rows.len(),
                    "separation": round(split.separation),
                    "direction": direction + 1,
                });
                self.flag(Issue::Backdoor, index, s, msg, extra);
                count += 1;
            }
        }
        self.checks.push(Check {
            issue: Issue::Backdoor,
            method: format!(
                "spectral signatures per class, top {BACKDOOR_DIRECTIONS} directions (poison fraction {}, separation D >= {BACKDOOR_SEPARATION})",
                self.opts.poison_fraction
            ),
            ran: true,
            flagged: count,
            threshold: Some(BACKDOOR_SEPARATION),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        });
        Ok(())
    }
}

/// A small group standing apart.
struct Group {
    /// Indices into the values given.
    rows: Vec<usize>,
    separation: f64,
}

/// The best split of `values` (1-D) into two clusters by k-means (the split
/// point minimising the within-cluster sum of squares); the upper cluster
/// when it looks like rows sharing a trigger: at most `max_share` of the
/// values and at least [`BACKDOOR_MIN_ROWS`], separated from the rest by
/// Ashman's D ≥ [`BACKDOOR_SEPARATION`], and with a standard deviation at
/// most [`BACKDOOR_SPREAD`] times the rest's (rows broken each in its own
/// way, or noise, spread widely; rows with a shared pattern do not).
fn separated_group(values: &[f64], max_share: f64) -> Option<Group> {
    let n = values.len();
    if n < 10 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (
            values.get(a).copied().unwrap_or(0.0),
            values.get(b).copied().unwrap_or(0.0),
        );
        x.total_cmp(&y)
    });
    let sorted: Vec<f64> = order
        .iter()
        .filter_map(|&i| values.get(i).copied())
        .collect();
    // Prefix sums for O(1) cluster costs.
    let mut sum = vec![0.0; n + 1];
    let mut sq = vec![0.0; n + 1];
    for (i, v) in sorted.iter().enumerate() {
        let (s, q) = (
            sum.get(i).copied().unwrap_or(0.0),
            sq.get(i).copied().unwrap_or(0.0),
        );
        if let (Some(a), Some(b)) = (sum.get_mut(i + 1), sq.get_mut(i + 1)) {
            *a = s + v;
            *b = q + v * v;
        }
    }
    let stats = |lo: usize, hi: usize| -> (f64, f64) {
        let m = (hi - lo) as f64;
        let s = sum.get(hi).copied().unwrap_or(0.0) - sum.get(lo).copied().unwrap_or(0.0);
        let q = sq.get(hi).copied().unwrap_or(0.0) - sq.get(lo).copied().unwrap_or(0.0);
        let mean = s / m;
        (mean, (q / m - mean * mean).max(0.0))
    };
    let mut best: Option<(usize, f64)> = None;
    for cut in 1..n {
        let (_, v1) = stats(0, cut);
        let (_, v2) = stats(cut, n);
        let cost = v1 * cut as f64 + v2 * (n - cut) as f64;
        if best.is_none_or(|(_, c)| cost < c) {
            best = Some((cut, cost));
        }
    }
    let (cut, _) = best?;
    let upper = n - cut;
    if upper < BACKDOOR_MIN_ROWS || upper as f64 > max_share * n as f64 {
        return None;
    }
    let (m1, v1) = stats(0, cut);
    let (m2, v2) = stats(cut, n);
    let pooled = (v1 + v2).max(1e-300);
    let separation = std::f64::consts::SQRT_2 * (m2 - m1).abs() / pooled.sqrt();
    if separation < BACKDOOR_SEPARATION || v2 > BACKDOOR_SPREAD * BACKDOOR_SPREAD * v1 {
        return None;
    }
    let rows = order.get(cut..).map(<[usize]>::to_vec).unwrap_or_default();
    Some(Group { rows, separation })
}

/// Each row's Mahalanobis distance from the rows' mean under their
/// covariance (slightly regularised, see `MultiMoments::scorer`); `None`
/// past [`mlsec_stats::sketch::MAX_DIM`] features or below two rows.
fn mahalanobis(x: &Matrix) -> Option<Vec<f64>> {
    let mut moments = mlsec_stats::sketch::MultiMoments::new(x.cols()).ok()?;
    for row in x.iter_rows() {
        moments.update(row).ok()?;
    }
    let scorer = moments.scorer().ok()?;
    x.iter_rows().map(|r| scorer.distance(r).ok()).collect()
}

fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// Six significant decimals: enough for a report, stable across platforms.
fn round(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1e6).round() / 1e6
    } else {
        x
    }
}

fn list(rows: &[u64]) -> String {
    let shown: Vec<String> = rows.iter().take(5).map(u64::to_string).collect();
    if rows.len() > 5 {
        format!("{} and {} more", shown.join(", "), rows.len() - 5)
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_group_needs_a_small_distant_cluster() {
        // An even spread: no group.
        let clean: Vec<f64> = (0..200).map(|i| (i as f64 + 0.5) / 200.0 * 3.0).collect();
        assert!(separated_group(&clean, 0.1).is_none());
        // Ten of 200 far out and close together: found.
        let mut poisoned = clean.clone();
        for (i, v) in poisoned.iter_mut().take(10).enumerate() {
            *v = 40.0 + 0.1 * i as f64;
        }
        let g = separated_group(&poisoned, 0.1).unwrap();
        assert_eq!(g.rows, (0..10).collect::<Vec<_>>());
        assert!(g.separation > BACKDOOR_SEPARATION);
        // Too large a share: not a backdoor group.
        assert!(separated_group(&poisoned, 0.04).is_none());
        // Far out but each in its own place (broken rows): not a group.
        let mut scattered = clean.clone();
        for (i, v) in scattered.iter_mut().take(10).enumerate() {
            *v = 100.0 + 30.0 * i as f64;
        }
        assert!(separated_group(&scattered, 0.1).is_none());
        // Two rows are not a group.
        let mut two = clean;
        two[0] = 40.0;
        two[1] = 40.0;
        assert!(separated_group(&two, 0.1).is_none());
    }

    #[test]
    fn leak_and_class_order() {
        let names: Vec<String> = ["10", "9", "1.5"].iter().map(|s| s.to_string()).collect();
        assert_eq!(class_order(&names), vec![2, 1, 0]);
        let names: Vec<String> = ["b", "a"].iter().map(|s| s.to_string()).collect();
        assert_eq!(class_order(&names), vec![1, 0]);
    }
}
