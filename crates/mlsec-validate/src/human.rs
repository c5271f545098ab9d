//! `mlsec redteam` for people: the model and data, one line per attack and
//! epsilon, an example flip, and a summary line like every other command's.

use std::fmt::Write;

use mlsec_core::render::{printable, Paint};
use mlsec_core::Evidence;

use crate::RedteamDetails;

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";

/// The red-team run of `evidence` (whose details are `details`) for a
/// terminal; `colour` adds ANSI colours.
pub fn redteam_human(evidence: &Evidence, details: &RedteamDetails, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({} features, {} classes, {}) on {} ({} rows{})",
        paint.p(BOLD, "redteam:"),
        printable(&details.model.name),
        details.model.features,
        details.model.classes.len(),
        details.model.output,
        printable(&details.data.path),
        details.data.rows,
        if details.data.skipped_rows > 0 {
            format!(", {} skipped", details.data.skipped_rows)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "  clean accuracy {:.3}; {} rows sampled (seed {}), {} classified correctly and attacked; budget {} queries per row{}",
        details.clean_accuracy,
        details.sample.rows,
        details.sample.seed,
        details.sample.correct,
        details.budget,
        details
            .target
            .as_ref()
            .map(|t| format!("; target class {}", printable(t)))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "\n  {}",
        paint.p(
            DIM,
            &format!(
                "{:<9} {:<5} {:>7} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}",
                "attack",
                "norm",
                "eps",
                "clean",
                "robust",
                "success",
                "queries",
                "perturb",
                "seconds"
            )
        )
    );
    for a in &details.attacks {
        let line = format!(
            "{:<9} {:<5} {:>7} {:>8.3} {:>8.3} {:>8.3} {:>9} {:>9} {:>8.2}",
            a.attack,
            a.norm,
            a.eps,
            a.clean_accuracy,
            a.robust_accuracy,
            a.success_rate,
            a.median_queries,
            a.median_perturbation
                .map_or("-".to_string(), |p| format!("{p:.4}")),
            a.seconds
        );
        let flagged = evidence.findings.iter().any(|f| {
            f.evidence.get("attack").and_then(|v| v.as_str()) == Some(&a.attack)
                && f.evidence.get("eps").and_then(|v| v.as_f64()) == Some(f64::from(a.eps))
        });
        let _ = writeln!(
            out,
            "  {}",
            if flagged { paint.p(RED, &line) } else { line }
        );
    }
    if let Some((a, ex)) = details
        .attacks
        .iter()
        .find_map(|a| a.examples.first().map(|e| (a, e)))
    {
        let changes: Vec<String> = ex
            .changes
            .iter()
            .take(6)
            .map(|c| format!("{} {} -> {}", printable(&c.feature), c.from, c.to))
            .collect();
        let _ = writeln!(
            out,
            "\n  e.g. {} (eps {}): row {}, {} -> {}: {}{}",
            a.attack,
            a.eps,
            ex.row,
            printable(&ex.label),
            printable(&ex.adversarial_class),
            changes.join(", "),
            if ex.changes.len() > 6 { ", ..." } else { "" }
        );
    }
    if let Some(reason) = &details.partial_reason {
        let _ = writeln!(
            out,
            "\n  {} {}",
            paint.p(RED, "partial:"),
            printable(reason)
        );
    }
    let _ = writeln!(
        out,
        "\n{} finding(s): {}",
        evidence.findings.len(),
        evidence.summary.verdict
    );
    out
}
