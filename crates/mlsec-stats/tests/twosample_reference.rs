//! Compares every function of `mlsec_stats::twosample` with what SciPy,
//! statsmodels and Evidently computed on the same data
//! (`tests/reference/cases.json`, written by `tests/reference/generate.py`;
//! the versions are in the file). Python is not needed to run this.
//!
//! Tolerance: |actual - expected| <= 1e-9·|expected|, and 1e-14 absolute
//! only where the expected value is 0 or where the reference itself is
//! 1 - (something close to 1) and so carries only absolute precision:
//! SciPy's asymptotic Cramér-von Mises p-value (1 - CDF, with the CDF's
//! terms good to about 1e-15) and Evidently's Z-test p-value (2·(1 - Φ)).
//! `--nocapture` prints the worst relative error per quantity.

use mlsec_stats::twosample::{self, PValueBound};
use serde_json::Value;

const REL: f64 = 1e-9;
const ABS: f64 = 1e-14;

fn cases() -> Value {
    let text = include_str!("reference/cases.json");
    serde_json::from_str(text).expect("cases.json parses")
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        _ => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(num).collect()
}

/// A sample: inline values, or the first `take` values of a shared array.
fn sample(cases: &Value, v: &Value) -> Vec<f64> {
    if let Some(name) = v.get("shared").and_then(Value::as_str) {
        let take = v["take"].as_u64().expect("take") as usize;
        let all = floats(&cases["shared"][name]);
        assert!(take <= all.len(), "shared {name} too short");
        return all[..take].to_vec();
    }
    floats(v)
}

fn counts(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("count"))
        .collect()
}

#[derive(Default)]
struct Checker {
    failures: Vec<String>,
    checked: usize,
    /// Worst relative error seen per quantity (the label after the case
    /// name), printed with `--nocapture`.
    worst: std::collections::BTreeMap<String, f64>,
}

impl Checker {
    fn close(&mut self, what: &str, actual: f64, expected: f64) {
        self.check(what, actual, expected, false);
    }

    /// As `close`, but also accepting 1e-14 absolute (see the file's doc).
    fn close_abs(&mut self, what: &str, actual: f64, expected: f64) {
        self.check(what, actual, expected, true);
    }

    fn check(&mut self, what: &str, actual: f64, expected: f64, absolute_ok: bool) {
        self.checked += 1;
        let diff = (actual - expected).abs();
        let ok = diff <= REL * expected.abs()
            || ((expected == 0.0 || absolute_ok) && diff <= ABS)
            || (actual.is_nan() && expected.is_nan());
        let rel = if expected == 0.0 {
            diff
        } else {
            diff / expected.abs()
        };
        let key = what.split_once(' ').map_or(what, |(_, k)| k);
        let key = key.split_once('[').map_or(key, |(k, _)| k).to_string();
        let worst = self.worst.entry(key).or_insert(0.0);
        if rel > *worst {
            *worst = rel;
        }
        if !ok {
            self.failures.push(format!(
                "{what}: got {actual:e}, expected {expected:e} (rel {rel:.2e})"
            ));
        }
    }

    fn fail(&mut self, what: &str, why: String) {
        self.checked += 1;
        self.failures.push(format!("{what}: {why}"));
    }

    fn finish(self) {
        for (key, rel) in &self.worst {
            eprintln!("worst relative error  {key:<28} {rel:.2e}");
        }
        assert!(self.checked > 0, "nothing checked");
        assert!(
            self.failures.is_empty(),
            "{} of {} checks failed:\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n")
        );
    }
}

#[test]
fn numeric_cases_match_scipy_and_evidently() {
    let cases = cases();
    let mut c = Checker::default();
    for case in cases["numeric"].as_array().expect("numeric") {
        let name = case["name"].as_str().expect("name");
        let a = sample(&cases, &case["a"]);
        let b = sample(&cases, &case["b"]);

        let ks = twosample::ks_2samp(&a, &b).expect("ks");
        c.close(
            &format!("{name} ks statistic"),
            ks.statistic,
            num(&case["ks"]["statistic"]),
        );
        c.close(
            &format!("{name} ks p"),
            ks.p_value.unwrap_or(f64::NAN),
            num(&case["ks"]["p_value"]),
        );
        let mut sa = a.clone();
        let mut sb = b.clone();
        sa.sort_by(f64::total_cmp);
        sb.sort_by(f64::total_cmp);
        let ks_sorted = twosample::ks_2samp_sorted(&sa, &sb).expect("ks sorted");
        assert_eq!(ks, ks_sorted, "{name}: sorted variant differs");

        let expected_cvm = &case["cvm"];
        let cvm = twosample::cramer_von_mises_2samp(&a, &b);
        match cvm {
            Ok(r) if !expected_cvm.is_null() && !num(&expected_cvm["statistic"]).is_nan() => {
                c.close(
                    &format!("{name} cvm statistic"),
                    r.statistic,
                    num(&expected_cvm["statistic"]),
                );
                c.close_abs(
                    &format!("{name} cvm p"),
                    r.p_value.unwrap_or(f64::NAN),
                    num(&expected_cvm["p_value"]),
                );
            }
            Err(_) if expected_cvm.is_null() || num(&expected_cvm["statistic"]).is_nan() => {}
            other => c.fail(
                &format!("{name} cvm"),
                format!("got {other:?}, expected {expected_cvm}"),
            ),
        }

        let expected_ad = &case["anderson"];
        match twosample::anderson_darling_2samp(&a, &b) {
            Ok(r) if !expected_ad.is_null() => {
                c.close(
                    &format!("{name} anderson statistic"),
                    r.statistic,
                    num(&expected_ad["statistic"]),
                );
                c.close(
                    &format!("{name} anderson p"),
                    r.p_value,
                    num(&expected_ad["p_value"]),
                );
                let bound = match r.bound {
                    PValueBound::None => "none",
                    PValueBound::Capped => "capped",
                    PValueBound::Floored => "floored",
                };
                if bound != expected_ad["bound"].as_str().unwrap_or("") {
                    c.fail(
                        &format!("{name} anderson bound"),
                        format!("{bound} vs {}", expected_ad["bound"]),
                    );
                }
            }
            Err(_) if expected_ad.is_null() => {}
            other => c.fail(
                &format!("{name} anderson"),
                format!("got {other:?}, expected {expected_ad}"),
            ),
        }

        let w = twosample::wasserstein_distance(&a, &b).expect("wasserstein");
        c.close(&format!("{name} wasserstein"), w, num(&case["wasserstein"]));
        let ws = twosample::wasserstein_distance_sorted(&sa, &sb).expect("wasserstein sorted");
        c.close(
            &format!("{name} wasserstein sorted"),
            ws,
            num(&case["wasserstein"]),
        );
        let wn = twosample::wasserstein_distance_norm(&a, &b).expect("wasserstein norm");
        c.close(
            &format!("{name} wasserstein_norm"),
            wn,
            num(&case["wasserstein_norm"]),
        );

        let mut all = a.clone();
        all.extend_from_slice(&b);
        let edges = twosample::sturges_edges(&all).expect("edges");
        let want_edges = floats(&case["sturges_edges"]);
        if edges != want_edges {
            c.fail(
                &format!("{name} sturges edges"),
                format!("{edges:?} vs {want_edges:?}"),
            );
        }

        let binned = twosample::bin_numeric(&a, &b).expect("binned");
        c.close(
            &format!("{name} psi"),
            twosample::psi(&binned).expect("psi"),
            num(&case["psi"]),
        );
        c.close(
            &format!("{name} kl_div"),
            twosample::kl_divergence(&binned).expect("kl"),
            num(&case["kl_div"]),
        );
        let js =
            twosample::jensen_shannon_distance(&binned.reference, &binned.current).expect("js");
        c.close(
            &format!("{name} jensenshannon"),
            js,
            num(&case["jensenshannon"]),
        );
        let h = twosample::hellinger_distance_numeric(&a, &b).expect("hellinger");
        c.close(&format!("{name} hellinger"), h, num(&case["hellinger"]));
    }
    c.finish();
}

#[test]
fn categorical_cases_match_scipy_and_evidently() {
    let cases = cases();
    let mut c = Checker::default();
    for case in cases["categorical"].as_array().expect("categorical") {
        let name = case["name"].as_str().expect("name");
        let r = counts(&case["reference"]);
        let k = counts(&case["current"]);

        match (twosample::chi2_homogeneity(&r, &k), &case["chi2"]) {
            (Ok(res), want) if !want.is_null() => {
                c.close(
                    &format!("{name} chi2 statistic"),
                    res.statistic,
                    num(&want["statistic"]),
                );
                c.close(
                    &format!("{name} chi2 p"),
                    res.p_value,
                    num(&want["p_value"]),
                );
                if Some(res.dof) != want["dof"].as_u64() {
                    c.fail(
                        &format!("{name} chi2 dof"),
                        format!("{} vs {}", res.dof, want["dof"]),
                    );
                }
            }
            (Err(_), want) if want.is_null() => {}
            (got, want) => c.fail(
                &format!("{name} chi2"),
                format!("got {got:?}, expected {want}"),
            ),
        }

        match (twosample::two_proportion_z_test(&r, &k), &case["z"]) {
            (Ok(res), want) if !want.is_null() => {
                c.close(
                    &format!("{name} z statistic"),
                    res.statistic,
                    num(&want["statistic"]),
                );
                c.close_abs(
                    &format!("{name} z p"),
                    res.p_value.unwrap_or(f64::NAN),
                    num(&want["p_value"]),
                );
            }
            (Err(_), want) if want.is_null() => {}
            (got, want) => c.fail(
                &format!("{name} z"),
                format!("got {got:?}, expected {want}"),
            ),
        }

        if case["psi"].is_null() {
            assert!(
                twosample::bin_categorical(&r, &k).is_err(),
                "{name}: binning should fail"
            );
            continue;
        }
        let binned = twosample::bin_categorical(&r, &k).expect("binned");
        c.close(
            &format!("{name} psi"),
            twosample::psi(&binned).expect("psi"),
            num(&case["psi"]),
        );
        c.close(
            &format!("{name} kl_div"),
            twosample::kl_divergence(&binned).expect("kl"),
            num(&case["kl_div"]),
        );
        let js =
            twosample::jensen_shannon_distance(&binned.reference, &binned.current).expect("js");
        c.close(
            &format!("{name} jensenshannon"),
            js,
            num(&case["jensenshannon"]),
        );
        let h = twosample::hellinger_distance(&binned).expect("hellinger");
        c.close(&format!("{name} hellinger"), h, num(&case["hellinger"]));
        let rf: Vec<f64> = r.iter().map(|&x| x as f64).collect();
        let kf: Vec<f64> = k.iter().map(|&x| x as f64).collect();
        let js_raw = twosample::jensen_shannon_distance(&rf, &kf).expect("js raw");
        c.close(
            &format!("{name} scipy jensenshannon"),
            js_raw,
            num(&case["scipy_jensenshannon"]),
        );
    }
    c.finish();
}

#[test]
fn multiple_testing_matches_statsmodels() {
    let cases = cases();
    let mut c = Checker::default();
    for case in cases["multitest"].as_array().expect("multitest") {
        let name = case["name"].as_str().expect("name");
        let p = floats(&case["p"]);
        for (key, method) in [
            ("holm", twosample::Correction::Holm),
            ("bonferroni", twosample::Correction::Bonferroni),
            ("fdr_bh", twosample::Correction::BenjaminiHochberg),
        ] {
            let got = twosample::adjust_p_values(&p, method).expect("adjust");
            let want = floats(&case[key]);
            assert_eq!(got.len(), want.len(), "{name} {key}: length");
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                c.close(&format!("{name} {key}[{i}]"), *g, *w);
            }
        }
    }
    c.checked += 1;
    c.finish();
}

#[test]
fn reference_versions_are_recorded() {
    let cases = cases();
    for key in ["scipy", "numpy", "statsmodels", "evidently"] {
        assert!(
            cases["versions"][key].is_string(),
            "version of {key} missing"
        );
    }
}
