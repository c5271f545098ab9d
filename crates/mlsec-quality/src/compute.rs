//! The numbers behind drift: each method on one column's values, the
//! correction across columns, histograms for the report, and rows for the
//! joint test. The statistics themselves are mlsec-stats'.

use crate::columns::{Column, Columns, Summary, Values};
use crate::method::{Correction, Method};
use crate::table::Histogram;
use mlsec_stats::sketch::compare as sk;
use mlsec_stats::twosample as ts;

/// A statistic and, for a test, its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub statistic: f64,
    pub p_value: Option<f64>,
}

impl Outcome {
    /// What a comparison that cannot be computed reports: no drift.
    pub const NONE: Outcome = Outcome {
        statistic: 0.0,
        p_value: Some(1.0),
    };
}

/// `method` on two numeric columns' finite values, each sorted ascending.
pub fn numeric(method: Method, a: &[f64], b: &[f64]) -> Outcome {
    let out = match method {
        Method::Ks => ts::ks_2samp_sorted(a, b).ok().map(test),
        Method::Cvm => ts::cramer_von_mises_2samp(a, b).ok().map(test),
        Method::Anderson => ts::anderson_darling_2samp(a, b).ok().map(|r| Outcome {
            statistic: r.statistic,
            p_value: Some(r.p_value),
        }),
        Method::Wasserstein => ts::wasserstein_distance_norm(a, b).ok().map(distance),
        // Evidently bins Hellinger on numbers its own way.
        Method::Hellinger => ts::hellinger_distance_numeric(a, b).ok().map(distance),
        Method::Jensenshannon | Method::Psi | Method::Kl => ts::bin_numeric(a, b)
            .ok()
            .and_then(|bins| binned(method, &bins)),
        // Category tests on numbers: not offered (the CLI refuses them).
        Method::Chisquare | Method::Ztest => None,
    };
    out.unwrap_or(Outcome::NONE)
}

/// A numeric column's values: all of them, sorted, or a summary.
pub enum Numbers<'a> {
    Sorted(Vec<f64>),
    Summary(&'a Summary),
}

impl<'a> Numbers<'a> {
    pub fn of(column: &'a Column) -> Numbers<'a> {
        match &column.values {
            Values::Exact(_) => Numbers::Sorted(column.sorted_numbers()),
            Values::Summary(s) => Numbers::Summary(s),
        }
    }

    pub fn count(&self) -> u64 {
        match self {
            Numbers::Sorted(v) => v.len() as u64,
            Numbers::Summary(s) => s.quantiles.n(),
        }
    }

    /// Mean and population standard deviation.
    pub fn mean_std(&self) -> (Option<f64>, Option<f64>) {
        match self {
            Numbers::Sorted(v) => mean_std(v),
            Numbers::Summary(s) => {
                let n = s.moments.count() as f64;
                let std = s
                    .moments
                    .variance()
                    .map(|v| (v * (n - 1.0) / n).max(0.0).sqrt())
                    .or_else(|| s.moments.mean().map(|_| 0.0));
                (s.moments.mean(), std)
            }
        }
    }

    fn range(&self) -> Option<(f64, f64)> {
        match self {
            Numbers::Sorted(v) => Some((*v.first()?, *v.last()?)),
            Numbers::Summary(s) => Some((s.quantiles.min()?, s.quantiles.max()?)),
        }
    }

    fn proportions(&self, edges: &[f64]) -> Option<Vec<f64>> {
        match self {
            Numbers::Sorted(v) => sk::bin_proportions_values(v, edges).ok(),
            Numbers::Summary(s) => sk::bin_proportions(&s.quantiles, edges).ok(),
        }
    }
}

/// `method` on two numeric columns of which at least one is a summary: the
/// statistics from the quantile sketches (within their rank error), the
/// KS p-value from the Kolmogorov distribution. `None` for the methods that
/// need every value (CvM, Anderson-Darling).
pub fn numeric_approx(method: Method, a: &Numbers<'_>, b: &Numbers<'_>) -> Option<Outcome> {
    match method {
        Method::Ks => {
            let d = match (a, b) {
                (Numbers::Summary(x), Numbers::Summary(y)) => {
                    sk::ks_sketches(&x.quantiles, &y.quantiles)
                }
                (Numbers::Summary(x), Numbers::Sorted(v))
                | (Numbers::Sorted(v), Numbers::Summary(x)) => {
                    sk::ks_sketch_vs_sorted(&x.quantiles, v)
                }
                (Numbers::Sorted(x), Numbers::Sorted(y)) => return Some(numeric(method, x, y)),
            }
            .ok()?;
            let (n, m) = (a.count() as f64, b.count() as f64);
            let en = (n * m / (n + m)).sqrt();
            Some(Outcome {
                statistic: d,
                p_value: Some(kolmogorov_sf(d * en)),
            })
        }
        Method::Wasserstein => {
            let w = match (a, b) {
                (Numbers::Summary(x), Numbers::Summary(y)) => {
                    sk::wasserstein_sketches(&x.quantiles, &y.quantiles)
                }
                (Numbers::Summary(x), Numbers::Sorted(v))
                | (Numbers::Sorted(v), Numbers::Summary(x)) => {
                    sk::wasserstein_sketch_vs_sorted(&x.quantiles, v)
                }
                (Numbers::Sorted(x), Numbers::Sorted(y)) => return Some(numeric(method, x, y)),
            }
            .ok()?;
            let std = a.mean_std().1.unwrap_or(0.0).max(0.001);
            Some(distance(w / std))
        }
        Method::Jensenshannon | Method::Psi | Method::Kl | Method::Hellinger => {
            let edges = approx_edges(a)?;
            let bins = ts::Binned {
                reference: a.proportions(&edges)?,
                current: b.proportions(&edges)?,
            };
            binned(method, &bins)
        }
        Method::Cvm | Method::Anderson | Method::Chisquare | Method::Ztest => None,
    }
}

/// Equal-width bin edges over the reference's range (Sturges' number of bins,
/// from the reference's count), for binned methods on summaries.
fn approx_edges(reference: &Numbers<'_>) -> Option<Vec<f64>> {
    let (lo, hi) = reference.range()?;
    let bins = ((reference.count().max(1) as f64).log2().ceil() as usize + 1).clamp(1, 1000);
    if hi > lo {
        let w = (hi - lo) / bins as f64;
        Some((0..=bins).map(|i| lo + w * i as f64).collect())
    } else {
        // A constant reference: below, at and above the value.
        Some(vec![lo - 0.5, lo + 0.5])
    }
}

/// The Kolmogorov distribution's survival function, P(K > x): the limit
/// distribution of sqrt(n m / (n + m)) D for two samples.
fn kolmogorov_sf(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return 1.0;
    }
    if x < 0.2 {
        // The series converges slowly here and the value is 1 to 1e-60.
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100i32 {
        let term = (-2.0 * f64::from(k * k) * x * x).exp();
        sum += if k % 2 == 1 { term } else { -term };
        if term < 1e-18 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Histogram of two numeric columns over the pooled range, from values or
/// summaries.
pub fn histogram_approx(a: &Numbers<'_>, b: &Numbers<'_>, bins: usize) -> Histogram {
    let (Some((alo, ahi)), Some((blo, bhi))) = (a.range(), b.range()) else {
        return Histogram::default();
    };
    let (lo, hi) = (alo.min(blo), ahi.max(bhi));
    let bins = if hi > lo { bins.max(1) } else { 1 };
    let w = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let edges: Vec<f64> = (0..=bins).map(|i| lo + w * i as f64).collect();
    Histogram {
        reference: a.proportions(&edges).unwrap_or_default(),
        current: b.proportions(&edges).unwrap_or_default(),
        edges,
        categories: Vec::new(),
    }
}

/// `method` on two categorical columns' counts, aligned on the same categories.
pub fn categorical(method: Method, a: &[u64], b: &[u64]) -> Outcome {
    let out = match method {
        Method::Chisquare => ts::chi2_homogeneity(a, b).ok().map(|r| Outcome {
            statistic: r.statistic,
            p_value: Some(r.p_value),
        }),
        Method::Ztest => ts::two_proportion_z_test(a, b).ok().map(test),
        Method::Jensenshannon | Method::Psi | Method::Kl | Method::Hellinger => {
            ts::bin_categorical(a, b)
                .ok()
                .and_then(|bins| binned(method, &bins))
        }
        Method::Ks | Method::Cvm | Method::Anderson | Method::Wasserstein => None,
    };
    out.unwrap_or(Outcome::NONE)
}

fn binned(method: Method, bins: &ts::Binned) -> Option<Outcome> {
    let d = match method {
        Method::Jensenshannon => ts::jensen_shannon_distance(&bins.reference, &bins.current),
        Method::Psi => ts::psi(bins),
        Method::Kl => ts::kl_divergence(bins),
        Method::Hellinger => ts::hellinger_distance(bins),
        _ => return None,
    };
    d.ok().map(distance)
}

fn test(r: ts::TestResult) -> Outcome {
    Outcome {
        statistic: r.statistic,
        p_value: r.p_value,
    }
}

fn distance(d: f64) -> Outcome {
    Outcome {
        statistic: d,
        p_value: None,
    }
}

fn proportions(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&n| {
            if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            }
        })
        .collect()
}

/// The p-values corrected for testing them together.
pub fn correct(correction: Correction, p: &[f64]) -> Vec<f64> {
    let method = match correction {
        Correction::Holm => ts::Correction::Holm,
        Correction::Bonferroni => ts::Correction::Bonferroni,
        Correction::Bh => ts::Correction::BenjaminiHochberg,
        Correction::None => return p.to_vec(),
    };
    // The p-values come from the tests above: in [0, 1], finite.
    ts::adjust_p_values(p, method).unwrap_or_else(|_| p.to_vec())
}

/// Mean and population standard deviation.
pub fn mean_std(values: &[f64]) -> (Option<f64>, Option<f64>) {
    if values.is_empty() {
        return (None, None);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (Some(mean), Some(var.sqrt()))
}

/// Proportions of two sorted numeric columns in `bins` equal-width bins over
/// both columns' range.
pub fn histogram(a: &[f64], b: &[f64], bins: usize) -> Histogram {
    let lo = a
        .first()
        .copied()
        .unwrap_or(0.0)
        .min(b.first().copied().unwrap_or(0.0));
    let hi = a
        .last()
        .copied()
        .unwrap_or(0.0)
        .max(b.last().copied().unwrap_or(0.0));
    let bins = if hi > lo { bins.max(1) } else { 1 };
    let width = (hi - lo) / bins as f64;
    let edges: Vec<f64> = (0..=bins).map(|i| lo + width * i as f64).collect();
    let shares = |v: &[f64]| -> Vec<f64> {
        let mut counts = vec![0u64; bins];
        for &x in v {
            let i = if width > 0.0 {
                (((x - lo) / width) as usize).min(bins - 1)
            } else {
                0
            };
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
        }
        proportions(&counts)
    };
    Histogram {
        edges,
        categories: Vec::new(),
        reference: shares(a),
        current: shares(b),
    }
}

/// Proportions per category: the first `shown - 1` of `names` (the
/// reference's most frequent), then the rest together as `(other)`.
pub fn category_histogram(names: &[String], a: &[u64], b: &[u64], shown: usize) -> Histogram {
    let (pa, pb) = (proportions(a), proportions(b));
    if names.len() <= shown {
        return Histogram {
            edges: Vec::new(),
            categories: names.to_vec(),
            reference: pa,
            current: pb,
        };
    }
    let keep = shown.saturating_sub(1);
    let fold = |p: &[f64]| -> Vec<f64> {
        let mut out: Vec<f64> = p.iter().take(keep).copied().collect();
        out.push(p.iter().skip(keep).sum());
        out
    };
    let mut categories: Vec<String> = names.iter().take(keep).cloned().collect();
    categories.push("(other)".into());
    Histogram {
        edges: Vec::new(),
        categories,
        reference: fold(&pa),
        current: fold(&pb),
    }
}

/// The rows in which every one of `names` holds a finite number, as vectors.
pub fn complete_rows(columns: &Columns, names: &[String]) -> Vec<Vec<f64>> {
    let cols: Vec<&[f64]> = names
        .iter()
        .filter_map(|n| columns.get(n))
        .filter_map(|c| match &c.values {
            Values::Exact(e) => Some(e.numbers.as_slice()),
            Values::Summary(_) => None,
        })
        .collect();
    if cols.len() != names.len() {
        return Vec::new();
    }
    let rows = cols.iter().map(|c| c.len()).min().unwrap_or(0);
    (0..rows)
        .filter_map(|i| {
            let row: Vec<f64> = cols.iter().filter_map(|c| c.get(i).copied()).collect();
            (row.len() == cols.len() && row.iter().all(|x| x.is_finite())).then_some(row)
        })
        .collect()
}

/// The joint test's result.
pub struct Joint {
    pub statistic: f64,
    pub p_value: f64,
    pub rows: usize,
}

/// MMD between the rows of `a` and `b`, each column standardised by `a`'s
/// mean and standard deviation, on up to `rows` rows of each side.
pub fn mmd(a: &[Vec<f64>], b: &[Vec<f64>], rows: usize, seed: u64) -> Option<Joint> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let d = a.first()?.len();
    let mut scale = Vec::with_capacity(d);
    for j in 0..d {
        let col: Vec<f64> = a.iter().filter_map(|r| r.get(j).copied()).collect();
        let (mean, std) = mean_std(&col);
        let std = std.filter(|s| *s > 0.0).unwrap_or(1.0);
        scale.push((mean.unwrap_or(0.0), std));
    }
    let standardise = |r: &Vec<f64>| -> Vec<f64> {
        r.iter()
            .zip(&scale)
            .map(|(x, (m, s))| (x - m) / s)
            .collect()
    };
    let a: Vec<Vec<f64>> = a.iter().map(standardise).collect();
    let b: Vec<Vec<f64>> = b.iter().map(standardise).collect();
    let options = ts::MmdOptions {
        permutations: 200,
        seed,
        max_rows: rows,
    };
    let r = ts::mmd_permutation_test(&a, &b, options).ok()?;
    Some(Joint {
        statistic: r.statistic,
        p_value: r.p_value?,
        rows: a.len().min(b.len()).min(rows),
    })
}
