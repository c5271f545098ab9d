//! One SARIF log for the whole gate: every producer's findings and the
//! policy decisions, in one run.

use crate::{controls, rule_id, EvidenceSet};
use mlsec_core::render::{rule_descriptor, sarif_merged};
use mlsec_core::{Evidence, Rule};
use mlsec_policy::RuleOutcome;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The evidence set as SARIF 2.1.0: one run (GitHub code scanning refuses several
/// runs of one tool in a file) whose results are every envelope's findings,
/// then the policy messages. `rules` are the producers' rules; the ones the
/// results use become `tool.driver.rules`, followed by the policy rules that
/// spoke.
pub fn sarif(set: &EvidenceSet, rules: &[Rule]) -> Value {
    let mut evidence: Vec<&Evidence> = set.envelopes.iter().map(|e| &e.evidence).collect();
    if let Some((check, _)) = &set.check {
        evidence.push(check);
    }
    let used: BTreeSet<&str> = evidence
        .iter()
        .flat_map(|e| e.findings.iter().map(|f| f.rule.as_str()))
        .collect();
    let mut descriptors: Vec<Value> = rules
        .iter()
        .filter(|r| used.contains(r.id))
        .map(rule_descriptor)
        .collect();
    let mut properties = json!({"kind": "report", "decision": set.decision()});
    if let Some((_, details)) = &set.check {
        descriptors.extend(
            details
                .policy
                .rules
                .iter()
                .filter(|r| used.contains(rule_id(r)))
                .map(policy_descriptor),
        );
        properties = json!({
            "kind": "check",
            "decision": details.decision,
            "project": details.project,
        });
    }
    sarif_merged(&evidence, descriptors, properties)
}

fn policy_descriptor(r: &RuleOutcome) -> Value {
    let controls = controls(r);
    let title = if r.metadata.title.is_empty() {
        r.package.clone()
    } else {
        r.metadata.title.clone()
    };
    let mut help = format!("{title}\n\nPolicy `{}` from {}.", r.package, r.origin);
    if !controls.is_empty() {
        help.push_str(&format!("\n\nControls: {}.", controls.join(", ")));
    }
    json!({
        "id": rule_id(r),
        "name": r.package,
        "shortDescription": {"text": title},
        "fullDescription": {"text": title},
        "help": {"text": help, "markdown": help},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "security-severity": "8.0",
            "tags": ["security", "policy"],
            "controls": controls,
        }
    })
}
