//! Threat models of the example project and of made-up systems: which
//! threats apply, which rules cover them, and what is a gap.

use mlsec_threat::{facts, Coverage, Match, Pipeline, Place, Status, ThreatModelDetails, Trigger};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/pipeline.yaml")
}

fn model_of(path: &std::path::Path) -> (mlsec_core::Evidence, ThreatModelDetails) {
    let evidence = mlsec_threat::run(path, &Coverage::bundled().unwrap()).unwrap();
    let details = serde_json::from_value(evidence.details.clone()).unwrap();
    (evidence, details)
}

fn model_of_text(text: &str) -> (mlsec_core::Evidence, ThreatModelDetails) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipeline.yaml");
    std::fs::write(&path, text).unwrap();
    model_of(&path)
}

fn status(details: &ThreatModelDetails, id: &str) -> Option<Status> {
    details
        .threats
        .iter()
        .find(|t| t.id == id)
        .map(|t| t.status)
}

fn ids(details: &ThreatModelDetails, framework: &str) -> BTreeSet<String> {
    details
        .threats
        .iter()
        .filter(|t| t.framework == framework)
        .map(|t| t.id.clone())
        .collect()
}

#[test]
fn the_example_lists_its_threats_with_coverage_and_gaps() {
    let (evidence, details) = model_of(&example());
    assert_eq!(evidence.kind, "threat-model");
    assert_eq!(details.system, "penguin-service");
    assert_eq!(details.components.len(), 7);

    // Supply chain, from the downloads and the public dataset: covered by
    // the scan, signature and data checks.
    for id in [
        "AML.T0010.003",
        "AML.T0011.000",
        "AML.T0018.002",
        "AML.T0010.002",
        "AML.T0020",
    ] {
        assert_eq!(status(&details, id), Some(Status::Covered), "{id}");
    }
    let model = details
        .threats
        .iter()
        .find(|t| t.id == "AML.T0010.003")
        .unwrap();
    let exact: Vec<&str> = model
        .covered_by
        .iter()
        .filter(|c| c.matches == Match::Exact)
        .map(|c| c.rule.as_str())
        .collect();
    assert_eq!(exact, ["MLP001", "MLP002", "MLP101"]);
    assert_eq!(model.covered_by[0].checks, ["scan"]);
    assert_eq!(
        model.reasons[0].places,
        [Place::Flow {
            from: "downloads".into(),
            to: "trainer".into(),
            data: mlsec_threat::Data::Model
        }]
    );
    assert_eq!(model.tactics[0].name, "Initial Access");

    // The public classifier and the chat assistant: run-time threats no
    // check covers.
    for id in [
        "AML.T0040",
        "AML.T0024.002",
        "AML.T0051.000",
        "AML.T0054",
        "ML05",
        "ML07",
        "LLM01",
        "LLM10",
    ] {
        assert_eq!(status(&details, id), Some(Status::Gap), "{id}");
    }
    // Inference through the API: covered through the personal-data rules
    // and the membership-inference audit (MLP009); evasion of the public
    // classifier by the redteam (MLP008).
    assert_eq!(status(&details, "AML.T0024.000"), Some(Status::Covered));
    for id in ["AML.T0043", "AML.T0015", "ML01"] {
        assert_eq!(status(&details, id), Some(Status::Covered), "{id}");
    }
    // Backdoors planted through the training data: MLP007 names the
    // sub-technique itself.
    assert_eq!(status(&details, "AML.T0018.000"), Some(Status::Covered));
    // A parent technique named for a sub-technique is a partial match.
    assert_eq!(status(&details, "AML.T0010.001"), Some(Status::Partial));
    // Nothing in the example is a RAG store, an agent tool or a feedback loop.
    for id in ["AML.T0070", "AML.T0053", "LLM06", "LLM08", "ML08"] {
        assert_eq!(status(&details, id), None, "{id}");
    }

    // One finding per gap (THR001, low) and per partial threat (THR002, info).
    let c = &details.counts;
    assert_eq!(c.threats, c.covered + c.partial + c.gaps);
    assert_eq!(evidence.findings.len(), c.gaps + c.partial);
    assert_eq!(
        evidence
            .findings
            .iter()
            .filter(|f| f.rule == "THR001")
            .count(),
        c.gaps
    );
    assert!(evidence
        .findings
        .iter()
        .all(|f| f.severity <= mlsec_core::Severity::Low));
    assert!(
        !evidence.failed(),
        "gaps are low: the default threshold passes"
    );

    // Each finding points at the YAML line of the place it names.
    let text = std::fs::read_to_string(example()).unwrap();
    let api_access = evidence
        .findings
        .iter()
        .find(|f| {
            f.message
                .starts_with("AML.T0040 AI Model Inference API Access")
        })
        .unwrap();
    let line = api_access.span.as_ref().unwrap().line.unwrap() as usize;
    assert!(
        text.lines()
            .nth(line - 1)
            .unwrap()
            .contains("id: species-api"),
        "line {line}"
    );
    assert_eq!(api_access.subject, example().display().to_string());

    // Boundaries: the two inbound downloads, the users' traffic, two public services.
    assert_eq!(details.boundaries.len(), 8);
}

#[test]
fn llm_risks_apply_only_where_an_llm_is_reached() {
    let classifier_only = "\
system: plain
components:
  - {id: hub, kind: model-source}
  - {id: data, kind: data-source, trust: external}
  - {id: train, kind: training}
  - {id: api, kind: serving, exposure: public, model-type: classifier}
flows:
  - {from: hub, to: train, data: model}
  - {from: data, to: train, data: training-data}
  - {from: train, to: api, data: model}
";
    let (_, details) = model_of_text(classifier_only);
    assert!(
        ids(&details, "owasp-llm").is_empty(),
        "{:?}",
        ids(&details, "owasp-llm")
    );
    assert!(ids(&details, "mitre-atlas").contains("AML.T0043"));

    // Add a chat app the same training feeds: LLM03 and LLM04 apply to the
    // supply chain, but not to a data source that feeds only the classifier.
    let with_llm = format!(
        "{classifier_only}  - {{from: train, to: chat, data: model}}\n  - {{from: notes, to: api2, data: training-data}}\n"
    )
    .replace(
        "flows:\n",
        "  - {id: chat, kind: llm-app}\n  - {id: notes, kind: data-source}\n  - {id: api2, kind: serving}\nflows:\n",
    );
    let (_, details) = model_of_text(&with_llm);
    let llm03 = details.threats.iter().find(|t| t.id == "LLM03").unwrap();
    assert!(llm03
        .places()
        .iter()
        .any(|p| p.to_string() == "hub → train"));
    let llm02 = details.threats.iter().find(|t| t.id == "LLM02").unwrap();
    let places: Vec<String> = llm02.places().iter().map(|p| p.to_string()).collect();
    assert!(places.contains(&"data".to_string()), "{places:?}");
    assert!(!places.contains(&"notes".to_string()), "{places:?}");
    assert!(ids(&details, "owasp-llm").contains("LLM01"));
    // Users who call both the classifier and the chat app do not make the
    // classifier part of the LLM.
    let (_, example) = model_of(&example());
    let llm03 = example.threats.iter().find(|t| t.id == "LLM03").unwrap();
    let places: Vec<String> = llm03.places().iter().map(|p| p.to_string()).collect();
    assert!(!places.contains(&"species-api".to_string()), "{places:?}");
    assert!(places.contains(&"chat-assistant".to_string()), "{places:?}");
    assert!(
        !ids(&details, "owasp-llm").contains("LLM10"),
        "chat is not exposed"
    );
}

/// A system with one of everything raises every trigger of the mapping, and
/// each trigger's threats appear.
#[test]
fn every_trigger_is_reachable() {
    let everything = "\
system: everything
components:
  - {id: crm, kind: data-source, trust: external}
  - {id: hub, kind: model-source}
  - {id: crowd, kind: labelling, trust: external}
  - {id: features, kind: feature-store}
  - {id: train, kind: training}
  - {id: eval, kind: evaluation}
  - {id: registry, kind: registry}
  - {id: api, kind: serving, model-type: classifier}
  - {id: embed, kind: serving, exposure: public, model-type: embedding}
  - {id: chat, kind: llm-app, exposure: public}
  - {id: kb, kind: rag-store}
  - {id: web, kind: data-source, trust: external}
  - {id: mail, kind: agent-tool}
  - {id: mcp, kind: agent-tool, trust: external}
  - {id: people, kind: consumer, trust: external}
  - {id: watch, kind: monitoring}
flows:
  - {from: crm, to: crowd, data: training-data}
  - {from: crowd, to: train, data: labels}
  - {from: features, to: train, data: features}
  - {from: hub, to: train, data: model}
  - {from: train, to: eval, data: model}
  - {from: train, to: registry, data: model}
  - {from: registry, to: api, data: model}
  - {from: people, to: api, data: requests}
  - {from: api, to: people, data: responses}
  - {from: people, to: train, data: feedback}
  - {from: web, to: kb, data: documents}
  - {from: kb, to: chat, data: documents}
  - {from: chat, to: mail, data: tool-calls}
  - {from: chat, to: mcp, data: tool-calls}
  - {from: api, to: watch, data: logs}
";
    let pipeline = Pipeline::parse(everything, "everything.yaml").unwrap();
    let triggers: BTreeSet<Trigger> = facts(&pipeline).into_iter().map(|(t, _)| t).collect();
    let all: BTreeSet<Trigger> = Trigger::ALL.into_iter().collect();
    assert_eq!(triggers, all);
    let (evidence, details) = model_of_text(everything);
    for id in [
        "AML.T0051.001",
        "AML.T0070",
        "AML.T0053",
        "AML.T0010.005",
        "LLM06",
        "LLM08",
        "ML08",
        "ML09",
        "ML07",
    ] {
        assert!(status(&details, id).is_some(), "{id}");
    }
    assert!(details
        .notes
        .iter()
        .any(|n| n.contains("api") && n.contains("treated as exposed")));
    assert!(
        details
            .components
            .iter()
            .find(|c| c.id == "api")
            .unwrap()
            .exposed
    );
    // `--fail-on low` would fail it.
    let mut evidence = evidence;
    evidence.judge(mlsec_core::Severity::Low);
    assert!(evidence.failed());
}

#[test]
fn a_users_policy_covers_what_it_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gateway.rego"),
        r#"package team.gateway

import rego.v1

metadata := {
	"id": "TEAM042",
	"title": "The inference gateway limits rates",
	"evidence": ["scan"],
	"controls": {"mitre-atlas": ["AML.T0029", "AML.T0034.000"], "owasp-llm": ["LLM10"]},
}

deny contains msg if {
	false
	msg := "never"
}
"#,
    )
    .unwrap();
    let coverage = Coverage::load(&mlsec_policy::PolicyOptions {
        packs: vec!["baseline".into()],
        paths: vec![dir.path().to_path_buf()],
        ..Default::default()
    })
    .unwrap();
    let evidence = mlsec_threat::run(&example(), &coverage).unwrap();
    let details: ThreatModelDetails = serde_json::from_value(evidence.details).unwrap();
    assert_eq!(status(&details, "AML.T0029"), Some(Status::Covered));
    assert_eq!(status(&details, "LLM10"), Some(Status::Covered));
    // It names a sub-technique of Cost Harvesting only.
    assert_eq!(status(&details, "AML.T0034"), Some(Status::Partial));
    let rule = &details
        .threats
        .iter()
        .find(|t| t.id == "AML.T0029")
        .unwrap()
        .covered_by[0];
    assert_eq!(rule.rule, "TEAM042");
    assert!(rule.source.ends_with("gateway.rego"), "{}", rule.source);
    // Without the strict pack, what only strict rules cover is a gap.
    assert_eq!(status(&details, "AML.T0019"), Some(Status::Gap));
}

#[test]
fn bad_files_are_errors_with_a_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    let bundled = Coverage::bundled().unwrap();
    let error = |text: &[u8]| {
        std::fs::write(&path, text).unwrap();
        let e = mlsec_threat::run(&path, &bundled).unwrap_err();
        assert_eq!(e.fault(), mlsec_core::Fault::Input);
        e.to_string()
    };
    let name = path.display().to_string();
    let e = error(b"system: s\ncomponents:\n  - {id: a, kind: gpu}\n");
    assert!(e.starts_with(&format!("{name}:3:")), "{e}");
    assert!(e.contains("unknown variant `gpu`"), "{e}");
    let e = error(b"system: s\ncomponents: [{id: a, kind: training}]\nflows:\n  - {from: a, to: b, data: model}\n");
    assert_eq!(
        e,
        format!("{name}:4:19: flows[0].to: no component `b` (there are: a)")
    );
    let e = error(b"system: s\n  components: x: y\n");
    assert!(e.starts_with(&format!("{name}:2:")), "{e}");
    let e = error(b"system: s\ncomponents: [{id: a, kind: training}]\n\xff\n");
    assert_eq!(e, format!("{name}:3:1: not UTF-8"));
    let e = error(b"system: s\ncomponents: [{id: a, kind: training, trust: partial}]\n");
    assert!(e.contains("unknown variant `partial`"), "{e}");
    let missing = mlsec_threat::run(&dir.path().join("none.yaml"), &bundled).unwrap_err();
    assert_eq!(missing.fault(), mlsec_core::Fault::Input);
}
