//! Boundary Attack (Brendel, Rauber and Bethge, "Decision-Based Adversarial
//! Attacks: Reliable Attacks Against Black-Box Machine Learning Models",
//! ICLR 2018): a random walk along the decision boundary, from an
//! adversarial row towards the original, reading labels only.
//!
//! The walk minimises the L2 distance, as in the paper; the row returned is
//! the closest in the run's norm of all queried rows that met the goal, and
//! the attack stops once that distance is at most `eps`, when the budget is
//! spent, or when the source step has shrunk below `1e-6` (converged, as the
//! paper's criterion: the step towards the original goes to zero).
//!
//! It begins like HopSkipJump (a start from `task.starts` or uniform random
//! rows, see [`super::hsj`]) and binary-searches along the segment to the
//! original, to 0.001 of the distance. Then each round, from the current row
//! `x` at distance `dist` from the original `x*`, makes 8 proposals, each the
//! paper's two steps:
//!
//! 1. Orthogonal step: a Gaussian direction with its component along
//!    `x* - x` removed, scaled to `delta dist`, added to `x`, and the result
//!    moved radially back onto the sphere of radius `dist` around `x*` (then
//!    projected onto valid rows). The spherical step `delta` starts at 0.01.
//! 2. Step towards the original: the orthogonal candidate moved by `epsilon`
//!    of its distance towards `x*` (then projected). The source step
//!    `epsilon` starts at 0.01.
//!
//! The 8 orthogonal candidates are queried in one batch; the source steps of
//! those that met the goal in a second (the paper tests the orthogonal step
//! first and takes the step towards the original only from one that is still
//! adversarial). The walk moves to the closest source step that met the goal,
//! if it is closer than `x`.
//!
//! Step sizes adapt to success rates over recent trials, as in the paper
//! (inspired by trust regions): after 20 orthogonal trials, `delta` grows by
//! 1.5 when more than half stayed adversarial (the boundary looks locally
//! flat at that scale; the paper aims for about 50%) and shrinks by 1.5 when
//! fewer than a fifth did; after 10 source steps, `epsilon` grows by 1.5 when
//! more than half met the goal and shrinks by 1.5 when fewer than a fifth
//! did. `delta` stays at most 1 and `epsilon` at most 0.5.

use super::hsj::{adversarial, begin, nothing, original, to_boundary, unit_normal, Begin, Best};
use super::{AttackError, Norm, Oracle, Outcome, Settings, Task};
use crate::rng::Rng;

/// The spherical (orthogonal) step at the start, a share of the distance.
const SPHERICAL_STEP: f32 = 0.01;
/// The step towards the original at the start, a share of the distance.
const SOURCE_STEP: f32 = 0.01;
/// The factor a step size grows or shrinks by.
const ADAPT: f32 = 1.5;
/// The largest spherical step.
const SPHERICAL_MAX: f32 = 1.0;
/// The largest source step.
const SOURCE_MAX: f32 = 0.5;
/// Below this source step the walk has converged.
const CONVERGED: f32 = 1e-6;
/// Proposals per round (their orthogonal steps are queried together).
const PROPOSALS: usize = 8;
/// Orthogonal trials between adaptations of the spherical step.
const SPHERICAL_WINDOW: usize = 20;
/// Source-step trials between adaptations of the source step.
const SOURCE_WINDOW: usize = 10;
/// Success rates above which a step grows, and below which it shrinks.
const GROW_ABOVE: f32 = 0.5;
const SHRINK_BELOW: f32 = 0.2;
/// Tolerance of the first binary search, a share of the distance.
const SEARCH_TOL: f32 = 1e-3;

pub fn run(
    oracle: &Oracle,
    task: &Task,
    settings: &Settings,
    rng: &mut Rng,
) -> Result<Outcome, AttackError> {
    let start = match begin(oracle, task, rng)? {
        Begin::Original => return Ok(original(oracle, task)),
        Begin::Nothing => return Ok(nothing(oracle)),
        Begin::From(row) => row,
    };
    let mut best = Best::new(task.x, settings.norm, start.clone());
    let mut x = to_boundary(oracle, task, &start, Norm::L2, SEARCH_TOL)?;
    best.offer(&x);

    let d = x.len();
    let mut spherical = Window::new(SPHERICAL_STEP, SPHERICAL_WINDOW, SPHERICAL_MAX);
    let mut source = Window::new(SOURCE_STEP, SOURCE_WINDOW, SOURCE_MAX);
    while best.distance > settings.eps && oracle.remaining() > 0 && source.step >= CONVERGED {
        let dist = Norm::L2.distance(task.x, &x);
        if dist.is_nan() || dist <= 0.0 || d == 0 {
            break;
        }
        // Orthogonal steps, on the sphere of radius `dist` around x*.
        let mut rows = Vec::with_capacity(PROPOSALS * d);
        for _ in 0..PROPOSALS {
            let at = rows.len();
            rows.extend(orthogonal(task.x, &x, dist, spherical.step, rng));
            if let Some(row) = rows.get_mut(at..) {
                oracle.project(task.x, row);
            }
        }
        let met = adversarial(oracle, &task.goal, &rows)?;
        // Steps towards the original from the orthogonal candidates that
        // stayed adversarial.
        let mut sources = Vec::new();
        for (row, &m) in rows.chunks_exact(d).zip(&met) {
            spherical.record(m);
            if m {
                best.offer(row);
                let at = sources.len();
                sources.extend(
                    row.iter()
                        .zip(task.x)
                        .map(|(&r, &c)| r + source.step * (c - r)),
                );
                if let Some(s) = sources.get_mut(at..) {
                    oracle.project(task.x, s);
                }
            }
        }
        if !sources.is_empty() {
            let met = adversarial(oracle, &task.goal, &sources)?;
            let mut nearest = dist;
            let mut next = None;
            for (row, &m) in sources.chunks_exact(d).zip(&met) {
                source.record(m);
                if m {
                    best.offer(row);
                    let r = Norm::L2.distance(task.x, row);
                    if r < nearest {
                        nearest = r;
                        next = Some(row);
                    }
                }
            }
            if let Some(row) = next {
                x.copy_from_slice(row);
            }
        }
        spherical.adapt();
        source.adapt();
    }
    Ok(best.outcome(oracle))
}

/// The orthogonal step from `x`: a random direction perpendicular to
/// `x0 - x`, of length `delta dist`, then back onto the sphere of radius
/// `dist` around `x0`.
fn orthogonal(x0: &[f32], x: &[f32], dist: f32, delta: f32, rng: &mut Rng) -> Vec<f32> {
    let mut eta = unit_normal(rng, x.len());
    // Remove the component along the direction to the original.
    let along: f32 = eta
        .iter()
        .zip(x.iter().zip(x0))
        .map(|(&e, (&a, &c))| e * (c - a) / dist)
        .sum();
    for (e, (&a, &c)) in eta.iter_mut().zip(x.iter().zip(x0)) {
        *e -= along * (c - a) / dist;
    }
    let length = eta.iter().map(|e| e * e).sum::<f32>().sqrt();
    let scale = if length > 0.0 {
        delta * dist / length
    } else {
        0.0
    };
    let moved: Vec<f32> = x.iter().zip(&eta).map(|(&a, &e)| a + scale * e).collect();
    let radius = Norm::L2.distance(x0, &moved);
    let back = if radius > 0.0 { dist / radius } else { 1.0 };
    moved
        .iter()
        .zip(x0)
        .map(|(&m, &c)| c + (m - c) * back)
        .collect()
}

/// A step size adapted to the success rate of its recent trials.
struct Window {
    step: f32,
    max: f32,
    size: usize,
    trials: usize,
    successes: usize,
}

impl Window {
    fn new(step: f32, size: usize, max: f32) -> Window {
        Window {
            step,
            max,
            size,
            trials: 0,
            successes: 0,
        }
    }

    fn record(&mut self, success: bool) {
        self.trials += 1;
        self.successes += usize::from(success);
    }

    /// Once the window is full: grows the step when most trials succeed,
    /// shrinks it when few do, and starts a new window.
    fn adapt(&mut self) {
        if self.trials < self.size {
            return;
        }
        let rate = self.successes as f32 / self.trials as f32;
        if rate > GROW_ABOVE {
            self.step = (self.step * ADAPT).min(self.max);
        } else if rate < SHRINK_BELOW {
            self.step /= ADAPT;
        }
        self.trials = 0;
        self.successes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::toy::Linear;
    use crate::attack::Constraints;

    use crate::attack::decision_kit::{self, diagonal, halfspace20, within, L2_MIN, X};

    /// The shared harness, running this attack.
    #[allow(clippy::too_many_arguments)]
    fn attack(
        model: &Linear,
        constraints: &Constraints,
        x: &[f32],
        starts: &[Vec<f32>],
        norm: Norm,
        eps: f32,
        budget: usize,
        seed: u64,
    ) -> Outcome {
        decision_kit::attack(run, model, constraints, x, starts, norm, eps, budget, seed)
    }

    /// As [`attack`], for features from 0 to `range`.
    #[allow(clippy::too_many_arguments)]
    fn attack_in(
        model: &Linear,
        constraints: &Constraints,
        range: &[f32],
        x: &[f32],
        starts: &[Vec<f32>],
        norm: Norm,
        eps: f32,
        budget: usize,
        seed: u64,
    ) -> Outcome {
        decision_kit::attack_in(
            run,
            model,
            constraints,
            range,
            x,
            starts,
            norm,
            eps,
            budget,
            seed,
        )
    }

    #[test]
    fn l2_approaches_the_minimum_on_the_diagonal() {
        let starts = vec![vec![0.9, 0.9], vec![1.0, 1.0]];
        let out = attack(
            &diagonal(),
            &Constraints::default(),
            &X,
            &starts,
            Norm::L2,
            0.0,
            2000,
            1,
        );
        let found = out.distance.unwrap();
        assert!(within(found, L2_MIN, 0.05), "{found}");
    }

    #[test]
    fn l2_approaches_the_minimum_from_an_off_axis_start() {
        // The first binary search lands far from the nearest point
        // (0.5, 0.5): the gradient steps must walk along the boundary.
        let starts = vec![vec![1.0, 0.05]];
        let out = attack(
            &diagonal(),
            &Constraints::default(),
            &X,
            &starts,
            Norm::L2,
            0.0,
            2000,
            2,
        );
        let found = out.distance.unwrap();
        assert!(within(found, L2_MIN, 0.05), "{found}");
    }

    #[test]
    fn linf_approaches_the_minimum_on_the_diagonal() {
        for (seed, start) in [(3, vec![0.9, 0.9]), (4, vec![1.0, 0.05])] {
            let starts = vec![start];
            let out = attack(
                &diagonal(),
                &Constraints::default(),
                &X,
                &starts,
                Norm::Linf,
                0.0,
                2000,
                seed,
            );
            let found = out.distance.unwrap();
            assert!(within(found, 0.2, 0.05), "{found}");
        }
    }

    #[test]
    fn random_rows_start_it_when_there_are_no_starts() {
        for (seed, norm, best) in [(5, Norm::L2, L2_MIN), (6, Norm::Linf, 0.2)] {
            let out = attack(
                &diagonal(),
                &Constraints::default(),
                &X,
                &[],
                norm,
                0.0,
                2000,
                seed,
            );
            let found = out.distance.unwrap();
            assert!(within(found, best, 0.05), "{norm:?}: {found}");
        }
    }

    #[test]
    fn a_start_that_is_not_adversarial_is_passed_over() {
        let starts = vec![vec![0.1, 0.1], vec![0.9, 0.9]];
        let out = attack(
            &diagonal(),
            &Constraints::default(),
            &X,
            &starts,
            Norm::L2,
            0.0,
            500,
            7,
        );
        assert!(within(out.distance.unwrap(), L2_MIN, 0.05));
    }

    #[test]
    fn the_same_seed_gives_the_same_outcome() {
        let one = attack(
            &diagonal(),
            &Constraints::default(),
            &X,
            &[],
            Norm::L2,
            0.0,
            1000,
            8,
        );
        let two = attack(
            &diagonal(),
            &Constraints::default(),
            &X,
            &[],
            Norm::L2,
            0.0,
            1000,
            8,
        );
        assert_eq!(one, two);
        let other = attack(
            &diagonal(),
            &Constraints::default(),
            &X,
            &[],
            Norm::L2,
            0.0,
            1000,
            9,
        );
        assert_ne!(one.adversarial, other.adversarial);
    }

    #[test]
    fn it_stops_once_within_eps() {
        let starts = vec![vec![1.0, 0.05]];
        let full = attack(
            &diagonal(),
            &Constraints::default(),
            &X,
            &starts,
            Norm::L2,
            0.0,
            2000,
            10,
        );
        let early = attack(
            &diagonal(),
            &Constraints::default(),
            &X,
            &starts,
            Norm::L2,
            0.35,
            2000,
            10,
        );
        assert!(early.success_within(0.35), "{early:?}");
        assert!(within(full.distance.unwrap(), L2_MIN, 0.05));
        assert!(
            early.queries * 2 < full.queries,
            "{} and {} queries",
            early.queries,
            full.queries
        );
    }

    #[test]
    fn immutable_features_stay_and_the_minimum_is_along_the_others() {
        let constraints = Constraints {
            immutable: vec![1],
            ..Constraints::default()
        };
        for (seed, norm) in [(11, Norm::L2), (12, Norm::Linf)] {
            for starts in [vec![vec![0.9, 0.9]], vec![]] {
                let out = attack(
                    &diagonal(),
                    &constraints,
                    &X,
                    &starts,
                    norm,
                    0.0,
                    2000,
                    seed,
                );
                let adv = out.adversarial.unwrap();
                assert_eq!(adv[1], 0.3);
                let found = out.distance.unwrap();
                assert!(within(found, 0.4, 0.05), "{norm:?}: {found}");
            }
        }
    }

    #[test]
    fn integer_features_stay_whole() {
        // Features from 0 to 10, the first whole numbers; class 1 where
        // x0 + x1 > 10. The nearest such row to (3, 3) is (5, 5+).
        let model = Linear::halfspace(vec![1.0, 1.0], -10.0);
        let constraints = Constraints {
            integer: vec![0],
            ..Constraints::default()
        };
        let range = [10.0, 10.0];
        for (seed, norm, best) in [(20, Norm::L2, L2_MIN), (21, Norm::Linf, 0.2)] {
            for starts in [vec![vec![0.9, 0.9]], vec![]] {
                let out = attack_in(
                    &model,
                    &constraints,
                    &range,
                    &X,
                    &starts,
                    norm,
                    0.0,
                    2000,
                    seed,
                );
                let adv = out.adversarial.unwrap();
                let whole = adv[0] * 10.0;
                assert!((whole - whole.round()).abs() < 1e-4, "{adv:?}");
                let found = out.distance.unwrap();
                assert!(within(found, best, 0.05), "{norm:?}: {found}");
            }
        }
    }

    #[test]
    fn an_adversarial_original_costs_one_query() {
        let x = [0.8, 0.8];
        let out = attack(
            &diagonal(),
            &Constraints::default(),
            &x,
            &[],
            Norm::L2,
            0.0,
            2000,
            13,
        );
        // The goal is "not class 0", and the model gives x class 1.
        assert_eq!(out.distance, Some(0.0));
        assert_eq!(out.queries, 1);
    }

    #[test]
    fn no_adversarial_row_is_a_failure_within_a_few_queries() {
        // Class 0 everywhere in [0, 1]^2.
        let model = Linear::halfspace(vec![1.0, 1.0], -10.0);
        let out = attack(
            &model,
            &Constraints::default(),
            &X,
            &[vec![0.9, 0.9]],
            Norm::L2,
            0.0,
            2000,
            14,
        );
        assert_eq!(out.adversarial, None);
        assert_eq!(out.distance, None);
        // The original, the start, then at most 100 random rows.
        assert!(out.queries <= 1 + 1 + 100, "{} queries", out.queries);
    }

    #[test]
    fn a_small_budget_is_kept() {
        for budget in [0, 1, 2, 5, 30, 150] {
            let out = attack(
                &diagonal(),
                &Constraints::default(),
                &X,
                &[vec![1.0, 0.05]],
                Norm::L2,
                0.0,
                budget,
                15,
            );
            assert!(out.queries <= budget);
            assert_eq!(out.adversarial.is_some(), budget >= 2);
        }
    }

    #[test]
    fn l2_approaches_the_distance_to_a_random_hyperplane_in_20_features() {
        for seed in [16, 17] {
            let (model, x, starts, l2, _) = halfspace20(seed);
            let out = attack(
                &model,
                &Constraints::default(),
                &x,
                &starts,
                Norm::L2,
                0.0,
                3000,
                seed,
            );
            let found = out.distance.unwrap();
            assert!(within(found, l2, 0.05), "seed {seed}: {found} against {l2}");
        }
    }

    #[test]
    fn linf_runs_walk_in_l2_and_report_linf() {
        // The walk approaches the L2-nearest point; the closest row in L-inf
        // it met lies between the L-inf minimum and the L2 minimum.
        for seed in [18, 19] {
            let (model, x, starts, l2, linf) = halfspace20(seed);
            let out = attack(
                &model,
                &Constraints::default(),
                &x,
                &starts,
                Norm::Linf,
                0.0,
                3000,
                seed,
            );
            let adv = out.adversarial.unwrap();
            let found = out.distance.unwrap();
            assert_eq!(found, Norm::Linf.distance(&x, &adv));
            assert!(
                found >= linf * (1.0 - 1e-3) && found < l2,
                "seed {seed}: {found}"
            );
        }
    }
}
