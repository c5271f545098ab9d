//! Square Attack (Andriushchenko, Croce, Flammarion and Hein, "Square
//! Attack: a query-efficient black-box adversarial attack via random
//! search", ECCV 2020), for rows of tabular features.
//!
//! A random search that stays at the edge of the ball: it starts from a
//! random corner of the ball, then again and again changes a random part of
//! the row and keeps the change when the margin loss falls. It needs no
//! gradient, so it also works on models whose scores are flat or jagged.
//!
//! # The paper's algorithm, and a row of features
//!
//! The paper's Algorithm 1, step by step:
//!
//! - **Loss.** The margin loss, [`Goal::margin`]: the label's score less the
//!   best other (targeted: the best non-target score less the target's). It
//!   is read on the logarithm of the scores when the original row's scores
//!   are all positive: for probabilities that is the margin of the logits the
//!   paper uses (`ln p` is the logit less a constant per row), and it keeps
//!   falling where a probability has already rounded to 1 in `f32`.
//! - **Start.** The paper starts from vertical stripes of +-eps, one sign per
//!   column and colour. A row has no columns: each feature takes its own
//!   random sign, `x0 +- eps` (L-inf), or `x0 +- eps / sqrt(m)` with `m` the
//!   features that can move (L2: the change has length eps, as the paper's
//!   start does). The start is kept whatever its loss, as in the paper.
//! - **The "square".** In an image, a square window of side `h` with
//!   `h * h = p * pixels`. Neighbouring features of a table are not related
//!   as neighbouring pixels are, so a window of consecutive features would
//!   only favour features that happen to be stored side by side: the
//!   "square" here is a random subset of `ceil(p * m)` of the `m` features
//!   that can move. For the same reason every feature of the subset draws
//!   its own sign (the paper draws one per colour for the whole window).
//! - **p-schedule.** `p` starts at [`P_INIT`] = 0.05 (the paper's L-inf
//!   default) and halves as the share of the query budget used passes the
//!   paper's iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of
//!   10 000 (the paper rescales them to its query limit the same way). With
//!   under 20 movable features the subset is always one feature.
//! - **L-inf step.** Each feature of the subset is set to `x0 - eps` or
//!   `x0 + eps` at random; the step is drawn again (up to [`DRAWS`] times,
//!   without a query) while it leaves the row as it is, as the paper's code
//!   redraws a window that does not change.
//! - **L2 step.** Two disjoint subsets `W1` and `W2` of `ceil(p * m)`
//!   features (at most `m / 2`). As in the paper, the change in `W1` turns
//!   towards a new random direction (the old direction plus a random sign
//!   vector) and takes over the length of the change in `W2` and any length
//!   of the ball left unused. The paper moves all of `W2`'s change; with a
//!   handful of features that only ever reaches changes along one axis, so
//!   here a random share `r` in (0, 1] of its squared length moves. The
//!   change keeps length eps.
//! - **Keep or drop.** The new row is clipped to the ball, made a valid input
//!   ([`Oracle::project`]), queried, and kept when its loss is lower than the
//!   current row's.
//!
//! The attack stops when a queried row meets the goal inside the ball (it
//! is returned), when the budget is spent, or when [`STALLS`] steps in a row
//! find no change to try.
//!
//! One row is queried at a time: each step depends on whether the last was
//! kept. (Rows are attacked in parallel by the caller.)
//!
//! # Constraints
//!
//! Before the search, each feature is moved alone by `-eps` and `+eps`,
//! clipped and projected: a feature that neither move changes (immutable,
//! of range 0, one-hot, or a whole number that rounds back) is never drawn.
//! A whole-number feature whose `x0 +- eps` rounds out of the ball moves to
//! the furthest whole number inside it instead.
//!
//! This file also holds the helpers that [`super::simba`] and [`super::nes`]
//! share with it: the first query, the loss, clipping and projecting, and
//! the features that can move.

use mlsec_model::ModelError;

use super::{AttackError, Norm, Oracle, Outcome, Settings, Task};
use crate::rng::Rng;

/// The share of the movable features changed per step at the start of the
/// p-schedule (the paper's `p_init`; 0.05 is its L-inf default).
pub const P_INIT: f32 = 0.05;

/// Draws of one step, without a query, for one that changes the row.
pub const DRAWS: usize = 10;

/// Steps in a row that find no change before the attack gives up.
pub const STALLS: usize = 100;

/// The paper's iterations, of 10 000, at which `p` halves.
const HALVINGS: [usize; 9] = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];

pub fn run(
    oracle: &Oracle,
    task: &Task,
    settings: &Settings,
    rng: &mut Rng,
) -> Result<Outcome, AttackError> {
    let (ctx, start_loss) = match start(oracle, task, settings)? {
        Start::Done(outcome) => return Ok(outcome),
        Start::Go(ctx, loss) => (ctx, loss),
    };
    let reach = ctx.reach();
    if reach.is_empty() {
        return Ok(ctx.missed());
    }
    let mut order: Vec<usize> = (0..reach.len()).collect();

    let mut x = task.x.to_vec();
    let mut best = start_loss;
    let mut first = task.x.to_vec();
    match settings.norm {
        Norm::Linf => {
            for r in &reach {
                let v = r.value(rng.sign(), task.x);
                if let Some(f) = first.get_mut(r.feature) {
                    *f = v;
                }
            }
        }
        Norm::L2 => {
            let each = settings.eps / (reach.len() as f32).sqrt();
            for r in &reach {
                if let Some(f) = first.get_mut(r.feature) {
                    *f += rng.sign() * each;
                }
            }
        }
    }
    if ctx.settle(&mut first) && first != x {
        match ctx.ask(&first)? {
            Answer::Hit(_) => return Ok(ctx.found(first)),
            Answer::Losses(l) => match l.first() {
                None => return Ok(ctx.missed()),
                // The paper starts from here whatever the loss.
                Some(&v) => {
                    best = v;
                    x = first;
                }
            },
        }
    }

    let mut stalls = 0;
    while oracle.remaining() > 0 && stalls < STALLS {
        let p = share(oracle.used(), settings.budget);
        let mut next = None;
        for _ in 0..DRAWS {
            let mut cand = x.clone();
            match settings.norm {
                Norm::Linf => step_linf(&mut cand, task.x, &reach, &mut order, p, rng),
                Norm::L2 => step_l2(&mut cand, task.x, settings.eps, &reach, &mut order, p, rng),
            }
            if ctx.settle(&mut cand) && cand != x {
                next = Some(cand);
                break;
            }
        }
        let Some(cand) = next else {
            stalls += 1;
            continue;
        };
        stalls = 0;
        match ctx.ask(&cand)? {
            Answer::Hit(_) => return Ok(ctx.found(cand)),
            Answer::Losses(l) => match l.first() {
                None => break,
                Some(&v) => {
                    if v < best {
                        best = v;
                        x = cand;
                    }
                }
            },
        }
    }
    Ok(ctx.missed())
}

/// `p` after `used` of `budget` queries: the paper's schedule, rescaled from
/// 10 000 iterations to the budget.
fn share(used: usize, budget: usize) -> f32 {
    let it = used.saturating_mul(10_000) / budget.max(1);
    let halved = HALVINGS.iter().filter(|&&t| it > t).count();
    P_INIT / (1u32 << halved) as f32
}

/// Features per subset: `ceil(p * m)`, at least 1 and at most `m`.
fn subset_size(p: f32, m: usize) -> usize {
    ((p * m as f32).ceil() as usize).clamp(1, m.max(1))
}

/// The first `k` of `order` after a partial Fisher-Yates shuffle: `k`
/// distinct positions drawn uniformly.
fn pick<'o>(order: &'o mut [usize], k: usize, rng: &mut Rng) -> &'o [usize] {
    let n = order.len();
    let k = k.min(n);
    for j in 0..k {
        order.swap(j, j + rng.below(n - j));
    }
    order.get(..k).unwrap_or(&[])
}

/// L-inf: a random subset of the movable features, each to `x0 - eps` or
/// `x0 + eps`.
fn step_linf(
    cand: &mut [f32],
    x0: &[f32],
    reach: &[Reach],
    order: &mut [usize],
    p: f32,
    rng: &mut Rng,
) {
    let k = subset_size(p, reach.len());
    for &j in pick(order, k, rng) {
        if let Some(r) = reach.get(j) {
            let v = r.value(rng.sign(), x0);
            if let Some(c) = cand.get_mut(r.feature) {
                *c = v;
            }
        }
    }
}

/// L2: the change in `W1` turns towards a random direction and takes over a
/// random share of the change in `W2` and the unused length of the ball.
fn step_l2(
    cand: &mut [f32],
    x0: &[f32],
    eps: f32,
    reach: &[Reach],
    order: &mut [usize],
    p: f32,
    rng: &mut Rng,
) {
    let m = reach.len();
    let k = if m >= 2 {
        subset_size(p, m).min(m / 2)
    } else {
        1
    };
    let chosen: Vec<usize> = pick(order, 2 * k, rng)
        .iter()
        .filter_map(|&j| reach.get(j).map(|r| r.feature))
        .collect();
    let (w1, w2) = chosen.split_at(k.min(chosen.len()));
    let delta = |i: usize| match (cand.get(i), x0.get(i)) {
        (Some(&v), Some(&c)) => v - c,
        _ => 0.0,
    };
    let sq = |set: &[usize]| set.iter().map(|&i| delta(i).powi(2)).sum::<f32>();
    let total: f32 = cand.iter().zip(x0).map(|(v, c)| (v - c).powi(2)).sum();
    let unused = (eps * eps - total).max(0.0);
    let (sq1, sq2) = (sq(w1), sq(w2));
    // (0, 1]: some of W2's change always moves.
    let r = 1.0 - rng.uniform() as f32;
    let mass = (sq1 + unused + r * sq2).sqrt();

    let root_k = (w1.len().max(1) as f32).sqrt();
    let signs: Vec<f32> = w1.iter().map(|_| rng.sign() / root_k).collect();
    let norm1 = sq1.sqrt();
    let mut dir: Vec<f32> = w1
        .iter()
        .zip(&signs)
        .map(|(&i, s)| {
            if norm1 > 0.0 {
                s + delta(i) / norm1
            } else {
                *s
            }
        })
        .collect();
    let mut len = dir.iter().map(|v| v * v).sum::<f32>().sqrt();
    if len < 1e-6 {
        // The new direction cancelled the old one exactly: take the new one.
        dir = signs;
        len = 1.0;
    }
    let keep2 = (1.0 - r).sqrt();
    for (&i, u) in w1.iter().zip(&dir) {
        if let (Some(c), Some(&o)) = (cand.get_mut(i), x0.get(i)) {
            *c = o + mass * u / len;
        }
    }
    for &i in w2 {
        if let (Some(c), Some(&o)) = (cand.get_mut(i), x0.get(i)) {
            *c = o + (*c - o) * keep2;
        }
    }
}

// Helpers the score-based attacks (square, simba, nes) share.

/// How far a row is from the goal: the margin of [`super::Goal::margin`],
/// on the logarithms of the scores when the original row's scores were all
/// positive.
#[derive(Debug, Clone, Copy)]
pub(super) struct Loss {
    goal: super::Goal,
    log: bool,
}

impl Loss {
    fn new(goal: super::Goal, first: &[f32]) -> Loss {
        Loss {
            goal,
            log: first.iter().all(|&s| s > 0.0),
        }
    }

    /// The loss of one row's scores (NaN when a score is).
    pub(super) fn of(&self, scores: &[f32]) -> f32 {
        if !self.log {
            return self.goal.margin(scores);
        }
        // A probability that underflowed to 0 is taken as the smallest
        // positive one: the loss stays finite and ordered.
        let logs: Vec<f32> = scores
            .iter()
            .map(|&s| {
                if s.is_nan() {
                    s
                } else {
                    s.max(f32::MIN_POSITIVE).ln()
                }
            })
            .collect();
        self.goal.margin(&logs)
    }
}

/// What the model said of rows asked together.
pub(super) enum Answer {
    /// The row at this position meets the goal inside the ball.
    Hit(usize),
    /// The loss of each answered row, in order: fewer than asked (maybe
    /// none) when the budget ran out.
    Losses(Vec<f32>),
}

/// One run's fixed inputs.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'r> {
    pub(super) oracle: &'r Oracle<'r>,
    pub(super) task: &'r Task<'r>,
    pub(super) settings: &'r Settings,
    pub(super) loss: Loss,
}

/// How an attack goes on after its first query.
pub(super) enum Start<'r> {
    /// Nothing more to do: the original row meets the goal, the ball holds
    /// no other row, or no query is left.
    Done(Outcome),
    /// Search, from the original row of this loss.
    Go(Ctx<'r>, f32),
}

/// Checks the inputs and queries the original row.
pub(super) fn start<'r>(
    oracle: &'r Oracle<'r>,
    task: &'r Task<'r>,
    settings: &'r Settings,
) -> Result<Start<'r>, AttackError> {
    if task.x.len() != oracle.features() {
        return Err(AttackError::Model(ModelError::Input(format!(
            "the row has {} features and the model reads {}",
            task.x.len(),
            oracle.features()
        ))));
    }
    if task.x.iter().any(|v| !v.is_finite()) {
        return Err(AttackError::Model(ModelError::Input(
            "the row holds a value that is not a finite number".into(),
        )));
    }
    if !(settings.eps.is_finite() && settings.eps >= 0.0) {
        return Err(AttackError::Unsupported(format!(
            "eps must be a finite number at least 0, not {}",
            settings.eps
        )));
    }
    let ctx = Ctx {
        oracle,
        task,
        settings,
        loss: Loss::new(task.goal, &[]),
    };
    let scores = oracle.scores(task.x)?;
    if scores.is_empty() {
        return Ok(Start::Done(ctx.missed()));
    }
    if task.goal.reached(&scores) {
        return Ok(Start::Done(ctx.found(task.x.to_vec())));
    }
    if settings.eps <= 0.0 {
        return Ok(Start::Done(ctx.missed()));
    }
    let loss = Loss::new(task.goal, &scores);
    Ok(Start::Go(Ctx { loss, ..ctx }, loss.of(&scores)))
}

/// How far one feature can move each way from the original row, alone,
/// and stay a valid input inside the ball: its value there.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reach {
    pub(super) feature: usize,
    pub(super) down: Option<f32>,
    pub(super) up: Option<f32>,
}

impl Reach {
    /// The feature's value on side `sign` (the original value where that
    /// side cannot move).
    pub(super) fn value(&self, sign: f32, x0: &[f32]) -> f32 {
        let side = if sign < 0.0 { self.down } else { self.up };
        side.or_else(|| x0.get(self.feature).copied())
            .unwrap_or(0.0)
    }
}

impl<'r> Ctx<'r> {
    /// Whether `x` lies in the ball (with the slack of
    /// [`Outcome::success_within`]).
    pub(super) fn inside(&self, x: &[f32]) -> bool {
        let eps = self.settings.eps;
        self.settings.norm.distance(self.task.x, x) <= eps * (1.0 + 1e-4) + 1e-6
    }

    /// Clips `x` to the ball, then makes it a valid input; again, a few
    /// times, where rounding a whole-number feature stepped back out of
    /// the ball. Whether `x` ends inside.
    pub(super) fn settle(&self, x: &mut [f32]) -> bool {
        for _ in 0..3 {
            self.settings
                .norm
                .clip_to_ball(self.task.x, x, self.settings.eps);
            self.oracle.project(self.task.x, x);
            if self.inside(x) {
                return true;
            }
        }
        false
    }

    /// Queries `rows` (whole rows; no more than the budget allows is
    /// answered) and checks each answer against the goal.
    pub(super) fn ask(&self, rows: &[f32]) -> Result<Answer, AttackError> {
        let scores = self.oracle.scores(rows)?;
        let width = self.oracle.classes().max(1);
        let features = self.task.x.len().max(1);
        let mut losses = Vec::with_capacity(scores.len() / width);
        for (j, (s, row)) in scores
            .chunks_exact(width)
            .zip(rows.chunks_exact(features))
            .enumerate()
        {
            if self.task.goal.reached(s) && self.inside(row) {
                return Ok(Answer::Hit(j));
            }
            losses.push(self.loss.of(s));
        }
        Ok(Answer::Losses(losses))
    }

    /// Success with `row`.
    pub(super) fn found(&self, row: Vec<f32>) -> Outcome {
        Outcome {
            distance: Some(self.settings.norm.distance(self.task.x, &row)),
            adversarial: Some(row),
            queries: self.oracle.used(),
        }
    }

    /// Failure.
    pub(super) fn missed(&self) -> Outcome {
        Outcome {
            adversarial: None,
            distance: None,
            queries: self.oracle.used(),
        }
    }

    /// The features that can move, and how far, each alone. Queries
    /// nothing.
    pub(super) fn reach(&self) -> Vec<Reach> {
        let mut probe = self.task.x.to_vec();
        let mut out = Vec::new();
        for feature in 0..self.task.x.len() {
            let down = self.furthest(&mut probe, feature, -1.0);
            let up = self.furthest(&mut probe, feature, 1.0);
            if down.is_some() || up.is_some() {
                out.push(Reach { feature, down, up });
            }
        }
        out
    }

    /// The value of `feature` after it moves by `sign * eps` alone, is
    /// clipped and projected; where that leaves the ball (a whole number
    /// rounded outwards), the furthest value a shorter move reaches inside.
    /// `None` when no move changes it.
    fn furthest(&self, probe: &mut [f32], feature: usize, sign: f32) -> Option<f32> {
        let c = self.task.x.get(feature).copied()?;
        let mut at = |t: f32| {
            probe.copy_from_slice(self.task.x);
            if let Some(v) = probe.get_mut(feature) {
                *v += sign * t * self.settings.eps;
            }
            if self.settle(probe) {
                probe.get(feature).copied()
            } else {
                None
            }
        };
        if let Some(v) = at(1.0) {
            return (v != c).then_some(v);
        }
        // Inside for short moves, outside for long ones: bisect.
        let (mut lo, mut hi, mut best) = (0.0f32, 1.0f32, None);
        for _ in 0..20 {
            let mid = 0.5 * (lo + hi);
            match at(mid) {
                Some(v) => {
                    lo = mid;
                    if v != c {
                        best = Some(v);
                    }
                }
                None => hi = mid,
            }
        }
        best
    }
}

/// Shuffles `order` (Fisher-Yates).
pub(super) fn shuffle(order: &mut [usize], rng: &mut Rng) {
    let n = order.len();
    pick(order, n, rng);
}

#[cfg(test)]
pub(super) mod testkit {
    //! Checks every score-based attack runs, on toy linear models.

    use mlsec_model::{argmax, Model, Output};

    use super::super::toy::Linear;
    use super::super::{AttackError, Constraints, Goal, Norm, Oracle, Outcome, Settings, Task};
    use crate::rng::Rng;

    pub type Attack = fn(&Oracle, &Task, &Settings, &mut Rng) -> Result<Outcome, AttackError>;

    /// The class `model` gives the scaled row `x` (features in [0, 1]).
    pub fn class(model: &Linear, x: &[f32]) -> usize {
        argmax(&model.predict(x).unwrap()).unwrap()
    }

    /// Runs `attack` on `x` (features in [0, 1]), and checks what any run
    /// must: the budget, and an adversarial row's class and distance.
    #[allow(clippy::too_many_arguments)]
    pub fn attack(
        run: Attack,
        model: &Linear,
        x: &[f32],
        goal: Goal,
        norm: Norm,
        eps: f32,
        budget: usize,
        constraints: &Constraints,
        seed: u64,
    ) -> Outcome {
        let d = x.len();
        let (lower, range) = (vec![0.0; d], vec![1.0; d]);
        let oracle = Oracle::new(model, &lower, &range, constraints, budget);
        let task = Task {
            x,
            goal,
            starts: &[],
        };
        let settings = Settings { norm, eps, budget };
        let out = run(&oracle, &task, &settings, &mut Rng::for_row(seed, 7)).unwrap();
        assert!(out.queries <= budget, "{} queries > {budget}", out.queries);
        assert_eq!(out.queries, oracle.used());
        assert_eq!(out.adversarial.is_some(), out.distance.is_some());
        if let Some(adv) = &out.adversarial {
            assert!(
                goal.reached_by(class(model, adv)),
                "not adversarial: {adv:?}"
            );
            let dist = norm.distance(x, adv);
            assert_eq!(out.distance, Some(dist));
            assert!(out.success_within(eps), "distance {dist} > eps {eps}");
            for &i in &constraints.immutable {
                assert_eq!(adv[i], x[i], "immutable feature {i} moved");
            }
        }
        out
    }

    fn untargeted(label: usize) -> Goal {
        Goal {
            label,
            target: None,
        }
    }

    /// On the diagonal toy (x0 + x1 = 1), (0.4, 0.4) is 0.1 from the line in
    /// L-inf and 0.2 / sqrt(2) = 0.1414 in L2: flipped at 0.15, not at
    /// smaller radii; the same run twice gives the same outcome.
    pub fn diagonal(run: Attack, norm: Norm) {
        let model = Linear::diagonal();
        let x = [0.4, 0.4];
        assert_eq!(class(&model, &x), 0);
        let none = Constraints::default();
        for seed in 0..10 {
            let out = attack(run, &model, &x, untargeted(0), norm, 0.15, 200, &none, seed);
            assert!(out.success_within(0.15), "seed {seed}: {out:?}");
            let again = attack(run, &model, &x, untargeted(0), norm, 0.15, 200, &none, seed);
            assert_eq!(out, again, "seed {seed}: not reproducible");
        }
        let near = match norm {
            Norm::Linf => [0.05, 0.09],
            Norm::L2 => [0.05, 0.13],
        };
        for eps in near {
            for seed in 0..3 {
                let out = attack(run, &model, &x, untargeted(0), norm, eps, 200, &none, seed);
                assert_eq!(out.adversarial, None, "eps {eps}: {out:?}");
            }
        }
    }

    /// A row the model already gets wrong is returned at distance 0 after
    /// one query; a budget of 0 queries nothing; small budgets are kept.
    pub fn edges(run: Attack, norm: Norm) {
        let model = Linear::diagonal();
        let none = Constraints::default();
        let out = attack(
            run,
            &model,
            &[0.4, 0.4],
            untargeted(1),
            norm,
            0.1,
            50,
            &none,
            1,
        );
        assert_eq!(out.adversarial, Some(vec![0.4, 0.4]));
        assert_eq!((out.distance, out.queries), (Some(0.0), 1));
        for budget in 0..6 {
            let out = attack(
                run,
                &model,
                &[0.4, 0.4],
                untargeted(0),
                norm,
                0.15,
                budget,
                &none,
                3,
            );
            assert!(out.queries <= budget);
        }
        let out = attack(
            run,
            &model,
            &[0.4, 0.4],
            untargeted(0),
            norm,
            0.0,
            50,
            &none,
            1,
        );
        assert_eq!((out.adversarial, out.queries), (None, 1));
    }

    /// With feature 0 immutable, (0.4, 0.4) cannot reach x0 + x1 = 1 by
    /// moving feature 1 by 0.15; by 0.25 it can.
    pub fn immutable(run: Attack, norm: Norm) {
        let model = Linear::diagonal();
        let fixed = Constraints {
            immutable: vec![0],
            ..Constraints::default()
        };
        let x = [0.4, 0.4];
        for seed in 0..3 {
            let out = attack(
                run,
                &model,
                &x,
                untargeted(0),
                norm,
                0.15,
                300,
                &fixed,
                seed,
            );
            assert_eq!(out.adversarial, None, "{out:?}");
            let out = attack(
                run,
                &model,
                &x,
                untargeted(0),
                norm,
                0.25,
                300,
                &fixed,
                seed,
            );
            let adv = out.adversarial.expect("feature 1 alone can flip it");
            assert_eq!(adv[0], 0.4);
        }
        let both = Constraints {
            immutable: vec![0, 1],
            ..Constraints::default()
        };
        let out = attack(run, &model, &x, untargeted(0), norm, 0.5, 300, &both, 1);
        assert_eq!(out.adversarial, None);
    }

    /// Three classes: 0 near the origin, 1 once x0 > 0.5, 2 once x1 > 0.5.
    pub fn three_classes() -> Linear {
        Linear {
            weights: vec![vec![0.0, 0.0], vec![10.0, 0.0], vec![0.0, 10.0]],
            bias: vec![0.0, -5.0, -5.0],
            classes: vec!["a".into(), "b".into(), "c".into()],
            output: Output::Probabilities,
        }
    }

    /// From (0.4, 0.3), class 1 is 0.1 away and class 2 is 0.2 away (L-inf;
    /// the same in L2, along one axis): targeted at 2, the attack must find
    /// class 2 within 0.25, and nothing within 0.15 (where class 1 is in
    /// reach).
    pub fn targeted(run: Attack, norm: Norm) {
        let model = three_classes();
        let x = [0.4, 0.3];
        assert_eq!(class(&model, &x), 0);
        let goal = Goal {
            label: 0,
            target: Some(2),
        };
        let none = Constraints::default();
        for seed in 0..5 {
            let out = attack(run, &model, &x, goal, norm, 0.25, 300, &none, seed);
            let adv = out.adversarial.expect("class 2 is within 0.25");
            assert_eq!(class(&model, &adv), 2);
            let out = attack(run, &model, &x, goal, norm, 0.15, 300, &none, seed);
            assert_eq!(out.adversarial, None, "{out:?}");
            // Untargeted, class 1 is within 0.15.
            let out = attack(run, &model, &x, untargeted(0), norm, 0.15, 300, &none, seed);
            assert!(out.adversarial.is_some(), "seed {seed}");
        }
    }

    /// A linear two-class model on `d` features with random weights, and
    /// rows spread over [0, 1]^d.
    pub fn random_linear(d: usize, rows: usize, seed: u64) -> (Linear, Vec<Vec<f32>>) {
        let mut rng = Rng::for_row(seed, 0);
        let w: Vec<f32> = (0..d).map(|_| rng.normal() as f32).collect();
        let b = -0.5 * w.iter().sum::<f32>();
        let model = Linear {
            weights: vec![vec![0.0; d], w],
            bias: vec![0.0, b],
            classes: vec!["no".into(), "yes".into()],
            output: Output::Probabilities,
        };
        let xs = (0..rows)
            .map(|_| (0..d).map(|_| rng.uniform() as f32).collect())
            .collect();
        (model, xs)
    }

    /// Whether `x` can be flipped within `eps` at all, inside [0, 1]: the
    /// largest fall of `|z|` is `g . delta` over the box and the ball, with
    /// `g` the weights pointed towards the other class. L-inf: each feature
    /// moves as far as it can; L2: `delta = clamp(lambda g)` with `lambda`
    /// found by bisection where `|delta| = eps`.
    fn reachable(model: &Linear, x: &[f32], norm: Norm, eps: f32) -> bool {
        let w = &model.weights[1];
        let z: f32 = w.iter().zip(x).map(|(a, v)| a * v).sum::<f32>() + model.bias[1];
        let g: Vec<f64> = w
            .iter()
            .map(|&a| f64::from(if z > 0.0 { -a } else { a }))
            .collect();
        let eps = f64::from(eps);
        let delta = |lambda: f64| -> Vec<f64> {
            g.iter()
                .zip(x)
                .map(|(&gi, &v)| (lambda * gi).clamp(-f64::from(v), 1.0 - f64::from(v)))
                .collect()
        };
        let d = match norm {
            Norm::Linf => g
                .iter()
                .zip(x)
                .map(|(&gi, &v)| {
                    let room = if gi > 0.0 {
                        1.0 - f64::from(v)
                    } else {
                        f64::from(v)
                    };
                    gi.signum() * room.min(eps)
                })
                .collect(),
            Norm::L2 => {
                let len = |d: &[f64]| d.iter().map(|v| v * v).sum::<f64>().sqrt();
                let (mut lo, mut hi) = (0.0, 1e6);
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if len(&delta(mid)) <= eps {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                delta(lo)
            }
        };
        let gain: f64 = g.iter().zip(&d).map(|(a, b)| a * b).sum();
        gain >= f64::from(z.abs())
    }

    /// On 20 features, success over 50 rows rises with eps, is never where
    /// the row cannot be flipped, and reaches at least `share` of the rows
    /// that can at each eps.
    pub fn rises_with_eps(run: Attack, norm: Norm, eps: &[f32], budget: usize, share: f32) {
        let (model, xs) = random_linear(20, 50, 11);
        let none = Constraints::default();
        let mut wins = Vec::new();
        let mut possible = Vec::new();
        for &e in eps {
            let mut n = 0;
            let mut p = 0;
            for (i, x) in xs.iter().enumerate() {
                let goal = untargeted(class(&model, x));
                let out = attack(run, &model, x, goal, norm, e, budget, &none, i as u64);
                let can = reachable(&model, x, norm, e);
                if out.adversarial.is_some() {
                    assert!(can, "row {i} flipped at {e}, which cannot be");
                    n += 1;
                }
                p += usize::from(can);
            }
            wins.push(n);
            possible.push(p);
        }
        for pair in wins.windows(2) {
            assert!(pair[0] <= pair[1], "successes {wins:?} at eps {eps:?}");
        }
        assert!(
            wins.first() < wins.last(),
            "successes {wins:?} at eps {eps:?}"
        );
        eprintln!("{norm:?}: successes {wins:?} of possible {possible:?} at eps {eps:?}");
        for (w, p) in wins.iter().zip(&possible) {
            assert!(*w as f32 >= share * *p as f32, "{wins:?} of {possible:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testkit;
    use super::*;

    #[test]
    fn square_flips_the_diagonal_linf() {
        testkit::diagonal(run, Norm::Linf);
    }

    #[test]
    fn square_flips_the_diagonal_l2() {
        testkit::diagonal(run, Norm::L2);
    }

    #[test]
    fn square_edges() {
        testkit::edges(run, Norm::Linf);
        testkit::edges(run, Norm::L2);
    }

    #[test]
    fn square_respects_immutable_features() {
        testkit::immutable(run, Norm::Linf);
        testkit::immutable(run, Norm::L2);
    }

    #[test]
    fn square_targeted_three_classes() {
        testkit::targeted(run, Norm::Linf);
        testkit::targeted(run, Norm::L2);
    }

    #[test]
    fn square_success_rises_with_eps_linf() {
        testkit::rises_with_eps(run, Norm::Linf, &[0.02, 0.05, 0.1, 0.2], 500, 0.95);
    }

    #[test]
    fn square_success_rises_with_eps_l2() {
        testkit::rises_with_eps(run, Norm::L2, &[0.1, 0.25, 0.5, 1.0], 500, 0.95);
    }

    #[test]
    fn the_p_schedule_halves_as_the_paper_says() {
        assert_eq!(share(0, 1000), 0.05);
        assert_eq!(share(1, 1000), 0.05);
        assert_eq!(share(2, 1000), 0.025);
        assert_eq!(share(6, 1000), 0.0125);
        assert_eq!(share(999, 1000), 0.05 / 512.0);
        assert_eq!(subset_size(0.05, 2), 1);
        assert_eq!(subset_size(0.05, 100), 5);
        assert_eq!(subset_size(0.05 / 512.0, 100), 1);
    }

    #[test]
    fn whole_numbers_move_to_the_furthest_inside_the_ball() {
        use super::super::{toy::Linear, Constraints, Goal};
        let model = Linear::diagonal();
        // Feature 1 counts 0..=10; eps 0.17 is 1.7 counts, so 3 moves to 2
        // or 4 (x0 +- 1.7 would round to 1 or 5, outside the ball).
        let (lower, range) = (vec![0.0, 0.0], vec![1.0, 10.0]);
        let constraints = Constraints {
            integer: vec![1],
            ..Constraints::default()
        };
        let oracle = Oracle::new(&model, &lower, &range, &constraints, 10);
        // Raw (0.5, 3): the diagonal model says class 1.
        let x = [0.5, 0.3];
        let task = Task {
            x: &x,
            goal: Goal {
                label: 1,
                target: None,
            },
            starts: &[],
        };
        let settings = Settings {
            norm: Norm::Linf,
            eps: 0.17,
            budget: 10,
        };
        let Start::Go(ctx, _) = start(&oracle, &task, &settings).unwrap() else {
            panic!("the row should be attacked");
        };
        let reach = ctx.reach();
        assert_eq!(reach.len(), 2);
        assert!((reach[0].down.unwrap() - 0.33).abs() < 1e-6);
        assert!((reach[0].up.unwrap() - 0.67).abs() < 1e-6);
        assert!((reach[1].down.unwrap() - 0.2).abs() < 1e-6);
        assert!((reach[1].up.unwrap() - 0.4).abs() < 1e-6);
    }
}
