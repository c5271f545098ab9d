//! JUnit XML, the format CI systems show in their test tabs (GitLab's
//! `artifacts:reports:junit`, Jenkins, Azure DevOps, GitHub test reporters).
//!
//! Each policy rule is a test case (denied: failure; warned: passed with the
//! warnings as output; not applicable: skipped). Each producer's envelope is
//! a test suite whose cases are its subjects: a subject fails when a finding
//! about it reaches the envelope's threshold. A check that could not run is
//! an error.

use crate::{escape, Envelope, EvidenceSet};
use mlsec_check::CheckRun;
use mlsec_core::Finding;
use std::fmt::Write as _;

#[derive(Default)]
struct Suite {
    name: String,
    time: f64,
    cases: Vec<Case>,
}

struct Case {
    classname: String,
    name: String,
    outcome: Outcome,
    output: String,
}

enum Outcome {
    Pass,
    Failure {
        kind: String,
        message: String,
        text: String,
    },
    Error {
        message: String,
    },
    Skipped {
        message: String,
    },
}

/// The evidence set as a JUnit XML document.
pub fn junit(set: &EvidenceSet) -> String {
    let mut suites = Vec::new();
    if let Some((_, details)) = &set.check {
        let mut suite = Suite {
            name: "policy".into(),
            ..Suite::default()
        };
        for rule in &details.policy.rules {
            let messages: Vec<&str> = details
                .policy
                .messages
                .iter()
                .filter(|m| m.package == rule.package)
                .map(|m| m.msg.as_str())
                .collect();
            let id = crate::rule_id(rule);
            let name = if rule.metadata.title.is_empty() {
                id.to_string()
            } else {
                format!("{id} {}", rule.metadata.title)
            };
            let (outcome, output) = match rule.status.as_str() {
                "denied" => (
                    Outcome::Failure {
                        kind: "deny".into(),
                        message: messages.first().copied().unwrap_or("denied").to_string(),
                        text: messages.join("\n"),
                    },
                    String::new(),
                ),
                "warned" => (Outcome::Pass, prefixed("warning: ", &messages)),
                "not_applicable" => (
                    Outcome::Skipped {
                        message: "none of the evidence this rule reads was there".into(),
                    },
                    String::new(),
                ),
                _ => (Outcome::Pass, String::new()),
            };
            suite.cases.push(Case {
                classname: format!("policy.{}", rule.package),
                name,
                outcome,
                output,
            });
        }
        suites.push(suite);
    }
    for envelope in &set.envelopes {
        suites.push(envelope_suite(envelope));
    }
    for run in &set.failed_runs {
        suites.push(failed_run_suite(run));
    }
    render(set, &suites)
}

fn prefixed(prefix: &str, lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{prefix}{l}\n")).collect()
}

fn envelope_suite(envelope: &Envelope) -> Suite {
    let e = &envelope.evidence;
    let name = match &envelope.run {
        Some(run) => format!("{} {}", run.kind.as_str(), run.target),
        None => format!("{} {}", e.kind, envelope.file.display()),
    };
    let time = envelope
        .run
        .as_ref()
        .map_or(0.0, |r| r.millis as f64 / 1000.0);
    // Subjects in their order, then any subject only findings name (a file
    // found inside a folder subject).
    let mut order: Vec<&str> = e.subjects.iter().map(|s| s.name.as_str()).collect();
    for f in &e.findings {
        if !order.contains(&f.subject.as_str()) {
            order.push(&f.subject);
        }
    }
    order.dedup();
    let threshold = e.summary.threshold;
    let cases = order
        .into_iter()
        .map(|subject| {
            let findings: Vec<&Finding> =
                e.findings.iter().filter(|f| f.subject == subject).collect();
            let (failing, other): (Vec<&Finding>, Vec<&Finding>) =
                findings.iter().partition(|f| f.severity >= threshold);
            let outcome = match failing.first() {
                Some(first) => Outcome::Failure {
                    kind: first.rule.clone(),
                    message: format!(
                        "{} finding(s) at or above {threshold}: {} {}",
                        failing.len(),
                        first.rule,
                        first.message
                    ),
                    text: failing.iter().map(|f| line(f)).collect(),
                },
                None => Outcome::Pass,
            };
            Case {
                classname: e.kind.clone(),
                name: subject.to_string(),
                outcome,
                output: other.iter().map(|f| line(f)).collect(),
            }
        })
        .collect();
    Suite { name, time, cases }
}

fn failed_run_suite(run: &CheckRun) -> Suite {
    Suite {
        name: format!("{} {}", run.kind.as_str(), run.target),
        time: run.millis as f64 / 1000.0,
        cases: vec![Case {
            classname: run.kind.as_str().to_string(),
            name: run.target.clone(),
            outcome: Outcome::Error {
                message: run
                    .error
                    .clone()
                    .unwrap_or_else(|| "the check could not run".into()),
            },
            output: String::new(),
        }],
    }
}

/// One finding as a line of a failure's text.
fn line(f: &Finding) -> String {
    match &f.location {
        Some(at) => format!(
            "{} {} {} ({at}): {}\n",
            f.severity, f.rule, f.subject, f.message
        ),
        None => format!("{} {} {}: {}\n", f.severity, f.rule, f.subject, f.message),
    }
}

fn render(set: &EvidenceSet, suites: &[Suite]) -> String {
    let count = |pick: fn(&Outcome) -> bool| -> usize {
        suites
            .iter()
            .flat_map(|s| &s.cases)
            .filter(|c| pick(&c.outcome))
            .count()
    };
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures = count(|o| matches!(o, Outcome::Failure { .. }));
    let errors = count(|o| matches!(o, Outcome::Error { .. }));
    let skipped = count(|o| matches!(o, Outcome::Skipped { .. }));
    let time: f64 = suites.iter().map(|s| s.time).sum();
    let title = match &set.check {
        Some((_, d)) => format!("mlsec check: {}", d.project),
        None => "mlsec report".to_string(),
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\">",
        escape(&title)
    );
    for suite in suites {
        let n =
            |pick: fn(&Outcome) -> bool| suite.cases.iter().filter(|c| pick(&c.outcome)).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            escape(&suite.name),
            suite.cases.len(),
            n(|o| matches!(o, Outcome::Failure { .. })),
            n(|o| matches!(o, Outcome::Error { .. })),
            n(|o| matches!(o, Outcome::Skipped { .. })),
            suite.time
        );
        for case in &suite.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(&case.classname),
                escape(&case.name)
            );
            if matches!(case.outcome, Outcome::Pass) && case.output.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            match &case.outcome {
                Outcome::Pass => {}
                Outcome::Failure {
                    kind,
                    message,
                    text,
                } => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        escape(kind),
                        escape(message),
                        escape(text)
                    );
                }
                Outcome::Error { message } => {
                    let _ = writeln!(
                        out,
                        "      <error type=\"check\" message=\"{}\">{}</error>",
                        escape(message),
                        escape(message)
                    );
                }
                Outcome::Skipped { message } => {
                    let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(message));
                }
            }
            if !case.output.is_empty() {
                let _ = writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    escape(&case.output)
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
