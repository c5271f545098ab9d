//! Every file of the fixture corpus (`fixtures/`, made by
//! `fixtures/make_fixtures.py` with the real libraries, and `fixtures/hostile/`,
//! made by `fixtures/make_hostile.py`) gets the verdict its manifest entry
//! expects, and so does every input the fuzzers found (`fuzz/regressions/`).
//! A missing manifest or file fails the test. A snapshot pins every
//! finding of every fixture (rule, severity, location, message), so a change
//! of wording or place shows up in review, not only a change of verdict.

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

/// Both manifests' entries, checked for size.
fn corpus() -> Vec<Entry> {
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
    // What the fuzzers found: each input that crashed, hung or leaked.
    entries.extend(read("../fuzz/regressions/manifest.json"));
    entries
}

#[test]
fn every_fixture_gets_its_expected_verdict() {
    let entries = corpus();
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

#[test]
fn every_finding_of_every_fixture_matches_the_snapshot() {
    let config = ScanConfig::default();
    let root = fixtures_dir();
    let mut text = String::new();
    for e in corpus() {
        let outcome = scan_paths(&[root.join(&e.path)], &config, &|_| {}).expect("scan");
        text.push_str(&format!("{} -> {}\n", e.path, outcome.verdict()));
        for f in outcome.findings() {
            let subject = f.subject.replace(root.to_str().unwrap(), "fixtures");
            let location = f.location.as_deref().unwrap_or("-");
            text.push_str(&format!(
                "    {} {:?} {subject} {location}: {}\n",
                f.rule, f.severity, f.message
            ));
        }
    }
    assert!(
        !text.contains(env!("CARGO_MANIFEST_DIR")),
        "absolute paths would tie the snapshot to one checkout"
    );
    insta::assert_snapshot!("corpus_findings", text);
}
