//! mlsec's own learners, for shadow models and extraction surrogates.
//!
//! Shadow models stand in for the target: trained on data the attacker
//! holds, they show how a model of that kind treats rows it was trained on
//! and rows it was not. Two learners:
//!
//! - [`Learner::Mlp`] (the default): one hidden layer of ReLU units, a
//!   softmax output, He-normal initial weights drawn from the seed, and
//!   full-batch Adam on the mean cross-entropy (plus an optional L2
//!   penalty) for a fixed number of steps. It fits its training rows closely
//!   (the default reaches a training loss near 0 on tables of a few
//!   thousand rows), so a row's confidence differs between the shadows that
//!   trained on it and those that did not, as it does for an overfit
//!   target. That difference is what LiRA and the shadow attack read.
//! - [`Learner::Logistic`]: multinomial logistic regression with an L2
//!   penalty (`mlsec_stats`, scikit-learn's `LogisticRegression(C)`). Too
//!   smooth to memorise rows: shadows trained with it barely tell their
//!   training rows from others, so membership attacks built on them are
//!   weak against any model that memorises. Kept for linear targets and as a
//!   fast surrogate.
//!
//! Features are standardised by a [`Scaler`] fitted on every row the
//! attacker holds (it needs no labels). Every fit is deterministic for its
//! seed.

use mlsec_stats::issues::logistic::{LogisticOptions, LogisticRegression};
use mlsec_stats::issues::Matrix;

use crate::rng::Rng;

/// How shadow models and extraction surrogates are trained.
#[derive(Debug, Clone, PartialEq)]
pub enum Learner {
    /// One-hidden-layer perceptron (see [`Mlp`]).
    Mlp(Mlp),
    /// Multinomial logistic regression with inverse penalty `c` (1.0 in
    /// scikit-learn).
    Logistic { c: f64 },
}

impl Default for Learner {
    fn default() -> Self {
        Learner::Mlp(Mlp::default())
    }
}

impl Learner {
    /// A short name for reports: `mlp(64 hidden, 400 steps)`, `logistic(C=1)`.
    pub fn describe(&self) -> String {
        match self {
            Learner::Mlp(m) => format!(
                "mlp({} hidden, {} steps, lr {}, l2 {})",
                m.hidden, m.steps, m.learning_rate, m.l2
            ),
            Learner::Logistic { c } => format!("logistic(C={c})"),
        }
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        match self {
            Learner::Mlp(m) => {
                if m.hidden == 0 || m.steps == 0 {
                    return Err("the shadow MLP needs at least 1 hidden unit and 1 step".into());
                }
                let rate_ok = m.learning_rate > 0.0 && m.learning_rate.is_finite();
                if !(rate_ok && m.l2 >= 0.0 && m.l2.is_finite()) {
                    return Err(
                        "the shadow MLP's learning rate must be positive and its L2 penalty at least 0"
                            .into(),
                    );
                }
            }
            Learner::Logistic { c } => {
                if !(*c > 0.0 && c.is_finite()) {
                    return Err("the logistic shadow's C must be positive".into());
                }
            }
        }
        Ok(())
    }

    /// Fits `labels` (classes `0..classes`) from standardised rows `x` of
    /// `d` features. `None` when there is nothing to fit (no rows).
    pub(crate) fn fit(
        &self,
        x: &[f64],
        d: usize,
        labels: &[usize],
        classes: usize,
        seed: u64,
    ) -> Option<Fitted> {
        if labels.is_empty() || d == 0 || x.len() != labels.len() * d || classes == 0 {
            return None;
        }
        match self {
            Learner::Mlp(m) => Some(Fitted::Mlp(m.fit(x, d, labels, classes, seed))),
            Learner::Logistic { c } => {
                let matrix = Matrix::new(x.to_vec(), d).ok()?;
                let opts = LogisticOptions {
                    c: *c,
                    max_iter: 500,
                    tol: 1e-6,
                };
                LogisticRegression::fit(&matrix, labels, classes, &opts)
                    .ok()
                    .map(|model| Fitted::Logistic { model, d, classes })
            }
        }
    }
}

/// A fitted learner.
#[derive(Debug, Clone)]
pub(crate) enum Fitted {
    Mlp(MlpModel),
    Logistic {
        model: LogisticRegression,
        d: usize,
        classes: usize,
    },
}

impl Fitted {
    /// Class probabilities of standardised rows `x`, `classes` per row, as
    /// float32: the precision a target model answers in, so that shadows
    /// and target saturate alike.
    pub(crate) fn probabilities(&self, x: &[f64]) -> Vec<f32> {
        match self {
            Fitted::Mlp(m) => m.probabilities(x),
            Fitted::Logistic { model, d, classes } => {
                let rows = x.len() / (*d).max(1);
                let uniform = || vec![1.0 / (*classes).max(1) as f32; rows * classes];
                let Ok(matrix) = Matrix::new(x.to_vec(), *d) else {
                    return uniform();
                };
                match model.predict_proba(&matrix) {
                    Ok(p) => p.into_iter().flatten().map(|v| v as f32).collect(),
                    Err(_) => uniform(),
                }
            }
        }
    }

    /// The log-odds of class 1 against class 0 of each standardised row,
    /// in double precision (a binary model's score).
    pub(crate) fn log_odds(&self, x: &[f64]) -> Vec<f64> {
        match self {
            Fitted::Mlp(m) => m
                .logits(x)
                .chunks_exact(m.classes.max(1))
                .map(|z| z.get(1).copied().unwrap_or(0.0) - z.first().copied().unwrap_or(0.0))
                .collect(),
            Fitted::Logistic { .. } => self
                .probabilities(x)
                .chunks_exact(2)
                .map(|p| {
                    let f = |v: Option<&f32>| f64::from(v.copied().unwrap_or(0.0)).max(1e-300).ln();
                    f(p.get(1)) - f(p.first())
                })
                .collect(),
        }
    }

    /// The predicted class of each standardised row.
    pub(crate) fn classes_of(&self, x: &[f64], classes: usize) -> Vec<usize> {
        self.probabilities(x)
            .chunks_exact(classes.max(1))
            .map(|p| mlsec_model::argmax(p).unwrap_or(0))
            .collect()
    }
}

/// A one-hidden-layer perceptron trained by full-batch Adam.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// Hidden ReLU units (default 64).
    pub hidden: usize,
    /// Adam steps over the whole training set (default 400).
    pub steps: usize,
    /// Adam's step size (default 0.01; β1 0.9, β2 0.999, ε 1e-8).
    pub learning_rate: f64,
    /// L2 penalty on the weights, added to the mean loss as
    /// `l2 / 2 · ‖W‖²` (default 0: shadows should memorise as an overfit
    /// model does).
    pub l2: f64,
}

impl Default for Mlp {
    fn default() -> Self {
        Mlp {
            hidden: 64,
            steps: 400,
            learning_rate: 0.01,
            l2: 0.0,
        }
    }
}

/// Fitted weights: `w1` is `hidden × d`, `w2` is `classes × hidden`, row
/// after row, all in one vector (w1, b1, w2, b2) so Adam runs over one slice.
#[derive(Debug, Clone)]
pub(crate) struct MlpModel {
    d: usize,
    hidden: usize,
    classes: usize,
    params: Vec<f64>,
}

/// The four parameter blocks of one flat vector.
struct Blocks<'a> {
    w1: &'a [f64],
    b1: &'a [f64],
    w2: &'a [f64],
    b2: &'a [f64],
}

fn blocks(params: &[f64], d: usize, hidden: usize, classes: usize) -> Option<Blocks<'_>> {
    let (w1, rest) = params.split_at_checked(hidden * d)?;
    let (b1, rest) = rest.split_at_checked(hidden)?;
    let (w2, b2) = rest.split_at_checked(classes * hidden)?;
    Some(Blocks { w1, b1, w2, b2 })
}

struct BlocksMut<'a> {
    w1: &'a mut [f64],
    b1: &'a mut [f64],
    w2: &'a mut [f64],
    b2: &'a mut [f64],
}

fn blocks_mut(
    params: &mut [f64],
    d: usize,
    hidden: usize,
    classes: usize,
) -> Option<BlocksMut<'_>> {
    let (w1, rest) = params.split_at_mut_checked(hidden * d)?;
    let (b1, rest) = rest.split_at_mut_checked(hidden)?;
    let (w2, b2) = rest.split_at_mut_checked(classes * hidden)?;
    Some(BlocksMut { w1, b1, w2, b2 })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Softmax of `z` in place.
fn softmax(z: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 && sum.is_finite() {
        z.iter_mut().for_each(|v| *v /= sum);
    }
}

impl Blocks<'_> {
    /// Hidden activations and output logits of one row.
    fn forward(&self, x: &[f64], d: usize, hidden: &mut [f64], logits: &mut [f64]) {
        let h = hidden.len().max(1);
        for ((a, w), b) in hidden.iter_mut().zip(self.w1.chunks_exact(d)).zip(self.b1) {
            *a = (dot(w, x) + b).max(0.0);
        }
        for ((z, w), b) in logits.iter_mut().zip(self.w2.chunks_exact(h)).zip(self.b2) {
            *z = dot(w, hidden) + b;
        }
    }
}

impl Mlp {
    fn fit(&self, x: &[f64], d: usize, labels: &[usize], classes: usize, seed: u64) -> MlpModel {
        let hidden = self.hidden;
        let len = hidden * d + hidden + classes * hidden + classes;
        let mut params = vec![0.0; len];
        let mut rng = Rng::for_row(seed, 0x4D4C_5031);
        if let Some(b) = blocks_mut(&mut params, d, hidden, classes) {
            // He-normal for the ReLU layer, Glorot-like for the output.
            let s1 = (2.0 / d as f64).sqrt();
            b.w1.iter_mut().for_each(|w| *w = rng.normal() * s1);
            let s2 = (1.0 / hidden as f64).sqrt();
            b.w2.iter_mut().for_each(|w| *w = rng.normal() * s2);
        }
        let mut grad = vec![0.0; len];
        let mut m1 = vec![0.0; len];
        let mut m2 = vec![0.0; len];
        let mut act = vec![0.0; hidden];
        let mut z = vec![0.0; classes];
        let mut dh = vec![0.0; hidden];
        let n = labels.len() as f64;
        let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8);
        for step in 1..=self.steps {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let (Some(p), Some(g)) = (
                blocks(&params, d, hidden, classes),
                blocks_mut(&mut grad, d, hidden, classes),
            ) else {
                break;
            };
            for (row, &y) in x.chunks_exact(d).zip(labels) {
                p.forward(row, d, &mut act, &mut z);
                softmax(&mut z);
                // dLoss/dlogit = p - onehot(y).
                if let Some(zy) = z.get_mut(y) {
                    *zy -= 1.0;
                }
                dh.iter_mut().for_each(|v| *v = 0.0);
                for ((dz, gw), (gb, w)) in z
                    .iter()
                    .zip(g.w2.chunks_exact_mut(hidden))
                    .zip(g.b2.iter_mut().zip(p.w2.chunks_exact(hidden)))
                {
                    *gb += dz;
                    for ((gwj, a), (dhj, wj)) in gw.iter_mut().zip(&act).zip(dh.iter_mut().zip(w)) {
                        *gwj += dz * a;
                        *dhj += dz * wj;
                    }
                }
                for (((dhj, a), gw), gb) in dh
                    .iter()
                    .zip(&act)
                    .zip(g.w1.chunks_exact_mut(d))
                    .zip(g.b1.iter_mut())
                {
                    if *a > 0.0 {
                        *gb += dhj;
                        for (gwi, xi) in gw.iter_mut().zip(row) {
                            *gwi += dhj * xi;
                        }
                    }
                }
            }
            grad.iter_mut().for_each(|v| *v /= n);
            if self.l2 > 0.0 {
                if let (Some(g), Some(p)) = (
                    blocks_mut(&mut grad, d, hidden, classes),
                    blocks(&params, d, hidden, classes),
                ) {
                    for (gv, w) in g.w1.iter_mut().zip(p.w1).chain(g.w2.iter_mut().zip(p.w2)) {
                        *gv += self.l2 * w;
                    }
                }
            }
            let t = i32::try_from(step).unwrap_or(i32::MAX);
            let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
            for (((w, g), a), b) in params
                .iter_mut()
                .zip(&grad)
                .zip(m1.iter_mut())
                .zip(m2.iter_mut())
            {
                *a = beta1 * *a + (1.0 - beta1) * g;
                *b = beta2 * *b + (1.0 - beta2) * g * g;
                *w -= self.learning_rate * (*a / c1) / ((*b / c2).sqrt() + eps);
            }
        }
        MlpModel {
            d,
            hidden,
            classes,
            params,
        }
    }
}

impl MlpModel {
    fn logits(&self, x: &[f64]) -> Vec<f64> {
        let (d, k) = (self.d.max(1), self.classes);
        let mut out = Vec::with_capacity(x.len() / d * k);
        let Some(p) = blocks(&self.params, self.d, self.hidden, k) else {
            return vec![0.0; x.len() / d * k];
        };
        let mut act = vec![0.0; self.hidden];
        let mut z = vec![0.0; k];
        for row in x.chunks_exact(d) {
            p.forward(row, d, &mut act, &mut z);
            out.extend_from_slice(&z);
        }
        out
    }

    fn probabilities(&self, x: &[f64]) -> Vec<f32> {
        let (d, k) = (self.d.max(1), self.classes);
        let mut out = Vec::with_capacity(x.len() / d * k);
        let Some(p) = blocks(&self.params, self.d, self.hidden, k) else {
            return vec![1.0 / k.max(1) as f32; x.len() / d * k];
        };
        let mut act = vec![0.0; self.hidden];
        let mut z = vec![0.0; k];
        for row in x.chunks_exact(d) {
            p.forward(row, d, &mut act, &mut z);
            softmax(&mut z);
            out.extend(z.iter().map(|&v| v as f32));
        }
        out
    }
}

/// Standardises features: each column centred and divided by its
/// population standard deviation (1 for a constant column), as
/// scikit-learn's `StandardScaler`.
#[derive(Debug, Clone)]
pub(crate) struct Scaler {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Scaler {
    /// Fitted on rows of `d` features, row after row.
    pub(crate) fn fit<'a>(rows: impl Iterator<Item = &'a [f32]>, d: usize) -> Scaler {
        let mut n = 0.0;
        let mut sum = vec![0.0f64; d];
        let mut sq = vec![0.0f64; d];
        let rows: Vec<&[f32]> = rows.collect();
        for r in &rows {
            n += 1.0;
            for (s, &v) in sum.iter_mut().zip(r.iter()) {
                *s += f64::from(v);
            }
        }
        let mean: Vec<f64> = sum
            .iter()
            .map(|s| if n > 0.0 { s / n } else { 0.0 })
            .collect();
        for r in &rows {
            for ((q, &v), m) in sq.iter_mut().zip(r.iter()).zip(&mean) {
                let c = f64::from(v) - m;
                *q += c * c;
            }
        }
        let scale = sq
            .iter()
            .map(|q| {
                let sd = if n > 0.0 { (q / n).sqrt() } else { 0.0 };
                if sd > 0.0 && sd.is_finite() {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Scaler { mean, scale }
    }

    /// `rows` (float32, `d` per row) standardised.
    pub(crate) fn apply(&self, rows: &[f32]) -> Vec<f64> {
        let d = self.mean.len().max(1);
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.chunks_exact(d) {
            for ((&v, m), s) in r.iter().zip(&self.mean).zip(&self.scale) {
                let z = (f64::from(v) - m) / s;
                out.push(if z.is_finite() { z } else { 0.0 });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Gaussian blobs in 2 features, labels 0/1, plus a row of each
    /// class placed inside the other blob (memorisable only).
    fn blobs(n: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
        let mut rng = Rng::for_row(seed, 1);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = i % 2;
            let centre = if c == 0 { -1.5 } else { 1.5 };
            x.push(centre + rng.normal());
            x.push(centre + rng.normal());
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn mlp_fits_its_training_rows_and_is_deterministic() {
        let (x, y) = blobs(200, 3);
        let learner = Learner::Mlp(Mlp {
            steps: 300,
            hidden: 32,
            ..Mlp::default()
        });
        let a = learner.fit(&x, 2, &y, 2, 7).unwrap();
        let pred = a.classes_of(&x, 2);
        let right = pred.iter().zip(&y).filter(|(p, y)| p == y).count();
        assert!(right >= 190, "{right} of 200 training rows right");
        let b = learner.fit(&x, 2, &y, 2, 7).unwrap();
        assert_eq!(a.probabilities(&x), b.probabilities(&x));
        let c = learner.fit(&x, 2, &y, 2, 8).unwrap();
        assert_ne!(a.probabilities(&x), c.probabilities(&x));
        // A class never seen gets little probability.
        let three = learner.fit(&x, 2, &y, 3, 7).unwrap();
        let p = three.probabilities(&x);
        assert!(p.chunks(3).all(|r| r[2] < 0.05));
    }

    #[test]
    fn logistic_learner_and_empty_input() {
        let (x, y) = blobs(100, 4);
        let lr = Learner::Logistic { c: 1.0 };
        let f = lr.fit(&x, 2, &y, 2, 0).unwrap();
        let right = f
            .classes_of(&x, 2)
            .iter()
            .zip(&y)
            .filter(|(p, y)| p == y)
            .count();
        assert!(right >= 85);
        assert!(lr.fit(&[], 2, &[], 2, 0).is_none());
        assert!(Learner::default().fit(&x, 2, &y[1..], 2, 0).is_none());
        assert!(Learner::Logistic { c: 0.0 }.check().is_err());
    }

    #[test]
    fn scaler_standardises_and_survives_constant_columns() {
        let rows: Vec<f32> = vec![1.0, 5.0, 3.0, 5.0];
        let s = Scaler::fit(rows.chunks_exact(2), 2);
        assert_eq!(s.apply(&rows), vec![-1.0, 0.0, 1.0, 0.0]);
    }
}
