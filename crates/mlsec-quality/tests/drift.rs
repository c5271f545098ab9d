//! `drift()` on tables written here: which columns drift, schema changes,
//! bad input, every reader, and the numbers against scipy's.

use mlsec_quality::{drift, ColumnKind, DriftDetails, DriftOptions, Method};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A seeded generator (SplitMix64) so the tables are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A CSV of `rows` rows: `age` ~ N(40 + shift, 10), `score` ~ N(0, 1),
/// `plan` in {basic, pro, team} with the share of `team` given, `id` unique.
fn table(path: &Path, rows: usize, seed: u64, age_shift: f64, team_share: f64) {
    let mut rng = Rng(seed);
    let mut s = String::from("id,age,score,plan\n");
    for i in 0..rows {
        let age = 40.0 + age_shift + 10.0 * rng.normal();
        let score = rng.normal();
        let u = rng.uniform();
        let plan = if u < team_share {
            "team"
        } else if u < team_share + (1.0 - team_share) / 2.0 {
            "pro"
        } else {
            "basic"
        };
        let _ = writeln!(s, "{seed}-{i},{age:.3},{score:.5},{plan}");
    }
    std::fs::write(path, s).unwrap();
}

fn run(opts: &DriftOptions) -> (mlsec_core::Evidence, DriftDetails) {
    let evidence = drift(opts).unwrap();
    let details: DriftDetails = serde_json::from_value(evidence.details.clone()).unwrap();
    (evidence, details)
}

fn column<'a>(d: &'a DriftDetails, name: &str) -> &'a mlsec_quality::ColumnDrift {
    d.columns.iter().find(|c| c.column == name).unwrap()
}

fn pair(dir: &Path, rows: usize, shift: f64, team: f64) -> (PathBuf, PathBuf) {
    let (r, c) = (dir.join("ref.csv"), dir.join("cur.csv"));
    table(&r, rows, 1, 0.0, 1.0 / 3.0);
    table(&c, rows, 2, shift, team);
    (r, c)
}

#[test]
fn large_tables_are_judged_by_distances_and_find_the_drifted_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = pair(dir.path(), 5000, 5.0, 0.6);
    let mut opts = DriftOptions::new(r, c);
    opts.exclude = vec!["id".into()];
    let (evidence, d) = run(&opts);
    let age = column(&d, "age");
    assert_eq!(age.kind, ColumnKind::Numeric);
    assert_eq!(age.method, Method::Wasserstein);
    assert!(age.drifted, "{age:?}");
    // A shift of half a standard deviation: Wasserstein / std near 0.5.
    assert!((age.statistic - 0.5).abs() < 0.1, "{}", age.statistic);
    assert!(age.test.p_value.unwrap() < 1e-10);
    let plan = column(&d, "plan");
    assert_eq!(plan.kind, ColumnKind::Categorical);
    assert_eq!(plan.method, Method::Jensenshannon);
    assert!(plan.drifted, "{plan:?}");
    let score = column(&d, "score");
    assert!(!score.drifted, "{score:?}");
    assert_eq!(score.p_value, None, "a distance has no p-value");
    assert!(score.test.p_value.unwrap() > 0.01);
    assert_eq!(d.drifted, 2);
    assert_eq!(d.compared, 3);
    assert!(d.dataset_drift, "2 of 3 >= 0.5");
    let rules: Vec<&str> = evidence.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["DRF001", "DRF001", "DRF002"]);
    assert_eq!(evidence.summary.verdict, "fail");
    assert_eq!(evidence.findings[0].location.as_deref(), Some("[age]"));
    assert_eq!(d.skipped[0].column, "id");
}

#[test]
fn the_same_population_does_not_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = pair(dir.path(), 5000, 0.0, 1.0 / 3.0);
    let mut opts = DriftOptions::new(r, c);
    opts.exclude = vec!["id".into()];
    let (evidence, d) = run(&opts);
    assert_eq!(d.drifted, 0, "{:#?}", d.columns);
    assert!(evidence.findings.is_empty());
    assert_eq!(evidence.summary.verdict, "pass");
}

#[test]
fn small_tables_are_judged_by_tests_with_corrected_p_values() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = pair(dir.path(), 400, 6.0, 1.0 / 3.0);
    let mut opts = DriftOptions::new(r, c);
    opts.exclude = vec!["id".into()];
    let (_, d) = run(&opts);
    let age = column(&d, "age");
    assert_eq!(age.method, Method::Ks);
    assert!(age.drifted);
    let (p, adjusted) = (age.p_value.unwrap(), age.p_value_adjusted.unwrap());
    // Holm: the smallest of three p-values is multiplied by three.
    assert!(
        (adjusted - (3.0 * p).min(1.0)).abs() < 1e-12,
        "{p} {adjusted}"
    );
    assert_eq!(column(&d, "plan").method, Method::Chisquare);

    opts.correction = mlsec_quality::Correction::None;
    let (_, d) = run(&opts);
    let age = column(&d, "age");
    assert_eq!(age.p_value, age.p_value_adjusted);
}

#[test]
fn identifier_columns_are_not_compared_but_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = pair(dir.path(), 12_000, 0.0, 1.0 / 3.0);
    let (evidence, d) = run(&DriftOptions::new(r, c));
    let skipped = d.skipped.iter().find(|s| s.column == "id").unwrap();
    assert!(
        skipped.reason.contains("distinct values"),
        "{}",
        skipped.reason
    );
    assert!(evidence
        .findings
        .iter()
        .any(|f| f.rule == "DRF004" && f.message.starts_with("id:")));
}

#[test]
fn schema_changes_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("ref.csv");
    let c = dir.path().join("cur.csv");
    let mut a = String::from("x,y,gone\n");
    let mut b = String::from("x,y,new\n");
    for i in 0..50 {
        let _ = writeln!(a, "{i},{},1", i % 7);
        let y = if i == 12 {
            "n/a*".to_string()
        } else {
            (i % 7).to_string()
        };
        let _ = writeln!(b, "{i},{y},1");
    }
    std::fs::write(&r, a).unwrap();
    std::fs::write(&c, b).unwrap();
    let (evidence, d) = run(&DriftOptions::new(r, c));
    let messages: Vec<&str> = evidence
        .findings
        .iter()
        .filter(|f| f.rule == "DRF003")
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("gone: in the reference, missing")),
        "{messages:?}"
    );
    assert!(messages
        .iter()
        .any(|m| m.starts_with("new: in the current data, not in the reference")));
    assert!(
        messages
            .iter()
            .any(|m| m.contains("y: numeric in the reference, 1 value(s)") && m.contains("row 13")),
        "{messages:?}"
    );
    // y is still compared, on its numbers.
    assert_eq!(column(&d, "y").current.count, 49);
}

#[test]
fn empty_and_all_missing_columns_are_reported_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("ref.csv");
    let c = dir.path().join("cur.csv");
    let mut a = String::from("x,blank\n");
    let mut b = String::from("x,blank\n");
    for i in 0..30 {
        let _ = writeln!(a, "{i},{i}");
        let _ = writeln!(b, "{i},NA");
    }
    std::fs::write(&r, a).unwrap();
    std::fs::write(&c, b).unwrap();
    let (evidence, d) = run(&DriftOptions::new(r, c));
    let f = evidence
        .findings
        .iter()
        .find(|f| f.rule == "DRF004")
        .unwrap();
    assert_eq!(
        f.message,
        "blank: not compared: no values in the current data"
    );
    assert_eq!(d.compared, 1);
}

#[test]
fn usage_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = pair(dir.path(), 10, 0.0, 0.3);
    let mut opts = DriftOptions::new(r.clone(), c.clone());
    opts.columns = vec!["nope".into()];
    let e = drift(&opts).unwrap_err().to_string();
    assert!(e.contains("no column `nope`"), "{e}");

    let mut opts = DriftOptions::new(r.clone(), c.clone());
    opts.numeric_method = Some(Method::Chisquare);
    let e = drift(&opts).unwrap_err().to_string();
    assert!(e.contains("chisquare cannot judge numeric columns"), "{e}");

    let mut opts = DriftOptions::new(r.clone(), dir.path().join("missing.csv"));
    opts.drift_share = 0.5;
    let e = drift(&opts).unwrap_err().to_string();
    assert!(e.contains("missing.csv"), "{e}");

    let bad = dir.path().join("ragged.csv");
    std::fs::write(&bad, "id,age,score,plan\n1,2\n").unwrap();
    let e = drift(&DriftOptions::new(r, bad)).unwrap_err().to_string();
    assert!(e.contains("ragged.csv") && e.contains("row 1"), "{e}");
}

#[test]
fn jsonl_keys_missing_from_some_rows_count_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("ref.jsonl");
    let c = dir.path().join("cur.jsonl");
    let mut a = String::new();
    let mut b = String::new();
    for i in 0..200 {
        // `late` appears from row 101 on; `flag` is a JSON boolean.
        if i < 100 {
            let _ = writeln!(a, r#"{{"v": {i}, "flag": {}}}"#, i % 2 == 0);
        } else {
            let _ = writeln!(a, r#"{{"v": {i}, "flag": {}, "late": "x"}}"#, i % 2 == 0);
        }
        let _ = writeln!(b, r#"{{"v": {}, "flag": true, "late": "x"}}"#, i + 1000);
    }
    std::fs::write(&r, a).unwrap();
    std::fs::write(&c, b).unwrap();
    let (_, d) = run(&DriftOptions::new(r, c));
    let late = column(&d, "late");
    assert_eq!(late.reference.missing, 100);
    assert_eq!(late.reference.count, 100);
    let flag = column(&d, "flag");
    assert_eq!(flag.kind, ColumnKind::Categorical);
    assert_eq!(flag.method, Method::Ztest);
    assert!(flag.drifted);
    assert!(column(&d, "v").drifted);
}

#[test]
fn cramer_von_mises_and_anderson_darling_can_decide() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = pair(dir.path(), 400, 6.0, 1.0 / 3.0);
    for method in [Method::Cvm, Method::Anderson] {
        let mut opts = DriftOptions::new(r.clone(), c.clone());
        opts.exclude = vec!["id".into()];
        opts.numeric_method = Some(method);
        let (_, d) = run(&opts);
        let age = column(&d, "age");
        assert_eq!(age.method, method);
        assert!(age.drifted, "{age:?}");
        assert!(!column(&d, "score").drifted);
    }
    // They need every value: a profile as the reference is refused.
    let p = dir.path().join("ref.profile.json");
    let e = mlsec_quality::profile(&mlsec_quality::ProfileOptions {
        paths: vec![r],
        ..Default::default()
    })
    .unwrap();
    std::fs::write(&p, mlsec_core::render::json(&e)).unwrap();
    let mut opts = DriftOptions::new(p, c);
    opts.numeric_method = Some(Method::Cvm);
    let err = drift(&opts).unwrap_err().to_string();
    assert!(err.contains("cvm needs every value"), "{err}");
}

#[test]
fn repeated_names_stay_separate_columns() {
    let dir = tempfile::tempdir().unwrap();
    // CSV: a header that names `a` twice; the second is `a.1`, as in pandas.
    let csv = dir.path().join("dup.csv");
    let mut s = String::from("a,a,b\n");
    for i in 0..50 {
        let _ = writeln!(s, "{i},x{},{}", i % 3, i % 2);
    }
    std::fs::write(&csv, s).unwrap();
    let (_, d) = run(&DriftOptions::new(csv.clone(), csv));
    let names: Vec<&str> = d.columns.iter().map(|c| c.column.as_str()).collect();
    assert_eq!(names, ["a", "a.1", "b"]);
    assert_eq!(column(&d, "a").kind, ColumnKind::Numeric);
    assert_eq!(column(&d, "a.1").kind, ColumnKind::Categorical);
    // JSONL: a key given twice in a row keeps its last value.
    let (r, c) = (dir.path().join("r.jsonl"), dir.path().join("c.jsonl"));
    let mut a = String::new();
    let mut b = String::new();
    for i in 0..100 {
        let _ = writeln!(a, r#"{{"v": 1, "v": {i}}}"#);
        let _ = writeln!(b, r#"{{"v": {i}}}"#);
    }
    std::fs::write(&r, a).unwrap();
    std::fs::write(&c, b).unwrap();
    let (_, d) = run(&DriftOptions::new(r, c));
    let v = column(&d, "v");
    assert_eq!((v.reference.count, v.reference.missing), (100, 0));
    assert!(!v.drifted && v.statistic == 0.0, "{v:?}");
}

#[test]
fn a_table_too_wide_is_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.csv");
    let header: Vec<String> = (0..10_001).map(|i| format!("c{i}")).collect();
    std::fs::write(
        &wide,
        format!("{}\n{}\n", header.join(","), vec!["1"; 10_001].join(",")),
    )
    .unwrap();
    let e = drift(&DriftOptions::new(wide.clone(), wide))
        .unwrap_err()
        .to_string();
    assert!(e.contains("wide.csv") && e.contains("10001 columns"), "{e}");
}
