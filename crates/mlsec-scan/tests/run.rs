//! `mlsec_scan::run`, the whole command as a library call, on real fixtures:
//! what `mlsec check` and the gateway will call in-process.

use mlsec_core::{Fault, Severity};
use mlsec_scan::{run, ScanConfig, ScanDetails, ScanError, ScanOptions};
use std::path::PathBuf;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

fn options(paths: Vec<PathBuf>) -> ScanOptions {
    ScanOptions {
        paths,
        config: ScanConfig::default(),
    }
}

#[test]
fn a_folder_gives_one_envelope_with_typed_details() {
    let evidence = run(&options(vec![fixture("archives")]), &|_| {}).unwrap();
    assert_eq!(evidence.kind, "scan");
    assert_eq!(evidence.summary.verdict, "fail");
    let details: ScanDetails = serde_json::from_value(evidence.details.clone()).unwrap();
    assert!(details.files.len() > 10, "{}", details.files.len());
    assert_eq!(
        details.verdicts.values().sum::<usize>(),
        details.files.len()
    );
    assert!(details.verdicts["malicious"] > 0);
    assert_eq!(evidence.subjects.len(), details.files.len());
    // Every finding is about a file the details list.
    for f in &evidence.findings {
        assert!(
            details.files.iter().any(|d| d.path == f.subject),
            "{}",
            f.subject
        );
    }
}

#[test]
fn the_threshold_decides_whether_the_summary_fails() {
    // PKL002 (high) only: fails at high, passes at critical.
    let path = fixture("pickle/unknown_class_reduce.pkl");
    let at = |s| {
        let mut evidence = run(&options(vec![path.clone()]), &|_| {}).unwrap();
        evidence.judge(s);
        evidence
    };
    assert_eq!(at(Severity::High).summary.verdict, "fail");
    assert_eq!(at(Severity::Critical).summary.verdict, "pass");
}

#[test]
fn a_missing_path_is_the_inputs_fault_and_names_the_path() {
    let err = run(&options(vec![fixture("no/such/file.pkl")]), &|_| {}).unwrap_err();
    assert!(matches!(err, ScanError::Path { .. }), "{err:?}");
    assert_eq!(err.fault(), Fault::Input);
    assert!(err.to_string().contains("no/such/file.pkl"), "{err}");
}

#[test]
fn configuration_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("mlsec.toml");
    std::fs::write(&bad, "[scan]\nallow = [\"nodot\"]\n").unwrap();
    let err = ScanConfig::load(Some(&bad)).unwrap_err();
    assert_eq!(err.fault(), Fault::Input);
    assert!(err.to_string().contains("mlsec.toml"), "{err}");
    let mut config = ScanConfig::default();
    let err = config.allow_from_command_line("os").unwrap_err();
    assert!(matches!(err, ScanError::AllowEntry(_)));
}
