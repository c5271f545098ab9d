//! Mergeable summaries of a dataset's columns, for reference profiles and for
//! drift against a profile instead of the raw reference data.
//!
//! Every summary here has memory bounded by its parameters, never by the
//! number of rows; summaries of shards merge into the summary of the whole;
//! the same input in the same order gives the same serialised bytes (profiles
//! are signed); and a deserialised summary is checked ([`KllSketch::validate`]
//! and its siblings run inside `Deserialize`) before any of it is used.
//!
//! **Reading JSON back exactly.** The serialised forms hold decimal floats
//! (shortest round-trip form). serde_json's default parser can be one ulp
//! off; a crate that reads profiles must enable serde_json's
//! `float_roundtrip` feature, or a profile read back differs in its bits
//! (and bytes, and signature) and, rarely, fails [`KllSketch::validate`]'s
//! ordering checks.
//!
//! - [`KllSketch`]: quantiles and ranks of a numeric column (KLL).
//! - [`Moments`]: count, missing, mean, variance, min, max of a numeric column.
//! - [`MultiMoments`]: mean vector and covariance of up to [`MAX_DIM`] numeric
//!   columns, with a [`MahalanobisScorer`] for out-of-distribution scores.
//! - [`FrequencyTable`]: exact category counts up to a cap, then Misra-Gries.
//! - [`compare`]: KS, Wasserstein and binned proportions computed from sketches.

mod bounded;
pub mod compare;
mod frequency;
mod kll;
mod moments;

pub use frequency::FrequencyTable;
pub use kll::KllSketch;
pub use moments::{MahalanobisScorer, Moments, MultiMoments, MAX_DIM};

use std::fmt;

/// Why a sketch operation or a deserialised sketch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SketchError {
    /// A parameter outside its documented range (k, cap, dimension, bins, edges).
    InvalidParameter(String),
    /// A deserialised summary that breaks its invariants (hostile or corrupt).
    Invalid(String),
    /// A row whose length differs from the summary's dimension.
    DimensionMismatch {
        /// The summary's dimension.
        expected: usize,
        /// The row's length.
        got: usize,
    },
    /// Not enough data for the asked quantity (an empty sketch, fewer than two rows).
    Empty,
    /// A count would overflow `u64`.
    Overflow,
}

impl fmt::Display for SketchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidParameter(m) => write!(f, "invalid parameter: {m}"),
            Self::Invalid(m) => write!(f, "invalid sketch: {m}"),
            Self::DimensionMismatch { expected, got } => {
                write!(
                    f,
                    "row has {got} values, the summary has {expected} columns"
                )
            }
            Self::Empty => f.write_str("not enough data"),
            Self::Overflow => f.write_str("count overflow"),
        }
    }
}

impl std::error::Error for SketchError {}

/// Shorthand for an [`SketchError::Invalid`] result.
fn invalid<T>(msg: impl Into<String>) -> Result<T, SketchError> {
    Err(SketchError::Invalid(msg.into()))
}
