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

/// A random hyperplane in 20 features at L2 distance 0.15 from a row in
/// the middle of the box, with a random row beyond it as the start.
pub(crate) fn halfspace20(seed: u64) -> (Linear, Vec<f32>, Vec<Vec<f32>>, f32, f32) {
    let mut rng = Rng::for_row(seed, 1);
    let w: Vec<f32> = (0..20).map(|_| rng.normal() as f32).collect();
    let x: Vec<f32> = (0..20).map(|_| 0.3 + 0.4 * rng.uniform() as f32).collect();
    let l2 = w.iter().map(|v| v * v).sum::<f32>().sqrt();
    let l1 = w.iter().map(|v| v.abs()).sum::<f32>();
    let wx: f32 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
    let b = -wx - 0.15 * l2;
    let margin = (w.iter().zip(&x).map(|(a, b)| a * b).sum::<f32>() + b).abs();
    let model = Linear::halfspace(w, b);
    let start = loop {
        let row: Vec<f32> = (0..20).map(|_| rng.uniform() as f32).collect();
        if argmax(&model.predict(&row).unwrap()) == Some(1) {
            break row;
        }
    };
    (model, x, vec![start], margin / l2, margin / l1)
}
