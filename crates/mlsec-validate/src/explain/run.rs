//! `mlsec explain`: fairness across the groups of a sensitive column,
//! permutation importance of each feature, and Kernel SHAP values of chosen
//! rows, as an evidence envelope of kind `explain`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mlsec_core::{Evidence, Finding, Subject};
use mlsec_data::ReadOptions;
use mlsec_model::{argmax, Model, Output};
use serde::{Deserialize, Serialize};

use super::fairness::{fairness, Fairness};
use super::importance::{permutation_importance, Importance, Settings, Target};
use super::shap::{kernel_shap, sample_background, Settings as ShapSettings};
use super::ExplainError;
use crate::error::ValidateError;
use crate::redteam::output_name;
use crate::rules;
use crate::table::{read_labelled_with_groups, MISSING_GROUP};
use crate::{DataInfo, ModelInfo};

/// Options of [`explain`].
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    pub data: PathBuf,
    pub label: String,
    pub features: Option<Vec<String>>,
    pub exclude: Vec<String>,
    /// The sensitive column whose groups are compared (fairness).
    pub sensitive: Option<String>,
    /// The favourable class (default: the model's last class, as for a
    /// binary 0/1 model).
    pub positive: Option<String>,
    /// A finding when a fairness ratio is below this (the four-fifths rule).
    pub min_ratio: f64,
    /// Repeats of permutation importance (0: not computed).
    pub repeats: usize,
    /// 1-based data rows explained by Kernel SHAP.
    pub shap_rows: Vec<u64>,
    /// Background rows for Kernel SHAP.
    pub background: usize,
    pub seed: u64,
    pub read: ReadOptions,
}

impl ExplainOptions {
    pub fn new(data: PathBuf, label: String) -> ExplainOptions {
        ExplainOptions {
            data,
            label,
            features: None,
            exclude: Vec::new(),
            sensitive: None,
            positive: None,
            min_ratio: 0.8,
            repeats: 5,
            shap_rows: Vec::new(),
            background: 100,
            seed: 0,
            read: ReadOptions::default(),
        }
    }
}

/// `details` of an `explain` envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExplainDetails {
    pub model: ModelInfo,
    pub data: DataInfo,
    /// Feature columns in the model's order; importances and SHAP values
    /// follow it.
    pub features: Vec<String>,
    /// Accuracy over every usable row.
    pub accuracy: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<FairnessReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shap: Vec<ShapRow>,
}

/// Fairness across the groups of a sensitive column.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FairnessReport {
    pub sensitive: String,
    /// The favourable class: selection rate, TPR and FPR are of it.
    pub positive_class: String,
    pub metrics: Fairness,
}

/// Kernel SHAP values of one row.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShapRow {
    /// 1-based data row.
    pub row: u64,
    /// The class whose probability is explained (the predicted one).
    pub class: String,
    /// The mean prediction over the background rows.
    pub base_value: f64,
    pub prediction: f64,
    /// One value per feature; they sum to prediction - base_value.
    pub values: Vec<f64>,
    /// Every coalition of features was evaluated.
    pub exact: bool,
}

fn explain_error(e: ExplainError) -> ValidateError {
    match e {
        ExplainError::Model(m) => ValidateError::Model(m),
        other => ValidateError::Usage(other.to_string()),
    }
}

/// Explains `model` on the labelled rows of `opts.data`.
pub fn explain(
    model: &dyn Model,
    model_subject: Subject,
    opts: &ExplainOptions,
) -> Result<Evidence, ValidateError> {
    // Above 1, every ratio is a finding: a way to see them all.
    crate::error::threshold("min-ratio", opts.min_ratio, 0.0, f64::MAX)?;
    if model.output() == Output::Values || model.classes().len() < 2 {
        return Err(ValidateError::Usage(format!(
            "{}: a regressor; explain reads classifiers",
            model.name()
        )));
    }
    let data_name = opts.data.display().to_string();
    let table = read_labelled_with_groups(
        &opts.data,
        &opts.label,
        opts.features.as_deref(),
        &opts.exclude,
        model,
        &opts.read,
        opts.sensitive.as_deref(),
    )?;
    let classes = model.classes().to_vec();
    let d = table.features.len();
    let scores = model.predict(&table.x)?;
    let predicted: Vec<usize> = scores
        .chunks_exact(model.width().max(1))
        .map(|s| argmax(s).unwrap_or(0))
        .collect();
    let accuracy = predicted
        .iter()
        .zip(&table.labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / table.len().max(1) as f64;

    let mut findings = Vec::new();
    let fairness_report = match &opts.sensitive {
        Some(sensitive) => {
            let positive = match &opts.positive {
                Some(p) => classes.iter().position(|c| c == p).ok_or_else(|| {
                    ValidateError::Usage(format!(
                        "--positive {p}: not one of the model's classes ({})",
                        classes.join(", ")
                    ))
                })?,
                None => classes.len() - 1,
            };
            // Rows without a value of the sensitive column belong to no group.
            let known: Vec<usize> = (0..table.len())
                .filter(|&i| table.groups.get(i).is_some_and(|g| g != MISSING_GROUP))
                .collect();
            let pick = |v: &[usize]| -> Vec<usize> {
                known.iter().filter_map(|&i| v.get(i).copied()).collect()
            };
            let groups: Vec<&str> = known
                .iter()
                .filter_map(|&i| table.groups.get(i).map(String::as_str))
                .collect();
            let metrics = fairness(&pick(&table.labels), &pick(&predicted), positive, &groups)
                .map_err(explain_error)?;
            for (what, ratio) in [
                ("demographic parity", metrics.demographic_parity_ratio),
                ("equalized odds", metrics.equalized_odds_ratio),
            ] {
                if let Some(r) = ratio.filter(|r| *r < opts.min_ratio) {
                    findings.push(
                        Finding::new(
                            &rules::DISPARITY,
                            model.name(),
                            format!(
                                "{what} ratio {r:.3} across `{sensitive}` is below {} (class {})",
                                opts.min_ratio,
                                classes.get(positive).cloned().unwrap_or_default()
                            ),
                        )
                        .with_evidence(serde_json::json!({
                            "metric": what, "ratio": r, "sensitive": sensitive,
                            "min_ratio": opts.min_ratio, "data": data_name,
                        })),
                    );
                }
            }
            Some(FairnessReport {
                sensitive: sensitive.clone(),
                positive_class: classes.get(positive).cloned().unwrap_or_default(),
                metrics,
            })
        }
        None => None,
    };

    let importance = if opts.repeats > 0 {
        Some(
            permutation_importance(
                model,
                &table.x,
                Target::Classes(&table.labels),
                &Settings {
                    repeats: opts.repeats,
                    seed: opts.seed,
                },
            )
            .map_err(explain_error)?,
        )
    } else {
        None
    };

    let mut shap = Vec::new();
    if !opts.shap_rows.is_empty() {
        let mut rows = Vec::new();
        let mut picked = Vec::new();
        for &wanted in &opts.shap_rows {
            let i = table.rows.iter().position(|&r| r == wanted).ok_or_else(|| {
                ValidateError::Usage(format!(
                    "{data_name}: row {wanted} is not a usable data row (1 to {}, with a label and every feature)",
                    table.total
                ))
            })?;
            rows.extend_from_slice(table.row(i));
            picked.push(wanted);
        }
        let background =
            sample_background(&table.x, d, opts.background, opts.seed).map_err(explain_error)?;
        let explained = kernel_shap(
            model,
            &background,
            &rows,
            &ShapSettings {
                seed: opts.seed,
                ..ShapSettings::default()
            },
        )
        .map_err(explain_error)?;
        for (row, e) in picked.into_iter().zip(explained) {
            shap.push(ShapRow {
                row,
                class: classes.get(e.output).cloned().unwrap_or_default(),
                base_value: e.base_value,
                prediction: e.prediction,
                values: e.values,
                exact: e.exact,
            });
        }
    }

    let details = ExplainDetails {
        model: ModelInfo {
            name: model.name().to_string(),
            features: model.features(),
            classes,
            output: output_name(model.output()).into(),
        },
        data: DataInfo {
            path: data_name.clone(),
            format: table.format.clone(),
            rows: table.total,
            skipped_rows: table.skipped,
        },
        features: table.features.clone(),
        accuracy,
        fairness: fairness_report,
        importance,
        shap,
    };
    let subjects = vec![
        model_subject,
        Subject {
            name: data_name,
            digest: BTreeMap::new(),
        },
    ];
    let details = serde_json::to_value(details).map_err(|e| ValidateError::Usage(e.to_string()))?;
    Ok(Evidence::new("explain", subjects, findings, details))
}
