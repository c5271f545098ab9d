//! Permutation importance: how much a model's score falls when one feature's
//! values are shuffled across rows, breaking its link to the target.
//!
//! Reference: L. Breiman, "Random Forests", Machine Learning 45 (2001),
//! section 10; the semantics are scikit-learn's
//! `sklearn.inspection.permutation_importance`.
//!
//! For feature `j` and repeat `r`, the column `j` of the data is permuted
//! (every other column kept), the model scores the permuted copy, and
//!
//! ```text
//! importance[j][r] = baseline score - score of the permuted copy
//! ```
//!
//! Scores are "higher is better": accuracy for class targets, the negative
//! mean squared error (over rows and targets) for a regressor's values. A
//! feature the model ignores scores exactly 0 on every repeat.
//!
//! Per feature: `mean`, `std` (the population standard deviation over the
//! repeats, ddof = 0, as scikit-learn's `importances_std`), and a 95%
//! confidence interval of the mean,
//! `mean ± t(0.975, n - 1) · s / √n`, with `s` the sample standard deviation
//! (ddof = 1, `std · √(n / (n - 1))`): the interval the t distribution gives
//! for `n` repeats. `t` is the Student t quantile, computed by inverting the
//! t distribution function written with the regularised incomplete beta
//! function (continued fraction; relative error about 1e-14 for any number of
//! degrees of freedom, so no table and no normal approximation). With one
//! repeat there is no interval.
//!
//! Shuffles come from [`Rng::for_row`]`(seed, feature)`, so a feature's
//! shuffles do not depend on the other features or on the threads. scikit-
//! learn's generator differs, so its numbers match only in distribution.
//! Each permuted copy of the data is one `model.predict` call; features run
//! in parallel.

use mlsec_model::{argmax, Model, Output};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{predict_checked, ExplainError};
use crate::rng::Rng;

/// What the model is scored against.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The true class of each row (a classifier, scored by accuracy).
    Classes(&'a [usize]),
    /// The true values of a regressor, `model.width()` per row, row after
    /// row (scored by the negative mean squared error).
    Values(&'a [f32]),
}

/// How a copy of the data is scored; higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scorer {
    /// Share of rows whose highest score is their true class.
    Accuracy,
    /// Minus the mean squared error over rows and targets.
    NegMeanSquaredError,
}

/// Settings of a permutation importance run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Shuffles per feature (scikit-learn's `n_repeats`; 5 there).
    pub repeats: usize,
    pub seed: u64,
}

/// The importance of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeatureImportance {
    /// The feature's column.
    pub feature: usize,
    /// Mean fall in score over the repeats.
    pub mean: f64,
    /// Population standard deviation (ddof = 0) of the falls.
    pub std: f64,
    /// Lower end of the 95% t interval of the mean; `None` with one repeat.
    pub ci_low: Option<f64>,
    /// Upper end of the 95% t interval of the mean; `None` with one repeat.
    pub ci_high: Option<f64>,
    /// The fall in score of each repeat.
    pub importances: Vec<f64>,
}

/// Permutation importance of every feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Importance {
    pub scorer: Scorer,
    /// The score of the unshuffled data.
    pub baseline: f64,
    pub repeats: usize,
    pub seed: u64,
    /// One per feature, in column order.
    pub features: Vec<FeatureImportance>,
}

/// Permutation importance of each feature of `model` on `rows` (row-major,
/// `model.features()` per row) against `target`.
pub fn permutation_importance(
    model: &dyn Model,
    rows: &[f32],
    target: Target<'_>,
    settings: &Settings,
) -> Result<Importance, ExplainError> {
    let features = model.features();
    let n = mlsec_model::check_rows(model, rows)?;
    if n == 0 {
        return Err(ExplainError::Input(
            "permutation importance: no rows".into(),
        ));
    }
    if settings.repeats == 0 {
        return Err(ExplainError::Input(
            "permutation importance: repeats must be at least 1".into(),
        ));
    }
    let scorer = check_target(model, n, target)?;
    let baseline = score(model, rows, target)?;

    let features = (0..features)
        .into_par_iter()
        .map(|feature| {
            let mut rng = Rng::for_row(settings.seed, feature as u64);
            let column: Vec<f32> = rows
                .chunks_exact(model.features())
                .filter_map(|row| row.get(feature).copied())
                .collect();
            let mut permuted = rows.to_vec();
            let mut order: Vec<usize> = (0..n).collect();
            let mut importances = Vec::with_capacity(settings.repeats);
            for _ in 0..settings.repeats {
                shuffle(&mut order, &mut rng);
                for (row, &from) in permuted.chunks_exact_mut(model.features()).zip(&order) {
                    if let (Some(v), Some(&c)) = (row.get_mut(feature), column.get(from)) {
                        *v = c;
                    }
                }
                importances.push(baseline - score(model, &permuted, target)?);
            }
            Ok(summarise(feature, importances))
        })
        .collect::<Result<Vec<_>, ExplainError>>()?;

    Ok(Importance {
        scorer,
        baseline,
        repeats: settings.repeats,
        seed: settings.seed,
        features,
    })
}

/// The scorer for `target`, once it is checked to fit `n` rows of `model`.
fn check_target(model: &dyn Model, n: usize, target: Target<'_>) -> Result<Scorer, ExplainError> {
    let width = model.width();
    match target {
        Target::Classes(classes) => {
            if model.output() == Output::Values {
                return Err(ExplainError::Input(format!(
                    "{}: a regressor has no classes to score accuracy on; give target values",
                    model.name()
                )));
            }
            if classes.len() != n {
                return Err(ExplainError::Input(format!(
                    "permutation importance: {n} rows and {} true classes",
                    classes.len()
                )));
            }
            if let Some(bad) = classes.iter().find(|&&c| c >= width) {
                return Err(ExplainError::Input(format!(
                    "{}: class {bad} is not one of the model's {width} classes",
                    model.name()
                )));
            }
            Ok(Scorer::Accuracy)
        }
        Target::Values(values) => {
            if model.output() != Output::Values {
                return Err(ExplainError::Input(format!(
                    "{}: a classifier is scored on classes, not values",
                    model.name()
                )));
            }
            if values.len() != n * width {
                return Err(ExplainError::Input(format!(
                    "permutation importance: {n} rows of {width} targets and {} target values",
                    values.len()
                )));
            }
            if values.iter().any(|v| !v.is_finite()) {
                return Err(ExplainError::Input(
                    "permutation importance: a target value is not a finite number".into(),
                ));
            }
            Ok(Scorer::NegMeanSquaredError)
        }
    }
}

/// The model's score on `rows` (one `predict` call); higher is better.
fn score(model: &dyn Model, rows: &[f32], target: Target<'_>) -> Result<f64, ExplainError> {
    let scores = predict_checked(model, rows)?;
    let width = model.width();
    match target {
        Target::Classes(classes) => {
            let right = scores
                .chunks_exact(width)
                .zip(classes)
                .filter(|&(s, &c)| argmax(s) == Some(c))
                .count();
            Ok(right as f64 / classes.len().max(1) as f64)
        }
        Target::Values(values) => {
            let sum: f64 = scores
                .iter()
                .zip(values)
                .map(|(&p, &y)| (f64::from(p) - f64::from(y)).powi(2))
                .sum();
            Ok(-sum / values.len().max(1) as f64)
        }
    }
}

/// Fisher-Yates shuffle of `order` in place.
fn shuffle(order: &mut [usize], rng: &mut Rng) {
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
}

fn summarise(feature: usize, importances: Vec<f64>) -> FeatureImportance {
    let n = importances.len() as f64;
    let mean = importances.iter().sum::<f64>() / n;
    let squares: f64 = importances.iter().map(|v| (v - mean).powi(2)).sum();
    let std = (squares / n).sqrt();
    let (ci_low, ci_high) = if importances.len() >= 2 {
        let sample_std = (squares / (n - 1.0)).sqrt();
        let half = t_quantile(0.975, n - 1.0) * sample_std / n.sqrt();
        (Some(mean - half), Some(mean + half))
    } else {
        (None, None)
    };
    FeatureImportance {
        feature,
        mean,
        std,
        ci_low,
        ci_high,
        importances,
    }
}

/// The `p` quantile of Student's t distribution with `df` degrees of
/// freedom (`0 < p < 1`, `df > 0`); NaN outside that.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && df > 0.0) {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    // The upper tail mass 1 - p, with t >= 0: P(T > t) = I_x(df/2, 1/2) / 2,
    // x = df / (df + t^2). Bracket, then bisect: the tail falls with t.
    let tail = 1.0 - p;
    let upper = |t: f64| 0.5 * incomplete_beta(df / (df + t * t), 0.5 * df, 0.5);
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while upper(hi) > tail && hi < 1e300 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if upper(mid) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// ln Γ(x) for x > 0: the Lanczos approximation (g = 7, nine terms), with
/// the reflection formula below 1/2; relative error about 1e-15.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let (first, rest) = C.split_first().unwrap_or((&1.0, &[]));
    let a = rest
        .iter()
        .enumerate()
        .fold(*first, |s, (i, c)| s + c / (x + i as f64 + 1.0));
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function I_x(a, b), for 0 <= x <= 1 and
/// a, b > 0: the continued fraction of its series, evaluated by the modified
/// Lentz method, on the side of x where it converges fast.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction 1 / (1 + d1 / (1 + d2 / (1 + ...))) of I_x(a, b),
/// with d(2m+1) = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and
/// d(2m) = m(b-m)x / ((a+2m-1)(a+2m)).
fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 - (a + b) * x / (a + 1.0));
    let mut f = d;
    for m in 1..1000 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / nonzero(1.0 + even * d);
        c = nonzero(1.0 + even / c);
        f *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / nonzero(1.0 + odd * d);
        c = nonzero(1.0 + odd / c);
        let step = d * c;
        f *= step;
        if (step - 1.0).abs() < 1e-16 {
            break;
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::toy::FnModel;

    #[test]
    fn t_quantiles_match_scipy() {
        // scipy.stats.t.ppf, scipy 1.17.1.
        let known = [
            (0.975, 1.0, 12.706204736174694),
            (0.975, 2.0, 4.302652729749462),
            (0.975, 3.0, 3.1824463052837078),
            (0.975, 4.0, 2.7764451051977934),
            (0.975, 5.0, 2.5705818356363146),
            (0.975, 9.0, 2.262157162798205),
            (0.975, 10.0, 2.228138851986274),
            (0.975, 29.0, 2.045229642132703),
            (0.975, 30.0, 2.0422724563012378),
            (0.975, 99.0, 1.9842169515864174),
            (0.975, 100.0, 1.9839715185235518),
            (0.975, 1000.0, 1.9623390808264083),
            (0.975, 1e6, 1.959966356814107),
            (0.9, 3.0, 1.637744353696209),
            (0.995, 7.0, 3.4994832973504924),
            (0.6, 1.0, 0.32491969623290634),
        ];
        for (p, df, t) in known {
            let ours = t_quantile(p, df);
            assert!(
                (ours - t).abs() <= 1e-9 * t,
                "t({p}, {df}): ours {ours}, scipy {t}"
            );
            assert!((t_quantile(1.0 - p, df) + t).abs() <= 1e-9 * t);
        }
        assert!(t_quantile(0.0, 3.0).is_nan());
        assert!(t_quantile(0.5, 0.0).is_nan());
        assert_eq!(t_quantile(0.5, 4.0), 0.0);
    }

    #[test]
    fn ln_gamma_known_values() {
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        // ln(9!) = ln 362880.
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
    }

    /// Class 1 when feature 0 is above 0.5; the other features are read
    /// and ignored.
    fn threshold_model(features: usize) -> FnModel {
        FnModel::classifier(features, 2, |row| {
            let z = 8.0 * (row[0] - 0.5) + 0.0 * row[1..].iter().sum::<f32>();
            let p = 1.0 / (1.0 + (-z).exp());
            vec![1.0 - p, p]
        })
    }

    fn grid(n: usize, features: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::for_row(seed, 0);
        (0..n * features).map(|_| rng.uniform() as f32).collect()
    }

    #[test]
    fn only_the_feature_that_matters_is_important() {
        let model = threshold_model(4);
        let rows = grid(300, 4, 1);
        let classes: Vec<usize> = rows.chunks(4).map(|r| usize::from(r[0] > 0.5)).collect();
        let settings = Settings {
            repeats: 5,
            seed: 7,
        };
        let imp =
            permutation_importance(&model, &rows, Target::Classes(&classes), &settings).unwrap();
        assert_eq!(imp.scorer, Scorer::Accuracy);
        assert_eq!(imp.baseline, 1.0);
        let f0 = &imp.features[0];
        assert!(f0.mean > 0.3, "{f0:?}");
        assert!(f0.ci_low.unwrap() > 0.0 && f0.ci_low.unwrap() <= f0.mean);
        assert!(f0.ci_high.unwrap() >= f0.mean);
        for f in &imp.features[1..] {
            assert_eq!(f.importances, vec![0.0; 5]);
            assert_eq!((f.mean, f.std), (0.0, 0.0));
            assert_eq!((f.ci_low, f.ci_high), (Some(0.0), Some(0.0)));
        }
        // Same seed, same numbers.
        let again =
            permutation_importance(&model, &rows, Target::Classes(&classes), &settings).unwrap();
        assert_eq!(imp, again);
    }

    #[test]
    fn the_interval_is_the_t_interval() {
        let f = summarise(0, vec![0.1, 0.2, 0.3, 0.6]);
        assert!((f.mean - 0.3).abs() < 1e-15);
        // Population std: sqrt(0.14 / 4).
        assert!((f.std - (0.14f64 / 4.0).sqrt()).abs() < 1e-15);
        let half = 3.1824463052837078 * (0.14f64 / 3.0).sqrt() / 2.0;
        assert!((f.ci_low.unwrap() - (0.3 - half)).abs() < 1e-12);
        assert!((f.ci_high.unwrap() - (0.3 + half)).abs() < 1e-12);
        let one = summarise(0, vec![0.4]);
        assert_eq!((one.mean, one.std, one.ci_low), (0.4, 0.0, None));
    }

    #[test]
    fn regressors_are_scored_by_negative_mse() {
        // y = 3 x1 - x2; feature 0 is ignored.
        let model = FnModel::regressor(3, |row| vec![3.0 * row[1] - row[2] + 0.0 * row[0]]);
        let rows = grid(200, 3, 2);
        let values: Vec<f32> = rows.chunks(3).map(|r| 3.0 * r[1] - r[2]).collect();
        let settings = Settings {
            repeats: 3,
            seed: 1,
        };
        let imp =
            permutation_importance(&model, &rows, Target::Values(&values), &settings).unwrap();
        assert_eq!(imp.scorer, Scorer::NegMeanSquaredError);
        assert_eq!(imp.baseline, 0.0);
        assert_eq!(imp.features[0].mean, 0.0);
        // Shuffling x1 costs about 2 Var(3 x1) = 18 / 12; x2 about 2 / 12.
        assert!(
            (imp.features[1].mean - 1.5).abs() < 0.4,
            "{:?}",
            imp.features[1]
        );
        assert!(
            (imp.features[2].mean - 1.0 / 6.0).abs() < 0.06,
            "{:?}",
            imp.features[2]
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let model = threshold_model(2);
        let rows = grid(10, 2, 3);
        let settings = Settings {
            repeats: 2,
            seed: 0,
        };
        let classes = vec![0; 10];
        let run = |rows: &[f32], target, settings: &Settings| {
            permutation_importance(&model, rows, target, settings)
        };
        assert!(run(&rows, Target::Classes(&classes[..9]), &settings).is_err());
        assert!(run(&rows[..19], Target::Classes(&classes), &settings).is_err());
        assert!(run(&[], Target::Classes(&[]), &settings).is_err());
        assert!(run(&rows, Target::Classes(&[2; 10]), &settings).is_err());
        assert!(run(&rows, Target::Values(&[0.0; 10]), &settings).is_err());
        let zero = Settings {
            repeats: 0,
            seed: 0,
        };
        assert!(run(&rows, Target::Classes(&classes), &zero).is_err());
        let nan = FnModel::classifier(2, 2, |_| vec![f32::NAN, 0.5]);
        let err = permutation_importance(&nan, &rows, Target::Classes(&classes), &settings);
        assert!(matches!(err, Err(ExplainError::Output(_))), "{err:?}");
    }
}
