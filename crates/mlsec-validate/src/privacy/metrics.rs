//! How well membership scores separate members from non-members.
//!
//! Every attack gives each row a score, higher meaning "more likely a
//! member". Thresholding the scores at each of their distinct values gives
//! the ROC curve: at threshold `t`, the true positive rate is the share of
//! members scoring at least `t` and the false positive rate the share of
//! non-members scoring at least `t` (scikit-learn's `roc_curve` with
//! `drop_intermediate=False`, which starts at (0, 0)).
//!
//! - [`roc_auc`]: the area under that curve, which is the Mann-Whitney
//!   statistic: the chance that a random member outscores a random
//!   non-member, a tie counting one half (scikit-learn's `roc_auc_score`).
//!   0.5 is guessing.
//! - [`advantage`]: the membership advantage of Yeom et al. (CSF 2018), the
//!   largest TPR - FPR over the thresholds (0 at the start of the curve, so
//!   never below 0).
//! - [`tpr_at_fpr`]: the largest TPR at a threshold whose FPR is at most the
//!   target, without interpolation, as Carlini et al. report attacks
//!   ("Membership Inference Attacks From First Principles", S&P 2022): with
//!   fewer than `1 / target` non-members, only thresholds with no false
//!   positive at all count.
//!
//! A NaN score counts as the lowest possible (−∞): never "member" before a
//! number. Each function answers `None` when members or non-members are
//! empty. The rates are computed as scikit-learn does (counts divided by
//! totals in floating point), and checked against scikit-learn to 1e-12 by
//! `tests/privacy_metrics.rs`.

use serde::{Deserialize, Serialize};

/// One point of the ROC curve: the rates at a threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    /// Rows scoring at least this are called members (`+∞` for the first
    /// point, where none is).
    pub threshold: f64,
    pub fpr: f64,
    pub tpr: f64,
}

/// Counts at each distinct score, highest first.
struct Steps {
    /// (score, members at it, non-members at it).
    groups: Vec<(f64, u64, u64)>,
    positives: u64,
    negatives: u64,
}

fn steps(members: &[f64], non_members: &[f64]) -> Option<Steps> {
    if members.is_empty() || non_members.is_empty() {
        return None;
    }
    let clean = |v: f64| if v.is_nan() { f64::NEG_INFINITY } else { v };
    let mut all: Vec<(f64, bool)> = members
        .iter()
        .map(|&v| (clean(v), true))
        .chain(non_members.iter().map(|&v| (clean(v), false)))
        .collect();
    // -0.0 and 0.0 are one score.
    all.iter_mut().for_each(|(v, _)| *v += 0.0);
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut groups: Vec<(f64, u64, u64)> = Vec::new();
    for (v, member) in all {
        let (p, n) = (u64::from(member), u64::from(!member));
        match groups.last_mut() {
            Some(g) if g.0 == v => {
                g.1 += p;
                g.2 += n;
            }
            _ => groups.push((v, p, n)),
        }
    }
    Some(Steps {
        groups,
        positives: members.len() as u64,
        negatives: non_members.len() as u64,
    })
}

/// The ROC curve of the scores: (0, 0) at threshold `+∞`, then one point per
/// distinct score, highest first, ending at (1, 1).
pub fn roc_curve(members: &[f64], non_members: &[f64]) -> Option<Vec<RocPoint>> {
    let s = steps(members, non_members)?;
    let (p, n) = (s.positives as f64, s.negatives as f64);
    let mut out = Vec::with_capacity(s.groups.len() + 1);
    out.push(RocPoint {
        threshold: f64::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    });
    let (mut tp, mut fp) = (0u64, 0u64);
    for (v, gp, gn) in s.groups {
        tp += gp;
        fp += gn;
        out.push(RocPoint {
            threshold: v,
            fpr: fp as f64 / n,
            tpr: tp as f64 / p,
        });
    }
    Some(out)
}

/// The area under the ROC curve (the Mann-Whitney statistic, ties one half).
pub fn roc_auc(members: &[f64], non_members: &[f64]) -> Option<f64> {
    let s = steps(members, non_members)?;
    // Twice the area in whole counts: each group of tied scores adds its
    // non-members times the members above it, plus half of its own members.
    let mut twice: u128 = 0;
    let mut tp: u128 = 0;
    for &(_, gp, gn) in &s.groups {
        twice += u128::from(gn) * (2 * tp + u128::from(gp));
        tp += u128::from(gp);
    }
    let total = 2.0 * s.positives as f64 * s.negatives as f64;
    Some(twice as f64 / total)
}

/// The membership advantage: the largest TPR - FPR over the thresholds.
pub fn advantage(members: &[f64], non_members: &[f64]) -> Option<f64> {
    let curve = roc_curve(members, non_members)?;
    Some(curve.iter().fold(0.0, |m, c| f64::max(m, c.tpr - c.fpr)))
}

/// The largest TPR at a threshold whose FPR is at most `target`.
pub fn tpr_at_fpr(members: &[f64], non_members: &[f64], target: f64) -> Option<f64> {
    let curve = roc_curve(members, non_members)?;
    Some(best_tpr(&curve, target))
}

fn best_tpr(curve: &[RocPoint], target: f64) -> f64 {
    curve
        .iter()
        .filter(|c| c.fpr <= target)
        .fold(0.0, |m, c| f64::max(m, c.tpr))
}

/// An attack's summary numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Separation {
    pub auc: f64,
    pub advantage: f64,
    pub tpr_at_fpr: TprAtFpr,
}

/// TPR at the two low false positive rates attacks are compared at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TprAtFpr {
    /// The largest TPR with FPR ≤ 1%.
    #[serde(rename = "0.01")]
    pub fpr_1e2: f64,
    /// The largest TPR with FPR ≤ 0.1%.
    #[serde(rename = "0.001")]
    pub fpr_1e3: f64,
}

/// AUC, advantage and TPR at FPR 1% and 0.1% of the scores, from one sort.
pub fn separation(members: &[f64], non_members: &[f64]) -> Option<Separation> {
    let curve = roc_curve(members, non_members)?;
    Some(Separation {
        auc: roc_auc(members, non_members)?,
        advantage: curve.iter().fold(0.0, |m, c| f64::max(m, c.tpr - c.fpr)),
        tpr_at_fpr: TprAtFpr {
            fpr_1e2: best_tpr(&curve, 0.01),
            fpr_1e3: best_tpr(&curve, 0.001),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_reversed_and_tied_scores() {
        let s = separation(&[3.0, 4.0], &[1.0, 2.0]).unwrap();
        assert_eq!((s.auc, s.advantage), (1.0, 1.0));
        assert_eq!(s.tpr_at_fpr.fpr_1e3, 1.0);
        let s = separation(&[1.0, 2.0], &[3.0, 4.0]).unwrap();
        assert_eq!((s.auc, s.advantage, s.tpr_at_fpr.fpr_1e2), (0.0, 0.0, 0.0));
        // All tied: guessing, and no threshold separates anything.
        let s = separation(&[5.0; 3], &[5.0; 7]).unwrap();
        assert_eq!((s.auc, s.advantage, s.tpr_at_fpr.fpr_1e2), (0.5, 0.0, 0.0));
        // One member above a tie of one member and one non-member.
        assert_eq!(roc_auc(&[2.0, 1.0], &[1.0]), Some(0.75));
        assert_eq!(roc_auc(&[0.0], &[-0.0]), Some(0.5));
    }

    #[test]
    fn nan_is_lowest_and_empty_is_none() {
        assert_eq!(roc_auc(&[f64::NAN], &[0.0]), Some(0.0));
        assert_eq!(roc_auc(&[f64::NAN], &[f64::NEG_INFINITY]), Some(0.5));
        assert_eq!(roc_auc(&[], &[1.0]), None);
        assert_eq!(separation(&[1.0], &[]), None);
        let c = roc_curve(&[1.0, f64::NAN], &[0.5]).unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!((c[3].fpr, c[3].tpr), (1.0, 1.0));
    }

    #[test]
    fn tpr_at_low_fpr_needs_enough_non_members() {
        // 100 non-members: FPR 1% allows one false positive.
        let non: Vec<f64> = (0..100).map(f64::from).collect();
        let members = [99.5, 98.5, 50.0];
        assert_eq!(tpr_at_fpr(&members, &non, 0.01), Some(2.0 / 3.0));
        // FPR 0.1% of 100 allows none: only the member above every
        // non-member counts.
        assert_eq!(tpr_at_fpr(&members, &non, 0.001), Some(1.0 / 3.0));
    }
}
