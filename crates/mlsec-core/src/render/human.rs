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
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
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

/// Colours text when on (a terminal that wants colour), else leaves it.
pub struct Paint(pub bool);

impl Paint {
    pub fn p(&self, colour: &str, text: &str) -> String {
        if self.0 {
            format!("{colour}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// `text` padded to `width` characters, or cut to it with `…`.
pub fn fit(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        format!("{text}{}", " ".repeat(width - n))
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// One file of the terminal table, as a kind's details describe it.
pub struct FileLine<'a> {
    pub path: &'a str,
    pub verdict: &'a str,
    /// The detected format, shown dimmed; may be empty.
    pub format: &'a str,
    /// False for files no reader understood: they are named in one line at
    /// the end instead of one line each, unless they have findings.
    pub judged: bool,
}

/// What the terminal table shows of an envelope's typed details besides its
/// findings: one line per file, and lines for people.
pub trait Tabulate {
    fn files(&self) -> Vec<FileLine<'_>>;
    fn notes(&self) -> &[String] {
        &[]
    }
}

/// Details with nothing to tabulate: the findings and the summary alone.
impl Tabulate for () {
    fn files(&self) -> Vec<FileLine<'_>> {
        Vec::new()
    }
}

/// A table for a terminal: one line per file of `table` with its verdict,
/// its findings indented below, the other findings, the table's notes, then
/// a summary. `colour` adds ANSI colours.
pub fn human(evidence: &Evidence, table: &dyn Tabulate, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let mut shown_subjects = std::collections::HashSet::new();
    let files = table.files();
    let (shown, hidden): (Vec<_>, Vec<_>) = files
        .iter()
        .partition(|f| f.judged || evidence.findings.iter().any(|x| x.subject == f.path));
    let unjudged: Vec<&str> = hidden.iter().map(|f| f.path).collect();
    let width = shown
        .iter()
        .map(|f| f.verdict.len())
        .max()
        .unwrap_or(5)
        .max(7);
    for file in shown {
        let verdict = file.verdict;
        let _ = writeln!(
            out,
            "{}  {}  {}",
            paint.p(verdict_colour(verdict), &format!("{verdict:<width$}")),
            paint.p(BOLD, &printable(file.path)),
            paint.p(DIM, file.format)
        );
        write_findings(
            &mut out,
            &paint,
            evidence.findings.iter().filter(|f| f.subject == file.path),
        );
        shown_subjects.insert(file.path);
    }
    let mut rest = evidence
        .findings
        .iter()
        .filter(|f| !shown_subjects.contains(f.subject.as_str()))
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
    for note in table.notes() {
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

    const R: Rule = Rule {
        id: "PKL001",
        name: "t",
        severity: Severity::Critical,
        category: Category::Malicious,
        summary: "",
        doc: "",
    };

    /// Files as (path, verdict, format); `unsupported` ones are not judged.
    struct Files(Vec<(&'static str, &'static str, &'static str)>, Vec<String>);

    impl Tabulate for Files {
        fn files(&self) -> Vec<FileLine<'_>> {
            self.0
                .iter()
                .map(|&(path, verdict, format)| FileLine {
                    path,
                    verdict,
                    format,
                    judged: verdict != "unsupported",
                })
                .collect()
        }
        fn notes(&self) -> &[String] {
            &self.1
        }
    }

    #[test]
    fn table_lists_files_findings_and_summary_without_colour() {
        let f = Finding::new(&R, "evil.pkl", "calls os.system").at(None, Some(2));
        let files = Files(
            vec![
                ("evil.pkl", "malicious", "pickle"),
                ("ok.npy", "clean", "numpy"),
                ("README.md", "unsupported", "unknown"),
            ],
            vec!["config mlsec.toml: allow none; deny none".into()],
        );
        let e = Evidence::new("scan", vec![], vec![f], Default::default());
        let text = human(&e, &files, false);
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
        assert!(
            text.contains("\nconfig mlsec.toml: allow none; deny none\n"),
            "{text}"
        );
        assert!(human(&e, &files, true).contains('\x1b'));
    }

    #[test]
    fn control_characters_from_files_are_escaped() {
        let f = Finding::new(&R, "a\nb.pkl", "name `x\x1b[2J\ny`").at(Some("m\r\nFAKE"), None);
        let files = Files(vec![("a\nb.pkl", "malicious", "pickle")], vec![]);
        let e = Evidence::new("scan", vec![], vec![f], Default::default());
        let text = human(&e, &files, false);
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
        assert!(text.contains("a\\nb.pkl"), "{text}");
        assert!(text.contains("m\\r\\nFAKE"), "{text}");
        assert!(text.contains("x\\u{1b}[2J\\ny"), "{text}");
        assert_eq!(text.lines().count(), 4, "{text}");
    }
}
