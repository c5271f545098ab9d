//! The HTML report: one self-contained file with no script and no network
//! request (a Content-Security-Policy forbids both), readable in any browser
//! and printable. Everything taken from evidence is escaped.

use crate::svg::{bars, stacked, Bar};
use crate::{controls, escape, rule_id, Envelope, EvidenceSet};
use mlsec_core::{Finding, Severity};
use mlsec_policy::Status;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Findings shown per envelope; the rest are counted and left to the
/// envelope file, so a scan of a million files still gives a report a
/// browser opens.
pub const MAX_ROWS: usize = 500;

const STYLE: &str = "
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0 0 16px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;font-size:13px;vertical-align:middle}
.pass{background:#1a7f37}.warn{background:#9a6700}.deny,.fail,.error{background:#cf222e}.na{background:#8c959f}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-weight:600}
td.msg{white-space:pre-wrap;word-break:break-word}td.id{white-space:nowrap}
ul.msgs{margin:0;padding-left:16px}ul.msgs li{margin-bottom:4px;word-break:break-word}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
details{margin:8px 0;border:1px solid var(--line);border-radius:6px;padding:4px 12px}
summary{cursor:pointer;font-weight:600;padding:4px 0}
.sev-critical{color:#82071e;font-weight:700}.sev-high{color:#cf222e;font-weight:600}.sev-medium{color:#9a6700}.sev-low{color:#0969da}.sev-info{color:var(--muted)}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid var(--line);border-radius:6px;padding:8px 16px;min-width:120px}
.card b{display:block;font-size:22px}
svg.chart{max-width:100%;height:auto}svg.chart text{font:12px system-ui,sans-serif;fill:var(--fg)}
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
footer{margin-top:40px;color:var(--muted);font-size:12px}
@media print{details{border:none}details>summary{list-style:none}}
";

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#82071e",
        Severity::High => "#cf222e",
        Severity::Medium => "#bf8700",
        Severity::Low => "#0969da",
        Severity::Info => "#8c959f",
    }
}

const MET: &str = "#1a7f37";
const FAILED: &str = "#cf222e";
const NOT_COVERED: &str = "#d0d7de";

fn badge(decision: &str) -> String {
    let class = match decision {
        "pass" | "passed" | "ok" => "pass",
        "warn" | "warned" => "warn",
        "deny" | "denied" | "fail" => "deny",
        "error" => "error",
        _ => "na",
    };
    let text = match decision {
        "deny" | "denied" => "DENY",
        "warn" => "PASS with warnings",
        "warned" => "WARN",
        "pass" | "passed" => "PASS",
        "fail" => "FAIL",
        "error" => "ERROR",
        "not_applicable" => "n/a",
        other => other,
    };
    format!("<span class=\"badge {class}\">{}</span>", escape(text))
}

/// The evidence set as one HTML document.
pub fn html(set: &EvidenceSet) -> String {
    let title = match &set.check {
        Some((_, d)) => format!("mlsec check: {}", d.project),
        None => "mlsec report".to_string(),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"generator\" content=\"mlsec {}\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(mlsec_core::TOOL_VERSION),
        escape(&title)
    );
    header(&mut out, set, &title);
    summary(&mut out, set);
    policy(&mut out, set);
    checks(&mut out, set);
    findings(&mut out, set);
    personal_data(&mut out, set);
    drift(&mut out, set);
    crate::validation::validation(&mut out, set);
    threat_model(&mut out, set);
    compliance(&mut out, set);
    let _ = write!(
        out,
        "<footer>Written by mlsec {} from the evidence envelopes named above. This file loads nothing and runs no script.</footer>\n</body></html>\n",
        escape(mlsec_core::TOOL_VERSION)
    );
    out
}

fn header(out: &mut String, set: &EvidenceSet, title: &str) {
    let _ = write!(
        out,
        "<header><h1>{} {}</h1>",
        escape(title),
        badge(set.decision())
    );
    match &set.check {
        Some((evidence, d)) => {
            let _ = write!(
                out,
                "<p class=\"meta\">Decided {} from <code>{}</code>; evidence in <code>{}</code>.</p>",
                escape(&evidence.created),
                escape(&d.config),
                escape(&d.evidence_dir)
            );
        }
        None => {
            let _ = write!(
                out,
                "<p class=\"meta\">{} evidence envelope(s); no policy decision (report on an evidence folder written by <code>mlsec check</code> for one).</p>",
                set.envelopes.len()
            );
        }
    }
    out.push_str("</header>\n");
}

fn all_findings(set: &EvidenceSet) -> impl Iterator<Item = &Finding> {
    set.envelopes
        .iter()
        .flat_map(|e| e.evidence.findings.iter())
}

fn summary(out: &mut String, set: &EvidenceSet) {
    out.push_str("<section><h2>Summary</h2><div class=\"cards\">");
    let card = |out: &mut String, n: usize, what: &str| {
        let _ = write!(out, "<div class=\"card\"><b>{n}</b>{}</div>", escape(what));
    };
    let runs = set.envelopes.len() + set.failed_runs.len();
    card(out, runs, "checks run");
    card(out, set.failed_runs.len(), "checks in error");
    if let Some((_, d)) = &set.check {
        let level =
            |l: mlsec_policy::Level| d.policy.messages.iter().filter(|m| m.level == l).count();
        card(out, level(mlsec_policy::Level::Deny), "denials");
        card(out, level(mlsec_policy::Level::Warn), "warnings");
    }
    card(out, all_findings(set).count(), "findings");
    out.push_str("</div>");
    let mut counts: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    for f in all_findings(set) {
        *counts.entry(f.severity).or_default() += 1;
    }
    let rows: Vec<Bar> = counts
        .iter()
        .rev()
        .map(|(s, n)| Bar {
            label: s.as_str().to_string(),
            value: *n,
            colour: severity_colour(*s),
        })
        .collect();
    out.push_str("<h3>Findings by severity</h3>");
    out.push_str(&bars("Findings by severity", &rows));
    out.push_str("</section>\n");
}

fn policy(out: &mut String, set: &EvidenceSet) {
    let Some((_, d)) = &set.check else {
        return;
    };
    out.push_str("<section><h2>Policy</h2><table><thead><tr><th>outcome</th><th>rule</th><th>title</th><th>controls</th><th>messages</th></tr></thead><tbody>");
    for rule in &d.policy.rules {
        let id = rule_id(rule);
        let controls = controls(rule);
        let messages: Vec<String> = d
            .policy
            .messages
            .iter()
            .filter(|m| m.package == rule.package)
            .map(|m| format!("<li>{}</li>", escape(&m.msg)))
            .collect();
        let messages = if messages.is_empty() {
            String::new()
        } else {
            format!("<ul class=\"msgs\">{}</ul>", messages.concat())
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"id\"><code>{}</code></td><td>{}<br><small>{}</small></td><td>{}</td><td>{messages}</td></tr>",
            badge(&rule.status),
            escape(id),
            escape(&rule.metadata.title),
            escape(&rule.origin),
            escape(&controls.join(", "))
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn checks(out: &mut String, set: &EvidenceSet) {
    out.push_str("<section><h2>Checks</h2><table><thead><tr><th>check</th><th>target</th><th>outcome</th><th>findings</th><th>time</th><th>evidence</th></tr></thead><tbody>");
    for e in &set.envelopes {
        let (kind, target, millis) = match &e.run {
            Some(r) => (
                r.kind.as_str().to_string(),
                r.target.clone(),
                Some(r.millis),
            ),
            None => (
                e.evidence.kind.clone(),
                e.evidence
                    .subjects
                    .first()
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                None,
            ),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&kind),
            escape(&target),
            badge(&e.evidence.summary.verdict),
            e.evidence.findings.len(),
            millis.map(|m| format!("{m} ms")).unwrap_or_default(),
            escape(&file_name(e))
        );
    }
    for r in &set.failed_runs {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td colspan=\"3\" class=\"msg\">{}</td></tr>",
            escape(r.kind.as_str()),
            escape(&r.target),
            badge("error"),
            escape(r.error.as_deref().unwrap_or("the check could not run"))
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn file_name(e: &Envelope) -> String {
    e.file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn findings(out: &mut String, set: &EvidenceSet) {
    if all_findings(set).next().is_none() {
        return;
    }
    out.push_str("<section><h2>Findings</h2>");
    for e in set
        .envelopes
        .iter()
        .filter(|e| !e.evidence.findings.is_empty())
    {
        let mut sorted: Vec<&Finding> = e.evidence.findings.iter().collect();
        sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let open = if e.evidence.failed() { " open" } else { "" };
        let target = e
            .run
            .as_ref()
            .map_or_else(|| file_name(e), |r| r.target.clone());
        let _ = write!(
            out,
            "<details{open}><summary>{} <code>{}</code>: {} finding(s) {}</summary><table><thead><tr><th>severity</th><th>rule</th><th>where</th><th>message</th></tr></thead><tbody>",
            escape(&e.evidence.kind),
            escape(&target),
            e.evidence.findings.len(),
            badge(&e.evidence.summary.verdict)
        );
        for f in sorted.iter().take(MAX_ROWS) {
            let place = match &f.location {
                Some(at) => format!("{} ({at})", f.subject),
                None => f.subject.clone(),
            };
            let _ = write!(
                out,
                "<tr><td class=\"sev-{}\">{}</td><td><code>{}</code></td><td><code>{}</code></td><td class=\"msg\">{}</td></tr>",
                f.severity,
                f.severity,
                escape(&f.rule),
                escape(&place),
                escape(&f.message)
            );
        }
        out.push_str("</tbody></table>");
        if sorted.len() > MAX_ROWS {
            let _ = write!(
                out,
                "<p>{} more finding(s) in <code>{}</code>.</p>",
                sorted.len() - MAX_ROWS,
                escape(&e.file.display().to_string())
            );
        }
        out.push_str("</details>");
    }
    out.push_str("</section>\n");
}

/// Personal data found per dataset column (or per file for text), the
/// columns with most first.
fn personal_data(out: &mut String, set: &EvidenceSet) {
    let mut per_column: BTreeMap<String, usize> = BTreeMap::new();
    let mut entities: BTreeMap<String, usize> = BTreeMap::new();
    for e in set
        .envelopes
        .iter()
        .filter(|e| e.evidence.kind == "data.pii")
    {
        for f in &e.evidence.findings {
            let Some(entity) = &f.entity else { continue };
            let file = f.subject.rsplit('/').next().unwrap_or(&f.subject);
            let column = f
                .span
                .as_ref()
                .and_then(|s| s.column.clone())
                .unwrap_or_else(|| "(text)".into());
            *per_column.entry(format!("{file} [{column}]")).or_default() += 1;
            *entities.entry(entity.clone()).or_default() += 1;
        }
    }
    if per_column.is_empty() {
        return;
    }
    let top = |m: BTreeMap<String, usize>, colour: &'static str| -> Vec<Bar> {
        let mut v: Vec<(String, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.into_iter()
            .take(25)
            .map(|(label, value)| Bar {
                label,
                value,
                colour,
            })
            .collect()
    };
    out.push_str("<section><h2>Personal data</h2><h3>Findings per column</h3>");
    out.push_str(&bars(
        "Personal data findings per column",
        &top(per_column, "#8250df"),
    ));
    out.push_str("<h3>Findings per entity</h3>");
    out.push_str(&bars(
        "Personal data findings per entity",
        &top(entities, "#bf3989"),
    ));
    out.push_str("</section>\n");
}

/// Drift: per envelope, a table of the compared columns and, for each drifted
/// column, reference against current as a histogram. Read from the JSON, so
/// a malformed envelope shows less, never fails the report.
fn drift(out: &mut String, set: &EvidenceSet) {
    const CHARTS: usize = 12;
    for e in set.envelopes.iter().filter(|e| e.evidence.kind == "drift") {
        let d = &e.evidence.details;
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        let num = |v: &Value| v.as_f64().filter(|x| x.is_finite());
        let _ = write!(
            out,
            "<section><h2>Drift: <code>{}</code></h2><p>Against <code>{}</code>: {} of {} column(s) drifted{}; p-values corrected by {}.</p>",
            escape(&text(at(d, "/current/path"))),
            escape(&text(at(d, "/reference/path"))),
            at(d, "/drifted").as_u64().unwrap_or(0),
            at(d, "/compared").as_u64().unwrap_or(0),
            if at(d, "/dataset_drift").as_bool() == Some(true) { " (dataset drift)" } else { "" },
            escape(&text(at(d, "/correction")))
        );
        let columns: Vec<&Value> = at(d, "/columns")
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        out.push_str("<table><thead><tr><th>column</th><th>kind</th><th>method</th><th>statistic</th><th>p-value</th><th>threshold</th><th>verdict</th></tr></thead><tbody>");
        let mut sorted = columns.clone();
        sorted.sort_by_key(|c| at(c, "/drifted").as_bool() != Some(true));
        for c in &sorted {
            let p = num(at(c, "/p_value_adjusted")).or_else(|| num(at(c, "/test/p_value")));
            let verdict = if at(c, "/drifted").as_bool() == Some(true) {
                "<span class=\"badge fail\">drift</span>"
            } else {
                "<span class=\"badge pass\">ok</span>"
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{verdict}</td></tr>",
                escape(&text(at(c, "/column"))),
                escape(&text(at(c, "/kind"))),
                escape(&text(at(c, "/method"))),
                num(at(c, "/statistic")).map_or("-".into(), |x| format!("{x:.4}")),
                p.map_or("-".into(), |x| format!("{x:.3e}")),
                num(at(c, "/threshold")).map_or("-".into(), |x| x.to_string()),
            );
        }
        out.push_str("</tbody></table>");
        for c in sorted
            .iter()
            .filter(|c| at(c, "/drifted").as_bool() == Some(true))
            .take(CHARTS)
        {
            let h = &at(c, "/histogram");
            let shares = |v: &Value| -> Vec<f64> {
                v.as_array()
                    .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(0.0)).collect())
                    .unwrap_or_default()
            };
            let edges = shares(at(h, "/edges"));
            let labels: Vec<String> = at(h, "/categories")
                .as_array()
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default();
            let ends = match (edges.first(), edges.last()) {
                (Some(a), Some(b)) if labels.is_empty() => Some((*a, *b)),
                _ => None,
            };
            let column = text(at(c, "/column"));
            let _ = write!(
                out,
                "<h3><code>{}</code>: reference (grey) and current (orange)</h3>",
                escape(&column)
            );
            out.push_str(&crate::svg::histogram(
                &format!("{column}: share of values per bin, reference against current"),
                &labels,
                ends,
                &shares(at(h, "/reference")),
                &shares(at(h, "/current")),
            ));
        }
        out.push_str("</section>\n");
    }
}

/// The value at `pointer` in `v`, null when absent (evidence may be malformed).
pub(crate) fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.pointer(pointer).unwrap_or(&NULL)
}

/// The threat model's threats: each with where it applies and the rules
/// that cover it, the gaps first.
fn threat_model(out: &mut String, set: &EvidenceSet) {
    use mlsec_threat::{Status as Coverage, ThreatModelDetails};
    for e in set
        .envelopes
        .iter()
        .filter(|e| e.evidence.kind == "threat-model")
    {
        let Ok(d) = serde_json::from_value::<ThreatModelDetails>(e.evidence.details.clone()) else {
            continue;
        };
        let _ = write!(
            out,
            "<section><h2>Threat model</h2><p>{} (<code>{}</code>): {} threat(s), {} covered, {} partly, {} not covered by any check.</p>",
            escape(&d.system),
            escape(&d.file),
            d.counts.threats,
            d.counts.covered,
            d.counts.partial,
            d.counts.gaps
        );
        let part = |label: &str, value, colour| Bar {
            label: label.to_string(),
            value,
            colour,
        };
        out.push_str(&stacked(
            "Threats covered, partly covered and not covered",
            &[(
                "threats".to_string(),
                vec![
                    part("covered", d.counts.covered, MET),
                    part("partly covered", d.counts.partial, "#bf8700"),
                    part("not covered", d.counts.gaps, FAILED),
                ],
            )],
        ));
        out.push_str("<table><thead><tr><th>threat</th><th>title</th><th>where</th><th>covered by</th></tr></thead><tbody>");
        let mut threats: Vec<_> = d.threats.iter().collect();
        threats.sort_by_key(|t| match t.status {
            Coverage::Gap => 0,
            Coverage::Partial => 1,
            Coverage::Covered => 2,
        });
        for t in threats {
            let places: Vec<String> = t
                .reasons
                .iter()
                .flat_map(|r| r.places.iter().map(|p| p.to_string()))
                .collect();
            let covered = match t.status {
                Coverage::Gap => "<span class=\"badge fail\">not covered</span>".to_string(),
                _ => {
                    let rules: Vec<String> = t
                        .covered_by
                        .iter()
                        .map(|c| format!("{} ({})", c.rule, c.checks.join(", ")))
                        .collect();
                    let badge = if t.status == Coverage::Partial {
                        "<span class=\"badge warn\">partly</span> "
                    } else {
                        ""
                    };
                    format!("{badge}{}", escape(&rules.join("; ")))
                }
            };
            let _ = write!(
                out,
                "<tr><td class=\"id\"><code>{}</code></td><td>{}</td><td>{}</td><td>{covered}</td></tr>",
                escape(&t.id),
                escape(&t.title),
                escape(&places.join(", "))
            );
        }
        out.push_str("</tbody></table></section>\n");
    }
}

fn compliance(out: &mut String, set: &EvidenceSet) {
    let Some((_, d)) = &set.check else {
        return;
    };
    if d.compliance.is_empty() {
        return;
    }
    out.push_str("<section><h2>Compliance</h2><p class=\"legend\"><span><i style=\"background:#1a7f37\"></i>met</span><span><i style=\"background:#cf222e\"></i>failed</span><span><i style=\"background:#d0d7de\"></i>not covered by any check</span></p>");
    let count = |f: &mlsec_policy::FrameworkStatus, s: Status| {
        f.controls.iter().filter(|c| c.status == s).count()
    };
    let rows: Vec<(String, Vec<Bar>)> = d
        .compliance
        .iter()
        .map(|f| {
            let part = |label: &str, s: Status, colour| Bar {
                label: label.to_string(),
                value: count(f, s),
                colour,
            };
            (
                f.name.clone(),
                vec![
                    part("met", Status::Met, MET),
                    part("failed", Status::Failed, FAILED),
                    part("not covered", Status::NotCovered, NOT_COVERED),
                ],
            )
        })
        .collect();
    out.push_str(&stacked(
        "Controls met, failed and not covered per framework",
        &rows,
    ));
    // Per framework: the controls the checks decided, in a table, and the
    // ones no check covers, listed one click away (ATLAS alone has 170).
    for f in &d.compliance {
        let _ = write!(
            out,
            "<h3>{} {}</h3><p>{} met, {} failed, {} not covered.</p>",
            escape(&f.name),
            escape(&f.version),
            count(f, Status::Met),
            count(f, Status::Failed),
            count(f, Status::NotCovered)
        );
        let decided: Vec<&mlsec_policy::ControlStatus> = f
            .controls
            .iter()
            .filter(|c| c.status != Status::NotCovered)
            .collect();
        if !decided.is_empty() {
            out.push_str("<table><thead><tr><th>control</th><th>title</th><th>status</th><th>rules</th><th>evidence</th></tr></thead><tbody>");
            let mut decided = decided;
            decided.sort_by_key(|c| c.status != Status::Failed);
            for c in decided {
                let status = if c.status == Status::Failed {
                    "<span class=\"badge fail\">failed</span>"
                } else {
                    "<span class=\"badge pass\">met</span>"
                };
                let _ = write!(
                    out,
                    "<tr><td class=\"id\"><code>{}</code></td><td>{}</td><td>{status}</td><td>{}</td><td>{}</td></tr>",
                    escape(&c.id),
                    escape(&c.title),
                    escape(&c.rules.join(", ")),
                    escape(&c.evidence.join(", "))
                );
            }
            out.push_str("</tbody></table>");
        }
        let gaps: Vec<String> = f
            .controls
            .iter()
            .filter(|c| c.status == Status::NotCovered)
            .map(|c| {
                format!(
                    "<li><code>{}</code> {}</li>",
                    escape(&c.id),
                    escape(&c.title)
                )
            })
            .collect();
        if !gaps.is_empty() {
            let _ = write!(
                out,
                "<details><summary>{} control(s) no check covers</summary><ul>{}</ul></details>",
                gaps.len(),
                gaps.concat()
            );
        }
    }
    out.push_str("</section>\n");
}
