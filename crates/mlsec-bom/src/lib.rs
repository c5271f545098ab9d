//! `mlsec bom`: a CycloneDX 1.6 machine-learning bill of materials for a model
//! folder, as JSON or XML: every file with its SHA-256 and detected format,
//! the model card (licence, datasets, base model, task, architecture,
//! evaluation results, hyperparameters, GGUF and ONNX metadata), supplier,
//! authors and Hub links, the Python packages the folder declares and mlsec's
//! own scan verdicts and findings, plus validation of any CycloneDX JSON
//! document.

// Library code may not index, slice or unwrap: a bad length must become an
// error, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod card;
pub mod cyclonedx;
pub mod deps;
mod error;
pub mod evidence;
mod files;
pub mod license;
mod onnx;
pub mod signature;
pub mod validate;
pub mod xml;

pub use error::BomError;
pub use xml::to_xml;

use cyclonedx::{
    Bom, Component, ComponentData, ComponentType, DatasetRef, Dependency, ExternalReference, Hash,
    License, LicenseChoice, Metadata, ModelCard, ModelParameters, OrganizationalContact,
    OrganizationalEntity, Pedigree, Property, QuantitativeAnalysis, Tools, SPEC_VERSION,
};
use mlsec_core::{Evidence, Subject};
use std::path::{Path, PathBuf};

pub use files::{FileEntry, TensorStats, MAX_FILES};

/// Metadata property holding one problem met while reading the folder (a
/// model card or dependency file that could not be understood).
pub const WARNING_PROPERTY: &str = "mlsec:warning";

/// What to describe.
#[derive(Debug, Clone, Default)]
pub struct BomOptions {
    /// The model folder (or a single model file).
    pub model: PathBuf,
    /// The scanner's configuration (the project's `mlsec.toml`), so that the
    /// BOM's verdict agrees with `mlsec scan`'s.
    pub scan_config: mlsec_scan::ScanConfig,
    /// The model's name; default: the folder's name.
    pub name: Option<String>,
    /// The model's version.
    pub version: Option<String>,
    /// Local datasets (files or folders) the model was trained or evaluated on.
    pub datasets: Vec<PathBuf>,
    /// Where the BOM will be written; left out of the file list when it lies
    /// inside the model folder.
    pub output: Option<PathBuf>,
    /// The model's Hugging Face Hub id (`org/name`): gives the model its purl,
    /// and its name when `name` is not set.
    pub hf_id: Option<String>,
    /// The Hub revision (commit id) the folder holds; goes into the purl.
    pub revision: Option<String>,
    /// The model's signature (default: `model.sig` in the model folder, if any).
    pub signature: Option<PathBuf>,
    /// Verifies the signature; without it the BOM says the signature is unchecked.
    pub trust: Option<mlsec_sign::Trust>,
}

/// Builds the ML-BOM for `opts.model`. Errors name the file and the cause.
pub fn build(opts: &BomOptions) -> Result<Bom, BomError> {
    let meta = std::fs::metadata(&opts.model).map_err(|e| BomError::io(&opts.model, &e))?;
    let dir = if meta.is_dir() {
        opts.model.clone()
    } else {
        opts.model
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let files = if meta.is_dir() {
        files::walk(
            &opts.model,
            opts.output.as_deref(),
            &opts.scan_config.limits,
        )?
    } else {
        vec![files::describe(
            &dir,
            &opts.model,
            &opts.scan_config.limits,
        )?]
    };
    let hub = Hub::new(opts.hf_id.as_deref(), opts.revision.as_deref())?;
    let scan = evidence::scan(&opts.model, &dir, &opts.scan_config)?;
    // Problems with the card and dependency files are warnings in the BOM:
    // that text is the authors', and the files and their verdicts still hold.
    let mut warnings = Vec::new();
    let card = card::read_card(&dir, &mut warnings);
    let license_file = license::find(&dir)?;
    let packages = deps::read_dependencies(&dir, &mut warnings);

    let name = match (&opts.name, &opts.hf_id) {
        (Some(n), _) => n.clone(),
        (None, Some(id)) => id.rsplit('/').next().unwrap_or(id).to_string(),
        (None, None) => folder_name(&opts.model),
    };
    let model_ref = match &opts.version {
        Some(v) => format!("model:{name}@{v}"),
        None => format!("model:{name}"),
    };
    let mut model = Component::new(ComponentType::MachineLearningModel, name);
    model.bom_ref = Some(model_ref.clone());
    model.version = opts.version.clone();
    if let Some(hub) = &hub {
        model.purl = Some(hub.purl());
        model.supplier = Some(hub.supplier());
        model.external_references = hub.references();
    }
    model.licenses = licenses(&card.licenses, license_file.as_ref());
    model.authors = authors(&card.authors, &files);
    model.tags = card.tags.clone();
    let mut ancestors: Vec<Component> = card
        .base_models
        .iter()
        .map(|b| base_model(b, &model_ref))
        .collect();
    // Without `base_model` in the card, config.json's `_name_or_path` still
    // names the checkpoint the model was fine-tuned from, when it is a Hub id
    // other than the model's own name (it may also be a local path).
    if let Some(origin) = card.name_or_path.as_deref().filter(|o| {
        ancestors.is_empty()
            && is_hub_id(o)
            && !o
                .rsplit('/')
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case(&model.name))
    }) {
        let mut ancestor = base_model(origin, &model_ref);
        ancestor.properties = vec![Property::new("mlsec:source", "config.json _name_or_path")];
        ancestors.push(ancestor);
    }
    if !ancestors.is_empty() {
        model.pedigree = Some(Pedigree { ancestors });
    }
    model.components = files
        .iter()
        .map(|f| {
            let mut c = file_component(f, "file:");
            if let Some(verdict) = scan.verdicts.get(&f.path) {
                c.properties
                    .push(Property::new(evidence::VERDICT_PROPERTY, verdict.as_str()));
            }
            c
        })
        .collect();
    model.properties.push(Property::new(
        evidence::VERDICT_PROPERTY,
        scan.overall.as_str(),
    ));
    match signature::check(
        &opts.model,
        &dir,
        opts.signature.as_deref(),
        opts.trust.as_ref(),
    )? {
        Some(sig) => {
            model.external_references.push(sig.reference);
            model.properties.extend(sig.properties);
            if let Some(root) = sig.root_digest {
                model.hashes = vec![Hash::sha256(root)];
            }
        }
        None => model
            .properties
            .push(Property::new("mlsec:signature:status", "absent")),
    }
    let listed: std::collections::BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let vulnerabilities = scan.vulnerabilities(
        |path| listed.contains(path).then(|| format!("file:{path}")),
        &model_ref,
    );

    let mut datasets: Vec<Component> = card.datasets.iter().map(|d| dataset(d)).collect();
    for path in &opts.datasets {
        let local = local_dataset(path, opts.output.as_deref(), &opts.scan_config.limits)?;
        if !datasets.iter().any(|d| d.bom_ref == local.bom_ref) {
            datasets.push(local);
        }
    }
    let mut card_out = ModelCard {
        model_parameters: ModelParameters {
            task: card.pipeline_tag.clone().or(card.evaluated_task.clone()),
            architecture_family: card.model_type.clone(),
            model_architecture: (!card.architectures.is_empty())
                .then(|| card.architectures.join(", ")),
            datasets: datasets
                .iter()
                .filter_map(|d| d.bom_ref.clone())
                .map(|reference| DatasetRef { reference })
                .collect(),
        },
        quantitative_analysis: QuantitativeAnalysis {
            performance_metrics: card.metrics.clone(),
        },
        properties: Vec::new(),
    };
    let stats: Vec<TensorStats> = files.iter().filter_map(|f| f.tensors).collect();
    if !stats.is_empty() {
        let parameters = stats
            .iter()
            .fold(0u64, |n, s| n.saturating_add(s.parameters));
        card_out.properties.push(Property::new(
            "mlsec:parameter-count",
            parameters.to_string(),
        ));
    }
    for f in &files {
        for (name, value) in &f.card {
            card_out.properties.push(Property::new(name, value));
        }
    }
    for lang in &card.languages {
        card_out
            .properties
            .push(Property::new("mlsec:language", lang));
    }
    for (name, value) in &card.hyperparameters {
        card_out.properties.push(Property::new(
            format!("{}{name}", card::HYPERPARAMETER_PROPERTY),
            value,
        ));
    }
    for (name, value) in &card.generation {
        card_out.properties.push(Property::new(
            format!("{}{name}", card::GENERATION_PROPERTY),
            value,
        ));
    }
    if !card_out.is_empty() {
        model.model_card = Some(card_out);
    }

    let libraries: Vec<Component> = packages.iter().map(library).collect();
    let depends_on: Vec<String> = libraries
        .iter()
        .chain(&datasets)
        .filter_map(|c| c.bom_ref.clone())
        .collect();
    let dependencies = if depends_on.is_empty() {
        Vec::new()
    } else {
        vec![Dependency {
            reference: model_ref,
            depends_on,
        }]
    };

    let mut tool = Component::new(ComponentType::Application, "mlsec");
    tool.version = Some(mlsec_core::TOOL_VERSION.to_string());
    Ok(Bom {
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        serial_number: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        version: 1,
        metadata: Metadata {
            timestamp: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            tools: Tools {
                components: vec![tool],
            },
            component: model,
            properties: warnings
                .iter()
                .map(|w| Property::new(WARNING_PROPERTY, w))
                .collect(),
        },
        components: datasets.into_iter().chain(libraries).collect(),
        dependencies,
        vulnerabilities,
    })
}

/// `mlsec bom` as a library call, for `mlsec check` and other in-process
/// callers: the BOM of `opts.model` in an evidence envelope of kind `bom`.
/// Its details hold the CycloneDX 1.6 document (`cyclonedx`) and the problems
/// met while reading the folder (`warnings`); every component with a SHA-256
/// (the model's files, local datasets' files) is a subject. A BOM describes
/// and judges nothing itself, so it has no findings; the scan verdict of each
/// file is a property inside the document.
pub fn run(opts: &BomOptions) -> Result<Evidence, BomError> {
    let bom = build(opts)?;
    let mut subjects = Vec::new();
    hashed_subjects(&bom.metadata.component, &mut subjects);
    for c in &bom.components {
        hashed_subjects(c, &mut subjects);
    }
    let warnings: Vec<&str> = bom
        .metadata
        .properties
        .iter()
        .filter(|p| p.name == WARNING_PROPERTY)
        .map(|p| p.value.as_str())
        .collect();
    let internal = |e: serde_json::Error| BomError::Internal(e.to_string());
    let details = BomDetails {
        cyclonedx: serde_json::to_value(&bom).map_err(internal)?,
        warnings: warnings.into_iter().map(str::to_string).collect(),
    };
    Ok(Evidence::new(
        "bom",
        subjects,
        Vec::new(),
        serde_json::to_value(&details).map_err(internal)?,
    ))
}

/// `details` of a `bom` evidence envelope.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct BomDetails {
    /// The CycloneDX 1.6 document, as `mlsec bom` writes it; its schema is
    /// CycloneDX's own (`http://cyclonedx.org/schema/bom-1.6.schema.json`).
    pub cyclonedx: serde_json::Value,
    /// Problems met while reading the folder (a model card or dependency
    /// file that could not be understood).
    pub warnings: Vec<String>,
}

/// Components (and their nested components) that carry a SHA-256, in order.
fn hashed_subjects(c: &Component, out: &mut Vec<Subject>) {
    if let Some(h) = c.hashes.iter().find(|h| h.alg == "SHA-256") {
        out.push(Subject {
            name: c.name.clone(),
            digest: [("sha256".to_string(), h.content.clone())].into(),
        });
    }
    for child in &c.components {
        hashed_subjects(child, out);
    }
}

/// The BOM as pretty JSON with a trailing newline.
pub fn to_json(bom: &Bom) -> Result<String, BomError> {
    let mut s = serde_json::to_string_pretty(bom).map_err(|e| BomError::Internal(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

fn folder_name(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "model".to_string())
}

/// The card's licences, then the licence file's when it adds one: its SPDX id
/// when recognised, else (only when the card names no licence) its title.
fn licenses(card: &[String], file: Option<&license::LicenseFile>) -> Vec<LicenseChoice> {
    let mut out: Vec<LicenseChoice> = card.iter().map(|l| license(l)).collect();
    let from_file = file.and_then(|f| match (f.spdx_id, &f.title) {
        (Some(id), _) => Some(License {
            id: Some(id.to_string()),
            name: None,
        }),
        (None, Some(title)) if card.is_empty() => Some(License {
            id: None,
            name: Some(title.clone()),
        }),
        _ => None,
    });
    if let Some(l) = from_file {
        let known = out
            .iter()
            .any(|c| c.license.id.is_some() && c.license.id == l.id);
        if !known {
            out.push(LicenseChoice { license: l });
        }
    }
    out
}

/// The card's authors, then a GGUF file's `general.author` when it names
/// someone else.
fn authors(card: &[String], files: &[FileEntry]) -> Vec<OrganizationalContact> {
    let gguf = files
        .iter()
        .flat_map(|f| &f.card)
        .filter(|(k, _)| k == "mlsec:gguf:general.author")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty());
    let mut names: Vec<String> = Vec::new();
    for name in card.iter().map(String::as_str).chain(gguf) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
        .into_iter()
        .map(|name| OrganizationalContact { name })
        .collect()
}

/// An SPDX id when the card's licence is one (`apache-2.0` → `Apache-2.0`),
/// else the name as written (`other`, `llama2`).
fn license(name: &str) -> LicenseChoice {
    let license = match validate::spdx_id(name) {
        Some(id) => License {
            id: Some(id),
            name: None,
        },
        None => License {
            id: None,
            name: Some(name.to_string()),
        },
    };
    LicenseChoice { license }
}

/// A base model; one named by a Hub id (`org/name`) gets its purl and a link
/// to its page.
fn base_model(name: &str, model_ref: &str) -> Component {
    let mut c = Component::new(ComponentType::MachineLearningModel, name);
    c.bom_ref = Some(format!("{model_ref}#base:{name}"));
    if is_hub_id(name) {
        c.purl = Some(format!("pkg:huggingface/{name}"));
        c.external_references = vec![ExternalReference {
            kind: "website",
            url: format!("{HUB_URL}/{name}"),
            comment: None,
        }];
    }
    c
}

/// A model on the Hugging Face Hub, as given by `--hf-id` and `--revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hub {
    /// `org/name`.
    id: String,
    /// The revision, lowercased when it is a commit id (as the purl type asks).
    revision: Option<String>,
}

const HUB_URL: &str = "https://huggingface.co";

impl Hub {
    /// Checks the id and revision. Errors when the id is not `org/name` or the
    /// revision has characters a purl version or a URL path would need
    /// escaped; a revision without an id is an error too.
    fn new(hf_id: Option<&str>, revision: Option<&str>) -> Result<Option<Hub>, BomError> {
        let id = match (hf_id, revision) {
            (None, None) => return Ok(None),
            (None, Some(_)) => {
                return Err(BomError::Usage("--revision needs --hf-id ORG/NAME".into()))
            }
            (Some(id), _) => id,
        };
        if !is_hub_id(id) {
            return Err(BomError::Usage(format!(
                "--hf-id {id:?}: expected a Hugging Face Hub id ORG/NAME (letters, digits, '-', '_', '.')"
            )));
        }
        let revision = match revision {
            None => None,
            Some(rev)
                if rev.is_empty()
                    || !rev
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
            {
                return Err(BomError::Usage(format!(
                    "--revision {rev:?}: expected a commit id or a name of letters, digits, '-', '_', '.'"
                )));
            }
            Some(rev) if rev.chars().all(|c| c.is_ascii_hexdigit()) => {
                Some(rev.to_ascii_lowercase())
            }
            Some(rev) => Some(rev.to_string()),
        };
        Ok(Some(Hub {
            id: id.to_string(),
            revision,
        }))
    }

    /// `pkg:huggingface/org/name[@revision]`.
    fn purl(&self) -> String {
        match &self.revision {
            Some(rev) => format!("pkg:huggingface/{}@{rev}", self.id),
            None => format!("pkg:huggingface/{}", self.id),
        }
    }

    /// The organisation that publishes the model on the Hub.
    fn supplier(&self) -> OrganizationalEntity {
        let org = self.id.split('/').next().unwrap_or(&self.id);
        OrganizationalEntity {
            name: org.to_string(),
            url: vec![format!("{HUB_URL}/{org}")],
        }
    }

    /// The model's page (`website`), its git repository (`vcs`) and the files
    /// of the revision (`distribution`).
    fn references(&self) -> Vec<ExternalReference> {
        let page = format!("{HUB_URL}/{}", self.id);
        let files = match &self.revision {
            Some(rev) => format!("{page}/tree/{rev}"),
            None => page.clone(),
        };
        vec![
            ExternalReference {
                kind: "website",
                url: page.clone(),
                comment: None,
            },
            ExternalReference {
                kind: "vcs",
                url: page,
                comment: None,
            },
            ExternalReference {
                kind: "distribution",
                url: files,
                comment: None,
            },
        ]
    }
}

/// `org/name` with characters the Hub allows, so it can go into a purl as is.
fn is_hub_id(name: &str) -> bool {
    let mut parts = name.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            p.starts_with(|c: char| c.is_ascii_alphanumeric())
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

fn dataset(name: &str) -> Component {
    let mut c = Component::new(ComponentType::Data, name);
    c.bom_ref = Some(format!("dataset:{name}"));
    c.data = vec![ComponentData {
        kind: "dataset",
        name: name.to_string(),
    }];
    c
}

/// A dataset given on the command line: a file with its hash, or a folder
/// holding its files with theirs.
fn local_dataset(
    path: &Path,
    opts_output: Option<&Path>,
    limits: &mlsec_core::Limits,
) -> Result<Component, BomError> {
    let meta = std::fs::metadata(path).map_err(|e| BomError::io(path, &e))?;
    let name = folder_name(path);
    let bom_ref = format!("data:{}", path.display());
    let mut c = dataset(&name);
    if meta.is_dir() {
        let prefix = format!("{bom_ref}/");
        c.components = files::walk(path, opts_output, limits)?
            .iter()
            .map(|f| file_component(f, &prefix))
            .collect();
    } else {
        let parent = path.parent().unwrap_or(Path::new(""));
        let f = files::describe(parent, path, limits)?;
        c.hashes = vec![Hash::sha256(f.sha256)];
        c.properties = vec![
            Property::new("mlsec:format", f.format),
            Property::new("mlsec:size", f.size.to_string()),
        ];
    }
    c.bom_ref = Some(bom_ref);
    c.properties
        .push(Property::new("mlsec:path", path.display().to_string()));
    let manifest = if meta.is_dir() {
        Some(path.join(DATA_MANIFEST_NAME))
    } else {
        data_manifest(path)?.is_some().then(|| path.to_path_buf())
    };
    if let Some(m) = manifest {
        if let Some((digest, doc)) = data_manifest(&m)? {
            c.properties.extend([
                Property::new("mlsec:data-manifest", m.display().to_string()),
                Property::new("mlsec:data-manifest:sha256", digest),
            ]);
            if let Some(source) = doc.get("source").and_then(serde_json::Value::as_str) {
                c.properties
                    .push(Property::new("mlsec:data-manifest:source", source));
            }
        }
    }
    Ok(c)
}

/// The file name `mlsec bom` looks for in a dataset folder.
const DATA_MANIFEST_NAME: &str = "manifest.json";

/// The SHA-256 and content of `path` when it is an mlsec data manifest
/// (`mlsec data manifest`), `None` when it is not one or does not exist.
fn data_manifest(path: &Path) -> Result<Option<(String, serde_json::Value)>, BomError> {
    use sha2::Digest;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    // Manifests of huge tables can be large, but not larger than this.
    if !meta.is_file() || meta.len() > 4 << 30 {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| BomError::io(path, &e))?;
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Ok(None);
    };
    if doc.get("schema").and_then(serde_json::Value::as_str) != Some("mlsec.data-manifest/v1") {
        return Ok(None);
    }
    let digest = sha2::Sha256::digest(&bytes);
    Ok(Some((mlsec_sign::hash::hex(&digest), doc)))
}

/// A file component; `ref_prefix` keeps the refs of a model's files and a
/// dataset's files apart.
fn file_component(f: &FileEntry, ref_prefix: &str) -> Component {
    let mut c = Component::new(ComponentType::File, f.path.clone());
    c.bom_ref = Some(format!("{ref_prefix}{}", f.path));
    c.hashes = vec![Hash::sha256(f.sha256.clone())];
    c.properties = vec![
        Property::new("mlsec:format", f.format),
        Property::new("mlsec:size", f.size.to_string()),
    ];
    if let Some(t) = f.tensors {
        c.properties.extend([
            Property::new("mlsec:tensor-count", t.tensors.to_string()),
            Property::new("mlsec:parameter-count", t.parameters.to_string()),
        ]);
    }
    c
}

fn library(p: &deps::Package) -> Component {
    let mut c = Component::new(ComponentType::Library, deps::normalise(&p.name));
    c.version = p.version.clone();
    c.purl = Some(p.purl());
    c.bom_ref = Some(p.purl());
    if let Some(constraint) = &p.constraint {
        if p.version.is_none() {
            c.properties
                .push(Property::new("mlsec:version-constraint", constraint));
        }
    }
    c.properties
        .push(Property::new("mlsec:declared-in", &p.source));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onnx_signature_goes_into_the_model_card_and_the_bom_validates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.onnx"), onnx::tests::model_bytes()).unwrap();
        let bom = build(&BomOptions {
            model: dir.path().to_path_buf(),
            ..BomOptions::default()
        })
        .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
        assert_eq!(validate::validate(&doc).unwrap(), [], "{doc:#}");
        let model = &doc["metadata"]["component"];
        let props = model["modelCard"]["properties"].as_array().unwrap();
        let value = |name: &str| {
            props
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["value"].clone())
        };
        assert_eq!(
            value("mlsec:onnx:input"),
            Some("input_ids: int64[batch, 128]".into())
        );
        assert_eq!(value("mlsec:onnx:opset"), Some("ai.onnx 17".into()));
        let file = &model["components"][0];
        assert_eq!(file["name"], "model.onnx");
        let verdict = file["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == evidence::VERDICT_PROPERTY)
            .unwrap();
        assert_eq!(verdict["value"], "clean", "{file:#}");
    }

    #[test]
    fn run_returns_the_bom_in_an_evidence_envelope() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.onnx"), onnx::tests::model_bytes()).unwrap();
        std::fs::write(dir.path().join("config.json"), "{not json").unwrap();
        let evidence = run(&BomOptions {
            model: dir.path().to_path_buf(),
            ..BomOptions::default()
        })
        .unwrap();
        assert_eq!(evidence.kind, "bom");
        assert!(evidence.findings.is_empty());
        let doc = &evidence.details["cyclonedx"];
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(validate::validate(doc).unwrap(), [], "{doc:#}");
        // The files are the subjects, with the digests the BOM lists.
        let names: Vec<&str> = evidence.subjects.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["config.json", "model.onnx"]);
        let onnx_sha = mlsec_core::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(
            onnx::tests::model_bytes(),
        ));
        assert_eq!(evidence.subjects[1].digest["sha256"], onnx_sha);
        // The malformed config.json is a warning, not an error.
        let warnings = evidence.details["warnings"].as_array().unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.as_str().unwrap().contains("config.json")),
            "{warnings:?}"
        );
    }

    #[test]
    fn hub_ids_are_org_slash_name() {
        assert!(is_hub_id("nreimers/MiniLM-L6-H384-uncased"));
        assert!(!is_hub_id("bert-base-uncased"));
        assert!(!is_hub_id("./out"));
        assert!(!is_hub_id("/home/me/model"));
        assert!(!is_hub_id("a/b/c"));
        assert!(!is_hub_id("org/na me"));
    }

    fn hub_purl(id: Option<&str>, rev: Option<&str>) -> Result<Option<String>, String> {
        Hub::new(id, rev)
            .map(|h| h.map(|h| h.purl()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn hub_purls_carry_the_revision_lowercased_when_it_is_a_commit() {
        assert_eq!(hub_purl(None, None), Ok(None));
        assert_eq!(
            hub_purl(Some("google/gemma-2b"), None),
            Ok(Some("pkg:huggingface/google/gemma-2b".into()))
        );
        assert_eq!(
            hub_purl(Some("google/gemma-2b"), Some("ABC123def")),
            Ok(Some("pkg:huggingface/google/gemma-2b@abc123def".into()))
        );
        assert_eq!(
            hub_purl(Some("google/gemma-2b"), Some("v1.0")),
            Ok(Some("pkg:huggingface/google/gemma-2b@v1.0".into()))
        );
        assert!(hub_purl(Some("gemma-2b"), None)
            .unwrap_err()
            .contains("ORG/NAME"));
        assert!(hub_purl(Some("a/b"), Some("x/y")).is_err());
        assert!(hub_purl(Some("a/b"), Some("")).is_err());
        assert!(hub_purl(None, Some("main"))
            .unwrap_err()
            .contains("--hf-id"));
    }

    #[test]
    fn hub_supplier_and_references_point_at_the_org_and_the_revision() {
        let hub = Hub::new(Some("acme/tiny-bert"), Some("0123ABC"))
            .unwrap()
            .unwrap();
        assert_eq!(
            hub.supplier(),
            OrganizationalEntity {
                name: "acme".into(),
                url: vec!["https://huggingface.co/acme".into()]
            }
        );
        let refs: Vec<(&str, String)> = hub
            .references()
            .into_iter()
            .map(|r| (r.kind, r.url))
            .collect();
        assert_eq!(
            refs,
            [
                ("website", "https://huggingface.co/acme/tiny-bert".into()),
                ("vcs", "https://huggingface.co/acme/tiny-bert".into()),
                (
                    "distribution",
                    "https://huggingface.co/acme/tiny-bert/tree/0123abc".into()
                )
            ]
        );
        let without = Hub::new(Some("acme/tiny-bert"), None).unwrap().unwrap();
        assert_eq!(
            without.references()[2].url,
            "https://huggingface.co/acme/tiny-bert"
        );
    }
}
