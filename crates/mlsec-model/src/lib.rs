//! A model that answers queries.
//!
//! mlsec validates models it must not trust and cannot see inside: an ONNX
//! file run in process (crate `mlsec-onnx`) or a live endpoint. Both are a
//! [`Model`]: rows of numeric features in, one score per class out. Attacks,
//! privacy audits, explanations and prediction drift are written against
//! this trait only.

// Library code may not index, slice or unwrap. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

use std::fmt;

/// What a model says of each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One probability per class (they sum to 1 up to rounding).
    Probabilities,
    /// One score per class that is not a probability (an SVM's decision
    /// values, logits): the highest wins.
    Scores,
    /// Only the predicted class: [`Model::predict`] answers one-hot rows.
    Labels,
    /// A regressor: one value per target.
    Values,
}

/// Why a model did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model could not be loaded or prepared; the message names the file,
    /// and the operator or node where that is the cause.
    #[error("{0}")]
    Load(String),
    /// The rows do not fit the model (feature count, values).
    #[error("{0}")]
    Input(String),
    /// The model failed on rows it accepted, or an endpoint answered garbage.
    #[error("{0}")]
    Runtime(String),
    /// An endpoint did not answer in time.
    #[error("{0}")]
    Timeout(String),
}

/// A model that answers queries: rows of `features()` numbers in, one row of
/// `width()` numbers out per row.
pub trait Model: Send + Sync {
    /// Where the model is, for messages: a path or a URL.
    fn name(&self) -> &str;
    /// Features per row, in the order the model reads them.
    fn features(&self) -> usize;
    /// Class labels in the order of the scores; empty for a regressor.
    fn classes(&self) -> &[String];
    /// What the numbers of [`Model::predict`] are.
    fn output(&self) -> Output;
    /// Scores of `rows.len() / features()` rows, row after row, each of
    /// [`Model::width`] numbers. `rows.len()` must be a multiple of
    /// `features()`.
    fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError>;

    /// Numbers per answered row: the classes, or the targets of a regressor.
    fn width(&self) -> usize {
        self.classes().len().max(1)
    }
}

impl fmt::Debug for dyn Model + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name())
            .field("features", &self.features())
            .field("classes", &self.classes())
            .field("output", &self.output())
            .finish()
    }
}

/// The index of the highest score in `row` (the first of equals); `None` when
/// `row` is empty or holds a NaN.
pub fn argmax(row: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in row.iter().enumerate() {
        if v.is_nan() {
            return None;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// Checks that `rows` holds whole rows of `model`'s features.
pub fn check_rows(model: &dyn Model, rows: &[f32]) -> Result<usize, ModelError> {
    let features = model.features();
    if features == 0 || !rows.len().is_multiple_of(features) {
        return Err(ModelError::Input(format!(
            "{}: {} numbers are not whole rows of {features} features",
            model.name(),
            rows.len()
        )));
    }
    Ok(rows.len() / features)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_equals_and_refuses_nan() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7]), Some(1));
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[0.1, f32::NAN]), None);
        assert_eq!(argmax(&[-3.0]), Some(0));
    }
}
