//! `profile()`: summaries of tables, merged shards, profiles as drift's
//! reference, and hostile profiles.

use mlsec_quality::{drift, profile, DriftDetails, DriftOptions, ProfileDetails, ProfileOptions};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn table(path: &Path, rows: std::ops::Range<usize>, shift: f64) {
    let mut s = String::from("age,plan,note\n");
    for i in rows {
        // A deterministic spread of ages: 20..80 in a fixed pattern.
        let age = 20.0 + ((i * 7919) % 6000) as f64 / 100.0 + shift;
        let plan = ["basic", "pro", "team"][i % 3];
        let _ = writeln!(s, "{age:.2},{plan},n{}", i % 5);
    }
    std::fs::write(path, s).unwrap();
}

fn write_profile(paths: Vec<PathBuf>, merge: bool, out: &Path) -> ProfileDetails {
    let evidence = profile(&ProfileOptions {
        paths,
        merge,
        ..ProfileOptions::default()
    })
    .unwrap();
    assert_eq!(evidence.kind, "data.profile");
    std::fs::write(out, mlsec_core::render::json(&evidence)).unwrap();
    serde_json::from_value(evidence.details).unwrap()
}

#[test]
fn a_profile_is_a_reference_for_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (train, same, shifted) = (
        dir.path().join("train.csv"),
        dir.path().join("same.csv"),
        dir.path().join("shifted.csv"),
    );
    table(&train, 0..20_000, 0.0);
    table(&same, 20_000..40_000, 0.0);
    table(&shifted, 20_000..40_000, 9.0);
    let p = dir.path().join("train.profile.json");
    let details = write_profile(vec![train.clone()], false, &p);
    assert_eq!(details.rows, 20_000);
    let age = details.columns.iter().find(|c| c.name == "age").unwrap();
    assert_eq!(age.kind, Some(mlsec_quality::ColumnKind::Numeric));
    assert_eq!(age.finite, 20_000);

    let run = |cur: &Path| -> DriftDetails {
        let e = drift(&DriftOptions::new(p.clone(), cur.to_path_buf())).unwrap();
        serde_json::from_value(e.details).unwrap()
    };
    let d = run(&same);
    assert_eq!(d.reference.format, "profile");
    assert_eq!(d.drifted, 0, "{:#?}", d.columns);
    let age = d.columns.iter().find(|c| c.column == "age").unwrap();
    assert!(age.approximate);
    let d = run(&shifted);
    let age = d.columns.iter().find(|c| c.column == "age").unwrap();
    assert!(age.drifted, "{age:?}");
    // The exact comparison of the same data gives nearly the same distance.
    let e = drift(&DriftOptions::new(train, shifted)).unwrap();
    let exact: DriftDetails = serde_json::from_value(e.details).unwrap();
    let exact_age = exact.columns.iter().find(|c| c.column == "age").unwrap();
    assert!(!exact_age.approximate);
    assert!(
        (exact_age.statistic - age.statistic).abs() < 0.02,
        "{} vs {}",
        exact_age.statistic,
        age.statistic
    );
}

#[test]
fn shard_profiles_merge_into_the_profile_of_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, whole) = (
        dir.path().join("a.csv"),
        dir.path().join("b.csv"),
        dir.path().join("whole.csv"),
    );
    table(&a, 0..7_000, 0.0);
    table(&b, 7_000..15_000, 0.0);
    table(&whole, 0..15_000, 0.0);
    let (pa, pb, pm) = (
        dir.path().join("a.json"),
        dir.path().join("b.json"),
        dir.path().join("merged.json"),
    );
    write_profile(vec![a], false, &pa);
    write_profile(vec![b], false, &pb);
    let merged = write_profile(vec![pa, pb], true, &pm);
    let direct = write_profile(vec![whole], false, &dir.path().join("w.json"));
    assert_eq!(merged.rows, 15_000);
    assert_eq!(merged.sources.len(), 2);
    for (m, d) in merged.columns.iter().zip(&direct.columns) {
        assert_eq!(m.name, d.name);
        assert_eq!((m.rows, m.missing, m.finite), (d.rows, d.missing, d.finite));
        let (mm, dm) = (&m.summary.moments, &d.summary.moments);
        if let (Some(x), Some(y)) = (mm.mean(), dm.mean()) {
            assert!((x - y).abs() <= 1e-9 * y.abs(), "{x} {y}");
        }
    }
    let plan = merged.columns.iter().find(|c| c.name == "plan").unwrap();
    assert_eq!(plan.summary.frequencies.count("team"), 5_000);
}

#[test]
fn the_same_table_gives_the_same_profile() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.csv");
    table(&t, 0..5_000, 0.0);
    let one = write_profile(vec![t.clone()], false, &dir.path().join("1.json"));
    let two = write_profile(vec![t], false, &dir.path().join("2.json"));
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&two).unwrap()
    );
}

#[test]
fn hostile_or_wrong_profiles_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.csv");
    table(&t, 0..100, 0.0);
    let p = dir.path().join("p.json");
    write_profile(vec![t.clone()], false, &p);
    let good = std::fs::read_to_string(&p).unwrap();

    let cases = [
        (
            "truncated",
            good[..good.len() / 2].to_string(),
            "not a profile",
        ),
        (
            "wrong kind",
            good.replace("\"data.profile\"", "\"scan\""),
            "evidence of kind `scan`",
        ),
        (
            "newer version",
            good.replace("\"version\": 1", "\"version\": 2"),
            "profile version 2",
        ),
        (
            "bad sketch",
            good.replacen("\"k\": 200", "\"k\": 0", 1),
            "profile does not read",
        ),
    ];
    for (what, text, expected) in cases {
        let bad = dir.path().join(format!("{what}.json"));
        std::fs::write(&bad, text).unwrap();
        let e = drift(&DriftOptions::new(bad.clone(), t.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(expected) && e.contains(&*bad.to_string_lossy()),
            "{what}: {e}"
        );
    }
}
