//! What drift and profiles say of a table alike: one side of a comparison,
//! a column's kind, and a histogram of two sides.

use serde::{Deserialize, Serialize};

/// One side of the comparison.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Side {
    pub path: String,
    pub format: String,
    pub rows: u64,
    /// Malformed rows skipped (`--skip-bad-rows`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_rows: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Numeric,
    Categorical,
}

/// Proportions of reference and current per bin or category.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Histogram {
    /// Numeric: the bin edges (one more than bins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<f64>,
    /// Categorical: the categories shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    pub reference: Vec<f64>,
    pub current: Vec<f64>,
}
