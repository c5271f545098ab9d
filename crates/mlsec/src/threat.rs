//! `mlsec threat-model`: the threats a pipeline description implies, the
//! rules that cover each, and the gaps.

use crate::args::{Format, OutputArgs};
use crate::error::CliError;
use clap::Args;
use mlsec_core::{output, Severity};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ThreatModelArgs {
    /// The description of the ML system: components, trust, flows (see
    /// docs/threat-model.md).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Bundled policy packs whose rules count as coverage; repeatable
    /// [default: every bundled pack: baseline, strict].
    #[arg(long = "pack", value_name = "NAME")]
    pub packs: Vec<String>,
    /// Your own policies (.rego files, or folders of them): the controls
    /// their `metadata` names count as coverage too; repeatable.
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
}

pub fn threat_model(args: ThreatModelArgs) -> Result<ExitCode, CliError> {
    let packs = if args.packs.is_empty() {
        mlsec_policy::pack_names()
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        args.packs.clone()
    };
    let coverage = mlsec_threat::Coverage::load(&mlsec_policy::PolicyOptions {
        packs,
        paths: args.policies.clone(),
        ..mlsec_policy::PolicyOptions::default()
    })?;
    let mut evidence = mlsec_threat::run(&args.file, &coverage)?;
    evidence.judge(Severity::from(args.output.fail_on));
    let out = &args.output;
    if out.format == Format::Human {
        let details: mlsec_threat::ThreatModelDetails =
            serde_json::from_value(evidence.details.clone()).map_err(CliError::internal)?;
        let colour = crate::args::colour(out.output.as_deref());
        let text = mlsec_threat::human(&evidence, &details, colour);
        output::emit(out.output.as_deref(), text.as_bytes())
            .map_err(|e| CliError::output(out.output.as_deref(), &e))?;
    } else {
        crate::report::emit(&evidence, &(), out, mlsec_threat::RULES)?;
    }
    if !out.quiet && out.output.is_some() {
        eprintln!(
            "mlsec: {} threat(s), {} finding(s): {}",
            evidence.details["counts"]["threats"],
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
