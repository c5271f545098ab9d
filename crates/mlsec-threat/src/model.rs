//! The threat model: the facts a pipeline implies, the threats they bring,
//! and which rules cover each.

use crate::coverage::{Coverage, CoveringRule, Match};
use crate::mapping::{Mapping, Trigger, FRAMEWORKS};
use crate::pipeline::{Data, Exposure, Kind, ModelType, Pipeline, Trust};
use crate::ThreatError;
use mlsec_policy::Catalog;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `details` of a `threat-model` evidence envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThreatModelDetails {
    pub system: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The pipeline file, as given.
    pub file: String,
    pub components: Vec<ComponentView>,
    pub flows: Vec<FlowView>,
    /// Where trust changes: flows between internal and external components,
    /// and components exposed to the public.
    pub boundaries: Vec<Boundary>,
    /// The frameworks the threats come from, with their versions.
    pub frameworks: Vec<FrameworkRef>,
    /// The rules coverage was read from.
    pub rules: Vec<RuleRef>,
    /// Every applicable threat: MITRE ATLAS first, then OWASP ML, then OWASP
    /// LLM, each by id.
    pub threats: Vec<Threat>,
    pub counts: Counts,
    /// Remarks on the description (components without flows, servings
    /// treated as public).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComponentView {
    pub id: String,
    pub kind: Kind,
    /// As written, or the kind's default.
    pub trust: Trust,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<ModelType>,
    /// Reachable from outside the trust boundary (public, or sent requests
    /// by an external component).
    pub exposed: bool,
    /// Runs a large language model.
    pub llm: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Where its `id` is written (1-based), when that is unambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FlowView {
    pub from: String,
    pub to: String,
    pub data: Data,
    /// `inbound` or `outbound` when the flow crosses the trust boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crosses: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// From an external component to an internal one.
    Inbound,
    /// From an internal component to an external one.
    Outbound,
}

/// A place where trust changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Boundary {
    /// A flow whose ends differ in trust.
    Flow {
        from: String,
        to: String,
        data: Data,
        direction: Direction,
    },
    /// A component anyone outside can reach (`exposure: public`).
    PublicExposure { component: String },
}

/// Where a threat applies: a component, or a flow.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Place {
    Component {
        id: String,
    },
    Flow {
        from: String,
        to: String,
        data: Data,
    },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Component { id } => f.write_str(id),
            Place::Flow { from, to, .. } => write!(f, "{from} → {to}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameworkRef {
    pub id: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    pub source: String,
    pub checks: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A rule names this threat's id.
    Covered,
    /// Rules name only its parent technique or some of its sub-techniques.
    Partial,
    /// No rule names it: nothing mlsec checks answers it.
    Gap,
}

/// One threat that applies to the system.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Threat {
    /// `mitre-atlas`, `owasp-ml` or `owasp-llm`.
    pub framework: String,
    pub id: String,
    pub title: String,
    /// ATLAS: the tactics (adversary goals) the technique serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<mlsec_policy::Tactic>,
    pub status: Status,
    /// Why it applies: each fact that brings it, and where that fact holds.
    pub reasons: Vec<Reason>,
    /// The rules that cover it, best match first.
    pub covered_by: Vec<CoveringRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reason {
    /// The fact (a trigger of the mapping), e.g. `model-from-outside`.
    pub trigger: String,
    pub why: String,
    pub places: Vec<Place>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Counts {
    pub threats: usize,
    pub covered: usize,
    pub partial: usize,
    pub gaps: usize,
}

impl Threat {
    /// Every place it applies, each once, in the order the reasons give them.
    pub fn places(&self) -> Vec<&Place> {
        let mut seen = std::collections::BTreeSet::new();
        self.reasons
            .iter()
            .flat_map(|r| &r.places)
            .filter(|p| seen.insert(*p))
            .collect()
    }
}

/// What the analysis asks about components, answered from maps built once
/// (a pipeline may hold a thousand components and ten thousand flows).
pub(crate) struct Index<'a> {
    components: BTreeMap<&'a str, &'a crate::pipeline::Component>,
    exposed: std::collections::BTreeSet<&'a str>,
    connected: std::collections::BTreeSet<&'a str>,
    /// Components that are an LLM, a RAG store or an agent tool, or from
    /// which flows of data, models or documents lead to one.
    reaches_llm: std::collections::BTreeSet<&'a str>,
}

impl<'a> Index<'a> {
    pub(crate) fn new(pipeline: &'a Pipeline) -> Index<'a> {
        let components: BTreeMap<&str, &crate::pipeline::Component> = pipeline
            .components
            .iter()
            .map(|c| (c.id.as_str(), c))
            .collect();
        let mut exposed = std::collections::BTreeSet::new();
        let mut connected = std::collections::BTreeSet::new();
        for c in &pipeline.components {
            if c.exposure == Some(Exposure::Public) {
                exposed.insert(c.id.as_str());
            }
        }
        for f in &pipeline.flows {
            connected.insert(f.from.as_str());
            connected.insert(f.to.as_str());
            let from_outside = components
                .get(f.from.as_str())
                .is_some_and(|c| c.trust() == Trust::External);
            let serves = components
                .get(f.to.as_str())
                .is_some_and(|c| matches!(c.kind, Kind::Serving | Kind::LlmApp));
            if f.data == Data::Requests && from_outside && serves {
                exposed.insert(f.to.as_str());
            }
        }
        // Walk backwards from every LLM-like component along the flows that
        // make what it runs on: data, models, documents. Requests and
        // responses do not: a classifier's users who also chat with an LLM
        // do not put the classifier into the LLM.
        let mut into: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in &pipeline.flows {
            let makes = !matches!(
                f.data,
                Data::Requests | Data::Responses | Data::ToolCalls | Data::Logs
            );
            if makes {
                into.entry(f.to.as_str()).or_default().push(f.from.as_str());
            }
        }
        let mut reaches_llm = std::collections::BTreeSet::new();
        let mut todo: Vec<&str> = pipeline
            .components
            .iter()
            .filter(|c| llm_like(c))
            .map(|c| c.id.as_str())
            .collect();
        while let Some(id) = todo.pop() {
            if reaches_llm.insert(id) {
                todo.extend(into.get(id).into_iter().flatten().copied());
            }
        }
        Index {
            components,
            exposed,
            connected,
            reaches_llm,
        }
    }

    /// Whether what happens at `place` can reach an LLM: the `llm` threats
    /// of the mapping apply there.
    fn reaches_llm(&self, place: &Place) -> bool {
        match place {
            Place::Component { id } => self.reaches_llm.contains(id.as_str()),
            Place::Flow { to, .. } => self.reaches_llm.contains(to.as_str()),
        }
    }

    fn trust(&self, id: &str) -> Trust {
        self.components
            .get(id)
            .map_or(Trust::Internal, |c| c.trust())
    }

    fn kind(&self, id: &str) -> Option<Kind> {
        self.components.get(id).map(|c| c.kind)
    }

    /// Whether the serving or LLM app `id` can be reached from outside the
    /// trust boundary: `exposure: public`, or requests from an external component.
    fn exposed(&self, id: &str) -> bool {
        self.exposed.contains(id)
    }

    fn crossing(&self, from: &str, to: &str) -> Option<Direction> {
        match (self.trust(from), self.trust(to)) {
            (Trust::External, Trust::Internal) => Some(Direction::Inbound),
            (Trust::Internal, Trust::External) => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// The facts `pipeline` implies, each with where it holds: by trigger, and
/// for one trigger in file order, each place once.
pub fn facts(pipeline: &Pipeline) -> Vec<(Trigger, Place)> {
    let index = Index::new(pipeline);
    let mut out = Vec::new();
    for f in &pipeline.flows {
        let place = || Place::Flow {
            from: f.from.clone(),
            to: f.to.clone(),
            data: f.data,
        };
        let crossing = index.crossing(&f.from, &f.to);
        let inbound = crossing == Some(Direction::Inbound);
        let outbound = crossing == Some(Direction::Outbound);
        let to = index.kind(&f.to);
        match f.data {
            Data::Model => {
                if inbound {
                    out.push((Trigger::ModelFromOutside, place()));
                    if to == Some(Kind::Training) {
                        out.push((Trigger::FineTuningOutsideModel, place()));
                    }
                }
                if matches!(
                    to,
                    Some(Kind::Training | Kind::Evaluation | Kind::Serving | Kind::LlmApp)
                ) {
                    out.push((Trigger::ModelLoaded, place()));
                }
            }
            Data::TrainingData | Data::EvaluationData | Data::Labels | Data::Features
                if inbound =>
            {
                out.push((Trigger::DataFromOutside, place()));
            }
            Data::Documents if inbound => out.push((Trigger::DocumentsFromOutside, place())),
            Data::Feedback
                if matches!(
                    to,
                    Some(Kind::Training | Kind::Labelling | Kind::DataSource | Kind::FeatureStore)
                ) =>
            {
                out.push((Trigger::FeedbackLoop, place()));
            }
            Data::Responses if outbound => out.push((Trigger::ResponsesToOutside, place())),
            _ => {}
        }
    }
    for c in &pipeline.components {
        let place = || Place::Component { id: c.id.clone() };
        let mut push = |t: Trigger| out.push((t, place()));
        match c.kind {
            Kind::DataSource | Kind::FeatureStore => push(Trigger::DataStore),
            Kind::Labelling => push(Trigger::Labelling),
            Kind::Training => {
                push(Trigger::Training);
                push(Trigger::AiSoftware);
            }
            Kind::Evaluation => push(Trigger::AiSoftware),
            Kind::Registry => push(Trigger::Registry),
            Kind::Serving | Kind::LlmApp => {
                push(Trigger::AiSoftware);
                let open = index.exposed(&c.id);
                if open {
                    push(Trigger::ExposedModel);
                }
                if c.is_llm() {
                    push(Trigger::Llm);
                    if open {
                        push(Trigger::ExposedLlm);
                    }
                } else if open {
                    push(Trigger::ExposedPredictiveModel);
                    if c.model_type == Some(ModelType::Embedding) {
                        push(Trigger::ExposedEmbeddingModel);
                    }
                }
            }
            Kind::RagStore => push(Trigger::RagStore),
            Kind::AgentTool => {
                push(Trigger::AgentTool);
                if c.trust() == Trust::External {
                    push(Trigger::OutsideAgentTool);
                }
            }
            Kind::ModelSource | Kind::Consumer | Kind::Monitoring => {}
        }
    }
    // Two flows with the same ends and data are one place.
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|fact| seen.insert(fact.clone()));
    out.sort_by_key(|(t, _)| *t);
    out
}

/// An LLM, or what only LLMs use: a RAG store, an agent tool.
fn llm_like(c: &crate::pipeline::Component) -> bool {
    c.is_llm() || matches!(c.kind, Kind::RagStore | Kind::AgentTool)
}

/// The threat model of `pipeline` (read from `file`, whose `text` places
/// components and flows on lines).
pub fn analyze(
    pipeline: &Pipeline,
    file: &str,
    text: &str,
    catalog: &Catalog,
    mapping: &Mapping,
    coverage: &Coverage,
) -> Result<ThreatModelDetails, ThreatError> {
    let index = Index::new(pipeline);
    let places = crate::pipeline::Locator::new(text);
    // (framework order, id) -> threat
    let mut threats: BTreeMap<(usize, String), Threat> = BTreeMap::new();
    for (trigger, place) in facts(pipeline) {
        let entry = mapping.trigger(trigger).ok_or_else(|| {
            ThreatError::Internal(format!("mapping.json has no trigger {}", trigger.as_str()))
        })?;
        let llm = index.reaches_llm(&place);
        for mapped in entry.threats.iter().filter(|m| llm || !m.llm) {
            let order = FRAMEWORKS
                .iter()
                .position(|f| *f == mapped.framework)
                .unwrap_or(FRAMEWORKS.len());
            let threat = match threats.entry((order, mapped.id.clone())) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    let framework = catalog.framework(&mapped.framework).ok_or_else(|| {
                        ThreatError::Internal(format!("no framework {}", mapped.framework))
                    })?;
                    let control = framework.control(&mapped.id).ok_or_else(|| {
                        ThreatError::Internal(format!(
                            "{} {} is not in the catalog",
                            mapped.framework, mapped.id
                        ))
                    })?;
                    let covered_by = coverage.covering(&mapped.framework, &mapped.id);
                    let status = if covered_by.iter().any(|c| c.matches == Match::Exact) {
                        Status::Covered
                    } else if covered_by.is_empty() {
                        Status::Gap
                    } else {
                        Status::Partial
                    };
                    v.insert(Threat {
                        framework: mapped.framework.clone(),
                        id: mapped.id.clone(),
                        title: control.title.clone(),
                        tactics: control
                            .tactics
                            .iter()
                            .filter_map(|t| framework.tactic(t).cloned())
                            .collect(),
                        status,
                        reasons: Vec::new(),
                        covered_by,
                    })
                }
            };
            // Facts come by trigger, each place once: the reason for this
            // trigger, if there is one, is the last.
            match threat
                .reasons
                .last_mut()
                .filter(|r| r.trigger == trigger.as_str())
            {
                Some(reason) => reason.places.push(place.clone()),
                None => threat.reasons.push(Reason {
                    trigger: trigger.as_str().to_string(),
                    why: mapped.why.clone(),
                    places: vec![place.clone()],
                }),
            }
        }
    }
    let threats: Vec<Threat> = threats.into_values().collect();
    let counts = Counts {
        threats: threats.len(),
        covered: threats
            .iter()
            .filter(|t| t.status == Status::Covered)
            .count(),
        partial: threats
            .iter()
            .filter(|t| t.status == Status::Partial)
            .count(),
        gaps: threats.iter().filter(|t| t.status == Status::Gap).count(),
    };
    let frameworks = FRAMEWORKS
        .iter()
        .filter(|f| threats.iter().any(|t| t.framework == **f))
        .filter_map(|f| catalog.framework(f))
        .map(|f| FrameworkRef {
            id: f.id.clone(),
            name: f.name.clone(),
            version: f.version.clone(),
        })
        .collect();
    Ok(ThreatModelDetails {
        system: pipeline.system.clone(),
        description: pipeline.description.clone(),
        file: file.to_string(),
        components: pipeline
            .components
            .iter()
            .map(|c| ComponentView {
                id: c.id.clone(),
                kind: c.kind,
                trust: c.trust(),
                exposure: c.exposure,
                model_type: c.model_type,
                exposed: index.exposed(&c.id),
                llm: c.is_llm(),
                description: c.description.clone(),
                paths: c.paths.clone(),
                line: places.component(&c.id).map(|(l, _)| l),
            })
            .collect(),
        flows: pipeline
            .flows
            .iter()
            .map(|f| FlowView {
                from: f.from.clone(),
                to: f.to.clone(),
                data: f.data,
                crosses: index.crossing(&f.from, &f.to),
                line: places.flow(&f.from, &f.to).map(|(l, _)| l),
            })
            .collect(),
        boundaries: boundaries(pipeline, &index),
        frameworks,
        rules: coverage
            .rules
            .iter()
            .map(|r| RuleRef {
                id: r.id.clone(),
                title: r.title.clone(),
                source: r.source.clone(),
                checks: r.checks.clone(),
            })
            .collect(),
        threats,
        counts,
        notes: notes(pipeline, &index),
    })
}

/// Flows that cross the trust boundary, in file order, then public components.
fn boundaries(pipeline: &Pipeline, index: &Index<'_>) -> Vec<Boundary> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out: Vec<Boundary> = Vec::new();
    for f in &pipeline.flows {
        if let Some(direction) = index.crossing(&f.from, &f.to) {
            if seen.insert((&f.from, &f.to, f.data)) {
                out.push(Boundary::Flow {
                    from: f.from.clone(),
                    to: f.to.clone(),
                    data: f.data,
                    direction,
                });
            }
        }
    }
    for c in &pipeline.components {
        if c.exposure == Some(Exposure::Public) {
            out.push(Boundary::PublicExposure {
                component: c.id.clone(),
            });
        }
    }
    out
}

fn notes(pipeline: &Pipeline, index: &Index<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for c in &pipeline.components {
        if !index.connected.contains(c.id.as_str()) {
            out.push(format!(
                "component `{}` has no flows: only what its kind brings applies to it",
                c.id
            ));
        }
        if c.exposure != Some(Exposure::Public) && index.exposed(&c.id) {
            out.push(format!(
                "component `{}` gets requests from an external component: treated as exposed to the public",
                c.id
            ));
        }
    }
    out
}
