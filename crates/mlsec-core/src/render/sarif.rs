use crate::{Evidence, Rule, Severity};
use serde_json::{json, Value};

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The score GitHub code scanning reads to rank security results (0.0 to 10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Evidence as a SARIF 2.1.0 log with one run. `rules` become
/// `tool.driver.rules` with their documentation as help text; each finding
/// becomes a result located at its file, with the archive member as a logical
/// location and the byte offset as a region.
pub fn sarif(evidence: &Evidence, rules: &[Rule]) -> Value {
    let descriptors = rules.iter().map(rule_descriptor).collect();
    let properties = json!({"kind": evidence.kind, "verdict": evidence.summary.verdict});
    log(&[evidence], descriptors, properties)
}

/// Several envelopes as one SARIF log with one run: GitHub code scanning
/// refuses a file with several runs of the same tool. Each result says in
/// `properties.kind` which envelope it came from. `rules` are reporting
/// descriptors (see [`rule_descriptor`]); results point at them by id.
pub fn sarif_merged(evidence: &[&Evidence], rules: Vec<Value>, properties: Value) -> Value {
    log(evidence, rules, properties)
}

/// A rule as a SARIF `reportingDescriptor`, its documentation as help text.
pub fn rule_descriptor(r: &Rule) -> Value {
    let help = r.help_markdown();
    json!({
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.summary},
        "help": {"text": help, "markdown": help},
        "defaultConfiguration": {"level": level(r.severity)},
        "properties": {
            "security-severity": security_severity(r.severity),
            "category": r.category,
            "tags": ["security"]
        }
    })
}

fn log(evidence: &[&Evidence], rules: Vec<Value>, properties: Value) -> Value {
    let mut index = std::collections::HashMap::new();
    for (i, id) in rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.get("id")?.as_str()?)))
    {
        index.entry(id).or_insert(i);
    }
    let merged = evidence.len() > 1;
    let results: Vec<Value> = evidence
        .iter()
        .flat_map(|e| e.findings.iter().map(move |f| (e, f)))
        .map(|(e, f)| {
            let mut result = result(f, index.get(f.rule.as_str()).copied());
            if merged {
                if let Some(p) = result.get_mut("properties") {
                    set(p, "kind", json!(e.kind));
                }
            }
            result
        })
        .collect();
    let version = evidence
        .first()
        .map_or(crate::TOOL_VERSION, |e| e.tool.version.as_str());
    // Sorted keys, one per line when pretty-printed: CI scripts read SARIF
    // line by line (ci/run-mlsec.sh), whatever order serde_json keeps.
    let mut log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mlsec",
                "version": version,
                "semanticVersion": version,
                "informationUri": "https://github.com/mlsec/mlsec",
                "rules": rules
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": properties
        }]
    });
    crate::json::sort_keys(&mut log);
    log
}

/// One finding as a SARIF result, located at its file.
fn result(f: &crate::Finding, rule_index: Option<usize>) -> Value {
    let mut physical = json!({"artifactLocation": {"uri": uri(&f.subject)}});
    // A byte offset names a place in the file itself only when there is no member.
    if let (Some(off), None) = (f.offset, &f.member) {
        set(&mut physical, "region", json!({"byteOffset": off}));
    }
    // Data spans: the row (tables) or line (text) and code-point columns.
    if let Some(d) = &f.span {
        if let Some(line) = d.row.or(d.line) {
            let region = json!({
                "startLine": line,
                "startColumn": d.start.saturating_add(1),
                "endColumn": d.end.saturating_add(1),
            });
            set(&mut physical, "region", region);
        }
    }
    let mut location = json!({"physicalLocation": physical});
    if let Some(d) = &f.span {
        if let Some(column) = &d.column {
            let logical = json!([{"name": column, "kind": "column"}]);
            set(&mut location, "logicalLocations", logical);
        }
    }
    if let Some(member) = &f.member {
        let name = match f.offset {
            Some(o) => format!("{member}@{o}"),
            None => member.clone(),
        };
        let logical = json!([{"name": name, "kind": "member"}]);
        set(&mut location, "logicalLocations", logical);
    }
    let mut result = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": {"text": f.message},
        "locations": [location],
        "properties": {"severity": f.severity, "category": f.category}
    });
    if let Some(i) = rule_index {
        set(&mut result, "ruleIndex", json!(i));
    }
    if !f.evidence.is_null() {
        if let Some(properties) = result.get_mut("properties") {
            set(properties, "evidence", f.evidence.clone());
        }
    }
    result
}

/// Sets `key` of `object`, one of the JSON objects built above (so never
/// anything but an object), as `object[key] = value` would.
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_string(), value);
    }
}

/// A relative URI reference for a path: forward slashes, percent-encoded where needed.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Category, Finding};

    const R: Rule = Rule {
        id: "PKL001",
        name: "dangerous-global",
        severity: Severity::Critical,
        category: Category::Malicious,
        summary: "Pickle imports a dangerous global",
        doc: " What it does\n\n Finds os.system.\n",
    };

    #[test]
    fn data_spans_become_regions_in_code_points() {
        let f = Finding::new(&R, "users.csv", "email").in_data(crate::DataLocation {
            row: Some(7),
            column: Some("email".into()),
            line: None,
            start: 3,
            end: 20,
        });
        let e = Evidence::new("data.pii", vec![], vec![f], Default::default());
        let log = sarif(&e, &[R]);
        let run = &log["runs"][0];
        assert_eq!(run["columnKind"], "unicodeCodePoints");
        let loc = &run["results"][0]["locations"][0];
        assert_eq!(
            loc["physicalLocation"]["region"],
            json!({"startLine": 7, "startColumn": 4, "endColumn": 21})
        );
        assert_eq!(loc["logicalLocations"][0]["name"], "email");
    }

    #[test]
    fn results_reference_rules_and_locations() {
        let f1 = Finding::new(&R, "models/my model.pt", "os.system")
            .at(Some("archive/data.pkl"), Some(12));
        let f2 = Finding::new(&R, "evil.pkl", "os.system").at(None, Some(3));
        let e = Evidence::new("scan", vec![], vec![f1, f2], Default::default());
        let log = sarif(&e, &[R]);
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["help"]["text"],
            "What it does\n\nFinds os.system."
        );
        let r0 = &run["results"][0];
        assert_eq!(r0["ruleIndex"], 0);
        assert_eq!(r0["level"], "error");
        assert_eq!(
            r0["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "models/my%20model.pt"
        );
        assert_eq!(
            r0["locations"][0]["logicalLocations"][0]["name"],
            "archive/data.pkl@12"
        );
        assert!(r0["locations"][0]["physicalLocation"]
            .get("region")
            .is_none());
        assert_eq!(
            run["results"][1]["locations"][0]["physicalLocation"]["region"]["byteOffset"],
            3
        );
    }
}
