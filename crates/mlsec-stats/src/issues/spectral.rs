//! Spectral signatures (Tran, Li and Madry, "Spectral Signatures in Backdoor
//! Attacks", NeurIPS 2018): within each class, poisoned rows share a
//! direction that the top singular vector of the centred features picks up;
//! rows with the largest squared projection on it are flagged.

use super::{check_labels, top_indices, IssuesError, Matrix};
use crate::rng::SplitMix;

/// Options for [`spectral_signatures`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralOptions {
    /// The expected (upper bound on the) share of poisoned rows in a class,
    /// ε in the paper (default 0.05; in (0, 1)).
    pub poison_fraction: f64,
    /// Flag this multiple of ε of each class (the paper's 1.5; default 1.5;
    /// positive).
    pub removal_factor: f64,
    /// Power-iteration cap per class (default 1000; at least 1); iteration
    /// stops earlier when the vector moves by less than 1e-12.
    pub max_iter: usize,
    /// Seed for the power iteration's starting vector.
    pub seed: u64,
    /// Singular directions per class whose projections are returned in
    /// [`SpectralResult::projections`] (default 1; 1 to 16). A trigger can
    /// sit on the second or third direction when a class varies more along
    /// others; the scores and flags use the first only.
    pub directions: usize,
}

impl Default for SpectralOptions {
    fn default() -> Self {
        SpectralOptions {
            poison_fraction: 0.05,
            removal_factor: 1.5,
            max_iter: 1000,
            seed: 0,
            directions: 1,
        }
    }
}

/// Per-row outlier scores and the flagged rows.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralResult {
    /// Per row, its squared projection on its class's top singular vector
    /// (after centring the class).
    pub scores: Vec<f64>,
    /// Per class, the flagged rows: the round(removal_factor · ε · n_class)
    /// highest-scoring rows of the class, highest first; all classes'
    /// flags concatenated in class order.
    pub flagged: Vec<usize>,
    /// Per direction (`directions` of them, strongest first), per row its
    /// signed projection on that singular direction of its class (after
    /// centring the class); 0 where a class has fewer directions.
    pub projections: Vec<Vec<f64>>,
}

/// The top right singular vector of `rows` (centred rows of length d)
/// orthogonal to the unit vectors `found`, by power iteration on XᵀX,
/// computed as Xᵀ(Xv) with `found` projected out each step: O(n d) per
/// iteration. `None` when nothing is left (the rows span only `found`).
fn top_direction(
    rows: &[Vec<f64>],
    d: usize,
    found: &[Vec<f64>],
    max_iter: usize,
    rng: &mut SplitMix,
) -> Option<Vec<f64>> {
    let mut v: Vec<f64> = (0..d).map(|_| rng.unit() - 0.5).collect();
    orthogonalise(&mut v, found);
    normalise(&mut v);
    let mut next = vec![0.0; d];
    for _ in 0..max_iter {
        next.iter_mut().for_each(|x| *x = 0.0);
        for r in rows {
            let p: f64 = r.iter().zip(&v).map(|(a, b)| a * b).sum();
            next.iter_mut().zip(r).for_each(|(n, a)| *n += p * a);
        }
        orthogonalise(&mut next, found);
        if !normalise(&mut next) {
            return found.is_empty().then_some(v);
        }
        let moved = next
            .iter()
            .zip(&v)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        std::mem::swap(&mut v, &mut next);
        if moved < 1e-12 {
            break;
        }
    }
    Some(v)
}

/// Removes from `v` its components along the unit vectors `found`.
fn orthogonalise(v: &mut [f64], found: &[Vec<f64>]) {
    for u in found {
        let p: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
        v.iter_mut().zip(u).for_each(|(a, b)| *a -= p * b);
    }
}

fn normalise(v: &mut [f64]) -> bool {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
        true
    } else {
        false
    }
}

/// Spectral-signature scores for every row of `x` (features or embeddings
/// as given; standardise raw features first) with `labels` in
/// `0..classes`, and per class the share of rows the paper removes. A class
/// whose rows are all equal scores 0. Errors: `LengthMismatch`,
/// `LabelOutOfRange`, `InvalidParameter` (options out of range). O(n d ·
/// max_iter) time, O(n d) memory (each class's centred copy).
pub fn spectral_signatures(
    x: &Matrix,
    labels: &[usize],
    classes: usize,
    opts: &SpectralOptions,
) -> Result<SpectralResult, IssuesError> {
    let fraction_ok = opts.poison_fraction > 0.0 && opts.poison_fraction < 1.0;
    let factor_ok = opts.removal_factor > 0.0 && opts.removal_factor.is_finite();
    if !fraction_ok || !factor_ok || opts.max_iter == 0 || !(1..=16).contains(&opts.directions) {
        return Err(IssuesError::InvalidParameter(
            "poison_fraction in (0, 1), removal_factor positive, max_iter at least 1, directions 1 to 16",
        ));
    }
    check_labels(x.rows(), labels, classes)?;
    let d = x.cols();
    let mut rng = SplitMix(opts.seed);
    let mut scores = vec![0.0; x.rows()];
    let mut flagged = Vec::new();
    let mut projections = vec![vec![0.0; x.rows()]; opts.directions];
    for class in 0..classes {
        let members: Vec<usize> = labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l == class)
            .map(|(i, _)| i)
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut mean = vec![0.0; d];
        for &i in &members {
            if let Some(r) = x.row(i) {
                mean.iter_mut().zip(r).for_each(|(m, v)| *m += v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= members.len() as f64);
        let centred: Vec<Vec<f64>> = members
            .iter()
            .filter_map(|&i| x.row(i))
            .map(|r| r.iter().zip(&mean).map(|(v, m)| v - m).collect())
            .collect();
        let mut found: Vec<Vec<f64>> = Vec::new();
        for out in projections.iter_mut() {
            let Some(v) = top_direction(&centred, d, &found, opts.max_iter, &mut rng) else {
                break;
            };
            for (&i, r) in members.iter().zip(&centred) {
                if let Some(o) = out.get_mut(i) {
                    *o = r.iter().zip(&v).map(|(a, b)| a * b).sum();
                }
            }
            found.push(v);
        }
        let class_scores: Vec<f64> = members
            .iter()
            .map(|&i| {
                let p = projections
                    .first()
                    .and_then(|p| p.get(i))
                    .copied()
                    .unwrap_or(0.0);
                p * p
            })
            .collect();
        for (&i, &s) in members.iter().zip(&class_scores) {
            if let Some(o) = scores.get_mut(i) {
                *o = s;
            }
        }
        let m =
            (opts.removal_factor * opts.poison_fraction * members.len() as f64).round() as usize;
        flagged.extend(
            top_indices(&class_scores, m)
                .into_iter()
                .filter_map(|j| members.get(j).copied()),
        );
    }
    Ok(SpectralResult {
        scores,
        flagged,
        projections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_direction() {
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..40 {
            let a = ((i * 7) % 11) as f64 / 11.0;
            let b = ((i * 5) % 13) as f64 / 13.0;
            rows.push(vec![a, b, 0.0]);
            labels.push(0);
        }
        for r in rows.iter_mut().take(2) {
            r[2] = 10.0;
        }
        let x = Matrix::from_rows(&rows).unwrap();
        let opts = SpectralOptions {
            poison_fraction: 0.05,
            ..SpectralOptions::default()
        };
        let res = spectral_signatures(&x, &labels, 2, &opts).unwrap();
        let mut f = res.flagged.clone();
        f.sort();
        assert_eq!(f.len(), 3);
        assert!(f.contains(&0) && f.contains(&1));
        let same = Matrix::from_rows(&vec![vec![1.0, 1.0]; 4]).unwrap();
        let res = spectral_signatures(&same, &[0; 4], 1, &opts).unwrap();
        assert!(res.scores.iter().all(|s| *s == 0.0));
        assert!(spectral_signatures(&same, &[0; 3], 1, &opts).is_err());
        assert!(spectral_signatures(
            &same,
            &[0; 4],
            1,
            &SpectralOptions {
                poison_fraction: 0.0,
                ..opts
            }
        )
        .is_err());
    }
}
