//! Kernel SHAP: how much each feature moves one model output of one row away
//! from its average over background data.
//!
//! Reference: S. M. Lundberg and S.-I. Lee, "A Unified Approach to
//! Interpreting Model Predictions", NeurIPS 2017 (Kernel SHAP, theorem 2);
//! the sampling scheme follows the `shap` package's `KernelExplainer`, and
//! `tests/shap.rs` checks the values against it (tests/fixtures/shap).
//!
//! The value of a coalition `S` of features, for a row `x` and output `c`,
//! is the model's mean output over the background rows `b` with the features
//! of `S` set to `x`'s:
//!
//! ```text
//! v(S) = mean over b of f_c(x_S, b_rest)     v(all) = f_c(x)   v({}) = E[f_c(b)]
//! ```
//!
//! The SHAP values `phi` minimise the weighted squared error
//! `sum over S of w(S) (v(S) - v({}) - sum_{j in S} phi_j)^2` with the
//! Shapley kernel `w(S) = (M - 1) / (C(M, |S|) |S| (M - |S|))`, subject to
//! efficiency, `sum phi = f_c(x) - E[f_c(b)]`, which is enforced exactly by
//! eliminating the last feature (`phi_last = total - the others`), as `shap`
//! does. With every coalition weighed, the solution is the exact Shapley
//! values of `v`.
//!
//! `M` counts only the features where some background row differs from `x`;
//! the others cannot change `v` and get 0. All `2^M - 2` proper coalitions
//! are enumerated when the budget allows. Otherwise, like `shap`: coalition
//! sizes are taken in pairs (`s` with `M - s`), smallest first, and a pair's
//! coalitions are all enumerated while the budget left covers them at their
//! share of the kernel's weight; the rest of the budget is sampled: a size
//! drawn by the kernel's weight of the sizes left, a random coalition of
//! that size and its complement (antithetic pairs), a coalition drawn again
//! adding weight to the first draw; the sampled weights are scaled to the
//! kernel's weight of the sizes not enumerated. Draws come from
//! [`Rng::for_row`]`(seed, row)`.
//!
//! Model calls are batched: each call evaluates whole coalitions (every
//! background row for each), at most about 4M numbers a call. Rows are
//! explained in parallel.

use std::collections::HashMap;

use mlsec_model::{argmax, Model, Output};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{predict_checked, ExplainError};
use crate::rng::Rng;

/// At most this many numbers are sent to the model in one call (unless one
/// coalition needs more).
const CALL_FLOATS: usize = 1 << 22;

/// Settings of a Kernel SHAP run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Coalitions evaluated per row (`shap`'s `nsamples`); `None`:
    /// `2 M + 2048`, as `shap`'s "auto". Each costs one model evaluation per
    /// background row.
    pub budget: Option<usize>,
    /// The output explained (class or regression target); `None`: each row's
    /// predicted class, or target 0 of a regressor.
    pub output: Option<usize>,
    pub seed: u64,
}

/// The SHAP values of one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Explanation {
    /// The output explained.
    pub output: usize,
    /// Its mean over the background rows, `E[f(background)]`.
    pub base_value: f64,
    /// Its value for the row, `f(x)`; `base_value + sum of values`.
    pub prediction: f64,
    /// One per feature: the feature's share of `prediction - base_value`.
    pub values: Vec<f64>,
    /// Whether every coalition was weighed (the values are exact Shapley
    /// values of the background's value function).
    pub exact: bool,
    /// Coalitions evaluated.
    pub coalitions: usize,
}

/// Kernel SHAP values of each row of `rows` (row-major, `model.features()`
/// per row) against `background` (row-major; every row weighs the same).
pub fn kernel_shap(
    model: &dyn Model,
    background: &[f32],
    rows: &[f32],
    settings: &Settings,
) -> Result<Vec<Explanation>, ExplainError> {
    let features = model.features();
    let n_background = mlsec_model::check_rows(model, background)?;
    let n_rows = mlsec_model::check_rows(model, rows)?;
    if n_background == 0 {
        return Err(ExplainError::Input(
            "Kernel SHAP: no background rows".into(),
        ));
    }
    let width = model.width();
    if let Some(out) = settings.output.filter(|&o| o >= width) {
        return Err(ExplainError::Input(format!(
            "{}: output {out} is not one of the model's {width} outputs",
            model.name()
        )));
    }
    if n_rows == 0 {
        return Ok(Vec::new());
    }

    // E[f(background)] for every output, and f(x) for every row.
    let base = column_means(&predict_checked(model, background)?, width);
    let predictions = predict_checked(model, rows)?;

    let explainer = Explainer {
        model,
        background,
        features,
        n_background,
        width,
    };
    rows.par_chunks_exact(features)
        .zip(predictions.par_chunks_exact(width))
        .enumerate()
        .map(|(i, (x, fx))| {
            let output = match settings.output {
                Some(o) => o,
                None if model.output() == Output::Values => 0,
                None => argmax(fx).unwrap_or(0),
            };
            let base_value = base.get(output).copied().unwrap_or(0.0);
            let prediction = fx.get(output).copied().map_or(0.0, f64::from);
            let mut rng = Rng::for_row(settings.seed, i as u64);
            explainer.explain(x, output, base_value, prediction, settings.budget, &mut rng)
        })
        .collect()
}

/// Up to `max` rows of `rows` (row-major, `features` per row), drawn without
/// replacement from `seed` and kept in their order: a background sample.
/// All rows when there are no more than `max`.
pub fn sample_background(
    rows: &[f32],
    features: usize,
    max: usize,
    seed: u64,
) -> Result<Vec<f32>, ExplainError> {
    if features == 0 || !rows.len().is_multiple_of(features) {
        return Err(ExplainError::Input(format!(
            "background: {} numbers are not whole rows of {features} features",
            rows.len()
        )));
    }
    let n = rows.len() / features;
    if n <= max {
        return Ok(rows.to_vec());
    }
    let mut rng = Rng::for_row(seed, 0);
    let mut order: Vec<usize> = (0..n).collect();
    // Partial Fisher-Yates: the first `max` places get a uniform sample.
    for i in 0..max {
        let j = i + rng.below(n - i);
        order.swap(i, j);
    }
    order.truncate(max);
    order.sort_unstable();
    Ok(order
        .iter()
        .filter_map(|&r| rows.chunks_exact(features).nth(r))
        .flatten()
        .copied()
        .collect())
}

/// Mean of each of `width` columns of row-major `scores`.
fn column_means(scores: &[f32], width: usize) -> Vec<f64> {
    let mut sums = vec![0.0_f64; width];
    let mut n = 0usize;
    for row in scores.chunks_exact(width) {
        n += 1;
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    sums.iter().map(|s| s / n.max(1) as f64).collect()
}

/// The coalitions weighed for one row: masks over the varying features.
#[derive(Debug, Default)]
struct Coalitions {
    masks: Vec<Vec<bool>>,
    weights: Vec<f64>,
    /// Every proper coalition is among them.
    exact: bool,
}

impl Coalitions {
    fn push(&mut self, mask: Vec<bool>, weight: f64) {
        self.masks.push(mask);
        self.weights.push(weight);
    }
}

/// `C(n, k)` as a float (infinite when it overflows, which only means "too
/// many to enumerate").
fn binomial(n: usize, k: usize) -> f64 {
    (1..=k).fold(1.0, |c, i| c * (n + 1 - i) as f64 / i as f64)
}

/// Calls `f` with each `k`-subset of `0..n` (ascending indices), in
/// lexicographic order.
fn for_each_combination(n: usize, k: usize, mut f: impl FnMut(&[usize])) {
    if k > n {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        // The rightmost index that can still move right.
        let Some((i, next)) = idx
            .iter()
            .enumerate()
            .rev()
            .find(|&(i, &v)| v < n - k + i)
            .map(|(i, &v)| (i, v + 1))
        else {
            return;
        };
        for (offset, v) in idx.iter_mut().skip(i).enumerate() {
            *v = next + offset;
        }
    }
}

/// The coalitions and their Shapley kernel weights for `m >= 2` varying
/// features and a budget of `budget` coalitions (see the module's doc).
fn coalitions(m: usize, budget: usize, rng: &mut Rng) -> Coalitions {
    let budget = if m <= 30 {
        budget.min((1usize << m) - 2)
    } else {
        budget
    };
    // Sizes s and m - s share one kernel weight; the middle size (m even)
    // stands alone and so counts half.
    let sizes = m / 2;
    let paired_sizes = (m - 1) / 2;
    let mut size_weight: Vec<f64> = (1..=sizes)
        .map(|s| (m - 1) as f64 / (s * (m - s)) as f64)
        .collect();
    if paired_sizes != sizes {
        if let Some(last) = size_weight.last_mut() {
            *last /= 2.0;
        }
    }
    let total: f64 = size_weight.iter().sum();
    size_weight.iter_mut().for_each(|w| *w /= total);

    let mut out = Coalitions::default();
    let mut remaining = size_weight.clone();
    let mut left = budget;
    let mut full = 0usize;
    for (s, &weight) in (1..=sizes).zip(&size_weight) {
        let paired = s <= paired_sizes;
        let count = binomial(m, s);
        let needed = if paired { 2.0 * count } else { count };
        let share = remaining.get(s - 1).copied().unwrap_or(0.0);
        // Enumerate this size when the budget, spread by weight over the
        // sizes left, gives each of its coalitions at least one sample.
        if (left as f64) * share / needed < 1.0 - 1e-8 {
            break;
        }
        full += 1;
        left = left.saturating_sub(needed as usize);
        if share < 1.0 {
            remaining.iter_mut().for_each(|r| *r /= 1.0 - share);
        }
        let w = weight / needed;
        for_each_combination(m, s, |members| {
            let mut mask = vec![false; m];
            for &j in members {
                if let Some(b) = mask.get_mut(j) {
                    *b = true;
                }
            }
            if paired {
                let complement = mask.iter().map(|b| !b).collect();
                out.push(mask, w);
                out.push(complement, w);
            } else {
                out.push(mask, w);
            }
        });
    }
    out.exact = full == sizes;
    if out.exact || left == 0 {
        return out;
    }

    // Sample the sizes not enumerated, by their kernel weight.
    let weight_left: f64 = size_weight.iter().skip(full).sum();
    let draw_weights: Vec<f64> = remaining.iter().skip(full).copied().collect();
    let draw_total: f64 = draw_weights.iter().sum();
    let first_sampled = out.masks.len();
    let mut seen: HashMap<Vec<bool>, usize> = HashMap::new();
    let mut add = |out: &mut Coalitions, mask: Vec<bool>| -> bool {
        match seen.get(&mask) {
            Some(&k) => {
                if let Some(w) = out.weights.get_mut(k) {
                    *w += 1.0;
                }
                false
            }
            None => {
                seen.insert(mask.clone(), out.masks.len());
                out.push(mask, 1.0);
                true
            }
        }
    };
    let mut order: Vec<usize> = (0..m).collect();
    let max_draws = 4 * left;
    for _ in 0..max_draws {
        if left == 0 {
            break;
        }
        let mut u = rng.uniform() * draw_total;
        let mut pick = draw_weights.len().saturating_sub(1);
        for (k, &w) in draw_weights.iter().enumerate() {
            if u < w {
                pick = k;
                break;
            }
            u -= w;
        }
        let s = full + 1 + pick;
        // A uniform s-subset: the first s places of a partial shuffle.
        for i in 0..s {
            let j = i + rng.below(m - i);
            order.swap(i, j);
        }
        let mut mask = vec![false; m];
        for &j in order.iter().take(s) {
            if let Some(b) = mask.get_mut(j) {
                *b = true;
            }
        }
        let complement: Vec<bool> = mask.iter().map(|b| !b).collect();
        if add(&mut out, mask) {
            left -= 1;
        }
        if left > 0 && s <= paired_sizes && add(&mut out, complement) {
            left -= 1;
        }
    }
    let sampled: f64 = out.weights.iter().skip(first_sampled).sum();
    if sampled > 0.0 {
        for w in out.weights.iter_mut().skip(first_sampled) {
            *w *= weight_left / sampled;
        }
    }
    out
}

/// What stays the same across the rows of one run.
struct Explainer<'a> {
    model: &'a dyn Model,
    background: &'a [f32],
    features: usize,
    n_background: usize,
    width: usize,
}

impl Explainer<'_> {
    fn explain(
        &self,
        x: &[f32],
        output: usize,
        base_value: f64,
        prediction: f64,
        budget: Option<usize>,
        rng: &mut Rng,
    ) -> Result<Explanation, ExplainError> {
        let total = prediction - base_value;
        // Features where some background row differs from x (NaN differs).
        let varying: Vec<usize> = (0..self.features)
            .filter(|&j| {
                let v = x.get(j).copied();
                self.background
                    .chunks_exact(self.features)
                    .any(|b| b.get(j).copied() != v || v.is_some_and(f32::is_nan))
            })
            .collect();
        let m = varying.len();
        let mut values = vec![0.0; self.features];
        let done = |values: Vec<f64>, exact: bool, coalitions: usize| Explanation {
            output,
            base_value,
            prediction,
            values,
            exact,
            coalitions,
        };
        match varying.as_slice() {
            [] => return Ok(done(values, true, 0)),
            [only] => {
                if let Some(v) = values.get_mut(*only) {
                    *v = total;
                }
                return Ok(done(values, true, 0));
            }
            _ => {}
        }

        let coalitions = coalitions(m, budget.unwrap_or(2 * m + 2048).max(1), rng);
        let means = self.coalition_means(x, &varying, &coalitions.masks, output)?;
        let phi = solve_constrained(&coalitions, &means, base_value, total, m)?;
        for (&j, p) in varying.iter().zip(phi) {
            if let Some(v) = values.get_mut(j) {
                *v = p;
            }
        }
        Ok(done(values, coalitions.exact, coalitions.masks.len()))
    }

    /// `v(S)` for each coalition: the mean of output `output` over the
    /// background rows with the coalition's features set to `x`'s.
    fn coalition_means(
        &self,
        x: &[f32],
        varying: &[usize],
        masks: &[Vec<bool>],
        output: usize,
    ) -> Result<Vec<f64>, ExplainError> {
        let per_coalition = self.n_background * self.features;
        let batch = (CALL_FLOATS / per_coalition.max(1)).max(1);
        let mut means = Vec::with_capacity(masks.len());
        let mut take_x = vec![false; self.features];
        let mut rows = Vec::with_capacity(batch.min(masks.len()) * per_coalition);
        for chunk in masks.chunks(batch) {
            rows.clear();
            for mask in chunk {
                take_x.iter_mut().for_each(|t| *t = false);
                for (&j, &on) in varying.iter().zip(mask) {
                    if let Some(t) = take_x.get_mut(j) {
                        *t = on;
                    }
                }
                for b in self.background.chunks_exact(self.features) {
                    rows.extend(
                        b.iter()
                            .zip(x)
                            .zip(&take_x)
                            .map(|((&bv, &xv), &t)| if t { xv } else { bv }),
                    );
                }
            }
            let scores = predict_checked(self.model, &rows)?;
            for block in scores.chunks_exact(self.width * self.n_background) {
                let sum: f64 = block
                    .chunks_exact(self.width)
                    .filter_map(|r| r.get(output).copied().map(f64::from))
                    .sum();
                means.push(sum / self.n_background as f64);
            }
        }
        Ok(means)
    }
}

/// The weighted least squares fit of `phi` (m of them) with
/// `sum phi = total`, by eliminating the last: unknowns `phi_0 .. phi_{m-2}`,
/// regressors `mask_j - mask_last`, response
/// `v(S) - v({}) - mask_last * total`.
fn solve_constrained(
    coalitions: &Coalitions,
    means: &[f64],
    base_value: f64,
    total: f64,
    m: usize,
) -> Result<Vec<f64>, ExplainError> {
    let p = m - 1;
    // Normal equations, augmented: p rows of p coefficients and the right
    // side.
    let mut system = vec![vec![0.0_f64; p + 1]; p];
    let mut z = vec![0.0_f64; p];
    for ((mask, &w), &mean) in coalitions.masks.iter().zip(&coalitions.weights).zip(means) {
        let last = if mask.last().copied().unwrap_or(false) {
            1.0
        } else {
            0.0
        };
        let response = mean - base_value - last * total;
        for (zj, &on) in z.iter_mut().zip(mask) {
            *zj = if on { 1.0 } else { 0.0 } - last;
        }
        for (row, &zi) in system.iter_mut().zip(&z) {
            if zi == 0.0 {
                continue;
            }
            for (a, &zj) in row.iter_mut().zip(&z) {
                *a += w * zi * zj;
            }
            if let Some(rhs) = row.last_mut() {
                *rhs += w * zi * response;
            }
        }
    }
    let solved = solve(system.clone()).or_else(|| {
        // Too few distinct coalitions to pin every value. shap falls back to
        // the minimum-norm least squares solution; a tiny ridge comes close
        // to it (it is the ridge's limit) without a decomposition.
        let scale = system
            .iter()
            .enumerate()
            .filter_map(|(i, row)| row.get(i))
            .fold(0.0_f64, |s, &v| s.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let mut ridged = system;
        for (i, row) in ridged.iter_mut().enumerate() {
            if let Some(a) = row.get_mut(i) {
                *a += 1e-9 * scale;
            }
        }
        solve(ridged)
    });
    let Some(mut phi) = solved else {
        return Err(ExplainError::Output(
            "Kernel SHAP: the weighted least squares system could not be solved".into(),
        ));
    };
    let rest: f64 = phi.iter().sum();
    phi.push(total - rest);
    if phi.iter().any(|v| !v.is_finite()) {
        return Err(ExplainError::Output(
            "Kernel SHAP: the fit gave values that are not finite".into(),
        ));
    }
    Ok(phi)
}

/// Solves the augmented system (each row: coefficients, then the right
/// side) by Gaussian elimination with partial pivoting; `None` when it is
/// singular.
fn solve(mut rows: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let p = rows.len();
    let scale = rows
        .iter()
        .flat_map(|r| r.iter().take(p))
        .fold(0.0_f64, |s, &v| s.max(v.abs()));
    if scale == 0.0 {
        return None;
    }
    for col in 0..p {
        let pivot = (col..p).max_by(|&a, &b| {
            let va = rows
                .get(a)
                .and_then(|r| r.get(col))
                .map_or(0.0, |v| v.abs());
            let vb = rows
                .get(b)
                .and_then(|r| r.get(col))
                .map_or(0.0, |v| v.abs());
            va.total_cmp(&vb)
        })?;
        rows.swap(col, pivot);
        let (done, below) = rows.split_at_mut(col + 1);
        let top = done.last()?;
        let lead = *top.get(col)?;
        if lead.abs() <= 1e-12 * scale {
            return None;
        }
        for row in below {
            let factor = row.get(col).copied().unwrap_or(0.0) / lead;
            if factor != 0.0 {
                for (a, &t) in row.iter_mut().zip(top).skip(col) {
                    *a -= factor * t;
                }
            }
        }
    }
    let mut x = vec![0.0_f64; p];
    for i in (0..p).rev() {
        let row = rows.get(i)?;
        let rhs = *row.get(p)?;
        let known: f64 = row
            .iter()
            .zip(&x)
            .skip(i + 1)
            .take(p - i - 1)
            .map(|(a, v)| a * v)
            .sum();
        *x.get_mut(i)? = (rhs - known) / row.get(i)?;
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::toy::FnModel;

    fn uniform_rows(n: usize, features: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::for_row(seed, 0);
        (0..n * features)
            .map(|_| rng.uniform() as f32 * 2.0 - 1.0)
            .collect()
    }

    #[test]
    fn combinations_in_order() {
        let mut seen = Vec::new();
        for_each_combination(4, 2, |c| seen.push(c.to_vec()));
        assert_eq!(
            seen,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        let mut count = 0;
        for_each_combination(7, 3, |_| count += 1);
        assert_eq!(count, 35);
        assert_eq!(binomial(10, 3), 120.0);
    }

    #[test]
    fn full_enumeration_weights_are_the_shapley_kernel() {
        for m in 2..=9 {
            let mut rng = Rng::for_row(0, 0);
            let c = coalitions(m, 1 << 12, &mut rng);
            assert!(c.exact, "m = {m}");
            assert_eq!(c.masks.len(), (1 << m) - 2);
            let mut distinct = c.masks.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), c.masks.len());
            // Each weight is the kernel over the total kernel mass.
            let kernel = |s: usize| (m - 1) as f64 / (binomial(m, s) * (s * (m - s)) as f64);
            let mass: f64 = (1..m).map(|s| binomial(m, s) * kernel(s)).sum();
            for (mask, w) in c.masks.iter().zip(&c.weights) {
                let s = mask.iter().filter(|&&b| b).count();
                assert!((w - kernel(s) / mass).abs() < 1e-15, "m = {m}, s = {s}");
            }
        }
    }

    #[test]
    fn sampled_coalitions_fill_the_budget_and_keep_the_mass() {
        let mut rng = Rng::for_row(3, 0);
        let c = coalitions(12, 200, &mut rng);
        assert!(!c.exact);
        assert_eq!(c.masks.len(), 200);
        let mass: f64 = c.weights.iter().sum();
        assert!((mass - 1.0).abs() < 1e-12);
        // Sizes 1 and 11 are enumerated (24 coalitions), the rest sampled.
        assert!(c.masks[..24]
            .iter()
            .all(|m| matches!(m.iter().filter(|&&b| b).count(), 1 | 11)));
        let mut distinct = c.masks.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 200);
    }

    #[test]
    fn linear_values_are_exact() {
        let w = [0.8_f32, -1.5, 0.3, 2.0, 0.0, -0.7];
        let model = FnModel::regressor(6, move |r| {
            vec![r.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + 0.25]
        });
        let background = uniform_rows(40, 6, 1);
        let rows = uniform_rows(5, 6, 2);
        let out = kernel_shap(&model, &background, &rows, &Settings::default()).unwrap();
        let mean: Vec<f64> = (0..6)
            .map(|j| background.chunks(6).map(|b| b[j] as f64).sum::<f64>() / 40.0)
            .collect();
        for (e, x) in out.iter().zip(rows.chunks(6)) {
            assert!(e.exact);
            assert_eq!(e.coalitions, 62);
            for j in 0..6 {
                let exact = w[j] as f64 * (x[j] as f64 - mean[j]);
                assert!((e.values[j] - exact).abs() < 1e-5, "{j}: {:?}", e.values);
            }
        }
    }

    #[test]
    fn sampled_values_are_exact_on_a_linear_model() {
        // An additive model's value function is linear in the coalition, so
        // any identifiable set of coalitions fits it without error.
        let w: Vec<f32> = (0..14).map(|j| (j as f32 - 6.5) / 4.0).collect();
        let weights = w.clone();
        let model = FnModel::regressor(14, move |r| {
            vec![r.iter().zip(&weights).map(|(a, b)| a * b).sum::<f32>()]
        });
        let background = uniform_rows(20, 14, 5);
        let rows = uniform_rows(3, 14, 6);
        let settings = Settings {
            budget: Some(200),
            output: None,
            seed: 1,
        };
        let out = kernel_shap(&model, &background, &rows, &settings).unwrap();
        for (e, x) in out.iter().zip(rows.chunks(14)) {
            assert!(!e.exact);
            assert_eq!(e.coalitions, 200);
            for j in 0..14 {
                let mean = background.chunks(14).map(|b| b[j] as f64).sum::<f64>() / 20.0;
                let exact = w[j] as f64 * (x[j] as f64 - mean);
                assert!((e.values[j] - exact).abs() < 1e-5, "{j}: {:?}", e.values);
            }
        }
    }

    #[test]
    fn sampled_values_approach_the_exact_ones() {
        // Pairwise interactions over 12 features: 4094 coalitions for the
        // exact values; the default budget (2072) samples.
        let model = FnModel::regressor(12, |r| {
            vec![r.windows(2).map(|p| p[0] * p[1]).sum::<f32>() + r[0] * r[11] + r[3]]
        });
        let background = uniform_rows(15, 12, 7);
        let rows = uniform_rows(2, 12, 8);
        let exact = Settings {
            budget: Some(4094),
            ..Settings::default()
        };
        let exact = kernel_shap(&model, &background, &rows, &exact).unwrap();
        let sampled = kernel_shap(&model, &background, &rows, &Settings::default()).unwrap();
        for (e, s) in exact.iter().zip(&sampled) {
            assert!(e.exact && !s.exact);
            let scale = e.values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let worst = e
                .values
                .iter()
                .zip(&s.values)
                .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst < 0.02 * scale, "{worst} of {scale}");
        }
    }

    #[test]
    fn efficiency_holds_on_a_nonlinear_model() {
        // Softmax over three classes with an interaction.
        let model = FnModel::classifier(10, 3, |r| {
            let z = [
                r[0] * r[1] + r[2] - r[9],
                (r[3] * 3.0).sin() + r[4] * r[5],
                r[6].abs() - r[7] * r[8],
            ];
            let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
            let s: f32 = e.iter().sum();
            e.iter().map(|v| v / s).collect()
        });
        let background = uniform_rows(30, 10, 3);
        let rows = uniform_rows(4, 10, 4);
        // 2^10 - 2 coalitions: exact with the default budget; 300: sampled.
        for budget in [None, Some(300)] {
            let settings = Settings {
                budget,
                output: None,
                seed: 9,
            };
            let out = kernel_shap(&model, &background, &rows, &settings).unwrap();
            let fx = model.predict(&rows).unwrap();
            for (e, f) in out.iter().zip(fx.chunks(3)) {
                assert_eq!(e.output, argmax(f).unwrap());
                assert_eq!(e.exact, budget.is_none());
                let sum: f64 = e.values.iter().sum();
                assert!(
                    (e.base_value + sum - e.prediction).abs() < 1e-6,
                    "{budget:?}: {} + {sum} vs {}",
                    e.base_value,
                    e.prediction
                );
            }
            let again = kernel_shap(&model, &background, &rows, &settings).unwrap();
            assert_eq!(out, again);
        }
    }

    #[test]
    fn constant_features_get_zero() {
        let model = FnModel::regressor(3, |r| vec![r[0] * r[1] + r[2]]);
        // Feature 2 is 0.5 in every background row and in the row explained.
        let background = vec![0.0, 1.0, 0.5, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5];
        let out = kernel_shap(&model, &background, &[1.0, 1.0, 0.5], &Settings::default()).unwrap();
        assert_eq!(out[0].values[2], 0.0);
        // Only feature 0 varies: it takes the whole difference.
        let out = kernel_shap(
            &model,
            &[0.0, 2.0, 1.0],
            &[3.0, 2.0, 1.0],
            &Settings::default(),
        )
        .unwrap();
        assert_eq!(out[0].values, vec![6.0, 0.0, 0.0]);
        assert_eq!(out[0].base_value, 1.0);
    }

    #[test]
    fn background_samples_are_subsets_in_order() {
        let rows: Vec<f32> = (0..50).map(|v| v as f32).collect();
        let s = sample_background(&rows, 2, 10, 1).unwrap();
        assert_eq!(s.len(), 20);
        let firsts: Vec<f32> = s.chunks(2).map(|r| r[0]).collect();
        assert!(firsts.windows(2).all(|w| w[0] < w[1]));
        assert!(s
            .chunks(2)
            .all(|r| r[1] == r[0] + 1.0 && (r[0] as usize).is_multiple_of(2)));
        assert_eq!(sample_background(&rows, 2, 100, 1).unwrap(), rows);
        assert!(sample_background(&rows, 3, 10, 1).is_err());
    }

    #[test]
    fn bad_input_is_an_error() {
        let model = FnModel::classifier(2, 2, |r| vec![r[0], 1.0 - r[0]]);
        let s = Settings::default();
        assert!(kernel_shap(&model, &[], &[0.5, 0.5], &s).is_err());
        assert!(kernel_shap(&model, &[0.5], &[0.5, 0.5], &s).is_err());
        assert!(kernel_shap(&model, &[0.5, 0.5], &[0.5], &s).is_err());
        let wrong_output = Settings {
            output: Some(2),
            ..Settings::default()
        };
        assert!(kernel_shap(&model, &[0.5, 0.5], &[0.1, 0.2], &wrong_output).is_err());
        let nan = FnModel::classifier(2, 2, |r| vec![if r[0] > 0.7 { f32::NAN } else { 0.5 }, 0.5]);
        let err = kernel_shap(&nan, &[0.5, 0.5, 0.1, 0.1], &[0.9, 0.0], &s);
        assert!(matches!(err, Err(ExplainError::Output(_))), "{err:?}");
        assert!(kernel_shap(&model, &[0.5, 0.5], &[], &s)
            .unwrap()
            .is_empty());
    }
}
