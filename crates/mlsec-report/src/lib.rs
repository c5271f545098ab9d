//! Reports over saved evidence: the HTML report a person reads, JUnit XML
//! for CI test tabs, and one SARIF log merging every producer's findings
//! with the policy decisions.
//!
//! `mlsec check` writes its envelopes to an evidence folder and renders
//! them with this crate; `mlsec report` renders the same from the folder
//! later, so both give the same report.

// Library code may not index, slice or unwrap: hostile evidence must become
// an error, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

mod html;
mod junit;
mod load;
mod sarif;
mod svg;
mod validation;

pub use html::html;
pub use junit::junit;
pub use load::{
    load, read_envelope, Envelope, EvidenceSet, ReportError, MAX_EVIDENCE_BYTES, SCHEMA_VERSION,
};
pub use sarif::sarif;

/// A policy rule's id (its metadata id, else its package) and the controls
/// it serves as `framework id` strings, as the report and SARIF show them.
pub(crate) fn rule_id(r: &mlsec_policy::RuleOutcome) -> &str {
    if r.metadata.id.is_empty() {
        &r.package
    } else {
        &r.metadata.id
    }
}

pub(crate) fn controls(r: &mlsec_policy::RuleOutcome) -> Vec<String> {
    r.metadata
        .controls
        .iter()
        .flat_map(|(framework, ids)| ids.iter().map(move |id| format!("{framework} {id}")))
        .collect()
}

/// Text from files and policies, with control characters shown as escapes
/// so they cannot fake lines or break the markup around them.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// `printable`, then escaped for HTML and XML text and attributes. XML 1.0
/// has no way to write most control characters at all, so `printable`
/// comes first.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in printable(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Not characters XML allows, even escaped.
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup_or_controls() {
        let e = escape("<script>a&b\"c'd\u{1b}[31m\u{0}\u{FFFF}");
        assert_eq!(
            e,
            "&lt;script&gt;a&amp;b&quot;c&#39;d\\u{1b}[31m\\0\u{FFFD}"
        );
        assert_eq!(escape("line\nnext\ttab"), "line\nnext\ttab");
    }
}
