//! Reports over the evidence of the bundled example project, and over
//! hostile or foreign evidence files.

use mlsec_check::CheckOptions;
use mlsec_core::{Category, Evidence, Finding, Severity};
use mlsec_report::{html, junit, load, sarif, EvidenceSet, ReportError};
use quick_xml::events::Event;
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Runs the gate on the example project, its evidence in `dir`.
fn example_evidence(dir: &Path) -> EvidenceSet {
    mlsec_check::run(&CheckOptions {
        root: examples(),
        evidence: Some(dir.to_path_buf()),
        ..CheckOptions::default()
    })
    .unwrap();
    load(&[dir.to_path_buf()]).unwrap()
}

fn finding(rule: &str, subject: &str, message: &str, severity: Severity) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        category: Category::Malicious,
        subject: subject.into(),
        location: Some("archive/data.pkl@2".into()),
        span: None,
        member: Some("archive/data.pkl".into()),
        offset: Some(2),
        message: message.into(),
        evidence: serde_json::Value::Null,
        entity: None,
        confidence: None,
        preview: None,
    }
}

fn write_envelope(dir: &Path, name: &str, e: &Evidence) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, mlsec_core::render::json(e)).unwrap();
    path
}

/// Every element's name and the text under `failure` elements, or the
/// parser's complaint: the document must be well-formed XML.
fn xml_elements(doc: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut names = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                names.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap())
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML: {e}\n{doc}"),
        }
    }
    names
}

#[test]
fn the_example_report_shows_the_decision_checks_policies_and_compliance() {
    let dir = tempfile::tempdir().unwrap();
    let set = example_evidence(dir.path());
    assert_eq!(set.decision(), "deny");
    // Every check's envelope came back: scan, 2 signatures, 4 BOMs, data,
    // drift, data issues, PII, the classifier's redteam, privacy and
    // explain, and the threat model of examples/pipeline.yaml.
    let kinds: Vec<&str> = set
        .envelopes
        .iter()
        .map(|e| e.evidence.kind.as_str())
        .collect();
    assert_eq!(kinds.len(), 15, "{kinds:?}");
    assert!(kinds.contains(&"threat-model"), "{kinds:?}");
    assert!(kinds.contains(&"drift"), "{kinds:?}");
    assert!(kinds.contains(&"data-issues"), "{kinds:?}");
    let page = html(&set);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("Content-Security-Policy"));
    assert!(page.contains("default-src 'none'"));
    for text in [
        "mlsec check: penguin-service",
        "DENY",
        "MLP001",
        "No model file gives code execution",
        "tokenizer.pkl",
        "Compliance",
        "OWASP Machine Learning Security Top 10",
        "MITRE ATLAS",
        "Findings by severity",
        "Personal data findings per column",
        "support-notes.csv [note]",
        "Threat model",
        "AML.T0010.003",
        "Prompt Injection",
        "not covered",
    ] {
        assert!(page.contains(text), "missing {text}");
    }
    // Nothing to fetch or run: the only URL is the SVG namespace.
    assert!(!page.contains("<script"));
    let urls = page.matches("http://").count() + page.matches("https://").count();
    let namespaces = page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, namespaces, "a URL other than the SVG namespace");
    assert!(namespaces >= 3, "charts: severity, PII, compliance");
}

#[test]
fn junit_counts_match_the_cases_and_the_denied_rule_fails() {
    let dir = tempfile::tempdir().unwrap();
    let set = example_evidence(dir.path());
    let doc = junit(&set);
    let names = xml_elements(&doc);
    let failures = names.iter().filter(|n| *n == "failure").count();
    let cases = names.iter().filter(|n| *n == "testcase").count();
    let skipped = names.iter().filter(|n| *n == "skipped").count();
    assert!(
        doc.contains(&format!(
            "tests=\"{cases}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\""
        )),
        "{doc}"
    );
    // MLP001 fails, and each of the three hostile downloads fails its scan case.
    assert_eq!(failures, 4, "{doc}");
    assert!(doc.contains("name=\"MLP001 No model file gives code execution"));
    assert!(
        doc.contains("<testcase classname=\"scan\" name=\"") && doc.contains("tokenizer.pkl\">")
    );
    // Warnings are passing cases with output.
    assert!(doc.contains("warning: "), "{doc}");
}

#[test]
fn merged_sarif_has_one_run_with_every_finding_and_the_rules_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    let set = example_evidence(dir.path());
    let rules = mlsec_scan::rules::all();
    let log = sarif(&set, &rules);
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "GitHub refuses several runs of one tool");
    let results = runs[0]["results"].as_array().unwrap();
    let producer: usize = set
        .envelopes
        .iter()
        .map(|e| e.evidence.findings.len())
        .sum();
    let policy = set.check.as_ref().unwrap().0.findings.len();
    assert_eq!(results.len(), producer + policy);
    let ids: Vec<&str> = runs[0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in ["PKL001", "KER001", "MLP001", "MLP005", "TEAM001"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    // Every result naming a rule that is described points at it.
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        if let Some(i) = ids.iter().position(|x| *x == id) {
            assert_eq!(r["ruleIndex"], i);
        }
        assert!(r["properties"]["kind"].is_string(), "{r}");
    }
    assert_eq!(runs[0]["properties"]["decision"], "deny");
}

#[test]
fn hostile_text_in_evidence_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let nasty = "</td></table><script>alert(1)</script><img src=https://x.example/a.png>\u{1b}[2J\u{0}]]>&amp;\u{FFFF}";
    let e = Evidence::new(
        "scan",
        vec![],
        vec![finding("PKL001", nasty, nasty, Severity::Critical)],
        serde_json::Value::Null,
    );
    write_envelope(dir.path(), "scan.json", &e);
    let set = load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(set.decision(), "fail");
    let page = html(&set);
    assert!(!page.contains("<script>"));
    assert!(!page.contains("<img"));
    assert!(!page.contains('\u{1b}') && !page.contains('\u{0}'));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let doc = junit(&set);
    let names = xml_elements(&doc);
    assert!(!names.iter().any(|n| n == "script" || n == "img"));
    assert_eq!(names.iter().filter(|n| *n == "failure").count(), 1);
}

#[test]
fn evidence_from_a_newer_schema_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Evidence::new("scan", vec![], vec![], serde_json::Value::Null);
    e.schema = "mlsec.evidence/v2".into();
    let path = write_envelope(dir.path(), "scan.json", &e);
    let err = load(std::slice::from_ref(&path)).unwrap_err();
    assert!(
        matches!(err, ReportError::NewerSchema { line: 2, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:2: ", path.display())),
        "{text}"
    );
    assert!(
        text.contains("mlsec.evidence/v2") && text.contains("upgrade"),
        "{text}"
    );
    assert_eq!(err.fault(), mlsec_core::Fault::Input);
    // Same inside a folder.
    assert!(matches!(
        load(&[dir.path().to_path_buf()]),
        Err(ReportError::NewerSchema { .. })
    ));
}

#[test]
fn what_is_not_evidence_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"schema\": \"mlsec.evidence/v1\",\n  \"kind\": \n",
    )
    .unwrap();
    let err = load(std::slice::from_ref(&bad)).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}:4:", bad.display())), "{err}");
    assert!(err.contains("not JSON"), "{err}");

    let sarif_file = dir.path().join("other.json");
    std::fs::write(&sarif_file, r#"{"version": "2.1.0", "runs": []}"#).unwrap();
    let err = load(&[sarif_file]).unwrap_err().to_string();
    assert!(err.contains("not an mlsec evidence envelope"), "{err}");

    let foreign = dir.path().join("foreign.json");
    std::fs::write(&foreign, r#"{"schema": "cyclonedx/1.6"}"#).unwrap();
    let err = load(&[foreign]).unwrap_err().to_string();
    assert!(err.contains("not an mlsec evidence schema"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let err = load(&[empty.path().to_path_buf()]).unwrap_err().to_string();
    assert!(err.contains("no evidence files"), "{err}");
    assert!(load(&[]).is_err());
    assert!(load(&[dir.path().join("missing.json")]).is_err());
}

#[test]
fn a_check_file_cannot_lead_the_report_out_of_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    example_evidence(dir.path());
    let check = dir.path().join("check.json");
    let text = std::fs::read_to_string(&check).unwrap();
    let text = text.replacen(
        "\"evidence\": \"scan.json\"",
        "\"evidence\": \"../../etc/passwd\"",
        1,
    );
    assert!(text.contains("../../etc/passwd"));
    std::fs::write(&check, text).unwrap();
    let err = load(&[dir.path().to_path_buf()]).unwrap_err().to_string();
    assert!(err.contains("outside its folder"), "{err}");
}

#[test]
fn a_report_without_a_decision_still_renders_each_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let clean = Evidence::new("bom", vec![], vec![], serde_json::Value::Null);
    let findings = Evidence::new(
        "scan",
        vec![],
        vec![finding(
            "PKL002",
            "model.pkl",
            "unknown callable",
            Severity::Medium,
        )],
        serde_json::Value::Null,
    );
    let a = write_envelope(dir.path(), "a.json", &clean);
    let b = write_envelope(dir.path(), "b.json", &findings);
    let set = load(&[a, b]).unwrap();
    assert!(set.check.is_none());
    assert_eq!(
        set.decision(),
        "pass",
        "a medium finding is under the threshold"
    );
    let page = html(&set);
    assert!(page.contains("no policy decision"));
    assert!(page.contains("PKL002"));
    let doc = junit(&set);
    xml_elements(&doc);
    assert!(doc.contains("<system-out>medium PKL002 model.pkl"), "{doc}");
    // Two check decisions cannot be one report.
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    example_evidence(d1.path());
    example_evidence(d2.path());
    let err = load(&[d1.path().to_path_buf(), d2.path().to_path_buf()]).unwrap_err();
    assert!(err.to_string().contains("second `check` decision"), "{err}");
}

/// The drift section: the example's drifted column in the table and as a
/// histogram of reference against current; a hostile column name stays text.
#[test]
fn drift_shows_columns_and_a_histogram_per_drifted_column() {
    let dir = tempfile::tempdir().unwrap();
    let set = example_evidence(dir.path());
    let page = html(&set);
    assert!(page.contains("<h2>Drift: <code>"), "no drift section");
    assert!(page.contains("<td><code>body_mass_g</code></td><td>numeric</td>"));
    assert!(page
        .contains("<h3><code>body_mass_g</code>: reference (grey) and current (orange)</h3><svg"));

    let mut e = Evidence::new(
        "drift",
        Vec::new(),
        Vec::new(),
        serde_json::json!({
            "reference": {"path": "r.csv"}, "current": {"path": "c.csv"},
            "drifted": 1, "compared": 1, "correction": "holm",
            "columns": [{"column": "<img src=x>", "kind": "categorical", "method": "chisquare",
                "statistic": 9.0, "p_value_adjusted": 0.001, "threshold": 0.05, "drifted": true,
                "histogram": {"categories": ["<script>", "b"], "reference": [0.5, "x"], "current": [2.0, -1.0]}}]
        }),
    );
    e.judge(Severity::High);
    let path = write_envelope(dir.path(), "drift-hostile.json", &e);
    let page = html(&load(&[path]).unwrap());
    assert!(
        !page.contains("<img src=x>") && !page.contains("<script>"),
        "unescaped"
    );
    assert!(page.contains("&lt;img src=x&gt;") && page.contains("&lt;script&gt;"));
}

/// The validation sections read hostile or malformed envelopes without
/// failing: names stay text, missing and mistyped values show as `-`.
#[test]
fn validation_sections_escape_and_tolerate_malformed_details() {
    let dir = tempfile::tempdir().unwrap();
    let details = [
        (
            "redteam",
            serde_json::json!({
                "model": {"name": "<script>m</script>"}, "clean_accuracy": "high",
                "partial": true, "partial_reason": "<b>timeout</b>",
                "attacks": [
                    {"attack": "<img src=x>", "eps": 0.1, "robust_accuracy": 0.4},
                    {"attack": "<img src=x>", "eps": "wide", "robust_accuracy": null},
                    {"attack": 7}
                ]
            }),
        ),
        (
            "redteam.llm",
            serde_json::json!({"url": "http://x/<y>", "families": [{"family": "<i>", "pass_rate": 2.5}],
                "failures": [{"family": "leak", "probe": "p", "found": ["<canary>"], "answer": "<script>"}]}),
        ),
        (
            "privacy",
            serde_json::json!({"attacks": [{"attack": "<loss>", "auc": "x", "tpr_at_fpr": {"0.01": 0.5}}],
                "extraction": {"learner": "<mlp>", "queries_needed": null}}),
        ),
        (
            "explain",
            serde_json::json!({"features": ["<f0>", 3], "fairness": {"sensitive": "<sex>",
                "metrics": {"groups": [{"name": "<g>", "selection_rate": -1.0}]}},
                "importance": {"features": [{"feature": 0, "mean": 0.2}, {"feature": 99, "mean": null}]},
                "shap": [{"row": 1, "values": [0.5, -0.25, "x"]}]}),
        ),
    ];
    let paths: Vec<PathBuf> = details
        .into_iter()
        .map(|(kind, d)| {
            let e = Evidence::new(kind, Vec::new(), Vec::new(), d);
            write_envelope(dir.path(), &format!("{kind}.json"), &e)
        })
        .collect();
    let page = html(&load(&paths).unwrap());
    for hostile in [
        "<script>m",
        "<img src=x>",
        "<b>timeout",
        "<canary>",
        "<loss>",
        "<mlp>",
        "<f0>",
        "<sex>",
        "<g>",
        "<i>",
    ] {
        assert!(!page.contains(hostile), "{hostile} left as markup");
    }
    assert!(page.contains("&lt;img src=x&gt;"));
    assert!(page.contains("<span class=\"badge warn\">partial</span> &lt;b&gt;timeout&lt;/b&gt;"));
    assert!(page.contains("A copy of the model (&lt;mlp&gt;) trained on its answers reaches - agreement: not reached."));
    assert!(page.contains("<h3>SHAP values of row 1"));
    assert!(page.contains("&lt;f0&gt; (+)"));
}
