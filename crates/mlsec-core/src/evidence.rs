use crate::{Finding, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema id of the evidence envelope every mlsec command writes.
pub const EVIDENCE_SCHEMA: &str = "mlsec.evidence/v1";

/// The one envelope every command writes (see `ARCHITECTURE.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    pub schema: String,
    /// `scan`, `signature`, `bom`, `data.integrity`, ...
    pub kind: String,
    pub tool: Tool,
    /// RFC 3339 UTC time of creation.
    pub created: String,
    pub subjects: Vec<Subject>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// Kind-specific payload, documented per kind.
    #[serde(default)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    /// Algorithm name to lowercase hex digest, e.g. `{"sha256": "..."}`; may be empty.
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// `pass` when no finding is at or above `threshold`, else `fail`.
    pub verdict: String,
    pub threshold: Severity,
    /// Number of findings per severity (all five severities, zeros included).
    pub counts: BTreeMap<Severity, usize>,
}

impl Evidence {
    /// Builds an envelope of `kind`, deciding pass/fail against `threshold`.
    pub fn new(
        kind: &str,
        subjects: Vec<Subject>,
        findings: Vec<Finding>,
        threshold: Severity,
        details: serde_json::Value,
    ) -> Self {
        let mut counts: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for f in &findings {
            *counts.entry(f.severity).or_default() += 1;
        }
        let failed = findings.iter().any(|f| f.severity >= threshold);
        Evidence {
            schema: EVIDENCE_SCHEMA.to_string(),
            kind: kind.to_string(),
            tool: Tool {
                name: "mlsec".into(),
                version: crate::TOOL_VERSION.into(),
            },
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            subjects,
            summary: Summary {
                verdict: if failed { "fail" } else { "pass" }.to_string(),
                threshold,
                counts,
            },
            findings,
            details,
        }
    }

    /// True when some finding is at or above the threshold (exit code 1).
    pub fn failed(&self) -> bool {
        self.summary.verdict == "fail"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Category, Rule};

    const R: Rule = Rule {
        id: "T001",
        name: "t",
        severity: Severity::Medium,
        category: Category::Suspicious,
        summary: "",
        doc: "",
    };

    #[test]
    fn verdict_follows_threshold() {
        let f = vec![Finding::new(&R, "x", "m")];
        assert!(!Evidence::new(
            "scan",
            vec![],
            f.clone(),
            Severity::High,
            Default::default()
        )
        .failed());
        let e = Evidence::new("scan", vec![], f, Severity::Medium, Default::default());
        assert!(e.failed());
        assert_eq!(e.summary.counts[&Severity::Medium], 1);
        assert_eq!(e.summary.counts[&Severity::Critical], 0);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["schema"], "mlsec.evidence/v1");
        assert_eq!(json["summary"]["counts"]["medium"], 1);
        assert!(json["created"].as_str().unwrap().ends_with('Z'));
    }
}
