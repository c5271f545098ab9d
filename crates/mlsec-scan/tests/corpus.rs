//! Every file of the fixture corpus (`fixtures/`, made by
//! `fixtures/make_fixtures.py` with the real libraries, and `fixtures/hostile/`,
//! made by `fixtures/make_hostile.py`) gets the verdict its manifest entry
//! expects. A missing manifest or file fails the test.

use mlsec_scan::{scan_paths, ScanConfig};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Entry {
    path: String,
    expect: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    why: String,
    /// Rule ids that must be among the findings.
    #[serde(default)]
    rules: Vec<String>,
}

/// The manifest names container formats (what the magic bytes say); the scanner
/// may name a refinement of it.
fn format_matches(expected: &str, got: &str) -> bool {
    let refinements: &[(&str, &[&str])] = &[
        ("zip", &["pytorch-zip", "keras", "numpy-npz"]),
        ("pickle", &["joblib", "pytorch-legacy"]),
        ("tar", &["pytorch-tar"]),
        ("savedmodel", &["tf-savedmodel"]),
        ("hdf5", &["keras-h5"]),
    ];
    expected == got
        || refinements
            .iter()
            .any(|(e, r)| *e == expected && r.contains(&got))
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

#[test]
fn every_fixture_gets_its_expected_verdict() {
    let read = |name: &str| -> Vec<Entry> {
        let text = std::fs::read_to_string(fixtures_dir().join(name))
            .unwrap_or_else(|e| panic!("fixtures/{name}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixtures/{name}: {e}"))
    };
    let mut entries = read("manifest.json");
    assert!(
        entries.len() > 50,
        "corpus too small: {} entries",
        entries.len()
    );
    let hostile = read("hostile/manifest.json");
    assert!(hostile.len() >= 10, "hostile corpus too small");
    entries.extend(hostile);
    let config = ScanConfig::default();
    let mut failures = Vec::new();
    for e in &entries {
        let path = fixtures_dir().join(&e.path);
        assert!(
            path.exists(),
            "{} listed in the manifest does not exist",
            e.path
        );
        let outcome = scan_paths(&[path], &config, &|_| {}).expect("scan");
        let worst = outcome.verdict();
        let format = outcome
            .files
            .first()
            .map(|f| f.format.clone())
            .unwrap_or_default();
        let findings: Vec<String> = outcome
            .findings()
            .iter()
            .map(|f| format!("{} {}", f.rule, f.message))
            .collect();
        let missing: Vec<&String> = e
            .rules
            .iter()
            .filter(|r| !outcome.findings().iter().any(|f| &f.rule == *r))
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{}: no {missing:?} finding ({})\n    {}",
                e.path,
                e.why,
                findings.join("\n    ")
            ));
        } else if worst.as_str() != e.expect {
            failures.push(format!(
                "{}: expected {}, got {} ({})\n    {}",
                e.path,
                e.expect,
                worst,
                e.why,
                findings.join("\n    ")
            ));
        } else if let Some(want) = &e.format {
            if outcome.files.len() == 1 && !format_matches(want, &format) {
                failures.push(format!("{}: expected format {want}, got {format}", e.path));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures wrong:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}
