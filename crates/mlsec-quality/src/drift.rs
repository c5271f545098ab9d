//! `mlsec data drift REF CUR`: each column of the current data compared with
//! the reference by a method suited to its type and size, p-values corrected
//! across columns, dataset drift by the share of drifted columns, and
//! optionally the joint distribution of the numeric columns.

use crate::columns::{self, Column, Columns, Computed};
use crate::compute::Numbers;
use crate::method::{Correction, Method};
use crate::table::{ColumnKind, Histogram, Side};
use crate::{compute, rules, QualityError};
use mlsec_core::{Evidence, Finding, Rule, Subject};
use mlsec_data::ReadOptions;
use mlsec_model::Model;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Up to this many present values in the reference, columns are judged by a
/// test (KS, chi-square, Z); above it by a distance (Wasserstein, Jensen-Shannon),
/// because on large data every test finds a difference too small to matter.
/// The same switch as Evidently's.
pub const SMALL_DATA: u64 = 1000;

/// A numeric column with at most this many distinct values in the reference
/// is judged as categorical (a flag, a rating): counting values says more than
/// distances between them. Evidently's rule too.
pub const FEW_VALUES: usize = 5;

/// Bars in each column's histogram for the report.
pub const HISTOGRAM_BINS: usize = 20;

/// What `mlsec data drift` compares and how.
#[derive(Debug, Clone)]
pub struct DriftOptions {
    pub reference: PathBuf,
    pub current: PathBuf,
    pub read: ReadOptions,
    /// Compare only these columns (default: every column of the reference).
    pub columns: Vec<String>,
    /// Leave these columns out (identifiers, timestamps, the label).
    pub exclude: Vec<String>,
    /// Judge these columns as categorical even when they hold numbers.
    pub categorical: Vec<String>,
    /// The method for numeric / categorical columns (default: by size, as
    /// [`SMALL_DATA`] says).
    pub numeric_method: Option<Method>,
    pub categorical_method: Option<Method>,
    /// The threshold for the chosen methods (default: the method's own).
    pub threshold: Option<f64>,
    pub correction: Correction,
    /// Dataset drift when at least this share of compared columns drifted.
    pub drift_share: f64,
    /// Also test the joint distribution of the numeric columns (MMD).
    pub multivariate: bool,
    /// Rows sampled from each side for the multivariate test.
    pub multivariate_rows: usize,
    pub seed: u64,
    /// Cells of a table kept as values; a larger table is summarised
    /// (approximate statistics, bounded memory).
    pub max_cells: u64,
    /// Prediction drift: this model's predictions on both sides become one
    /// more column, compared like the others (`--model`).
    pub model: Option<Arc<dyn Model>>,
    /// The columns `model` reads, in its order (default: every column of the
    /// reference but `exclude`, in file order).
    pub model_features: Option<Vec<String>>,
}

impl DriftOptions {
    pub fn new(reference: PathBuf, current: PathBuf) -> DriftOptions {
        DriftOptions {
            reference,
            current,
            read: ReadOptions::default(),
            columns: Vec::new(),
            exclude: Vec::new(),
            categorical: Vec::new(),
            numeric_method: None,
            categorical_method: None,
            threshold: None,
            correction: Correction::Holm,
            drift_share: 0.5,
            multivariate: false,
            multivariate_rows: 1000,
            seed: 0,
            max_cells: columns::MAX_EXACT_CELLS,
            model: None,
            model_features: None,
        }
    }
}

/// `details` of a `drift` envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DriftDetails {
    pub reference: Side,
    pub current: Side,
    /// How the columns' p-values were corrected for testing many columns.
    pub correction: Correction,
    /// Dataset drift when `drifted / compared` is at least this.
    pub drift_share: f64,
    pub compared: usize,
    pub drifted: usize,
    pub dataset_drift: bool,
    /// One entry per compared column, in the reference's column order.
    pub columns: Vec<ColumnDrift>,
    /// Columns left out: excluded, missing on one side, or not comparable
    /// (each also a DRF003 or DRF004 finding, except those excluded).
    pub skipped: Vec<Skipped>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multivariate: Option<Multivariate>,
    /// With `--follow`: which rows of the followed file this window holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::follow::WindowInfo>,
}

/// The comparison of one column.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ColumnDrift {
    pub column: String,
    pub kind: ColumnKind,
    /// The method that decided.
    pub method: Method,
    /// The method's statistic: a test statistic or a distance.
    pub statistic: f64,
    /// The method's p-value, before correction; null for a distance.
    pub p_value: Option<f64>,
    /// The p-value after the correction across columns; null for a distance.
    pub p_value_adjusted: Option<f64>,
    pub threshold: f64,
    pub drifted: bool,
    /// The statistics come from summaries (a profile as the reference, or data
    /// too large to hold), within the summaries' documented error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
    /// A test's verdict whatever the method: KS for numeric columns,
    /// chi-square (Z for two values) for categorical ones.
    pub test: Stat,
    /// A distance whatever the method: Wasserstein divided by the reference's
    /// standard deviation for numeric columns, Jensen-Shannon for categorical ones.
    pub effect_size: Stat,
    pub reference: ColumnSide,
    pub current: ColumnSide,
    /// Reference against current for the report: proportions per bin (numeric)
    /// or per category (the most frequent, then the rest as `(other)`).
    pub histogram: Histogram,
}

/// A statistic by a named method.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stat {
    pub method: Method,
    pub statistic: f64,
    pub p_value: Option<f64>,
}

/// A column on one side.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ColumnSide {
    /// Values present (not missing).
    pub count: u64,
    pub missing: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// Distinct values (categorical columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<usize>,
}

/// A column not compared, and why.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Skipped {
    pub column: String,
    pub reason: String,
}

/// The joint test of the numeric columns.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Multivariate {
    pub method: String,
    pub columns: Vec<String>,
    /// Rows sampled from each side.
    pub rows: usize,
    pub statistic: f64,
    pub p_value: f64,
    pub threshold: f64,
    pub drifted: bool,
}

/// Compares the current data with the reference and returns the `drift`
/// evidence. Errors only when a file cannot be read or the options do not fit
/// the data; what is wrong inside the data is a finding.
pub fn drift(opts: &DriftOptions) -> Result<Evidence, QualityError> {
    check_options(opts)?;
    let (reference, current) = rayon::join(
        || read_side(opts, &opts.reference),
        || read_side(opts, &opts.current),
    );
    let ((mut reference, ref_format), (mut current, cur_format)) = (reference?, current?);
    let features = model_features(opts, &reference);
    add_predictions(opts, &features, &mut reference, &opts.reference)?;
    add_predictions(opts, &features, &mut current, &opts.current)?;
    compare_tables(
        &with_predictions(opts),
        &reference,
        ref_format,
        &current,
        cur_format,
    )
}

/// The name of the predictions' column: the model's file, so that it does
/// not clash with a column of the data.
pub(crate) fn prediction_column(model: &dyn Model) -> String {
    let file = std::path::Path::new(model.name()).file_name().map_or_else(
        || model.name().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    format!("prediction [{file}]")
}

/// The options with the predictions' column compared too (a classifier's
/// as categories).
pub(crate) fn with_predictions(opts: &DriftOptions) -> DriftOptions {
    let mut opts = opts.clone();
    if let Some(model) = &opts.model {
        let name = prediction_column(model.as_ref());
        if !opts.columns.is_empty() {
            opts.columns.push(name.clone());
        }
        if !model.classes().is_empty() {
            opts.categorical.push(name);
        }
    }
    opts
}

/// The columns the model reads: as given, or the reference's but `exclude`.
pub(crate) fn model_features(opts: &DriftOptions, reference: &Columns) -> Vec<String> {
    match &opts.model_features {
        Some(f) => f.clone(),
        None => reference
            .columns
            .iter()
            .filter(|c| !opts.exclude.contains(&c.name))
            .map(|c| c.name.clone())
            .collect(),
    }
}

/// Adds the model's prediction for every row of `side` as a column (a
/// class label, or a regressor's value; missing where a feature is).
pub(crate) fn add_predictions(
    opts: &DriftOptions,
    features: &[String],
    side: &mut Columns,
    path: &std::path::Path,
) -> Result<(), QualityError> {
    let Some(model) = &opts.model else {
        return Ok(());
    };
    let shown = path.display();
    if side.summarised() {
        return Err(QualityError::Usage(format!(
            "{shown}: prediction drift needs every row, and this side is a profile or holds more than {} cells",
            opts.max_cells
        )));
    }
    let answers =
        crate::answers::model_answers(model.as_ref(), features, side, &shown.to_string())?;
    let classes = model.classes();
    let values: Vec<Option<Computed>> = answers
        .into_iter()
        .map(|row| {
            let row = row?;
            if classes.is_empty() {
                row.first().map(|&v| Computed::Number(f64::from(v)))
            } else {
                let c = mlsec_model::argmax(&row)?;
                classes.get(c).map(|l| Computed::Text(l.clone()))
            }
        })
        .collect();
    side.columns
        .push(Column::computed(&prediction_column(model.as_ref()), values));
    Ok(())
}

/// The options' own errors, before any data is read.
pub(crate) fn check_options(opts: &DriftOptions) -> Result<(), QualityError> {
    if !(0.0..=1.0).contains(&opts.drift_share) {
        return Err(QualityError::Usage(format!(
            "--drift-share must be between 0 and 1, not {}",
            opts.drift_share
        )));
    }
    if let Some(t) = opts.threshold {
        if !t.is_finite() || t < 0.0 {
            return Err(QualityError::Usage(format!(
                "--threshold must be a number >= 0, not {t}"
            )));
        }
    }
    for (method, numeric) in [
        (opts.numeric_method, true),
        (opts.categorical_method, false),
    ] {
        if let Some(m) = method {
            if numeric && !m.numeric() || !numeric && !m.categorical() {
                let kind = if numeric { "numeric" } else { "categorical" };
                return Err(QualityError::Usage(format!(
                    "{} cannot judge {kind} columns",
                    m.as_str()
                )));
            }
        }
    }
    Ok(())
}

/// A table or a profile as columns, with the format it was read as.
pub(crate) fn read_side(
    opts: &DriftOptions,
    path: &std::path::Path,
) -> Result<(Columns, String), QualityError> {
    if crate::profile::is_profile(path) {
        let profile = crate::profile::load(path)?;
        return Ok((crate::profile::columns(profile), "profile".to_string()));
    }
    let format = mlsec_data::detect(path)?;
    let keep = columns::Keep::Values {
        max_cells: opts.max_cells,
    };
    let columns = columns::read(path, format, &opts.read, keep)?;
    Ok((columns, format.as_str().to_string()))
}

/// The `drift` evidence of `current` against `reference`, already read
/// (named in it by the options' paths).
pub(crate) fn compare_tables(
    opts: &DriftOptions,
    reference: &Columns,
    ref_format: String,
    current: &Columns,
    cur_format: String,
) -> Result<Evidence, QualityError> {
    if let Some(m @ (Method::Cvm | Method::Anderson)) = opts.numeric_method {
        if reference.summarised() || current.summarised() {
            return Err(QualityError::Usage(format!(
                "{} needs every value, and the columns are summarised (a profile, or more than \
                 {} cells): use ks, wasserstein, jensenshannon, psi, kl or hellinger",
                m.as_str(),
                opts.max_cells
            )));
        }
    }
    let ref_name = opts.reference.display().to_string();
    let cur_name = opts.current.display().to_string();

    for name in opts
        .columns
        .iter()
        .chain(&opts.exclude)
        .chain(&opts.categorical)
    {
        if reference.get(name).is_none() && current.get(name).is_none() {
            return Err(QualityError::Usage(format!(
                "no column `{name}` in {ref_name} or {cur_name}"
            )));
        }
    }

    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    let mut pairs = Vec::new();
    for r in &reference.columns {
        let wanted = opts.columns.is_empty() || opts.columns.contains(&r.name);
        if !wanted || opts.exclude.contains(&r.name) {
            if wanted {
                skipped.push(Skipped {
                    column: r.name.clone(),
                    reason: "excluded".into(),
                });
            }
            continue;
        }
        let Some(c) = current.get(&r.name) else {
            let why = format!(
                "{}: in the reference, missing from the current data",
                r.name
            );
            findings.push(finding(
                &rules::SCHEMA_CHANGE,
                &cur_name,
                &r.name,
                why.clone(),
            ));
            skipped.push(Skipped {
                column: r.name.clone(),
                reason: "missing from the current data".into(),
            });
            continue;
        };
        pairs.push((r, c));
    }
    for c in &current.columns {
        let wanted = opts.columns.is_empty() || opts.columns.contains(&c.name);
        if wanted && !opts.exclude.contains(&c.name) && reference.get(&c.name).is_none() {
            let why = format!("{}: in the current data, not in the reference", c.name);
            findings.push(finding(&rules::SCHEMA_CHANGE, &cur_name, &c.name, why));
            skipped.push(Skipped {
                column: c.name.clone(),
                reason: "not in the reference".into(),
            });
        }
    }

    // Decide each column's kind and method, then compare the columns in parallel.
    let mut plans = Vec::new();
    for (r, c) in pairs {
        match plan(opts, r, c) {
            Ok(plan) => {
                if let Some(why) = &plan.type_change {
                    findings.push(finding(
                        &rules::SCHEMA_CHANGE,
                        &cur_name,
                        &r.name,
                        why.clone(),
                    ));
                }
                plans.push(plan);
            }
            Err(reason) => {
                let why = format!("{}: not compared: {reason}", r.name);
                findings.push(finding(&rules::NOT_COMPARED, &cur_name, &r.name, why));
                skipped.push(Skipped {
                    column: r.name.clone(),
                    reason,
                });
            }
        }
    }
    let mut compared: Vec<ColumnDrift> = plans.into_par_iter().map(compare).collect();

    // Correct the p-values of the columns judged by a test, then decide.
    let tested: Vec<usize> = (0..compared.len())
        .filter(|&i| compared.get(i).is_some_and(|c| c.method.is_test()))
        .collect();
    let raw: Vec<f64> = tested
        .iter()
        .filter_map(|&i| compared.get(i).and_then(|c| c.p_value))
        .collect();
    let adjusted = compute::correct(opts.correction, &raw);
    for (&i, p) in tested.iter().zip(adjusted) {
        if let Some(c) = compared.get_mut(i) {
            c.p_value_adjusted = Some(p);
        }
    }
    for c in &mut compared {
        c.drifted = match c.p_value_adjusted {
            Some(p) => p < c.threshold,
            None => c.statistic >= c.threshold,
        };
        if c.drifted {
            findings.push(column_finding(&cur_name, c));
        }
    }

    let drifted = compared.iter().filter(|c| c.drifted).count();
    let share = if compared.is_empty() {
        0.0
    } else {
        drifted as f64 / compared.len() as f64
    };
    let dataset_drift = !compared.is_empty() && share >= opts.drift_share;
    if dataset_drift {
        let why = format!(
            "{drifted} of {} columns drifted (share {share:.2} >= {:.2})",
            compared.len(),
            opts.drift_share
        );
        let mut f = finding(&rules::DATASET_DRIFT, &cur_name, "", why);
        f.location = None;
        findings.push(f);
    }

    let multivariate = if opts.multivariate && !reference.summarised() && !current.summarised() {
        multivariate(opts, reference, current, &compared)?
    } else {
        None
    };
    if let Some(m) = multivariate.as_ref().filter(|m| m.drifted) {
        let why = format!(
            "joint distribution of {} numeric columns drifted (MMD {:.4}, p {})",
            m.columns.len(),
            m.statistic,
            p_text(m.p_value)
        );
        let mut f = finding(&rules::MULTIVARIATE_DRIFT, &cur_name, "", why);
        f.location = None;
        findings.push(f);
    }

    let details = DriftDetails {
        reference: side(&ref_name, ref_format, reference),
        current: side(&cur_name, cur_format, current),
        correction: opts.correction,
        drift_share: opts.drift_share,
        compared: compared.len(),
        drifted,
        dataset_drift,
        columns: compared,
        skipped,
        multivariate,
        window: None,
    };
    let subjects = vec![
        Subject {
            name: ref_name,
            digest: BTreeMap::new(),
        },
        Subject {
            name: cur_name,
            digest: BTreeMap::new(),
        },
    ];
    let details = serde_json::to_value(details).map_err(|e| QualityError::Usage(e.to_string()))?;
    Ok(Evidence::new("drift", subjects, findings, details))
}

fn side(path: &str, format: String, columns: &Columns) -> Side {
    Side {
        path: path.to_string(),
        format,
        rows: columns.rows,
        skipped_rows: columns.skipped,
    }
}

/// A column pair with its kind and method decided.
struct Plan<'a> {
    reference: &'a Column,
    current: &'a Column,
    kind: ColumnKind,
    method: Method,
    threshold: f64,
    /// A DRF003 message when the current data's type differs from the reference's.
    type_change: Option<String>,
}

fn plan<'a>(opts: &DriftOptions, r: &'a Column, c: &'a Column) -> Result<Plan<'a>, String> {
    if let Some(t) = r.unsupported.as_ref().or(c.unsupported.as_ref()) {
        return Err(format!("values of type {t} cannot be compared"));
    }
    if r.present() == 0 {
        return Err("no values in the reference".into());
    }
    if c.present() == 0 {
        return Err("no values in the current data".into());
    }
    let forced = opts.categorical.contains(&r.name);
    let few = !r.high_cardinality() && r.distinct() <= FEW_VALUES;
    let numeric = r.is_numeric() && !forced && !few;
    let mut type_change = None;
    if r.is_numeric() && !c.is_numeric() && !forced {
        let first = c
            .first_non_numeric
            .as_ref()
            .map(|(row, v)| format!(" (first at row {row}: {v:?})"))
            .unwrap_or_default();
        type_change = Some(format!(
            "{}: numeric in the reference, {} value(s) in the current data are not numbers{first}",
            r.name, c.non_numeric
        ));
        if numeric {
            // Judged on the values that are numbers; the rest was reported.
            if c.finite == 0 {
                return Err("no numbers in the current data".into());
            }
        }
    }
    if !numeric && (r.high_cardinality() || c.high_cardinality()) {
        return Err(format!(
            "more than {} distinct values (an identifier or free text?); exclude it with --exclude",
            columns::MAX_CATEGORIES
        ));
    }
    let (kind, method) = if numeric {
        let auto = if r.finite <= SMALL_DATA {
            Method::Ks
        } else {
            Method::Wasserstein
        };
        (ColumnKind::Numeric, opts.numeric_method.unwrap_or(auto))
    } else {
        let auto = if r.present() <= SMALL_DATA {
            if categories(r, c).len() <= 2 {
                Method::Ztest
            } else {
                Method::Chisquare
            }
        } else {
            Method::Jensenshannon
        };
        let method = opts.categorical_method.unwrap_or(auto);
        // The Z-test compares one proportion: with more categories, chi-square.
        let method = if method == Method::Ztest && categories(r, c).len() > 2 {
            Method::Chisquare
        } else {
            method
        };
        (ColumnKind::Categorical, method)
    };
    Ok(Plan {
        reference: r,
        current: c,
        kind,
        method,
        threshold: opts.threshold.unwrap_or(method.default_threshold()),
        type_change,
    })
}

/// The categories of both sides, the reference's most frequent first.
fn categories(r: &Column, c: &Column) -> Vec<String> {
    let mut all = r.counts();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut out: Vec<String> = all.into_iter().map(|(k, _)| k.to_string()).collect();
    let mut extra: Vec<&str> = c
        .counts()
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| r.count_of(k) == 0)
        .collect();
    extra.sort();
    out.extend(extra.into_iter().map(str::to_string));
    out
}

fn compare(plan: Plan<'_>) -> ColumnDrift {
    let (r, c) = (plan.reference, plan.current);
    match plan.kind {
        ColumnKind::Numeric => {
            let (a, b) = (Numbers::of(r), Numbers::of(c));
            let approximate = matches!(a, Numbers::Summary(_)) || matches!(b, Numbers::Summary(_));
            let run = |method: Method| match (&a, &b) {
                (Numbers::Sorted(x), Numbers::Sorted(y)) => compute::numeric(method, x, y),
                _ => compute::numeric_approx(method, &a, &b).unwrap_or(compute::Outcome::NONE),
            };
            let (decided, test, effect) =
                (run(plan.method), run(Method::Ks), run(Method::Wasserstein));
            let histogram = match (&a, &b) {
                (Numbers::Sorted(x), Numbers::Sorted(y)) => {
                    compute::histogram(x, y, HISTOGRAM_BINS)
                }
                _ => compute::histogram_approx(&a, &b, HISTOGRAM_BINS),
            };
            ColumnDrift {
                column: r.name.clone(),
                kind: plan.kind,
                method: plan.method,
                statistic: decided.statistic,
                p_value: decided.p_value,
                p_value_adjusted: None,
                threshold: plan.threshold,
                drifted: false,
                approximate,
                test: Stat {
                    method: Method::Ks,
                    statistic: test.statistic,
                    p_value: test.p_value,
                },
                effect_size: Stat {
                    method: Method::Wasserstein,
                    statistic: effect.statistic,
                    p_value: None,
                },
                reference: numeric_side(r, &a),
                current: numeric_side(c, &b),
                histogram,
            }
        }
        ColumnKind::Categorical => {
            let names = categories(r, c);
            let counts =
                |col: &Column| -> Vec<u64> { names.iter().map(|k| col.count_of(k)).collect() };
            let (a, b) = (counts(r), counts(c));
            let decided = compute::categorical(plan.method, &a, &b);
            let test_method = if names.len() <= 2 {
                Method::Ztest
            } else {
                Method::Chisquare
            };
            let test = compute::categorical(test_method, &a, &b);
            let effect = compute::categorical(Method::Jensenshannon, &a, &b);
            ColumnDrift {
                column: r.name.clone(),
                kind: plan.kind,
                method: plan.method,
                statistic: decided.statistic,
                p_value: decided.p_value,
                p_value_adjusted: None,
                threshold: plan.threshold,
                drifted: false,
                approximate: r.high_cardinality() || c.high_cardinality(),
                test: Stat {
                    method: test_method,
                    statistic: test.statistic,
                    p_value: test.p_value,
                },
                effect_size: Stat {
                    method: Method::Jensenshannon,
                    statistic: effect.statistic,
                    p_value: None,
                },
                reference: categorical_side(r),
                current: categorical_side(c),
                histogram: compute::category_histogram(&names, &a, &b, HISTOGRAM_BINS),
            }
        }
    }
}

fn numeric_side(col: &Column, numbers: &Numbers<'_>) -> ColumnSide {
    let (mean, std) = numbers.mean_std();
    ColumnSide {
        count: numbers.count(),
        missing: col.rows.saturating_sub(numbers.count()),
        mean,
        std,
        distinct: None,
    }
}

fn categorical_side(col: &Column) -> ColumnSide {
    ColumnSide {
        count: col.present(),
        missing: col.missing,
        mean: None,
        std: None,
        distinct: Some(col.distinct()),
    }
}

fn multivariate(
    opts: &DriftOptions,
    reference: &Columns,
    current: &Columns,
    compared: &[ColumnDrift],
) -> Result<Option<Multivariate>, QualityError> {
    let names: Vec<String> = compared
        .iter()
        .filter(|c| c.kind == ColumnKind::Numeric)
        .map(|c| c.column.clone())
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    let rows = |cols: &Columns| -> Vec<Vec<f64>> { compute::complete_rows(cols, &names) };
    let (a, b) = (rows(reference), rows(current));
    let Some(outcome) = compute::mmd(&a, &b, opts.multivariate_rows, opts.seed) else {
        return Ok(None);
    };
    let threshold = opts.threshold.unwrap_or(0.05);
    Ok(Some(Multivariate {
        method: "mmd".into(),
        columns: names,
        rows: outcome.rows,
        statistic: outcome.statistic,
        p_value: outcome.p_value,
        threshold,
        drifted: outcome.p_value < threshold,
    }))
}

fn finding(rule: &Rule, subject: &str, column: &str, message: String) -> Finding {
    let mut f = Finding::new(rule, subject, message);
    f.location = Some(format!("[{column}]"));
    f.evidence = serde_json::json!({ "column": column });
    f
}

fn column_finding(subject: &str, c: &ColumnDrift) -> Finding {
    let judged = match c.p_value_adjusted {
        Some(p) => format!("{} p {} < {}", c.method.as_str(), p_text(p), c.threshold),
        None => format!(
            "{} {:.4} >= {}",
            c.method.as_str(),
            c.statistic,
            c.threshold
        ),
    };
    let also = if c.method == c.test.method {
        format!(
            "{} {:.4}",
            c.effect_size.method.as_str(),
            c.effect_size.statistic
        )
    } else {
        format!(
            "{} p {}",
            c.test.method.as_str(),
            c.test.p_value.map_or("-".into(), p_text)
        )
    };
    let change = match (c.reference.mean, c.current.mean) {
        (Some(a), Some(b)) => format!("; mean {} -> {}", short(a), short(b)),
        _ => String::new(),
    };
    let mut f = finding(
        &rules::COLUMN_DRIFT,
        subject,
        &c.column,
        format!("{}: drifted ({judged}; {also}){change}", c.column),
    );
    f.evidence = serde_json::json!({
        "column": c.column,
        "method": c.method,
        "statistic": c.statistic,
        "p_value": c.p_value,
        "p_value_adjusted": c.p_value_adjusted,
        "threshold": c.threshold,
    });
    f
}

/// A p-value for a message: `< 1e-300` below what a double shows well.
pub(crate) fn p_text(p: f64) -> String {
    if p < 1e-300 {
        "< 1e-300".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}
