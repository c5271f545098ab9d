//! The bundled packs' own tests, the conftest conventions on user policies,
//! and errors that name the file and line.

use mlsec_core::Fault;
use mlsec_policy::{PolicyError, PolicyOptions, PolicySet, TestOutcome};
use serde_json::json;
use std::fs;

fn packs(names: &[&str], tests: bool) -> PolicyOptions {
    PolicyOptions {
        packs: names.iter().map(|s| s.to_string()).collect(),
        tests,
        ..PolicyOptions::default()
    }
}

#[test]
fn every_bundled_test_passes_and_every_rule_has_tests() {
    let set = PolicySet::load(&packs(&["strict"], true)).unwrap();
    let results = set.test();
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r.outcome != TestOutcome::Pass)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    for rule in set.rule_list().unwrap() {
        let package_tests = results
            .iter()
            .filter(|r| {
                r.origin
                    .contains(&format!("{}_test.rego", rule.id.to_lowercase()))
            })
            .count();
        assert!(package_tests >= 2, "{}: {package_tests} test(s)", rule.id);
    }
    assert_eq!(set.rule_list().unwrap().len(), 16);
}

#[test]
fn a_failing_test_is_reported_as_failing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("mine_test.rego"),
        "package mine_test\nimport rego.v1\ntest_wrong if { 1 == 2 }\ntest_right if { 1 == 1 }\n",
    )
    .unwrap();
    let set = PolicySet::load(&PolicyOptions {
        paths: vec![dir.path().into()],
        tests: true,
        ..PolicyOptions::default()
    })
    .unwrap();
    let outcomes: Vec<_> = set
        .test()
        .into_iter()
        .map(|r| (r.name, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("test_wrong".to_string(), TestOutcome::Fail),
            ("test_right".to_string(), TestOutcome::Pass)
        ]
    );
}

#[test]
fn baseline_denies_a_malicious_scan_and_warns_of_personal_data() {
    let set = PolicySet::load(&packs(&["baseline"], false)).unwrap();
    let input = json!({"evidence": {
        "scan": [{"findings": [{"rule": "PKL001", "severity": "critical", "subject": "m.pkl", "message": "os.system"}]}],
        "data.pii": [{"findings": [], "details": {"files": [{"path": "u.csv", "counts": [{"column": "email", "entity": "EMAIL", "count": 3}]}]}}],
    }});
    let d = set.evaluate(&input).unwrap();
    assert!(d.denied());
    let by_rule: Vec<(Option<&str>, &str)> = d
        .messages
        .iter()
        .map(|m| (m.rule.as_deref(), m.msg.as_str()))
        .collect();
    assert!(
        by_rule.contains(&(Some("MLP001"), "m.pkl: PKL001 os.system")),
        "{by_rule:?}"
    );
    assert!(
        by_rule.contains(&(Some("MLP005"), "u.csv [email]: 3 EMAIL value(s)")),
        "{by_rule:?}"
    );
    let status = |id: &str| {
        d.rules
            .iter()
            .find(|r| r.metadata.id == id)
            .map(|r| r.status.as_str())
            .unwrap()
    };
    assert_eq!(status("MLP001"), "denied");
    assert_eq!(status("MLP005"), "warned");
    assert_eq!(status("MLP002"), "not_applicable");
    assert_eq!(status("MLP004"), "passed");
}

#[test]
fn a_user_policy_follows_conftest_and_replaces_a_bundled_rule() {
    let dir = tempfile::tempdir().unwrap();
    // conftest's shapes: a string, and an object with msg and more.
    fs::write(
        dir.path().join("team.rego"),
        r#"package team
import rego.v1
deny contains "no models listed" if count(input.models) == 0
warn contains {"msg": "consider a BOM", "hint": "mlsec bom"} if true
"#,
    )
    .unwrap();
    // Same package as MLP001: this replaces the bundled one.
    fs::write(
        dir.path().join("mlp001.rego"),
        "package mlsec.baseline.mlp001\nimport rego.v1\nmetadata := {\"id\": \"MLP001\", \"title\": \"relaxed\"}\n",
    )
    .unwrap();
    let set = PolicySet::load(&PolicyOptions {
        packs: vec!["baseline".into()],
        paths: vec![dir.path().into()],
        ..PolicyOptions::default()
    })
    .unwrap();
    let input = json!({"models": [], "evidence": {"scan": [{"findings": [{"rule": "PKL001", "severity": "critical", "subject": "m.pkl", "message": "x"}]}]}});
    let d = set.evaluate(&input).unwrap();
    let msgs: Vec<(&str, &str)> = d
        .messages
        .iter()
        .map(|m| (m.package.as_str(), m.msg.as_str()))
        .collect();
    assert_eq!(
        msgs,
        [("team", "no models listed"), ("team", "consider a BOM")],
        "the bundled MLP001 is replaced: {msgs:?}"
    );
    assert_eq!(d.messages[1].details["hint"], "mlsec bom");
}

#[test]
fn skip_turns_a_bundled_rule_off_and_an_unknown_id_is_an_error() {
    let mut options = packs(&["baseline"], false);
    options.skip = vec!["MLP001".into()];
    let set = PolicySet::load(&options).unwrap();
    let input = json!({"evidence": {"scan": [{"findings": [{"rule": "PKL001", "severity": "critical", "subject": "m.pkl", "message": "x"}]}]}});
    assert!(!set.evaluate(&input).unwrap().denied());
    options.skip = vec!["MLP999".into()];
    let err = PolicySet::load(&options).err().unwrap();
    assert!(matches!(err, PolicyError::Usage(_)), "{err:?}");
}

#[test]
fn a_policy_that_does_not_compile_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.rego");
    fs::write(
        &file,
        "package broken\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n",
    )
    .unwrap();
    let err = PolicySet::load(&PolicyOptions {
        paths: vec![file.clone()],
        ..PolicyOptions::default()
    })
    .err()
    .unwrap();
    assert_eq!(err.fault(), Fault::Input);
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(text.contains(&format!("{}:", file.display())), "{text}");
    assert!(
        text.contains(":6:") || text.contains(":5:"),
        "names the line: {text}"
    );
}

#[test]
fn a_policy_that_fails_at_run_time_is_an_error_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("conflict.rego"),
        "package conflict\nimport rego.v1\nx := 1 if true\nx := 2 if true\ndeny contains \"boom\" if x == 1\n",
    )
    .unwrap();
    let set = PolicySet::load(&PolicyOptions {
        paths: vec![dir.path().into()],
        ..PolicyOptions::default()
    })
    .unwrap();
    let err = set.evaluate(&json!({})).err().unwrap();
    assert!(matches!(err, PolicyError::Runtime(_)), "{err:?}");
    assert!(err.to_string().contains("data.conflict.deny"), "{err}");
}

#[test]
fn a_result_without_msg_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("bad.rego"),
        "package bad\nimport rego.v1\ndeny contains {\"message\": \"typo\"} if true\n",
    )
    .unwrap();
    let set = PolicySet::load(&PolicyOptions {
        paths: vec![dir.path().into()],
        ..PolicyOptions::default()
    })
    .unwrap();
    let err = set.evaluate(&json!({})).err().unwrap();
    assert!(err.to_string().contains("`msg`"), "{err}");
}

#[test]
fn an_unknown_pack_is_a_usage_error() {
    let err = PolicySet::load(&packs(&["lenient"], false)).err().unwrap();
    assert!(err.to_string().contains("baseline, strict"), "{err}");
}

#[test]
fn every_bundled_control_id_is_in_the_catalog() {
    let catalog = mlsec_policy::Catalog::bundled();
    let set = PolicySet::load(&packs(&["strict"], false)).unwrap();
    for rule in set.rule_list().unwrap() {
        assert!(!rule.controls.is_empty(), "{}: no controls", rule.id);
        for (framework, ids) in &rule.controls {
            let f = catalog
                .framework(framework)
                .unwrap_or_else(|| panic!("{}: unknown framework {framework}", rule.id));
            for id in ids {
                assert!(
                    f.controls.iter().any(|c| c.id == *id),
                    "{}: {framework} has no control {id}",
                    rule.id
                );
            }
        }
    }
}

#[test]
fn the_matrix_lists_every_control_met_failed_or_not_covered() {
    let catalog = mlsec_policy::Catalog::bundled();
    let set = PolicySet::load(&packs(&["baseline"], false)).unwrap();
    let input = json!({"evidence": {
        "scan": [{"findings": [{"rule": "PKL001", "severity": "critical", "subject": "m.pkl", "message": "os.system"}], "details": {"files": []}}],
        "data.pii": [{"findings": [], "details": {"files": []}}],
    }});
    let decision = set.evaluate(&input).unwrap();
    let matrix = mlsec_policy::compliance(&catalog, &decision);
    let status = |f: &str, c: &str| {
        matrix
            .iter()
            .find(|x| x.id == f)
            .and_then(|x| x.controls.iter().find(|x| x.id == c))
            .map(|x| x.status)
            .unwrap()
    };
    use mlsec_policy::Status;
    // MLP001 denied: ML06 failed. MLP004 passed on a PII scan: LLM02 met.
    assert_eq!(status("owasp-ml", "ML06"), Status::Failed);
    assert_eq!(status("owasp-llm", "LLM02"), Status::Met);
    // No check ran for data integrity: ML02 is not covered.
    assert_eq!(status("owasp-ml", "ML02"), Status::NotCovered);
    for f in &matrix {
        let listed = catalog.framework(&f.id).unwrap().controls.len();
        assert_eq!(f.controls.len(), listed, "{}: every control listed", f.id);
    }
}

#[test]
fn a_policy_over_its_time_limit_is_a_run_time_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    // About 16 million steps of a join that never matches: far over 50 ms.
    fs::write(
        dir.path().join("slow.rego"),
        "package slow\nimport rego.v1\ndeny contains \"never\" if {\n  some i in numbers.range(1, 4000)\n  some j in numbers.range(1, 4000)\n  i * j == -1\n}\n",
    )
    .unwrap();
    let set = PolicySet::load(&PolicyOptions {
        paths: vec![dir.path().into()],
        time_limit: Some(std::time::Duration::from_millis(50)),
        ..PolicyOptions::default()
    })
    .unwrap();
    let started = std::time::Instant::now();
    let err = set.evaluate(&json!({})).err().unwrap();
    assert!(matches!(err, PolicyError::Runtime(_)), "{err:?}");
    assert!(err.to_string().contains("data.slow.deny"), "{err}");
    assert!(err.to_string().contains("time limit"), "{err}");
    // Stopped near the limit, not after the whole join (a generous bound:
    // this only shows the clock is still read).
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn personal_data_is_counted_once_per_count_and_secrets_are_left_to_mlp004() {
    // The shape `mlsec data pii` writes: per-file counts, and findings of which
    // PII002 ones are secrets.
    let counts: Vec<_> = (0..300)
        .map(|i| json!({"entity": if i % 2 == 0 { "EMAIL" } else { "AWS_ACCESS_KEY" }, "column": format!("c{i}"), "count": 1}))
        .collect();
    let mut findings: Vec<_> = (0..3000)
        .map(|_| json!({"rule": "PII001", "entity": "EMAIL", "severity": "medium"}))
        .collect();
    findings.push(json!({"rule": "PII002", "entity": "AWS_ACCESS_KEY", "severity": "high"}));
    let input = json!({"evidence": {"data.pii": [{
        "kind": "data.pii",
        "findings": findings,
        "details": {"files": [{"path": "data/train.csv", "counts": counts}]}
    }]}});
    let set = PolicySet::load(&packs(&["baseline"], false)).unwrap();
    let started = std::time::Instant::now();
    let decision = set.evaluate(&input).unwrap();
    let warned: Vec<_> = decision
        .messages
        .iter()
        .filter(|m| m.rule.as_deref() == Some("MLP005"))
        .collect();
    assert_eq!(
        warned.len(),
        150,
        "one per EMAIL count, none for the secret"
    );
    assert!(warned.iter().all(|m| m.msg.contains("EMAIL")));
    // Linear, not counts x findings: well inside the time limit.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
