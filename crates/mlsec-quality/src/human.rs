//! Drift for people: one line per column (method, statistic, p-value,
//! threshold, verdict), the drifted ones first, then the other findings and a
//! summary line like every other command's.

use crate::drift::{p_text, ColumnDrift, DriftDetails};
use mlsec_core::render::{fit, printable, Paint};
use mlsec_core::Evidence;
use std::fmt::Write;

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";

/// The widest column name shown; longer names end in `…` (the JSON has them whole).
const NAME_WIDTH: usize = 32;

/// The drift of `evidence` (whose details are `details`) for a terminal;
/// `colour` adds ANSI colours.
pub fn human(evidence: &Evidence, details: &DriftDetails, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({} rows) -> {} ({} rows)",
        paint.p(BOLD, "drift:"),
        printable(&details.reference.path),
        details.reference.rows,
        printable(&details.current.path),
        details.current.rows
    );
    let mut columns: Vec<&ColumnDrift> = details.columns.iter().collect();
    // Drifted first, each group in the reference's column order.
    columns.sort_by_key(|c| !c.drifted);
    let width = columns
        .iter()
        .map(|c| c.column.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, NAME_WIDTH);
    if !columns.is_empty() {
        let _ = writeln!(
            out,
            "\n  {}  {:<11}  {:<13}  {:>10}  {:>10}  {:>9}",
            paint.p(DIM, &fit("column", width)),
            paint.p(DIM, "kind"),
            paint.p(DIM, "method"),
            paint.p(DIM, "statistic"),
            paint.p(DIM, "p-value"),
            paint.p(DIM, "threshold"),
        );
    }
    for c in columns {
        let p = c
            .p_value_adjusted
            .or(c.test.p_value)
            .map_or_else(|| "-".to_string(), p_text);
        let verdict = if c.drifted {
            paint.p(RED, "DRIFT")
        } else {
            paint.p(GREEN, "ok")
        };
        let kind = match c.kind {
            crate::ColumnKind::Numeric => "numeric",
            crate::ColumnKind::Categorical => "categorical",
        };
        let _ = writeln!(
            out,
            "  {}  {:<11}  {:<13}  {:>10.4}  {:>10}  {:>9}  {}",
            fit(&printable(&c.column), width),
            kind,
            c.method.as_str(),
            c.statistic,
            p,
            c.threshold,
            verdict
        );
    }
    if details.columns.iter().any(|c| !c.method.is_test()) {
        let _ = writeln!(
            out,
            "  {}",
            paint.p(
                DIM,
                "p-value: the test's after correction; for distances, that of the column's test (ks, chisquare or ztest), uncorrected"
            )
        );
    }
    findings_list(
        &mut out,
        &paint,
        evidence
            .findings
            .iter()
            .filter(|f| f.rule != crate::rules::COLUMN_DRIFT.id),
    );
    if let Some(m) = &details.multivariate {
        let _ = writeln!(
            out,
            "\n  joint ({} numeric columns, {} rows each): MMD {:.4}, p {}{}",
            m.columns.len(),
            m.rows,
            m.statistic,
            p_text(m.p_value),
            if m.drifted { " DRIFT" } else { "" }
        );
    }
    let _ = writeln!(
        out,
        "\n{} of {} column(s) drifted{}; p-values corrected by {}; {} finding(s): {}",
        details.drifted,
        details.compared,
        if details.dataset_drift {
            " (dataset drift)"
        } else {
            ""
        },
        details.correction.as_str(),
        evidence.findings.len(),
        evidence.summary.verdict
    );
    out
}

/// Row findings shown per issue; the rest are counted (the JSON has them all).
const ROWS_SHOWN: usize = 10;

/// `mlsec data issues` for people: the table, the checks with their counts,
/// the most suspect rows of each issue, the table-level findings, a summary.
pub fn issues_human(evidence: &Evidence, details: &crate::IssuesDetails, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let features: usize = details.features.iter().map(|f| f.width).sum();
    let _ = writeln!(
        out,
        "{} {} ({} rows, {} feature(s) from {} column(s){})",
        paint.p(BOLD, "issues:"),
        printable(&details.data.path),
        details.data.rows,
        features,
        details.features.len(),
        details
            .label
            .as_ref()
            .map(|l| format!(
                ", label {} with {} classes",
                printable(l),
                details.classes.len()
            ))
            .unwrap_or_default()
    );
    if let Some(m) = &details.label_model {
        let _ = writeln!(
            out,
            "  {}",
            paint.p(
                DIM,
                &format!(
                    "{} accuracy {:.3}, estimated label noise {:.1}%",
                    if m.folds == 0 {
                        "the model's"
                    } else {
                        "out-of-fold"
                    },
                    m.accuracy,
                    100.0 * m.estimated_noise
                )
            )
        );
    }
    for check in &details.checks {
        let status = if !check.ran {
            paint.p(DIM, "not run")
        } else if check.flagged > 0 {
            paint.p(RED, &format!("{} row(s)", check.flagged))
        } else {
            paint.p(GREEN, "none")
        };
        let _ = writeln!(
            out,
            "\n  {} {}  {}",
            paint.p(BOLD, &format!("{:<10}", check.issue.as_str())),
            status,
            paint.p(DIM, &check.method)
        );
        if let Some(note) = &check.note {
            let _ = writeln!(out, "    {}", paint.p(DIM, &printable(note)));
        }
        let mut rows: Vec<&mlsec_core::Finding> = evidence
            .findings
            .iter()
            .filter(|f| {
                f.evidence.get("issue").and_then(|i| i.as_str()) == Some(check.issue.as_str())
            })
            .collect();
        // Most suspect first.
        rows.sort_by(|a, b| {
            let s = |f: &mlsec_core::Finding| {
                f.evidence
                    .get("score")
                    .and_then(|s| s.as_f64())
                    .unwrap_or(0.0)
            };
            match check.issue {
                crate::Issue::Duplicate | crate::Issue::Conflict => std::cmp::Ordering::Equal,
                _ => s(b).total_cmp(&s(a)),
            }
        });
        for f in rows.iter().take(ROWS_SHOWN) {
            let _ = writeln!(out, "    {}", printable(&f.message));
        }
        if rows.len() > ROWS_SHOWN {
            let _ = writeln!(
                out,
                "    {}",
                paint.p(
                    DIM,
                    &format!(
                        "... and {} more (--format json lists all)",
                        rows.len() - ROWS_SHOWN
                    )
                )
            );
        }
    }
    findings_list(
        &mut out,
        &paint,
        evidence
            .findings
            .iter()
            .filter(|f| f.evidence.get("issue").is_none()),
    );
    let _ = writeln!(
        out,
        "\n{} of {} row(s) flagged; {} finding(s): {}",
        details.flagged_rows,
        details.data.rows,
        evidence.findings.len(),
        evidence.summary.verdict
    );
    out
}

/// The findings a command's table does not show, one line each after a
/// blank line (nothing when there are none).
fn findings_list<'a>(
    out: &mut String,
    paint: &Paint,
    findings: impl Iterator<Item = &'a mlsec_core::Finding>,
) {
    let mut findings = findings.peekable();
    if findings.peek().is_some() {
        let _ = writeln!(out);
    }
    for f in findings {
        let _ = writeln!(
            out,
            "  {} {} {}",
            paint.p(BOLD, f.severity.as_str()),
            f.rule,
            printable(&f.message)
        );
    }
}
