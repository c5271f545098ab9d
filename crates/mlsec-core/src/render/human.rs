use crate::{Evidence, Finding, Severity};
use std::fmt::Write;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[36m",
        Severity::Info => "\x1b[2m",
    }
}

fn verdict_colour(v: &str) -> &'static str {
    match v {
        "malicious" | "error" | "fail" => "\x1b[1;31m",
        "suspicious" => "\x1b[33m",
        "clean" | "pass" => "\x1b[32m",
        _ => "\x1b[2m",
    }
}

/// `text` with control characters escaped (`\n`, `\u{1b}`): paths, member
/// names and messages quote hostile files, which must not move the cursor,
/// recolour the terminal or fake extra report lines.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

struct Paint(bool);

impl Paint {
    fn p(&self, colour: &str, text: &str) -> String {
        if self.0 {
            format!("{colour}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// A table for a terminal: one line per subject (with its verdict when the
/// evidence's `details.files` carries one), its findings indented below, the
/// lines of `details.notes`, then a summary. `colour` adds ANSI colours.
pub fn human(evidence: &Evidence, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let files = evidence.details.get("files").and_then(|f| f.as_array());
    let mut shown_subjects = std::collections::HashSet::new();
    let mut unjudged: Vec<String> = Vec::new();

    if let Some(files) = files {
        let field = |f: &serde_json::Value, k: &str| {
            f.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string()
        };
        // Files no parser recognised (READMEs, CSVs) are counted, not listed.
        let (shown, hidden): (Vec<_>, Vec<_>) = files.iter().partition(|f| {
            let path = field(f, "path");
            field(f, "verdict") != "unsupported"
                || evidence.findings.iter().any(|x| x.subject == path)
        });
        unjudged = hidden.iter().map(|f| field(f, "path")).collect();
        let width = shown
            .iter()
            .map(|f| field(f, "verdict").len())
            .max()
            .unwrap_or(5)
            .max(7);
        for file in shown {
            let (path, verdict) = (field(file, "path"), field(file, "verdict"));
            let format = file.get("format").and_then(|v| v.as_str()).unwrap_or("");
            let _ = writeln!(
                out,
                "{}  {}  {}",
                paint.p(verdict_colour(&verdict), &format!("{verdict:<width$}")),
                paint.p(BOLD, &printable(&path)),
                paint.p(DIM, format)
            );
            write_findings(
                &mut out,
                &paint,
                evidence.findings.iter().filter(|f| f.subject == path),
            );
            shown_subjects.insert(path);
        }
    }
    let mut rest = evidence
        .findings
        .iter()
        .filter(|f| !shown_subjects.contains(&f.subject))
        .peekable();
    if rest.peek().is_some() {
        write_findings(&mut out, &paint, rest);
    }

    if !unjudged.is_empty() {
        // Named, not just counted: a file nothing could read is worth a glance.
        const LISTED: usize = 10;
        let mut names: Vec<String> = unjudged
            .iter()
            .take(LISTED)
            .map(|p| printable(p).into_owned())
            .collect();
        if unjudged.len() > LISTED {
            names.push(format!("and {} more", unjudged.len() - LISTED));
        }
        let _ = writeln!(
            out,
            "{}",
            paint.p(
                DIM,
                &format!(
                    "not judged, in no format mlsec reads ({}): {}",
                    unjudged.len(),
                    names.join(", ")
                )
            )
        );
    }
    // Lines the producer wants a person to see (which config was in effect).
    for note in evidence
        .details
        .get("notes")
        .and_then(|n| n.as_array())
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
    {
        let _ = writeln!(out, "{}", paint.p(DIM, &printable(note)));
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = *evidence.summary.counts.get(s).unwrap_or(&0);
            (n > 0).then(|| paint.p(severity_colour(*s), &format!("{n} {s}")))
        })
        .collect();
    let _ = writeln!(
        out,
        "\n{}: {} finding(s){}{} — {} (fail on {} and above)",
        evidence.kind,
        evidence.findings.len(),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", "),
        paint.p(
            verdict_colour(&evidence.summary.verdict),
            &evidence.summary.verdict.to_uppercase()
        ),
        evidence.summary.threshold
    );
    out
}

fn write_findings<'a>(
    out: &mut String,
    paint: &Paint,
    findings: impl Iterator<Item = &'a Finding>,
) {
    for f in findings {
        let sev = format!("{:<8}", f.severity.as_str().to_uppercase());
        let _ = write!(
            out,
            "    {} {} ",
            paint.p(severity_colour(f.severity), &sev),
            paint.p(BOLD, &f.rule)
        );
        if let Some(loc) = &f.location {
            let _ = write!(out, "{} ", paint.p(DIM, &printable(loc)));
        }
        let _ = writeln!(out, "{}", printable(&f.message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Category, Finding, Rule};
    use serde_json::json;

    const R: Rule = Rule {
        id: "PKL001",
        name: "t",
        severity: Severity::Critical,
        category: Category::Malicious,
        summary: "",
        doc: "",
    };

    #[test]
    fn table_lists_files_findings_and_summary_without_colour() {
        let f = Finding::new(&R, "evil.pkl", "calls os.system").at(None, Some(2));
        let details = json!({"files": [
            {"path": "evil.pkl", "verdict": "malicious", "format": "pickle"},
            {"path": "ok.npy", "verdict": "clean", "format": "numpy"},
            {"path": "README.md", "verdict": "unsupported", "format": "unknown"}
        ]});
        let e = Evidence::new("scan", vec![], vec![f], Severity::High, details);
        let text = human(&e, false);
        assert!(!text.contains('\x1b'));
        assert!(text.contains("malicious  evil.pkl  pickle"), "{text}");
        assert!(
            text.contains("CRITICAL PKL001 @2 calls os.system"),
            "{text}"
        );
        assert!(text.contains("clean      ok.npy"), "{text}");
        assert!(
            text.contains("\nnot judged, in no format mlsec reads (1): README.md\n"),
            "{text}"
        );
        assert!(
            text.contains("1 finding(s): 1 critical — FAIL (fail on high and above)"),
            "{text}"
        );
        assert!(human(&e, true).contains('\x1b'));
    }

    #[test]
    fn control_characters_from_files_are_escaped() {
        let f = Finding::new(&R, "a\nb.pkl", "name `x\x1b[2J\ny`").at(Some("m\r\nFAKE"), None);
        let details =
            json!({"files": [{"path": "a\nb.pkl", "verdict": "malicious", "format": "pickle"}]});
        let e = Evidence::new("scan", vec![], vec![f], Severity::High, details);
        let text = human(&e, false);
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
        assert!(text.contains("a\\nb.pkl"), "{text}");
        assert!(text.contains("m\\r\\nFAKE"), "{text}");
        assert!(text.contains("x\\u{1b}[2J\\ny"), "{text}");
        assert_eq!(text.lines().count(), 4, "{text}");
    }
}
