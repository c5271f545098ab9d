//! Streaming moments (Welford 1962) merged by Chan, Golub and LeVeque's
//! pairwise formula, for one column and for a vector of columns.

use serde::{Deserialize, Serialize};

use super::{bounded, invalid, SketchError};

/// Most columns a [`MultiMoments`] takes: its memory and update cost grow
/// as d², 256 columns are 33,000 co-moments (260 KB, about 0.7 MB as JSON).
pub const MAX_DIM: usize = 256;
/// Packed upper triangle of a MAX_DIM × MAX_DIM matrix.
const MAX_PACKED: usize = MAX_DIM * (MAX_DIM + 1) / 2;
/// Ridge added to the covariance before inverting, relative to each
/// column's variance (see [`MultiMoments::scorer`]).
const RIDGE: f64 = 1e-6;

/// Count, missing count, mean, variance, min and max of one numeric column.
///
/// **Guarantee.** Mean and variance by Welford's update, merged by Chan et
/// al.'s formula: the merge of shards agrees with one pass over the whole to
/// rounding (the tests check 1e-9 relative). Results are meaningful for
/// |x| up to about 1e150; beyond, the variance may overflow to ∞.
///
/// **Missing.** [`update_missing`](Self::update_missing) counts a null cell;
/// NaN and ±∞ passed to [`update`](Self::update) are counted as missing too
/// (no mean exists with them).
///
/// **Cost.** 48 bytes; O(1) per update and merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "MomentsWire", try_from = "MomentsWire")]
pub struct Moments {
    count: u64,
    missing: u64,
    mean: f64,
    /// Sum of squared deviations from the mean.
    m2: f64,
    min: f64,
    max: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MomentsWire {
    count: u64,
    missing: u64,
    mean: f64,
    m2: f64,
    min: Option<f64>,
    max: Option<f64>,
}

impl From<Moments> for MomentsWire {
    fn from(m: Moments) -> Self {
        let some = m.count > 0;
        MomentsWire {
            count: m.count,
            missing: m.missing,
            mean: m.mean,
            m2: m.m2,
            min: some.then_some(m.min),
            max: some.then_some(m.max),
        }
    }
}

impl TryFrom<MomentsWire> for Moments {
    type Error = SketchError;
    fn try_from(w: MomentsWire) -> Result<Self, SketchError> {
        let (min, max) = match (w.min, w.max) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => (f64::INFINITY, f64::NEG_INFINITY),
            _ => return invalid("min and max must both be present or both absent"),
        };
        let m = Moments {
            count: w.count,
            missing: w.missing,
            mean: w.mean,
            m2: w.m2,
            min,
            max,
        };
        m.validate()?;
        Ok(m)
    }
}

impl Default for Moments {
    fn default() -> Self {
        Self {
            count: 0,
            missing: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    /// Empty moments. O(1).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value; NaN and ±∞ count as missing. O(1).
    pub fn update(&mut self, x: f64) {
        if !x.is_finite() {
            self.update_missing();
            return;
        }
        let Some(count) = self.count.checked_add(1) else {
            return;
        };
        self.count = count;
        let delta = x - self.mean;
        self.mean += delta / count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Counts one missing (null) cell. O(1).
    pub fn update_missing(&mut self) {
        self.missing = self.missing.saturating_add(1);
    }

    /// Merges `other` into `self` (Chan et al.). Error when a count would
    /// overflow `u64`. O(1).
    pub fn merge(&mut self, other: &Moments) -> Result<(), SketchError> {
        let count = self
            .count
            .checked_add(other.count)
            .ok_or(SketchError::Overflow)?;
        let missing = self
            .missing
            .checked_add(other.missing)
            .ok_or(SketchError::Overflow)?;
        if other.count > 0 {
            let (na, nb, n) = (self.count as f64, other.count as f64, count as f64);
            let delta = other.mean - self.mean;
            self.mean += delta * (nb / n);
            self.m2 += other.m2 + delta * delta * (na * nb / n);
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.count = count;
        self.missing = missing;
        Ok(())
    }

    /// Number of finite values. O(1).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of missing cells (nulls, NaN, ±∞). O(1).
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// Fraction of missing cells among all cells, `None` when there are none. O(1).
    pub fn missing_rate(&self) -> Option<f64> {
        let total = self.count.saturating_add(self.missing);
        (total > 0).then(|| self.missing as f64 / total as f64)
    }

    /// Mean, `None` when empty. O(1).
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// Sample variance (divisor n − 1), `None` below two values. O(1).
    pub fn variance(&self) -> Option<f64> {
        (self.count > 1).then(|| self.m2 / (self.count - 1) as f64)
    }

    /// Sample standard deviation, `None` below two values. O(1).
    pub fn std_dev(&self) -> Option<f64> {
        self.variance().map(f64::sqrt)
    }

    /// Smallest value, `None` when empty. O(1).
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value, `None` when empty. O(1).
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Checks the invariants; run by `Deserialize`. Rejects: NaN mean or
    /// m2, negative m2, a non-zero mean or m2 with no values, min/max not
    /// finite and ordered when there are values, a mean outside [min, max]
    /// (beyond rounding), a positive m2 with a single value or min = max
    /// (beyond rounding). O(1).
    pub fn validate(&self) -> Result<(), SketchError> {
        if self.mean.is_nan() || self.m2.is_nan() || self.m2 < 0.0 {
            return invalid("mean or m2 is NaN, or m2 is negative");
        }
        if self.count == 0 {
            if self.mean != 0.0 || self.m2 != 0.0 {
                return invalid("mean and m2 must be 0 with no values");
            }
            return Ok(());
        }
        if !(self.min.is_finite() && self.max.is_finite() && self.min <= self.max) {
            return invalid("min and max must be finite and ordered");
        }
        let slack = 1e-9 * self.min.abs().max(self.max.abs());
        if self.mean < self.min - slack || self.mean > self.max + slack {
            return invalid("mean outside [min, max]");
        }
        // With all values equal, the deviations are only rounding.
        let spread = self.max - self.min;
        let bound = self.count as f64 * (spread * spread + slack * slack);
        if self.m2 > bound * (1.0 + 1e-9) + f64::MIN_POSITIVE {
            return invalid("m2 larger than the range allows");
        }
        Ok(())
    }
}

/// Mean vector and covariance matrix of d ≤ [`MAX_DIM`] numeric columns,
/// mergeable, for an out-of-distribution score (Mahalanobis distance).
///
/// **Guarantee.** Multivariate Welford update, merged by the multivariate
/// form of Chan et al.'s formula: merged shards agree with one pass to
/// rounding. Only complete rows count: a row with a NaN or ±∞ anywhere is
/// counted in [`skipped`](Self::skipped) and left out, so that every entry
/// of the covariance comes from the same rows.
///
/// **More than [`MAX_DIM`] columns** are refused by [`new`](Self::new): the
/// caller picks which 256 to summarise (or leaves the summary out).
///
/// **Cost.** d + d(d+1)/2 f64s (the upper triangle of the co-moment matrix);
/// O(d²) per row and per merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MultiWire")]
pub struct MultiMoments {
    dim: usize,
    count: u64,
    skipped: u64,
    mean: Vec<f64>,
    /// Packed upper triangle, row by row: entry (i, j), i ≤ j, is the sum
    /// over rows of (x_i − mean_i)(x_j − mean_j).
    comoment: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MultiWire {
    dim: usize,
    count: u64,
    skipped: u64,
    #[serde(deserialize_with = "bounded::vec::<_, _, MAX_DIM>")]
    mean: Vec<f64>,
    #[serde(deserialize_with = "bounded::vec::<_, _, MAX_PACKED>")]
    comoment: Vec<f64>,
}

impl TryFrom<MultiWire> for MultiMoments {
    type Error = SketchError;
    fn try_from(w: MultiWire) -> Result<Self, SketchError> {
        let m = MultiMoments {
            dim: w.dim,
            count: w.count,
            skipped: w.skipped,
            mean: w.mean,
            comoment: w.comoment,
        };
        m.validate()?;
        Ok(m)
    }
}

/// Index of (i, j), i ≤ j, in a packed upper triangle of dimension d.
fn packed(d: usize, i: usize, j: usize) -> usize {
    let (i, j) = if i <= j { (i, j) } else { (j, i) };
    // Rows 0..i hold d + (d-1) + … + (d-i+1) entries.
    i * d - i * i.saturating_sub(1) / 2 + (j - i)
}

impl MultiMoments {
    /// An empty summary of `dim` columns; error when `dim` is 0 or above
    /// [`MAX_DIM`]. O(d²) memory, zeroed.
    pub fn new(dim: usize) -> Result<Self, SketchError> {
        if dim == 0 || dim > MAX_DIM {
            return Err(SketchError::InvalidParameter(format!(
                "{dim} columns, 1 to {MAX_DIM} allowed"
            )));
        }
        Ok(Self {
            dim,
            count: 0,
            skipped: 0,
            mean: vec![0.0; dim],
            comoment: vec![0.0; dim * (dim + 1) / 2],
        })
    }

    /// Number of columns. O(1).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of complete rows summarised. O(1).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of rows left out for a NaN or ±∞. O(1).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The mean vector (zeros while empty). O(1).
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Adds a row of `dim` values. Error when its length differs from
    /// [`dim`](Self::dim); a row with a non-finite value is counted in
    /// [`skipped`](Self::skipped) and otherwise ignored. O(d²).
    pub fn update(&mut self, row: &[f64]) -> Result<(), SketchError> {
        if row.len() != self.dim {
            return Err(SketchError::DimensionMismatch {
                expected: self.dim,
                got: row.len(),
            });
        }
        if row.iter().any(|x| !x.is_finite()) {
            self.skipped = self.skipped.saturating_add(1);
            return Ok(());
        }
        self.count = self.count.checked_add(1).ok_or(SketchError::Overflow)?;
        let n = self.count as f64;
        // delta before the mean moves, delta2 after: C += delta ⊗ delta2.
        let delta: Vec<f64> = row.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        for (m, d) in self.mean.iter_mut().zip(&delta) {
            *m += d / n;
        }
        let delta2: Vec<f64> = row.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        let mut c = self.comoment.iter_mut();
        for (i, di) in delta.iter().enumerate() {
            for d2j in delta2.iter().skip(i) {
                if let Some(cij) = c.next() {
                    *cij += di * d2j;
                }
            }
        }
        Ok(())
    }

    /// Merges `other` into `self` (Chan et al., multivariate). Error when
    /// the dimensions differ or a count would overflow. O(d²).
    pub fn merge(&mut self, other: &MultiMoments) -> Result<(), SketchError> {
        if other.dim != self.dim {
            return Err(SketchError::DimensionMismatch {
                expected: self.dim,
                got: other.dim,
            });
        }
        let count = self
            .count
            .checked_add(other.count)
            .ok_or(SketchError::Overflow)?;
        self.skipped = self.skipped.saturating_add(other.skipped);
        if other.count == 0 {
            return Ok(());
        }
        let (na, nb, n) = (self.count as f64, other.count as f64, count as f64);
        let delta: Vec<f64> = other
            .mean
            .iter()
            .zip(&self.mean)
            .map(|(b, a)| b - a)
            .collect();
        let f = na * nb / n;
        let mut c = self.comoment.iter_mut().zip(&other.comoment);
        for (i, di) in delta.iter().enumerate() {
            for dj in delta.iter().skip(i) {
                if let Some((ca, cb)) = c.next() {
                    *ca += cb + di * dj * f;
                }
            }
        }
        for (m, d) in self.mean.iter_mut().zip(&delta) {
            *m += d * (nb / n);
        }
        self.count = count;
        Ok(())
    }

    /// Sample covariance (divisor n − 1) of columns i and j; `None` below
    /// two rows or for an index out of range. O(1).
    pub fn covariance(&self, i: usize, j: usize) -> Option<f64> {
        if self.count < 2 || i >= self.dim || j >= self.dim {
            return None;
        }
        let c = self.comoment.get(packed(self.dim, i, j))?;
        Some(c / (self.count - 1) as f64)
    }

    /// The full d × d sample covariance matrix, row-major; `None` below two
    /// rows. O(d²).
    pub fn covariance_matrix(&self) -> Option<Vec<f64>> {
        let d = self.dim;
        (0..d * d)
            .map(|ij| self.covariance(ij / d, ij % d))
            .collect()
    }

    /// A prepared Mahalanobis scorer from this summary's mean and covariance.
    ///
    /// The covariance S is regularised before it is factored:
    /// S + λ·diag(max(S_ii, τ)), λ = 1e-6, τ = 1e-12 · max_i S_ii (or the
    /// smallest positive normal f64 if every column is constant). Scaling the
    /// ridge by each column's own variance keeps the score independent of
    /// units; τ makes a constant column usable (a new row that differs there
    /// gets a very large distance, as it should). If the Cholesky
    /// factorisation still fails (collinear columns at rounding level), λ is
    /// raised 100-fold up to 1e-2; then the error is [`SketchError::Invalid`].
    /// Error [`SketchError::Empty`] below two rows. O(d³).
    pub fn scorer(&self) -> Result<MahalanobisScorer, SketchError> {
        let d = self.dim;
        let cov = self.covariance_matrix().ok_or(SketchError::Empty)?;
        let diag: Vec<f64> = cov.iter().step_by(d + 1).copied().collect();
        let max_var = diag.iter().copied().fold(0.0, f64::max);
        let tau = if max_var > 0.0 {
            1e-12 * max_var
        } else {
            f64::MIN_POSITIVE
        };
        let mut lambda = RIDGE;
        while lambda <= 1e-2 {
            let mut a = cov.clone();
            for (i, v) in diag.iter().enumerate() {
                if let Some(x) = a.get_mut(i * d + i) {
                    *x += lambda * v.max(tau);
                }
            }
            if let Some(chol) = cholesky(&a, d) {
                return Ok(MahalanobisScorer {
                    mean: self.mean.clone(),
                    chol,
                    ridge: lambda,
                });
            }
            lambda *= 100.0;
        }
        invalid("covariance not positive definite even with a ridge of 1e-2")
    }

    /// Checks the invariants; run by `Deserialize`. Rejects: dim 0 or above
    /// [`MAX_DIM`]; vectors of the wrong length; non-finite entries; a
    /// negative diagonal; non-zero entries with no rows. (Cauchy-Schwarz on
    /// the off-diagonal is not checked: rounding in the streaming update can
    /// break it slightly for near-constant columns, and a matrix that is not
    /// positive definite is caught by [`scorer`](Self::scorer) anyway.) O(d²).
    pub fn validate(&self) -> Result<(), SketchError> {
        let d = self.dim;
        if d == 0 || d > MAX_DIM {
            return invalid(format!("{d} columns, 1 to {MAX_DIM} allowed"));
        }
        if self.mean.len() != d || self.comoment.len() != d * (d + 1) / 2 {
            return invalid("mean or co-moment length does not match dim");
        }
        if self
            .mean
            .iter()
            .chain(&self.comoment)
            .any(|x| !x.is_finite())
        {
            return invalid("non-finite mean or co-moment");
        }
        if self.count == 0 && self.mean.iter().chain(&self.comoment).any(|&x| x != 0.0) {
            return invalid("non-zero mean or co-moment with no rows");
        }
        for i in 0..d {
            if self.comoment.get(packed(d, i, i)).is_some_and(|&c| c < 0.0) {
                return invalid(format!("negative variance in column {i}"));
            }
        }
        Ok(())
    }
}

/// Mahalanobis distance from a reference mean and (regularised) covariance,
/// prepared once (the Cholesky factor) for many queries.
#[derive(Clone, Debug)]
pub struct MahalanobisScorer {
    mean: Vec<f64>,
    /// Lower-triangular Cholesky factor, row-major d × d.
    chol: Vec<f64>,
    ridge: f64,
}

impl MahalanobisScorer {
    /// The relative ridge λ that was needed (1e-6 unless the covariance was
    /// nearly singular). O(1).
    pub fn ridge(&self) -> f64 {
        self.ridge
    }

    /// sqrt((x − μ)ᵀ S⁻¹ (x − μ)) for a row of d values. Error on a wrong
    /// length or a non-finite value. O(d²).
    pub fn distance(&self, row: &[f64]) -> Result<f64, SketchError> {
        let d = self.mean.len();
        if row.len() != d {
            return Err(SketchError::DimensionMismatch {
                expected: d,
                got: row.len(),
            });
        }
        if row.iter().any(|x| !x.is_finite()) {
            return Err(SketchError::InvalidParameter(
                "row has a NaN or infinite value".into(),
            ));
        }
        // Forward substitution: L y = x − μ, distance² = yᵀy.
        let mut y: Vec<f64> = Vec::with_capacity(d);
        for (i, (x, m)) in row.iter().zip(&self.mean).enumerate() {
            let l_row = self.chol.get(i * d..i * d + i + 1).unwrap_or(&[]);
            let (diag, off) = match l_row.split_last() {
                Some((diag, off)) => (*diag, off),
                None => return invalid("scorer factor is malformed"),
            };
            let s: f64 = off.iter().zip(&y).map(|(l, yj)| l * yj).sum();
            y.push((x - m - s) / diag);
        }
        Ok(y.iter().map(|v| v * v).sum::<f64>().sqrt())
    }
}

/// Cholesky factor L (row-major, lower) of a symmetric d × d matrix, or
/// `None` when it is not positive definite.
fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j)
                .map(|k| {
                    l.get(i * d + k).copied().unwrap_or(0.0)
                        * l.get(j * d + k).copied().unwrap_or(0.0)
                })
                .sum();
            let aij = a.get(i * d + j).copied()?;
            let v = if i == j {
                let r = aij - s;
                if !(r > 0.0 && r.is_finite()) {
                    return None;
                }
                r.sqrt()
            } else {
                (aij - s) / l.get(j * d + j).copied()?
            };
            *l.get_mut(i * d + j)? = v;
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_index() {
        let d = 4;
        let mut k = 0;
        for i in 0..d {
            for j in i..d {
                assert_eq!(packed(d, i, j), k);
                assert_eq!(packed(d, j, i), k);
                k += 1;
            }
        }
    }

    #[test]
    fn moments_basic() {
        let mut m = Moments::new();
        for x in [1.0, 2.0, 3.0, 4.0, f64::NAN] {
            m.update(x);
        }
        m.update_missing();
        assert_eq!((m.count(), m.missing()), (4, 2));
        assert_eq!(m.mean(), Some(2.5));
        assert!((m.variance().unwrap() - 5.0 / 3.0).abs() < 1e-15);
        assert_eq!((m.min(), m.max()), (Some(1.0), Some(4.0)));
        assert_eq!(m.missing_rate(), Some(2.0 / 6.0));
        assert!(m.validate().is_ok());
        assert_eq!(Moments::new().variance(), None);
    }

    #[test]
    fn mahalanobis_identity_like() {
        // Two independent columns with variances 1 and 4 (exactly, by symmetry).
        let mut mm = MultiMoments::new(2).unwrap();
        for (a, b) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 2.0), (0.0, -2.0)] {
            mm.update(&[a, b]).unwrap();
        }
        let var_a = 2.0 / 3.0;
        let var_b = 8.0 / 3.0;
        assert!((mm.covariance(0, 0).unwrap() - var_a).abs() < 1e-12);
        assert!((mm.covariance(1, 1).unwrap() - var_b).abs() < 1e-12);
        assert_eq!(mm.covariance(0, 1), Some(0.0));
        let s = mm.scorer().unwrap();
        let d = s.distance(&[1.0, 2.0]).unwrap();
        let want = (1.0 / var_a + 4.0 / var_b).sqrt();
        assert!((d - want).abs() / want < 1e-5, "{d} vs {want}");
        assert!(s.distance(&[1.0]).is_err());
        assert!(s.distance(&[f64::NAN, 0.0]).is_err());
    }

    #[test]
    fn singular_covariance_gets_a_ridge() {
        // Column 1 = 2 × column 0, column 2 constant.
        let mut mm = MultiMoments::new(3).unwrap();
        for i in 0..100 {
            let x = f64::from(i);
            mm.update(&[x, 2.0 * x, 5.0]).unwrap();
        }
        let s = mm.scorer().unwrap();
        let on = s.distance(&[10.0, 20.0, 5.0]).unwrap();
        let off_line = s.distance(&[10.0, 25.0, 5.0]).unwrap();
        let off_const = s.distance(&[10.0, 20.0, 6.0]).unwrap();
        assert!(on.is_finite() && on < 3.0, "{on}");
        // 5 units off the line where column 1 has sd 58: the ridge alone scores it.
        assert!(off_line > 30.0 * on, "{off_line} vs {on}");
        assert!(off_const.is_finite() && off_const > 1e3, "{off_const}");
    }

    #[test]
    fn near_constant_offset_columns_validate() {
        // Large offsets, noise at the rounding level, perfectly correlated.
        let mut mm = MultiMoments::new(3).unwrap();
        let mut x: u64 = 1;
        for i in 0..5000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let e = (x >> 40) as f64 * 1e-14; // up to 1.7e-7, about 10 ulps of 1e8
            mm.update(&[1e8 + e, 1e8 + 2.0 * e, f64::from(i)]).unwrap();
        }
        mm.validate().unwrap();
        let mut half = mm.clone();
        half.merge(&mm).unwrap();
        half.validate().unwrap();
        // A scorer or a clean error, never a panic.
        let _ = mm.scorer().map(|s| s.distance(&[1e8, 1e8, 1.0]));
    }

    #[test]
    fn dims() {
        assert!(MultiMoments::new(0).is_err());
        assert!(MultiMoments::new(MAX_DIM + 1).is_err());
        let mut m = MultiMoments::new(MAX_DIM).unwrap();
        assert!(m.update(&[1.0]).is_err());
        m.update(&[f64::NAN; MAX_DIM]).unwrap();
        assert_eq!((m.count(), m.skipped()), (0, 1));
        assert!(m.scorer().is_err());
    }
}
