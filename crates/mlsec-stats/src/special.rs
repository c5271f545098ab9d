//! Distribution functions the tests need: the normal and chi-square survival
//! functions and the Kolmogorov-Smirnov distributions, computed as scipy
//! computes them (same algorithms, same branch points) so that p-values agree.

// The coefficients are written with the digits their sources publish.
#![allow(clippy::excessive_precision)]

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error about 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The complementary error function, erfc(x) (W. J. Cody's rational
/// approximations; relative error below 1e-15).
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    let r = if ax < 0.5 {
        return 1.0 - erf_small(x);
    } else if ax < 4.0 {
        erfc_mid(ax)
    } else {
        erfc_large(ax)
    };
    if x < 0.0 {
        2.0 - r
    } else {
        r
    }
}

fn erf_small(x: f64) -> f64 {
    const A: [f64; 5] = [
        3.161_123_743_870_565_6,
        113.864_154_151_050_16,
        377.485_237_685_302_1,
        3_209.377_589_138_469_4,
        0.185_777_706_184_603_15,
    ];
    const B: [f64; 4] = [
        23.601_290_952_344_122,
        244.024_637_934_444_17,
        1_282.616_526_077_372_3,
        2_844.236_833_439_170_6,
    ];
    let z = x * x;
    let mut num = A[4] * z;
    let mut den = z;
    for (a, b) in A.iter().zip(&B).take(3) {
        num = (num + a) * z;
        den = (den + b) * z;
    }
    x * (num + A[3]) / (den + B[3])
}

fn erfc_mid(ax: f64) -> f64 {
    const C: [f64; 9] = [
        0.564_188_496_988_670_1,
        8.883_149_794_388_376,
        66.119_190_637_141_63,
        298.635_138_197_400_1,
        881.952_221_241_769_1,
        1_712.047_612_634_070_7,
        2_051.078_377_826_071_5,
        1_230.339_354_797_997_2,
        2.153_115_354_744_038_3e-8,
    ];
    const D: [f64; 8] = [
        15.744_926_110_709_835,
        117.693_950_891_312_5,
        537.181_101_862_009_9,
        1_621.389_574_566_690_3,
        3_290.799_235_733_459_7,
        4_362.619_090_143_247,
        3_439.367_674_143_721_6,
        1_230.339_354_803_749_5,
    ];
    let mut num = C[8] * ax;
    let mut den = ax;
    for (c, d) in C.iter().zip(&D).take(7) {
        num = (num + c) * ax;
        den = (den + d) * ax;
    }
    let r = (num + C[7]) / (den + D[7]);
    scaled(ax) * r
}

fn erfc_large(ax: f64) -> f64 {
    const P: [f64; 6] = [
        0.305_326_634_961_232_36,
        0.360_344_899_949_804_45,
        0.125_781_726_111_229_25,
        0.016_083_785_148_742_275,
        6.587_491_615_298_378e-4,
        0.016_315_387_137_302_097,
    ];
    const Q: [f64; 5] = [
        2.568_520_192_289_822,
        1.872_952_849_923_460_4,
        0.527_905_102_951_428_4,
        0.060_518_341_312_441_32,
        0.002_335_204_976_268_691_8,
    ];
    if ax > 27.3 {
        return 0.0;
    }
    let z = 1.0 / (ax * ax);
    let mut num = P[5] * z;
    let mut den = z;
    for (p, q) in P.iter().zip(&Q).take(4) {
        num = (num + p) * z;
        den = (den + q) * z;
    }
    let r = z * (num + P[4]) / (den + Q[4]);
    let r = (1.0 / std::f64::consts::PI.sqrt() - r) / ax;
    scaled(ax) * r
}

/// exp(-x²) computed without losing the low bits of x² (Cody's split).
fn scaled(ax: f64) -> f64 {
    let y = (ax * 16.0).trunc() / 16.0;
    let del = (ax - y) * (ax + y);
    (-y * y).exp() * (-del).exp()
}

/// The normal distribution's survival function, P(Z > z).
pub fn norm_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The regularised upper incomplete gamma function Q(a, x) (series below
/// x < a + 1, continued fraction above; Numerical Recipes' split).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 || a <= 0.0 {
        return 1.0;
    }
    if !x.is_finite() {
        return 0.0;
    }
    let log_pre = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        // P(a, x) by its series.
        let mut sum = 1.0 / a;
        let mut term = sum;
        let mut n = a;
        for _ in 0..10_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        (1.0 - sum * log_pre.exp()).clamp(0.0, 1.0)
    } else {
        // Q(a, x) by Lentz's continued fraction.
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (log_pre.exp() * h).clamp(0.0, 1.0)
    }
}

/// The chi-square distribution's survival function with `dof` degrees of freedom.
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    gamma_q(dof / 2.0, x / 2.0)
}

const E128: i32 = 128;
const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128

/// P(D_n > x) for the two-sided one-sample KS statistic D_n (scipy's
/// `kstwo.sf(x, n)`, Simard and L'Ecuyer's choice of algorithm by region).
pub fn kstwo_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 / nf) * (2.0 * t - 1.0))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - prob).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nxsquared = t * x;
    if n <= 140 {
        let cdf = if nxsquared <= 0.754_693 {
            durbin_cdf(n, x)
        } else if nxsquared <= 4.0 {
            pomeranz_cdf(n, x)
        } else {
            return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
        };
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        return pelz_good_sf(n, x).clamp(0.0, 1.0);
    };
    (1.0 - cdf).clamp(0.0, 1.0)
}

fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    const STIRLING: [f64; 8] = [
        -2.955_065_359_477_124_183e-2,
        6.410_256_410_256_410_256_4e-3,
        -1.917_526_917_526_917_526_9e-3,
        8.417_508_417_508_417_508_4e-4,
        -5.952_380_952_380_952_381e-4,
        7.936_507_936_507_936_507_9e-4,
        -2.777_777_777_777_777_777_8e-3,
        8.333_333_333_333_333_333_3e-2,
    ];
    let rn = 1.0 / n;
    let poly = STIRLING.iter().fold(0.0, |acc, c| acc * (rn / n) + c);
    n.ln() / 2.0 - n + (2.0 * std::f64::consts::PI).ln() / 2.0 + rn * poly
}

/// P(D⁺_n > x), the one-sided Smirnov survival function, by the exact
/// Birnbaum-Tingey sum x Σ_j C(n, j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1),
/// every term in logarithms (the terms are positive: no cancellation).
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let last = (nf * (1.0 - x)).floor() as u64;
    // ln C(n, j), summed with Kahan's compensation: over half a million
    // steps plain sums would drift by about 1e-9.
    let (mut log_c, mut carry) = (0.0f64, 0.0f64);
    let mut max_log = f64::NEG_INFINITY;
    let mut logs = Vec::with_capacity(last as usize + 1);
    for j in 0..=last {
        let jf = j as f64;
        if j > 0 {
            let y = ((nf - jf + 1.0).ln() - jf.ln()) - carry;
            let t = log_c + y;
            carry = (t - log_c) - y;
            log_c = t;
        }
        let a = 1.0 - x - jf / nf;
        let b = x + jf / nf;
        if a <= 0.0 && j < n {
            continue;
        }
        let term = log_c + if n > j { (nf - jf) * a.ln() } else { 0.0 } + (jf - 1.0) * b.ln();
        max_log = max_log.max(term);
        logs.push(term);
    }
    if !max_log.is_finite() {
        return 0.0;
    }
    let sum: f64 = logs.iter().map(|l| (l - max_log).exp()).sum();
    (x.ln() + max_log + sum.ln()).exp().clamp(0.0, 1.0)
}

/// Pr(D_n <= d) by Durbin's matrix method as Marsaglia, Tsang and Wang give it.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0f64; m * m];
    let mut v: Vec<f64> = (1..=m).map(|i| 1.0 - h.powi(i as i32)).collect();
    let mut w = vec![0.0f64; m];
    let mut fac = 1.0;
    for j in 1..=m {
        if let Some(x) = w.get_mut(j - 1) {
            *x = fac;
        }
        fac /= j as f64;
        if let Some(x) = v.get_mut(j - 1) {
            *x *= fac;
        }
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    if let Some(x) = v.last_mut() {
        *x = (1.0 + tt) * fac;
    }
    let at = |r: usize, c: usize| r * m + c;
    for i in 1..m {
        for r in (i - 1)..m {
            if let (Some(cell), Some(&val)) = (hm.get_mut(at(r, i)), w.get(r + 1 - i)) {
                *cell = val;
            }
        }
    }
    for r in 0..m {
        if let (Some(cell), Some(&val)) = (hm.get_mut(at(r, 0)), v.get(r)) {
            *cell = val;
        }
    }
    for c in 0..m {
        if let (Some(cell), Some(&val)) = (hm.get_mut(at(m - 1, c)), v.get(m - 1 - c)) {
            *cell = val;
        }
    }
    let matmul = |a: &[f64], b: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; m * m];
        for i in 0..m {
            for l in 0..m {
                let x = a.get(at(i, l)).copied().unwrap_or(0.0);
                if x == 0.0 {
                    continue;
                }
                for j in 0..m {
                    if let (Some(o), Some(y)) = (out.get_mut(at(i, j)), b.get(at(l, j))) {
                        *o += x * y;
                    }
                }
            }
        }
        out
    };
    let mut pwr: Vec<f64> = (0..m * m)
        .map(|i| if i % (m + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let mut nn = n;
    let mut expnt: i32 = 0;
    let mut hexpnt: i32 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm);
        hexpnt *= 2;
        if hm.get(at(k - 1, k - 1)).is_some_and(|x| x.abs() > EP128) {
            hm.iter_mut().for_each(|x| *x /= EP128);
            hexpnt += E128;
        }
        nn /= 2;
    }
    let mut p = pwr.get(at(k - 1, k - 1)).copied().unwrap_or(0.0);
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p *= 2f64.powi(expnt);
    }
    p.clamp(0.0, 1.0)
}

/// Pr(D_n <= x) by Pomeranz's recursion.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf: i64 = if f > 0.0 { 1 } else { 0 };
    let roundf: i64 = if f > 0.5 { 1 } else { 0 };
    let npwrs = (2 * (ll + 1)) as usize;
    let n_i = n as i64;
    let mut gpower = vec![1.0f64; npwrs];
    let mut twogpower = vec![1.0f64; npwrs];
    let mut onem2gpower = vec![1.0f64; npwrs];
    for m in 1..npwrs {
        let mf = m as f64;
        let prev = |v: &[f64]| v.get(m - 1).copied().unwrap_or(0.0);
        let (a, b, c) = (prev(&gpower), prev(&twogpower), prev(&onem2gpower));
        if let Some(x) = gpower.get_mut(m) {
            *x = a * (g / nf) / mf;
        }
        if let Some(x) = twogpower.get_mut(m) {
            *x = b * (2.0 * g / nf) / mf;
        }
        if let Some(x) = onem2gpower.get_mut(m) {
            *x = c * ((1.0 - 2.0 * g) / nf) / mf;
        }
    }
    let j1j2 = |i: i64| -> (i64, i64) {
        let (j1, j2) = if i == 0 {
            (-ll - ceilf - 1, ll + ceilf - 1)
        } else {
            let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
            if ip1mod2 == 0 {
                if ip1div2 == n_i + 1 {
                    (n_i - ll - ceilf - 1, n_i + ll + ceilf - 1)
                } else {
                    (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
                }
            } else {
                (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
            }
        };
        ((j1 + 2).max(0), j2.min(n_i))
    };
    let mut v0 = vec![0.0f64; npwrs];
    let mut v1 = vec![0.0f64; npwrs];
    if let Some(x) = v1.first_mut() {
        *x = 1.0;
    }
    let (mut v0s, mut v1s): (i64, i64) = (0, 0);
    let mut expnt: i32 = 0;
    let (mut j1, _) = j1j2(0);
    let mut j2;
    for i in 1..(2 * n_i + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        (j1, j2) = j1j2(i);
        let pwrs = if i == 1 || i == 2 * n_i + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let ln2 = ln2 as usize;
            let start = (k1 - v0s).max(0) as usize;
            let a: Vec<f64> = (0..ln2)
                .map(|q| v0.get(start + q).copied().unwrap_or(0.0))
                .collect();
            let b: Vec<f64> = (0..ln2)
                .map(|q| pwrs.get(q).copied().unwrap_or(0.0))
                .collect();
            // Full convolution, then the entries j1 - k1 .. j2 - k1.
            let conv_start = (j1 - k1).max(0) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (o, idx) in (conv_start..conv_start + conv_len).enumerate() {
                let mut s = 0.0;
                for q in 0..=idx {
                    if let (Some(x), Some(y)) = (a.get(q), b.get(idx - q)) {
                        s += x * y;
                    }
                }
                if let Some(cell) = v1.get_mut(o) {
                    *cell = s;
                }
            }
            let max = v1.iter().copied().fold(0.0, f64::max);
            if 0.0 < max && max < EM128 {
                v1.iter_mut().for_each(|x| *x *= EP128);
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1.get((n_i - v1s).max(0) as usize).copied().unwrap_or(0.0);
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans *= 2f64.powi(expnt);
    }
    ans.clamp(0.0, 1.0)
}

/// Pr(D_n > x) by Pelz and Good's asymptotic series (Li-Chien and Korolyuk's
/// expansion to order n^-3/2, in theta-function form for small z).
fn pelz_good_sf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z * z * z, z.powi(4), z.powi(6));
    let qlog = -PI * PI / 8.0 / z2;
    if qlog < -708.0 {
        return 1.0;
    }
    let q = qlog.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf(8.0 * kk as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (kv, c) in k.iter_mut().zip(coeffs) {
            *kv = *kv * qpower + c;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let denoms = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (kv, d) in k.iter_mut().zip(denoms) {
        *kv = *kv * q * sqrt2pi / d;
    }
    let q = (-PI * PI / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let kf = kk as f64;
        let ksq = kf * kf;
        let qp = q.powf(ksq);
        k2extra += ksq * qp;
        let kspi = PI * kf;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    for (i, kv) in k.iter_mut().enumerate() {
        *kv /= nf.powf(i as f64 / 2.0);
    }
    // The survival function: 1 - K0 - K1 - K2 - K3.
    let mut sf = 1.0 - k[0];
    for kv in k.iter().skip(1) {
        sf -= kv;
    }
    sf
}
