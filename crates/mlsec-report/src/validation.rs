//! The model-validation sections of the HTML report: robustness (`redteam`,
//! `redteam.llm`), membership inference (`privacy`) and fairness and
//! explanations (`explain`). Read from the JSON by pointer, as drift is, so
//! a malformed envelope shows less and never fails the report.

use crate::escape;
use crate::html::at;
use crate::svg::{curves, measures, Curve, Measure};
use crate::EvidenceSet;
use serde_json::Value;
use std::fmt::Write as _;

/// Line and bar colours, one per attack or series (cycled).
const PALETTE: [&str; 6] = [
    "#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#bf3989",
];
/// Rows of a table or bars of a chart shown at most.
const MAX_ROWS: usize = 40;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn percent(v: &Value) -> String {
    num(v).map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn decimal(v: &Value) -> String {
    num(v).map_or("-".into(), |x| format!("{x:.3}"))
}

fn partial(out: &mut String, d: &Value) {
    if at(d, "/partial").as_bool() == Some(true) {
        let _ = write!(
            out,
            "<p><span class=\"badge warn\">partial</span> {}</p>",
            escape(&text(at(d, "/partial_reason")))
        );
    }
}

/// Every validation section, in the order the commands are run.
pub(crate) fn validation(out: &mut String, set: &EvidenceSet) {
    for e in &set.envelopes {
        let d = &e.evidence.details;
        match e.evidence.kind.as_str() {
            "redteam" => redteam(out, d),
            "redteam.llm" => redteam_llm(out, d),
            "privacy" => privacy(out, d),
            "explain" => explain(out, d),
            _ => {}
        }
    }
}

/// The robustness curve (robust accuracy against the radius, per attack)
/// and the table behind it.
fn redteam(out: &mut String, d: &Value) {
    let _ = write!(
        out,
        "<section><h2>Robustness: <code>{}</code></h2><p>On <code>{}</code>: {} of {} sampled row(s) classified correctly and attacked; {} norm, {} queries per row.</p>",
        escape(&text(at(d, "/model/name"))),
        escape(&text(at(d, "/data/path"))),
        text(at(d, "/sample/correct")),
        text(at(d, "/sample/rows")),
        escape(&text(at(d, "/norm"))),
        text(at(d, "/budget")),
    );
    partial(out, d);
    let attacks = list(at(d, "/attacks"));
    let mut names: Vec<String> = attacks.iter().map(|a| text(at(a, "/attack"))).collect();
    names.dedup();
    names.truncate(PALETTE.len());
    let lines: Vec<Curve> = names
        .iter()
        .zip(PALETTE.iter().cycle())
        .map(|(name, &colour)| {
            let mut points = vec![];
            if let Some(clean) = num(at(d, "/clean_accuracy")) {
                points.push((0.0, clean));
            }
            points.extend(
                attacks
                    .iter()
                    .filter(|a| text(at(a, "/attack")) == *name)
                    .filter_map(|a| Some((num(at(a, "/eps"))?, num(at(a, "/robust_accuracy"))?))),
            );
            Curve {
                name: name.clone(),
                colour,
                points,
            }
        })
        .collect();
    out.push_str("<p class=\"legend\">");
    for c in &lines {
        let _ = write!(
            out,
            "<span><i style=\"background:{}\"></i>{}</span>",
            c.colour,
            escape(&c.name)
        );
    }
    out.push_str("</p>");
    out.push_str(&curves(
        "Robust accuracy against the radius, per attack (0: clean accuracy)",
        "radius (share of each feature's range)",
        "robust accuracy",
        &lines,
    ));
    out.push_str("<table><thead><tr><th>attack</th><th>eps</th><th>clean accuracy</th><th>robust accuracy</th><th>success rate</th><th>median queries</th><th>median perturbation</th><th>rows</th></tr></thead><tbody>");
    for a in attacks.iter().take(MAX_ROWS) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&text(at(a, "/attack"))),
            decimal(at(a, "/eps")),
            percent(at(a, "/clean_accuracy")),
            percent(at(a, "/robust_accuracy")),
            percent(at(a, "/success_rate")),
            num(at(a, "/median_queries")).map_or("-".into(), |x| format!("{x:.0}")),
            decimal(at(a, "/median_perturbation")),
            escape(&text(at(a, "/rows"))),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// The LLM probes' pass rate per family, and what failed.
fn redteam_llm(out: &mut String, d: &Value) {
    let _ = write!(
        out,
        "<section><h2>LLM probes: <code>{}</code></h2><p>Model <code>{}</code>, answers judged by mlsec's guards.</p>",
        escape(&text(at(d, "/url"))),
        escape(&text(at(d, "/model"))),
    );
    partial(out, d);
    let rows: Vec<Measure> = list(at(d, "/families"))
        .iter()
        .take(MAX_ROWS)
        .map(|f| Measure {
            label: text(at(f, "/family")),
            value: num(at(f, "/pass_rate")).unwrap_or(f64::NAN),
            note: format!(
                "{} of {} probes passed",
                text(at(f, "/passed")),
                text(at(f, "/probes"))
            ),
            colour: "#1a7f37",
        })
        .collect();
    out.push_str(&measures("Pass rate per probe family", &rows, 1.0, None));
    let failures = list(at(d, "/failures"));
    if !failures.is_empty() {
        out.push_str("<details><summary>Failed probes</summary><table><thead><tr><th>family</th><th>probe</th><th>found</th><th>answer</th></tr></thead><tbody>");
        for f in failures.iter().take(MAX_ROWS) {
            let found: Vec<String> = list(at(f, "/found")).iter().map(text).collect();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td></tr>",
                escape(&text(at(f, "/family"))),
                escape(&text(at(f, "/probe"))),
                escape(&found.join(", ")),
                escape(&text(at(f, "/answer")).chars().take(300).collect::<String>()),
            );
        }
        out.push_str("</tbody></table></details>");
    }
    out.push_str("</section>\n");
}

/// Each membership-inference attack's AUC against guessing, its table, and
/// what a copy of the model costs.
fn privacy(out: &mut String, d: &Value) {
    let _ = write!(
        out,
        "<section><h2>Membership inference: <code>{}</code></h2><p>{} member and {} non-member row(s); accuracy {} on members, {} on non-members.</p>",
        escape(&text(at(d, "/model/name"))),
        text(at(d, "/rows/members")),
        text(at(d, "/rows/non_members")),
        percent(at(d, "/accuracy/members")),
        percent(at(d, "/accuracy/non_members")),
    );
    let attacks = list(at(d, "/attacks"));
    let rows: Vec<Measure> = attacks
        .iter()
        .take(MAX_ROWS)
        .map(|a| Measure {
            label: text(at(a, "/attack")),
            value: num(at(a, "/auc")).unwrap_or(f64::NAN),
            note: format!("advantage {}", decimal(at(a, "/advantage"))),
            colour: "#8250df",
        })
        .collect();
    out.push_str(&measures(
        "Attack ROC AUC per membership-inference attack",
        &rows,
        1.0,
        Some((0.5, "guessing")),
    ));
    out.push_str("<table><thead><tr><th>attack</th><th>AUC</th><th>advantage</th><th>TPR at 1% FPR</th><th>TPR at 0.1% FPR</th></tr></thead><tbody>");
    for a in attacks.iter().take(MAX_ROWS) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&text(at(a, "/attack"))),
            decimal(at(a, "/auc")),
            decimal(at(a, "/advantage")),
            percent(at(a, "/tpr_at_fpr/0.01")),
            percent(at(a, "/tpr_at_fpr/0.001")),
        );
    }
    out.push_str("</tbody></table>");
    let x = at(d, "/extraction");
    if !x.is_null() {
        let needed = match at(x, "/queries_needed") {
            Value::Null => "not reached".to_string(),
            v => format!("{} queries", text(v)),
        };
        let _ = write!(
            out,
            "<p>A copy of the model ({}) trained on its answers reaches {} agreement: {}.</p>",
            escape(&text(at(x, "/learner"))),
            percent(at(x, "/target_agreement")),
            escape(&needed)
        );
    }
    let inversion = list(at(d, "/inversion/features"));
    if !inversion.is_empty() {
        let _ = write!(
            out,
            "<p>Model inversion: each feature guessed from the others and the model's confidence in the row's label, on {} rows per side.</p><table><thead><tr><th>feature</th><th>members</th><th>non-members</th><th>most common value</th></tr></thead><tbody>",
            text(at(d, "/inversion/rows"))
        );
        for f in inversion {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&text(at(f, "/feature"))),
                percent(at(f, "/members")),
                percent(at(f, "/non_members")),
                percent(at(f, "/prior")),
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

/// Fairness per group, permutation importance and SHAP values.
fn explain(out: &mut String, d: &Value) {
    let _ = write!(
        out,
        "<section><h2>Fairness and explanations: <code>{}</code></h2><p>On <code>{}</code>: accuracy {}.</p>",
        escape(&text(at(d, "/model/name"))),
        escape(&text(at(d, "/data/path"))),
        percent(at(d, "/accuracy")),
    );
    let names: Vec<String> = list(at(d, "/features")).iter().map(text).collect();
    let feature = |v: &Value| -> String {
        v.as_u64()
            .and_then(|j| names.get(usize::try_from(j).ok()?))
            .cloned()
            .unwrap_or_else(|| text(v))
    };
    let f = at(d, "/fairness");
    if !f.is_null() {
        let m = at(f, "/metrics");
        let _ = write!(
            out,
            "<h3>Fairness across <code>{}</code> (positive class <code>{}</code>)</h3><p>Demographic parity ratio {}, equalized odds ratio {} (a ratio under 0.8 is the four-fifths rule's flag); differences {} and {}.</p>",
            escape(&text(at(f, "/sensitive"))),
            escape(&text(at(f, "/positive_class"))),
            decimal(at(m, "/demographic_parity_ratio")),
            decimal(at(m, "/equalized_odds_ratio")),
            decimal(at(m, "/demographic_parity_difference")),
            decimal(at(m, "/equalized_odds_difference")),
        );
        let groups = list(at(m, "/groups"));
        let rows: Vec<Measure> = groups
            .iter()
            .take(MAX_ROWS)
            .map(|g| Measure {
                label: text(at(g, "/name")),
                value: num(at(g, "/selection_rate")).unwrap_or(f64::NAN),
                note: format!("{} rows", text(at(g, "/count"))),
                colour: "#0969da",
            })
            .collect();
        out.push_str(&measures("Selection rate per group", &rows, 1.0, None));
        out.push_str("<table><thead><tr><th>group</th><th>rows</th><th>accuracy</th><th>selection rate</th><th>TPR</th><th>FPR</th></tr></thead><tbody>");
        for g in groups.iter().take(MAX_ROWS) {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&text(at(g, "/name"))),
                escape(&text(at(g, "/count"))),
                percent(at(g, "/accuracy")),
                percent(at(g, "/selection_rate")),
                percent(at(g, "/tpr")),
                percent(at(g, "/fpr")),
            );
        }
        out.push_str("</tbody></table>");
    }
    let imp = at(d, "/importance");
    if !imp.is_null() {
        let mut features: Vec<&Value> = list(at(imp, "/features")).iter().collect();
        features.sort_by(|a, b| {
            let v = |x: &Value| num(at(x, "/mean")).unwrap_or(f64::NEG_INFINITY);
            v(b).total_cmp(&v(a))
        });
        let full = features
            .iter()
            .filter_map(|x| num(at(x, "/mean")))
            .fold(0.0f64, f64::max);
        let rows: Vec<Measure> = features
            .iter()
            .take(MAX_ROWS)
            .map(|x| Measure {
                label: feature(at(x, "/feature")),
                value: num(at(x, "/mean")).unwrap_or(f64::NAN),
                note: format!(
                    "95% interval {} to {}",
                    decimal(at(x, "/ci_low")),
                    decimal(at(x, "/ci_high"))
                ),
                colour: "#bf8700",
            })
            .collect();
        let _ = write!(
            out,
            "<h3>Permutation importance</h3><p>The drop in {} (baseline {}) when a feature's values are shuffled, mean of {} repeats.</p>",
            escape(&text(at(imp, "/scorer"))),
            decimal(at(imp, "/baseline")),
            text(at(imp, "/repeats")),
        );
        out.push_str(&measures(
            "Permutation importance per feature",
            &rows,
            full,
            None,
        ));
    }
    for row in list(at(d, "/shap")).iter().take(5) {
        let mut values: Vec<(String, f64)> = list(at(row, "/values"))
            .iter()
            .enumerate()
            .filter_map(|(j, v)| Some((names.get(j).cloned().unwrap_or_default(), num(v)?)))
            .collect();
        values.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        values.truncate(12);
        let full = values.iter().map(|v| v.1.abs()).fold(0.0f64, f64::max);
        let rows: Vec<Measure> = values
            .into_iter()
            .map(|(label, v)| Measure {
                label: format!("{label} ({})", if v < 0.0 { "−" } else { "+" }),
                value: v.abs(),
                note: format!("{v:+.4}"),
                colour: if v < 0.0 { "#cf222e" } else { "#1a7f37" },
            })
            .collect();
        let _ = write!(
            out,
            "<h3>SHAP values of row {} (class <code>{}</code>)</h3><p>Base value {}, prediction {}; green raises the class's score, red lowers it.</p>",
            text(at(row, "/row")),
            escape(&text(at(row, "/class"))),
            decimal(at(row, "/base_value")),
            decimal(at(row, "/prediction")),
        );
        out.push_str(&measures("SHAP values, largest first", &rows, full, None));
    }
    out.push_str("</section>\n");
}
