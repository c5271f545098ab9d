//! NES: projected gradient descent on a gradient estimated from queries
//! (Ilyas, Engstrom, Athalye and Lin, "Black-box Adversarial Attacks with
//! Limited Queries and Information", ICML 2018; the estimator is that of
//! Natural Evolution Strategies, Wierstra et al. 2014).
//!
//! # The paper's algorithm, and what is chosen here
//!
//! The paper's query-limited attack, Algorithm 1 (the NES estimate) inside
//! projected gradient descent:
//!
//! - **Loss.** The margin loss of [`super::Goal::margin`], on the logarithms
//!   of the scores when they are positive (as in [`super::square`]): for
//!   probabilities, the margin of the logits. (The paper follows the
//!   target class's log-probability; the margin also serves untargeted
//!   attacks, and reaches 0 exactly where the goal is met.)
//! - **Estimate.** `n = 2 * pairs` samples around the current row `x`:
//!   `x + sigma * u_i` and `x - sigma * u_i` for `pairs` draws `u_i` of a
//!   standard normal vector (antithetic sampling, as in the paper), and the
//!   gradient `g = sum_i (L(x + sigma u_i) - L(x - sigma u_i)) u_i` (the
//!   paper's `1 / (2 n sigma)` factor does not matter: the step reads only
//!   the direction). `pairs = min(25, max(2, d), max(1, budget / 20))` for
//!   `d` features: the paper's `n = 50`, fewer for a short row (a row of
//!   `d` features needs about `d` samples) or a small budget (at least
//!   about ten steps). All samples, and `x` itself, go to the model in one
//!   [`super::Oracle::scores`] call, `2 * pairs + 1` queries per step.
//! - **sigma.** `eps / 10`, within [0.001, 0.01] (the paper's 0.001 on
//!   [0, 1] pixels): small enough to read the slope near `x`, large enough
//!   to move `f32` scores. Where every sample scores the same (trees are
//!   flat at small scales) sigma doubles, up to `eps`, and no step is taken.
//! - **Step.** L-inf: `x - eta * sign(g)`; L2: `x - eta * g / |g|`, with
//!   `eta = eps / 4`: four steps cross the ball.
//! - **Projection.** After every step, and for every sample, the row is
//!   clipped to the ball around the original ([`super::Norm::clip_to_ball`])
//!   and then made a valid input ([`super::Oracle::project`]).
//!
//! The search starts at the original row and stops when a queried row (a
//! sample or `x`) meets the goal inside the ball, or when the budget cannot
//! pay for another step (the last queries go to a smaller estimate, and at
//! the very end to `x` alone).
//!
//! # Constraints
//!
//! The normal draws are 0 on features that cannot move by `eps` alone
//! (immutable, of range 0, one-hot, whole numbers that round back). Samples
//! of size sigma on a whole-number feature round back to the original, so
//! the estimate sees no slope there; it can still move when a step is large
//! enough to round to the next whole number.

use super::square::{start, Answer, Start};
use super::{AttackError, Norm, Oracle, Outcome, Settings, Task};
use crate::rng::Rng;

/// The most antithetic pairs per estimate (the paper's 50 samples).
pub const MAX_PAIRS: usize = 25;

pub fn run(
    oracle: &Oracle,
    task: &Task,
    settings: &Settings,
    rng: &mut Rng,
) -> Result<Outcome, AttackError> {
    let ctx = match start(oracle, task, settings)? {
        Start::Done(outcome) => return Ok(outcome),
        Start::Go(ctx, _) => ctx,
    };
    let d = task.x.len();
    let mut movable = vec![false; d];
    for r in ctx.reach() {
        if let Some(m) = movable.get_mut(r.feature) {
            *m = true;
        }
    }
    if !movable.contains(&true) {
        return Ok(ctx.missed());
    }
    let eps = settings.eps;
    let pairs = MAX_PAIRS.min(d.max(2)).min((settings.budget / 20).max(1));
    let mut sigma = (eps / 10.0).clamp(1e-3, 1e-2).min(eps);
    let eta = eps / 4.0;

    let mut x = task.x.to_vec();
    // Whether `x` has moved since it was last queried (the original row
    // was, first).
    let mut moved = false;
    let mut noise = vec![0.0f32; pairs * d];
    let mut rows: Vec<f32> = Vec::with_capacity((2 * pairs + 1) * d);

    while oracle.remaining() > 0 {
        let ask_x = moved;
        let left = oracle.remaining() - usize::from(ask_x);
        let now = pairs.min(left / 2);
        rows.clear();
        if ask_x {
            rows.extend_from_slice(&x);
        }
        for u in noise.chunks_exact_mut(d).take(now) {
            for (v, &m) in u.iter_mut().zip(&movable) {
                *v = if m { rng.normal() as f32 } else { 0.0 };
            }
            for sign in [1.0f32, -1.0] {
                let at = rows.len();
                rows.extend(x.iter().zip(u.iter()).map(|(a, b)| a + sign * sigma * b));
                if let Some(sample) = rows.get_mut(at..) {
                    ctx.settle(sample);
                }
            }
        }
        if rows.is_empty() {
            break;
        }
        let losses = match ctx.ask(&rows)? {
            Answer::Hit(j) => {
                let row = rows.chunks_exact(d).nth(j).map(<[f32]>::to_vec);
                return Ok(match row {
                    Some(row) => ctx.found(row),
                    None => ctx.missed(),
                });
            }
            Answer::Losses(l) => l,
        };
        if losses.len() < rows.len() / d || now == 0 {
            // The budget ran out (or has no room for a pair).
            break;
        }
        let samples = losses.get(usize::from(ask_x)..).unwrap_or(&[]);
        moved = false;

        let mut grad = vec![0.0f32; d];
        let mut flat = true;
        for (pair, u) in samples.chunks_exact(2).zip(noise.chunks_exact(d)) {
            if let &[plus, minus] = pair {
                let diff = plus - minus;
                if diff != 0.0 {
                    flat = false;
                }
                for (g, b) in grad.iter_mut().zip(u) {
                    *g += diff * b;
                }
            }
        }
        if flat || grad.iter().any(|g| !g.is_finite()) {
            // Nothing to follow at this scale: look further next time; `x`
            // stays.
            sigma = (sigma * 2.0).min(eps);
            continue;
        }
        match settings.norm {
            Norm::Linf => {
                for (v, g) in x.iter_mut().zip(&grad) {
                    if *g > 0.0 {
                        *v -= eta;
                    } else if *g < 0.0 {
                        *v += eta;
                    }
                }
            }
            Norm::L2 => {
                let len = grad.iter().map(|g| g * g).sum::<f32>().sqrt();
                if len > 0.0 {
                    for (v, g) in x.iter_mut().zip(&grad) {
                        *v -= eta * g / len;
                    }
                }
            }
        }
        ctx.settle(&mut x);
        moved = true;
    }
    Ok(ctx.missed())
}

#[cfg(test)]
mod tests {
    use super::super::square::testkit;
    use super::super::{toy::Linear, Constraints, Goal};
    use super::*;

    #[test]
    fn nes_flips_the_diagonal_linf() {
        testkit::diagonal(run, Norm::Linf);
    }

    #[test]
    fn nes_flips_the_diagonal_l2() {
        testkit::diagonal(run, Norm::L2);
    }

    #[test]
    fn nes_edges() {
        testkit::edges(run, Norm::Linf);
        testkit::edges(run, Norm::L2);
    }

    #[test]
    fn nes_respects_immutable_features() {
        testkit::immutable(run, Norm::Linf);
        testkit::immutable(run, Norm::L2);
    }

    #[test]
    fn nes_targeted_three_classes() {
        testkit::targeted(run, Norm::Linf);
        testkit::targeted(run, Norm::L2);
    }

    #[test]
    fn nes_success_rises_with_eps_linf() {
        testkit::rises_with_eps(run, Norm::Linf, &[0.02, 0.05, 0.1, 0.2], 500, 0.85);
    }

    #[test]
    fn nes_success_rises_with_eps_l2() {
        testkit::rises_with_eps(run, Norm::L2, &[0.1, 0.25, 0.5, 1.0], 500, 0.85);
    }

    /// Each step asks the model once, for `x` and all its samples; a failed
    /// run spends the budget (all but at most one query).
    #[test]
    fn nes_batches_each_estimate() {
        use mlsec_model::{Model, ModelError, Output};
        use std::sync::atomic::{AtomicUsize, Ordering};

        struct Counting(Linear, AtomicUsize);
        impl Model for Counting {
            fn name(&self) -> &str {
                "counting"
            }
            fn features(&self) -> usize {
                self.0.features()
            }
            fn classes(&self) -> &[String] {
                self.0.classes()
            }
            fn output(&self) -> Output {
                self.0.output()
            }
            fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
                self.1.fetch_add(1, Ordering::Relaxed);
                self.0.predict(rows)
            }
        }

        let model = Counting(Linear::diagonal(), AtomicUsize::new(0));
        let (lower, range, none) = (vec![0.0; 2], vec![1.0; 2], Constraints::default());
        let budget = 200;
        let oracle = Oracle::new(&model, &lower, &range, &none, budget);
        let x = [0.4, 0.4];
        let task = Task {
            x: &x,
            goal: Goal {
                label: 0,
                target: None,
            },
            starts: &[],
        };
        let settings = Settings {
            norm: Norm::Linf,
            eps: 0.05,
            budget,
        };
        let out = run(&oracle, &task, &settings, &mut Rng::for_row(1, 1)).unwrap();
        assert_eq!(out.adversarial, None);
        assert!(out.queries <= budget, "{} queries", out.queries);
        // Two features: 2 pairs, 5 rows a step (4 on the first, when the
        // original row's answer is known), after the original row alone:
        // one call per estimate (fewer when its rows are all cached).
        let calls = model.1.load(Ordering::Relaxed);
        assert!(
            calls <= 2 + oracle.asked() / 4,
            "{calls} calls for {} rows asked",
            oracle.asked()
        );
        assert!(calls > 10, "{calls} calls");
    }

    /// A flat model (a step function read as probabilities): sigma grows
    /// until the samples see the step, and the attack still finds it.
    #[test]
    fn nes_widens_sigma_on_flat_scores() {
        use mlsec_model::Output;
        // Labels: one-hot scores, flat everywhere but at the line.
        let model = Linear {
            output: Output::Labels,
            ..Linear::diagonal()
        };
        let none = Constraints::default();
        let goal = Goal {
            label: 0,
            target: None,
        };
        let out = testkit::attack(
            run,
            &model,
            &[0.45, 0.45],
            goal,
            Norm::Linf,
            0.15,
            300,
            &none,
            2,
        );
        assert!(out.adversarial.is_some(), "{out:?}");
    }
}
