use crate::{Finding, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema id of the evidence envelope every mlsec command writes.
pub const EVIDENCE_SCHEMA: &str = "mlsec.evidence/v1";

/// The threshold an envelope is judged against until a gate sets its own
/// (the CLI's `--fail-on` default).
pub const DEFAULT_THRESHOLD: Severity = Severity::High;

/// The one envelope every command writes (see `ARCHITECTURE.md`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Subject {
    pub name: String,
    /// Algorithm name to lowercase hex digest, e.g. `{"sha256": "..."}`; may be empty.
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// `pass` when no finding is at or above `threshold`, else `fail`.
    pub verdict: String,
    pub threshold: Severity,
    /// Number of findings per severity (all five severities, zeros included).
    pub counts: BTreeMap<Severity, usize>,
}

impl Subject {
    /// A file as a subject: its path as given and its SHA-256.
    pub fn of_file(path: &std::path::Path) -> std::io::Result<Subject> {
        let file = std::fs::File::open(path)?;
        let (digest, _) = crate::digest::sha256_stream(&[], file)?;
        Ok(Subject {
            name: path.display().to_string(),
            digest: [("sha256".to_string(), crate::digest::hex(&digest))].into(),
        })
    }
}

impl Evidence {
    /// Builds an envelope of `kind`, judged against [`DEFAULT_THRESHOLD`].
    /// Producers report; the gate that acts on the verdict (the CLI's
    /// `--fail-on`, a policy) sets its own threshold with [`Evidence::judge`].
    pub fn new(
        kind: &str,
        subjects: Vec<Subject>,
        findings: Vec<Finding>,
        details: serde_json::Value,
    ) -> Self {
        let mut counts: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for f in &findings {
            *counts.entry(f.severity).or_default() += 1;
        }
        let mut evidence = Evidence {
            schema: EVIDENCE_SCHEMA.to_string(),
            kind: kind.to_string(),
            tool: Tool {
                name: "mlsec".into(),
                version: crate::TOOL_VERSION.into(),
            },
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            subjects,
            summary: Summary {
                verdict: String::new(),
                threshold: DEFAULT_THRESHOLD,
                counts,
            },
            findings,
            details,
        };
        evidence.judge(DEFAULT_THRESHOLD);
        evidence
    }

    /// Sets the threshold, and the verdict that follows from it: `fail` when
    /// some finding is at or above `threshold`, else `pass`.
    pub fn judge(&mut self, threshold: Severity) {
        let failed = self.findings.iter().any(|f| f.severity >= threshold);
        self.summary.threshold = threshold;
        self.summary.verdict = if failed { "fail" } else { "pass" }.to_string();
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
        let mut e = Evidence::new("scan", vec![], f, Default::default());
        assert!(!e.failed(), "a medium finding passes the default threshold");
        assert_eq!(e.summary.threshold, DEFAULT_THRESHOLD);
        e.judge(Severity::Medium);
        assert!(e.failed());
        assert_eq!(e.summary.threshold, Severity::Medium);
        e.judge(Severity::Critical);
        assert!(!e.failed());
        e.judge(Severity::Medium);
        assert_eq!(e.summary.counts[&Severity::Medium], 1);
        assert_eq!(e.summary.counts[&Severity::Critical], 0);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["schema"], "mlsec.evidence/v1");
        assert_eq!(json["summary"]["counts"]["medium"], 1);
        assert!(json["created"].as_str().unwrap().ends_with('Z'));
    }
}
