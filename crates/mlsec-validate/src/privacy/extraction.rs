//! Extraction cost: how many answered queries a copy of the model needs.
//!
//! An attacker with unlabelled rows from the model's domain sends them to
//! the model and trains a surrogate on the answers (Tramèr et al., "Stealing
//! Machine Learning Models via Prediction APIs", USENIX Security 2016; here
//! with labels only, the weakest answer an API gives). The surrogate is
//! trained on the first `q` rows of the query pool, labelled with the
//! target's predicted class, for `q` on a doubling schedule (16, 32, 64, …,
//! then the whole pool), and compared with the target on held-out rows: the
//! share of them where both predict the same class (fidelity). The report is
//! that agreement curve and the smallest `q` whose surrogate agrees on at
//! least `agreement` (default 90%) of the held-out rows, or `None` when the
//! whole pool is not enough.
//!
//! The surrogate is the shadow models' learner ([`super::learner`]), seeded
//! per `q`; surrogates train in parallel. The pool is used in the order
//! given (shuffle a table sorted by class first). Features are standardised
//! on the pool.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::learner::{Learner, Scaler};
use crate::error::ValidateError;
use crate::rng::Rng;

/// Settings of [`extraction_cost`].
#[derive(Debug, Clone)]
pub struct ExtractionSettings {
    pub learner: Learner,
    /// Agreement on the held-out rows that counts as a copy (default 0.9).
    pub agreement: f64,
    /// The first pool size tried (default 16); then doubled.
    pub start: usize,
    pub seed: u64,
}

impl Default for ExtractionSettings {
    fn default() -> Self {
        ExtractionSettings {
            learner: Learner::default(),
            agreement: 0.9,
            start: 16,
            seed: 0,
        }
    }
}

/// The surrogate trained on the first `queries` rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgreementPoint {
    pub queries: usize,
    /// Share of the held-out rows where surrogate and target predict the
    /// same class.
    pub agreement: f64,
}

/// How many queries a surrogate needs to agree with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Extraction {
    /// The agreement a surrogate must reach.
    pub target_agreement: f64,
    /// The smallest number of queries whose surrogate reached it; `None`
    /// when none did.
    pub queries_needed: Option<usize>,
    /// Rows in the query pool.
    pub pool: usize,
    /// Held-out rows the agreement is measured on.
    pub held_out: usize,
    /// The surrogate's learner.
    pub learner: String,
    pub curve: Vec<AgreementPoint>,
}

/// 16, 32, …: doublings from `start` below `pool`, then `pool`.
fn schedule(start: usize, pool: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut q = start.max(1);
    while q < pool {
        out.push(q);
        q = q.saturating_mul(2);
    }
    if pool > 0 {
        out.push(pool);
    }
    out
}

/// The extraction cost of a model whose predicted classes are
/// `pool_predicted` on the pool rows `pool` and `held_out_predicted` on the
/// rows `held_out` (`d` features each, `classes` classes).
pub fn extraction_cost(
    pool: &[f32],
    pool_predicted: &[usize],
    held_out: &[f32],
    held_out_predicted: &[usize],
    d: usize,
    classes: usize,
    settings: &ExtractionSettings,
) -> Result<Extraction, ValidateError> {
    settings.learner.check().map_err(ValidateError::Usage)?;
    if d == 0
        || pool.len() != pool_predicted.len() * d
        || held_out.len() != held_out_predicted.len() * d
    {
        return Err(ValidateError::Usage(format!(
            "extraction: rows of {d} features do not match the predictions ({} and {} numbers, {} and {} predictions)",
            pool.len(),
            held_out.len(),
            pool_predicted.len(),
            held_out_predicted.len()
        )));
    }
    if pool_predicted.is_empty() || held_out_predicted.is_empty() {
        return Err(ValidateError::Usage(
            "extraction needs a query pool and held-out rows".into(),
        ));
    }
    if !(settings.agreement > 0.0 && settings.agreement <= 1.0) {
        return Err(ValidateError::Usage(
            "the extraction agreement must be in (0, 1]".into(),
        ));
    }
    let scaler = Scaler::fit(pool.chunks_exact(d), d);
    let x = scaler.apply(pool);
    let test = scaler.apply(held_out);
    let curve: Vec<AgreementPoint> = schedule(settings.start, pool_predicted.len())
        .into_par_iter()
        .map(|q| {
            let seed = Rng::for_row(settings.seed ^ 0x4558_5452, q as u64).next_u64();
            let agreement = match (x.get(..q * d), pool_predicted.get(..q)) {
                (Some(xq), Some(yq)) => match settings.learner.fit(xq, d, yq, classes, seed) {
                    Some(s) => {
                        let same = s
                            .classes_of(&test, classes)
                            .iter()
                            .zip(held_out_predicted)
                            .filter(|(a, b)| a == b)
                            .count();
                        same as f64 / held_out_predicted.len() as f64
                    }
                    None => 0.0,
                },
                _ => 0.0,
            };
            AgreementPoint {
                queries: q,
                agreement,
            }
        })
        .collect();
    let queries_needed = curve
        .iter()
        .find(|p| p.agreement >= settings.agreement)
        .map(|p| p.queries);
    Ok(Extraction {
        target_agreement: settings.agreement,
        queries_needed,
        pool: pool_predicted.len(),
        held_out: held_out_predicted.len(),
        learner: settings.learner.describe(),
        curve,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_doubles_then_ends_at_the_pool() {
        assert_eq!(schedule(16, 100), vec![16, 32, 64, 100]);
        assert_eq!(schedule(16, 64), vec![16, 32, 64]);
        assert_eq!(schedule(16, 10), vec![10]);
        assert!(schedule(16, 0).is_empty());
    }

    #[test]
    fn a_linear_model_is_copied_from_few_queries() {
        // The "target" predicts x0 + x1 > 0; a grid of rows.
        let mut rng = Rng::for_row(5, 0);
        let rows: Vec<f32> = (0..600).map(|_| rng.normal() as f32).collect();
        let predicted: Vec<usize> = rows
            .chunks(2)
            .map(|r| usize::from(r[0] + r[1] > 0.0))
            .collect();
        let (pool, held) = rows.split_at(400);
        let (pp, hp) = predicted.split_at(200);
        let settings = ExtractionSettings {
            learner: Learner::Logistic { c: 10.0 },
            ..ExtractionSettings::default()
        };
        let e = extraction_cost(pool, pp, held, hp, 2, 2, &settings).unwrap();
        assert_eq!(
            e.curve.iter().map(|p| p.queries).collect::<Vec<_>>(),
            vec![16, 32, 64, 128, 200]
        );
        assert!(e.curve.last().unwrap().agreement > 0.95, "{e:?}");
        assert!(e.queries_needed.unwrap() <= 64, "{e:?}");
        // Deterministic.
        assert_eq!(
            e,
            extraction_cost(pool, pp, held, hp, 2, 2, &settings).unwrap()
        );
        assert!(extraction_cost(pool, &pp[1..], held, hp, 2, 2, &settings).is_err());
        assert!(extraction_cost(&[], &[], held, hp, 2, 2, &settings).is_err());
    }
}
