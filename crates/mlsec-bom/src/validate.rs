//! Validation of any CycloneDX JSON document against the official 1.6 schema,
//! plus the reference checks the schema cannot express.

use serde_json::Value;
use std::collections::BTreeSet;

const BOM_SCHEMA: &str = include_str!("../schema/bom-1.6.SNAPSHOT.schema.json");
const SPDX_SCHEMA: &str = include_str!("../schema/spdx.SNAPSHOT.schema.json");
const JSF_SCHEMA: &str = include_str!("../schema/jsf-0.82.SNAPSHOT.schema.json");
/// The bom schema refers to its neighbours relative to its `$id`.
const SCHEMA_BASE: &str = "http://cyclonedx.org/schema/";

/// One problem in a document, located by JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer to the offending value (`""` is the document root).
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

fn parse_schema(text: &str, name: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("bundled schema {name}: {e}"))
}

/// Validates `doc` against CycloneDX 1.6, then checks that every `bom-ref` is
/// unique and every dependency reference names one. Returns every problem found;
/// `Err` only when the bundled schema itself cannot be loaded.
pub fn validate(doc: &Value) -> Result<Vec<Problem>, String> {
    let bom = parse_schema(BOM_SCHEMA, "bom-1.6")?;
    let spdx = parse_schema(SPDX_SCHEMA, "spdx")?;
    let jsf = parse_schema(JSF_SCHEMA, "jsf-0.82")?;
    let registry = jsonschema::Registry::new()
        .add(format!("{SCHEMA_BASE}spdx.SNAPSHOT.schema.json"), spdx)
        .and_then(|r| r.add(format!("{SCHEMA_BASE}jsf-0.82.SNAPSHOT.schema.json"), jsf))
        .and_then(|r| r.prepare())
        .map_err(|e| format!("bundled schemas: {e}"))?;
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .with_registry(&registry)
        .should_validate_formats(true)
        .offline()
        .build(&bom)
        .map_err(|e| format!("bundled schema bom-1.6: {e}"))?;
    let mut problems: Vec<Problem> = validator
        .iter_errors(doc)
        .map(|e| Problem {
            path: e.instance_path().to_string(),
            message: e.to_string(),
        })
        .collect();
    problems.extend(check_references(doc));
    Ok(problems)
}

/// The checks the schema leaves out: `bom-ref`s unique across the document, and
/// every `dependencies[].ref`, `dependsOn[]`, `provides[]`, model card
/// dataset `ref` and vulnerability `affects[].ref` naming one.
pub fn check_references(doc: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut refs = BTreeSet::new();
    collect_bom_refs(doc, &mut String::new(), &mut refs, &mut problems);
    walk(doc, &mut String::new(), 0, &mut |path, key, value| {
        // `.../modelParameters/datasets/<index>/ref`
        let in_card_datasets = path
            .rsplit_once("/modelParameters/datasets/")
            .and_then(|(_, rest)| rest.strip_suffix("/ref"))
            .is_some_and(|index| !index.contains('/'));
        // `/vulnerabilities/<i>/affects/<j>/ref`
        let in_affects = path
            .strip_prefix("/vulnerabilities/")
            .and_then(|rest| rest.strip_suffix("/ref"))
            .and_then(|rest| rest.split_once("/affects/"))
            .is_some_and(|(i, j)| !i.contains('/') && !j.contains('/'));
        if key == "ref" && (in_card_datasets || in_affects) {
            if let Some(r) = value.as_str().filter(|r| !refs.contains(*r)) {
                problems.push(Problem {
                    path: path.to_string(),
                    message: format!("\"{r}\" is not the bom-ref of anything in this BOM"),
                });
            }
        }
    });
    let Some(deps) = doc.get("dependencies").and_then(Value::as_array) else {
        return problems;
    };
    for (i, dep) in deps.iter().enumerate() {
        let mut check = |path: String, v: &Value| {
            if let Some(r) = v.as_str() {
                if !refs.contains(r) {
                    problems.push(Problem {
                        path,
                        message: format!("\"{r}\" is not the bom-ref of anything in this BOM"),
                    });
                }
            }
        };
        if let Some(r) = dep.get("ref") {
            check(format!("/dependencies/{i}/ref"), r);
        }
        for key in ["dependsOn", "provides"] {
            for (j, r) in dep
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                check(format!("/dependencies/{i}/{key}/{j}"), r);
            }
        }
    }
    problems
}

/// Deeper than this, a document is not a BOM anyone wrote; stop walking rather
/// than overflow the stack (serde_json already refuses nesting past 128).
const MAX_DEPTH: usize = 256;

fn collect_bom_refs(
    v: &Value,
    path: &mut String,
    seen: &mut BTreeSet<String>,
    problems: &mut Vec<Problem>,
) {
    walk(v, path, 0, &mut |path, key, value| {
        if key == "bom-ref" {
            if let Some(r) = value.as_str() {
                if !seen.insert(r.to_string()) {
                    problems.push(Problem {
                        path: path.to_string(),
                        message: format!("bom-ref \"{r}\" is not unique"),
                    });
                }
            }
        }
    });
}

fn walk(v: &Value, path: &mut String, depth: usize, on_key: &mut dyn FnMut(&str, &str, &Value)) {
    if depth > MAX_DEPTH {
        return;
    }
    let len = path.len();
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                on_key(path, k, child);
                walk(child, path, depth + 1, on_key);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push('/');
                path.push_str(&i.to_string());
                walk(child, path, depth + 1, on_key);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The SPDX licence ids the schema accepts, for mapping card licences such as
/// `apache-2.0` to `Apache-2.0`.
pub fn spdx_id(name: &str) -> Option<String> {
    let schema: Value = serde_json::from_str(SPDX_SCHEMA).ok()?;
    schema
        .get("enum")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|id| id.eq_ignore_ascii_case(name))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "components": [
                {"type": "library", "name": "a", "bom-ref": "a"},
                {"type": "library", "name": "b", "bom-ref": "b"}
            ],
            "dependencies": [{"ref": "a", "dependsOn": ["b"]}]
        })
    }

    #[test]
    fn a_minimal_bom_is_valid() {
        assert_eq!(validate(&minimal()).unwrap(), []);
    }

    #[test]
    fn duplicate_bom_ref_is_reported() {
        let mut doc = minimal();
        doc["components"][1]["bom-ref"] = json!("a");
        let problems = validate(&doc).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].path, "/components/1/bom-ref");
        assert!(problems[0].message.contains("not unique"));
        // "b" no longer exists, so the dependency on it dangles.
        assert_eq!(problems[1].path, "/dependencies/0/dependsOn/0");
    }

    #[test]
    fn dangling_vulnerability_affects_ref_is_reported() {
        let mut doc = minimal();
        doc["vulnerabilities"] = json!([{
            "id": "PKL001",
            "affects": [{"ref": "a"}, {"ref": "nowhere"}]
        }]);
        let problems = check_references(&doc);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "/vulnerabilities/0/affects/1/ref");
    }

    #[test]
    fn dangling_dependency_ref_is_reported() {
        let mut doc = minimal();
        doc["dependencies"][0]["ref"] = json!("nowhere");
        let problems = validate(&doc).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "/dependencies/0/ref");
    }

    #[test]
    fn dangling_model_card_dataset_ref_is_reported() {
        let mut doc = minimal();
        doc["components"][0]["type"] = json!("machine-learning-model");
        doc["components"][0]["modelCard"] =
            json!({"modelParameters": {"datasets": [{"ref": "b"}, {"ref": "gone"}]}});
        let problems = validate(&doc).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].path,
            "/components/0/modelCard/modelParameters/datasets/1/ref"
        );
    }

    #[test]
    fn schema_violation_is_reported_with_its_path() {
        let mut doc = minimal();
        doc["components"][0]["type"] = json!("spaceship");
        doc["serialNumber"] = json!("not-a-urn");
        let problems = validate(&doc).unwrap();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"/components/0/type"), "{problems:?}");
        assert!(paths.contains(&"/serialNumber"), "{problems:?}");
    }

    #[test]
    fn licences_must_be_spdx_ids_or_names() {
        let mut doc = minimal();
        doc["components"][0]["licenses"] = json!([{"license": {"id": "apache-2.0"}}]);
        assert!(!validate(&doc).unwrap().is_empty());
        doc["components"][0]["licenses"] = json!([{"license": {"id": "Apache-2.0"}}]);
        assert_eq!(validate(&doc).unwrap(), []);
    }

    #[test]
    fn spdx_ids_match_case_insensitively() {
        assert_eq!(spdx_id("apache-2.0").as_deref(), Some("Apache-2.0"));
        assert_eq!(spdx_id("MIT").as_deref(), Some("MIT"));
        assert_eq!(spdx_id("llama2"), None);
    }
}
