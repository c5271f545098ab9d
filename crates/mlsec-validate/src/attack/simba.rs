//! SimBA, the Simple Black-box Attack (Guo, Gardner, You, Wilson and
//! Weinberger, "Simple Black-box Adversarial Attacks", ICML 2019), in the
//! coordinate basis, for rows of tabular features.
//!
//! One feature at a time, in a random order: step it down, and if the loss
//! does not fall, up; keep the first step that lowers the loss.
//!
//! # The paper's algorithm, and what is chosen here
//!
//! The paper's Algorithm 1 with the standard basis ("SimBA" rather than
//! "SimBA-DCT": a row of features has no frequencies):
//!
//! - **Directions.** The movable features (see below) in a random order,
//!   drawn without replacement, as the paper's random permutation of the
//!   basis.
//! - **Loss.** The paper lowers the probability of the true class
//!   (untargeted) or raises the target's (targeted). Here both use the
//!   margin loss of [`super::Goal::margin`], on the logarithms of the scores
//!   when they are positive (as [`super::square`] does): it orders rows as
//!   the true class's probability does for two classes, it also works for
//!   scores that are not probabilities, and it keeps falling where a
//!   probability has rounded to 1 in `f32`.
//! - **Step, L-inf.** The step is `eps`: the feature goes to `x0 - eps`,
//!   and if the loss does not fall, to `x0 + eps` (which side goes first
//!   does not matter). Each feature is tried once, so every row stays in the ball and
//!   one pass over the features is the whole attack; it uses at most
//!   `1 + 2 m` queries for `m` movable features, however large the budget.
//! - **Step, L2.** The step is `eps / sqrt(m)`, so that one pass that moves
//!   every feature ends on the sphere of radius eps, and the change is
//!   clipped to the ball after each step (scaled down as a whole). When a
//!   pass keeps no step, nothing would change in another (the loss is
//!   deterministic), so the attack stops; otherwise passes repeat, in a new
//!   random order, until the budget is spent. Later passes shift length
//!   towards the features whose steps keep lowering the loss.
//!
//! Every step is clipped to the ball, then made a valid input
//! ([`super::Oracle::project`]); a step that leaves the row as it is (at a
//! bound, an immutable feature) costs no query. The attack stops as soon as
//! a queried row meets the goal.
//!
//! One row is queried at a time: as in the paper, the second side is
//! queried only when the first fails, which saves a query on about half of
//! the kept steps.
//!
//! # Constraints
//!
//! Features that cannot move by `eps` alone (immutable, of range 0, one-hot,
//! whole numbers that round back) are left out of the order; under L-inf a
//! whole-number feature whose `x0 +- eps` would round out of the ball steps
//! to the furthest whole number inside instead (see
//! [`super::square`]'s notes).

use super::square::{shuffle, start, Answer, Ctx, Start};
use super::{AttackError, Norm, Oracle, Outcome, Settings, Task};
use crate::rng::Rng;

pub fn run(
    oracle: &Oracle,
    task: &Task,
    settings: &Settings,
    rng: &mut Rng,
) -> Result<Outcome, AttackError> {
    let (ctx, mut best) = match start(oracle, task, settings)? {
        Start::Done(outcome) => return Ok(outcome),
        Start::Go(ctx, loss) => (ctx, loss),
    };
    let reach = ctx.reach();
    if reach.is_empty() {
        return Ok(ctx.missed());
    }
    let mut order: Vec<usize> = (0..reach.len()).collect();
    let mut x = task.x.to_vec();
    let step = settings.eps / (reach.len() as f32).sqrt();

    loop {
        shuffle(&mut order, rng);
        let mut kept = false;
        for r in order.iter().filter_map(|&j| reach.get(j)) {
            for sign in [-1.0, 1.0] {
                let mut cand = x.clone();
                let Some(v) = cand.get_mut(r.feature) else {
                    continue;
                };
                let side = if sign < 0.0 { r.down } else { r.up };
                match settings.norm {
                    Norm::Linf => match side {
                        Some(to) => *v = to,
                        None => continue,
                    },
                    Norm::L2 => *v += sign * step,
                }
                match try_row(&ctx, &x, cand, best)? {
                    Try::Hit(row) => return Ok(ctx.found(row)),
                    Try::Spent => return Ok(ctx.missed()),
                    Try::Worse => {}
                    Try::Better(row, loss) => {
                        x = row;
                        best = loss;
                        kept = true;
                        break;
                    }
                }
            }
        }
        // L-inf: each feature is tried once. L2: a pass that keeps nothing
        // would repeat itself.
        if settings.norm == Norm::Linf || !kept || oracle.remaining() == 0 {
            return Ok(ctx.missed());
        }
    }
}

/// What one step came to.
enum Try {
    /// The row meets the goal inside the ball.
    Hit(Vec<f32>),
    /// No query is left.
    Spent,
    /// The loss did not fall (or the step changed nothing, unqueried).
    Worse,
    /// The loss fell to this.
    Better(Vec<f32>, f32),
}

/// Clips and projects `cand`, and queries it unless that leaves it as `x`
/// is or outside the ball.
fn try_row(ctx: &Ctx, x: &[f32], mut cand: Vec<f32>, best: f32) -> Result<Try, AttackError> {
    if !ctx.settle(&mut cand) || cand == x {
        return Ok(Try::Worse);
    }
    Ok(match ctx.ask(&cand)? {
        Answer::Hit(_) => Try::Hit(cand),
        Answer::Losses(l) => match l.first() {
            None => Try::Spent,
            Some(&v) if v < best => Try::Better(cand, v),
            Some(_) => Try::Worse,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::square::testkit;
    use super::super::{toy::Linear, Constraints, Goal};
    use super::*;

    #[test]
    fn simba_flips_the_diagonal_linf() {
        testkit::diagonal(run, Norm::Linf);
    }

    #[test]
    fn simba_flips_the_diagonal_l2() {
        testkit::diagonal(run, Norm::L2);
    }

    #[test]
    fn simba_edges() {
        testkit::edges(run, Norm::Linf);
        testkit::edges(run, Norm::L2);
    }

    #[test]
    fn simba_respects_immutable_features() {
        testkit::immutable(run, Norm::Linf);
        testkit::immutable(run, Norm::L2);
    }

    #[test]
    fn simba_targeted_three_classes() {
        testkit::targeted(run, Norm::Linf);
        testkit::targeted(run, Norm::L2);
    }

    #[test]
    fn simba_success_rises_with_eps_linf() {
        testkit::rises_with_eps(run, Norm::Linf, &[0.02, 0.05, 0.1, 0.2], 500, 0.95);
    }

    #[test]
    fn simba_success_rises_with_eps_l2() {
        testkit::rises_with_eps(run, Norm::L2, &[0.1, 0.25, 0.5, 1.0], 500, 0.95);
    }

    /// Under L-inf each feature is tried once, down then up: on a linear
    /// model one pass finds the best corner, in at most 1 + 2m queries.
    #[test]
    fn simba_linf_is_one_pass() {
        let model = Linear::diagonal();
        let none = Constraints::default();
        let goal = Goal {
            label: 0,
            target: None,
        };
        for seed in 0..10 {
            let out = testkit::attack(
                run,
                &model,
                &[0.4, 0.4],
                goal,
                Norm::Linf,
                0.15,
                1000,
                &none,
                seed,
            );
            // Both features go up by eps: (0.55, 0.55).
            let adv = out.adversarial.unwrap();
            assert!((adv[0] - 0.55).abs() < 1e-6 && (adv[1] - 0.55).abs() < 1e-6);
            assert!(out.queries <= 5, "{} queries", out.queries);
            let miss = testkit::attack(
                run,
                &model,
                &[0.4, 0.4],
                goal,
                Norm::Linf,
                0.09,
                1000,
                &none,
                seed,
            );
            assert!(miss.queries <= 5, "{} queries", miss.queries);
        }
    }
}
