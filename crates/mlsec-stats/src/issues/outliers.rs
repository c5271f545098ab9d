//! Outlier scores: the isolation forest (Liu, Ting and Zhou, "Isolation
//! Forest", ICDM 2008) as scikit-learn's `IsolationForest`, and
//! k-nearest-neighbour distances by brute force.

use super::{check_pairwise, keep_nearest, squared_distance, IssuesError, Matrix};
use crate::rng::SplitMix;

/// Options for [`IsolationForest::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationForestOptions {
    /// Trees (default 100; 1 to 10 000).
    pub trees: usize,
    /// Rows drawn without replacement per tree, capped at n (default 256;
    /// at least 1).
    pub max_samples: usize,
    /// Seed for the subsamples and splits.
    pub seed: u64,
}

impl Default for IsolationForestOptions {
    fn default() -> Self {
        IsolationForestOptions {
            trees: 100,
            max_samples: 256,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        size: usize,
    },
}

/// A fitted isolation forest.
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationForest {
    trees: Vec<Vec<Node>>,
    sample_size: usize,
    cols: usize,
}

/// The average path length of an unsuccessful binary-search-tree search
/// among `n` points, c(n) = 2 H(n − 1) − 2 (n − 1) / n with H(i) ≈ ln i +
/// γ; c(1) = 0 and c(2) = 1 (scikit-learn's `_average_path_length`).
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

fn build(
    x: &Matrix,
    rows: Vec<usize>,
    depth: usize,
    max_depth: usize,
    rng: &mut SplitMix,
    nodes: &mut Vec<Node>,
) -> usize {
    let id = nodes.len();
    nodes.push(Node::Leaf { size: rows.len() });
    if depth >= max_depth || rows.len() <= 1 {
        return id;
    }
    // Features that vary among the node's rows, with their ranges.
    let mut candidates: Vec<(usize, f64, f64)> = Vec::new();
    for f in 0..x.cols() {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for &r in &rows {
            if let Some(v) = x.row(r).and_then(|row| row.get(f)) {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
        if hi > lo {
            candidates.push((f, lo, hi));
        }
    }
    if candidates.is_empty() {
        return id;
    }
    let Some(&(feature, lo, hi)) = candidates.get(rng.below(candidates.len())) else {
        return id;
    };
    let mut threshold = lo + rng.unit() * (hi - lo);
    if threshold >= hi || !threshold.is_finite() {
        threshold = lo;
    }
    let (left_rows, right_rows): (Vec<usize>, Vec<usize>) = rows.into_iter().partition(|&r| {
        x.row(r)
            .and_then(|row| row.get(feature))
            .is_some_and(|v| *v <= threshold)
    });
    let left = build(x, left_rows, depth + 1, max_depth, rng, nodes);
    let right = build(x, right_rows, depth + 1, max_depth, rng, nodes);
    if let Some(node) = nodes.get_mut(id) {
        *node = Node::Split {
            feature,
            threshold,
            left,
            right,
        };
    }
    id
}

fn path_length(tree: &[Node], row: &[f64]) -> f64 {
    let mut at = 0;
    let mut depth = 0.0;
    // A tree has at most 2^(max_depth+1) nodes; the bound guards a cycle.
    for _ in 0..=tree.len() {
        match tree.get(at) {
            Some(Node::Split {
                feature,
                threshold,
                left,
                right,
            }) => {
                let v = row.get(*feature).copied().unwrap_or(0.0);
                at = if v <= *threshold { *left } else { *right };
                depth += 1.0;
            }
            Some(Node::Leaf { size }) => return depth + average_path_length(*size),
            None => return depth,
        }
    }
    depth
}

impl IsolationForest {
    /// Fits `opts.trees` trees, each on min(`max_samples`, n) rows drawn
    /// without replacement, grown to depth ceil(log2(sample size)): each
    /// node picks a feature uniformly among those that vary in it and a
    /// threshold uniformly between their minimum and maximum (rows at or
    /// below go left), as scikit-learn's `ExtraTreeRegressor` inside
    /// `IsolationForest`. Errors: `InvalidParameter` for `trees` 0 or over
    /// 10 000 or `max_samples` 0. O(trees · s · d · log s) time for sample
    /// size s; O(trees · s) memory.
    pub fn fit(x: &Matrix, opts: &IsolationForestOptions) -> Result<IsolationForest, IssuesError> {
        if opts.trees == 0 || opts.trees > 10_000 || opts.max_samples == 0 {
            return Err(IssuesError::InvalidParameter(
                "trees must be 1 to 10000 and max_samples at least 1",
            ));
        }
        let sample_size = opts.max_samples.min(x.rows());
        let max_depth = (sample_size.max(2) as f64).log2().ceil() as usize;
        let mut rng = SplitMix(opts.seed);
        let mut trees = Vec::with_capacity(opts.trees);
        for _ in 0..opts.trees {
            let rows = rng.sample(x.rows(), sample_size);
            let mut nodes = Vec::new();
            build(x, rows, 0, max_depth, &mut rng, &mut nodes);
            trees.push(nodes);
        }
        Ok(IsolationForest {
            trees,
            sample_size,
            cols: x.cols(),
        })
    }

    /// Anomaly scores in (0, 1], higher more anomalous: 2^(−E[h(x)] /
    /// c(s)) with h the path length plus c(leaf size) and s the sample size
    /// (scikit-learn's `-score_samples`); 0.5 for every row when s is 1.
    /// Errors: `InvalidParameter` if `x` has another column count than the
    /// training rows. O(trees · depth) per row.
    pub fn score(&self, x: &Matrix) -> Result<Vec<f64>, IssuesError> {
        if x.cols() != self.cols {
            return Err(IssuesError::InvalidParameter(
                "score: column count differs from training",
            ));
        }
        let norm = average_path_length(self.sample_size);
        let trees = self.trees.len().max(1) as f64;
        Ok(x.iter_rows()
            .map(|row| {
                let mean = self.trees.iter().map(|t| path_length(t, row)).sum::<f64>() / trees;
                if norm > 0.0 {
                    2f64.powf(-mean / norm)
                } else {
                    0.5
                }
            })
            .collect())
    }
}

/// The rows flagged at a contamination rate, as scikit-learn's
/// `IsolationForest(contamination=c).predict`: scores strictly above the
/// (1 − c) quantile of the scores (linear interpolation), so about ⌈c n⌉
/// rows, fewer on ties. Returned in row order. Errors: `InvalidParameter`
/// unless 0 < c ≤ 0.5, or a score is not finite. O(n log n).
pub fn flag_by_contamination(
    scores: &[f64],
    contamination: f64,
) -> Result<Vec<usize>, IssuesError> {
    if !(contamination > 0.0 && contamination <= 0.5) {
        return Err(IssuesError::InvalidParameter(
            "contamination must be in (0, 0.5]",
        ));
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return Err(IssuesError::InvalidParameter("scores must be finite"));
    }
    if scores.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = (1.0 - contamination) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let a = sorted.get(lo).copied().unwrap_or(0.0);
    let b = sorted.get(lo + 1).copied().unwrap_or(a);
    let cut = a + frac * (b - a);
    Ok(scores
        .iter()
        .enumerate()
        .filter(|(_, &s)| s > cut)
        .map(|(i, _)| i)
        .collect())
}

/// How [`knn_scores`] turns a row's neighbour distances into a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnnScore {
    /// The mean Euclidean distance to the k nearest other rows.
    Mean,
    /// The distance to the k-th nearest other row.
    Kth,
}

/// Outlier scores by distance to the `k` nearest other rows (Euclidean, on
/// `x` as given: standardise first unless the columns share a scale),
/// higher more outlying. Brute force: O(n² d) time, O(n k) memory; at most
/// [`super::MAX_PAIRWISE_ROWS`] rows (`TooLarge`; sample first). Errors:
/// `InvalidParameter` unless 1 ≤ k < n.
pub fn knn_scores(x: &Matrix, k: usize, mode: KnnScore) -> Result<Vec<f64>, IssuesError> {
    check_pairwise(x.rows())?;
    if k == 0 || k >= x.rows() {
        return Err(IssuesError::InvalidParameter(
            "k must be at least 1 and below the number of rows",
        ));
    }
    let mut out = Vec::with_capacity(x.rows());
    let mut nearest: Vec<(f64, ())> = Vec::with_capacity(k + 1);
    for (i, a) in x.iter_rows().enumerate() {
        nearest.clear();
        for (j, b) in x.iter_rows().enumerate() {
            if i != j {
                keep_nearest(&mut nearest, k, squared_distance(a, b), ());
            }
        }
        let score = match mode {
            KnnScore::Mean => nearest.iter().map(|(d, _)| d.sqrt()).sum::<f64>() / k as f64,
            KnnScore::Kth => nearest.last().map_or(0.0, |(d, _)| d.sqrt()),
        };
        out.push(score);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolated_point_scores_highest() {
        let mut rows: Vec<Vec<f64>> = (0..50)
            .map(|i| vec![(i % 7) as f64, (i % 5) as f64])
            .collect();
        rows.push(vec![40.0, -30.0]);
        let x = Matrix::from_rows(&rows).unwrap();
        let f = IsolationForest::fit(&x, &IsolationForestOptions::default()).unwrap();
        let s = f.score(&x).unwrap();
        let top = crate::issues::top_indices(&s, 1);
        assert_eq!(top, vec![50]);
        assert!(s.iter().all(|v| *v > 0.0 && *v <= 1.0));
        let k = knn_scores(&x, 3, KnnScore::Mean).unwrap();
        assert_eq!(crate::issues::top_indices(&k, 1), vec![50]);
        assert!(knn_scores(&x, 51, KnnScore::Kth).is_err());
        assert_eq!(flag_by_contamination(&s, 0.02).unwrap(), vec![50]);
    }

    #[test]
    fn degenerate_inputs() {
        let one = Matrix::from_rows(&[vec![1.0, 2.0]]).unwrap();
        let f = IsolationForest::fit(&one, &IsolationForestOptions::default()).unwrap();
        assert_eq!(f.score(&one).unwrap(), vec![0.5]);
        assert!(knn_scores(&one, 1, KnnScore::Mean).is_err());
        let same = Matrix::from_rows(&vec![vec![3.0, 3.0]; 20]).unwrap();
        let f = IsolationForest::fit(&same, &IsolationForestOptions::default()).unwrap();
        let s = f.score(&same).unwrap();
        assert!(s.windows(2).all(|w| w[0] == w[1]));
        assert!(flag_by_contamination(&s, 0.1).unwrap().is_empty());
        assert!(flag_by_contamination(&s, 0.0).is_err());
    }
}
