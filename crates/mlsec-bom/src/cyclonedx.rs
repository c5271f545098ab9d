//! The subset of CycloneDX 1.6 JSON that mlsec writes, as plain serde structs.
//!
//! The released `cyclonedx-bom` crate stops at spec 1.5, which has no room for
//! what an ML-BOM needs; these structs cover only the fields we emit, and every
//! document built from them is checked against the official schema in tests.

use serde::Serialize;

/// The spec version every BOM we write declares.
pub const SPEC_VERSION: &str = "1.6";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    pub bom_format: &'static str,
    pub spec_version: &'static str,
    pub serial_number: String,
    pub version: u32,
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Vulnerability>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub timestamp: String,
    pub tools: Tools,
    pub component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tools {
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentType {
    Application,
    Library,
    File,
    MachineLearningModel,
    Data,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: ComponentType,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Who publishes the component (the Hub organisation of `--hf-id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<OrganizationalEntity>,
    /// Who made it (the card's `author`, `model_creator`, GGUF `general.author`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<OrganizationalContact>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pedigree: Option<Pedigree>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_card: Option<ModelCard>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ComponentData>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl Component {
    /// A component with only its type and name set.
    pub fn new(kind: ComponentType, name: impl Into<String>) -> Self {
        Component {
            kind,
            bom_ref: None,
            supplier: None,
            authors: Vec::new(),
            name: name.into(),
            version: None,
            description: None,
            hashes: Vec::new(),
            licenses: Vec::new(),
            purl: None,
            pedigree: None,
            external_references: Vec::new(),
            components: Vec::new(),
            model_card: None,
            data: Vec::new(),
            properties: Vec::new(),
            tags: Vec::new(),
        }
    }
}

/// An organisation: its name and web addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganizationalEntity {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub url: Vec<String>,
}

/// A person or organisation named as an author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganizationalContact {
    pub name: String,
}

/// A link to somewhere else that tells more about the component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalReference {
    /// One of the schema's `externalReferenceType` values (`website`, `vcs`,
    /// `distribution`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hash {
    pub alg: &'static str,
    pub content: String,
}

impl Hash {
    pub fn sha256(hex: String) -> Self {
        Hash {
            alg: "SHA-256",
            content: hex,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LicenseChoice {
    pub license: License,
}

/// A licence: an SPDX id when the name is one, else a free-form name.
#[derive(Debug, Clone, Serialize)]
pub struct License {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pedigree {
    pub ancestors: Vec<Component>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

impl Property {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Property {
            name: name.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCard {
    #[serde(skip_serializing_if = "ModelParameters::is_empty")]
    pub model_parameters: ModelParameters,
    #[serde(skip_serializing_if = "QuantitativeAnalysis::is_empty")]
    pub quantitative_analysis: QuantitativeAnalysis,
    /// What the schema has no field for: hyperparameters
    /// (`mlsec:hyperparameter:NAME`), generation settings
    /// (`mlsec:generation:NAME`), GGUF and ONNX metadata, parameter count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

impl ModelCard {
    pub fn is_empty(&self) -> bool {
        self.model_parameters.is_empty()
            && self.quantitative_analysis.is_empty()
            && self.properties.is_empty()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantitativeAnalysis {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performance_metrics: Vec<PerformanceMetric>,
}

impl QuantitativeAnalysis {
    pub fn is_empty(&self) -> bool {
        self.performance_metrics.is_empty()
    }
}

/// One evaluation result: `accuracy` `0.91` on `glue (sst2, validation)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceMetric {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence_interval: Option<ConfidenceInterval>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfidenceInterval {
    pub lower_bound: String,
    pub upper_bound: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_architecture: Option<String>,
    /// References (by bom-ref) to the data components the model was trained on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<DatasetRef>,
}

impl ModelParameters {
    pub fn is_empty(&self) -> bool {
        self.task.is_none()
            && self.architecture_family.is_none()
            && self.model_architecture.is_none()
            && self.datasets.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DatasetRef {
    #[serde(rename = "ref")]
    pub reference: String,
}

/// The `data` entry of a component of type `data`.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentData {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// A problem mlsec's scanner found in one of the model's files.
#[derive(Debug, Clone, Serialize)]
pub struct Vulnerability {
    /// The rule id (`PKL001`).
    pub id: String,
    pub source: Source,
    pub ratings: Vec<Rating>,
    pub description: String,
    pub affects: Vec<Affects>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub name: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rating {
    pub source: Source,
    pub severity: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Affects {
    #[serde(rename = "ref")]
    pub reference: String,
}
