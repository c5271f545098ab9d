//! Every test and distance against what scipy and statsmodels say of the same
//! data (tests/reference/cases.json, written by generate.py; the versions are
//! in the file). Agreement: 1e-9 relative, or 1e-12 absolute for values
//! below 1e-3 (tiny p-values agree to within the last digits of a double).

use mlsec_stats::special;
use mlsec_stats::twosample as ts;
use serde_json::Value;

fn cases() -> Value {
    serde_json::from_str(include_str!("reference/cases.json")).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    let ok = if want.abs() < 1e-3 {
        (got - want).abs() <= 1e-12 || (got - want).abs() <= 1e-9 * want.abs()
    } else {
        (got - want).abs() <= 1e-9 * want.abs()
    };
    assert!(
        ok,
        "{what}: got {got:e}, scipy {want:e} (diff {:e})",
        got - want
    );
}

fn splitmix(seed: u64, n: usize, shift: f64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 + shift
        })
        .collect()
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_unstable_by(f64::total_cmp);
    v
}

fn check_ks(name: &str, a: Vec<f64>, b: Vec<f64>, case: &Value) {
    let (a, b) = (sorted(a), sorted(b));
    let r = ts::ks_2samp_sorted(&a, &b).unwrap();
    close(
        &format!("{name}: KS statistic"),
        r.statistic,
        f(&case["statistic"]),
    );
    close(
        &format!("{name}: KS p-value"),
        r.p_value,
        f(&case["p_value"]),
    );
    let w = ts::wasserstein_sorted(&a, &b).unwrap();
    close(&format!("{name}: Wasserstein"), w, f(&case["wasserstein"]));
}

#[test]
fn ks_and_wasserstein_match_scipy_on_stored_samples() {
    for case in cases()["ks"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        check_ks(name, floats(&case["a"]), floats(&case["b"]), case);
    }
}

#[test]
fn ks_and_wasserstein_match_scipy_on_generated_samples() {
    for case in cases()["ks_generated"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let gen = |spec: &Value| {
            let s = spec.as_array().unwrap();
            splitmix(s[0].as_u64().unwrap(), f(&s[1]) as usize, f(&s[2]))
        };
        check_ks(name, gen(&case["a"]), gen(&case["b"]), case);
    }
}

#[test]
fn kolmogorov_distribution_matches_scipy_in_every_region() {
    for case in cases()["kstwo"].as_array().unwrap() {
        let (n, x) = (case["n"].as_u64().unwrap(), f(&case["x"]));
        close(
            &format!("kstwo.sf({x}, {n})"),
            special::kstwo_sf(n, x),
            f(&case["sf"]),
        );
    }
}

#[test]
fn chi_square_matches_scipy() {
    for case in cases()["chi2"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let ints = |v: &Value| -> Vec<u64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        };
        let r = ts::chi2_contingency(&ints(&case["a"]), &ints(&case["b"])).unwrap();
        close(&format!("{name}: chi2"), r.statistic, f(&case["statistic"]));
        close(&format!("{name}: chi2 p"), r.p_value, f(&case["p_value"]));
    }
    for case in cases()["chi2_sf"].as_array().unwrap() {
        let (x, dof) = (f(&case["x"]), f(&case["dof"]));
        close(
            &format!("chi2.sf({x}, {dof})"),
            special::chi2_sf(x, dof),
            f(&case["sf"]),
        );
    }
}

#[test]
fn normal_survival_matches_scipy() {
    for case in cases()["norm_sf"].as_array().unwrap() {
        let z = f(&case["z"]);
        close(
            &format!("norm.sf({z})"),
            special::norm_sf(z),
            f(&case["sf"]),
        );
    }
}

#[test]
fn jensen_shannon_matches_scipy() {
    for case in cases()["jensenshannon"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let js = ts::jensenshannon(&floats(&case["p"]), &floats(&case["q"])).unwrap();
        close(name, js, f(&case["js"]));
    }
}

#[test]
fn corrections_match_statsmodels() {
    let c = &cases()["corrections"];
    let p = floats(&c["p"]);
    for (name, got) in [
        ("holm", ts::holm(&p)),
        ("bonferroni", ts::bonferroni(&p)),
        ("bh", ts::benjamini_hochberg(&p)),
    ] {
        for (i, (g, w)) in got.iter().zip(floats(&c[name])).enumerate() {
            close(&format!("{name}[{i}]"), *g, w);
        }
    }
}

#[test]
fn degenerate_inputs_give_none_or_a_valid_p() {
    assert!(ts::ks_2samp_sorted(&[], &[1.0]).is_none());
    assert!(ts::chi2_contingency(&[1, 2], &[3]).is_none());
    assert!(ts::chi2_contingency(&[5], &[7]).is_none(), "one category");
    assert!(
        ts::chi2_contingency(&[0, 0], &[3, 4]).is_none(),
        "empty row"
    );
    assert!(ts::jensenshannon(&[0.0, 0.0], &[1.0, 0.0]).is_none());
    let z = ts::z_test_proportions(&[10], &[12]).unwrap();
    assert_eq!(
        (z.statistic, z.p_value),
        (0.0, 1.0),
        "a single shared value"
    );
    let z = ts::z_test_proportions(&[30, 70], &[60, 40]).unwrap();
    assert!(z.p_value < 1e-4 && z.statistic < 0.0);
    assert!(ts::wasserstein_distance_norm(&[3.0; 10], &[3.0; 4]).unwrap() == 0.0);
    for n in [1u64, 2, 7, 140, 141, 100_001, 1_000_000] {
        for x in [
            -1.0,
            0.0,
            1e-9,
            0.001,
            0.3,
            0.5,
            0.99,
            1.0,
            2.0,
            f64::INFINITY,
        ] {
            let p = special::kstwo_sf(n, x);
            assert!((0.0..=1.0).contains(&p), "kstwo_sf({n}, {x}) = {p}");
        }
    }
}

#[test]
fn mmd_finds_a_joint_change_that_no_column_shows() {
    // x and y each uniform on both sides; correlated in a, independent in b.
    let u = splitmix(1, 800, 0.0);
    let v = splitmix(2, 800, 0.0);
    let a: Vec<Vec<f64>> = u.iter().map(|&x| vec![x, x]).collect();
    let b: Vec<Vec<f64>> = u.iter().zip(&v).map(|(&x, &y)| vec![x, y]).collect();
    let r = ts::mmd_permutation(&a, &b, 400, 100, 7).unwrap();
    assert!(r.p_value < 0.05, "{r:?}");
    let same: Vec<Vec<f64>> = v.iter().map(|&x| vec![x, x]).collect();
    let r2 = ts::mmd_permutation(&a, &same, 400, 100, 7).unwrap();
    assert!(r2.p_value > 0.05, "{r2:?}");
    assert_eq!(
        r2,
        ts::mmd_permutation(&a, &same, 400, 100, 7).unwrap(),
        "seeded"
    );
}
