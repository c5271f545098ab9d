//! Every file of the fixture corpus (`fixtures/`, made by
//! `fixtures/make_fixtures.py` with the real libraries) gets the verdict its
//! manifest entry expects. A missing manifest or file fails the test.

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
    let manifest = fixtures_dir().join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("fixtures/manifest.json is missing");
    let entries: Vec<Entry> = serde_json::from_str(&text).expect("manifest.json is not valid");
    assert!(
        entries.len() > 50,
        "corpus too small: {} entries",
        entries.len()
    );
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
        if worst.as_str() != e.expect {
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
