//! JSON Schemas of the evidence envelope, one per kind, generated from the
//! producers' typed `details` and published in `docs/evidence/`. A test keeps
//! the published files equal to what the types say.

use mlsec_core::{Finding, Subject, Summary, Tool};
use schemars::JsonSchema;
use serde_json::Value;

/// The envelope of one kind, for schema generation only: `Evidence` with its
/// `details` typed.
#[derive(JsonSchema)]
#[allow(dead_code)] // never built: only its schema is.
struct Envelope<D> {
    schema: String,
    kind: String,
    tool: Tool,
    /// RFC 3339 UTC time of creation.
    created: String,
    subjects: Vec<Subject>,
    summary: Summary,
    findings: Vec<Finding>,
    details: D,
}

fn envelope<D: JsonSchema>(kind: &str, about: &str) -> Value {
    let mut schema = schemars::schema_for!(Envelope<D>).to_value();
    schema["$id"] = format!("https://mlsec.dev/schemas/evidence/v1/{kind}.schema.json").into();
    schema["title"] = format!("mlsec {kind} evidence").into();
    schema["description"] = about.into();
    schema["properties"]["schema"] = serde_json::json!({"const": mlsec_core::EVIDENCE_SCHEMA});
    schema["properties"]["kind"] = serde_json::json!({"const": kind});
    schema
}

/// Every kind with its schema, in the order the docs list them.
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        (
            "scan",
            envelope::<mlsec_scan::ScanDetails>(
                "scan",
                "mlsec scan: code execution and tampering found in model files",
            ),
        ),
        (
            "signature",
            envelope::<mlsec_sign::SignatureDetails>(
                "signature",
                "mlsec sign and mlsec verify: a model's signature",
            ),
        ),
        (
            "attestation",
            envelope::<mlsec_sign::AttestationDetails>(
                "attestation",
                "mlsec attest and mlsec verify-attestation: signed evidence",
            ),
        ),
        (
            "bom",
            envelope::<mlsec_bom::BomDetails>(
                "bom",
                "mlsec bom: the CycloneDX 1.6 bill of materials of a model",
            ),
        ),
        (
            "data.manifest",
            envelope::<mlsec_data::ManifestDetails>(
                "data.manifest",
                "mlsec data manifest: datasets pinned",
            ),
        ),
        (
            "data.integrity",
            envelope::<mlsec_data::IntegrityDetails>(
                "data.integrity",
                "mlsec data verify: datasets checked against their manifest",
            ),
        ),
        (
            "data.pii",
            envelope::<mlsec_data::PiiDetails>(
                "data.pii",
                "mlsec data pii: personal data and secrets found in data files",
            ),
        ),
        (
            "data.redact",
            envelope::<mlsec_data::redact::RedactReport>(
                "data.redact",
                "mlsec data redact: what a redacted copy had redacted",
            ),
        ),
        (
            "check",
            envelope::<mlsec_check::CheckDetails>(
                "check",
                "mlsec check: every check of a project, the policy decision and the compliance matrix",
            ),
        ),
        (
            "threat-model",
            envelope::<mlsec_threat::ThreatModelDetails>(
                "threat-model",
                "mlsec threat-model: the threats an ML system's description implies, the rules that cover each, and the gaps",
            ),
        ),
        (
            "drift",
            envelope::<mlsec_quality::DriftDetails>(
                "drift",
                "mlsec data drift: each column of current data compared with a reference, and the joint test",
            ),
        ),
        (
            "data-issues",
            envelope::<mlsec_quality::IssuesDetails>(
                "data-issues",
                "mlsec data issues: suspect rows of a labelled table (label errors, outliers, duplicates, conflicts, backdoor signals) and why",
            ),
        ),
        (
            "redteam",
            envelope::<mlsec_validate::RedteamDetails>(
                "redteam",
                "mlsec redteam: black-box evasion attacks on a classifier",
            ),
        ),
        (
            "redteam.llm",
            envelope::<mlsec_validate::llm::LlmDetails>(
                "redteam.llm",
                "mlsec redteam --protocol openai: an LLM probed for prompt injection, system-prompt and personal-data leakage",
            ),
        ),
        (
            "privacy",
            envelope::<mlsec_validate::privacy::PrivacyDetails>(
                "privacy",
                "mlsec privacy: membership-inference attacks on a classifier, and the cost of copying it",
            ),
        ),
        (
            "explain",
            envelope::<mlsec_validate::explain::ExplainDetails>(
                "explain",
                "mlsec explain: fairness across groups, permutation importance and Kernel SHAP values of a classifier",
            ),
        ),
        (
            "data.profile",
            envelope::<mlsec_quality::ProfileDetails>(
                "data.profile",
                "mlsec data profile: a reference profile of tables (quantile sketches, moments, value counts)",
            ),
        ),
        (
            "audit",
            envelope::<mlsec_gateway::audit::AuditDetails>(
                "audit",
                "mlsec audit verify and export: whether the gateway's hash-chained audit log is intact",
            ),
        ),
        (
            "guard",
            envelope::<mlsec_guard::offline::GuardDetails>(
                "guard",
                "mlsec guard: the gateway's input guards run offline over JSON Lines",
            ),
        ),
        (
            "rules",
            envelope::<mlsec_core::RulesDetails>(
                "rules",
                "mlsec rules: the detection rules and their documentation",
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn folder() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/evidence")
    }

    /// The published schemas are what the types say. Run with
    /// `MLSEC_UPDATE_SCHEMAS=1` to rewrite them after changing a type (and
    /// bump the schema version if a kind changed shape incompatibly).
    #[test]
    fn published_schemas_match_the_types() {
        let update = std::env::var_os("MLSEC_UPDATE_SCHEMAS").is_some();
        let mut stale = Vec::new();
        for (kind, mut schema) in super::all() {
            let path = folder().join(format!("{kind}.schema.json"));
            mlsec_core::json::sort_keys(&mut schema);
            let mut text = serde_json::to_string_pretty(&schema).unwrap();
            text.push('\n');
            if update {
                std::fs::create_dir_all(folder()).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "out of date (rerun with MLSEC_UPDATE_SCHEMAS=1): {stale:?}"
        );
    }

    /// Each kind's details have a schema of their own, not an open object.
    #[test]
    fn details_are_typed() {
        for (kind, schema) in super::all() {
            let details = &schema["properties"]["details"];
            let name = details["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{kind}: {details}"));
            let name = name.trim_start_matches("#/$defs/");
            assert!(
                schema["$defs"][name]["properties"].is_object(),
                "{kind}: {name} has no properties"
            );
        }
    }
}
