//! The compliance matrix: every control of every framework, with whether the
//! checks that ran show it met, show it failed, or do not cover it.

use crate::{Catalog, Decision};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every rule serving it that applied passed (warnings allowed).
    Met,
    /// A rule serving it denied.
    Failed,
    /// No rule serves it, or none that did had evidence to decide on.
    NotCovered,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ControlStatus {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// The rules that decided it (ids), and the evidence kinds they read.
    pub rules: Vec<String>,
    pub evidence: Vec<String>,
    /// Denials and warnings of those rules.
    pub messages: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameworkStatus {
    pub id: String,
    pub name: String,
    pub version: String,
    pub controls: Vec<ControlStatus>,
}

/// The matrix of `decision` over the catalog's frameworks. A control that a
/// policy names but the catalog does not know is listed too, so a typo in
/// a user's metadata shows instead of vanishing.
pub fn compliance(catalog: &Catalog, decision: &Decision) -> Vec<FrameworkStatus> {
    let mut frameworks: Vec<FrameworkStatus> = catalog
        .frameworks
        .iter()
        .map(|f| FrameworkStatus {
            id: f.id.clone(),
            name: f.name.clone(),
            version: f.version.clone(),
            controls: f
                .controls
                .iter()
                .map(|c| ControlStatus {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    status: Status::NotCovered,
                    rules: Vec::new(),
                    evidence: Vec::new(),
                    messages: Vec::new(),
                })
                .collect(),
        })
        .collect();
    for outcome in &decision.rules {
        let meta = &outcome.metadata;
        let status = match outcome.status.as_str() {
            "denied" => Status::Failed,
            "passed" | "warned" => Status::Met,
            _ => continue,
        };
        let messages: Vec<String> = decision
            .messages
            .iter()
            .filter(|m| m.package == outcome.package)
            .map(|m| m.msg.clone())
            .collect();
        for (framework, ids) in &meta.controls {
            let Some(f) = frameworks.iter_mut().find(|f| f.id == *framework) else {
                continue;
            };
            for id in ids {
                if !f.controls.iter().any(|c| c.id == *id) {
                    f.controls.push(ControlStatus {
                        id: id.clone(),
                        title: "(not in the catalog)".into(),
                        status: Status::NotCovered,
                        rules: Vec::new(),
                        evidence: Vec::new(),
                        messages: Vec::new(),
                    });
                }
                let Some(control) = f.controls.iter_mut().find(|c| c.id == *id) else {
                    continue;
                };
                control.status = match (control.status, status) {
                    (Status::Failed, _) | (_, Status::Failed) => Status::Failed,
                    _ => Status::Met,
                };
                control.rules.push(if meta.id.is_empty() {
                    outcome.package.clone()
                } else {
                    meta.id.clone()
                });
                for kind in &meta.evidence {
                    if !control.evidence.contains(kind) {
                        control.evidence.push(kind.clone());
                    }
                }
                control.messages.extend(messages.iter().cloned());
            }
        }
    }
    frameworks
}
