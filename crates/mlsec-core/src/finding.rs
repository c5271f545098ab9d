use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity `{s}` (expected info, low, medium, high or critical)")
            })
    }
}

/// What a finding says about the thing it was found in; decides the file's [`Verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Worth knowing, changes no verdict (e.g. "TorchScript code present").
    Info,
    /// Not known to be safe: a person should look.
    Suspicious,
    /// The file could not be fully judged (malformed, over a limit): fail closed.
    Error,
    /// Known to give code execution, file or network access, or to hide such.
    Malicious,
}

/// Verdict on one file. Ordered from best to worst, so `max` combines verdicts.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Clean,
    /// No parser recognised the content; nothing was judged.
    Unsupported,
    Suspicious,
    Error,
    Malicious,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Unsupported => "unsupported",
            Verdict::Suspicious => "suspicious",
            Verdict::Error => "error",
            Verdict::Malicious => "malicious",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Category> for Verdict {
    fn from(c: Category) -> Self {
        match c {
            Category::Info => Verdict::Clean,
            Category::Suspicious => Verdict::Suspicious,
            Category::Error => Verdict::Error,
            Category::Malicious => Verdict::Malicious,
        }
    }
}

/// One thing a rule found, with where and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// Stable rule id, e.g. `PKL001`.
    pub rule: String,
    pub severity: Severity,
    pub category: Category,
    /// The file (or other subject) as given on the command line, or found under it.
    pub subject: String,
    /// Where inside the subject, always one readable string: for files,
    /// `member@offset`, `member` or `@offset` (members of nested archives joined
    /// with `!`); for data, `row 7 [email]:3-20` or `line 4:0-12` (see `span`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Data findings: the same place as `location`, as fields a program can use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<DataLocation>,
    /// Archive member path (nested members joined with `!`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Byte offset inside the member (or the file when there is no member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub message: String,
    /// Rule-specific structured facts (e.g. the resolved global's module and name).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub evidence: serde_json::Value,
    /// Data findings: the entity type found (e.g. `EMAIL`, `AWS_ACCESS_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Data findings: how sure the detector is, from 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Data findings: the value with most characters masked; never the full value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

/// A span in data: `row` and `column` for tables (row 1 is the first data row),
/// `line` for text (1-based); `start`..`end` are Unicode code-point offsets inside
/// that cell or line, end exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DataLocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub start: u64,
    pub end: u64,
}

impl fmt::Display for DataLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(row) = self.row {
            write!(f, "row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, " [{column}]")?;
        }
        if let Some(line) = self.line {
            write!(f, "line {line}")?;
        }
        write!(f, ":{}-{}", self.start, self.end)
    }
}

impl Finding {
    /// A finding for `rule` in `subject`, with the rule's default severity and category.
    pub fn new(rule: &crate::Rule, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            rule: rule.id.to_string(),
            severity: rule.severity,
            category: rule.category,
            subject: subject.into(),
            location: None,
            span: None,
            member: None,
            offset: None,
            message: message.into(),
            evidence: serde_json::Value::Null,
            entity: None,
            confidence: None,
            preview: None,
        }
    }

    /// Sets where the finding is, and the `location` string derived from it.
    pub fn at(mut self, member: Option<&str>, offset: Option<u64>) -> Self {
        self.member = member.filter(|m| !m.is_empty()).map(str::to_string);
        self.offset = offset;
        self.location = match (&self.member, offset) {
            (Some(m), Some(o)) => Some(format!("{m}@{o}")),
            (Some(m), None) => Some(m.clone()),
            (None, Some(o)) => Some(format!("@{o}")),
            (None, None) => None,
        };
        self
    }

    /// Sets a place in data: `span`, and the `location` string derived from it.
    pub fn in_data(mut self, span: DataLocation) -> Self {
        self.location = Some(span.to_string());
        self.span = Some(span);
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = evidence;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn verdicts_combine_to_the_worst() {
        let worst = [Verdict::Clean, Verdict::Error, Verdict::Suspicious]
            .into_iter()
            .max();
        assert_eq!(worst, Some(Verdict::Error));
        assert!(Verdict::Malicious > Verdict::Error);
    }

    const RULE: crate::Rule = crate::Rule {
        id: "T001",
        name: "test",
        severity: Severity::Low,
        category: Category::Suspicious,
        summary: "",
        doc: "",
    };

    #[test]
    fn location_string_follows_member_and_offset() {
        let rule = RULE;
        let f = Finding::new(&rule, "a.pt", "m").at(Some("archive/data.pkl"), Some(312));
        assert_eq!(f.location.as_deref(), Some("archive/data.pkl@312"));
        let f = Finding::new(&rule, "a.pkl", "m").at(None, Some(7));
        assert_eq!(f.location.as_deref(), Some("@7"));
        let f = Finding::new(&rule, "a.pkl", "m").at(Some(""), None);
        assert_eq!(f.location, None);
    }

    #[test]
    fn data_places_are_a_string_and_a_span() {
        let rule = RULE;
        let span = DataLocation {
            row: Some(7),
            column: Some("email".into()),
            line: None,
            start: 3,
            end: 20,
        };
        let f = Finding::new(&rule, "users.csv", "m").in_data(span.clone());
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["location"], "row 7 [email]:3-20");
        assert_eq!(json["span"]["row"], 7);
        assert_eq!(json["span"]["column"], "email");
        let back: Finding = serde_json::from_value(json).unwrap();
        assert_eq!(back.span, Some(span));
    }
}
