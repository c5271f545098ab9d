//! Membership-inference attacks: a score per row, higher meaning "more likely
//! one of the rows the model was trained on".
//!
//! Every attack reads the target model's answer for each row once (the
//! caller queries the model, in one batch, and passes the answers in), and
//! the row's true class; the supervised attack also reads which rows are
//! members. Scores are compared across rows by
//! [`super::metrics`]; none needs a threshold.
//!
//! Metric attacks, from the target's answer alone:
//!
//! - [`Attack::Gap`]: 1 when the model predicts the row's class, else 0. The
//!   baseline of Yeom et al., "Privacy Risk in Machine Learning" (CSF 2018),
//!   and ART's rule-based attack; the only one that works on a model
//!   answering labels.
//! - [`Attack::Loss`]: minus the cross-entropy loss of the true class,
//!   `ln p_y` (Yeom et al. 2018): models fit their training rows better.
//! - [`Attack::Confidence`]: the probability of the true class, `p_y`.
//! - [`Attack::Entropy`]: minus the entropy of the answer, `Σ p ln p`
//!   (Shokri et al. 2017; Salem et al., "ML-Leaks", NDSS 2019): training
//!   rows get sharper answers.
//! - [`Attack::ModifiedEntropy`]: minus the modified entropy of Song and
//!   Mittal, "Systematic Evaluation of Privacy Risks of Machine Learning
//!   Models" (USENIX Security 2021), `Mentr = −(1 − p_y) ln p_y −
//!   Σ_{j≠y} p_j ln(1 − p_j)`: low for a confident right answer, high for a
//!   confident wrong one, which plain entropy confuses. One global threshold
//!   (the paper also fits one per class on shadow data).
//!
//! Probabilities are renormalised to sum to 1, and where `p_y > 1/2` the
//! true class's share is read as `1 − Σ_{j≠y} p_j`: a float32 `p_y` rounds to
//! 1 long before the other classes' probabilities reach 0, and those digits
//! separate an overfit model's members. Logarithms are floored at
//! `ln 1e-30`.
//!
//! Attacks with shadow models, mlsec's own models (see [`super::learner`])
//! trained on data the attacker holds, never on the target's answers:
//!
//! - [`Attack::Shadow`]: Shokri, Stronati, Song and Shmatikov, "Membership
//!   Inference Attacks Against Machine Learning Models" (S&P 2017). Each of
//!   `shadows` models (default 4) trains on a random half of the shadow pool;
//!   its answers on its own half (labelled "in") and on the other half
//!   ("out") train one attack model per class of the true label: logistic
//!   regression (C = 1, standardised features) on the answer's probabilities
//!   sorted high to low, plus the logit-scaled confidence of the true class
//!   (below), which sorting hides. A class with fewer than 5 "in" or "out"
//!   rows uses an attack model fitted on every class. Score: the attack
//!   model's log-odds of "in" for the target's answer.
//! - [`Attack::Lira`] and [`Attack::LiraOffline`]: the likelihood ratio
//!   attack of Carlini, Chien, Nasr, Song, Terzis and Tramèr, "Membership
//!   Inference Attacks From First Principles" (S&P 2022). The population is
//!   every row attacked plus the shadow pool; each of `shadows` models
//!   (default 16) trains on half of it, chosen so that every attacked row is
//!   "in" for half the shadows and "out" for the rest. For each attacked row,
//!   the shadows' logit-scaled confidence of its true class,
//!   `φ = ln p_y − ln Σ_{j≠y} p_j` (floored at ln 1e-30 each, so |φ| ≤ 69),
//!   is modelled as a Gaussian over the "in" shadows and another over the
//!   "out" shadows, and the target's own φ is scored:
//!   - online: `ln N(φ; μ_in, σ_in²) − ln N(φ; μ_out, σ_out²)`;
//!   - offline: one-sided against "out" only, `(φ − μ_out) / σ_out`, which
//!     ranks rows as the paper's `1 − Pr[Z > φ]`, Z ~ N(μ_out, σ_out²) does,
//!     without losing the tail to rounding.
//!
//!   The means are per row; an "in" mean below the "out" mean (the noise of
//!   few shadows: training on a row does not make a model less sure of it)
//!   is raised to the "out" mean, so such a row scores 0 online instead of
//!   the sign of the noise. With fewer than 64 shadows ([`Variance::Auto`])
//!   the variance is global, as the paper advises for few shadows: the
//!   pooled variance of φ about each row's means, one for "in" and "out"
//!   together (online) and one for "out" (offline). One shared variance
//!   keeps the online score linear in φ, so a target more confident than any
//!   shadow still reads as a member where "in" shadows are more confident
//!   than "out" ones. From 64 shadows each row gets its own `σ_in` and
//!   `σ_out`. Standard deviations are floored at 1e-3.
//!
//!   The paper's shadows share the target's architecture and training; here
//!   the target is a black box and the shadows are mlsec's MLP, whose
//!   confidences live on another scale (a random forest answers p = 1
//!   exactly, φ = 69, where an MLP says φ = 8). So by default
//!   ([`LiraSettings::calibrate`]) the target's φ are first mapped onto the
//!   shadows' scale by quantiles: the target's φ over the attacked rows
//!   (half of them members) and the shadows' φ over the same rows (half of
//!   the pairs "in") are both such mixtures, and each target value goes to
//!   the shadow quantile of its mid-rank. The map is monotone, so it keeps
//!   the target's order of rows and changes only how that order meets each
//!   row's shadow means. Against scikit-learn models (digits and a
//!   synthetic 3-class table, half of the rows members) it raised online
//!   LiRA's AUC from 0.61 to 0.90 and from 0.52 to 0.76 on random forests,
//!   and by 0.01 to 0.06 on MLPs; with shadows that match the target it is
//!   close to the identity.
//! - [`Attack::Supervised`]: an attack model learned from the audit's own
//!   ground truth, which an auditor has and an outside attacker usually has
//!   not (as IBM ART's `MembershipInferenceBlackBox`, which is fitted on
//!   known members and non-members). Each row's features are what the
//!   other attacks read (φ, `ln p_y`, both entropies, whether the answer
//!   is right, the sorted log-probabilities) and, from LiRA's shadows, the
//!   row's calibrated φ, "in" and "out" means and both LiRA scores; each
//!   feature is replaced by its rank. An MLP (32 hidden units, 300 steps,
//!   L2 1e-3) is fitted on 4 of 5 stratified folds and scores the fifth
//!   (log-odds of "member"), so no row is scored by a model that saw its
//!   membership. It learns what one threshold cannot: an sklearn MLP that
//!   stops at a training loss leaves its members at a band of confidence,
//!   below the confidence of easy non-members. The strongest attack here
//!   (or tied) on each of six scikit-learn models tried (random forests and
//!   MLPs on digits, breast cancer and a synthetic table): the upper bound
//!   of the audit.
//!
//! Shadow models train in parallel. Everything random comes from the seed.

use mlsec_model::argmax;
use mlsec_stats::issues::logistic::{LogisticOptions, LogisticRegression};
use mlsec_stats::issues::Matrix;
use rayon::prelude::*;

use super::learner::{Learner, Scaler};
use crate::error::ValidateError;
use crate::rng::Rng;

/// The attacks, by their `--attack` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attack {
    /// `gap`: 1 for a right prediction, 0 for a wrong one (Yeom et al.).
    Gap,
    /// `loss`: `ln p_y`, minus the cross-entropy loss (Yeom et al.).
    Loss,
    /// `confidence`: `p_y`.
    Confidence,
    /// `entropy`: minus the answer's entropy (Shokri et al.; Salem et al.).
    Entropy,
    /// `mentr`: minus the modified entropy (Song and Mittal).
    ModifiedEntropy,
    /// `shadow`: attack models trained on shadow models' answers (Shokri et
    /// al.); 4 shadows by default.
    Shadow,
    /// `lira`: online likelihood ratio against "in" and "out" shadows
    /// (Carlini et al.); 16 shadows by default.
    Lira,
    /// `lira-offline`: one-sided test against "out" shadows only.
    LiraOffline,
    /// `supervised`: an attack model cross-fitted on the audit's known
    /// members and non-members, over every signal above.
    Supervised,
}

impl Attack {
    pub const ALL: [Attack; 9] = [
        Attack::Gap,
        Attack::Loss,
        Attack::Confidence,
        Attack::Entropy,
        Attack::ModifiedEntropy,
        Attack::Shadow,
        Attack::Lira,
        Attack::LiraOffline,
        Attack::Supervised,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attack::Gap => "gap",
            Attack::Loss => "loss",
            Attack::Confidence => "confidence",
            Attack::Entropy => "entropy",
            Attack::ModifiedEntropy => "mentr",
            Attack::Shadow => "shadow",
            Attack::Lira => "lira",
            Attack::LiraOffline => "lira-offline",
            Attack::Supervised => "supervised",
        }
    }

    pub fn parse(s: &str) -> Option<Attack> {
        Attack::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The attacks a model answering `output` allows: all of them for
    /// probabilities, `gap` for labels and scores, none for a regressor.
    pub fn defaults(output: mlsec_model::Output) -> Vec<Attack> {
        match output {
            mlsec_model::Output::Probabilities => Attack::ALL.to_vec(),
            mlsec_model::Output::Labels | mlsec_model::Output::Scores => vec![Attack::Gap],
            mlsec_model::Output::Values => Vec::new(),
        }
    }

    /// Whether the attack reads probabilities (every one but `gap`).
    pub fn needs_probabilities(self) -> bool {
        self != Attack::Gap
    }

    /// Whether the attack trains shadow models.
    pub fn uses_shadows(self) -> bool {
        matches!(
            self,
            Attack::Shadow | Attack::Lira | Attack::LiraOffline | Attack::Supervised
        )
    }
}

/// `privacy --attack` and `[validate.privacy] attack`: an unknown name
/// lists the known.
impl std::str::FromStr for Attack {
    type Err = String;
    fn from_str(s: &str) -> Result<Attack, String> {
        Attack::parse(s).ok_or_else(|| {
            let all = Attack::ALL.map(|a| a.as_str()).join(", ");
            format!("unknown attack `{s}` (attacks: {all})")
        })
    }
}

/// Rows the attacker holds: `labels.len()` rows of `d` features, row after
/// row, each with its true class.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    pub x: &'a [f32],
    pub d: usize,
    pub labels: &'a [usize],
}

impl Rows<'_> {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn check(&self, what: &str, classes: usize) -> Result<(), ValidateError> {
        if self.d == 0 || self.x.len() != self.labels.len() * self.d {
            return Err(ValidateError::Usage(format!(
                "{what}: {} numbers are not {} rows of {} features",
                self.x.len(),
                self.labels.len(),
                self.d
            )));
        }
        if let Some(l) = self.labels.iter().find(|&&l| l >= classes) {
            return Err(ValidateError::Usage(format!(
                "{what}: class {l} is not one of the model's {classes} classes"
            )));
        }
        Ok(())
    }
}

/// The smallest probability a logarithm sees.
const FLOOR: f64 = 1e-30;

fn ln_floor(v: f64) -> f64 {
    v.max(FLOOR).ln()
}

/// One answer read for a row's true class.
struct Answer {
    /// Probabilities, renormalised to sum to 1.
    p: Vec<f64>,
    /// The true class's probability.
    py: f64,
    /// The other classes' total: `1 − py`, kept exactly.
    rest: f64,
    y: usize,
}

impl Answer {
    fn new(row: &[f32], y: usize) -> Answer {
        let raw: Vec<f64> = row
            .iter()
            .map(|&v| {
                if v.is_finite() {
                    f64::from(v).max(0.0)
                } else {
                    0.0
                }
            })
            .collect();
        let total: f64 = raw.iter().sum();
        let p: Vec<f64> = if total > 0.0 && total.is_finite() {
            raw.iter().map(|v| v / total).collect()
        } else {
            vec![1.0 / raw.len().max(1) as f64; raw.len()]
        };
        let rest: f64 = p
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != y)
            .map(|(_, v)| v)
            .sum();
        let py = p.get(y).copied().unwrap_or(0.0);
        Answer { p, py, rest, y }
    }

    /// `ln p_y`, from the other classes where `p_y` is near 1.
    fn ln_py(&self) -> f64 {
        if self.py > 0.5 {
            (-self.rest).ln_1p()
        } else {
            ln_floor(self.py)
        }
    }

    fn confidence(&self) -> f64 {
        if self.py > 0.5 {
            1.0 - self.rest
        } else {
            self.py
        }
    }

    /// φ = ln p_y − ln Σ_{j≠y} p_j.
    fn phi(&self) -> f64 {
        ln_floor(self.py) - ln_floor(self.rest)
    }

    /// `ln(1 − p_j)`, from the other classes where `p_j` is near 1.
    fn ln_one_minus(&self, j: usize) -> f64 {
        let pj = self.p.get(j).copied().unwrap_or(0.0);
        if pj > 0.5 {
            let others: f64 = self
                .p
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != j)
                .map(|(_, v)| v)
                .sum();
            ln_floor(others)
        } else {
            (-pj).ln_1p()
        }
    }

    fn neg_entropy(&self) -> f64 {
        self.p
            .iter()
            .filter(|&&v| v > 0.0)
            .map(|&v| v * v.ln())
            .sum()
    }

    fn neg_modified_entropy(&self) -> f64 {
        let own = self.rest * self.ln_py();
        let others: f64 = self
            .p
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != self.y)
            .map(|(j, &pj)| pj * self.ln_one_minus(j))
            .sum();
        own + others
    }
}

/// φ of each row's answer for its true class (see the module's notes).
pub fn logit_confidence(answers: &[f32], classes: usize, labels: &[usize]) -> Vec<f64> {
    answers
        .chunks_exact(classes.max(1))
        .zip(labels)
        .map(|(row, &y)| Answer::new(row, y).phi())
        .collect()
}

/// The scores of a metric attack (`gap`, `loss`, `confidence`, `entropy`,
/// `mentr`) from the target's answers, `classes` numbers per row, and each
/// row's true class. `None` for an attack that needs shadow models.
pub fn metric_scores(
    attack: Attack,
    answers: &[f32],
    classes: usize,
    labels: &[usize],
) -> Option<Vec<f64>> {
    let rows = answers.chunks_exact(classes.max(1)).zip(labels);
    let scores = match attack {
        Attack::Gap => rows
            .map(|(row, &y)| f64::from(u8::from(argmax(row) == Some(y))))
            .collect(),
        Attack::Loss => rows.map(|(r, &y)| Answer::new(r, y).ln_py()).collect(),
        Attack::Confidence => rows.map(|(r, &y)| Answer::new(r, y).confidence()).collect(),
        Attack::Entropy => rows
            .map(|(r, &y)| Answer::new(r, y).neg_entropy())
            .collect(),
        Attack::ModifiedEntropy => rows
            .map(|(r, &y)| Answer::new(r, y).neg_modified_entropy())
            .collect(),
        Attack::Shadow | Attack::Lira | Attack::LiraOffline | Attack::Supervised => return None,
    };
    Some(scores)
}

/// Settings of the shadow-model attack.
#[derive(Debug, Clone)]
pub struct ShadowSettings {
    /// Shadow models (default 4).
    pub shadows: usize,
    pub learner: Learner,
    pub seed: u64,
}

impl Default for ShadowSettings {
    fn default() -> Self {
        ShadowSettings {
            shadows: 4,
            learner: Learner::default(),
            seed: 0,
        }
    }
}

/// Rows an attack model reads per answer: the sorted probabilities and φ.
fn attack_features(row: &[f32], y: usize) -> Vec<f64> {
    let a = Answer::new(row, y);
    let mut f = a.p.clone();
    f.sort_by(|x, y| y.total_cmp(x));
    f.push(a.phi());
    f
}

/// A random half of `0..n` (the first `n / 2` of a seeded shuffle) as a
/// membership mask.
fn random_half(n: usize, rng: &mut Rng) -> Vec<bool> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut inside = vec![false; n];
    for &i in order.iter().take(n / 2) {
        if let Some(v) = inside.get_mut(i) {
            *v = true;
        }
    }
    inside
}

/// `x`'s rows where `keep` is true.
fn select(x: &[f64], d: usize, keep: &[bool]) -> Vec<f64> {
    x.chunks_exact(d.max(1))
        .zip(keep)
        .filter(|(_, &k)| k)
        .flat_map(|(r, _)| r.iter().copied())
        .collect()
}

fn select_labels(labels: &[usize], keep: &[bool]) -> Vec<usize> {
    labels
        .iter()
        .zip(keep)
        .filter(|(_, &k)| k)
        .map(|(&l, _)| l)
        .collect()
}

/// A binary attack model: standardisation and logistic regression.
struct AttackModel {
    mean: Vec<f64>,
    std: Vec<f64>,
    model: LogisticRegression,
}

impl AttackModel {
    /// Fitted on (features, in?) pairs; `None` without both kinds.
    fn fit(features: &[Vec<f64>], inside: &[bool]) -> Option<AttackModel> {
        let ins = inside.iter().filter(|&&b| b).count();
        if ins == 0 || ins == inside.len() {
            return None;
        }
        let raw = Matrix::from_rows(features).ok()?;
        let (mean, std) = raw.column_scales();
        let x = raw.standardised();
        let y: Vec<usize> = inside.iter().map(|&b| usize::from(b)).collect();
        let opts = LogisticOptions {
            c: 1.0,
            max_iter: 1000,
            tol: 1e-6,
        };
        let model = LogisticRegression::fit(&x, &y, 2, &opts).ok()?;
        Some(AttackModel { mean, std, model })
    }

    /// Log-odds of "in".
    fn score(&self, f: &[f64]) -> f64 {
        let z: Vec<f64> = f
            .iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| {
                let z = (v - m) / s;
                if z.is_finite() {
                    z
                } else {
                    0.0
                }
            })
            .collect();
        let Ok(m) = Matrix::new(z, f.len()) else {
            return 0.0;
        };
        match self.model.predict_proba(&m) {
            Ok(p) => p
                .first()
                .map(|p| {
                    ln_floor(p.get(1).copied().unwrap_or(0.0))
                        - ln_floor(p.first().copied().unwrap_or(0.0))
                })
                .unwrap_or(0.0),
            Err(_) => 0.0,
        }
    }
}

/// Attack-model rows per class that make a class model worth fitting.
const MIN_CLASS_ROWS: usize = 5;

/// The shadow-model attack of Shokri et al.: scores of the target's
/// `answers` (`classes` per row) for rows of true classes `labels`, from
/// shadow models trained on halves of `pool`.
pub fn shadow_attack(
    answers: &[f32],
    labels: &[usize],
    classes: usize,
    pool: Rows<'_>,
    settings: &ShadowSettings,
) -> Result<Vec<f64>, ValidateError> {
    pool.check("shadow pool", classes)?;
    settings.learner.check().map_err(ValidateError::Usage)?;
    if settings.shadows == 0 {
        return Err(ValidateError::Usage(
            "the shadow attack needs at least 1 shadow model".into(),
        ));
    }
    if pool.len() < 4 {
        return Err(ValidateError::Usage(format!(
            "the shadow attack needs a shadow pool of at least 4 rows, not {}",
            pool.len()
        )));
    }
    let d = pool.d;
    let scaler = Scaler::fit(pool.x.chunks_exact(d), d);
    let x = scaler.apply(pool.x);

    // Each shadow's answers on its "in" and "out" rows, as attack rows.
    type Shadow = Vec<(usize, Vec<f64>, bool)>;
    let shadows: Vec<Shadow> = (0..settings.shadows)
        .into_par_iter()
        .map(|s| {
            let mut rng = Rng::for_row(settings.seed ^ 0x5348_4B52, s as u64);
            let inside = random_half(pool.len(), &mut rng);
            let Some(model) = settings.learner.fit(
                &select(&x, d, &inside),
                d,
                &select_labels(pool.labels, &inside),
                classes,
                rng.next_u64(),
            ) else {
                return Vec::new();
            };
            model
                .probabilities(&x)
                .chunks_exact(classes.max(1))
                .zip(pool.labels)
                .zip(&inside)
                .map(|((row, &y), &i)| (y, attack_features(row, y), i))
                .collect()
        })
        .collect();

    let mut all_f = Vec::new();
    let mut all_in = Vec::new();
    let mut by_class: Vec<(Vec<Vec<f64>>, Vec<bool>)> = vec![(Vec::new(), Vec::new()); classes];
    for (y, f, i) in shadows.into_iter().flatten() {
        if let Some((cf, ci)) = by_class.get_mut(y) {
            cf.push(f.clone());
            ci.push(i);
        }
        all_f.push(f);
        all_in.push(i);
    }
    let pooled = AttackModel::fit(&all_f, &all_in);
    let models: Vec<Option<AttackModel>> = by_class
        .par_iter()
        .map(|(f, i)| {
            let ins = i.iter().filter(|&&b| b).count();
            if ins < MIN_CLASS_ROWS || i.len() - ins < MIN_CLASS_ROWS {
                return None;
            }
            AttackModel::fit(f, i)
        })
        .collect();
    Ok(answers
        .chunks_exact(classes.max(1))
        .zip(labels)
        .map(|(row, &y)| {
            let f = attack_features(row, y);
            match models.get(y).and_then(Option::as_ref).or(pooled.as_ref()) {
                Some(m) => m.score(&f),
                None => 0.0,
            }
        })
        .collect())
}

/// How LiRA estimates the spread of φ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variance {
    /// Global below 64 shadows, per row from 64 on (the paper's advice).
    Auto,
    /// One pooled variance for every row.
    Global,
    /// Each row's own.
    PerRow,
}

/// Settings of LiRA.
#[derive(Debug, Clone)]
pub struct LiraSettings {
    /// Shadow models (default 16; at least 2).
    pub shadows: usize,
    pub learner: Learner,
    pub variance: Variance,
    /// Map the target's φ onto the shadows' scale first (default true; see
    /// the module's notes).
    pub calibrate: bool,
    pub seed: u64,
}

impl Default for LiraSettings {
    fn default() -> Self {
        LiraSettings {
            shadows: 16,
            learner: Learner::default(),
            variance: Variance::Auto,
            calibrate: true,
            seed: 0,
        }
    }
}

/// `target` mapped onto the distribution of `shadow` by quantiles: each
/// value goes to the shadow quantile at its mid-rank among `target` (ties
/// share one), interpolated linearly. Monotone, so the target's order of
/// rows is kept.
fn quantile_map(target: &[f64], shadow: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = shadow.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() || target.is_empty() {
        return target.to_vec();
    }
    let mut order: Vec<usize> = (0..target.len()).collect();
    order.sort_by(|&a, &b| {
        let va = target.get(a).copied().unwrap_or(0.0);
        let vb = target.get(b).copied().unwrap_or(0.0);
        va.total_cmp(&vb)
    });
    let at = |q: f64| {
        let pos = (q * sorted.len() as f64 - 0.5).clamp(0.0, (sorted.len() - 1) as f64);
        let lo = pos.floor();
        let frac = pos - lo;
        let lo = lo as usize;
        let a = sorted.get(lo).copied().unwrap_or(0.0);
        let b = sorted.get(lo + 1).copied().unwrap_or(a);
        a + (b - a) * frac
    };
    let n = target.len() as f64;
    let mut out = vec![0.0; target.len()];
    let mut start = 0;
    while start < order.len() {
        let value = |k: usize| {
            order
                .get(k)
                .and_then(|&i| target.get(i))
                .copied()
                .unwrap_or(0.0)
        };
        let mut end = start + 1;
        while end < order.len() && value(end) == value(start) {
            end += 1;
        }
        // Mid-rank of the tied block, as a quantile.
        let q = ((start + end) as f64 / 2.0) / n;
        let mapped = at(q);
        for &i in order.get(start..end).unwrap_or(&[]) {
            if let Some(o) = out.get_mut(i) {
                *o = mapped;
            }
        }
        start = end;
    }
    out
}

/// Both LiRA scores of every attacked row.
#[derive(Debug, Clone, PartialEq)]
pub struct LiraScores {
    pub online: Vec<f64>,
    pub offline: Vec<f64>,
    /// The target's φ of each row, on the shadows' scale when calibrated.
    pub phi: Vec<f64>,
    /// Mean φ of each row over the shadows trained on it.
    pub mean_in: Vec<f64>,
    /// Mean φ of each row over the other shadows.
    pub mean_out: Vec<f64>,
}

/// Shadows from which each row gets its own variance under
/// [`Variance::Auto`].
const PER_ROW_FROM: usize = 64;

/// The smallest standard deviation of φ used.
const MIN_STD: f64 = 1e-3;

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Sum of squared deviations from `m`.
fn squares(v: &[f64], m: f64) -> f64 {
    v.iter().map(|x| (x - m) * (x - m)).sum()
}

/// ln of the normal density, less the constant −ln √(2π) (it cancels).
fn ln_normal(x: f64, m: f64, s: f64) -> f64 {
    let z = (x - m) / s;
    -0.5 * z * z - s.ln()
}

/// LiRA (Carlini et al. 2022), online and offline, of the `targets` rows,
/// whose answers from the target model are `answers` (`classes` per row),
/// with shadow models trained on halves of `targets` ∪ `pool`.
pub fn lira(
    answers: &[f32],
    targets: Rows<'_>,
    pool: Rows<'_>,
    classes: usize,
    settings: &LiraSettings,
) -> Result<LiraScores, ValidateError> {
    targets.check("attacked rows", classes)?;
    pool.check("shadow pool", classes)?;
    settings.learner.check().map_err(ValidateError::Usage)?;
    if pool.d != targets.d {
        return Err(ValidateError::Usage(format!(
            "the shadow pool has {} features and the attacked rows {}",
            pool.d, targets.d
        )));
    }
    if settings.shadows < 2 {
        return Err(ValidateError::Usage(
            "LiRA needs at least 2 shadow models (one in, one out per row)".into(),
        ));
    }
    if answers.len() != targets.len() * classes {
        return Err(ValidateError::Usage(format!(
            "{} answers for {} rows of {classes} classes",
            answers.len(),
            targets.len()
        )));
    }
    let (d, n, m) = (targets.d, settings.shadows, targets.len());
    let x_all: Vec<f32> = targets.x.iter().chain(pool.x).copied().collect();
    let labels: Vec<usize> = targets.labels.iter().chain(pool.labels).copied().collect();
    let scaler = Scaler::fit(x_all.chunks_exact(d), d);
    let x = scaler.apply(&x_all);
    let x_targets = x.get(..m * d).unwrap_or(&[]);

    // Row i is "in" for shadow s when keep[i * n + s]: for each row, a
    // random half of the shadows (the larger half at random when n is odd).
    let mut keep = vec![false; labels.len() * n];
    for (i, row) in keep.chunks_exact_mut(n).enumerate() {
        let mut rng = Rng::for_row(settings.seed ^ 0x4C49_5241, i as u64);
        let half = random_half(n, &mut rng);
        let extra = n % 2 == 1 && rng.below(2) == 1;
        let mut first_out = true;
        for (k, h) in row.iter_mut().zip(half) {
            *k = h;
            if extra && !h && first_out {
                *k = true;
                first_out = false;
            }
        }
    }

    // φ of every attacked row under every shadow, shadow after shadow.
    let phis: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|s| {
            let inside: Vec<bool> = keep.iter().skip(s).step_by(n).copied().collect();
            let model = settings.learner.fit(
                &select(&x, d, &inside),
                d,
                &select_labels(&labels, &inside),
                classes,
                Rng::for_row(settings.seed ^ 0x4C49_5241, u64::MAX - s as u64).next_u64(),
            );
            match model {
                Some(f) => logit_confidence(&f.probabilities(x_targets), classes, targets.labels),
                None => vec![0.0; m],
            }
        })
        .collect();

    let mut target_phi = logit_confidence(answers, classes, targets.labels);
    if settings.calibrate {
        let all: Vec<f64> = phis.iter().flatten().copied().collect();
        target_phi = quantile_map(&target_phi, &all);
    }
    // Per row: the "in" and "out" φ.
    let split: Vec<(Vec<f64>, Vec<f64>)> = (0..m)
        .map(|i| {
            let mut ins = Vec::new();
            let mut outs = Vec::new();
            for (s, p) in phis.iter().enumerate() {
                let v = p.get(i).copied().unwrap_or(0.0);
                if keep.get(i * n + s).copied().unwrap_or(false) {
                    ins.push(v);
                } else {
                    outs.push(v);
                }
            }
            (ins, outs)
        })
        .collect();
    let per_row = match settings.variance {
        Variance::PerRow => true,
        Variance::Global => false,
        Variance::Auto => n >= PER_ROW_FROM,
    };
    // Pooled variances about each row's means.
    let (mut ss_in, mut ss_out, mut df_in, mut df_out) = (0.0, 0.0, 0usize, 0usize);
    for (ins, outs) in &split {
        ss_in += squares(ins, mean(ins));
        ss_out += squares(outs, mean(outs));
        df_in += ins.len().saturating_sub(1);
        df_out += outs.len().saturating_sub(1);
    }
    let pooled = |ss: f64, df: usize| {
        if df == 0 {
            MIN_STD
        } else {
            (ss / df as f64).sqrt().max(MIN_STD)
        }
    };
    let global_shared = pooled(ss_in + ss_out, df_in + df_out);
    let global_out = pooled(ss_out, df_out);

    let mut online = Vec::with_capacity(m);
    let mut offline = Vec::with_capacity(m);
    let mut mean_in = Vec::with_capacity(m);
    let mut mean_out = Vec::with_capacity(m);
    for ((ins, outs), &phi) in split.iter().zip(&target_phi) {
        // Training on a row does not make a model less sure of it: an
        // "in" mean below the "out" mean is the noise of few shadows, and
        // would flip the sign of the score.
        let (mu_out, mu_in) = (mean(outs), mean(ins).max(mean(outs)));
        mean_in.push(mu_in);
        mean_out.push(mu_out);
        if per_row {
            let sd = |v: &[f64], mu: f64| {
                let df = v.len().saturating_sub(1).max(1) as f64;
                (squares(v, mu) / df).sqrt().max(MIN_STD)
            };
            let (s_in, s_out) = (sd(ins, mu_in), sd(outs, mu_out));
            online.push(ln_normal(phi, mu_in, s_in) - ln_normal(phi, mu_out, s_out));
            offline.push((phi - mu_out) / s_out);
        } else {
            let s = global_shared;
            online.push(((phi - mu_out).powi(2) - (phi - mu_in).powi(2)) / (2.0 * s * s));
            offline.push((phi - mu_out) / global_out);
        }
    }
    Ok(LiraScores {
        online,
        offline,
        phi: target_phi,
        mean_in,
        mean_out,
    })
}

/// Settings of the supervised attack.
#[derive(Debug, Clone)]
pub struct SupervisedSettings {
    /// Cross-fitting folds (default 5; at least 2).
    pub folds: usize,
    /// The attack model (default: an MLP of 32 hidden units, 300 steps,
    /// L2 1e-3, regularised to generalise rather than memorise).
    pub learner: Learner,
    pub seed: u64,
}

impl Default for SupervisedSettings {
    fn default() -> Self {
        SupervisedSettings {
            folds: 5,
            learner: Learner::Mlp(super::learner::Mlp {
                hidden: 32,
                steps: 300,
                learning_rate: 0.01,
                l2: 1e-3,
            }),
            seed: 0,
        }
    }
}

/// Largest number of sorted log-probabilities the supervised attack reads.
const TOP_PROBABILITIES: usize = 10;

/// What the supervised attack reads of each row: φ, `ln p_y`, minus the
/// entropy and modified entropy, whether the prediction is right, the
/// log-probabilities sorted high to low (at most 10), and when LiRA ran, the
/// row's calibrated φ, mean "in" and "out" φ and both LiRA scores.
pub fn supervised_features(
    answers: &[f32],
    classes: usize,
    labels: &[usize],
    lira: Option<&LiraScores>,
) -> Vec<Vec<f64>> {
    answers
        .chunks_exact(classes.max(1))
        .zip(labels)
        .enumerate()
        .map(|(i, (row, &y))| {
            let a = Answer::new(row, y);
            let mut f = vec![
                a.phi(),
                a.ln_py(),
                a.neg_entropy(),
                a.neg_modified_entropy(),
                f64::from(u8::from(argmax(row) == Some(y))),
            ];
            let mut logs: Vec<f64> = a.p.iter().map(|&v| ln_floor(v)).collect();
            logs.sort_by(|x, y| y.total_cmp(x));
            f.extend(logs.into_iter().take(TOP_PROBABILITIES));
            if let Some(l) = lira {
                let at = |v: &[f64]| v.get(i).copied().unwrap_or(0.0);
                f.extend([
                    at(&l.phi),
                    at(&l.mean_in),
                    at(&l.mean_out),
                    at(&l.phi) - at(&l.mean_out),
                    at(&l.online),
                    at(&l.offline),
                ]);
            }
            f
        })
        .collect()
}

/// Each column of `features` replaced by its mid-rank over the rows,
/// centred and scaled to unit variance: robust to the heavy tails of
/// log-likelihood ratios, and fitted on features only (no membership).
fn rank_columns(features: &[Vec<f64>]) -> Vec<f64> {
    let n = features.len();
    let d = features.first().map_or(0, Vec::len);
    let mut out = vec![0.0; n * d];
    let scale = 12f64.sqrt();
    for j in 0..d {
        let column: Vec<f64> = features
            .iter()
            .map(|r| r.get(j).copied().unwrap_or(0.0))
            .map(|v| if v.is_nan() { f64::NEG_INFINITY } else { v })
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            let va = column.get(a).copied().unwrap_or(0.0);
            let vb = column.get(b).copied().unwrap_or(0.0);
            va.total_cmp(&vb)
        });
        let mut start = 0;
        while start < n {
            let value = |k: usize| {
                order
                    .get(k)
                    .and_then(|&i| column.get(i))
                    .copied()
                    .unwrap_or(0.0)
            };
            let mut end = start + 1;
            while end < n && value(end) == value(start) {
                end += 1;
            }
            let q = ((start + end) as f64 / 2.0) / n as f64 - 0.5;
            for &i in order.get(start..end).unwrap_or(&[]) {
                if let Some(o) = out.get_mut(i * d + j) {
                    *o = q * scale;
                }
            }
            start = end;
        }
    }
    out
}

/// The supervised attack: scores of rows with `features`, whose membership
/// `member` the audit knows, each from an attack model fitted on the other
/// folds (so no row's score comes from a model that saw its membership).
pub fn supervised_attack(
    features: &[Vec<f64>],
    member: &[bool],
    settings: &SupervisedSettings,
) -> Result<Vec<f64>, ValidateError> {
    settings.learner.check().map_err(ValidateError::Usage)?;
    let n = features.len();
    let d = features.first().map_or(0, Vec::len);
    if member.len() != n || features.iter().any(|f| f.len() != d) || d == 0 {
        return Err(ValidateError::Usage(format!(
            "supervised attack: {n} feature rows and {} membership flags",
            member.len()
        )));
    }
    let ins = member.iter().filter(|&&m| m).count();
    if settings.folds < 2 || ins < settings.folds || n - ins < settings.folds {
        return Err(ValidateError::Usage(format!(
            "the supervised attack needs at least 2 folds and as many members and non-members as folds ({ins} and {})",
            n - ins
        )));
    }
    let x = rank_columns(features);
    // Stratified folds: each side shuffled and dealt in turn.
    let mut fold = vec![0usize; n];
    let mut rng = Rng::for_row(settings.seed ^ 0x5355_5056, 0);
    for side in [true, false] {
        let mut idx: Vec<usize> = (0..n).filter(|&i| member.get(i) == Some(&side)).collect();
        for i in (1..idx.len()).rev() {
            idx.swap(i, rng.below(i + 1));
        }
        for (k, &i) in idx.iter().enumerate() {
            if let Some(f) = fold.get_mut(i) {
                *f = k % settings.folds;
            }
        }
    }
    let labels: Vec<usize> = member.iter().map(|&m| usize::from(m)).collect();
    let per_fold: Vec<Vec<(usize, f64)>> = (0..settings.folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<bool> = fold.iter().map(|&g| g != f).collect();
            let test: Vec<bool> = train.iter().map(|t| !t).collect();
            let model = settings.learner.fit(
                &select(&x, d, &train),
                d,
                &select_labels(&labels, &train),
                2,
                Rng::for_row(settings.seed ^ 0x5355_5056, 1 + f as u64).next_u64(),
            );
            let rows: Vec<usize> = (0..n).filter(|&i| test.get(i) == Some(&true)).collect();
            let scores = match model {
                Some(m) => m.log_odds(&select(&x, d, &test)),
                None => vec![0.0; rows.len()],
            };
            rows.into_iter().zip(scores).collect()
        })
        .collect();
    let mut out = vec![0.0; n];
    for (i, s) in per_fold.into_iter().flatten() {
        if let Some(o) = out.get_mut(i) {
            *o = s;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_scores_order_confident_right_answers_first() {
        // Rows: confident right, unsure, confident wrong; true class 0.
        let answers = [0.98f32, 0.01, 0.01, 0.5, 0.3, 0.2, 0.02, 0.96, 0.02];
        let labels = [0, 0, 0];
        for attack in [Attack::Loss, Attack::Confidence, Attack::ModifiedEntropy] {
            let s = metric_scores(attack, &answers, 3, &labels).unwrap();
            assert!(s[0] > s[1] && s[1] > s[2], "{attack:?}: {s:?}");
        }
        // Entropy cannot tell the confident wrong row from the right one.
        let e = metric_scores(Attack::Entropy, &answers, 3, &labels).unwrap();
        assert!((e[0] - e[2]).abs() < 0.1 && e[1] < e[0]);
        let g = metric_scores(Attack::Gap, &answers, 3, &labels).unwrap();
        assert_eq!(g, vec![1.0, 1.0, 0.0]);
        assert!(metric_scores(Attack::Lira, &answers, 3, &labels).is_none());
    }

    #[test]
    fn loss_keeps_the_digits_of_nearly_certain_answers() {
        // p_y rounds to 1 in float32; the other class does not.
        let answers = [1.0f32, 1e-9, 1.0, 1e-12];
        let s = metric_scores(Attack::Loss, &answers, 2, &[0, 0]).unwrap();
        assert!(s[1] > s[0] && s[0] < 0.0, "{s:?}");
        let c = metric_scores(Attack::Confidence, &answers, 2, &[0, 0]).unwrap();
        assert!(c[1] > c[0]);
        let phi = logit_confidence(&answers, 2, &[0, 0]);
        assert!((phi[0] - 9.0 * 10f64.ln()).abs() < 1e-6);
        // Zeros, NaN and an all-zero row neither panic nor give NaN.
        let odd = [0.0f32, 1.0, f32::NAN, 0.5, 0.0, 0.0];
        for a in [
            Attack::Loss,
            Attack::Confidence,
            Attack::Entropy,
            Attack::ModifiedEntropy,
        ] {
            let s = metric_scores(a, &odd, 2, &[0, 1, 0]).unwrap();
            assert!(s.iter().all(|v| !v.is_nan()), "{a:?}: {s:?}");
        }
        assert!(logit_confidence(&odd, 2, &[0, 1, 0])
            .iter()
            .all(|v| v.abs() <= 70.0));
    }

    #[test]
    fn names_round_trip() {
        for a in Attack::ALL {
            assert_eq!(Attack::parse(a.as_str()), Some(a));
        }
        assert_eq!(
            Attack::defaults(mlsec_model::Output::Labels),
            vec![Attack::Gap]
        );
        assert!(Attack::defaults(mlsec_model::Output::Probabilities)
            .iter()
            .all(|a| Attack::ALL.contains(a)));
        assert_eq!(Attack::parse("lira-online"), None);
    }

    /// Rows of three noisy Gaussian classes in four features (a fifth of the
    /// labels random).
    fn noisy(n: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = Rng::for_row(seed, 0);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = i % 3;
            for j in 0..4 {
                x.push(((if j % 3 == c { 1.5 } else { 0.0 }) + rng.normal()) as f32);
            }
            y.push(if rng.uniform() < 0.2 { rng.below(3) } else { c });
        }
        (x, y)
    }

    #[test]
    fn lira_with_shadows_like_the_target_finds_members() {
        // The target is trained by the shadows' own learner on the members:
        // LiRA's assumption (the attacker knows how the model was trained).
        let learner = Learner::Mlp(super::super::learner::Mlp {
            hidden: 32,
            steps: 300,
            ..Default::default()
        });
        let (x, y) = noisy(600, 1);
        let scaler = Scaler::fit(x.chunks_exact(4), 4);
        let z = scaler.apply(&x);
        // Rows 0..150 members, 150..300 non-members, 300..600 the pool.
        let target = learner.fit(&z[..600], 4, &y[..150], 3, 99).unwrap();
        let answers = target.probabilities(&z[..1200]);
        let targets = Rows {
            x: &x[..1200],
            d: 4,
            labels: &y[..300],
        };
        let pool = Rows {
            x: &x[1200..],
            d: 4,
            labels: &y[300..],
        };
        let settings = LiraSettings {
            learner,
            ..LiraSettings::default()
        };
        let l = lira(&answers, targets, pool, 3, &settings).unwrap();
        let loss = metric_scores(Attack::Loss, &answers, 3, &y[..300]).unwrap();
        let sep = |s: &[f64]| super::super::metrics::separation(&s[..150], &s[150..]).unwrap();
        let (on, off, lo) = (sep(&l.online), sep(&l.offline), sep(&loss));
        eprintln!("online {on:?}\noffline {off:?}\nloss {lo:?}");
        assert!(on.auc > 0.65 && off.auc > 0.65, "{on:?} {off:?}");
        assert!(on.tpr_at_fpr.fpr_1e2 > 0.08, "{on:?}");
        // Per-row calibration beats one threshold for all rows where few
        // false positives are allowed (the paper's point).
        assert!(
            on.tpr_at_fpr.fpr_1e2 >= 3.0 * lo.tpr_at_fpr.fpr_1e2,
            "{on:?} {lo:?}"
        );
        // Deterministic.
        assert_eq!(l, lira(&answers, targets, pool, 3, &settings).unwrap());
    }

    #[test]
    fn random_half_takes_half() {
        let mut rng = Rng::for_row(1, 2);
        let h = random_half(11, &mut rng);
        assert_eq!(h.iter().filter(|&&b| b).count(), 5);
        assert!(random_half(0, &mut rng).is_empty());
    }
}
