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
    partial(&mut out, &paint, details.partial_reason.as_deref());
    summary(&mut out, evidence);
    out
}

/// The explanation of `evidence` (whose details are `details`) for a
/// terminal: fairness per group, the features by importance, the SHAP
/// values of the rows asked for.
pub fn explain_human(
    evidence: &Evidence,
    details: &crate::explain::ExplainDetails,
    colour: bool,
) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} on {} ({} rows); accuracy {:.3}",
        paint.p(BOLD, "explain:"),
        printable(&details.model.name),
        printable(&details.data.path),
        details.data.rows,
        details.accuracy
    );
    if let Some(f) = &details.fairness {
        let m = &f.metrics;
        let _ = writeln!(
            out,
            "\n  fairness across {} (favourable class {})",
            printable(&f.sensitive),
            printable(&f.positive_class)
        );
        let _ = writeln!(
            out,
            "  {}",
            paint.p(
                DIM,
                &format!(
                    "{:<20} {:>6} {:>9} {:>9} {:>7} {:>7}",
                    "group", "rows", "accuracy", "selected", "tpr", "fpr"
                )
            )
        );
        for g in &m.groups {
            let _ = writeln!(
                out,
                "  {:<20} {:>6} {:>9.3} {:>9.3} {:>7.3} {:>7.3}",
                printable(&g.name),
                g.rates.count,
                g.rates.accuracy,
                g.rates.selection_rate,
                g.rates.tpr,
                g.rates.fpr
            );
        }
        let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.3}"));
        let _ = writeln!(
            out,
            "  demographic parity: difference {:.3}, ratio {}; equalized odds: difference {:.3}, ratio {}",
            m.demographic_parity_difference,
            ratio(m.demographic_parity_ratio),
            m.equalized_odds_difference,
            ratio(m.equalized_odds_ratio)
        );
    }
    if let Some(imp) = &details.importance {
        let mut order: Vec<&crate::explain::importance::FeatureImportance> =
            imp.features.iter().collect();
        order.sort_by(|a, b| b.mean.total_cmp(&a.mean));
        let _ = writeln!(
            out,
            "\n  permutation importance (accuracy {:.3}, {} repeats; 95% interval)",
            imp.baseline, imp.repeats
        );
        for f in order {
            let name = details.features.get(f.feature).map_or("?", String::as_str);
            let interval = match (f.ci_low, f.ci_high) {
                (Some(lo), Some(hi)) => format!("[{lo:.3}, {hi:.3}]"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:<24} {:>7.3} {}",
                printable(name),
                f.mean,
                interval
            );
        }
    }
    for row in &details.shap {
        let mut parts: Vec<(usize, f64)> = row.values.iter().copied().enumerate().collect();
        parts.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let shown: Vec<String> = parts
            .iter()
            .take(5)
            .map(|(j, v)| {
                format!(
                    "{} {v:+.3}",
                    printable(details.features.get(*j).map_or("?", String::as_str))
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "\n  row {}: p({}) {:.3} = base {:.3} + {}",
            row.row,
            printable(&row.class),
            row.prediction,
            row.base_value,
            shown.join(", ")
        );
    }
    summary(&mut out, evidence);
    out
}

/// The LLM probes of `evidence` for a terminal: one line per family, then
/// the failed probes with the start of their answers.
pub fn llm_human(evidence: &Evidence, details: &crate::llm::LlmDetails, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} (model {})",
        paint.p(BOLD, "redteam:"),
        printable(&details.url),
        printable(&details.model)
    );
    for f in &details.families {
        let line = format!(
            "  {:<10} {:>3} of {:>3} probes passed ({:.0}%)",
            f.family.as_str(),
            f.passed,
            f.probes,
            100.0 * f.pass_rate
        );
        let _ = writeln!(
            out,
            "{}",
            if f.passed < f.probes {
                paint.p(RED, &line)
            } else {
                line
            }
        );
    }
    for fail in &details.failures {
        let answer: String = fail.answer.chars().take(120).collect();
        let _ = writeln!(
            out,
            "\n  {} {}: found {}\n    {}",
            fail.family.as_str(),
            fail.probe,
            fail.found.join(", "),
            paint.p(DIM, &printable(&answer.replace('\n', " ")))
        );
    }
    partial(&mut out, &paint, details.partial_reason.as_deref());
    summary(&mut out, evidence);
    out
}

/// The membership-inference audit of `evidence` for a terminal: the
/// accuracy gap, one line per attack, the extraction cost.
pub fn privacy_human(
    evidence: &Evidence,
    details: &crate::privacy::PrivacyDetails,
    colour: bool,
) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({} members, {} non-members attacked); accuracy on members {:.3}, on non-members {:.3}",
        paint.p(BOLD, "privacy:"),
        printable(&details.model.name),
        details.rows.members,
        details.rows.non_members,
        details.accuracy.members,
        details.accuracy.non_members
    );
    let _ = writeln!(
        out,
        "\n  {}",
        paint.p(
            DIM,
            &format!(
                "{:<16} {:>6} {:>10} {:>12} {:>13}",
                "attack", "auc", "advantage", "tpr@1%fpr", "tpr@0.1%fpr"
            )
        )
    );
    for a in &details.attacks {
        let line = format!(
            "{:<16} {:>6.3} {:>10.3} {:>12.3} {:>13.3}",
            a.attack, a.auc, a.advantage, a.tpr_at_fpr.fpr_1e2, a.tpr_at_fpr.fpr_1e3
        );
        let flagged = evidence
            .findings
            .iter()
            .any(|f| f.evidence.get("attack").and_then(|v| v.as_str()) == Some(&a.attack));
        let _ = writeln!(
            out,
            "  {}",
            if flagged { paint.p(RED, &line) } else { line }
        );
    }
    if let Some(x) = &details.extraction {
        let _ = writeln!(
            out,
            "\n  extraction: {} queries made a copy ({}) agree with the model on {:.0}% of {} held-out rows",
            x.queries_needed
                .map_or("no number of".to_string(), |q| q.to_string()),
            x.learner,
            100.0 * x.target_agreement,
            x.held_out
        );
    }
    if let Some(w) = details.inversion.as_ref().and_then(|i| i.worst()) {
        let rows = details.inversion.as_ref().map_or(0, |i| i.rows);
        let _ = writeln!(
            out,
            "  inversion: {} inferred for {:.0}% of members and {:.0}% of non-members (the most common value: {:.0}%); {} values tried on {rows} rows per side",
            w.feature,
            100.0 * w.members,
            100.0 * w.non_members,
            100.0 * w.prior,
            w.bins
        );
    }
    summary(&mut out, evidence);
    out
}

/// Why a run stopped early, when it did.
fn partial(out: &mut String, paint: &Paint, reason: Option<&str>) {
    if let Some(reason) = reason {
        let _ = writeln!(
            out,
            "\n  {} {}",
            paint.p(RED, "partial:"),
            printable(reason)
        );
    }
}

/// The closing line every command's terminal output ends with.
fn summary(out: &mut String, evidence: &Evidence) {
    let _ = writeln!(
        out,
        "\n{} finding(s): {}",
        evidence.findings.len(),
        evidence.summary.verdict
    );
}
