//! HopSkipJump (Chen, Jordan and Wainwright, "HopSkipJumpAttack: A
//! Query-Efficient Decision-Based Attack", IEEE S&P 2020): shrinks the
//! distance from an adversarial row to the original by estimating, from
//! labels only, the gradient of the decision at the boundary.
//!
//! Each iteration `t` of the paper's Algorithm 2, from a row `x` on the
//! boundary at distance `dist` from the original `x*`:
//!
//! 1. Gradient-direction estimate (the paper's Monte-Carlo estimate with the
//!    baseline correction): `B_t` unit vectors `u_b` uniform on the sphere,
//!    each probe `x + delta u_b` queried (all in one batch) and scored
//!    `phi_b = +1` if it meets the goal, else `-1`; the estimate is
//!    `sum_b (phi_b - mean phi) u_b` (`sum_b phi_b u_b` when every probe
//!    agrees, where the baseline would cancel it). `u_b` is taken after
//!    [`Oracle::project`], so the estimate never points along a feature the
//!    row may not change. `B_t = B_0 sqrt(t)`, `B_0 = 100`, at most 10,000 and
//!    at most what the budget leaves after the iteration's other queries.
//!    The probe radius is `delta = sqrt(d) theta dist` (L2) or
//!    `d theta dist` (L-inf), as in the paper.
//! 2. Update direction: the estimate normalised (L2) or its sign (L-inf).
//! 3. Geometric step-size search: `xi = dist / sqrt(t)`, halved until
//!    `x + xi v` meets the goal; the candidates `xi, xi/2, xi/4, xi/8` are
//!    queried in one batch (then the next four), at most 24 halvings.
//! 4. Binary search back to the boundary between the original and the new
//!    row: along the segment for L2, and for L-inf over the radius `a` of the
//!    box that the row is clipped to (`clip(x, x* - a, x* + a)`), as in the
//!    paper. It stops once the bracket is narrower than `theta` of the
//!    distance.
//!
//! `theta = gamma / d^(3/2)` (L2) or `gamma / d^2` (L-inf) with `gamma = 1`,
//! the paper's threshold, but at most 0.001: tabular models have few
//! features, and with `d = 2` the paper's value would end the binary search
//! at a third of the distance.
//!
//! Every queried row that meets the goal (probes and step candidates
//! included) is a candidate for the result, which is the closest of them in
//! the run's norm. The attack stops once that distance is at most `eps`, or
//! when the budget is spent.
//!
//! Integer and one-hot features move only where [`Oracle::project`] rounds
//! them: in the binary searches along the segment to the original and in
//! long steps. The probes of the estimate are usually shorter than a unit of
//! such a feature and rounded away, so the estimate says nothing about it:
//! HopSkipJump is a continuous attack, and on such rows it finds a nearby
//! adversarial row rather than the nearest.
//!
//! The start ([`begin`]) and the binary search ([`to_boundary`]) are shared
//! with the Boundary Attack.

use super::{AttackError, Goal, Norm, Oracle, Outcome, Settings, Task};
use crate::rng::Rng;

/// Gradient-estimation samples at the first iteration (the paper's `B_0`).
const INITIAL_EVALS: f64 = 100.0;
/// The most samples in one estimate.
const MAX_EVALS: usize = 10_000;
/// Fewer samples than this give too rough an estimate to spend queries on.
const MIN_EVALS: usize = 10;
/// The paper's `gamma` in `theta = gamma / d^(3/2)` (L2), `gamma / d^2` (L-inf).
const GAMMA: f32 = 1.0;
/// The largest `theta` (see the module docs).
const THETA_MAX: f32 = 1e-3;
/// Step-size candidates queried together.
const STEP_BATCH: usize = 4;
/// Halvings of the step size before an iteration gives up its step.
const MAX_HALVINGS: usize = 24;
/// Starts from `task.starts` tried (the first alone, then the rest together).
const START_TRIES: usize = 10;
/// Uniform random rows tried when no start meets the goal.
const RANDOM_TRIES: usize = 100;
/// Random rows queried together.
const RANDOM_BATCH: usize = 10;
/// Estimates in a row that may come out zero before the attack stops.
const MAX_FLAT: usize = 3;
/// A bound on binary-search rounds, whatever the tolerance.
const MAX_SEARCH: usize = 64;

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
    let norm = settings.norm;
    let d = task.x.len().max(1) as f32;
    let theta = match norm {
        Norm::L2 => GAMMA / (d * d.sqrt()),
        Norm::Linf => GAMMA / (d * d),
    }
    .min(THETA_MAX);
    // Queries an iteration needs besides the estimate: one batch of step
    // candidates and a binary search.
    let reserve = STEP_BATCH + search_rounds(theta);

    let mut best = Best::new(task.x, norm, start.clone());
    let mut x = to_boundary(oracle, task, &start, norm, theta)?;
    best.offer(&x);
    let mut t = 1usize;
    let mut flat = 0;
    while best.distance > settings.eps {
        let dist = norm.distance(task.x, &x);
        if dist.is_nan() || dist <= 0.0 {
            break;
        }
        let evals = ((INITIAL_EVALS * (t as f64).sqrt()) as usize)
            .min(MAX_EVALS)
            .min(oracle.remaining().saturating_sub(reserve));
        if evals < MIN_EVALS {
            break;
        }
        let delta = match norm {
            Norm::L2 => d.sqrt() * theta * dist,
            Norm::Linf => d * theta * dist,
        };
        let Some(grad) = estimate(oracle, task, &x, delta, evals, rng, &mut best)? else {
            // The probes did not move the row (projection undid them: integer
            // or one-hot features at this scale): draw again, but not for ever.
            flat += 1;
            if flat >= MAX_FLAT {
                break;
            }
            t += 1;
            continue;
        };
        flat = 0;
        let v: Vec<f32> = match norm {
            Norm::L2 => grad,
            Norm::Linf => grad.iter().map(|&g| sign(g)).collect(),
        };
        let xi = dist / (t as f32).sqrt();
        if let Some(next) = step(oracle, task, &x, &v, xi, &mut best)? {
            x = to_boundary(oracle, task, &next, norm, theta)?;
            best.offer(&x);
        }
        if oracle.remaining() == 0 {
            break;
        }
        t += 1;
    }
    Ok(best.outcome(oracle))
}

/// The baseline-corrected Monte-Carlo estimate of the direction in which the
/// goal is met, around `x` at radius `delta`, from `evals` probes queried in
/// one batch; normalised to length 1 (L2). `None` when it is zero or no
/// probe was answered.
fn estimate(
    oracle: &Oracle,
    task: &Task,
    x: &[f32],
    delta: f32,
    evals: usize,
    rng: &mut Rng,
    best: &mut Best,
) -> Result<Option<Vec<f32>>, AttackError> {
    let d = x.len();
    if d == 0 || delta <= 0.0 {
        return Ok(None);
    }
    let mut rows = Vec::with_capacity(evals * d);
    for _ in 0..evals {
        let u = unit_normal(rng, d);
        let at = rows.len();
        rows.extend(x.iter().zip(&u).map(|(&a, &b)| a + delta * b));
        if let Some(row) = rows.get_mut(at..) {
            oracle.project(task.x, row);
        }
    }
    let met = adversarial(oracle, &task.goal, &rows)?;
    if met.is_empty() {
        return Ok(None);
    }
    let phi = |m: bool| if m { 1.0f64 } else { -1.0 };
    let mean = met.iter().map(|&m| phi(m)).sum::<f64>() / met.len() as f64;
    // With every probe on one side the baseline would cancel the estimate.
    let baseline = if mean.abs() >= 1.0 { 0.0 } else { mean };
    let mut grad = vec![0.0f64; d];
    for (row, &m) in rows.chunks_exact(d).zip(&met) {
        if m {
            best.offer(row);
        }
        let w = phi(m) - baseline;
        // The direction actually taken, after projection.
        for ((g, &r), &c) in grad.iter_mut().zip(row).zip(x) {
            *g += w * f64::from(r - c);
        }
    }
    let length = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
    if !(length.is_finite() && length > 0.0) {
        return Ok(None);
    }
    Ok(Some(grad.iter().map(|g| (g / length) as f32).collect()))
}

/// The geometric step-size search: the largest of `xi, xi/2, xi/4, ...` for
/// which `x + xi v` (projected) meets the goal, with candidates queried
/// [`STEP_BATCH`] at a time. `None` if none does within [`MAX_HALVINGS`].
fn step(
    oracle: &Oracle,
    task: &Task,
    x: &[f32],
    v: &[f32],
    xi: f32,
    best: &mut Best,
) -> Result<Option<Vec<f32>>, AttackError> {
    let d = x.len();
    let mut size = xi;
    let mut tried = 0;
    while tried < MAX_HALVINGS {
        let n = STEP_BATCH.min(MAX_HALVINGS - tried);
        let mut rows = Vec::with_capacity(n * d);
        for _ in 0..n {
            let at = rows.len();
            rows.extend(x.iter().zip(v).map(|(&a, &b)| a + size * b));
            if let Some(row) = rows.get_mut(at..) {
                oracle.project(task.x, row);
            }
            size *= 0.5;
        }
        tried += n;
        let met = adversarial(oracle, &task.goal, &rows)?;
        let answered = met.len();
        let mut found = None;
        for (row, m) in rows.chunks_exact(d).zip(met) {
            if m {
                best.offer(row);
                if found.is_none() {
                    found = Some(row.to_vec());
                }
            }
        }
        if found.is_some() || answered < n {
            return Ok(found);
        }
    }
    Ok(None)
}

/// -1, 0 or +1 (`f32::signum` gives +1 for 0, which would move features the
/// estimate says nothing about).
fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Binary-search rounds to narrow a bracket to `theta` of its width.
fn search_rounds(theta: f32) -> usize {
    ((1.0 / theta.max(f32::EPSILON)).log2().ceil() as usize + 1).min(MAX_SEARCH)
}

// Shared with the Boundary Attack.

/// A direction uniform on the unit sphere in `d` dimensions.
pub(super) fn unit_normal(rng: &mut Rng, d: usize) -> Vec<f32> {
    let mut u: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
    let length = u.iter().map(|v| v * v).sum::<f64>().sqrt();
    if length > 0.0 {
        for v in &mut u {
            *v /= length;
        }
    }
    u.into_iter().map(|v| v as f32).collect()
}

/// Whether each answered row meets the goal: as many as the budget answered
/// (none once it is spent).
pub(super) fn adversarial(
    oracle: &Oracle,
    goal: &Goal,
    rows: &[f32],
) -> Result<Vec<bool>, AttackError> {
    Ok(oracle
        .labels(rows)?
        .into_iter()
        .map(|c| goal.reached_by(c))
        .collect())
}

/// The closest row meeting the goal so far.
pub(super) struct Best<'a> {
    x0: &'a [f32],
    norm: Norm,
    row: Vec<f32>,
    /// Its distance from `x0` in `norm`.
    pub(super) distance: f32,
}

impl<'a> Best<'a> {
    /// Starts from `row`, which was queried and meets the goal.
    pub(super) fn new(x0: &'a [f32], norm: Norm, row: Vec<f32>) -> Best<'a> {
        let distance = norm.distance(x0, &row);
        Best {
            x0,
            norm,
            row,
            distance,
        }
    }

    /// Keeps `row`, which was queried and meets the goal, if it is closer.
    pub(super) fn offer(&mut self, row: &[f32]) {
        let distance = self.norm.distance(self.x0, row);
        if distance < self.distance {
            self.row.clear();
            self.row.extend_from_slice(row);
            self.distance = distance;
        }
    }

    pub(super) fn outcome(self, oracle: &Oracle) -> Outcome {
        Outcome {
            adversarial: Some(self.row),
            distance: Some(self.distance),
            queries: oracle.used(),
        }
    }
}

/// The outcome when the original row already meets the goal.
pub(super) fn original(oracle: &Oracle, task: &Task) -> Outcome {
    Outcome {
        adversarial: Some(task.x.to_vec()),
        distance: Some(0.0),
        queries: oracle.used(),
    }
}

/// The outcome when no row meeting the goal was found.
pub(super) fn nothing(oracle: &Oracle) -> Outcome {
    Outcome {
        adversarial: None,
        distance: None,
        queries: oracle.used(),
    }
}

/// Where a decision-based attack begins.
pub(super) enum Begin {
    /// The original row already meets the goal.
    Original,
    /// A row that was queried and meets the goal.
    From(Vec<f32>),
    /// None found, or the budget is spent.
    Nothing,
}

/// Finds a row to begin from: the original itself if it meets the goal (one
/// query), else the first of `task.starts` (projected, one query), else up
/// to [`START_TRIES`] of them in one batch, else up to [`RANDOM_TRIES`]
/// uniform random rows (projected) in batches of [`RANDOM_BATCH`].
pub(super) fn begin(oracle: &Oracle, task: &Task, rng: &mut Rng) -> Result<Begin, AttackError> {
    match adversarial(oracle, &task.goal, task.x)?.first() {
        None => return Ok(Begin::Nothing),
        Some(true) => return Ok(Begin::Original),
        Some(false) => {}
    }
    let d = task.x.len();
    let mut starts = task
        .starts
        .iter()
        .filter(|s| s.len() == d)
        .take(START_TRIES)
        .map(|s| {
            let mut row = s.clone();
            oracle.project(task.x, &mut row);
            row
        });
    let first: Vec<Vec<f32>> = starts.by_ref().take(1).collect();
    let rest: Vec<Vec<f32>> = starts.collect();
    for group in [first, rest] {
        if let Some(row) = first_adversarial(oracle, &task.goal, &group)? {
            return Ok(Begin::From(row));
        }
    }
    let mut tried = 0;
    while tried < RANDOM_TRIES && oracle.remaining() > 0 {
        let n = RANDOM_BATCH.min(RANDOM_TRIES - tried);
        let group: Vec<Vec<f32>> = (0..n)
            .map(|_| {
                let mut row: Vec<f32> = (0..d).map(|_| rng.uniform() as f32).collect();
                oracle.project(task.x, &mut row);
                row
            })
            .collect();
        tried += n;
        if let Some(row) = first_adversarial(oracle, &task.goal, &group)? {
            return Ok(Begin::From(row));
        }
    }
    Ok(Begin::Nothing)
}

/// The first of `rows` that meets the goal, all queried in one batch.
fn first_adversarial(
    oracle: &Oracle,
    goal: &Goal,
    rows: &[Vec<f32>],
) -> Result<Option<Vec<f32>>, AttackError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let met = adversarial(oracle, goal, &rows.concat())?;
    Ok(rows
        .iter()
        .zip(met)
        .find(|&(_, m)| m)
        .map(|(r, _)| r.clone()))
}

/// Binary search between the original row and `adv` (queried, meets the
/// goal) for the row nearest the original that meets the goal: along the
/// segment for L2, over the radius of the box `adv` is clipped to for L-inf.
/// Stops once the bracket is narrower than `tol` of the distance (or the
/// budget is spent) and returns the last row that met the goal (`adv` if
/// none nearer did).
pub(super) fn to_boundary(
    oracle: &Oracle,
    task: &Task,
    adv: &[f32],
    norm: Norm,
    tol: f32,
) -> Result<Vec<f32>, AttackError> {
    let (mut lo, mut hi) = match norm {
        Norm::L2 => (0.0f32, 1.0f32),
        Norm::Linf => (0.0, Norm::Linf.distance(task.x, adv)),
    };
    let width = tol * hi;
    let mut found = adv.to_vec();
    let mut row = vec![0.0f32; adv.len()];
    for _ in 0..MAX_SEARCH {
        if hi - lo <= width {
            break;
        }
        let mid = 0.5 * (lo + hi);
        for ((r, &a), &c) in row.iter_mut().zip(adv).zip(task.x) {
            *r = match norm {
                Norm::L2 => c + mid * (a - c),
                Norm::Linf => a.max(c - mid).min(c + mid),
            };
        }
        oracle.project(task.x, &mut row);
        match adversarial(oracle, &task.goal, &row)?.first() {
            None => break,
            Some(true) => {
                hi = mid;
                found.clone_from(&row);
            }
            Some(false) => lo = mid,
        }
    }
    Ok(found)
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
        // x0 + x1 > 10. The nearest such row to (3, 3) is (5, 5+), on the
        // segment to the start (9, 9). From a random start the estimate,
        // whose probes are smaller than a unit of x0, cannot see x0 (see
        // the module docs): only whole numbers are checked then.
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
                assert!(found >= best * (1.0 - 1e-3), "{norm:?}: {found}");
                if !starts.is_empty() {
                    assert!(within(found, best, 0.05), "{norm:?}: {found}");
                }
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
        assert!(
            out.queries <= 1 + 1 + RANDOM_TRIES,
            "{} queries",
            out.queries
        );
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
    fn linf_approaches_the_distance_to_a_random_hyperplane_in_20_features() {
        for seed in [18, 19] {
            let (model, x, starts, _, linf) = halfspace20(seed);
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
            let found = out.distance.unwrap();
            assert!(
                within(found, linf, 0.05),
                "seed {seed}: {found} against {linf}"
            );
        }
    }
}
