//! Two-sample comparisons of a reference and a current sample: tests with
//! p-values (KS, chi-square, Z), distances (Wasserstein, Jensen-Shannon,
//! PSI, KL, Hellinger), corrections for testing many columns, and a kernel
//! test of joint distributions (MMD).
//!
//! Numeric inputs are finite values (callers drop NaN and infinities);
//! functions return `None` instead of panicking when a comparison has no
//! meaning (an empty side, mismatched lengths).

use crate::special;

/// A test's statistic and p-value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestResult {
    pub statistic: f64,
    pub p_value: f64,
}

/// Samples of at most this size on the larger side get the exact KS p-value
/// (scipy's `MAX_AUTO_N`); larger ones the asymptotic one.
pub const KS_EXACT_MAX_N: usize = 10_000;

/// The two-sample Kolmogorov-Smirnov test on two samples sorted ascending:
/// the largest distance between their empirical CDFs, and the two-sided
/// p-value as `scipy.stats.ks_2samp(a, b)` computes it (method `auto`: exact
/// up to [`KS_EXACT_MAX_N`] values on the larger side, by Hodges' lattice-path
/// counts; else from the one-sample KS distribution at n = round(mn/(m+n))).
/// O(n + m).
pub fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> Option<TestResult> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // Walk both samples in order; at each distinct value both CDFs step.
    let (mut i, mut j) = (0usize, 0usize);
    let (mut max_plus, mut max_minus) = (0.0f64, 0.0f64);
    while i < n1 || j < n2 {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while a.get(i).is_some_and(|&v| v <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|&v| v <= x) {
            j += 1;
        }
        let diff = i as f64 / n1 as f64 - j as f64 / n2 as f64;
        max_plus = max_plus.max(diff);
        max_minus = max_minus.max(-diff);
    }
    let mut d = max_plus.max(max_minus.clamp(0.0, 1.0));
    let g = gcd(n1 as u64, n2 as u64);
    let mut p = None;
    if n1.max(n2) <= KS_EXACT_MAX_N {
        let lcm = (n1 as u64 / g) * n2 as u64;
        let h = (d * lcm as f64).round() as u64;
        d = h as f64 / lcm as f64;
        p = if h == 0 {
            Some(1.0)
        } else if n1 == n2 {
            prob_outside_square(n1 as u64, h)
        } else {
            outer_prob_inside(n1 as u64, n2 as u64, g, h)
        }
        .filter(|p| (0.0..=1.0).contains(p));
    }
    let p = p.unwrap_or_else(|| {
        let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
        let en = (m * n / (m + n)).round().max(1.0) as u64;
        special::kstwo_sf(en, d)
    });
    Some(TestResult {
        statistic: d,
        p_value: p.clamp(0.0, 1.0),
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The share of lattice paths from (0,0) to (n,n) that leave the band
/// |x - y| < h: the exact two-sided p-value for equal sample sizes.
fn prob_outside_square(n: u64, h: u64) -> Option<f64> {
    let (nf, hf) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = (nf / hf).floor() as i64;
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kf * hf - jf) * p1 / (nf + kf * hf + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    let p = 2.0 * p;
    p.is_finite().then_some(p)
}

/// The share of lattice paths from (0,0) to (m,n) that leave the band
/// |x/m - y/n| < h/lcm: the exact two-sided p-value, one column of the path
/// shares at a time in a sliding window.
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let (mg_f, ng_f, hf) = (mg as f64, ng as f64, h as f64);
    let n_us = n as usize;
    let mut minj: usize = 0;
    let mut maxj: usize = ((hf / mg_f).ceil() as usize).min(n_us + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n_us + 1);
    let mut a = vec![1.0f64; len_a];
    for x in a.iter_mut().take(maxj).skip(minj) {
        *x = 0.0;
    }
    for i in 1..=m {
        let fi = i as f64;
        let (lastminj, lastlen) = (minj, curlen);
        let lo = ((ng_f * fi - hf) / mg_f).floor() as i64 + 1;
        minj = (lo.max(0) as usize).min(n_us);
        maxj = (((ng_f * fi + hf) / mg_f).ceil() as usize).min(n_us + 1);
        if maxj <= minj {
            return Some(1.0);
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = (jj + minj) as f64;
            let prev = a.get(jj + minj - lastminj).copied().unwrap_or(1.0);
            val = (prev * fi + val * j) / (fi + j);
            if let Some(x) = a.get_mut(jj) {
                *x = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            for x in a.iter_mut().skip(maxj - minj).take(lastlen - curlen) {
                *x = 1.0;
            }
        }
    }
    // The column holds, per end point, the share of paths that left the band.
    let p = a.get(maxj - minj - 1).copied()?;
    p.is_finite().then_some(p)
}

/// The chi-square test of homogeneity of two rows of counts over the same
/// categories: `scipy.stats.chi2_contingency([a, b])` with its default Yates
/// correction when there is one degree of freedom. Categories counted zero on
/// both sides are dropped first (scipy refuses them). `None` when fewer than
/// two categories or one row is all zero.
pub fn chi2_contingency(a: &[u64], b: &[u64]) -> Option<TestResult> {
    if a.len() != b.len() {
        return None;
    }
    let cells: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| **x + **y > 0)
        .map(|(&x, &y)| (x as f64, y as f64))
        .collect();
    let (ra, rb): (f64, f64) = cells
        .iter()
        .fold((0.0, 0.0), |(s, t), (x, y)| (s + x, t + y));
    let total = ra + rb;
    if cells.len() < 2 || ra == 0.0 || rb == 0.0 {
        return None;
    }
    let dof = cells.len() - 1;
    let mut stat = 0.0;
    for &(x, y) in &cells {
        let col = x + y;
        for (obs, row) in [(x, ra), (y, rb)] {
            let expected = row * col / total;
            let mut diff = obs - expected;
            if dof == 1 {
                // Yates: move each observation half a unit toward its
                // expectation, never past it.
                let corr = 0.5f64.min(diff.abs());
                diff = diff.signum() * (diff.abs() - corr);
            }
            stat += diff * diff / expected;
        }
    }
    Some(TestResult {
        statistic: stat,
        p_value: special::chi2_sf(stat, dof as f64),
    })
}

/// The Z-test for two proportions (Evidently's `z` test for binary columns):
/// p1 = a[0]/Σa, p2 = b[0]/Σb, P = pooled share, z = (p1 - p2) /
/// sqrt(P (1 - P) (1/n1 + 1/n2)), two-sided p = 2 (1 - Φ(|z|)). With the same
/// single value on both sides, z = 0 and p = 1.
pub fn z_test_proportions(a: &[u64], b: &[u64]) -> Option<TestResult> {
    if a.len() != b.len() || a.is_empty() || a.len() > 2 {
        return None;
    }
    let (n1, n2) = (a.iter().sum::<u64>() as f64, b.iter().sum::<u64>() as f64);
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let (x1, x2) = (*a.first()? as f64, *b.first()? as f64);
    let (p1, p2) = (x1 / n1, x2 / n2);
    let pooled = (x1 + x2) / (n1 + n2);
    let var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if var <= 0.0 {
        return Some(TestResult {
            statistic: 0.0,
            p_value: 1.0,
        });
    }
    let z = (p1 - p2) / var.sqrt();
    Some(TestResult {
        statistic: z,
        p_value: (2.0 * special::norm_sf(z.abs())).min(1.0),
    })
}

/// The 1-D Wasserstein (earth mover's) distance between two samples sorted
/// ascending: ∫ |F_a - F_b| dx, as `scipy.stats.wasserstein_distance(a, b)`.
/// O(n + m).
pub fn wasserstein_sorted(a: &[f64], b: &[f64]) -> Option<f64> {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev = a.first()?.min(*b.first()?);
    let mut total = 0.0;
    loop {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        let diff = (i as f64 / n1 - j as f64 / n2).abs();
        total += diff * (x - prev);
        prev = x;
        while a.get(i).is_some_and(|&v| v <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|&v| v <= x) {
            j += 1;
        }
    }
    Some(total)
}

/// Evidently's normed Wasserstein distance: [`wasserstein_sorted`] divided by
/// max(population standard deviation of `a`, 0.001).
pub fn wasserstein_distance_norm(a: &[f64], b: &[f64]) -> Option<f64> {
    let w = wasserstein_sorted(a, b)?;
    let n = a.len() as f64;
    let mean = a.iter().sum::<f64>() / n;
    let var = a.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    Some(w / var.sqrt().max(0.001))
}

/// Bins for the binned distances on numeric data: `bins` equal-width bins
/// over the range of both samples (as numpy's `histogram_bin_edges` of the
/// pooled data), and each sample's share per bin (numpy's rule: the last bin
/// is closed). Samples sorted ascending. `None` when a sample is empty.
pub fn binned(a: &[f64], b: &[f64], bins: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let lo = a.first()?.min(*b.first()?);
    let hi = a.last()?.max(*b.last()?);
    let bins = bins.max(1);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    };
    let width = (hi - lo) / bins as f64;
    let shares = |v: &[f64]| -> Vec<f64> {
        let mut counts = vec![0u64; bins];
        for &x in v {
            let k = (((x - lo) / width) as usize).min(bins - 1);
            if let Some(c) = counts.get_mut(k) {
                *c += 1;
            }
        }
        counts.iter().map(|&c| c as f64 / v.len() as f64).collect()
    };
    Some((shares(a), shares(b)))
}

/// Replaces zero shares by a small positive one, as Evidently does before
/// PSI and KL (a hundredth of a percent, or a millionth of the smallest
/// non-zero share when that is smaller).
pub fn fill_zeroes(p: &[f64]) -> Vec<f64> {
    let min = p
        .iter()
        .copied()
        .filter(|x| *x > 0.0)
        .fold(f64::INFINITY, f64::min);
    let fill = if min <= 0.0001 { min / 1e6 } else { 0.0001 };
    p.iter().map(|&x| if x == 0.0 { fill } else { x }).collect()
}

fn normalised(p: &[f64]) -> Option<Vec<f64>> {
    let s: f64 = p.iter().sum();
    (s > 0.0 && s.is_finite()).then(|| p.iter().map(|x| x / s).collect())
}

/// The Jensen-Shannon distance (natural log) between two distributions
/// given as shares or counts over the same bins, as
/// `scipy.spatial.distance.jensenshannon(p, q)`.
pub fn jensenshannon(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.is_empty() {
        return None;
    }
    let (p, q) = (normalised(p)?, normalised(q)?);
    let rel = |x: f64, y: f64| if x > 0.0 { x * (x / y).ln() } else { 0.0 };
    let (mut left, mut right) = (0.0, 0.0);
    for (&x, &y) in p.iter().zip(&q) {
        let m = (x + y) / 2.0;
        left += rel(x, m);
        right += rel(y, m);
    }
    Some(((left + right) / 2.0).max(0.0).sqrt())
}

/// Population stability index Σ (p - q) ln(p / q) on zero-filled shares.
pub fn psi(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.is_empty() {
        return None;
    }
    let (p, q) = (fill_zeroes(p), fill_zeroes(q));
    Some(p.iter().zip(&q).map(|(x, y)| (x - y) * (x / y).ln()).sum())
}

/// Kullback-Leibler divergence of `q` from `p` on zero-filled shares, as
/// `scipy.stats.entropy(p, q)` (which normalises both first).
pub fn kl_div(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.is_empty() {
        return None;
    }
    let (p, q) = (normalised(&fill_zeroes(p))?, normalised(&fill_zeroes(q))?);
    Some(p.iter().zip(&q).map(|(x, y)| x * (x / y).ln()).sum())
}

/// Hellinger distance sqrt(Σ (√p - √q)²) / √2 on shares.
pub fn hellinger(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.is_empty() {
        return None;
    }
    let (p, q) = (normalised(p)?, normalised(q)?);
    let s: f64 = p
        .iter()
        .zip(&q)
        .map(|(x, y)| (x.sqrt() - y.sqrt()).powi(2))
        .sum();
    Some(s.sqrt() / std::f64::consts::SQRT_2)
}

/// Holm's step-down adjusted p-values, as statsmodels' `multipletests(p,
/// method='holm')[1]`.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let n = p.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| p.get(x).unwrap_or(&1.0).total_cmp(p.get(y).unwrap_or(&1.0)));
    let mut out = vec![1.0; n];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let adj = ((n - rank) as f64 * p.get(i).copied().unwrap_or(1.0)).min(1.0);
        running = running.max(adj);
        if let Some(o) = out.get_mut(i) {
            *o = running;
        }
    }
    out
}

/// Bonferroni-adjusted p-values: each times the number of tests, at most 1.
pub fn bonferroni(p: &[f64]) -> Vec<f64> {
    let n = p.len() as f64;
    p.iter().map(|x| (x * n).min(1.0)).collect()
}

/// Benjamini-Hochberg adjusted p-values, as statsmodels' `multipletests(p,
/// method='fdr_bh')[1]`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let n = p.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| p.get(x).unwrap_or(&1.0).total_cmp(p.get(y).unwrap_or(&1.0)));
    let mut out = vec![1.0; n];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let adj = p.get(i).copied().unwrap_or(1.0) * n as f64 / (rank + 1) as f64;
        running = running.min(adj).min(1.0);
        if let Some(o) = out.get_mut(i) {
            *o = running;
        }
    }
    out
}

/// A seeded SplitMix64 generator, so that a sample and a permutation are the
/// same on every run with the same seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A uniform sample of `k` of `0..n` (partial Fisher-Yates).
    fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        let k = k.min(n);
        for i in 0..k {
            let j = i + self.below(n - i);
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx
    }
}

/// The maximum mean discrepancy between the rows of `a` and `b` (vectors of
/// one length) with a Gaussian kernel whose bandwidth is the median distance
/// between the pooled rows, and its p-value by `permutations` random
/// relabellings of the pooled rows. At most `rows` rows of each side are
/// used, drawn with `seed`. O((2 rows)² d) time and (2 rows)² memory.
pub fn mmd_permutation(
    a: &[Vec<f64>],
    b: &[Vec<f64>],
    rows: usize,
    permutations: usize,
    seed: u64,
) -> Option<TestResult> {
    let mut rng = SplitMix(seed);
    let pick = |rng: &mut SplitMix, v: &[Vec<f64>]| -> Vec<Vec<f64>> {
        rng.sample(v.len(), rows)
            .into_iter()
            .filter_map(|i| v.get(i).cloned())
            .collect()
    };
    let x = pick(&mut rng, a);
    let y = pick(&mut rng, b);
    let (nx, ny) = (x.len(), y.len());
    if nx < 2 || ny < 2 {
        return None;
    }
    let pooled: Vec<&Vec<f64>> = x.iter().chain(&y).collect();
    let n = pooled.len();
    let mut d2 = vec![0.0f64; n * n];
    for i in 0..n {
        for j in (i + 1)..n {
            let (Some(u), Some(v)) = (pooled.get(i), pooled.get(j)) else {
                continue;
            };
            let s: f64 = u.iter().zip(v.iter()).map(|(p, q)| (p - q) * (p - q)).sum();
            if let Some(c) = d2.get_mut(i * n + j) {
                *c = s;
            }
            if let Some(c) = d2.get_mut(j * n + i) {
                *c = s;
            }
        }
    }
    let mut upper: Vec<f64> = (0..n)
        .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
        .filter_map(|(i, j)| d2.get(i * n + j).copied())
        .collect();
    upper.sort_unstable_by(f64::total_cmp);
    let median = upper.get(upper.len() / 2).copied().unwrap_or(1.0);
    let bandwidth = if median > 0.0 { median } else { 1.0 };
    let kernel: Vec<f64> = d2.iter().map(|d| (-d / bandwidth).exp()).collect();
    // The unbiased MMD² for a labelling: mean within x + mean within y - 2 mean across.
    let statistic = |labels: &[bool]| -> f64 {
        let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let k = kernel.get(i * n + j).copied().unwrap_or(0.0);
                match (labels.get(i), labels.get(j)) {
                    (Some(true), Some(true)) => xx += k,
                    (Some(false), Some(false)) => yy += k,
                    _ => xy += k,
                }
            }
        }
        let (fx, fy) = (nx as f64, ny as f64);
        xx / (fx * (fx - 1.0)) + yy / (fy * (fy - 1.0)) - xy / (fx * fy)
    };
    let labels: Vec<bool> = (0..n).map(|i| i < nx).collect();
    let observed = statistic(&labels);
    let mut at_least = 0usize;
    let mut perm = labels.clone();
    for _ in 0..permutations {
        for i in (1..n).rev() {
            let j = rng.below(i + 1);
            perm.swap(i, j);
        }
        if statistic(&perm) >= observed {
            at_least += 1;
        }
    }
    Some(TestResult {
        statistic: observed,
        p_value: (at_least + 1) as f64 / (permutations + 1) as f64,
    })
}
