//! Confident learning (Northcutt, Jiang and Chuang, "Confident Learning:
//! Estimating Uncertainty in Dataset Labels", JAIR 70, 2021): label errors
//! from out-of-sample predicted probabilities.
//!
//! Per class, the threshold is the mean self-confidence (the predicted
//! probability of the given label) over the rows given that label. A row
//! counts in the confident joint at (given label, suggested true label) when
//! its probability of that true label reaches its threshold (the likeliest
//! class when several do); the joint is then calibrated so that each row sums
//! to the class's count and the whole to n. Pruning by noise rate (cleanlab's
//! default, `filter_by='prune_by_noise_rate'`): for each given class i and
//! other class j, the joint's count C[i][j] rows given i with the largest
//! margin p(j) − p(i) are flagged; then rows whose likeliest class is their
//! given label are unflagged. The numeric details (rounding that preserves
//! row totals, the 1e-6 slacks, at least one row kept per class) follow
//! cleanlab 2.9 so that the same probabilities flag the same rows.

use super::IssuesError;

/// One flagged row.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelIssue {
    /// The row (0-based).
    pub row: usize,
    /// Its given label.
    pub given: usize,
    /// The likeliest class by the probabilities (never the given label).
    pub suggested: usize,
    /// The label quality: the self-confidence, the probability of the given
    /// label (lower is more suspect).
    pub quality: f64,
}

/// The confident joint and what it estimates.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidentJoint {
    /// Per class, the mean self-confidence of rows given that label (2.0 for
    /// a class no row is given, so that nothing counts into it), at least
    /// 2e-6.
    pub thresholds: Vec<f64>,
    /// The calibrated confident joint: counts indexed [given][true]; row i
    /// sums to the number of rows given label i.
    pub joint: Vec<Vec<u64>>,
    /// The noise matrix P(given = i | true = j), indexed [i][j]: the joint's
    /// columns normalised (a column with no count is the identity's).
    pub noise_matrix: Vec<Vec<f64>>,
    /// The estimated prior of the true labels, P(true = j).
    pub true_prior: Vec<f64>,
}

/// Checks probabilities and labels; returns the number of classes.
fn check(labels: &[usize], pred_probs: &[Vec<f64>]) -> Result<usize, IssuesError> {
    if labels.len() != pred_probs.len() {
        return Err(IssuesError::LengthMismatch {
            rows: pred_probs.len(),
            labels: labels.len(),
        });
    }
    let k = pred_probs.first().map_or(0, Vec::len);
    if k == 0 {
        return Err(IssuesError::Empty);
    }
    for (row, p) in pred_probs.iter().enumerate() {
        if p.len() != k {
            return Err(IssuesError::Ragged {
                row,
                expected: k,
                got: p.len(),
            });
        }
        if let Some(col) = p.iter().position(|v| !v.is_finite()) {
            return Err(IssuesError::NonFinite { row, col });
        }
    }
    super::check_labels(pred_probs.len(), labels, k)?;
    Ok(k)
}

/// The first index of the largest value (numpy's argmax).
fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    let mut best_v = f64::NEG_INFINITY;
    for (i, &v) in p.iter().enumerate() {
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best
}

/// cleanlab's `round_preserving_sum`: round half to even, then move the
/// largest remainders up (or the smallest down) until the rounded total is
/// the rounded original total.
fn round_preserving_sum(floats: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = floats.iter().map(|v| v.round_ties_even()).collect();
    let orig_sum = floats.iter().sum::<f64>().round_ties_even();
    let mut guard = 0;
    loop {
        let int_sum = ints.iter().sum::<f64>().round_ties_even();
        if (int_sum - orig_sum).abs() <= 1e-6 || guard > floats.len() + 2 {
            break;
        }
        guard += 1;
        let diff = (orig_sum - int_sum).round_ties_even();
        let increment = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(floats.len());
        // cleanlab: argsort(floats - ints), reversed when incrementing. Here
        // the argsort is stable (ties by index), so incrementing favours the
        // higher index among equal remainders. numpy's argsort is not stable
        // (its SIMD sorts order ties by platform), so on an exact tie cleanlab
        // may pick another entry (tests/issues.rs measures how often).
        let mut order: Vec<usize> = (0..floats.len()).collect();
        let rem =
            |i: usize| floats.get(i).copied().unwrap_or(0.0) - ints.get(i).copied().unwrap_or(0.0);
        if increment > 0.0 {
            order.sort_by(|&a, &b| rem(b).total_cmp(&rem(a)).then(b.cmp(&a)));
        } else {
            order.sort_by(|&a, &b| rem(a).total_cmp(&rem(b)).then(a.cmp(&b)));
        }
        for &i in order.iter().take(changes) {
            if let Some(v) = ints.get_mut(i) {
                *v += increment;
            }
        }
    }
    ints.iter().map(|&v| v as i64).collect()
}

fn get2<T: Copy + Default>(m: &[Vec<T>], i: usize, j: usize) -> T {
    m.get(i).and_then(|r| r.get(j)).copied().unwrap_or_default()
}

/// The per-class thresholds, the raw (uncalibrated) confident joint with its
/// diagonal at least 1, and the label counts.
fn raw_joint(
    labels: &[usize],
    pred_probs: &[Vec<f64>],
    k: usize,
) -> (Vec<f64>, Vec<Vec<u64>>, Vec<u64>) {
    let mut sums = vec![0.0; k];
    let mut counts = vec![0u64; k];
    for (&l, p) in labels.iter().zip(pred_probs) {
        if let (Some(s), Some(c), Some(v)) = (sums.get_mut(l), counts.get_mut(l), p.get(l)) {
            *s += v;
            *c += 1;
        }
    }
    let thresholds: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(&s, &c)| if c > 0 { s / c as f64 } else { 2.0 })
        .map(|t: f64| t.max(2e-6))
        .collect();
    let mut joint = vec![vec![0u64; k]; k];
    for (&l, p) in labels.iter().zip(pred_probs) {
        let confident: Vec<usize> = p
            .iter()
            .zip(&thresholds)
            .enumerate()
            .filter(|(_, (v, t))| **v >= **t - 1e-6)
            .map(|(j, _)| j)
            .collect();
        let guess = match confident.len() {
            0 => continue,
            1 => confident.first().copied().unwrap_or(0),
            _ => argmax(p),
        };
        if let Some(c) = joint.get_mut(l).and_then(|r| r.get_mut(guess)) {
            *c += 1;
        }
    }
    for (i, r) in joint.iter_mut().enumerate() {
        if let Some(c) = r.get_mut(i) {
            *c = (*c).max(1);
        }
    }
    (thresholds, joint, counts)
}

/// cleanlab's `calibrate_confident_joint`: rows scaled to the label counts,
/// the whole to n, rounded preserving row totals.
fn calibrate(joint: &[Vec<u64>], counts: &[u64]) -> Vec<Vec<i64>> {
    let n: u64 = counts.iter().sum();
    let scaled: Vec<Vec<f64>> = joint
        .iter()
        .zip(counts)
        .map(|(r, &c)| {
            let s = (r.iter().sum::<u64>() as f64).max(1e-100);
            r.iter().map(|&v| v as f64 / s * c as f64).collect()
        })
        .collect();
    let total = scaled.iter().flatten().sum::<f64>().max(1e-100);
    scaled
        .iter()
        .map(|r| {
            let r: Vec<f64> = r.iter().map(|v| v / total * n as f64).collect();
            round_preserving_sum(&r)
        })
        .collect()
}

/// The confident joint of `labels` (in `0..k`, one per row) and out-of-sample
/// `pred_probs` (n rows of k finite values), calibrated, with the noise
/// matrix and true-label prior it estimates. Errors: `Empty` (no rows or no
/// classes), `LengthMismatch`, `Ragged`, `NonFinite`, `LabelOutOfRange`.
/// O(n k + k²).
pub fn confident_joint(
    labels: &[usize],
    pred_probs: &[Vec<f64>],
) -> Result<ConfidentJoint, IssuesError> {
    let k = check(labels, pred_probs)?;
    let (thresholds, raw, counts) = raw_joint(labels, pred_probs, k);
    let cal = calibrate(&raw, &counts);
    let joint: Vec<Vec<u64>> = cal
        .iter()
        .map(|r| r.iter().map(|&v| v.max(0) as u64).collect())
        .collect();
    let total: u64 = joint.iter().flatten().sum();
    let col_sums: Vec<u64> = (0..k)
        .map(|j| joint.iter().map(|r| r.get(j).copied().unwrap_or(0)).sum())
        .collect();
    let noise_matrix = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    let cs = col_sums.get(j).copied().unwrap_or(0);
                    if cs == 0 {
                        if i == j {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        get2(&joint, i, j) as f64 / cs as f64
                    }
                })
                .collect()
        })
        .collect();
    let true_prior = col_sums
        .iter()
        .map(|&c| {
            if total > 0 {
                c as f64 / total as f64
            } else {
                0.0
            }
        })
        .collect();
    Ok(ConfidentJoint {
        thresholds,
        joint,
        noise_matrix,
        true_prior,
    })
}

/// The rows whose given label is likely wrong, by confident learning with
/// pruning by noise rate (see the module): cleanlab's
/// `find_label_issues(labels, pred_probs)` with its defaults. Ranked by
/// label quality (self-confidence), most suspect first; ties by row. Errors
/// as [`confident_joint`]. One class, or no confident off-diagonal count,
/// gives no issues. O(n k² log n) time (a sort per class pair), O(n k)
/// memory.
pub fn find_label_issues(
    labels: &[usize],
    pred_probs: &[Vec<f64>],
) -> Result<Vec<LabelIssue>, IssuesError> {
    let k = check(labels, pred_probs)?;
    let (_, raw, counts) = raw_joint(labels, pred_probs, k);
    let cal = calibrate(&raw, &counts);
    // cleanlab's _keep_at_least_n_per_class(confident_joint.T, n=1): on the
    // transposed joint (rows true, columns given), raise each diagonal to at
    // least 1, taking the increase evenly from the column's other non-zero
    // counts, then truncate to integers.
    let pcm: Vec<Vec<f64>> = (0..k)
        .map(|t| (0..k).map(|g| get2(&cal, g, t) as f64).collect())
        .collect();
    let mut prune = vec![vec![0i64; k]; k];
    for g in 0..k {
        let diag = get2(&pcm, g, g);
        let new_diag = diag.max(1.0);
        let diff = new_diag - diag;
        let nonzero = (0..k).filter(|&t| get2(&pcm, t, g) != 0.0).count() as f64;
        let per = diff / (nonzero - 1.0).max(1.0);
        for t in 0..k {
            let v = if t == g {
                new_diag
            } else {
                (get2(&pcm, t, g) - per).max(0.0)
            };
            if let Some(c) = prune.get_mut(t).and_then(|r| r.get_mut(g)) {
                *c = v.trunc() as i64;
            }
        }
    }
    let mut flagged = vec![false; labels.len()];
    for given in 0..k {
        let members: Vec<usize> = labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l == given)
            .map(|(i, _)| i)
            .collect();
        if members.len() <= 1 {
            continue;
        }
        for truth in (0..k).filter(|&t| t != given) {
            let num = get2(&prune, truth, given);
            if num <= 0 {
                continue;
            }
            let margin = |i: usize| {
                let p = pred_probs.get(i);
                let pt = p.and_then(|p| p.get(truth)).copied().unwrap_or(0.0);
                let pg = p.and_then(|p| p.get(given)).copied().unwrap_or(0.0);
                pt - pg
            };
            let mut order = members.clone();
            order.sort_by(|&a, &b| margin(b).total_cmp(&margin(a)).then(a.cmp(&b)));
            for &i in order.iter().take(num as usize) {
                if let Some(f) = flagged.get_mut(i) {
                    *f = true;
                }
            }
        }
    }
    let mut issues = Vec::new();
    for ((row, &given), p) in labels.iter().enumerate().zip(pred_probs) {
        if !flagged.get(row).copied().unwrap_or(false) {
            continue;
        }
        // cleanlab's _reduce_issues: keep only rows whose likeliest class,
        // with the given label's probability raised by 1e-6, is not the
        // given label.
        let mut boosted = p.clone();
        if let Some(v) = boosted.get_mut(given) {
            *v += 1e-6;
        }
        if argmax(&boosted) == given {
            continue;
        }
        issues.push(LabelIssue {
            row,
            given,
            suggested: argmax(p),
            quality: p.get(given).copied().unwrap_or(0.0),
        });
    }
    issues.sort_by(|a, b| a.quality.total_cmp(&b.quality).then(a.row.cmp(&b.row)));
    Ok(issues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_preserves_sum() {
        assert_eq!(round_preserving_sum(&[0.5, 0.5, 1.0]), vec![0, 1, 1]);
        assert_eq!(round_preserving_sum(&[2.5, 1.5]), vec![2, 2]);
        let r = round_preserving_sum(&[0.4, 0.4, 0.4, 0.4, 0.4]);
        assert_eq!(r.iter().sum::<i64>(), 2);
    }

    #[test]
    fn obvious_flip_and_edges() {
        let probs = vec![
            vec![0.9, 0.1],
            vec![0.8, 0.2],
            vec![0.85, 0.15],
            vec![0.1, 0.9],
            vec![0.2, 0.8],
            vec![0.05, 0.95],
        ];
        let labels = [0, 0, 0, 1, 1, 0];
        let issues = find_label_issues(&labels, &probs).unwrap();
        assert_eq!(issues.len(), 1);
        assert_eq!(
            (issues[0].row, issues[0].given, issues[0].suggested),
            (5, 0, 1)
        );
        assert!(find_label_issues(&[], &[]).is_err());
        assert!(find_label_issues(&[0], &[vec![f64::NAN]]).is_err());
        assert!(find_label_issues(&[2], &[vec![0.5, 0.5]]).is_err());
        assert!(find_label_issues(&[0], &[vec![1.0]]).unwrap().is_empty());
        assert!(find_label_issues(&[0, 0], &[vec![1.0], vec![1.0]])
            .unwrap()
            .is_empty());
        let cj = confident_joint(&labels, &probs).unwrap();
        assert_eq!(cj.joint.iter().flatten().sum::<u64>(), 6);
    }
}
