//! Multinomial logistic regression with an L2 penalty, as scikit-learn's
//! `LogisticRegression(C=1.0)` with the lbfgs solver, and out-of-fold
//! probabilities over stratified folds (scikit-learn's `cross_val_predict`
//! with `StratifiedKFold(shuffle=True)`), the input confident learning wants.
//!
//! Objective (per row mean, so that the tolerance does not depend on n):
//! `(1/n) Σ_i −log p(y_i | x_i) + ‖W‖² / (2 C n)`, intercepts not penalised.
//! Three or more classes use the symmetric softmax (one weight row per
//! class, as scikit-learn's multinomial loss); two classes use one weight
//! row against a fixed zero (the binomial loss scikit-learn fits for binary
//! targets, whose penalty differs from the symmetric form). Solver: L-BFGS
//! (10 pairs of history, Armijo backtracking from a unit step) until the
//! largest absolute gradient component is at most `tol` (default 1e-8) or
//! `max_iter` iterations; each iteration costs O(n k d) time, memory
//! O(k d). Classes without a training row get probability 0.

use super::{check_labels, IssuesError, Matrix};
use crate::rng::SplitMix;

/// Options for [`LogisticRegression::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticOptions {
    /// Inverse penalty strength, as scikit-learn's `C` (default 1.0; > 0).
    pub c: f64,
    /// Iteration cap (default 2000; at least 1).
    pub max_iter: usize,
    /// Stop when every gradient component of the per-row objective is at
    /// most this in absolute value (default 1e-8; > 0).
    pub tol: f64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions {
            c: 1.0,
            max_iter: 2000,
            tol: 1e-8,
        }
    }
}

/// A fitted multinomial logistic regression.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    classes: usize,
    cols: usize,
    /// The classes with training rows, in order; the model's internal classes.
    present: Vec<usize>,
    /// Weight blocks of `cols + 1` values (weights, then intercept): one per
    /// present class, or one for the second class when two are present.
    params: Vec<f64>,
    iterations: usize,
    converged: bool,
}

/// Logit of internal class `c` for `row` (a zero logit for the reference
/// class of a binary model).
fn logit(params: &[f64], blocks: usize, kk: usize, c: usize, row: &[f64]) -> f64 {
    let Some(b) = block_of(blocks, kk, c) else {
        return 0.0;
    };
    let stride = row.len() + 1;
    let Some(block) = params.get(b * stride..(b + 1) * stride) else {
        return 0.0;
    };
    dot(block, row) + block.last().copied().unwrap_or(0.0)
}

fn block_of(blocks: usize, kk: usize, c: usize) -> Option<usize> {
    if blocks == kk {
        Some(c)
    } else {
        c.checked_sub(1)
    }
}

/// Softmax of the logits into `out` (log-sum-exp shifted).
fn softmax(z: &[f64], out: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (o, v) in out.iter_mut().zip(z) {
        *o = (v - max).exp();
        sum += *o;
    }
    if sum > 0.0 {
        out.iter_mut().for_each(|o| *o /= sum);
    }
}

struct Problem<'a> {
    x: &'a Matrix,
    y: Vec<usize>,
    kk: usize,
    blocks: usize,
    lambda: f64,
}

impl Problem<'_> {
    /// The objective at `params`, its gradient written to `grad`.
    fn eval(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let d = self.x.cols();
        let stride = d + 1;
        let mut z = vec![0.0; self.kk];
        let mut p = vec![0.0; self.kk];
        let mut loss = 0.0;
        for (row, &yi) in self.x.iter_rows().zip(&self.y) {
            for (c, zc) in z.iter_mut().enumerate() {
                *zc = logit(params, self.blocks, self.kk, c, row);
            }
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            loss += lse - z.get(yi).copied().unwrap_or(0.0);
            softmax(&z, &mut p);
            for (c, pc) in p.iter().enumerate() {
                let Some(b) = block_of(self.blocks, self.kk, c) else {
                    continue;
                };
                let r = pc - if c == yi { 1.0 } else { 0.0 };
                if let Some(gb) = grad.get_mut(b * stride..(b + 1) * stride) {
                    for (g, x) in gb.iter_mut().zip(row) {
                        *g += r * x;
                    }
                    if let Some(g) = gb.last_mut() {
                        *g += r;
                    }
                }
            }
        }
        let n = self.x.rows() as f64;
        loss /= n;
        grad.iter_mut().for_each(|g| *g /= n);
        let mut penalty = 0.0;
        for (gb, wb) in grad
            .chunks_exact_mut(stride)
            .zip(params.chunks_exact(stride))
        {
            for (g, w) in gb.iter_mut().zip(wb).take(d) {
                penalty += w * w;
                *g += self.lambda * w;
            }
        }
        loss + 0.5 * self.lambda * penalty
    }
}

/// The dot product over the shorter length, in four running sums so that the
/// compiler can keep several multiplications in flight (a single sum is a
/// chain of dependent additions).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (
        a.get(..n).unwrap_or_default(),
        b.get(..n).unwrap_or_default(),
    );
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    let [s0, s1, s2, s3] = acc;
    (s0 + s1) + (s2 + s3) + tail
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// L-BFGS from zero; returns (params, iterations, converged).
fn lbfgs(problem: &Problem, len: usize, opts: &LogisticOptions) -> (Vec<f64>, usize, bool) {
    const HISTORY: usize = 10;
    let mut x = vec![0.0; len];
    let mut g = vec![0.0; len];
    let mut f = problem.eval(&x, &mut g);
    let mut hist: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::new();
    let mut x_new = vec![0.0; len];
    let mut g_new = vec![0.0; len];
    let mut iterations = 0;
    while iterations < opts.max_iter {
        if max_abs(&g) <= opts.tol {
            return (x, iterations, true);
        }
        iterations += 1;
        // Two-loop recursion: direction = -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(hist.len());
        for (s, y, rho) in hist.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        if let Some((s, y, _)) = hist.back() {
            let yy = dot(y, y);
            if yy > 0.0 {
                let gamma = dot(s, y) / yy;
                q.iter_mut().for_each(|qi| *qi *= gamma);
            }
        }
        for ((s, y, rho), a) in hist.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &dir);
        if slope.is_nan() || slope >= 0.0 {
            hist.clear();
            dir = g.iter().map(|v| -v).collect();
            slope = dot(&g, &dir);
        }
        let mut step = if hist.is_empty() {
            1.0 / dot(&g, &g).sqrt().max(1.0)
        } else {
            1.0
        };
        let mut accepted = false;
        for _ in 0..60 {
            x_new
                .iter_mut()
                .zip(&x)
                .zip(&dir)
                .for_each(|((xn, xi), di)| *xn = xi + step * di);
            let f_new = problem.eval(&x_new, &mut g_new);
            if f_new.is_finite() && f_new <= f + 1e-4 * step * slope {
                let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
                let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-300 {
                    if hist.len() == HISTORY {
                        hist.pop_front();
                    }
                    hist.push_back((s, y, 1.0 / sy));
                }
                std::mem::swap(&mut x, &mut x_new);
                std::mem::swap(&mut g, &mut g_new);
                f = f_new;
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            // No decrease to be had at double precision: the optimum.
            break;
        }
    }
    let converged = max_abs(&g) <= opts.tol;
    (x, iterations, converged)
}

impl LogisticRegression {
    /// Fits the model to rows of `x` with `labels` in `0..classes`.
    /// Errors: label count or range (`LengthMismatch`, `LabelOutOfRange`),
    /// `InvalidParameter` for `classes` 0, a non-positive or non-finite `c`
    /// or `tol`, or `max_iter` 0. One class present gives a model that
    /// predicts it with probability 1. Cost: O(max_iter n k d) time, O(n k
    /// + k d) memory beyond the input.
    pub fn fit(
        x: &Matrix,
        labels: &[usize],
        classes: usize,
        opts: &LogisticOptions,
    ) -> Result<LogisticRegression, IssuesError> {
        if classes == 0 {
            return Err(IssuesError::InvalidParameter("classes must be at least 1"));
        }
        if !(opts.c > 0.0 && opts.c.is_finite()) {
            return Err(IssuesError::InvalidParameter("C must be positive"));
        }
        if !(opts.tol > 0.0 && opts.tol.is_finite()) || opts.max_iter == 0 {
            return Err(IssuesError::InvalidParameter(
                "tol must be positive and max_iter at least 1",
            ));
        }
        check_labels(x.rows(), labels, classes)?;
        let mut seen = vec![false; classes];
        for &l in labels {
            if let Some(s) = seen.get_mut(l) {
                *s = true;
            }
        }
        let present: Vec<usize> = (0..classes)
            .filter(|&c| seen.get(c).copied().unwrap_or(false))
            .collect();
        let mut internal = vec![0usize; classes];
        for (i, &c) in present.iter().enumerate() {
            if let Some(v) = internal.get_mut(c) {
                *v = i;
            }
        }
        let kk = present.len();
        let cols = x.cols();
        if kk < 2 {
            return Ok(LogisticRegression {
                classes,
                cols,
                present,
                params: Vec::new(),
                iterations: 0,
                converged: true,
            });
        }
        let blocks = if kk == 2 { 1 } else { kk };
        let problem = Problem {
            x,
            y: labels
                .iter()
                .map(|&l| internal.get(l).copied().unwrap_or(0))
                .collect(),
            kk,
            blocks,
            lambda: 1.0 / (opts.c * x.rows() as f64),
        };
        let len = blocks * (cols + 1);
        let (params, iterations, converged) = lbfgs(&problem, len, opts);
        Ok(LogisticRegression {
            classes,
            cols,
            present,
            params,
            iterations,
            converged,
        })
    }

    /// Class probabilities for each row of `x`: rows of `classes` values
    /// summing to 1 (0 for classes absent from training). Errors:
    /// `InvalidParameter` if `x` has another column count than training.
    /// O(n k d).
    pub fn predict_proba(&self, x: &Matrix) -> Result<Vec<Vec<f64>>, IssuesError> {
        if x.cols() != self.cols {
            return Err(IssuesError::InvalidParameter(
                "predict_proba: column count differs from training",
            ));
        }
        let kk = self.present.len();
        let blocks = if kk == 2 { 1 } else { kk };
        let mut z = vec![0.0; kk];
        let mut p = vec![0.0; kk];
        let mut out = Vec::with_capacity(x.rows());
        for row in x.iter_rows() {
            let mut full = vec![0.0; self.classes];
            if kk == 1 {
                if let Some(v) = self.present.first().and_then(|&c| full.get_mut(c)) {
                    *v = 1.0;
                }
            } else {
                for (c, zc) in z.iter_mut().enumerate() {
                    *zc = logit(&self.params, blocks, kk, c, row);
                }
                softmax(&z, &mut p);
                for (&c, pc) in self.present.iter().zip(&p) {
                    if let Some(v) = full.get_mut(c) {
                        *v = *pc;
                    }
                }
            }
            out.push(full);
        }
        Ok(out)
    }

    /// L-BFGS iterations taken.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the gradient tolerance was met (else `max_iter` ran out, or
    /// no step could lower the objective at double precision).
    pub fn converged(&self) -> bool {
        self.converged
    }
}

/// Stratified fold assignment, as scikit-learn's `StratifiedKFold` with
/// shuffling: each class's rows are shuffled with `seed` and dealt to the
/// folds in turn, continuing where the previous class stopped, so that every
/// fold holds each class's rows to within one and fold sizes differ by at
/// most one. Returns each row's fold in `0..folds`. Errors:
/// `InvalidParameter` if `folds` < 2 or more than the rows. O(n log n).
pub fn stratified_folds(
    labels: &[usize],
    folds: usize,
    seed: u64,
) -> Result<Vec<usize>, IssuesError> {
    if folds < 2 || folds > labels.len() {
        return Err(IssuesError::InvalidParameter(
            "folds must be at least 2 and at most the number of rows",
        ));
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    let mut rng = SplitMix(seed);
    rng.shuffle(&mut order);
    // Group by class (stable, so within a class the shuffled order holds).
    order.sort_by_key(|&i| labels.get(i).copied().unwrap_or(0));
    let mut fold_of = vec![0usize; labels.len()];
    for (pos, &i) in order.iter().enumerate() {
        if let Some(f) = fold_of.get_mut(i) {
            *f = pos % folds;
        }
    }
    Ok(fold_of)
}

/// Out-of-fold class probabilities: for each of `folds` stratified folds
/// ([`stratified_folds`] with `seed`), a model fitted on the other folds
/// predicts the fold's rows. The rows come back in input order, `classes`
/// values each. Errors as [`LogisticRegression::fit`] and
/// [`stratified_folds`]. Cost: `folds` fits, O(folds max_iter n k d),
/// spread over rayon's threads.
pub fn out_of_fold_proba(
    x: &Matrix,
    labels: &[usize],
    classes: usize,
    folds: usize,
    seed: u64,
    opts: &LogisticOptions,
) -> Result<Vec<Vec<f64>>, IssuesError> {
    out_of_fold(
        x,
        labels,
        classes,
        folds,
        seed,
        &|train_x, train_y, test_x| {
            LogisticRegression::fit(train_x, train_y, classes, opts)?.predict_proba(test_x)
        },
    )
}

/// A model fitted on `(train_x, train_y)` giving `test_x`'s class probabilities.
pub type FitPredict<'a> =
    dyn Fn(&Matrix, &[usize], &Matrix) -> Result<Vec<Vec<f64>>, IssuesError> + Sync + 'a;

/// Out-of-fold class probabilities from any model: `fit_predict(train_x,
/// train_y, test_x)` gives the test rows' probabilities; each fold's is made
/// on the other folds (stratified by [`stratified_folds`] with `seed`).
pub fn out_of_fold(
    x: &Matrix,
    labels: &[usize],
    classes: usize,
    folds: usize,
    seed: u64,
    fit_predict: &FitPredict<'_>,
) -> Result<Vec<Vec<f64>>, IssuesError> {
    if classes == 0 {
        return Err(IssuesError::InvalidParameter("classes must be at least 1"));
    }
    check_labels(x.rows(), labels, classes)?;
    let fold_of = stratified_folds(labels, folds, seed)?;
    // Each fold's model is independent of the others': fit them in parallel.
    use rayon::prelude::*;
    type Fold = Result<(Vec<usize>, Vec<Vec<f64>>), IssuesError>;
    let predicted: Vec<Fold> = (0..folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..x.rows())
                .filter(|&i| fold_of.get(i) != Some(&f))
                .collect();
            let test: Vec<usize> = (0..x.rows())
                .filter(|&i| fold_of.get(i) == Some(&f))
                .collect();
            if test.is_empty() {
                return Ok((test, Vec::new()));
            }
            let train_x = x.select(&train)?;
            let train_y: Vec<usize> = train
                .iter()
                .filter_map(|&i| labels.get(i).copied())
                .collect();
            let probs = fit_predict(&train_x, &train_y, &x.select(&test)?)?;
            Ok((test, probs))
        })
        .collect();
    let mut out = vec![Vec::new(); x.rows()];
    for fold in predicted {
        let (test, probs) = fold?;
        for (&i, p) in test.iter().zip(probs) {
            if let Some(o) = out.get_mut(i) {
                *o = p;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_and_degenerate() {
        let x = Matrix::from_rows(&[vec![-2.0], vec![-1.0], vec![1.0], vec![2.0]]).unwrap();
        let m = LogisticRegression::fit(&x, &[0, 0, 1, 1], 2, &LogisticOptions::default()).unwrap();
        assert!(m.converged());
        let p = m.predict_proba(&x).unwrap();
        assert!(p[0][0] > 0.5 && p[3][1] > 0.5);
        // One class: probability 1; absent classes 0.
        let one =
            LogisticRegression::fit(&x, &[2, 2, 2, 2], 3, &LogisticOptions::default()).unwrap();
        assert_eq!(one.predict_proba(&x).unwrap()[0], vec![0.0, 0.0, 1.0]);
        assert!(LogisticRegression::fit(&x, &[0, 0, 1], 2, &LogisticOptions::default()).is_err());
        assert!(
            LogisticRegression::fit(&x, &[0, 0, 1, 5], 2, &LogisticOptions::default()).is_err()
        );
        assert!(stratified_folds(&[0, 1], 3, 0).is_err());
        let folds = stratified_folds(&[0, 0, 0, 1, 1, 1, 1], 3, 7).unwrap();
        let mut sizes = [0; 3];
        folds.iter().for_each(|&f| sizes[f] += 1);
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
    }
}
