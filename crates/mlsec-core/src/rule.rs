use crate::{Category, Evidence, Severity};

/// A detection rule: a stable id, a default severity, and documentation.
///
/// Rules are declared with [`declare_rule!`](crate::declare_rule), which turns the
/// rule's doc comment into [`Rule::doc`], so the comment a developer reads is the
/// help text a user gets from `mlsec rules ID` and from SARIF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    /// Short kebab-case name, e.g. `dangerous-pickle-global`.
    pub name: &'static str,
    pub severity: Severity,
    pub category: Category,
    /// One line: what it detects.
    pub summary: &'static str,
    /// Markdown: what it detects, why it is dangerous, an example, how to fix it.
    pub doc: &'static str,
}

/// `details` of a `rules` evidence envelope (`mlsec rules`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RulesDetails {
    pub rules: Vec<RuleDoc>,
}

/// One rule and its documentation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RuleDoc {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    pub category: Category,
    pub summary: String,
    /// What it detects, why it matters, an example and how to fix it (Markdown).
    pub doc: String,
}

impl Rule {
    /// The `rules` evidence of `mlsec rules`: the same envelope as every other
    /// command, with the rules and their documentation as its details.
    pub fn evidence(rules: &[Rule]) -> Evidence {
        let details = RulesDetails {
            rules: rules
                .iter()
                .map(|r| RuleDoc {
                    id: r.id.into(),
                    name: r.name.into(),
                    severity: r.severity,
                    category: r.category,
                    summary: r.summary.into(),
                    doc: r.help_markdown(),
                })
                .collect(),
        };
        // Strings and enums only: serializing cannot fail.
        let details = serde_json::to_value(details).unwrap_or_default();
        Evidence::new("rules", Vec::new(), Vec::new(), details)
    }

    /// The doc comment with the one leading space of each `///` line removed.
    pub fn help_markdown(&self) -> String {
        let mut out = String::with_capacity(self.doc.len());
        for line in self.doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out.trim().to_string()
    }

    /// The sections every rule's documentation must have.
    pub const DOC_SECTIONS: [&'static str; 4] = [
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## How to fix",
    ];

    /// The required sections this rule's documentation lacks (tests assert none).
    pub fn missing_doc_sections(&self) -> Vec<&'static str> {
        Rule::DOC_SECTIONS
            .into_iter()
            .filter(|s| !self.doc.contains(s))
            .collect()
    }
}

/// Declares a [`Rule`] constant whose documentation is its doc comment.
///
/// ```
/// mlsec_core::declare_rule! {
///     /// Detects the example.
///     pub const EXAMPLE = Rule {
///         id: "EX001", name: "example", severity: Low, category: Suspicious,
///         summary: "An example rule",
///     };
/// }
/// assert_eq!(EXAMPLE.id, "EX001");
/// assert!(EXAMPLE.doc.contains("Detects the example."));
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis const $name:ident = Rule {
            id: $id:literal, name: $rname:literal, severity: $sev:ident, category: $cat:ident,
            summary: $summary:literal $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        $vis const $name: $crate::Rule = $crate::Rule {
            id: $id,
            name: $rname,
            severity: $crate::Severity::$sev,
            category: $crate::Category::$cat,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
        };
    };
}
