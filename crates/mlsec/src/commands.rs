use crate::cli::{BomArgs, BomFormat, Cli, Command, Format, RulesArgs, ScanArgs};
use crate::error::CliError;
use crate::report::{all_rules, progress_bar, report};
use mlsec_core::{output, render, Rule, Severity};
use mlsec_scan::{rules, ScanConfig, ScanDetails, ScanOptions};
use std::path::Path;
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Rules(args) => list_rules(args),
        Command::Bom(args) => bom(args),
        Command::Sign(args) => crate::sign::sign(args),
        Command::Verify(args) => crate::sign::verify(args),
        Command::Attest(args) => crate::sign::attest(args),
        Command::VerifyAttestation(args) => crate::sign::verify_attestation(args),
        Command::Data(args) => crate::data::run(args),
        Command::Check(args) => crate::check::check(args),
        Command::Policy(args) => crate::check::policy(args),
        Command::Report(args) => crate::check::report(args),
        Command::Init(args) => crate::check::init(args),
        Command::ThreatModel(args) => crate::threat::threat_model(args),
        Command::Gateway(args) => crate::gateway::gateway(args),
        Command::Audit(args) => crate::gateway::audit(args),
        Command::Guard(args) => crate::gateway::guard(args),
        Command::Redteam(args) => crate::validate::redteam(args),
        Command::Explain(args) => crate::validate::explain(args),
        Command::Privacy(args) => crate::validate::privacy(args),
    }
}

fn scan(args: ScanArgs) -> Result<ExitCode, CliError> {
    let mut config = ScanConfig::load(args.config.as_deref())?;
    for entry in &args.allow {
        config.allow_from_command_line(entry)?;
    }
    if args.trust_config {
        config.trust_file_allows();
    }
    config.digest = args.digest;
    let options = ScanOptions {
        paths: args.paths.clone(),
        config,
    };

    let progress = progress_bar(args.output.quiet);
    let on_file = |total: usize| {
        if let Some(bar) = &progress {
            bar.set_length(total as u64);
            bar.inc(1);
        }
    };
    let mut evidence = mlsec_scan::run(&options, &on_file)?;
    evidence.judge(Severity::from(args.output.fail_on));
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let details = ScanDetails::of(&evidence)?;
    report(
        &evidence,
        &details,
        &args.output,
        &rules::all(),
        details.files.len(),
    )
}

fn list_rules(args: RulesArgs) -> Result<ExitCode, CliError> {
    let all = all_rules();
    let selected: Vec<Rule> = match &args.id {
        Some(id) => {
            vec![all
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(id))
                .copied()
                .ok_or_else(|| format!("no rule `{id}` (see `mlsec rules`)"))?]
        }
        None => all,
    };
    // The same envelope and SARIF log as every other command: the rules are
    // the evidence's details, and the SARIF run's tool driver.
    let evidence = || Rule::evidence(&selected);
    let text = match args.format {
        Format::Json => render::json(&evidence()),
        Format::Sarif => {
            let mut s = serde_json::to_string_pretty(&render::sarif(&evidence(), &selected))
                .map_err(CliError::internal)?;
            s.push('\n');
            s
        }
        Format::Human if args.id.is_some() => {
            let r = &selected[0];
            format!(
                "{} {} ({}, {:?})\n\n{}\n",
                r.id,
                r.name,
                r.severity,
                r.category,
                r.help_markdown()
            )
        }
        Format::Human => selected
            .iter()
            .map(|r| {
                format!(
                    "{:<8} {:<9} {:<32} {}\n",
                    r.id,
                    r.severity.as_str(),
                    r.name,
                    r.summary
                )
            })
            .collect(),
    };
    output::emit(None, text.as_bytes()).map_err(|e| CliError::output(None, &e))?;
    Ok(ExitCode::SUCCESS)
}

fn bom(args: BomArgs) -> Result<ExitCode, CliError> {
    if let Some(file) = &args.validate {
        return validate_bom(file);
    }
    let model = args.model.ok_or("give a MODEL_PATH or --validate FILE")?;
    let scan_config = ScanConfig::load(args.config.as_deref())?;
    let bom = mlsec_bom::build(&mlsec_bom::BomOptions {
        model,
        scan_config,
        name: args.name,
        version: args.model_version,
        datasets: args.datasets,
        output: args.output.clone(),
        hf_id: args.hf_id,
        revision: args.revision,
        signature: args.signature,
        trust: match (&args.key, args.certificate_chain.is_empty()) {
            (None, true) => None,
            _ => Some(crate::keys::trust(&crate::cli::TrustArgs {
                key: args.key.clone(),
                certificate_chain: args.certificate_chain.clone(),
            })?),
        },
    })?;
    for warning in bom
        .metadata
        .properties
        .iter()
        .filter(|p| p.name == mlsec_bom::WARNING_PROPERTY)
    {
        eprintln!("mlsec: warning: {}", warning.value);
    }
    let text = match args.format {
        BomFormat::CyclonedxJson => mlsec_bom::to_json(&bom)?,
        BomFormat::CyclonedxXml => mlsec_bom::to_xml(&bom),
    };
    output::emit(args.output.as_deref(), text.as_bytes())
        .map_err(|e| CliError::output(args.output.as_deref(), &e))?;
    Ok(ExitCode::SUCCESS)
}

/// Prints each problem as `JSON-pointer: message`; exit 1 when there is any.
fn validate_bom(file: &Path) -> Result<ExitCode, CliError> {
    let text = std::fs::read(file).map_err(|e| CliError {
        message: format!("{}: {e}", file.display()),
        fault: mlsec_core::Fault::of_io(&e),
    })?;
    let doc: serde_json::Value = match serde_json::from_slice(&text) {
        Ok(doc) => doc,
        Err(_) if text.trim_ascii_start().starts_with(b"<") => {
            println!(
                "{}: XML; --validate checks CycloneDX JSON only (check XML against \
                 CycloneDX's bom-1.6.xsd)",
                file.display()
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            println!("{}: not JSON: {e}", file.display());
            return Ok(ExitCode::from(1));
        }
    };
    let problems = mlsec_bom::validate::validate(&doc).map_err(CliError::internal)?;
    let mut out = String::new();
    for p in &problems {
        out.push_str(&format!("{}: {p}\n", file.display()));
    }
    out.push_str(&if problems.is_empty() {
        format!("{}: valid CycloneDX 1.6\n", file.display())
    } else {
        format!("{}: {} problem(s)\n", file.display(), problems.len())
    });
    output::emit(None, out.as_bytes()).map_err(|e| CliError::output(None, &e))?;
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_has_a_unique_id_and_full_docs() {
        let rules = super::all_rules();
        let mut ids: Vec<_> = rules.iter().map(|r| r.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), rules.len(), "duplicate rule ids");
        for r in &rules {
            assert_eq!(r.missing_doc_sections(), Vec::<&str>::new(), "{}", r.id);
        }
    }
}
