//! Suspect rows in a labelled table: label errors by confident learning,
//! outliers (isolation forest, k-nearest-neighbour distance), exact and near
//! duplicates and conflicting duplicates, and backdoor signals (spectral
//! signatures). The numerical core of `mlsec data issues`; numbers in,
//! numbers out.
//!
//! Every function takes a [`Matrix`]: dense rows of `f64` features, checked
//! on construction (no NaN or infinity, at most [`Matrix::MAX_COLS`] columns
//! and [`Matrix::MAX_CELLS`] cells, at least one row and one column), and
//! where needed integer class labels `0..k`. Features are used as given
//! except where a function says it standardises (zero mean, unit population
//! standard deviation per column, as scikit-learn's `StandardScaler`; see
//! [`Matrix::standardised`]); logistic regression and the distance-based
//! checks want standardised features, the isolation forest does not care.
//! Everything random is drawn from a seed, so every result is the same on
//! every run with the same inputs. Nothing panics on any input: a bad input
//! is an [`IssuesError`], and an empty selection is an empty result.

use std::fmt;

pub mod confident;
pub mod duplicates;
pub mod knn;
pub mod logistic;
pub mod outliers;
pub mod spectral;

/// Why an issue check refused its input.
#[derive(Debug, Clone, PartialEq)]
pub enum IssuesError {
    /// No rows, or rows with no columns.
    Empty,
    /// A row whose length differs from the first row's.
    Ragged {
        /// The row (0-based).
        row: usize,
        /// The first row's length.
        expected: usize,
        /// This row's length.
        got: usize,
    },
    /// A NaN or infinite value (features, or predicted probabilities).
    NonFinite {
        /// The row (0-based).
        row: usize,
        /// The column (0-based).
        col: usize,
    },
    /// An input past a documented cap (`what` names it).
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The cap.
        limit: usize,
    },
    /// Labels and rows (or probabilities) of different lengths.
    LengthMismatch {
        /// Rows of the matrix or probabilities.
        rows: usize,
        /// Labels given.
        labels: usize,
    },
    /// A label not below the number of classes.
    LabelOutOfRange {
        /// The row (0-based).
        row: usize,
        /// Its label.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A parameter outside its documented range (named in the message).
    InvalidParameter(&'static str),
}

impl fmt::Display for IssuesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssuesError::Empty => write!(f, "no rows or no columns"),
            IssuesError::Ragged { row, expected, got } => {
                write!(f, "row {row} has {got} values, expected {expected}")
            }
            IssuesError::NonFinite { row, col } => {
                write!(f, "NaN or infinite value at row {row}, column {col}")
            }
            IssuesError::TooLarge { what, limit } => write!(f, "{what} over the cap of {limit}"),
            IssuesError::LengthMismatch { rows, labels } => {
                write!(f, "{labels} labels for {rows} rows")
            }
            IssuesError::LabelOutOfRange {
                row,
                label,
                classes,
            } => write!(f, "row {row}: label {label} not below {classes} classes"),
            IssuesError::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
        }
    }
}

impl std::error::Error for IssuesError {}

/// A dense row-major matrix of finite `f64` features: at least one row and
/// one column, at most [`Matrix::MAX_COLS`] columns and
/// [`Matrix::MAX_CELLS`] cells. Holding one proves those checks passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    data: Vec<f64>,
    rows: usize,
    cols: usize,
}

impl Matrix {
    /// The most columns a matrix may have (wide embeddings fit; wider inputs
    /// should be projected first).
    pub const MAX_COLS: usize = 1 << 16;
    /// The most cells (rows x columns) a matrix may have: 2^27, 1 GiB of f64.
    pub const MAX_CELLS: usize = 1 << 27;

    /// A matrix from row-major `data` with `cols` columns. Errors: `Empty`
    /// (no data or `cols` 0), `Ragged` (length not a multiple of `cols`),
    /// `TooLarge` (past the caps), `NonFinite` (the first NaN or infinity).
    /// O(cells).
    pub fn new(data: Vec<f64>, cols: usize) -> Result<Matrix, IssuesError> {
        if cols == 0 || data.is_empty() {
            return Err(IssuesError::Empty);
        }
        if cols > Self::MAX_COLS {
            return Err(IssuesError::TooLarge {
                what: "columns",
                limit: Self::MAX_COLS,
            });
        }
        if data.len() > Self::MAX_CELLS {
            return Err(IssuesError::TooLarge {
                what: "cells",
                limit: Self::MAX_CELLS,
            });
        }
        if !data.len().is_multiple_of(cols) {
            let rows = data.len() / cols;
            return Err(IssuesError::Ragged {
                row: rows,
                expected: cols,
                got: data.len() % cols,
            });
        }
        if let Some(at) = data.iter().position(|v| !v.is_finite()) {
            return Err(IssuesError::NonFinite {
                row: at / cols,
                col: at % cols,
            });
        }
        let rows = data.len() / cols;
        Ok(Matrix { data, rows, cols })
    }

    /// A matrix from rows of equal length; errors as [`Matrix::new`], and
    /// `Ragged` for the first row of another length. O(cells).
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Matrix, IssuesError> {
        let cols = rows.first().map_or(0, Vec::len);
        if cols == 0 {
            return Err(IssuesError::Empty);
        }
        if cols > Self::MAX_COLS {
            return Err(IssuesError::TooLarge {
                what: "columns",
                limit: Self::MAX_COLS,
            });
        }
        if rows.len().saturating_mul(cols) > Self::MAX_CELLS {
            return Err(IssuesError::TooLarge {
                what: "cells",
                limit: Self::MAX_CELLS,
            });
        }
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != cols {
                return Err(IssuesError::Ragged {
                    row: i,
                    expected: cols,
                    got: r.len(),
                });
            }
            data.extend_from_slice(r);
        }
        Matrix::new(data, cols)
    }

    /// The number of rows (at least 1).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns (at least 1).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i`, or `None` past the end. O(1).
    pub fn row(&self, i: usize) -> Option<&[f64]> {
        let start = i.checked_mul(self.cols)?;
        self.data.get(start..start.checked_add(self.cols)?)
    }

    /// The rows in order. O(1) per row.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[f64]> + '_ {
        self.data.chunks_exact(self.cols.max(1))
    }

    /// The row-major values.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Per column, the mean and the population standard deviation (divisor
    /// n; a constant column reports 1, as scikit-learn's `StandardScaler`).
    /// O(cells).
    pub fn column_scales(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.rows as f64;
        let mut mean = vec![0.0; self.cols];
        for r in self.iter_rows() {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; self.cols];
        for r in self.iter_rows() {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let std = var
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd > 0.0 && sd.is_finite() {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        (mean, std)
    }

    /// The matrix with each column centred and scaled by
    /// [`Matrix::column_scales`] (scikit-learn's `StandardScaler`). Finite
    /// in, finite out (a value that would overflow is clamped to ±f64::MAX).
    /// O(cells).
    pub fn standardised(&self) -> Matrix {
        let (mean, std) = self.column_scales();
        let mut data = Vec::with_capacity(self.data.len());
        for r in self.iter_rows() {
            for ((v, m), s) in r.iter().zip(&mean).zip(&std) {
                let z = (v - m) / s;
                data.push(if z.is_finite() {
                    z
                } else if z > 0.0 {
                    f64::MAX
                } else if z < 0.0 {
                    -f64::MAX
                } else {
                    0.0
                });
            }
        }
        Matrix {
            data,
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// The rows at `indices`, in that order (indices past the end skipped);
    /// `Empty` if none remain. O(selected cells).
    pub fn select(&self, indices: &[usize]) -> Result<Matrix, IssuesError> {
        let mut data = Vec::with_capacity(indices.len().saturating_mul(self.cols));
        let mut rows = 0;
        for &i in indices {
            if let Some(r) = self.row(i) {
                data.extend_from_slice(r);
                rows += 1;
            }
        }
        if rows == 0 {
            return Err(IssuesError::Empty);
        }
        Ok(Matrix {
            data,
            rows,
            cols: self.cols,
        })
    }
}

/// Checks that `labels` has one label per row and each is below `classes`.
pub(crate) fn check_labels(
    rows: usize,
    labels: &[usize],
    classes: usize,
) -> Result<(), IssuesError> {
    if labels.len() != rows {
        return Err(IssuesError::LengthMismatch {
            rows,
            labels: labels.len(),
        });
    }
    if let Some((row, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        return Err(IssuesError::LabelOutOfRange {
            row,
            label,
            classes,
        });
    }
    Ok(())
}

/// The squared Euclidean distance between two rows of one length.
pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// Keeps `nearest` (at most `k` (distance, item) pairs, nearest first) up to
/// date with one more candidate.
pub(crate) fn keep_nearest<T>(nearest: &mut Vec<(f64, T)>, k: usize, d: f64, item: T) {
    if nearest.len() >= k {
        if nearest.last().is_none_or(|&(worst, _)| d >= worst) {
            return;
        }
        nearest.pop();
    }
    let at = nearest.partition_point(|&(v, _)| v <= d);
    nearest.insert(at, (d, item));
}

/// Rows up to which the brute-force pairwise checks (k-nearest-neighbour
/// scores, near duplicates) run: n² / 2 distances of d operations each, so
/// 2 x 10^8 distances at the cap.
pub const MAX_PAIRWISE_ROWS: usize = 20_000;

pub(crate) fn check_pairwise(rows: usize) -> Result<(), IssuesError> {
    if rows > MAX_PAIRWISE_ROWS {
        return Err(IssuesError::TooLarge {
            what: "rows for a pairwise check",
            limit: MAX_PAIRWISE_ROWS,
        });
    }
    Ok(())
}

/// Indices of the `m` largest scores, largest first; ties by lower index.
pub(crate) fn top_indices(scores: &[f64], m: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let sa = scores.get(a).copied().unwrap_or(f64::NEG_INFINITY);
        let sb = scores.get(b).copied().unwrap_or(f64::NEG_INFINITY);
        sb.total_cmp(&sa).then(a.cmp(&b))
    });
    order.truncate(m);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_checks() {
        assert_eq!(Matrix::new(vec![], 3), Err(IssuesError::Empty));
        assert_eq!(Matrix::new(vec![1.0], 0), Err(IssuesError::Empty));
        assert!(matches!(
            Matrix::new(vec![1.0, 2.0, 3.0], 2),
            Err(IssuesError::Ragged { .. })
        ));
        assert_eq!(
            Matrix::new(vec![1.0, 2.0, f64::NAN, 4.0], 2),
            Err(IssuesError::NonFinite { row: 1, col: 0 })
        );
        assert!(matches!(
            Matrix::new(vec![0.0; Matrix::MAX_COLS + 1], Matrix::MAX_COLS + 1),
            Err(IssuesError::TooLarge { .. })
        ));
        assert!(matches!(
            Matrix::from_rows(&[vec![1.0, 2.0], vec![1.0]]),
            Err(IssuesError::Ragged { row: 1, .. })
        ));
        let m = Matrix::from_rows(&[vec![1.0, 5.0], vec![3.0, 5.0]]).unwrap();
        let s = m.standardised();
        assert_eq!(s.as_slice(), &[-1.0, 0.0, 1.0, 0.0]);
        assert_eq!(m.row(2), None);
        assert_eq!(m.select(&[9]), Err(IssuesError::Empty));
    }
}
