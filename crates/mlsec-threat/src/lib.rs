//! Threat model of an ML system.
//!
//! `pipeline.yaml` describes the system: its components (data sources,
//! labelling, training, registry, serving, LLM apps, RAG stores, agent tools,
//! consumers...), how trusted each is, and the flows between them. From it
//! [`analyze`] derives facts (a model crosses the trust boundary inwards, a
//! classifier is served to the public, an LLM app calls tools...), maps each
//! fact to the MITRE ATLAS techniques and OWASP ML / LLM Top 10 risks it
//! brings (the bundled `mapping.json`), and says for each threat which
//! policy rules cover it, read from the rules' own `metadata.controls`
//! ([`Coverage`]). [`evidence`] makes the `threat-model` envelope: the model
//! as details, and one finding per threat no rule covers (THR001) or covers
//! in part (THR002).

// Library code may not index, slice or unwrap: the pipeline file is input,
// and a bad length must become an error, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

mod coverage;
mod error;
mod human;
mod mapping;
mod model;
mod pipeline;
pub mod rules;

pub use coverage::{check_of, parent_of, Coverage, CoveringRule, Match, PolicyRule};
pub use error::ThreatError;
pub use human::human;
pub use mapping::{MappedThreat, Mapping, Trigger, TriggerThreats, FRAMEWORKS};
pub use model::{
    analyze, facts, Boundary, ComponentView, Counts, Direction, FlowView, FrameworkRef, Place,
    Reason, RuleRef, Status, Threat, ThreatModelDetails,
};
pub use pipeline::{
    valid_id, Component, Data, Exposure, Flow, Kind, ModelType, Pipeline, Trust, MAX_BYTES,
    MAX_COMPONENTS, MAX_FLOWS, MAX_FLOW_OPENERS,
};
pub use rules::RULES;

use mlsec_core::{DataLocation, Evidence, Finding, Subject};
use std::path::Path;

/// The evidence kind.
pub const KIND: &str = "threat-model";

/// The threat model of the pipeline file at `path`, with coverage read from
/// `coverage`'s rules: the `threat-model` envelope. `mlsec threat-model`
/// runs this with the bundled packs' rules; `mlsec check` can run it with
/// its own decision's rules ([`Coverage::from_outcomes`]).
pub fn run(path: &Path, coverage: &Coverage) -> Result<Evidence, ThreatError> {
    let text = pipeline::read(path)?;
    let name = path.display().to_string();
    let pipeline = Pipeline::parse(&text, &name)?;
    let details = analyze(
        &pipeline,
        &name,
        &text,
        &mlsec_policy::Catalog::bundled(),
        &Mapping::bundled()?,
        coverage,
    )?;
    evidence(&details, &text)
}

/// The `threat-model` envelope of `details` (made from `text`): the
/// pipeline file as its subject (with its SHA-256), one finding per threat
/// not covered (THR001, low) or covered in part (THR002, info), located at
/// the first place the threat applies whose line is known.
pub fn evidence(details: &ThreatModelDetails, text: &str) -> Result<Evidence, ThreatError> {
    let at = pipeline::Locator::new(text);
    let mut findings = Vec::new();
    for threat in &details.threats {
        let rule = match threat.status {
            Status::Covered => continue,
            Status::Gap => &rules::NOT_COVERED,
            Status::Partial => &rules::PARTLY_COVERED,
        };
        let places = threat.places();
        let framework = details
            .frameworks
            .iter()
            .find(|f| f.id == threat.framework)
            .map_or(threat.framework.as_str(), |f| f.name.as_str());
        let mut message = format!(
            "{} {} ({framework}) applies at {}",
            threat.id,
            threat.title,
            list_places(&places, 3)
        );
        if threat.status == Status::Gap {
            message.push_str(" and no rule covers it");
        } else {
            let parts: Vec<String> = threat
                .covered_by
                .iter()
                .map(|c| format!("{} names {}", c.rule, c.via.join(", ")))
                .collect();
            message.push_str(&format!(
                "; rules cover it only in part: {}",
                parts.join("; ")
            ));
        }
        let mut finding =
            Finding::new(rule, details.file.clone(), message).with_evidence(serde_json::json!({
                "framework": threat.framework,
                "id": threat.id,
                "title": threat.title,
                "places": places,
            }));
        let located = places.iter().find_map(|p| {
            let (name, place) = match p {
                Place::Component { id } => (id.as_str(), at.component(id)?),
                Place::Flow { from, to, .. } => (from.as_str(), at.flow(from, to)?),
            };
            Some((name, place))
        });
        if let Some((name, (line, column))) = located {
            let start = column.saturating_sub(1) as u64;
            finding = finding.in_data(DataLocation {
                row: None,
                column: None,
                line: Some(line as u64),
                start,
                end: start + name.chars().count() as u64,
            });
        }
        findings.push(finding);
    }
    let digest = mlsec_core::digest::sha256_stream(text.as_bytes(), std::io::empty())
        .map(|(d, _)| mlsec_core::digest::hex(&d))
        .map_err(|e| ThreatError::Internal(e.to_string()))?;
    let subject = Subject {
        name: details.file.clone(),
        digest: [("sha256".to_string(), digest)].into_iter().collect(),
    };
    let value = serde_json::to_value(details).map_err(|e| ThreatError::Internal(e.to_string()))?;
    Ok(Evidence::new(KIND, vec![subject], findings, value))
}

/// `a, b, c and 4 more`.
pub(crate) fn list_places(places: &[&Place], shown: usize) -> String {
    let mut names: Vec<String> = places.iter().take(shown).map(|p| p.to_string()).collect();
    if places.len() > shown {
        names.push(format!("{} more", places.len() - shown));
        let last = names.pop().unwrap_or_default();
        return format!("{} and {last}", names.join(", "));
    }
    names.join(", ")
}
