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
    let others: Vec<_> = evidence
        .findings
        .iter()
        .filter(|f| f.rule != crate::rules::COLUMN_DRIFT.id)
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out);
        for f in others {
            let _ = writeln!(
                out,
                "  {} {} {}",
                paint.p(BOLD, f.severity.as_str()),
                f.rule,
                printable(&f.message)
            );
        }
    }
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
