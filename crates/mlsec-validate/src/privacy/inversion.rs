//! Model inversion by attribute inference: can someone who knows a person's
//! other features and the label the model gives them recover the feature
//! they do not know?
//!
//! The attack of Fredrikson et al. ("Privacy in Pharmacogenetics", USENIX
//! Security 2014; "Model Inversion Attacks that Exploit Confidence
//! Information", CCS 2015), black box: for a row and one of its features,
//! the attacker tries each candidate value of the feature, asks the model,
//! and keeps the value under which the model is most confident in the
//! row's known label, weighted by how common the value is. A feature is cut
//! into at most [`InversionSettings::candidates`] bins at quantiles of the
//! shadow pool (a feature with fewer distinct values keeps each value), the
//! candidate of a bin is its median, and a guess hits when it names the bin
//! of the true value.
//!
//! The summary is each feature's hit rate on the members and the
//! non-members the audit attacks, and on both by always guessing the most
//! common bin (the prior): a hit rate on members above the non-members'
//! means the model gives its training rows away; above the prior, that the
//! model helps the attacker at all. A model that answers labels or scores
//! is scored by whether it predicts the known label (confidence 1 or 0).

use serde::{Deserialize, Serialize};

use mlsec_model::{argmax, Model, Output};

use super::ask;
use crate::error::ValidateError;

/// Settings of [`inversion`].
#[derive(Debug, Clone)]
pub struct InversionSettings {
    /// Bins per feature at most (default 8).
    pub candidates: usize,
    /// Rows per side at most (default 200).
    pub rows: usize,
    /// Queries for the whole summary at most (default 200,000): fewer rows
    /// when there are many features.
    pub max_queries: usize,
}

impl Default for InversionSettings {
    fn default() -> Self {
        InversionSettings {
            candidates: 8,
            rows: 200,
            max_queries: 200_000,
        }
    }
}

/// The attribute-inference summary of a `privacy` envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Inversion {
    /// Rows per side whose features were inferred.
    pub rows: usize,
    /// Bins per feature at most.
    pub candidates: usize,
    /// Rows sent to the model.
    pub queries: usize,
    /// Each feature, in the model's input order.
    pub features: Vec<FeatureInversion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeatureInversion {
    pub feature: String,
    /// Bins tried.
    pub bins: usize,
    /// Share of the members whose bin the attack named.
    pub members: f64,
    /// Share of the non-members whose bin the attack named.
    pub non_members: f64,
    /// Share of both named by always guessing the pool's most common bin.
    pub prior: f64,
}

impl Inversion {
    /// The feature whose members are inferred best beyond the non-members.
    pub fn worst(&self) -> Option<&FeatureInversion> {
        self.features
            .iter()
            .max_by(|a, b| (a.members - a.non_members).total_cmp(&(b.members - b.non_members)))
    }
}

/// One feature's bins: upper edges (a value goes to the first bin whose
/// edge is not below it; the last bin has none), each bin's candidate
/// value and its share of the pool.
struct Bins {
    edges: Vec<f32>,
    candidates: Vec<f32>,
    prior: Vec<f64>,
}

impl Bins {
    fn of(values: &[f32], most: usize) -> Option<Bins> {
        let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() || most == 0 {
            return None;
        }
        v.sort_by(f32::total_cmp);
        let n = v.len();
        // First cut at quantiles, then each non-empty bin keeps its largest
        // value as its edge, so that no bin is empty.
        let mut edges: Vec<f32> = (1..most)
            .filter_map(|i| v.get(i * n / most).copied())
            .collect();
        edges.dedup();
        let bin = |edges: &[f32], x: f32| edges.partition_point(|e| *e < x);
        let mut members: Vec<Vec<f32>> = vec![Vec::new(); edges.len() + 1];
        for &x in &v {
            if let Some(b) = members.get_mut(bin(&edges, x)) {
                b.push(x);
            }
        }
        members.retain(|b| !b.is_empty());
        let edges: Vec<f32> = members
            .iter()
            .take(members.len().saturating_sub(1))
            .filter_map(|b| b.last().copied())
            .collect();
        let candidates = members
            .iter()
            .filter_map(|b| b.get(b.len() / 2).copied())
            .collect();
        let prior = members.iter().map(|b| b.len() as f64 / n as f64).collect();
        Some(Bins {
            edges,
            candidates,
            prior,
        })
    }

    fn bin(&self, x: f32) -> usize {
        self.edges.partition_point(|e| *e < x)
    }

    fn mode(&self) -> usize {
        let mut best = 0;
        for (i, p) in self.prior.iter().enumerate() {
            if *p > self.prior.get(best).copied().unwrap_or(0.0) {
                best = i;
            }
        }
        best
    }
}

/// Infers each feature of `members` and `non_members` (rows of `d`
/// features, with their labels) from the others and the model, with bins
/// from `pool`. `names` are the features' names.
pub fn inversion(
    model: &dyn Model,
    names: &[String],
    members: (&[f32], &[usize]),
    non_members: (&[f32], &[usize]),
    pool: &[f32],
    settings: &InversionSettings,
) -> Result<Inversion, ValidateError> {
    let d = model.features();
    let width = model.width().max(1);
    let k = settings.candidates.max(1);
    let per_row = 2 * d.max(1) * k;
    let rows = (members.1.len())
        .min(non_members.1.len())
        .min(settings.rows)
        .min(settings.max_queries / per_row);
    let confidence = model.output() == Output::Probabilities;
    let first = |(x, y): (&[f32], &[usize])| -> (Vec<f32>, Vec<usize>) {
        (
            x.iter().take(rows * d).copied().collect(),
            y.iter().take(rows).copied().collect(),
        )
    };
    let (mx, my) = first(members);
    let (nx, ny) = first(non_members);
    let x: Vec<f32> = mx.iter().chain(&nx).copied().collect();
    let labels: Vec<usize> = my.iter().chain(&ny).copied().collect();
    let n = labels.len();
    let mut queries = 0;
    let mut features = Vec::with_capacity(d);
    // No row fits the query budget (thousands of features): no summary
    // rather than every feature at 0%.
    for j in (0..d).filter(|_| rows > 0) {
        let column: Vec<f32> = pool.iter().skip(j).step_by(d.max(1)).copied().collect();
        let Some(bins) = Bins::of(&column, k) else {
            continue;
        };
        let b = bins.candidates.len();
        // Every row once per candidate, the feature set to it.
        let mut probe = Vec::with_capacity(n * b * d);
        for r in 0..n {
            let row = x.get(r * d..(r + 1) * d).unwrap_or(&[]);
            for &c in &bins.candidates {
                let start = probe.len();
                probe.extend_from_slice(row);
                if let Some(v) = probe.get_mut(start + j) {
                    *v = c;
                }
            }
        }
        let answers = if probe.is_empty() {
            Vec::new()
        } else {
            ask(model, &probe)?
        };
        queries += n * b;
        let (mut member_hits, mut other_hits, mut prior_hits) = (0usize, 0usize, 0usize);
        let mode = bins.mode();
        for (r, &label) in labels.iter().enumerate() {
            let truth = x.get(r * d + j).map_or(usize::MAX, |&v| bins.bin(v));
            let mut best = (f64::NEG_INFINITY, 0usize);
            for c in 0..b {
                let Some(answer) = answers.get((r * b + c) * width..(r * b + c + 1) * width) else {
                    continue;
                };
                let p = if confidence {
                    answer.get(label).map_or(0.0, |&p| f64::from(p))
                } else if argmax(answer) == Some(label) {
                    1.0
                } else {
                    0.0
                };
                let score = p * bins.prior.get(c).copied().unwrap_or(0.0);
                if score > best.0 {
                    best = (score, c);
                }
            }
            // Members first, then non-members.
            if best.1 == truth {
                if r < rows {
                    member_hits += 1;
                } else {
                    other_hits += 1;
                }
            }
            if mode == truth {
                prior_hits += 1;
            }
        }
        let share = |h: usize, of: usize| h as f64 / of.max(1) as f64;
        features.push(FeatureInversion {
            feature: names.get(j).cloned().unwrap_or_else(|| format!("x{j}")),
            bins: b,
            members: share(member_hits, rows),
            non_members: share(other_hits, rows),
            prior: share(prior_hits, n),
        });
    }
    Ok(Inversion {
        rows,
        candidates: k,
        queries,
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cut_at_quantiles_and_keep_few_values_whole() {
        let v: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let b = Bins::of(&v, 4).unwrap();
        assert_eq!(b.candidates.len(), 4);
        // Cut at the 25th, 50th and 75th values; each edge closes its bin.
        assert_eq!(b.edges, [25.0, 50.0, 75.0]);
        assert_eq!(b.bin(0.0), 0);
        assert_eq!(b.bin(25.0), 0);
        assert_eq!(b.bin(25.5), 1);
        assert_eq!(b.bin(1000.0), 3);
        assert_eq!(b.prior, [0.26, 0.25, 0.25, 0.24]);
        assert_eq!(b.candidates, [13.0, 38.0, 63.0, 88.0]);
        // A binary feature: two bins, one per value, whatever the cut.
        let flags: Vec<f32> = (0..30).map(|i| if i < 20 { 0.0 } else { 1.0 }).collect();
        let b = Bins::of(&flags, 8).unwrap();
        assert_eq!(b.candidates, [0.0, 1.0]);
        assert_eq!(b.mode(), 0);
        assert_eq!((b.bin(0.0), b.bin(1.0)), (0, 1));
        // Ties at the top leave no empty bin.
        let tied: Vec<f32> = (0..20)
            .map(|i| if i < 5 { i as f32 } else { 9.0 })
            .collect();
        let b = Bins::of(&tied, 4).unwrap();
        assert!(b.prior.iter().all(|p| *p > 0.0));
        assert_eq!(b.candidates.len(), b.edges.len() + 1);
        assert!(Bins::of(&[], 4).is_none());
    }
}
