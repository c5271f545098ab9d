//! `pipeline.yaml`: the description of an ML system, its components and the
//! flows between them. Parsing is strict (unknown fields, kinds and values
//! are errors) and bounded (size, counts, lengths), and every error names
//! the file, line and column where it can.

use crate::ThreatError;
use serde::{Deserialize, Deserializer, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

/// The largest `pipeline.yaml` read (1 MiB).
pub const MAX_BYTES: u64 = 1024 * 1024;
/// The most components and flows one file may describe.
pub const MAX_COMPONENTS: usize = 1_000;
pub const MAX_FLOWS: usize = 5_000;
/// The most `[` and `{` characters a file may hold. The YAML reader takes
/// time in the square of how deeply flow collections (`[...]`, `{...}`)
/// nest (40,000 levels: seconds), and a count of their openers bounds the
/// depth without reading YAML: 16,384 levels at worst take a fraction of a
/// second, and a pipeline at the component and flow caps written one
/// `{...}` per line holds 6,000.
pub const MAX_FLOW_OPENERS: usize = 16_384;
/// The longest component id, and the most paths one component may name.
pub const MAX_ID_CHARS: usize = 64;
pub const MAX_PATHS: usize = 100;
/// The longest `system`, `description` and path strings.
pub const MAX_TEXT_CHARS: usize = 4_096;

/// A parsed `pipeline.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// The system's name, e.g. `churn-service`.
    #[serde(deserialize_with = "text")]
    pub system: String,
    #[serde(
        default,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    pub components: Vec<Component>,
    #[serde(default)]
    pub flows: Vec<Flow>,
}

/// One part of the system.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Component {
    /// Unique; letters, digits, `.`, `_` and `-`, at most 64 characters.
    #[serde(deserialize_with = "component_id")]
    pub id: String,
    pub kind: Kind,
    /// Default: `external` for a `model-source`, `internal` for every other kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
    /// `serving` and `llm-app` only. Default: `internal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
    /// `serving` only: what the served model does. Default: `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<ModelType>,
    #[serde(
        default,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// What in the project this component is (model folders, datasets),
    /// relative to the file's folder. Recorded, not read.
    #[serde(
        default,
        deserialize_with = "paths",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<String>,
}

/// Data moving from one component to another.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    #[serde(deserialize_with = "flow_from")]
    pub from: String,
    #[serde(deserialize_with = "flow_to")]
    pub to: String,
    pub data: Data,
}

macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names! {
    /// What a component is.
    Kind {
        /// Where data comes from: a database, an export, a public dataset.
        DataSource = "data-source",
        /// Where pre-trained models come from: a model hub, a vendor.
        ModelSource = "model-source",
        /// People or tools that label data.
        Labelling = "labelling",
        FeatureStore = "feature-store",
        /// Training or fine-tuning.
        Training = "training",
        Evaluation = "evaluation",
        /// Where trained models are kept until they are served.
        Registry = "registry",
        /// A model behind an inference API.
        Serving = "serving",
        /// An application built on a large language model (a chat assistant, an agent).
        LlmApp = "llm-app",
        /// The documents (and their embeddings) an LLM app retrieves from.
        RagStore = "rag-store",
        /// A tool an LLM app or agent can call.
        AgentTool = "agent-tool",
        /// Whoever uses the outputs: people, other services.
        Consumer = "consumer",
        Monitoring = "monitoring",
    }
}

names! {
    /// Which side of the trust boundary a component is on.
    Trust {
        /// Run or controlled by the system's owner.
        Internal = "internal",
        /// Anyone else: the internet, third parties, users.
        External = "external",
    }
}

names! {
    /// Who can reach a served model.
    Exposure {
        Internal = "internal",
        /// Callers outside the trust boundary can send it requests.
        Public = "public",
    }
}

names! {
    /// What a served model does.
    ModelType {
        Classifier = "classifier",
        Regressor = "regressor",
        /// A large language model.
        Llm = "llm",
        Embedding = "embedding",
        /// Images, audio or other generated content.
        Generative = "generative",
        Other = "other",
    }
}

names! {
    /// What a flow carries.
    Data {
        TrainingData = "training-data",
        EvaluationData = "evaluation-data",
        Labels = "labels",
        Features = "features",
        /// Model files (weights, configs): downloads, registry pushes and pulls.
        Model = "model",
        /// Documents for retrieval (RAG) or for an LLM to read.
        Documents = "documents",
        Embeddings = "embeddings",
        /// Inference requests: inputs, prompts.
        Requests = "requests",
        /// Inference responses: predictions, scores, completions.
        Responses = "responses",
        ToolCalls = "tool-calls",
        /// Ratings, corrections or outcomes fed back towards training.
        Feedback = "feedback",
        Logs = "logs",
    }
}

impl Component {
    /// The trust this component has: as written, or its kind's default.
    pub fn trust(&self) -> Trust {
        self.trust.unwrap_or(match self.kind {
            Kind::ModelSource => Trust::External,
            _ => Trust::Internal,
        })
    }

    /// Whether this component runs a large language model.
    pub fn is_llm(&self) -> bool {
        self.kind == Kind::LlmApp
            || (self.kind == Kind::Serving && self.model_type == Some(ModelType::Llm))
    }
}

impl Pipeline {
    /// Reads and checks `path` (at most [`MAX_BYTES`]).
    pub fn load(path: &Path) -> Result<Pipeline, ThreatError> {
        Pipeline::parse(&read(path)?, &path.display().to_string())
    }

    /// Parses and checks `text`; `origin` names it in errors (a file name).
    pub fn parse(text: &str, origin: &str) -> Result<Pipeline, ThreatError> {
        if text.len() as u64 > MAX_BYTES {
            return Err(ThreatError::Invalid(format!(
                "{origin}: larger than {MAX_BYTES} bytes; describe the system in fewer words"
            )));
        }
        if let Some((offset, _)) = text
            .char_indices()
            .filter(|(_, c)| matches!(c, '[' | '{'))
            .nth(MAX_FLOW_OPENERS)
        {
            let (line, column) = line_column_of(text, offset);
            return Err(ThreatError::Invalid(format!(
                "{origin}:{line}:{column}: more than {MAX_FLOW_OPENERS} `[` and `{{` characters; \
                 write lists and mappings in block style (one item a line)"
            )));
        }
        let pipeline = parse_with(text, origin, Check::default())?;
        match pipeline.problem() {
            None => Ok(pipeline),
            // Parse again, failing at the component or flow at fault, so that
            // the YAML reader says where it is.
            Some(problem) => Err(match parse_with(text, origin, problem.check()) {
                Err(located) => located,
                Ok(_) => ThreatError::Invalid(format!("{origin}: {}", problem.message)),
            }),
        }
    }

    /// The first thing wrong with a pipeline that parsed: a flow naming an
    /// unknown component or itself, settings its component's kind does not
    /// take, no components at all.
    fn problem(&self) -> Option<Problem> {
        if self.components.is_empty() {
            return Some(Problem {
                at: At::Nowhere,
                message: "no components: describe at least one".into(),
            });
        }
        for (i, c) in self.components.iter().enumerate() {
            let at = At::Component(i);
            if c.exposure.is_some() && !matches!(c.kind, Kind::Serving | Kind::LlmApp) {
                return Some(Problem {
                    at,
                    message: format!(
                        "component `{}`: `exposure` applies to serving and llm-app components, not {}",
                        c.id, c.kind
                    ),
                });
            }
            if c.model_type.is_some() && c.kind != Kind::Serving {
                return Some(Problem {
                    at,
                    message: format!(
                        "component `{}`: `model-type` applies to serving components, not {} (an llm-app is an LLM already)",
                        c.id, c.kind
                    ),
                });
            }
        }
        let ids: BTreeSet<&str> = self.components.iter().map(|c| c.id.as_str()).collect();
        let known = || {
            let mut list: Vec<&str> = ids.iter().copied().take(20).collect();
            if ids.len() > 20 {
                list.push("...");
            }
            list.join(", ")
        };
        for (i, f) in self.flows.iter().enumerate() {
            if !ids.contains(f.from.as_str()) {
                return Some(Problem {
                    at: At::FlowFrom(i),
                    message: format!("no component `{}` (there are: {})", f.from, known()),
                });
            }
            if !ids.contains(f.to.as_str()) {
                return Some(Problem {
                    at: At::FlowTo(i),
                    message: format!("no component `{}` (there are: {})", f.to, known()),
                });
            }
            if f.from == f.to {
                return Some(Problem {
                    at: At::FlowTo(i),
                    message: format!("a flow from `{}` to itself", f.from),
                });
            }
        }
        None
    }

    pub fn component(&self, id: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }
}

/// The text of the pipeline file at `path`: at most [`MAX_BYTES`], UTF-8.
pub(crate) fn read(path: &Path) -> Result<String, ThreatError> {
    use std::io::Read;
    let name = path.display().to_string();
    let io = |e: std::io::Error| ThreatError::io(path, &e);
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(ThreatError::Invalid(format!(
            "{name}: larger than {MAX_BYTES} bytes; describe the system in fewer words"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes());
        let (line, column) = line_column_of(&text, valid);
        ThreatError::Invalid(format!("{name}:{line}:{column}: not UTF-8"))
    })
}

/// Something wrong found after parsing, and where to point.
struct Problem {
    at: At,
    message: String,
}

#[derive(Clone, Copy)]
enum At {
    Nowhere,
    Component(usize),
    FlowFrom(usize),
    FlowTo(usize),
}

impl Problem {
    fn check(&self) -> Check {
        Check {
            fail: Some((self.at, self.message.clone())),
            ..Check::default()
        }
    }
}

/// What the field readers check while one parse runs. The YAML reader gives
/// an error raised by a field's reader that field's line and column, which
/// it gives no other way; so checks that need a place run there.
#[derive(Default)]
struct Check {
    /// Component ids seen so far (duplicates are errors).
    seen: BTreeSet<String>,
    /// Components, `from` and `to` fields read so far.
    components: usize,
    froms: usize,
    tos: usize,
    /// Fail at this component or flow with this message (the second parse).
    fail: Option<(At, String)>,
}

thread_local! {
    static CHECK: RefCell<Option<Check>> = const { RefCell::new(None) };
}

fn parse_with(text: &str, origin: &str, check: Check) -> Result<Pipeline, ThreatError> {
    /// Clears the check when the parse ends, however it ends.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CHECK.with(|c| c.borrow_mut().take());
        }
    }
    CHECK.with(|c| *c.borrow_mut() = Some(check));
    let _reset = Reset;
    serde_yaml_ng::from_str::<Pipeline>(text).map_err(|e| located(&e, origin))
}

/// `origin:line:column: message` from a YAML error.
fn located(e: &serde_yaml_ng::Error, origin: &str) -> ThreatError {
    let text = e.to_string();
    match e.location() {
        Some(at) => {
            // The reader appends " at line L column C"; the place goes first instead.
            let message = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(m, _)| m);
            ThreatError::Invalid(format!("{origin}:{}:{}: {message}", at.line(), at.column()))
        }
        None => ThreatError::Invalid(format!("{origin}: {text}")),
    }
}

/// Runs `f` on the current parse's check; outside a parse there is none.
fn with_check<T>(f: impl FnOnce(&mut Check) -> T) -> Option<T> {
    CHECK.with(|c| c.borrow_mut().as_mut().map(f))
}

/// Reads a string and checks it with `check`. The check runs inside the
/// reader's own string call, which is how the reader gives its error the
/// string's line and column (an error made after reading gets the line of
/// the enclosing mapping).
fn checked<'de, D, F>(d: D, expecting: &'static str, check: F) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(String) -> Result<String, String>,
{
    struct Checked<F>(F, &'static str);
    impl<'de, F: FnOnce(String) -> Result<String, String>> serde::de::Visitor<'de> for Checked<F> {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.1)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            (self.0)(v.to_string()).map_err(E::custom)
        }
    }
    d.deserialize_str(Checked(check, expecting))
}

fn bounded(s: String, what: &str) -> Result<String, String> {
    let n = s.chars().count();
    if n > MAX_TEXT_CHARS {
        return Err(format!(
            "{what} of {n} characters; at most {MAX_TEXT_CHARS}"
        ));
    }
    Ok(s)
}

/// A string of at most [`MAX_TEXT_CHARS`] characters.
struct Bounded(String);

impl<'de> Deserialize<'de> for Bounded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bounded, D::Error> {
        checked(d, "a string", |s| bounded(s, "a string")).map(Bounded)
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, "the system's name", |s| {
        let s = bounded(s, "a name")?;
        if s.trim().is_empty() {
            return Err("empty; name the system".into());
        }
        Ok(s)
    })
}

fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Bounded>::deserialize(d)?.map(|b| b.0))
}

fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<Bounded>::deserialize(d)?;
    if list.len() > MAX_PATHS {
        return Err(serde::de::Error::custom(format!(
            "{} paths; at most {MAX_PATHS}",
            list.len()
        )));
    }
    Ok(list.into_iter().map(|b| b.0).collect())
}

/// Whether `id` is a component id: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most
/// [`MAX_ID_CHARS`] long (ids are printed in tables and SARIF, so no
/// spaces or control characters).
pub fn valid_id(id: &str) -> bool {
    id.len() <= MAX_ID_CHARS
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn component_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, "a component id", |id| {
        if !valid_id(&id) {
            return Err(format!(
                "`{}` is not a component id: letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most {MAX_ID_CHARS} characters",
                id.escape_debug()
            ));
        }
        let outcome = with_check(|check| {
            let index = check.components;
            check.components += 1;
            if index >= MAX_COMPONENTS {
                return Err(format!("more than {MAX_COMPONENTS} components"));
            }
            if !check.seen.insert(id.clone()) {
                return Err(format!("a second component with the id `{id}`"));
            }
            match &check.fail {
                Some((At::Component(i), message)) if *i == index => Err(message.clone()),
                _ => Ok(()),
            }
        });
        match outcome {
            Some(Err(message)) => Err(message),
            _ => Ok(id),
        }
    })
}

fn flow_end<'de, D: Deserializer<'de>>(d: D, to: bool) -> Result<String, D::Error> {
    checked(d, "a component id", |id| {
        let outcome = with_check(|check| {
            let counter = if to { &mut check.tos } else { &mut check.froms };
            let index = *counter;
            *counter += 1;
            if index >= MAX_FLOWS {
                return Err(format!("more than {MAX_FLOWS} flows"));
            }
            match &check.fail {
                Some((At::FlowFrom(i), message)) if !to && *i == index => Err(message.clone()),
                Some((At::FlowTo(i), message)) if to && *i == index => Err(message.clone()),
                _ => Ok(()),
            }
        });
        match outcome {
            Some(Err(message)) => Err(message),
            _ => Ok(id),
        }
    })
}

fn flow_from<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    flow_end(d, false)
}

fn flow_to<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    flow_end(d, true)
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_column_of(text: &str, offset: usize) -> (usize, usize) {
    let mut cut = offset.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = text.get(..cut).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where components and flows are written in a pipeline's text, found in
/// one pass: the YAML reader gives places only with errors. A component is
/// at its `id:` value, a flow at its `from:` value when `to:` follows on the
/// same line or one of the next four. Only places written once are given.
pub(crate) struct Locator<'a> {
    ids: HashMap<&'a str, Vec<(usize, usize)>>,
    flows: HashMap<(&'a str, &'a str), Vec<(usize, usize)>>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(text: &'a str) -> Locator<'a> {
        let lines: Vec<&str> = text.lines().collect();
        let mut ids: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
        let mut flows: HashMap<(&str, &str), Vec<(usize, usize)>> = HashMap::new();
        for (n, line) in lines.iter().enumerate() {
            for (column, value) in key_values(line, "id") {
                ids.entry(value).or_default().push((n + 1, column));
            }
            for (column, from) in key_values(line, "from") {
                let mut tos: Vec<&str> = lines
                    .iter()
                    .skip(n)
                    .take(5)
                    .flat_map(|l| key_values(l, "to"))
                    .map(|(_, to)| to)
                    .collect();
                tos.sort_unstable();
                tos.dedup();
                for to in tos {
                    flows.entry((from, to)).or_default().push((n + 1, column));
                }
            }
        }
        Locator { ids, flows }
    }

    /// (line, column) of component `id`'s `id:` value.
    pub(crate) fn component(&self, id: &str) -> Option<(usize, usize)> {
        match self.ids.get(id)?.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// (line, column) of the flow's `from:` value.
    pub(crate) fn flow(&self, from: &str, to: &str) -> Option<(usize, usize)> {
        match self.flows.get(&(from, to))?.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// The plain or quoted scalar values of `key:` on one line (block or flow
/// style), with the 1-based column where each value starts.
fn key_values<'a>(line: &'a str, key: &str) -> Vec<(usize, &'a str)> {
    let mut out = Vec::new();
    let pattern = format!("{key}:");
    let mut from = 0;
    while let Some(found) = line.get(from..).and_then(|rest| rest.find(&pattern)) {
        let start = from + found;
        from = start + pattern.len();
        // A key starts a line (after indentation and `- `) or follows `{` or `,`.
        let before = line.get(..start).unwrap_or("").trim_end();
        let keyed = before.is_empty()
            || before.ends_with('{')
            || before.ends_with(',')
            || before.ends_with('-');
        if !keyed {
            continue;
        }
        let rest = line.get(from..).unwrap_or("");
        let value = rest.trim_start();
        let offset = from + (rest.len() - value.len());
        let (value, offset) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = value.get(1..).unwrap_or("");
                match inner.find(q) {
                    Some(end) => (inner.get(..end).unwrap_or(""), offset + 1),
                    None => continue,
                }
            }
            _ => {
                let end = value.find([',', '}', ' ', '#']).unwrap_or(value.len());
                (value.get(..end).unwrap_or(""), offset)
            }
        };
        let column = line.get(..offset).map_or(0, |l| l.chars().count()) + 1;
        out.push((column, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pipeline, String> {
        Pipeline::parse(text, "p.yaml").map_err(|e| e.to_string())
    }

    const SMALL: &str = "\
system: s
components:
  - id: a
    kind: data-source
  - {id: b, kind: training}
flows:
  - {from: a, to: b, data: training-data}
";

    #[test]
    fn a_small_pipeline_parses_with_defaults() {
        let p = parse(SMALL).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(p.components[0].trust(), Trust::Internal);
        assert_eq!(p.flows[0].data, Data::TrainingData);
        let hub = parse("system: s\ncomponents: [{id: hub, kind: model-source}]\n").unwrap();
        assert_eq!(hub.components[0].trust(), Trust::External);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let bad_kind = SMALL.replace("kind: training", "kind: trainer");
        let e = parse(&bad_kind).unwrap_err();
        assert!(e.starts_with("p.yaml:5:"), "{e}");
        assert!(e.contains("unknown variant `trainer`"), "{e}");

        let unknown_field = SMALL.replace("kind: data-source", "kind: data-source\n    owner: x");
        let e = parse(&unknown_field).unwrap_err();
        assert!(e.starts_with("p.yaml:5:5: "), "{e}");
        assert!(e.contains("unknown field `owner`"), "{e}");

        let unknown_end = SMALL.replace("to: b,", "to: c,");
        let e = parse(&unknown_end).unwrap_err();
        assert_eq!(
            e,
            "p.yaml:7:19: flows[0].to: no component `c` (there are: a, b)"
        );

        let twice = SMALL.replace("id: b", "id: a");
        let e = parse(&twice).unwrap_err();
        assert!(e.starts_with("p.yaml:5:"), "{e}");
        assert!(e.contains("a second component with the id `a`"), "{e}");

        let exposure = SMALL.replace(
            "kind: data-source",
            "kind: data-source\n    exposure: public",
        );
        let e = parse(&exposure).unwrap_err();
        assert!(e.starts_with("p.yaml:3:9: "), "{e}");
        assert!(e.contains("`exposure` applies to serving"), "{e}");

        let e = parse("system: s\ncomponents: [\n").unwrap_err();
        assert!(e.starts_with("p.yaml:3:"), "{e}");
        let e = parse("system: s\ncomponents: []\n").unwrap_err();
        assert_eq!(e, "p.yaml: no components: describe at least one");
        let e = parse("components: []\n").unwrap_err();
        assert!(e.contains("missing field `system`"), "{e}");
        let e = parse("system: s\ncomponents: [{id: 'a b', kind: training}]\n").unwrap_err();
        assert!(
            e.starts_with("p.yaml:2:19: components[0].id: `a b` is not"),
            "{e}"
        );
    }

    #[test]
    fn places_are_found_when_unambiguous() {
        let at = Locator::new(SMALL);
        assert_eq!(at.component("a"), Some((3, 9)));
        assert_eq!(at.component("b"), Some((5, 10)));
        assert_eq!(at.component("c"), None);
        assert_eq!(at.flow("a", "b"), Some((7, 12)));
        let block = "flows:\n  - from: \"a\"\n    to: b\n    data: model\n";
        assert_eq!(Locator::new(block).flow("a", "b"), Some((2, 12)));
        let twice = format!("{SMALL}  - {{from: a, to: b, data: labels}}\n");
        assert_eq!(Locator::new(&twice).flow("a", "b"), None);
        // A key inside a value is not a key.
        let quoted = "components:\n  - {id: x, description: \"uid: x\", kind: training}\n";
        assert_eq!(Locator::new(quoted).component("x"), Some((2, 10)));
    }

    #[test]
    fn sizes_and_depth_are_bounded() {
        let huge = format!(
            "system: s\ndescription: \"{}\"\n",
            "x".repeat(MAX_BYTES as usize)
        );
        assert!(parse(&huge)
            .unwrap_err()
            .contains("larger than 1048576 bytes"));

        let mut many = String::from("system: s\ncomponents:\n");
        for i in 0..=MAX_COMPONENTS {
            many.push_str(&format!("  - {{id: c{i}, kind: training}}\n"));
        }
        let e = parse(&many).unwrap_err();
        assert!(e.starts_with("p.yaml:1003:"), "{e}");
        assert!(e.contains("more than 1000 components"), "{e}");

        // Deep flow nesting costs the YAML reader time in its square: the
        // openers are counted first.
        let deep = format!(
            "system: s\ncomponents: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = parse(&deep).unwrap_err();
        assert!(
            e.starts_with("p.yaml:2:16397: more than 16384 `[` and `{` characters"),
            "{e}"
        );
        let t = std::time::Instant::now();
        let deepest = format!("system: s\ncomponents: {}\n", "[".repeat(MAX_FLOW_OPENERS));
        let e = parse(&deepest).unwrap_err();
        assert!(e.contains("invalid type: sequence"), "{e}");
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
        // Block nesting costs nothing like it; the reader's own depth limit holds.
        let dashes = format!(
            "system: s\ncomponents:\n  - {{id: a, kind: training, paths: {}x}}\n",
            "- ".repeat(50_000)
        );
        assert!(parse(&dashes).is_err());

        let long = format!(
            "system: {}\ncomponents: [{{id: a, kind: training}}]\n",
            "y".repeat(5000)
        );
        assert!(parse(&long).unwrap_err().contains("at most 4096"));

        // Aliases are read again each time: the flow cap holds for them too.
        let aliases = format!(
            "system: s\ncomponents: [{{id: a, kind: training}}, {{id: b, kind: registry}}]\nflows: [&x {{from: a, to: b, data: model}}{}]\n",
            ", *x".repeat(MAX_FLOWS)
        );
        let e = parse(&aliases).unwrap_err();
        assert!(e.contains("flows[5000].from: more than 5000 flows"), "{e}");
    }
}
