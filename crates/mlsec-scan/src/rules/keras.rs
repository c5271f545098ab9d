//! Rules for Keras models: the architecture config of a `.keras` zip
//! (`config.json`), of a legacy H5 file (the `model_config` and
//! `training_config` root attributes) and of a TensorFlow SavedModel's
//! `keras_metadata.pb`. Loading a Keras model rebuilds every object the
//! config names, so the config decides what code runs.

use crate::rules::general::LIMIT_EXCEEDED;
use crate::rules::pickle::{attribute_path_verdict, classify, config_verdict, Class};
use crate::{Ctx, Report};
use base64::Engine;
use mlsec_core::{declare_rule, Finding, Rule};
use mlsec_formats::hdf5::{self, Value as H5Value};
use mlsec_formats::paths::{self, Rooted};
use serde_json::{json, Map, Value};

declare_rule! {
    /// ## What it does
    /// Flags `Lambda` layers and serialized Python lambdas (`__lambda__`)
    /// anywhere in a Keras config, and reports the names their bytecode uses.
    ///
    /// ## Why is this bad?
    /// A Lambda layer stores its function as marshalled Python bytecode
    /// (base64 in the config). Loading the model rebuilds and runs it: legacy
    /// H5 files ignore `safe_mode` (CVE-2024-3660, CVE-2025-9905), and a config
    /// or user that turns safe mode off runs it in `.keras` files too.
    ///
    /// ## Example
    /// `{"class_name": "Lambda", "config": {"function": {"class_name":
    /// "__lambda__", "config": {"code": "4wEAAAAA..."}}}}` whose code calls
    /// `os.system`.
    ///
    /// ## How to fix
    /// Replace the Lambda with a subclassed layer registered with
    /// `keras.saving.register_keras_serializable`, whose code ships as source
    /// you can review.
    pub const LAMBDA = Rule {
        id: "KER001", name: "keras-lambda-layer", severity: Critical, category: Malicious,
        summary: "Keras Lambda layer carries Python bytecode that runs at load",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a config object whose `module` / `class_name` (or function name)
    /// names a callable in a module that gives code execution, file or network
    /// access (`os`, `subprocess`, `builtins`, `importlib`, `socket`, ...), or
    /// such a callable reached through a Keras module's namespace.
    ///
    /// ## Why is this bad?
    /// Keras imports `module` and looks the name up in it when it rebuilds the
    /// object, even with `safe_mode=True` before Keras 3.9 (CVE-2025-1550): a
    /// config can make loading call `os.system` with attacker arguments.
    ///
    /// ## Example
    /// `{"module": "os", "class_name": "function", "config": "system"}` as a
    /// layer's activation.
    ///
    /// ## How to fix
    /// Do not load the model. Legitimate configs only name Keras objects and
    /// your own registered classes.
    pub const DANGEROUS_IMPORT = Rule {
        id: "KER002", name: "keras-dangerous-import", severity: Critical, category: Malicious,
        summary: "Keras config imports a callable that gives code, file or network access",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports config objects whose `module` lies outside Keras and its
    /// companion libraries (`keras`, `keras_hub`, `keras_nlp`, `keras_cv`,
    /// `tf_keras`, `tensorflow`): custom layers, losses or metrics, including
    /// ones defined in `__main__`.
    ///
    /// ## Why is this bad?
    /// Loading imports that module and runs its code. Your own packages are
    /// fine, but nobody can tell from the file that the module is yours.
    ///
    /// ## Example
    /// `{"module": "my_project.layers", "class_name": "Attention",
    /// "registered_name": "my_project>Attention"}`.
    ///
    /// ## How to fix
    /// If the module is yours, allow it in `mlsec.toml`:
    /// `[scan] allow = ["my_project.layers.*"]`.
    pub const CUSTOM_OBJECT = Rule {
        id: "KER003", name: "keras-custom-object", severity: Medium, category: Suspicious,
        summary: "Keras config imports a module outside the Keras namespace",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags references to Keras or TensorFlow utilities that touch files or
    /// the network or weaken loading: `keras.utils.get_file`, file helpers,
    /// `load_model`, `enable_unsafe_deserialization`, `tf.io`, `tf.raw_ops`,
    /// `py_function`, callbacks and the like.
    ///
    /// ## Why is this bad?
    /// These live inside the Keras namespace, so safe mode allows them, yet
    /// calling them from a config downloads or overwrites files
    /// (CVE-2025-8747) or switches safe mode off for what follows
    /// (CVE-2025-9906).
    ///
    /// ## Example
    /// `{"module": "keras.utils", "class_name": "function", "config":
    /// "get_file"}` used as an initializer, called with an attacker URL.
    ///
    /// ## How to fix
    /// Do not load the model; no trained model needs these in its config.
    pub const UNSAFE_UTILITY = Rule {
        id: "KER004", name: "keras-unsafe-utility", severity: High, category: Malicious,
        summary: "Keras config calls a file, network or unsafe-loading utility",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags layers that load another model from a path (`TFSMLayer`,
    /// TensorFlow Hub's `KerasLayer`) and any path-like config value
    /// (`filepath`, `path`, `origin`, `vocabulary`, ...) that is absolute,
    /// climbs with `..`, starts with `~` or is a URL.
    ///
    /// ## Why is this bad?
    /// The layer loads and runs whatever graph sits at that path when the
    /// model loads (CVE-2026-1462), and a path outside the model folder reads
    /// files the model's author chose, not files shipped with it.
    ///
    /// ## Example
    /// `{"class_name": "TFSMLayer", "config": {"filepath": "/tmp/evil_savedmodel"}}`.
    ///
    /// ## How to fix
    /// Ship what the layer needs inside the model and load it by relative
    /// path, or rebuild the model without the external dependency.
    pub const EXTERNAL_PATH = Rule {
        id: "KER005", name: "keras-external-path", severity: High, category: Suspicious,
        summary: "Keras layer or config value loads from a path outside the model",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a Keras config that is not valid JSON, is nested too deeply,
    /// or is not a JSON object.
    ///
    /// ## Why is this bad?
    /// A config that could not be read was not judged. mlsec fails closed.
    ///
    /// ## Example
    /// A `config.json` cut short, or 10,000 nested arrays.
    ///
    /// ## How to fix
    /// Save the model again.
    pub const MALFORMED_CONFIG = Rule {
        id: "KER006", name: "keras-config-malformed", severity: High, category: Error,
        summary: "Keras model config could not be parsed",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports an HDF5 file whose root group could not be read: truncated,
    /// malformed, or stored in a layout mlsec's reader does not support (for
    /// example attributes in dense storage), or whose `model_config` is not a
    /// readable string.
    ///
    /// ## Why is this bad?
    /// A legacy Keras H5 file keeps its architecture, Lambda bytecode
    /// included, in root attributes. If they cannot be read, the model was not
    /// judged. mlsec fails closed.
    ///
    /// ## Example
    /// A `.h5` file whose object header continuation points past the end.
    ///
    /// ## How to fix
    /// Re-save the model, preferably in the `.keras` format.
    pub const HDF5_UNREADABLE = Rule {
        id: "KER007", name: "hdf5-unreadable", severity: High, category: Error,
        summary: "HDF5 root group could not be read, so the model was not judged",
    };
}

pub const RULES: &[Rule] = &[
    LAMBDA,
    DANGEROUS_IMPORT,
    CUSTOM_OBJECT,
    UNSAFE_UTILITY,
    EXTERNAL_PATH,
    MALFORMED_CONFIG,
    HDF5_UNREADABLE,
];

/// Judges an HDF5 file: the Keras architecture in its root attributes.
pub fn scan_h5(ctx: &Ctx, data: &[u8], report: &mut Report) {
    let attributes = match hdf5::root_attributes(data, ctx.limits().max_metadata_bytes) {
        Ok(a) => a,
        Err(e) => {
            report.recognise("hdf5");
            let rule = match e {
                hdf5::Error::TooLarge { .. } => &LIMIT_EXCEEDED,
                _ => &HDF5_UNREADABLE,
            };
            report.push(ctx.finding(rule, e.offset(), format!("HDF5 root group unreadable: {e}")));
            return;
        }
    };
    let is_keras = attributes.iter().any(|a| a.name == "model_config");
    report.recognise(if is_keras { "keras-h5" } else { "hdf5" });
    for a in &attributes {
        if a.name != "model_config" && a.name != "training_config" {
            continue;
        }
        match &a.value {
            H5Value::Text(json) => scan_json(ctx, json, &a.name, report),
            H5Value::Unreadable(why) => report.push(ctx.finding(
                &HDF5_UNREADABLE,
                Some(a.offset),
                format!("root attribute `{}` could not be read: {why}", a.name),
            )),
            H5Value::Other => report.push(ctx.finding(
                &HDF5_UNREADABLE,
                Some(a.offset),
                format!("root attribute `{}` is not a single string", a.name),
            )),
        }
    }
}

/// Judges a Keras model config (`config.json` of a `.keras` zip, or the
/// `model_config` attribute of a legacy H5 file).
pub fn scan_keras_config(ctx: &Ctx, json: &[u8], report: &mut Report) {
    report.recognise("keras-config");
    scan_json(ctx, json, "config", report);
}

/// Judges one JSON document of a Keras model; `source` names it in messages.
pub(crate) fn scan_json(ctx: &Ctx, json: &[u8], source: &str, report: &mut Report) {
    let limit = ctx.limits().max_metadata_bytes;
    if json.len() as u64 > limit {
        report.push(ctx.finding(
            &LIMIT_EXCEEDED,
            None,
            format!(
                "Keras {source} is {} bytes, over the {limit}-byte metadata limit",
                json.len()
            ),
        ));
        return;
    }
    // serde_json refuses nesting deeper than 128 levels, which bounds the walk.
    let value: Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(e) => {
            report.push(ctx.finding(
                &MALFORMED_CONFIG,
                None,
                format!("Keras {source} is not valid JSON: {e}"),
            ));
            return;
        }
    };
    if !value.is_object() {
        report.push(ctx.finding(
            &MALFORMED_CONFIG,
            None,
            format!("Keras {source} is not a JSON object"),
        ));
        return;
    }
    let mut walk = Walk {
        ctx,
        source,
        findings: Vec::new(),
    };
    walk.visit(&value, "$", 0, Scope::Plain);
    for f in walk.findings {
        report.push(f);
    }
}

/// Deepest JSON nesting walked (serde_json already stops at 128).
const MAX_DEPTH: u32 = 256;

/// What encloses the value being visited.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Plain,
    /// Inside a Lambda layer: its `__lambda__` function is already reported.
    Lambda,
    /// Inside a layer that loads from a path: the path is already reported.
    ExternalLayer,
}

struct Walk<'c, 'a> {
    ctx: &'c Ctx<'a>,
    source: &'c str,
    findings: Vec<Finding>,
}

impl Walk<'_, '_> {
    fn push(&mut self, rule: &Rule, message: String, path: &str, evidence: Value) {
        let mut evidence = evidence;
        if let Some(map) = evidence.as_object_mut() {
            map.insert("json_path".into(), json!(path));
            map.insert("source".into(), json!(self.source));
        }
        self.findings.push(
            self.ctx
                .finding(rule, None, message)
                .with_evidence(evidence),
        );
    }

    fn visit(&mut self, value: &Value, path: &str, depth: u32, scope: Scope) {
        if depth > MAX_DEPTH {
            let msg = format!(
                "Keras {} nested deeper than {MAX_DEPTH} levels",
                self.source
            );
            self.push(&MALFORMED_CONFIG, msg, path, json!({}));
            return;
        }
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.visit(item, &format!("{path}[{i}]"), depth + 1, scope);
                }
            }
            Value::Object(obj) => {
                let scope = self.object(obj, path, scope);
                for (key, item) in obj {
                    if let (Value::String(text), true) = (item, scope != Scope::ExternalLayer) {
                        self.path_value(key, text, path);
                    }
                    self.visit(item, &format!("{path}.{key}"), depth + 1, scope);
                }
            }
            _ => {}
        }
    }

    /// Judges a serialized object (one with `class_name`); returns the scope
    /// for its children.
    fn object(&mut self, obj: &Map<String, Value>, path: &str, scope: Scope) -> Scope {
        let Some(class) = obj.get("class_name").and_then(Value::as_str) else {
            return scope;
        };
        let config = obj.get("config");
        let name = config
            .and_then(|c| c.get("name"))
            .or_else(|| obj.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let module = obj.get("module").and_then(Value::as_str).unwrap_or("");
        let mut scope = scope;
        match class {
            "Lambda" => {
                self.lambda(name, config, path);
                scope = Scope::Lambda;
            }
            "__lambda__" if scope != Scope::Lambda => {
                let (summary, evidence) = describe_function(obj);
                let msg = format!(
                    "serialized Python lambda in the Keras {}: {summary}",
                    self.source
                );
                self.push(&LAMBDA, msg, path, evidence);
            }
            "TFSMLayer" => {
                self.external_layer(class, name, config, "filepath", path);
                scope = Scope::ExternalLayer;
            }
            "KerasLayer" if module.is_empty() || module.starts_with("tensorflow_hub") => {
                self.external_layer(class, name, config, "handle", path);
                scope = Scope::ExternalLayer;
            }
            _ => {}
        }
        if !module.is_empty() {
            // Functions serialize as class_name "function" with the name in config.
            let target = match (class, config.and_then(Value::as_str)) {
                ("function", Some(f)) => f,
                _ => class,
            };
            self.reference(module, target, name, path);
        }
        scope
    }

    fn lambda(&mut self, name: &str, config: Option<&Value>, path: &str) {
        let function = config.and_then(|c| c.get("function"));
        let (summary, mut evidence) = match function {
            Some(Value::Object(f)) => describe_function(f),
            Some(Value::Array(parts)) => describe_code(parts.first().and_then(Value::as_str)),
            Some(Value::String(s)) => {
                let kind = config
                    .and_then(|c| c.get("function_type"))
                    .and_then(Value::as_str);
                if kind == Some("function") {
                    let module = config.and_then(|c| c.get("module")).and_then(Value::as_str);
                    (
                        format!("calls function `{}.{s}`", module.unwrap_or("?")),
                        json!({ "function": s, "module": module }),
                    )
                } else {
                    describe_code(Some(s))
                }
            }
            _ => ("function not readable".to_string(), json!({})),
        };
        if let Some(map) = evidence.as_object_mut() {
            map.insert("layer".into(), json!(name));
        }
        let msg = format!(
            "Lambda layer `{name}` in the Keras {} runs Python code when the model loads: {summary}",
            self.source
        );
        self.push(&LAMBDA, msg, path, evidence);
    }

    fn external_layer(
        &mut self,
        class: &str,
        name: &str,
        config: Option<&Value>,
        key: &str,
        path: &str,
    ) {
        let target = config
            .and_then(|c| c.get(key))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let msg = format!(
            "{class} layer `{name}` loads and runs the model at `{target}` when this model loads"
        );
        self.push(
            &EXTERNAL_PATH,
            msg,
            path,
            json!({ "layer": name, "class": class, key: target }),
        );
    }

    /// Judges an import of `module.target` that rebuilding the object performs,
    /// with the same policy as pickle globals (and the same `mlsec.toml` lists);
    /// inside the Keras namespaces only the file, network and unsafe-loading
    /// utilities are flagged.
    fn reference(&mut self, module: &str, target: &str, name: &str, path: &str) {
        let full = format!("{module}.{target}");
        let config = self.ctx.config;
        let top = module.split('.').next().unwrap_or(module);
        let evidence = json!({ "module": module, "name": target, "object": name });
        let class = match config_verdict(&full, config) {
            Some(class) => class,
            None if KERAS_NAMESPACES.contains(&top) && attribute_path_verdict(target).is_none() => {
                let unsafe_module = UNSAFE_MODULE_PARTS
                    .iter()
                    .any(|part| module.split('.').any(|m| m == *part));
                if UNSAFE_UTILITIES.contains(&target) || unsafe_module {
                    let msg = format!(
                        "Keras config calls `{full}` (object `{name}`), a utility that reaches files, the network or unsafe loading"
                    );
                    self.push(&UNSAFE_UTILITY, msg, path, evidence);
                }
                return;
            }
            None => classify(module, target, config),
        };
        match class {
            Class::Allowed => {}
            Class::Denied(why) => {
                let msg = format!("Keras config imports `{full}` (object `{name}`), which {why}");
                self.push(&DANGEROUS_IMPORT, msg, path, evidence);
            }
            Class::Unknown => {
                let msg = format!(
                    "Keras config imports custom object `{full}` (object `{name}`); loading runs that module's code"
                );
                self.push(&CUSTOM_OBJECT, msg, path, evidence);
            }
        }
    }

    /// Flags a path-like config value that points outside the model.
    fn path_value(&mut self, key: &str, text: &str, path: &str) {
        let key_lower = key.to_ascii_lowercase();
        if !PATH_KEYS.contains(&key_lower.as_str()) {
            return;
        }
        if let Some(why) = outside_path(text) {
            let msg = format!("Keras config value `{key}` = `{text}` {why}");
            self.push(
                &EXTERNAL_PATH,
                msg,
                path,
                json!({ "key": key, "value": text }),
            );
        }
    }
}

/// Why a path-like value points outside the model, if it does.
fn outside_path(text: &str) -> Option<&'static str> {
    if text.contains("://") {
        return Some("is a URL; it is fetched when the model loads");
    }
    match paths::rooted(text) {
        Some(Rooted::Absolute) => Some("is an absolute path outside the model"),
        _ if text.starts_with('~') => Some("is an absolute path outside the model"),
        Some(Rooted::WindowsDrive) => Some("is an absolute Windows path outside the model"),
        None if paths::climbs(text) => Some("climbs out of the model folder with `..`"),
        None => None,
    }
}

/// Describes a Keras 3 `{"class_name": "__lambda__", "config": {"code": ...}}`.
fn describe_function(f: &Map<String, Value>) -> (String, Value) {
    let code = f
        .get("config")
        .and_then(|c| c.get("code"))
        .and_then(Value::as_str);
    describe_code(code)
}

/// Decodes base64 marshalled bytecode and lists the identifiers it names.
fn describe_code(code: Option<&str>) -> (String, Value) {
    let Some(code) = code else {
        return ("no bytecode found".into(), json!({}));
    };
    let compact: String = code.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) else {
        return (
            "function is not base64 bytecode".into(),
            json!({ "code_chars": code.len() }),
        );
    };
    // marshal TYPE_CODE is 'c', with the FLAG_REF bit (0x80) in newer Pythons.
    let is_code = bytes.first().is_some_and(|b| b & 0x7f == b'c');
    let names = marshal_names(&bytes);
    let summary = match (is_code, names.is_empty()) {
        (true, false) => format!(
            "{} bytes of marshalled bytecode naming {}",
            bytes.len(),
            names.join(", ")
        ),
        (true, true) => format!("{} bytes of marshalled bytecode", bytes.len()),
        (false, _) => format!(
            "{} bytes of encoded data that is not a code object",
            bytes.len()
        ),
    };
    (
        summary,
        json!({ "bytecode_bytes": bytes.len(), "names": names }),
    )
}

/// Identifiers stored as short ASCII strings in marshal data (names of
/// globals, attributes and variables the code uses). A scan, not a parse:
/// evidence for a person, never the basis of the verdict.
fn marshal_names(bytes: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    while names.len() < 32 {
        let Some(&[tag, len, ..]) = bytes.get(i..) else {
            break;
        };
        let tag = tag & 0x7f;
        if tag == b'z' || tag == b'Z' {
            let len = len as usize;
            if let Some(s) = bytes.get(i + 2..i + 2 + len) {
                let ident = s
                    .first()
                    .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
                    && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
                if ident {
                    let name = String::from_utf8_lossy(s).into_owned();
                    if !names.contains(&name) {
                        names.push(name);
                    }
                    i += 2 + len;
                    continue;
                }
            }
        }
        i += 1;
    }
    names
}

/// Top-level packages a config may import from without being "custom".
const KERAS_NAMESPACES: &[&str] = &[
    "keras",
    "keras_hub",
    "keras_nlp",
    "keras_cv",
    "keras_core",
    "tf_keras",
    "tensorflow",
    "tf",
];

/// Keras / TensorFlow callables that touch files or the network, or weaken
/// loading; allowed by Keras' safe mode because they live in its namespace.
const UNSAFE_UTILITIES: &[&str] = &[
    "get_file",
    "extract_archive",
    "rmtree",
    "remove",
    "rename",
    "copy",
    "makedirs",
    "mkdir",
    "listdir",
    "File",
    "GFile",
    "load_model",
    "load_weights",
    "save_model",
    "save_weights",
    "model_from_json",
    "model_from_yaml",
    "enable_unsafe_deserialization",
    "load_img",
    "save_img",
    "image_dataset_from_directory",
    "text_dataset_from_directory",
    "audio_dataset_from_directory",
    "plot_model",
    "model_to_dot",
    "read_file",
    "write_file",
    "py_function",
    "numpy_function",
    "py_func",
    "load_library",
    "load_op_library",
];

/// Module path components inside Keras / TensorFlow whose members reach files,
/// the network or raw graph ops.
const UNSAFE_MODULE_PARTS: &[&str] = &[
    "io",
    "gfile",
    "raw_ops",
    "callbacks",
    "file_utils",
    "saved_model",
    "data",
    "distribute",
];

/// Config keys whose string values are paths or URLs.
const PATH_KEYS: &[&str] = &[
    "filepath",
    "file_path",
    "path",
    "filename",
    "file_name",
    "fname",
    "origin",
    "url",
    "uri",
    "cache_dir",
    "model_path",
    "saved_model_dir",
    "export_dir",
    "handle",
    "vocabulary",
    "vocabulary_path",
    "vocab_file",
    "merges",
    "merges_file",
    "proto",
    "spm_proto",
    "dirpath",
    "logdir",
    "log_dir",
    "directory",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanConfig;
    use mlsec_core::Verdict;

    const SEQUENTIAL: &[u8] = include_bytes!("../../tests/data/keras/sequential_config.json");
    const FUNCTIONAL: &[u8] = include_bytes!("../../tests/data/keras/functional_config.json");
    const LAMBDA_CONFIG: &[u8] = include_bytes!("../../tests/data/keras/lambda_config.json");
    const SEQUENTIAL_H5: &[u8] = include_bytes!("../../tests/data/keras/sequential.h5");
    const LAMBDA_H5: &[u8] = include_bytes!("../../tests/data/keras/lambda.h5");

    fn run_with(config: &ScanConfig, json: &[u8]) -> Report {
        let ctx = Ctx::new(config, "model.keras", None);
        let mut report = Report::default();
        scan_keras_config(&ctx, json, &mut report);
        report
    }

    fn run(json: &[u8]) -> Report {
        run_with(&ScanConfig::default(), json)
    }

    fn h5(data: &[u8]) -> Report {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "model.h5", None);
        let mut report = Report::default();
        scan_h5(&ctx, data, &mut report);
        report
    }

    fn rules(report: &Report) -> Vec<&str> {
        report.findings.iter().map(|f| f.rule.as_str()).collect()
    }

    /// The real functional config with one layer's activation replaced.
    fn with_activation(activation: Value) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(FUNCTIONAL).unwrap();
        v["config"]["layers"][1]["config"]["activation"] = activation;
        serde_json::to_vec(&v).unwrap()
    }

    fn with_layer(layer: Value) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(SEQUENTIAL).unwrap();
        v["config"]["layers"].as_array_mut().unwrap().push(layer);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn real_keras3_configs_are_clean() {
        for json in [SEQUENTIAL, FUNCTIONAL] {
            let report = run(json);
            assert!(report.findings.is_empty(), "{:?}", report.findings);
            assert_eq!(report.verdict(), Verdict::Clean);
        }
    }

    #[test]
    fn real_lambda_layer_is_malicious_once() {
        let report = run(LAMBDA_CONFIG);
        assert_eq!(rules(&report), ["KER001"]);
        let f = &report.findings[0];
        assert!(f.message.contains("`lambda`"), "{}", f.message);
        assert!(f.message.contains("marshalled bytecode"), "{}", f.message);
        assert_eq!(f.evidence["json_path"], "$.config.layers[1]");
    }

    #[test]
    fn legacy_lambda_bytecode_names_are_reported() {
        // marshal-like: code object tag, then short ASCII names `os`, `system`.
        let code = base64::engine::general_purpose::STANDARD
            .encode(b"\xe3\x00\x00\x00\xda\x02os\xda\x06system\x29\x01");
        let layer = json!({"class_name": "Lambda", "config": {"name": "evil",
            "function": [code, null, null], "function_type": "lambda"}});
        let report = run(&with_layer(layer));
        assert_eq!(rules(&report), ["KER001"]);
        assert_eq!(
            report.findings[0].evidence["names"],
            json!(["os", "system"])
        );
    }

    #[test]
    fn dangerous_imports_are_malicious() {
        for activation in [
            json!({"module": "os", "class_name": "function", "config": "system", "registered_name": "system"}),
            json!({"module": "builtins", "class_name": "function", "config": "eval"}),
            json!({"module": "subprocess.run", "class_name": "Popen"}),
            json!({"module": "keras.src.utils.file_utils", "class_name": "function", "config": "os"}),
        ] {
            let report = run(&with_activation(activation.clone()));
            assert_eq!(rules(&report), ["KER002"], "{activation}");
            assert_eq!(report.verdict(), Verdict::Malicious);
        }
        let report = run(&with_activation(
            json!({"module": "builtins", "class_name": "tuple"}),
        ));
        assert!(report.findings.is_empty());
    }

    #[test]
    fn unsafe_keras_utilities_are_flagged() {
        for activation in [
            json!({"module": "keras.utils", "class_name": "function", "config": "get_file"}),
            json!({"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization"}),
            json!({"module": "tensorflow.io", "class_name": "function", "config": "write_file"}),
            json!({"module": "tensorflow.raw_ops", "class_name": "function", "config": "ReadFile"}),
        ] {
            let report = run(&with_activation(activation.clone()));
            assert_eq!(rules(&report), ["KER004"], "{activation}");
        }
        let report = run(&with_activation(
            json!({"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "relu"}),
        ));
        assert!(report.findings.is_empty());
    }

    #[test]
    fn custom_objects_are_suspicious_unless_allowed() {
        let layer = json!({"module": "my_project.layers", "class_name": "Attention",
            "config": {"name": "attn"}, "registered_name": "my_project>Attention"});
        let report = run(&with_layer(layer.clone()));
        assert_eq!(rules(&report), ["KER003"]);
        assert_eq!(report.verdict(), Verdict::Suspicious);

        let allow = ScanConfig {
            allow: vec!["my_project.layers.*".into()],
            ..Default::default()
        };
        assert!(run_with(&allow, &with_layer(layer.clone()))
            .findings
            .is_empty());
        let deny = ScanConfig {
            deny: vec!["my_project.layers.Attention".into()],
            ..Default::default()
        };
        assert_eq!(rules(&run_with(&deny, &with_layer(layer))), ["KER002"]);
    }

    #[test]
    fn external_paths_are_flagged() {
        let tfsm = json!({"module": "keras.layers", "class_name": "TFSMLayer",
            "config": {"name": "sm", "filepath": "/tmp/evil_savedmodel", "call_endpoint": "serve"}});
        let report = run(&with_layer(tfsm));
        assert_eq!(rules(&report), ["KER005"]);
        assert!(report.findings[0].message.contains("/tmp/evil_savedmodel"));

        for value in [
            "https://evil.example/x.txt",
            "../../etc/passwd",
            "~/.ssh/id_rsa",
        ] {
            let layer = json!({"module": "keras.layers", "class_name": "StringLookup",
                "config": {"name": "lookup", "vocabulary": value}});
            assert_eq!(rules(&run(&with_layer(layer))), ["KER005"], "{value}");
        }
        let layer = json!({"module": "keras.layers", "class_name": "StringLookup",
            "config": {"name": "lookup", "vocabulary": "vocab.txt"}});
        assert!(run(&with_layer(layer)).findings.is_empty());
    }

    #[test]
    fn malformed_truncated_and_deep_configs_fail_closed() {
        for cut in 0..SEQUENTIAL.len() - 1 {
            let report = run(&SEQUENTIAL[..cut]);
            assert_eq!(report.verdict(), Verdict::Error, "prefix of {cut} bytes");
        }
        let deep = format!("{{\"a\": {}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(rules(&run(deep.as_bytes())), ["KER006"]);
        assert_eq!(rules(&run(b"[1, 2]")), ["KER006"]);
        assert_eq!(rules(&run(b"\xff\xfe")), ["KER006"]);
    }

    #[test]
    fn legacy_h5_files_are_read_structurally() {
        let report = h5(SEQUENTIAL_H5);
        assert_eq!(report.format.as_deref(), Some("keras-h5"));
        assert!(report.findings.is_empty(), "{:?}", report.findings);

        let report = h5(LAMBDA_H5);
        assert_eq!(rules(&report), ["KER001"]);
        assert_eq!(report.findings[0].evidence["source"], "model_config");

        for (name, data) in [
            (
                "fixed_string",
                &include_bytes!("../../tests/data/keras/fixed_string.h5")[..],
            ),
            (
                "new_format",
                include_bytes!("../../tests/data/keras/new_format.h5"),
            ),
            (
                "user_block",
                include_bytes!("../../tests/data/keras/user_block.h5"),
            ),
        ] {
            let report = h5(data);
            assert_eq!(report.format.as_deref(), Some("keras-h5"), "{name}");
            assert!(report.findings.is_empty(), "{name}: {:?}", report.findings);
        }
        let report = h5(include_bytes!("../../tests/data/keras/plain.h5"));
        assert_eq!(report.format.as_deref(), Some("hdf5"));
        assert_eq!(report.verdict(), Verdict::Clean);

        let report = h5(include_bytes!("../../tests/data/keras/dense_attrs.h5"));
        assert_eq!(rules(&report), ["KER007"]);
        assert!(report.findings[0].message.contains("dense storage"));
    }

    /// Keras 2.13 files written through h5py with `track_order=True`: the
    /// root header tracks attribute creation order (6-byte message headers)
    /// and its first chunk ends with a 4-byte gap before the checksum, which
    /// was once misread as a message.
    #[test]
    fn tracked_creation_order_h5_files_are_read() {
        let cases: [(&[u8], &[u8]); 2] = [
            (
                include_bytes!("../../tests/data/keras/tracked_order_sequential.h5"),
                include_bytes!("../../tests/data/keras/tracked_order_sequential_model_config.json"),
            ),
            (
                include_bytes!("../../tests/data/keras/tracked_order_lambda.h5"),
                include_bytes!("../../tests/data/keras/tracked_order_lambda_model_config.json"),
            ),
        ];
        for (data, model_config) in cases {
            // Header flags: creation order tracked and indexed.
            assert_eq!(&data[0x60..0x66], b"OHDR\x02\x0c");
            // The gap: 4 zero bytes, then the checksum at the chunk's end.
            assert_eq!(&data[0x143..0x147], &[0; 4]);
            let attributes = hdf5::root_attributes(data, 1 << 20).unwrap();
            let names: Vec<&str> = attributes.iter().map(|a| a.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "keras_version",
                    "backend",
                    "model_config",
                    "training_config"
                ]
            );
            assert_eq!(attributes[0].value, H5Value::Text(b"2.13.1".to_vec()));
            // What h5py (libhdf5) reads from the same file.
            assert_eq!(attributes[2].value, H5Value::Text(model_config.to_vec()));
            let H5Value::Text(training) = &attributes[3].value else {
                panic!("training_config: {:?}", attributes[3].value);
            };
            let training: Value = serde_json::from_slice(training).unwrap();
            assert_eq!(training["loss"], "sparse_categorical_crossentropy");

            for cut in (0..data.len()).step_by(7) {
                assert_ne!(h5(&data[..cut]).verdict(), Verdict::Clean, "cut {cut}");
            }
        }

        let report = h5(cases[0].0);
        assert_eq!(report.format.as_deref(), Some("keras-h5"));
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(report.verdict(), Verdict::Clean);

        let report = h5(cases[1].0);
        assert_eq!(report.format.as_deref(), Some("keras-h5"));
        assert_eq!(rules(&report), ["KER001"]);
        assert_eq!(report.findings[0].evidence["source"], "model_config");
        assert_eq!(report.verdict(), Verdict::Malicious);
    }

    #[test]
    fn truncated_and_corrupted_h5_fail_closed() {
        for cut in (0..SEQUENTIAL_H5.len()).step_by(7) {
            let report = h5(&SEQUENTIAL_H5[..cut]);
            assert_ne!(report.verdict(), Verdict::Clean, "prefix of {cut} bytes");
        }
        // The root header's continuation message (at 0x70, address at 0x78)
        // pointed back at the header's own message block: a loop.
        let mut looped = SEQUENTIAL_H5.to_vec();
        assert_eq!(&looped[0x70..0x72], &[0x10, 0x00]);
        looped[0x78..0x80].copy_from_slice(&0x70u64.to_le_bytes());
        let report = h5(&looped);
        assert_eq!(rules(&report), ["KER007"]);
        assert!(
            report.findings[0].message.contains("loop"),
            "{}",
            report.findings[0].message
        );
        // model_config's variable-length string declaring 4 GiB.
        let mut huge = SEQUENTIAL_H5.to_vec();
        let name = huge
            .windows(13)
            .position(|w| w == b"model_config\0")
            .unwrap();
        let body = name - 8;
        let size = |at: usize| u16::from_le_bytes([huge[at], huge[at + 1]]) as usize;
        let value = name + 16 + size(body + 4).div_ceil(8) * 8 + size(body + 6).div_ceil(8) * 8;
        huge[value..value + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(rules(&h5(&huge)), ["SCN003"]);
        // Every single-byte corruption of the metadata region: no panic.
        for at in 0..2048.min(SEQUENTIAL_H5.len()) {
            let mut data = SEQUENTIAL_H5.to_vec();
            data[at] ^= 0xff;
            let _ = h5(&data);
        }
    }
}
