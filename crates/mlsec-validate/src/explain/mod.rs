//! Fairness metrics per group and explanations of a model's decisions.
//!
//! - [`fairness`]: accuracy, selection rate, true and false positive rates
//!   per group of a sensitive feature, and Fairlearn's demographic parity and
//!   equalized odds summaries.
//! - [`importance`]: permutation importance of each feature, with a
//!   confidence interval over the repeats.
//! - [`shap`]: Kernel SHAP values of chosen rows against background data.
//!
//! Numbers in, numbers out: no files, no report. Every random choice comes
//! from [`crate::rng::Rng`] and a seed, so a run can be repeated exactly.

pub mod fairness;
pub mod importance;
mod run;
pub mod shap;

pub use run::{explain, ExplainDetails, ExplainOptions, FairnessReport, ShapRow};

use mlsec_model::ModelError;

/// Why an explanation could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The inputs do not fit together: lengths differ, no rows, a class the
    /// model does not have, zero repeats.
    #[error("{0}")]
    Input(String),
    /// The model did not answer.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model answered, but not numbers that can be used: the wrong count,
    /// NaN or infinite scores.
    #[error("{0}")]
    Output(String),
}

/// Scores of `rows` from `model`, checked: `rows / features` rows of
/// `model.width()` finite numbers.
pub(crate) fn predict_checked(
    model: &dyn mlsec_model::Model,
    rows: &[f32],
) -> Result<Vec<f32>, ExplainError> {
    let n = mlsec_model::check_rows(model, rows)?;
    let width = model.width();
    let scores = model.predict(rows)?;
    if scores.len() != n * width {
        return Err(ExplainError::Output(format!(
            "{}: answered {} numbers for {n} rows of {width} outputs",
            model.name(),
            scores.len()
        )));
    }
    if let Some(bad) = scores.iter().find(|v| !v.is_finite()) {
        return Err(ExplainError::Output(format!(
            "{}: answered a score that is not a finite number ({bad})",
            model.name()
        )));
    }
    Ok(scores)
}

#[cfg(test)]
pub(crate) mod toy {
    //! Models for the explanations' tests: a function of one row.

    use mlsec_model::{Model, ModelError, Output};

    type RowFn = dyn Fn(&[f32]) -> Vec<f32> + Send + Sync;

    pub struct FnModel {
        pub features: usize,
        pub classes: Vec<String>,
        pub output: Output,
        pub f: Box<RowFn>,
    }

    impl FnModel {
        /// A classifier answering `classes` probabilities per row.
        pub fn classifier(
            features: usize,
            classes: usize,
            f: impl Fn(&[f32]) -> Vec<f32> + Send + Sync + 'static,
        ) -> FnModel {
            FnModel {
                features,
                classes: (0..classes).map(|c| format!("c{c}")).collect(),
                output: Output::Probabilities,
                f: Box::new(f),
            }
        }

        /// A regressor answering one value per row.
        pub fn regressor(
            features: usize,
            f: impl Fn(&[f32]) -> Vec<f32> + Send + Sync + 'static,
        ) -> FnModel {
            FnModel {
                features,
                classes: Vec::new(),
                output: Output::Values,
                f: Box::new(f),
            }
        }
    }

    impl Model for FnModel {
        fn name(&self) -> &str {
            "toy"
        }
        fn features(&self) -> usize {
            self.features
        }
        fn classes(&self) -> &[String] {
            &self.classes
        }
        fn output(&self) -> Output {
            self.output
        }
        fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
            mlsec_model::check_rows(self, rows)?;
            Ok(rows
                .chunks_exact(self.features)
                .flat_map(|r| (self.f)(r))
                .collect())
        }
    }
}
