//! Edge cases of `mlsec_stats::twosample`: empty and one-element samples,
//! all-equal values, NaN and infinities (rejected with an error), p-values
//! in [0, 1], a million values, and the MMD test's determinism.

use mlsec_stats::twosample::{self, Correction, MmdOptions, PValueBound, StatsError, TestResult};

/// A small deterministic generator for test data (64-bit LCG, top bits).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal: sum of 12 uniforms minus 6.
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }

    fn sample(&mut self, n: usize, shift: f64) -> Vec<f64> {
        (0..n).map(|_| self.normal() + shift).collect()
    }
}

fn p_in_unit(r: &TestResult) {
    let p = r.p_value.expect("a p-value");
    assert!((0.0..=1.0).contains(&p), "p-value {p} outside [0, 1]");
    assert!(r.statistic.is_finite(), "statistic {}", r.statistic);
}

#[test]
fn empty_samples_are_errors() {
    let x = [1.0, 2.0, 3.0];
    let e: [f64; 0] = [];
    assert_eq!(twosample::ks_2samp(&e, &x), Err(StatsError::Empty));
    assert_eq!(twosample::ks_2samp(&x, &e), Err(StatsError::Empty));
    assert_eq!(twosample::ks_2samp_sorted(&e, &x), Err(StatsError::Empty));
    assert_eq!(
        twosample::wasserstein_distance(&e, &x),
        Err(StatsError::Empty)
    );
    assert_eq!(
        twosample::wasserstein_distance_norm(&x, &e),
        Err(StatsError::Empty)
    );
    assert_eq!(
        twosample::anderson_darling_2samp(&e, &x).err(),
        Some(StatsError::Empty)
    );
    assert!(matches!(
        twosample::cramer_von_mises_2samp(&e, &x),
        Err(StatsError::TooFew { needed: 2 })
    ));
    assert_eq!(twosample::bin_numeric(&e, &x), Err(StatsError::Empty));
    assert_eq!(twosample::sturges_edges(&e), Err(StatsError::Empty));
    assert_eq!(
        twosample::hellinger_distance_numeric(&x, &e),
        Err(StatsError::Empty)
    );
    assert_eq!(
        twosample::chi2_homogeneity(&[0, 0], &[1, 2]).err(),
        Some(StatsError::Empty)
    );
    assert_eq!(
        twosample::chi2_homogeneity(&[], &[]).err(),
        Some(StatsError::Empty)
    );
    assert_eq!(
        twosample::bin_categorical(&[3, 4], &[0, 0]),
        Err(StatsError::Empty)
    );
    assert_eq!(
        twosample::two_proportion_z_test(&[0, 0], &[1, 2]),
        Err(StatsError::Empty)
    );
    assert_eq!(
        twosample::jensen_shannon_distance(&[], &[]),
        Err(StatsError::Empty)
    );
    assert_eq!(
        twosample::jensen_shannon_distance(&[0.0, 0.0], &[1.0, 0.0]),
        Err(StatsError::Empty)
    );
    assert_eq!(
        twosample::adjust_p_values(&[], Correction::Holm),
        Ok(vec![])
    );
}

#[test]
fn one_element_samples() {
    let r = twosample::ks_2samp(&[1.0], &[2.0]).expect("ks on one value each");
    assert_eq!(r.statistic, 1.0);
    p_in_unit(&r);
    let r = twosample::ks_2samp(&[1.0], &[1.0]).expect("ks on equal single values");
    assert_eq!(r.statistic, 0.0);
    assert_eq!(r.p_value, Some(1.0));
    assert_eq!(twosample::wasserstein_distance(&[1.0], &[3.5]), Ok(2.5));
    // std of one value is 0, so Evidently's floor 0.001 divides.
    let w = twosample::wasserstein_distance_norm(&[1.0], &[3.5]).expect("norm");
    assert!((w - 2500.0).abs() < 1e-9);
    assert!(matches!(
        twosample::cramer_von_mises_2samp(&[1.0], &[1.0, 2.0]),
        Err(StatsError::TooFew { .. })
    ));
    assert!(matches!(
        twosample::anderson_darling_2samp(&[1.0], &[2.0]),
        Err(StatsError::TooFew { .. })
    ));
}

#[test]
fn all_equal_values() {
    let a = vec![4.2; 30];
    let b = vec![4.2; 17];
    let ks = twosample::ks_2samp(&a, &b).expect("ks");
    assert_eq!((ks.statistic, ks.p_value), (0.0, Some(1.0)));
    assert_eq!(twosample::wasserstein_distance(&a, &b), Ok(0.0));
    assert_eq!(twosample::wasserstein_distance_norm(&a, &b), Ok(0.0));
    let cvm = twosample::cramer_von_mises_2samp(&a, &b).expect("cvm");
    p_in_unit(&cvm);
    assert!(matches!(
        twosample::anderson_darling_2samp(&a, &b),
        Err(StatsError::Degenerate(_))
    ));
    let edges = twosample::sturges_edges(&a).expect("edges");
    assert_eq!(edges, vec![3.7, 4.7]);
    let binned = twosample::bin_numeric(&a, &b).expect("binned");
    assert_eq!(binned.reference, vec![1.0]);
    assert_eq!(twosample::psi(&binned), Ok(0.0));
    assert_eq!(twosample::kl_divergence(&binned), Ok(0.0));
    assert_eq!(
        twosample::jensen_shannon_distance(&binned.reference, &binned.current),
        Ok(0.0)
    );
    assert_eq!(twosample::hellinger_distance(&binned), Ok(0.0));
    assert_eq!(twosample::hellinger_distance_numeric(&a, &b), Ok(0.0));
}

#[test]
fn nan_and_infinities_are_rejected() {
    let good = [1.0, 2.0, 3.0, 4.0];
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let x = [1.0, bad, 3.0, 5.0];
        let nf = Err(StatsError::NonFinite);
        assert_eq!(twosample::ks_2samp(&good, &x), nf);
        assert_eq!(twosample::ks_2samp(&x, &good), nf);
        assert_eq!(twosample::ks_2samp_sorted(&good, &[1.0, 2.0, bad]), nf);
        assert_eq!(twosample::cramer_von_mises_2samp(&x, &good), nf);
        assert_eq!(
            twosample::anderson_darling_2samp(&good, &x).err(),
            Some(StatsError::NonFinite)
        );
        assert_eq!(
            twosample::wasserstein_distance(&x, &good),
            Err(StatsError::NonFinite)
        );
        assert_eq!(
            twosample::wasserstein_distance_norm(&good, &x),
            Err(StatsError::NonFinite)
        );
        assert_eq!(twosample::sturges_edges(&x), Err(StatsError::NonFinite));
        assert_eq!(
            twosample::histogram_counts(&x, &[0.0, 1.0]),
            Err(StatsError::NonFinite)
        );
        assert_eq!(
            twosample::bin_numeric(&good, &x),
            Err(StatsError::NonFinite)
        );
        assert_eq!(
            twosample::hellinger_distance_numeric(&x, &good),
            Err(StatsError::NonFinite)
        );
        assert_eq!(
            twosample::jensen_shannon_distance(&x, &good),
            Err(StatsError::NonFinite)
        );
        assert_eq!(
            twosample::adjust_p_values(&[0.1, bad], Correction::Holm),
            Err(StatsError::InvalidProbability)
        );
        let rows = vec![vec![0.0, 1.0], vec![bad, 1.0], vec![2.0, 2.0]];
        let ok_rows = vec![vec![0.0, 1.0], vec![1.0, 1.0]];
        assert_eq!(
            twosample::mmd_permutation_test(&rows, &ok_rows, MmdOptions::default()),
            Err(StatsError::NonFinite)
        );
    }
}

#[test]
fn sorted_variant_checks_order() {
    assert_eq!(
        twosample::ks_2samp_sorted(&[1.0, 3.0, 2.0], &[1.0]),
        Err(StatsError::NotSorted)
    );
    assert_eq!(
        twosample::wasserstein_distance_sorted(&[1.0], &[2.0, 1.0]),
        Err(StatsError::NotSorted)
    );
}

#[test]
fn p_values_stay_in_unit_interval() {
    let mut rng = Lcg(7);
    for (n1, n2, shift) in [
        (3, 4, 0.0),
        (9, 31, 1.5),
        (50, 50, 0.2),
        (400, 130, 0.0),
        (2, 2, 9.0),
    ] {
        let a = rng.sample(n1, 0.0);
        let b = rng.sample(n2, shift);
        p_in_unit(&twosample::ks_2samp(&a, &b).expect("ks"));
        p_in_unit(&twosample::cramer_von_mises_2samp(&a, &b).expect("cvm"));
        if n1 + n2 >= 4 {
            let ad = twosample::anderson_darling_2samp(&a, &b).expect("ad");
            assert!((0.001..=0.25).contains(&ad.p_value));
        }
    }
    for (r, c) in [
        ([5u64, 0], [0u64, 5]),
        ([1, 1], [1, 1]),
        ([1000, 1], [1, 1000]),
    ] {
        p_in_unit(&twosample::two_proportion_z_test(&r, &c).expect("z"));
        let chi = twosample::chi2_homogeneity(&r, &c).expect("chi2");
        assert!((0.0..=1.0).contains(&chi.p_value));
    }
    let adj = twosample::adjust_p_values(&[1.0, 0.9, 0.5, 0.0], Correction::BenjaminiHochberg)
        .expect("bh");
    assert!(adj.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn categorical_inputs_are_validated() {
    assert_eq!(
        twosample::chi2_homogeneity(&[1, 2], &[1]).err(),
        Some(StatsError::LengthMismatch)
    );
    assert_eq!(
        twosample::two_proportion_z_test(&[1, 2, 3], &[1, 2, 3]),
        Err(StatsError::LengthMismatch)
    );
    // Zero in both rows: dropped, so three categories become two (dof 1).
    let with_zero = twosample::chi2_homogeneity(&[10, 0, 20], &[15, 0, 12]).expect("chi2");
    let without = twosample::chi2_homogeneity(&[10, 20], &[15, 12]).expect("chi2");
    assert_eq!(with_zero, without);
    assert_eq!(with_zero.dof, 1);
    // Counts near u64::MAX do not overflow.
    let big = twosample::chi2_homogeneity(&[u64::MAX, u64::MAX], &[u64::MAX, 1]).expect("chi2");
    assert!(big.statistic > 0.0 && (0.0..=1.0).contains(&big.p_value));
    assert!(twosample::bin_categorical(&[u64::MAX, u64::MAX], &[1, 1]).is_ok());
    assert_eq!(
        twosample::adjust_p_values(&[0.5, 1.5], Correction::Bonferroni),
        Err(StatsError::InvalidProbability)
    );
    assert_eq!(
        twosample::jensen_shannon_distance(&[1.0, -1.0], &[1.0, 1.0]),
        Err(StatsError::InvalidProbability)
    );
}

#[test]
fn anderson_darling_reports_bounds() {
    let a: Vec<f64> = (0..40).map(f64::from).collect();
    let far: Vec<f64> = (100..140).map(f64::from).collect();
    let r = twosample::anderson_darling_2samp(&a, &far).expect("ad");
    assert_eq!((r.p_value, r.bound), (0.001, PValueBound::Floored));
    let interleaved: Vec<f64> = (0..40).map(|i| f64::from(i) + 0.5).collect();
    let r = twosample::anderson_darling_2samp(&a, &interleaved).expect("ad");
    assert_eq!((r.p_value, r.bound), (0.25, PValueBound::Capped));
}

#[test]
fn a_million_values() {
    // Release builds take well under a second; nothing here asserts time.
    let mut rng = Lcg(99);
    let mut a = rng.sample(1_000_000, 0.0);
    let mut b = rng.sample(1_000_000, 0.01);
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let ks = twosample::ks_2samp_sorted(&a, &b).expect("ks");
    p_in_unit(&ks);
    assert!(ks.statistic > 0.0 && ks.statistic < 0.02);
    // A 0.01 shift on a million values each is detected.
    assert!(ks.p_value.unwrap_or(1.0) < 0.05, "{ks:?}");
    let w = twosample::wasserstein_distance_sorted(&a, &b).expect("w");
    assert!((w - 0.01).abs() < 0.005, "{w}");
    p_in_unit(&twosample::cramer_von_mises_2samp(&a, &b).expect("cvm"));
    let ad = twosample::anderson_darling_2samp(&a, &b).expect("ad");
    assert!(ad.statistic.is_finite());
    let binned = twosample::bin_numeric(&a, &b).expect("binned");
    assert_eq!(
        binned.reference.len(),
        22,
        "Sturges: ceil(log2(2e6) + 1) bins"
    );
    let psi = twosample::psi(&binned).expect("psi");
    assert!((0.0..0.01).contains(&psi), "{psi}");
}

fn rows(rng: &mut Lcg, n: usize, dim: usize, shift: f64) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| (0..dim).map(|_| rng.normal() + shift).collect())
        .collect()
}

#[test]
fn mmd_is_deterministic_and_detects_a_shift() {
    let mut rng = Lcg(3);
    let x = rows(&mut rng, 60, 3, 0.0);
    let y_same = rows(&mut rng, 50, 3, 0.0);
    let y_shift = rows(&mut rng, 50, 3, 1.0);
    let opts = MmdOptions {
        permutations: 200,
        seed: 42,
        max_rows: 1000,
    };
    let a = twosample::mmd_permutation_test(&x, &y_shift, opts).expect("mmd");
    let b = twosample::mmd_permutation_test(&x, &y_shift, opts).expect("mmd");
    assert_eq!(a, b, "same seed, same result");
    p_in_unit(&a);
    assert!(a.statistic > 0.0);
    // Nothing permuted beats the real split: p = 1 / (1 + permutations).
    assert_eq!(a.p_value, Some(1.0 / 201.0));
    let same = twosample::mmd_permutation_test(&x, &y_same, opts).expect("mmd");
    assert!(same.p_value.unwrap_or(0.0) > 0.05, "{same:?}");
    // Subsampling: at most max_rows of each side, still deterministic.
    let small = MmdOptions {
        max_rows: 20,
        ..opts
    };
    let s1 = twosample::mmd_permutation_test(&x, &y_shift, small).expect("mmd");
    let s2 = twosample::mmd_permutation_test(&x, &y_shift, small).expect("mmd");
    assert_eq!(s1, s2);
    assert_ne!(s1.statistic, a.statistic);
    // Identical rows everywhere: median distance 0 falls back to γ = 1.
    let flat = vec![vec![1.0, 1.0]; 5];
    let r = twosample::mmd_permutation_test(&flat, &flat, opts).expect("mmd");
    assert_eq!(r.statistic, 0.0);
    assert_eq!(r.p_value, Some(1.0));
}

#[test]
fn mmd_rejects_bad_shapes() {
    let x = vec![vec![0.0, 1.0], vec![1.0, 1.0]];
    let y = vec![vec![0.0], vec![1.0]];
    let opts = MmdOptions::default();
    assert_eq!(
        twosample::mmd_permutation_test(&x, &y, opts),
        Err(StatsError::LengthMismatch)
    );
    assert!(matches!(
        twosample::mmd_permutation_test(&x[..1], &x, opts),
        Err(StatsError::TooFew { .. })
    ));
    let none = MmdOptions {
        permutations: 0,
        ..opts
    };
    assert!(matches!(
        twosample::mmd_permutation_test(&x, &x, none),
        Err(StatsError::Degenerate(_))
    ));
}

#[test]
fn results_serialise() {
    let r = twosample::ks_2samp(&[1.0, 2.0], &[3.0, 4.0]).expect("ks");
    let json = serde_json::to_string(&r).expect("json");
    assert!(
        json.starts_with("{\"statistic\":1.0,\"p_value\":0.33"),
        "{json}"
    );
    let back: TestResult = serde_json::from_str(&json).expect("back");
    assert_eq!(back, r);
}
