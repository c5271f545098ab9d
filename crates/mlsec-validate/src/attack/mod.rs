//! Black-box evasion attacks: how small a change to a row flips the model's
//! decision, found by querying the model only.
//!
//! Attacks see every feature scaled to [0, 1] by the feature's bounds (from
//! the data, a profile or the user): `eps` is a share of each feature's range,
//! so one budget means the same on a feature in grams and one in metres. The
//! [`Oracle`] maps rows back before it queries the model, counts the queries
//! against the per-row budget, and keeps rows valid inputs
//! ([`Oracle::project`]: bounds, immutable and integer features, one-hot
//! groups).
//!
//! Score-based attacks ([`square`], [`simba`], [`nes`]) read the model's
//! scores and look for an adversarial row within `eps` of the original.
//! Decision-based attacks ([`hsj`], [`boundary`]) read only the predicted
//! class: they start from an adversarial row and shrink the distance, and
//! stop once it is at most `eps`; their [`Outcome::distance`] gives the
//! success at every larger epsilon from one run.

pub mod boundary;
#[cfg(test)]
mod decision_kit;
pub mod hsj;
pub mod nes;
pub mod simba;
pub mod square;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use mlsec_model::{argmax, Model, ModelError, Output};

use crate::rng::Rng;

/// The attacks, by their `--attack` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Square Attack (Andriushchenko et al., ECCV 2020): random square-shaped
    /// updates at the edge of the ball, kept when the margin falls.
    Square,
    /// SimBA (Guo et al., ICML 2019): one coordinate at a time, +-step, kept
    /// when the margin of the goal falls (the paper's loss is the true
    /// class's probability; the margin also works on raw scores).
    Simba,
    /// HopSkipJump (Chen, Jordan and Wainwright, S&P 2020): gradient
    /// estimation at the decision boundary from labels only.
    Hsj,
    /// Boundary Attack (Brendel, Rauber and Bethge, ICLR 2018): a random walk
    /// along the boundary towards the original row.
    Boundary,
    /// NES (Ilyas et al., ICML 2018): gradient estimated from antithetic
    /// Gaussian samples, then projected gradient descent.
    Nes,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Square,
        Kind::Simba,
        Kind::Hsj,
        Kind::Boundary,
        Kind::Nes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Square => "square",
            Kind::Simba => "simba",
            Kind::Hsj => "hsj",
            Kind::Boundary => "boundary",
            Kind::Nes => "nes",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the attack reads only labels (and so minimises the distance
    /// rather than searching a ball of radius `eps`).
    pub fn decision_based(self) -> bool {
        matches!(self, Kind::Hsj | Kind::Boundary)
    }
}

/// `--attack` and `[validate.redteam] attack`: an unknown name lists the known.
impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::parse(s).ok_or_else(|| {
            let all = Kind::ALL.map(Kind::as_str).join(", ");
            format!("unknown attack `{s}` (attacks: {all})")
        })
    }
}

impl std::str::FromStr for Norm {
    type Err = String;
    fn from_str(s: &str) -> Result<Norm, String> {
        Norm::parse(s).ok_or_else(|| format!("unknown norm `{s}` (norms: linf, l2)"))
    }
}

/// How distance is measured, in the [0, 1]-scaled feature space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Norm {
    /// The largest change of any one feature.
    Linf,
    /// The Euclidean length of the change.
    L2,
}

impl Norm {
    pub fn as_str(self) -> &'static str {
        match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        }
    }

    pub fn parse(s: &str) -> Option<Norm> {
        match s {
            "linf" => Some(Norm::Linf),
            "l2" => Some(Norm::L2),
            _ => None,
        }
    }

    /// The distance between `a` and `b`.
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        let d = a.iter().zip(b).map(|(p, q)| p - q);
        match self {
            Norm::Linf => d.fold(0.0, |m, v| m.max(v.abs())),
            Norm::L2 => d.map(|v| v * v).sum::<f32>().sqrt(),
        }
    }

    /// Moves `x` into the ball of radius `eps` around `x0` (L-inf: clips each
    /// feature; L2: scales the change down).
    pub fn clip_to_ball(self, x0: &[f32], x: &mut [f32], eps: f32) {
        match self {
            Norm::Linf => {
                for (v, &c) in x.iter_mut().zip(x0) {
                    *v = v.clamp(c - eps, c + eps);
                }
            }
            Norm::L2 => {
                let d = self.distance(x0, x);
                if d > eps && d > 0.0 {
                    let scale = eps / d;
                    for (v, &c) in x.iter_mut().zip(x0) {
                        *v = c + (*v - c) * scale;
                    }
                }
            }
        }
    }
}

/// What the attack must achieve: any other class than `label`, or `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Goal {
    /// The class the model gives the original row (its true label: only rows
    /// the model classifies correctly are attacked).
    pub label: usize,
    /// Targeted attacks: the class the row must be given.
    pub target: Option<usize>,
}

impl Goal {
    /// Whether the predicted class `class` meets the goal.
    pub fn reached_by(&self, class: usize) -> bool {
        match self.target {
            Some(t) => class == t,
            None => class != self.label,
        }
    }

    /// Whether one row's scores meet the goal.
    pub fn reached(&self, scores: &[f32]) -> bool {
        argmax(scores).is_some_and(|c| self.reached_by(c))
    }

    /// The margin loss of one row's scores: above 0 while the goal is not
    /// met, at or below 0 once it is. Untargeted: the label's score less the
    /// best other; targeted: the best non-target score less the target's.
    pub fn margin(&self, scores: &[f32]) -> f32 {
        let best_except = |skip: usize| {
            scores
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != skip)
                .fold(f32::NEG_INFINITY, |m, (_, &v)| m.max(v))
        };
        let at = |i: usize| scores.get(i).copied().unwrap_or(f32::NEG_INFINITY);
        match self.target {
            None => at(self.label) - best_except(self.label),
            Some(t) => best_except(t) - at(t),
        }
    }
}

/// Settings of one attack run on one row.
#[derive(Debug, Clone)]
pub struct Settings {
    pub norm: Norm,
    /// Score-based: the radius of the ball searched. Decision-based: stop once
    /// the distance is at most this.
    pub eps: f32,
    /// Queries (rows sent to the model) allowed for this row.
    pub budget: usize,
}

/// One row to attack.
#[derive(Debug, Clone, Copy)]
pub struct Task<'a> {
    /// The original row, scaled to [0, 1].
    pub x: &'a [f32],
    pub goal: Goal,
    /// Rows (scaled) that the model already gives a class meeting the goal,
    /// nearest first: starting points for decision-based attacks. May be
    /// empty; an attack may then search with random noise.
    pub starts: &'a [Vec<f32>],
}

/// What an attack found on one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The adversarial row found (scaled to [0, 1]), if any; the model gives
    /// it a class that meets the goal, as checked by a query.
    pub adversarial: Option<Vec<f32>>,
    /// The distance from the original row to `adversarial`, in the run's norm.
    pub distance: Option<f32>,
    /// Queries the attack used.
    pub queries: usize,
}

impl Outcome {
    /// Whether the attack succeeded within radius `eps` (with a little slack
    /// for float rounding).
    pub fn success_within(&self, eps: f32) -> bool {
        self.adversarial.is_some()
            && self
                .distance
                .is_some_and(|d| d <= eps * (1.0 + 1e-4) + 1e-6)
    }
}

/// Why an attack stopped early.
#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{0}")]
    Unsupported(String),
}

/// Per-feature limits that keep attacked rows valid inputs.
#[derive(Debug, Clone, Default)]
pub struct Constraints {
    /// Features that hold whole numbers.
    pub integer: Vec<usize>,
    /// Features an attacker cannot change (age, a sensor's id).
    pub immutable: Vec<usize>,
    /// Groups of features that encode one category one-hot: exactly one of
    /// each group is 1.
    pub one_hot: Vec<Vec<usize>>,
}

/// The model as an attack sees it: rows scaled to [0, 1], a query budget,
/// and the constraints.
pub struct Oracle<'a> {
    model: &'a dyn Model,
    lower: &'a [f32],
    range: &'a [f32],
    constraints: &'a Constraints,
    budget: usize,
    used: Cell<usize>,
    /// Rows asked for, answered from the cache or not.
    asked: Cell<usize>,
    /// Rows asked for in a row that the cache answered: an attack that only
    /// returns to rows it has tried has nothing left to try.
    stale: Cell<usize>,
    /// Answers by row (the bits of its scaled values): an attacker does not
    /// pay twice for the same row, and on a few features a random search
    /// returns to rows it has tried.
    cache: RefCell<HashMap<Vec<u32>, Vec<f32>>>,
}

/// Rows an attack may ask for, from the cache included, per query of its
/// budget: a bound on an attack that keeps asking for rows it has seen.
const ASKS_PER_QUERY: usize = 20;

/// Rows in a row answered from the cache after which the search is over.
const STALE_ASKS: usize = 200;

impl<'a> Oracle<'a> {
    /// An oracle over `model` for features from `lower` to `lower + range`
    /// (a feature of range 0 cannot change), allowed `budget` queries.
    pub fn new(
        model: &'a dyn Model,
        lower: &'a [f32],
        range: &'a [f32],
        constraints: &'a Constraints,
        budget: usize,
    ) -> Oracle<'a> {
        Oracle {
            model,
            lower,
            range,
            constraints,
            budget,
            used: Cell::new(0),
            asked: Cell::new(0),
            stale: Cell::new(0),
            cache: RefCell::new(HashMap::new()),
        }
    }

    pub fn features(&self) -> usize {
        self.model.features()
    }

    pub fn classes(&self) -> usize {
        self.model.width()
    }

    /// Whether the model gives scores an attack can follow.
    pub fn has_scores(&self) -> bool {
        matches!(self.model.output(), Output::Probabilities | Output::Scores)
    }

    /// Queries used so far: distinct rows sent to the model.
    pub fn used(&self) -> usize {
        self.used.get()
    }

    /// Rows asked for so far, answered from the cache or not.
    pub fn asked(&self) -> usize {
        self.asked.get()
    }

    /// Queries left of the budget (0 also once the attack has asked for
    /// [`ASKS_PER_QUERY`] times its budget in rows, cached ones included,
    /// or [`STALE_ASKS`] rows in a row that it had asked for before).
    pub fn remaining(&self) -> usize {
        if self.asked.get() >= self.budget.saturating_mul(ASKS_PER_QUERY)
            || self.stale.get() >= STALE_ASKS
        {
            return 0;
        }
        self.budget.saturating_sub(self.used.get())
    }

    /// The model's scores for scaled rows: one query per row not asked
    /// before (rows asked before are answered from the cache, free). Asking
    /// for more rows than [`Oracle::remaining`] answers only as many as
    /// remain (possibly none): check the length of the answer.
    pub fn scores(&self, rows: &[f32]) -> Result<Vec<f32>, AttackError> {
        let features = self.features().max(1);
        let width = self.classes().max(1);
        let allowed = self.remaining();
        if allowed == 0 {
            return Ok(Vec::new());
        }
        let mut out: Vec<f32> = Vec::with_capacity(rows.len() / features * width);
        // Rows to send: each distinct new row once, and where its answer goes.
        let mut fresh: Vec<(Vec<u32>, Vec<usize>)> = Vec::new();
        let mut raw = Vec::new();
        let mut answered = 0;
        {
            let cache = self.cache.borrow();
            for (k, row) in rows.chunks_exact(features).enumerate() {
                let key: Vec<u32> = row.iter().map(|v| v.to_bits()).collect();
                if let Some(answer) = cache.get(&key) {
                    out.extend_from_slice(answer);
                    self.stale.set(self.stale.get() + 1);
                } else if let Some(f) = fresh.iter_mut().find(|(f, _)| *f == key) {
                    f.1.push(k);
                    out.resize(out.len() + width, 0.0);
                } else if fresh.len() < allowed {
                    raw.extend(self.unscale(row));
                    fresh.push((key, vec![k]));
                    out.resize(out.len() + width, 0.0);
                } else {
                    break;
                }
                answered += 1;
            }
        }
        self.asked.set(self.asked.get() + answered);
        if fresh.is_empty() {
            return Ok(out);
        }
        self.used.set(self.used.get() + fresh.len());
        self.stale.set(0);
        let answers = self.model.predict(&raw)?;
        let mut cache = self.cache.borrow_mut();
        for ((key, places), answer) in fresh.into_iter().zip(answers.chunks_exact(width)) {
            for k in places {
                if let Some(slot) = out.get_mut(k * width..(k + 1) * width) {
                    slot.copy_from_slice(answer);
                }
            }
            cache.insert(key, answer.to_vec());
        }
        Ok(out)
    }

    /// The predicted classes of scaled rows (one query per row; as many as
    /// remain of the budget).
    pub fn labels(&self, rows: &[f32]) -> Result<Vec<usize>, AttackError> {
        let width = self.classes();
        let scores = self.scores(rows)?;
        scores
            .chunks_exact(width)
            .map(|s| {
                argmax(s).ok_or_else(|| {
                    AttackError::Model(ModelError::Runtime(format!(
                        "{}: a score is NaN",
                        self.model.name()
                    )))
                })
            })
            .collect()
    }

    /// Makes `x` a valid input near where it is: inside [0, 1], immutable
    /// features as in `x0`, integer features whole numbers, one-hot groups
    /// with their largest member set.
    pub fn project(&self, x0: &[f32], x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        }
        for (i, (v, &r)) in x.iter_mut().zip(self.range).enumerate() {
            if r <= 0.0 {
                *v = x0.get(i).copied().unwrap_or(*v);
            }
        }
        for &i in &self.constraints.integer {
            let (Some(v), Some(&lo), Some(&r)) =
                (x.get_mut(i), self.lower.get(i), self.range.get(i))
            else {
                continue;
            };
            if r > 0.0 {
                let raw = (lo + *v * r).round();
                *v = ((raw - lo) / r).clamp(0.0, 1.0);
            }
        }
        for group in &self.constraints.one_hot {
            let best = group.iter().copied().max_by(|&a, &b| {
                let va = x.get(a).copied().unwrap_or(0.0);
                let vb = x.get(b).copied().unwrap_or(0.0);
                va.total_cmp(&vb).then(b.cmp(&a))
            });
            for &i in group {
                if let Some(v) = x.get_mut(i) {
                    *v = if Some(i) == best { 1.0 } else { 0.0 };
                }
            }
        }
        for &i in &self.constraints.immutable {
            if let (Some(v), Some(&c)) = (x.get_mut(i), x0.get(i)) {
                *v = c;
            }
        }
    }

    /// A scaled row in the model's units.
    pub fn unscale<'r>(&'r self, row: &'r [f32]) -> impl Iterator<Item = f32> + 'r {
        row.iter()
            .zip(self.lower.iter().zip(self.range))
            .map(|(&z, (&lo, &r))| lo + z * r)
    }
}

/// Runs attack `kind` on one row.
pub fn run(
    kind: Kind,
    oracle: &Oracle,
    task: &Task,
    settings: &Settings,
    rng: &mut Rng,
) -> Result<Outcome, AttackError> {
    if !kind.decision_based() && !oracle.has_scores() {
        return Err(AttackError::Unsupported(format!(
            "{} reads scores, and the model answers labels only; use hsj or boundary",
            kind.as_str()
        )));
    }
    match kind {
        Kind::Square => square::run(oracle, task, settings, rng),
        Kind::Simba => simba::run(oracle, task, settings, rng),
        Kind::Nes => nes::run(oracle, task, settings, rng),
        Kind::Hsj => hsj::run(oracle, task, settings, rng),
        Kind::Boundary => boundary::run(oracle, task, settings, rng),
    }
}

#[cfg(test)]
pub(crate) mod toy {
    //! Models for the attacks' tests.

    use mlsec_model::{Model, ModelError, Output};

    /// Softmax over linear scores: `scores[c] = w[c] . x + b[c]`.
    pub struct Linear {
        pub weights: Vec<Vec<f32>>,
        pub bias: Vec<f32>,
        pub classes: Vec<String>,
        pub output: Output,
    }

    impl Linear {
        /// Two features in [0, 1], two classes split by x0 + x1 = 1, steep
        /// enough that probabilities are near 0 or 1 away from the line.
        pub fn diagonal() -> Linear {
            Linear {
                weights: vec![vec![-8.0, -8.0], vec![8.0, 8.0]],
                bias: vec![8.0, -8.0],
                classes: vec!["low".into(), "high".into()],
                output: Output::Probabilities,
            }
        }

        /// Labels only, two classes split by the hyperplane `w . x + b = 0`:
        /// class 1 where `w . x + b > 0`, class 0 elsewhere.
        pub fn halfspace(w: Vec<f32>, b: f32) -> Linear {
            Linear {
                weights: vec![vec![0.0; w.len()], w],
                bias: vec![0.0, b],
                classes: vec!["neg".into(), "pos".into()],
                output: Output::Labels,
            }
        }
    }

    impl Model for Linear {
        fn name(&self) -> &str {
            "toy"
        }
        fn features(&self) -> usize {
            self.weights[0].len()
        }
        fn classes(&self) -> &[String] {
            &self.classes
        }
        fn output(&self) -> Output {
            self.output
        }
        fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
            let n = mlsec_model::check_rows(self, rows)?;
            let mut out = Vec::with_capacity(n * self.classes.len());
            for row in rows.chunks_exact(self.features()) {
                let z: Vec<f32> = self
                    .weights
                    .iter()
                    .zip(&self.bias)
                    .map(|(w, b)| w.iter().zip(row).map(|(a, x)| a * x).sum::<f32>() + b)
                    .collect();
                let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
                let s: f32 = e.iter().sum();
                match self.output {
                    Output::Labels => {
                        let c = mlsec_model::argmax(&z).unwrap_or(0);
                        out.extend((0..z.len()).map(|i| if i == c { 1.0 } else { 0.0 }));
                    }
                    _ => out.extend(e.iter().map(|v| v / s)),
                }
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_and_goals() {
        let goal = Goal {
            label: 0,
            target: None,
        };
        assert!(goal.margin(&[0.7, 0.2, 0.1]) > 0.0);
        assert!(goal.margin(&[0.3, 0.6, 0.1]) < 0.0);
        assert!(goal.reached(&[0.3, 0.6, 0.1]));
        let targeted = Goal {
            label: 0,
            target: Some(2),
        };
        assert!(!targeted.reached(&[0.3, 0.6, 0.1]));
        assert!(targeted.margin(&[0.3, 0.6, 0.1]) > 0.0);
        assert!(targeted.margin(&[0.3, 0.1, 0.6]) < 0.0);
    }

    #[test]
    fn the_oracle_counts_queries_and_keeps_rows_valid() {
        let model = toy::Linear::diagonal();
        let (lower, range) = (vec![0.0, 10.0], vec![1.0, 10.0]);
        let constraints = Constraints {
            integer: vec![1],
            immutable: vec![],
            one_hot: vec![],
        };
        let oracle = Oracle::new(&model, &lower, &range, &constraints, 3);
        let scores = oracle.scores(&[0.1, 0.1, 0.9, 0.9]).unwrap();
        assert_eq!(scores.len(), 4);
        assert_eq!(oracle.used(), 2);
        // Rows asked before are answered from the cache, free; a row asked
        // twice in one batch is sent once.
        assert_eq!(oracle.labels(&[0.1, 0.1, 0.9, 0.9]).unwrap().len(), 2);
        assert_eq!(oracle.used(), 2);
        assert_eq!(oracle.scores(&[0.5, 0.4, 0.5, 0.4]).unwrap().len(), 4);
        assert_eq!(oracle.used(), 3);
        assert_eq!(oracle.remaining(), 0);
        assert!(oracle.scores(&[0.6, 0.6]).unwrap().is_empty());

        let mut x = vec![1.5, 0.44];
        oracle.project(&[0.2, 0.2], &mut x);
        // Clipped to 1; 10 + 4.4 rounds to 14, 0.4 when scaled.
        assert_eq!(x[0], 1.0);
        assert!((x[1] - 0.4).abs() < 1e-6);
    }

    #[test]
    fn balls_clip() {
        let mut x = vec![0.9, 0.0];
        Norm::Linf.clip_to_ball(&[0.5, 0.5], &mut x, 0.1);
        assert_eq!(x, vec![0.6, 0.4]);
        let mut y = vec![0.5 + 0.3, 0.5 + 0.4];
        Norm::L2.clip_to_ball(&[0.5, 0.5], &mut y, 0.25);
        assert!((Norm::L2.distance(&[0.5, 0.5], &y) - 0.25).abs() < 1e-6);
    }
}
