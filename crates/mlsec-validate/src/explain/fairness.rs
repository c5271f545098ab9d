//! Group fairness of a classifier's decisions, as Fairlearn measures it.
//!
//! Reference: Fairlearn, `fairlearn.metrics` (`MetricFrame`,
//! `selection_rate`, `true_positive_rate`, `false_positive_rate`,
//! `demographic_parity_*`, `equalized_odds_*`, `equal_opportunity_*`),
//! checked against Fairlearn 0.15 by `tests/fairness.rs` on the cases of
//! `tests/fixtures/fairness/make.py`.
//!
//! Rows carry a true class, a predicted class and a group (the value of a
//! sensitive feature). One class is *positive*; binary metrics read
//! "predicted positive" as `y_pred == positive` and "truly positive" as
//! `y_true == positive` (one against the rest when there are more classes).
//! For each group, and for all rows together ([`Fairness::overall`]):
//!
//! - accuracy: share of rows with `y_pred == y_true` (all classes);
//! - selection rate: share of rows predicted positive;
//! - TPR: truly positive rows predicted positive / truly positive rows;
//! - FPR: truly negative rows predicted positive / truly negative rows.
//!
//! A group with no truly positive rows has no TPR, and one with no truly
//! negative rows no FPR: Fairlearn (through scikit-learn's normalised
//! confusion matrix) then gives 0, silently, and so does this module;
//! [`Rates::positives`] and [`Rates::negatives`] say when that happened.
//!
//! Summaries, over groups (Fairlearn's `method="between_groups"`):
//!
//! - difference of a rate: largest group's less smallest group's;
//! - ratio of a rate: smallest over largest; `None` when the largest is 0
//!   (Fairlearn: NaN, from 0/0);
//! - demographic parity: difference and ratio of the selection rate;
//! - equal opportunity: difference and ratio of the TPR;
//! - equalized odds difference (`agg="worst_case"`): the larger of the TPR
//!   and FPR differences;
//! - equalized odds ratio (`agg="worst_case"`): the smaller of the TPR and
//!   FPR ratios. Fairlearn takes Python's `min` of `[tpr_ratio, fpr_ratio]`,
//!   where a NaN compares false: an undefined TPR ratio makes the result
//!   undefined, while an undefined FPR ratio (no group has a false positive,
//!   as for a perfect classifier) leaves the TPR ratio. Matched here, so the
//!   numbers agree with Fairlearn's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ExplainError;

/// Counts and rates of one set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rates {
    /// Rows.
    pub count: usize,
    /// Rows whose true class is the positive class.
    pub positives: usize,
    /// Rows whose true class is another.
    pub negatives: usize,
    /// Share of rows predicted their true class.
    pub accuracy: f64,
    /// Share of rows predicted positive.
    pub selection_rate: f64,
    /// Share of truly positive rows predicted positive; 0 when there are none
    /// (as Fairlearn).
    pub tpr: f64,
    /// Share of truly negative rows predicted positive; 0 when there are none
    /// (as Fairlearn).
    pub fpr: f64,
}

/// The rates of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Group {
    /// The value of the sensitive feature.
    pub name: String,
    #[serde(flatten)]
    pub rates: Rates,
}

/// Fairness of a classifier's decisions across the groups of one sensitive
/// feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fairness {
    /// The positive class.
    pub positive: usize,
    /// All rows together.
    pub overall: Rates,
    /// Each group, by name in byte order (Fairlearn's order).
    pub groups: Vec<Group>,
    /// Largest less smallest selection rate.
    pub demographic_parity_difference: f64,
    /// Smallest over largest selection rate; `None` when no group has a
    /// positive prediction.
    pub demographic_parity_ratio: Option<f64>,
    /// Largest less smallest TPR.
    pub equal_opportunity_difference: f64,
    /// Smallest over largest TPR; `None` when every TPR is 0.
    pub equal_opportunity_ratio: Option<f64>,
    /// Largest less smallest FPR.
    pub fpr_difference: f64,
    /// Smallest over largest FPR; `None` when every FPR is 0.
    pub fpr_ratio: Option<f64>,
    /// The larger of the TPR and FPR differences.
    pub equalized_odds_difference: f64,
    /// The smaller of the TPR and FPR ratios (see the module's note on
    /// undefined ratios).
    pub equalized_odds_ratio: Option<f64>,
}

/// Counts from which [`Rates`] follow.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    count: usize,
    correct: usize,
    selected: usize,
    positives: usize,
    true_positives: usize,
    false_positives: usize,
}

impl Tally {
    fn add(&mut self, truth: usize, pred: usize, positive: usize) {
        self.count += 1;
        self.correct += usize::from(truth == pred);
        let predicted_positive = pred == positive;
        self.selected += usize::from(predicted_positive);
        if truth == positive {
            self.positives += 1;
            self.true_positives += usize::from(predicted_positive);
        } else {
            self.false_positives += usize::from(predicted_positive);
        }
    }

    fn rates(&self) -> Rates {
        let negatives = self.count - self.positives;
        Rates {
            count: self.count,
            positives: self.positives,
            negatives,
            accuracy: share(self.correct, self.count),
            selection_rate: share(self.selected, self.count),
            tpr: share(self.true_positives, self.positives),
            fpr: share(self.false_positives, negatives),
        }
    }
}

/// `part / whole`, 0 when `whole` is 0 (scikit-learn's normalised confusion
/// matrix, which Fairlearn's TPR and FPR read).
fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Smallest and largest of `values` (not empty).
fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Fairlearn's between-groups difference and ratio of one rate.
fn difference_and_ratio(groups: &[Group], rate: fn(&Rates) -> f64) -> (f64, Option<f64>) {
    let (lo, hi) = min_max(groups.iter().map(|g| rate(&g.rates)));
    // Rates are in [0, 1], so the largest is 0 only when all are: 0/0.
    let ratio = if hi > 0.0 { Some(lo / hi) } else { None };
    (hi - lo, ratio)
}

/// Fairness of predictions `y_pred` against the truth `y_true` (class
/// indices) across the groups named in `groups` (one per row), with class
/// `positive` as the positive class of the binary metrics.
pub fn fairness<S: AsRef<str>>(
    y_true: &[usize],
    y_pred: &[usize],
    positive: usize,
    groups: &[S],
) -> Result<Fairness, ExplainError> {
    if y_true.len() != y_pred.len() || y_true.len() != groups.len() {
        return Err(ExplainError::Input(format!(
            "fairness: {} true classes, {} predictions and {} group values; one of each per row",
            y_true.len(),
            y_pred.len(),
            groups.len()
        )));
    }
    if y_true.is_empty() {
        return Err(ExplainError::Input("fairness: no rows".into()));
    }

    let mut overall = Tally::default();
    let mut by_group: BTreeMap<&str, Tally> = BTreeMap::new();
    for ((&truth, &pred), group) in y_true.iter().zip(y_pred).zip(groups) {
        overall.add(truth, pred, positive);
        by_group
            .entry(group.as_ref())
            .or_default()
            .add(truth, pred, positive);
    }
    let groups: Vec<Group> = by_group
        .into_iter()
        .map(|(name, tally)| Group {
            name: name.to_owned(),
            rates: tally.rates(),
        })
        .collect();

    let (dp_difference, dp_ratio) = difference_and_ratio(&groups, |r| r.selection_rate);
    let (tpr_difference, tpr_ratio) = difference_and_ratio(&groups, |r| r.tpr);
    let (fpr_difference, fpr_ratio) = difference_and_ratio(&groups, |r| r.fpr);
    // Python's min over [tpr_ratio, fpr_ratio] with NaN comparing false.
    let eo_ratio = match (tpr_ratio, fpr_ratio) {
        (None, _) => None,
        (Some(t), None) => Some(t),
        (Some(t), Some(f)) => Some(t.min(f)),
    };

    Ok(Fairness {
        positive,
        overall: overall.rates(),
        groups,
        demographic_parity_difference: dp_difference,
        demographic_parity_ratio: dp_ratio,
        equal_opportunity_difference: tpr_difference,
        equal_opportunity_ratio: tpr_ratio,
        fpr_difference,
        fpr_ratio,
        equalized_odds_difference: tpr_difference.max(fpr_difference),
        equalized_odds_ratio: eo_ratio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_per_group_and_summaries() {
        let y_true = [0, 0, 0, 1, 1, 0];
        let y_pred = [1, 0, 0, 1, 0, 0];
        let groups = ["a", "a", "a", "b", "b", "b"];
        let f = fairness(&y_true, &y_pred, 1, &groups).unwrap();
        assert_eq!(f.groups.len(), 2);
        let a = &f.groups[0].rates;
        assert_eq!((a.count, a.positives, a.negatives), (3, 0, 3));
        // No positives in group a: TPR 0, as Fairlearn.
        assert_eq!(a.tpr, 0.0);
        assert!((a.fpr - 1.0 / 3.0).abs() < 1e-15);
        let b = &f.groups[1].rates;
        assert_eq!(b.tpr, 0.5);
        assert_eq!(b.fpr, 0.0);
        assert_eq!(f.demographic_parity_difference, 0.0);
        assert_eq!(f.demographic_parity_ratio, Some(1.0));
        assert_eq!(f.equalized_odds_difference, 0.5);
        assert_eq!(f.equalized_odds_ratio, Some(0.0));
        assert!((f.overall.accuracy - 4.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn undefined_ratios() {
        // Nothing predicted positive: every ratio is 0/0.
        let f = fairness(&[0, 1, 1, 0], &[0, 0, 0, 0], 1, &["x", "x", "y", "y"]).unwrap();
        assert_eq!(f.demographic_parity_ratio, None);
        assert_eq!(f.equalized_odds_ratio, None);
        // A perfect classifier: no false positives, the TPR ratio stands.
        let f = fairness(&[0, 1, 1, 0], &[0, 1, 1, 0], 1, &["x", "x", "y", "y"]).unwrap();
        assert_eq!(f.fpr_ratio, None);
        assert_eq!(f.equalized_odds_ratio, Some(1.0));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(fairness(&[0, 1], &[0], 1, &["a", "b"]).is_err());
        assert!(fairness::<&str>(&[], &[], 1, &[]).is_err());
    }
}
