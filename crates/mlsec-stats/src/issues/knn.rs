//! k-nearest-neighbour class probabilities: another model for confident
//! learning's out-of-sample probabilities (`out_of_fold` with
//! [`knn_proba`]), one that draws no straight boundaries and so suits
//! classes that are clusters rather than half-spaces.

use super::{check_pairwise, keep_nearest, squared_distance, IssuesError, Matrix};

/// Additive smoothing of the neighbour counts, so that no class has
/// probability 0 (confident learning's thresholds average probabilities).
const SMOOTHING: f64 = 0.1;

/// The class probabilities of each row of `test`: the share of its `k`
/// nearest rows of `train` (Euclidean distance; features already scaled)
/// in each class, smoothed. Brute force, O(train x test x d): refused above
/// [`super::MAX_PAIRWISE_ROWS`] rows. Errors: `InvalidParameter` unless
/// 1 <= k <= train rows, or when a label is not below `classes`.
pub fn knn_proba(
    train: &Matrix,
    labels: &[usize],
    classes: usize,
    test: &Matrix,
    k: usize,
) -> Result<Vec<Vec<f64>>, IssuesError> {
    check_pairwise(train.rows().max(test.rows()))?;
    if k == 0 || k > train.rows() {
        return Err(IssuesError::InvalidParameter(
            "k must be at least 1 and at most the number of training rows",
        ));
    }
    if labels.len() != train.rows() || labels.iter().any(|&c| c >= classes) {
        return Err(IssuesError::InvalidParameter(
            "a label per training row, below classes",
        ));
    }
    let mut out = Vec::with_capacity(test.rows());
    // (distance, class) of the k nearest so far, nearest first.
    let mut nearest: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    for a in test.iter_rows() {
        nearest.clear();
        for (b, &class) in train.iter_rows().zip(labels) {
            keep_nearest(&mut nearest, k, squared_distance(a, b), class);
        }
        let mut p = vec![SMOOTHING; classes];
        for &(_, class) in &nearest {
            if let Some(v) = p.get_mut(class) {
                *v += 1.0;
            }
        }
        let total = k as f64 + SMOOTHING * classes as f64;
        p.iter_mut().for_each(|v| *v /= total);
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_vote_and_probabilities_sum_to_one() {
        let train = Matrix::from_rows(&[
            vec![0.0, 0.0],
            vec![0.1, 0.0],
            vec![0.0, 0.1],
            vec![5.0, 5.0],
            vec![5.1, 5.0],
        ])
        .unwrap();
        let labels = [0, 0, 0, 1, 1];
        let test = Matrix::from_rows(&[vec![0.05, 0.05], vec![4.9, 5.2]]).unwrap();
        let p = knn_proba(&train, &labels, 2, &test, 3).unwrap();
        // Three of class 0; then two of class 1 and the nearest of class 0.
        let expect0 = (3.0 + SMOOTHING) / (3.0 + 2.0 * SMOOTHING);
        let expect1 = (2.0 + SMOOTHING) / (3.0 + 2.0 * SMOOTHING);
        assert!((p[0][0] - expect0).abs() < 1e-12);
        assert!((p[1][1] - expect1).abs() < 1e-12);
        for row in &p {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        assert!(knn_proba(&train, &labels, 2, &test, 0).is_err());
        assert!(knn_proba(&train, &labels, 2, &test, 6).is_err());
        assert!(knn_proba(&train, &[0, 0, 0, 1, 2], 2, &test, 3).is_err());
    }
}
