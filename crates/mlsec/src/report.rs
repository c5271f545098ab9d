//! Writing evidence in the format asked for, the exit code that follows,
//! and what every command shares in reporting: progress bars, the rules.

use crate::args::{Format, OutputArgs};
use crate::error::CliError;
use indicatif::{ProgressBar, ProgressStyle};
use mlsec_core::render::Tabulate;
use mlsec_core::{output, render, Evidence, Rule};
use mlsec_scan::rules;
use std::io::IsTerminal;
use std::process::ExitCode;

/// Writes `evidence`, says on standard error what was written when it went to
/// a file, and gives the exit code: 1 when a finding reaches the threshold.
pub fn report(
    evidence: &Evidence,
    table: &dyn Tabulate,
    out: &OutputArgs,
    rules: &[Rule],
    files: usize,
) -> Result<ExitCode, CliError> {
    emit(evidence, table, out, rules)?;
    if !out.quiet && out.output.is_some() {
        eprintln!(
            "mlsec: {files} file(s), {} finding(s): {}",
            evidence.findings.len(),
            evidence.summary.verdict
        );
    }
    Ok(if evidence.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Renders `evidence` in the chosen format to the chosen place.
pub fn emit(
    evidence: &Evidence,
    table: &dyn Tabulate,
    out: &OutputArgs,
    rules: &[Rule],
) -> Result<(), CliError> {
    let text = match out.format {
        Format::Human => {
            let colour = crate::args::colour(out.output.as_deref());
            render::human(evidence, table, colour)
        }
        Format::Json => render::json(evidence),
        Format::Sarif => {
            let mut s = serde_json::to_string_pretty(&render::sarif(evidence, rules))
                .map_err(CliError::internal)?;
            s.push('\n');
            s
        }
    };
    output::emit(out.output.as_deref(), text.as_bytes())
        .map_err(|e| CliError::output(out.output.as_deref(), &e))
}

pub fn progress_bar(quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} scanning {pos}/{len} files [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// Every rule of every command, sorted by id.
pub fn all_rules() -> Vec<Rule> {
    let mut all = rules::all();
    all.extend_from_slice(mlsec_sign::rules::RULES);
    all.extend_from_slice(mlsec_data::rules::RULES);
    all.extend_from_slice(mlsec_quality::rules::RULES);
    all.extend_from_slice(mlsec_quality::rules::ISSUE_RULES);
    all.extend_from_slice(mlsec_data::pii::RULES);
    all.extend_from_slice(mlsec_threat::RULES);
    all.extend_from_slice(mlsec_gateway::audit::AUDIT_RULES);
    all.extend_from_slice(mlsec_guard::offline::GUARD_RULES);
    all.extend_from_slice(mlsec_validate::rules::ALL);
    all.sort_by_key(|r| r.id);
    // The PII scan's list repeats the data readers' rules it also reports.
    all.dedup_by_key(|r| r.id);
    all
}
