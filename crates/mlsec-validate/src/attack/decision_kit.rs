//! The harness of the decision-based attacks' tests (HopSkipJump and the
//! Boundary Attack share it).

use super::toy::Linear;
use super::{AttackError, Constraints, Goal, Norm, Oracle, Outcome, Settings, Task};
use crate::rng::Rng;
use mlsec_model::{argmax, Model, Output};

/// An attack's entry point.
pub(crate) type Run = fn(&Oracle, &Task, &Settings, &mut Rng) -> Result<Outcome, AttackError>;

/// The diagonal toy answering labels only: class 1 above x0 + x1 = 1.
pub(crate) fn diagonal() -> Linear {
    let mut model = Linear::diagonal();
    model.output = Output::Labels;
    model
}

/// Runs the attack on `x` (untargeted, class 0) and checks what holds
/// for every run: the budget, and that the row returned is adversarial
/// to the model itself at the distance reported.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attack(
    run: Run,
    model: &Linear,
    constraints: &Constraints,
    x: &[f32],
    starts: &[Vec<f32>],
    norm: Norm,
    eps: f32,
    budget: usize,
    seed: u64,
) -> Outcome {
    let range = vec![1.0; x.len()];
    attack_in(
        run,
        model,
        constraints,
        &range,
        x,
        starts,
        norm,
        eps,
        budget,
        seed,
    )
}

/// As [`attack`], for features from 0 to `range`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attack_in(
    run: Run,
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
    let lower = vec![0.0; x.len()];
    let oracle = Oracle::new(model, &lower, range, constraints, budget);
    let task = Task {
        x,
        goal: Goal {
            label: 0,
            target: None,
        },
        starts,
    };
    let settings = Settings { norm, eps, budget };
    let out = run(&oracle, &task, &settings, &mut Rng::for_row(seed, 0)).unwrap();
    assert!(out.queries <= budget, "{} queries", out.queries);
    assert_eq!(out.queries, oracle.used());
    if let Some(adv) = &out.adversarial {
        let raw: Vec<f32> = adv.iter().zip(range).map(|(v, r)| v * r).collect();
        assert_eq!(argmax(&model.predict(&raw).unwrap()), Some(1), "{adv:?}");
        let reported = out.distance.unwrap();
        assert!((norm.distance(x, adv) - reported).abs() < 1e-6);
    }
    out
}

pub(crate) fn within(found: f32, best: f32, share: f32) -> bool {
    found >= best * (1.0 - 1e-3) && found <= best * (1.0 + share)
}

pub(crate) const X: [f32; 2] = [0.3, 0.3];
pub(crate) const L2_MIN: f32 = 0.4 / std::f32::consts::SQRT_2;
