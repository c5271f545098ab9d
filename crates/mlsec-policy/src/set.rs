//! Loading policies (bundled packs and the user's files) and evaluating them
//! over one input document.

use crate::error::one_line;
use crate::PolicyError;
use mlsec_core::Fault;
use regorus::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which policies to load.
#[derive(Debug, Clone, Default)]
pub struct PolicyOptions {
    /// Bundled packs by name (`baseline`, `strict`).
    pub packs: Vec<String>,
    /// The user's policies: `.rego` files, and `.json` files of data under
    /// `data`; folders are searched for both.
    pub paths: Vec<PathBuf>,
    /// Rule ids (`metadata.id`) not to apply.
    pub skip: Vec<String>,
    /// Load the tests too (`*_test.rego`, and the bundled packs' tests).
    pub tests: bool,
    /// The most time one evaluation may take; default 10 s.
    pub time_limit: Option<std::time::Duration>,
}

/// What a package says about itself in `metadata`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleMeta {
    /// A stable id, e.g. `MLP001`.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// Evidence kinds the rule reads; without any of them it does not apply.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Framework id to the controls the rule serves, e.g. `{"owasp-ml": ["ML06"]}`.
    #[serde(default)]
    pub controls: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Deny,
    Warn,
}

/// One result of a `deny`, `violation` or `warn` rule.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    pub level: Level,
    /// The package, without the `data.` prefix.
    pub package: String,
    /// The package's `metadata.id`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub msg: String,
    /// The rest of an object result (conftest allows any fields beside `msg`).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

/// What became of one package.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleOutcome {
    pub package: String,
    /// Where it came from: a file, or `baseline:mlp001.rego`.
    pub origin: String,
    pub metadata: RuleMeta,
    /// `denied`, `warned`, `passed`, or `not_applicable` (none of the evidence
    /// it reads was there).
    pub status: String,
}

/// The outcome of evaluating every loaded policy over one input.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Decision {
    pub messages: Vec<Message>,
    pub rules: Vec<RuleOutcome>,
}

impl Decision {
    pub fn denied(&self) -> bool {
        self.messages.iter().any(|m| m.level == Level::Deny)
    }
}

/// One `test_` rule's result.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TestResult {
    pub package: String,
    pub name: String,
    pub origin: String,
    pub outcome: TestOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase", tag = "result", content = "error")]
pub enum TestOutcome {
    Pass,
    Fail,
    Error(String),
}

#[derive(Debug, Clone)]
struct Module {
    package: String,
    origin: String,
    test: bool,
    /// Names of the `test_` rules it defines.
    tests: Vec<String>,
    /// Defines `deny`, `violation` or `warn` (else it is a library of helpers).
    decides: bool,
}

/// Loaded policies, ready to evaluate.
#[derive(Clone)]
pub struct PolicySet {
    engine: Engine,
    modules: Vec<Module>,
    skip: BTreeSet<String>,
    /// Each rule package (by index into `modules`) with its metadata, read once at load.
    rules: Vec<(usize, RuleMeta)>,
}

impl PolicySet {
    pub fn load(options: &PolicyOptions) -> Result<PolicySet, PolicyError> {
        let mut engine = Engine::new();
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: options
                .time_limit
                .unwrap_or(std::time::Duration::from_secs(10)),
            // The clock is read every 1,000 interpreter steps: at every step
            // it took a quarter of the evaluation time (bench/check).
            check_interval: std::num::NonZeroU32::new(1000).unwrap_or(std::num::NonZeroU32::MIN),
        });
        let mut set = PolicySet {
            engine,
            modules: Vec::new(),
            skip: options.skip.iter().cloned().collect(),
            rules: Vec::new(),
        };
        // The user's first: a bundled rule whose package the user declares is
        // replaced, not merged.
        let mut files = Vec::new();
        for path in &options.paths {
            collect(path, &mut files)?;
        }
        for file in &files {
            let text = std::fs::read_to_string(file).map_err(|e| PolicyError::Io {
                path: file.clone(),
                reason: e.to_string(),
                fault: Fault::of_io(&e),
            })?;
            let origin = file.display().to_string();
            if file.extension().is_some_and(|e| e == "json") {
                let data = regorus::Value::from_json_str(&text).map_err(|e| {
                    PolicyError::Invalid(format!(
                        "{origin}: not JSON data: {}",
                        one_line(&e.to_string())
                    ))
                })?;
                set.engine.add_data(data).map_err(|e| {
                    PolicyError::Invalid(format!("{origin}: {}", one_line(&e.to_string())))
                })?;
                continue;
            }
            let test = is_test_file(file);
            if test && !options.tests {
                continue;
            }
            set.add(origin, text, test)?;
        }
        let user: BTreeSet<String> = set.modules.iter().map(|m| m.package.clone()).collect();
        for pack in crate::packs::resolve(&options.packs).map_err(PolicyError::Usage)? {
            for (file, text) in pack.files {
                let test = file.ends_with("_test.rego");
                if test && !options.tests {
                    continue;
                }
                if package_of(text).is_some_and(|p| user.contains(&p)) {
                    continue;
                }
                set.add(format!("{}:{file}", pack.name), text.to_string(), test)?;
            }
        }
        set.rules = set.find_rules()?;
        for id in &set.skip {
            if !set.rules.iter().any(|(_, m)| m.id == *id) {
                return Err(PolicyError::Usage(format!(
                    "skip: no loaded rule has the id `{id}`"
                )));
            }
        }
        Ok(set)
    }

    fn add(&mut self, origin: String, text: String, test: bool) -> Result<(), PolicyError> {
        let tests = test_names(&text);
        let decides = defines_decisions(&text);
        let package = self
            .engine
            .add_policy(origin.clone(), text)
            .map_err(|e| PolicyError::Invalid(one_line(&format!("{e:#}"))))?;
        let package = package
            .strip_prefix("data.")
            .unwrap_or(&package)
            .to_string();
        self.modules.push(Module {
            package,
            origin,
            test,
            tests,
            decides,
        });
        Ok(())
    }

    /// Every rule package (tests left out) with its metadata, in load order;
    /// a package split over several files is listed once. A package without
    /// `deny`, `violation`, `warn` or `metadata` is a library, not a rule.
    fn find_rules(&self) -> Result<Vec<(usize, RuleMeta)>, PolicyError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::new_object());
        for (i, m) in self.modules.iter().enumerate().filter(|(_, m)| !m.test) {
            if seen.contains(&m.package) {
                continue;
            }
            let meta = query(&mut engine, &format!("data.{}.metadata", m.package))?;
            if meta.is_none() && !m.decides {
                continue;
            }
            seen.insert(m.package.clone());
            let meta = match meta {
                Some(v) => serde_json::from_value(v)
                    .map_err(|e| PolicyError::Invalid(format!("{}: metadata: {e}", m.origin)))?,
                None => RuleMeta::default(),
            };
            out.push((i, meta));
        }
        Ok(out)
    }

    fn rules(&self) -> impl Iterator<Item = (&Module, &RuleMeta)> {
        self.rules
            .iter()
            .filter_map(|(i, meta)| Some((self.modules.get(*i)?, meta)))
    }

    /// Evaluates every rule package over `input`.
    pub fn evaluate(&self, input: &Value) -> Result<Decision, PolicyError> {
        let mut engine = self.engine.clone();
        // Straight from the JSON value: printing it and parsing the text
        // again took two thirds of the time budget at 10,000 findings.
        let input_value = <regorus::Value as serde::Deserialize>::deserialize(input)
            .map_err(|e| PolicyError::Runtime(format!("input: {e}")))?;
        engine.set_input(input_value);
        let kinds: BTreeSet<&str> = input["evidence"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| v.as_array().is_some_and(|a| !a.is_empty()))
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut decision = Decision::default();
        for (module, meta) in self.rules() {
            if !meta.id.is_empty() && self.skip.contains(&meta.id) {
                continue;
            }
            let rule = (!meta.id.is_empty()).then(|| meta.id.clone());
            let mut denied = false;
            let mut warned = false;
            for (name, level) in [
                ("deny", Level::Deny),
                ("violation", Level::Deny),
                ("warn", Level::Warn),
            ] {
                let path = format!("data.{}.{name}", module.package);
                let Some(results) = query(&mut engine, &path)? else {
                    continue;
                };
                let items: Vec<Value> = match results {
                    Value::Array(a) => a,
                    Value::Bool(false) | Value::Null => Vec::new(),
                    other => vec![other],
                };
                for item in items {
                    let (msg, details) = message(item, &path)?;
                    denied |= level == Level::Deny;
                    warned |= level == Level::Warn;
                    decision.messages.push(Message {
                        level,
                        package: module.package.clone(),
                        rule: rule.clone(),
                        msg,
                        details,
                    });
                }
            }
            let applies = meta.evidence.is_empty()
                || meta.evidence.iter().any(|k| kinds.contains(k.as_str()));
            let status = if denied {
                "denied"
            } else if warned {
                "warned"
            } else if applies {
                "passed"
            } else {
                "not_applicable"
            };
            decision.rules.push(RuleOutcome {
                package: module.package.clone(),
                origin: module.origin.clone(),
                metadata: meta.clone(),
                status: status.into(),
            });
        }
        // By id, so bundled and user rules read in one order; id-less
        // packages last, by package.
        decision.rules.sort_by(|a, b| {
            (a.metadata.id.is_empty(), &a.metadata.id, &a.package).cmp(&(
                b.metadata.id.is_empty(),
                &b.metadata.id,
                &b.package,
            ))
        });
        Ok(decision)
    }

    /// Runs every `test_` rule (`opa test`): true passes; false, undefined
    /// or an error fails.
    pub fn test(&self) -> Vec<TestResult> {
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::new_object());
        let mut out = Vec::new();
        for m in &self.modules {
            for name in &m.tests {
                let path = format!("data.{}.{name}", m.package);
                let outcome = match query(&mut engine, &path) {
                    Ok(Some(Value::Bool(true))) => TestOutcome::Pass,
                    Ok(_) => TestOutcome::Fail,
                    Err(e) => TestOutcome::Error(e.to_string()),
                };
                out.push(TestResult {
                    package: m.package.clone(),
                    name: name.clone(),
                    origin: m.origin.clone(),
                    outcome,
                });
            }
        }
        out
    }

    /// The rules loaded, with their metadata.
    pub fn rule_list(&self) -> Result<Vec<RuleMeta>, PolicyError> {
        Ok(self
            .rules()
            .map(|(_, meta)| meta)
            .filter(|m| !m.id.is_empty() && !self.skip.contains(&m.id))
            .cloned()
            .collect())
    }
}

/// The value of `path`, `None` when undefined.
fn query(engine: &mut Engine, path: &str) -> Result<Option<Value>, PolicyError> {
    let results = engine
        .eval_query(path.to_string(), false)
        .map_err(|e| PolicyError::Runtime(format!("{path}: {}", one_line(&format!("{e:#}")))))?;
    let Some(value) = results
        .result
        .into_iter()
        .next()
        .and_then(|r| r.expressions.into_iter().next())
        .map(|e| e.value)
    else {
        return Ok(None);
    };
    if value == regorus::Value::Undefined {
        return Ok(None);
    }
    let json = value
        .to_json_str()
        .map_err(|e| PolicyError::Runtime(format!("{path}: {e}")))?;
    serde_json::from_str(&json)
        .map(Some)
        .map_err(|e| PolicyError::Runtime(format!("{path}: {e}")))
}

/// A result as conftest reads it: a string, or an object with a string `msg`.
fn message(item: Value, path: &str) -> Result<(String, Value), PolicyError> {
    match item {
        Value::String(s) => Ok((s, Value::Null)),
        Value::Object(mut o) => match o.remove("msg") {
            Some(Value::String(msg)) => Ok((msg, Value::Object(o))),
            _ => Err(PolicyError::Runtime(format!(
                "{path}: a result object needs a string `msg`"
            ))),
        },
        other => Err(PolicyError::Runtime(format!(
            "{path}: results must be strings or objects with `msg`, not {other}"
        ))),
    }
}

/// `.rego` and `.json` files under `path`, sorted; a file is taken as given.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), PolicyError> {
    let meta = std::fs::metadata(path).map_err(|e| PolicyError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
        fault: Fault::of_io(&e),
    })?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let options = mlsec_core::walk::WalkOptions::default();
    let entries = mlsec_core::walk::walk(path, &options).map_err(|e| PolicyError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
        fault: Fault::Input,
    })?;
    for entry in entries {
        let wanted = entry
            .path
            .extension()
            .is_some_and(|e| e == "rego" || e == "json");
        if wanted && matches!(entry.kind, mlsec_core::walk::EntryKind::File) {
            out.push(entry.path);
        }
    }
    Ok(())
}

fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("_test.rego"))
}

/// The package a policy declares, read from its text.
fn package_of(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("package ")?;
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
            .collect();
        (!name.is_empty()).then_some(name)
    })
}

/// Whether a policy defines `deny`, `violation` or `warn` rules (at the start
/// of a line, as rules are written).
fn defines_decisions(text: &str) -> bool {
    text.lines().any(|l| {
        ["deny", "violation", "warn"].iter().any(|name| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '[', '{', '=', ':']) || rest.is_empty())
        })
    })
}

/// Rules whose name starts with `test_`, as `opa test` finds them.
fn test_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("test_")?;
            let tail: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            Some(format!("test_{tail}"))
        })
        .collect();
    names.dedup();
    names
}
