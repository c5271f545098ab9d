//! The bundled mapping (`mapping.json`) from facts about a pipeline to the
//! threats they bring.

use crate::ThreatError;
use serde::{Deserialize, Serialize};

/// The frameworks threats come from, in the order reports list them.
pub const FRAMEWORKS: [&str; 3] = ["mitre-atlas", "owasp-ml", "owasp-llm"];

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub about: String,
    pub triggers: Vec<TriggerThreats>,
}

/// One fact about a pipeline and the threats it brings.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerThreats {
    /// A [`Trigger`]'s name.
    pub id: String,
    /// When it holds, in words.
    pub when: String,
    pub threats: Vec<MappedThreat>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappedThreat {
    /// A framework of the control catalog: `mitre-atlas`, `owasp-ml`, `owasp-llm`.
    pub framework: String,
    pub id: String,
    /// Only where an LLM is reached: at a component from which flows of
    /// data, models or documents lead to an LLM, a RAG store or an agent
    /// tool (for a flow: from its target).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub llm: bool,
    /// Why the fact brings this threat.
    pub why: String,
}

/// The facts mlsec-threat derives from a pipeline (see `mapping.json` for
/// each one's `when`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    ModelFromOutside,
    FineTuningOutsideModel,
    ModelLoaded,
    DataFromOutside,
    DocumentsFromOutside,
    FeedbackLoop,
    ResponsesToOutside,
    DataStore,
    Labelling,
    Training,
    AiSoftware,
    Registry,
    ExposedModel,
    ExposedPredictiveModel,
    ExposedEmbeddingModel,
    Llm,
    ExposedLlm,
    RagStore,
    AgentTool,
    OutsideAgentTool,
}

impl Trigger {
    pub const ALL: [Trigger; 20] = [
        Trigger::ModelFromOutside,
        Trigger::FineTuningOutsideModel,
        Trigger::ModelLoaded,
        Trigger::DataFromOutside,
        Trigger::DocumentsFromOutside,
        Trigger::FeedbackLoop,
        Trigger::ResponsesToOutside,
        Trigger::DataStore,
        Trigger::Labelling,
        Trigger::Training,
        Trigger::AiSoftware,
        Trigger::Registry,
        Trigger::ExposedModel,
        Trigger::ExposedPredictiveModel,
        Trigger::ExposedEmbeddingModel,
        Trigger::Llm,
        Trigger::ExposedLlm,
        Trigger::RagStore,
        Trigger::AgentTool,
        Trigger::OutsideAgentTool,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::ModelFromOutside => "model-from-outside",
            Trigger::FineTuningOutsideModel => "fine-tuning-outside-model",
            Trigger::ModelLoaded => "model-loaded",
            Trigger::DataFromOutside => "data-from-outside",
            Trigger::DocumentsFromOutside => "documents-from-outside",
            Trigger::FeedbackLoop => "feedback-loop",
            Trigger::ResponsesToOutside => "responses-to-outside",
            Trigger::DataStore => "data-store",
            Trigger::Labelling => "labelling",
            Trigger::Training => "training",
            Trigger::AiSoftware => "ai-software",
            Trigger::Registry => "registry",
            Trigger::ExposedModel => "exposed-model",
            Trigger::ExposedPredictiveModel => "exposed-predictive-model",
            Trigger::ExposedEmbeddingModel => "exposed-embedding-model",
            Trigger::Llm => "llm",
            Trigger::ExposedLlm => "exposed-llm",
            Trigger::RagStore => "rag-store",
            Trigger::AgentTool => "agent-tool",
            Trigger::OutsideAgentTool => "outside-agent-tool",
        }
    }
}

impl Mapping {
    /// The bundled mapping.
    pub fn bundled() -> Result<Mapping, ThreatError> {
        serde_json::from_str(include_str!("../mapping.json"))
            .map_err(|e| ThreatError::Internal(format!("mapping.json: {e}")))
    }

    pub fn trigger(&self, trigger: Trigger) -> Option<&TriggerThreats> {
        self.triggers.iter().find(|t| t.id == trigger.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every trigger has threats, every id exists in the bundled catalog
    /// under its framework, and no trigger names a threat twice.
    #[test]
    fn every_mapped_id_is_in_the_catalog() {
        let mapping = Mapping::bundled().unwrap();
        let catalog = mlsec_policy::Catalog::bundled();
        let names: Vec<&str> = mapping.triggers.iter().map(|t| t.id.as_str()).collect();
        let expected: Vec<&str> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names, expected,
            "mapping.json lists the triggers in code order"
        );
        for t in &mapping.triggers {
            assert!(!t.threats.is_empty(), "{}", t.id);
            assert!(!t.when.is_empty(), "{}", t.id);
            let mut seen = BTreeSet::new();
            for threat in &t.threats {
                assert!(
                    FRAMEWORKS.contains(&threat.framework.as_str()),
                    "{}: {}",
                    t.id,
                    threat.framework
                );
                let framework = catalog.framework(&threat.framework).unwrap();
                assert!(
                    framework.control(&threat.id).is_some(),
                    "{}: {} {} is not in the catalog",
                    t.id,
                    threat.framework,
                    threat.id
                );
                assert!(!threat.why.is_empty(), "{}: {}", t.id, threat.id);
                assert!(
                    seen.insert((&threat.framework, &threat.id)),
                    "{}: {} twice",
                    t.id,
                    threat.id
                );
            }
        }
    }

    /// An id the catalog does not know fails the check above.
    #[test]
    fn an_unknown_id_is_caught() {
        let catalog = mlsec_policy::Catalog::bundled();
        let atlas = catalog.framework("mitre-atlas").unwrap();
        assert!(atlas.control("AML.T0010.003").is_some());
        assert!(atlas.control("AML.T9999").is_none());
        assert!(catalog
            .framework("owasp-llm")
            .unwrap()
            .control("LLM11")
            .is_none());
    }
}
