//! Two-sample comparisons computed from quantile sketches, for drift when
//! the reference is a profile rather than the raw data.
//!
//! Each function works on the sketch's step CDF (its retained items with
//! their weights), exactly: the only error is the sketches' own rank error
//! ε ([`KllSketch::normalized_rank_error`], 0 for exact data and for a
//! sketch still in exact mode). For every x, |F̂(x) − F(x)| ≤ ε; the bounds
//! below follow from that by the triangle inequality.

use super::kll::SortedView;
use super::{KllSketch, SketchError};

/// Most bins (edges − 1) accepted.
pub const MAX_BINS: usize = 10_000;

/// Approximate Kolmogorov-Smirnov statistic sup_x |F_a(x) − F_b(x)| between
/// two sketches. **Error:** |D̂ − D| ≤ ε_a + ε_b (3.3 % for two sketches of
/// k = 200 past their exact mode). The sup is evaluated exactly at every
/// retained item of both, where the step CDFs change. Error
/// [`SketchError::Empty`] when either sketch is empty. O(r log r).
pub fn ks_sketches(a: &KllSketch, b: &KllSketch) -> Result<f64, SketchError> {
    let (va, vb) = (view(a)?, view(b)?);
    Ok(walk(&va, &vb).ks)
}

/// Approximate KS statistic between a sketch and exact data, given sorted
/// ascending and finite. **Error:** |D̂ − D| ≤ ε of the sketch. Error when the
/// sketch or the data is empty, or the data is not sorted or not finite.
/// O(r log r + m).
pub fn ks_sketch_vs_sorted(a: &KllSketch, sorted: &[f64]) -> Result<f64, SketchError> {
    let (va, vb) = (view(a)?, exact_view(sorted)?);
    Ok(walk(&va, &vb).ks)
}

/// Approximate 1-D Wasserstein-1 distance ∫ |F_a⁻¹(u) − F_b⁻¹(u)| du =
/// ∫ |F_a(x) − F_b(x)| dx between two sketches, computed exactly over the
/// retained items. **Error:** |Ŵ − W| ≤ ε_a·(max_a − min_a) + ε_b·(max_b − min_b)
/// (the sketch's CDF differs from the data's by at most ε, and only inside
/// [min, max], which the sketch keeps exactly). Error when either is empty.
/// O(r log r).
pub fn wasserstein_sketches(a: &KllSketch, b: &KllSketch) -> Result<f64, SketchError> {
    let (va, vb) = (view(a)?, view(b)?);
    Ok(walk(&va, &vb).w1)
}

/// Approximate Wasserstein-1 distance between a sketch and exact sorted,
/// finite data. **Error:** ≤ ε·(max − min) of the sketch. Errors as for
/// [`ks_sketch_vs_sorted`]. O(r log r + m).
pub fn wasserstein_sketch_vs_sorted(a: &KllSketch, sorted: &[f64]) -> Result<f64, SketchError> {
    let (va, vb) = (view(a)?, exact_view(sorted)?);
    Ok(walk(&va, &vb).w1)
}

/// Proportion of a sketch's values in each bin of `edges` (strictly
/// increasing, finite, 2 to [`MAX_BINS`] + 1 of them).
///
/// **Bins.** Bin i is `[edges[i], edges[i+1])`, except that the first bin
/// also takes every value below `edges[0]` and the last every value from
/// `edges[last − 1]` up, ∞ included: proportions always sum to 1, and a
/// current value outside the reference's range still lands in a bin. Only
/// the inner edges therefore matter. [`bin_proportions_values`] uses the
/// same rule on exact data, so PSI, Jensen-Shannon, KL or Hellinger can mix
/// the two. **Error:** each proportion is a difference of two ranks, within
/// 2ε (ε per bound of an edge) of the data's proportion. Error when the
/// sketch is empty or the edges are invalid. O(r log r + bins log r).
pub fn bin_proportions(a: &KllSketch, edges: &[f64]) -> Result<Vec<f64>, SketchError> {
    check_edges(edges)?;
    let v = view(a)?;
    Ok(proportions(edges, |e| v.rank_exclusive(e)))
}

/// Proportion of exact values in each bin of `edges`, by the rule of
/// [`bin_proportions`]; NaN values are ignored, ±∞ go to the outer bins.
/// Error when no value is left or the edges are invalid. O(m log bins).
pub fn bin_proportions_values(values: &[f64], edges: &[f64]) -> Result<Vec<f64>, SketchError> {
    check_edges(edges)?;
    let inner = edges.get(1..edges.len() - 1).unwrap_or(&[]);
    let mut counts = vec![0u64; inner.len() + 1];
    let mut n: u64 = 0;
    for &x in values.iter().filter(|x| !x.is_nan()) {
        // Number of inner edges ≤ x is the bin index.
        let i = inner.partition_point(|&e| e <= x);
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
            n += 1;
        }
    }
    if n == 0 {
        return Err(SketchError::Empty);
    }
    Ok(counts.into_iter().map(|c| c as f64 / n as f64).collect())
}

/// `bins` equal-width bins over the sketch's exact [min, max]: bins + 1
/// edges, the first min and the last max. A constant column (min = max = v)
/// gets the three bins "below v", "v" and "above v" (edges: the floats just
/// below v, v, just above v, and the next one), so a current value that
/// differs from v is seen. Error when the sketch is empty, bins is 0 or
/// above [`MAX_BINS`], or the edges would not be finite and increasing (a
/// range near the f64 limits, or narrower than `bins` floats). O(bins).
pub fn equi_width_edges(a: &KllSketch, bins: usize) -> Result<Vec<f64>, SketchError> {
    if bins == 0 || bins > MAX_BINS {
        return Err(SketchError::InvalidParameter(format!(
            "{bins} bins, 1 to {MAX_BINS} allowed"
        )));
    }
    let (lo, hi) = match (a.min(), a.max()) {
        (Some(lo), Some(hi)) => (lo, hi),
        _ => return Err(SketchError::Empty),
    };
    let edges: Vec<f64> = if lo == hi {
        vec![lo.next_down(), lo, lo.next_up(), lo.next_up().next_up()]
    } else {
        let width = hi - lo;
        (0..=bins)
            .map(|i| {
                if i == bins {
                    hi
                } else {
                    lo + width * (i as f64 / bins as f64)
                }
            })
            .collect()
    };
    check_edges(&edges)?;
    Ok(edges)
}

fn check_edges(edges: &[f64]) -> Result<(), SketchError> {
    if edges.len() < 2 || edges.len() > MAX_BINS + 1 {
        return Err(SketchError::InvalidParameter(format!(
            "{} edges, 2 to {} allowed",
            edges.len(),
            MAX_BINS + 1
        )));
    }
    if edges.iter().any(|e| !e.is_finite()) || !edges.windows(2).all(|w| w.first() < w.last()) {
        return Err(SketchError::InvalidParameter(
            "edges must be finite and strictly increasing".into(),
        ));
    }
    Ok(())
}

/// Bin proportions from a function giving the fraction of values < e.
fn proportions(edges: &[f64], below: impl Fn(f64) -> f64) -> Vec<f64> {
    let inner = edges.get(1..edges.len() - 1).unwrap_or(&[]);
    let mut bounds = Vec::with_capacity(inner.len() + 2);
    bounds.push(0.0);
    bounds.extend(inner.iter().map(|&e| below(e)));
    bounds.push(1.0);
    bounds
        .windows(2)
        .map(|w| match (w.first(), w.last()) {
            (Some(a), Some(b)) => (b - a).max(0.0),
            _ => 0.0,
        })
        .collect()
}

fn view(a: &KllSketch) -> Result<SortedView, SketchError> {
    a.sorted_view().ok_or(SketchError::Empty)
}

fn exact_view(sorted: &[f64]) -> Result<SortedView, SketchError> {
    if sorted.is_empty() {
        return Err(SketchError::Empty);
    }
    if sorted.iter().any(|x| !x.is_finite()) || !sorted.is_sorted() {
        return Err(SketchError::InvalidParameter(
            "data must be finite and sorted ascending".into(),
        ));
    }
    let n = sorted.len() as u64;
    Ok(SortedView::from_weighted(
        sorted.iter().map(|&x| (x, 1)).collect(),
        n,
    ))
}

struct Walk {
    ks: f64,
    w1: f64,
}

/// Walks the union of both views' points in ascending order; between two
/// consecutive points both step CDFs are constant, so the sup of their
/// difference is taken at a point and the area is a sum of rectangles.
fn walk(a: &SortedView, b: &SortedView) -> Walk {
    let (mut ia, mut ib) = (0usize, 0usize);
    let (mut ks, mut w1) = (0.0f64, 0.0f64);
    let mut prev: Option<(f64, f64)> = None; // (x, |F_a(x) − F_b(x)|)
    loop {
        let x = match (a.items.get(ia), b.items.get(ib)) {
            (Some(&xa), Some(&xb)) => xa.min(xb),
            (Some(&xa), None) => xa,
            (None, Some(&xb)) => xb,
            (None, None) => break,
        };
        if a.items.get(ia) == Some(&x) {
            ia += 1;
        }
        if b.items.get(ib) == Some(&x) {
            ib += 1;
        }
        let fa = a.cum_before(ia) as f64 / a.n as f64;
        let fb = b.cum_before(ib) as f64 / b.n as f64;
        let diff = (fa - fb).abs();
        if let Some((px, pdiff)) = prev {
            w1 += pdiff * (x - px);
        }
        ks = ks.max(diff);
        prev = Some((x, diff));
    }
    Walk { ks, w1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch(values: &[f64]) -> KllSketch {
        let mut s = KllSketch::new();
        values.iter().for_each(|&x| s.update(x));
        s
    }

    #[test]
    fn exact_small_cases() {
        let a = sketch(&[1.0, 2.0, 3.0, 4.0]);
        let b = sketch(&[3.0, 4.0, 5.0, 6.0]);
        assert_eq!(ks_sketches(&a, &b), Ok(0.5));
        assert_eq!(wasserstein_sketches(&a, &b), Ok(2.0));
        assert_eq!(ks_sketch_vs_sorted(&a, &[1.0, 2.0, 3.0, 4.0]), Ok(0.0));
        assert_eq!(
            wasserstein_sketch_vs_sorted(&a, &[2.0, 3.0, 4.0, 5.0]),
            Ok(1.0)
        );
        assert!(ks_sketch_vs_sorted(&a, &[2.0, 1.0]).is_err());
        assert!(ks_sketches(&a, &KllSketch::new()).is_err());
    }

    #[test]
    fn bins() {
        let a = sketch(&[0.0, 1.0, 2.0, 3.0, 10.0, -5.0]);
        let edges = [0.0, 1.5, 3.0];
        let p = bin_proportions(&a, &edges).unwrap();
        assert_eq!(p, vec![3.0 / 6.0, 3.0 / 6.0]);
        let q =
            bin_proportions_values(&[0.0, 1.0, 2.0, 3.0, 10.0, -5.0, f64::NAN], &edges).unwrap();
        assert_eq!(p, q);
        assert!(bin_proportions(&a, &[1.0]).is_err());
        assert!(bin_proportions(&a, &[1.0, 1.0]).is_err());
        assert!(bin_proportions(&a, &[1.0, f64::NAN]).is_err());
        let e = equi_width_edges(&a, 3).unwrap();
        assert_eq!(e, vec![-5.0, 0.0, 5.0, 10.0]);
        let c = sketch(&[2.0, 2.0]);
        let e = equi_width_edges(&c, 10).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(bin_proportions(&c, &e).unwrap(), vec![0.0, 1.0, 0.0]);
        assert!(equi_width_edges(&KllSketch::new(), 3).is_err());
        assert!(equi_width_edges(&a, 0).is_err());
    }
}
