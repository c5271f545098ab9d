//! `mlsec check` and `mlsec policy`: argument handling and the terminal
//! summary; the work is in mlsec-check and mlsec-policy.

use crate::error::CliError;
use clap::{Args, Subcommand, ValueEnum};
use mlsec_check::{CheckDetails, CheckKind, CheckOptions};
use mlsec_core::{output, render, Evidence};
use mlsec_policy::{PolicyOptions, PolicySet, TestOutcome};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The project folder, holding mlsec.toml.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// The project file (default: DIR/mlsec.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run only these checks: scan, sign, bom, data, pii, drift, issues,
    /// threat, redteam, privacy, explain (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CHECK", value_parser = kind)]
    pub only: Vec<CheckKind>,
    /// Leave these checks out.
    #[arg(long, value_delimiter = ',', value_name = "CHECK", value_parser = kind)]
    pub skip: Vec<CheckKind>,
    /// Where the evidence goes (default: the project file's, else DIR/.mlsec/evidence).
    #[arg(long, value_name = "DIR")]
    pub evidence: Option<PathBuf>,
    /// Output format: the summary (human), the `check` envelope (json), every
    /// check's findings and the policy decisions as one SARIF log (sarif), or
    /// JUnit XML for CI test tabs (junit).
    #[arg(long, short = 'f', value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Write the output to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where to write the HTML report (default: report.html in the evidence folder).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Also write every envelope, the decision and the report into one tar
    /// archive with a signed in-toto statement over them (needs --key);
    /// `mlsec verify-attestation FILE --key PUBLIC.pem` verifies it.
    #[arg(long, value_name = "FILE.tar", requires = "key")]
    pub bundle: Option<PathBuf>,
    /// The private key that signs the bundle (PEM; an encrypted key's
    /// password from MLSEC_KEY_PASSWORD).
    #[arg(long, value_name = "PRIVATE.pem", requires = "bundle")]
    pub key: Option<PathBuf>,
    /// Sign with this certificate (PEM) for the key: the certificate method.
    #[arg(long, value_name = "CERT.pem", requires = "key")]
    pub certificate: Option<PathBuf>,
    /// Certificates (PEM) that chain the signing certificate to a CA.
    #[arg(long, value_name = "CA.pem", num_args = 1.., requires = "certificate")]
    pub certificate_chain: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// The terminal summary: checks, policy outcomes, compliance, decision.
    Human,
    /// The `check` evidence envelope (mlsec.evidence/v1).
    Json,
    /// SARIF 2.1.0: every check's findings and the policy decisions in one run.
    Sarif,
    /// JUnit XML: policy rules and checked files as test cases.
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML file (no script, no network requests).
    Html,
    /// JUnit XML: policy rules and checked files as test cases.
    Junit,
    /// SARIF 2.1.0: every envelope's findings and the policy decisions in one run.
    Sarif,
    /// The `check` envelope (needs the evidence of `mlsec check`).
    Json,
    /// The terminal summary of `mlsec check` (needs its evidence).
    Human,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Evidence: an evidence folder written by `mlsec check`, or envelope
    /// files (`--format json` of any command), or folders of them.
    #[arg(required = true, value_name = "EVIDENCE")]
    pub evidence: Vec<PathBuf>,
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project folder.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Replace an existing mlsec.toml.
    #[arg(long)]
    pub force: bool,
    /// Print the file instead of writing DIR/mlsec.toml.
    #[arg(long)]
    pub stdout: bool,
}

fn kind(s: &str) -> Result<CheckKind, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the policies' tests (rules named test_*, as `opa test` does):
    /// exit 0 when all pass, 1 when any fails.
    Test(PolicyTestArgs),
    /// Evaluate the policies over an input document (the input.json that
    /// `mlsec check` writes beside the evidence): exit 1 on any denial.
    Eval(PolicyEvalArgs),
}

#[derive(Debug, Args)]
pub struct PolicySelection {
    /// Your policies: .rego files and .json data, or folders of them.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Bundled packs to load too: baseline, strict (repeatable; none by default
    /// when PATHs are given, baseline otherwise).
    #[arg(long, value_name = "PACK")]
    pub pack: Vec<String>,
}

impl PolicySelection {
    fn options(&self, tests: bool) -> PolicyOptions {
        let packs = if self.pack.is_empty() && self.paths.is_empty() {
            vec!["baseline".to_string()]
        } else {
            self.pack.clone()
        };
        PolicyOptions {
            packs,
            paths: self.paths.clone(),
            tests,
            ..PolicyOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct PolicyTestArgs {
    #[command(flatten)]
    pub policies: PolicySelection,
}

#[derive(Debug, Args)]
pub struct PolicyEvalArgs {
    #[command(flatten)]
    pub policies: PolicySelection,
    /// The input document (JSON).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
}

pub fn check(args: CheckArgs) -> Result<ExitCode, CliError> {
    let evidence = mlsec_check::run(&CheckOptions {
        root: args.dir.clone(),
        config: args.config.clone(),
        only: args.only.clone(),
        skip: args.skip.clone(),
        evidence: args.evidence.clone(),
    })?;
    let details = CheckDetails::of(&evidence).map_err(CliError::internal)?;
    // The report and the other formats read the envelopes back from the
    // evidence folder, as `mlsec report` does, so both say the same.
    let set = mlsec_report::load(&[PathBuf::from(&details.evidence_dir)])?;
    let report = args
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from(&details.evidence_dir).join("report.html"));
    output::emit(Some(&report), mlsec_report::html(&set).as_bytes())
        .map_err(|e| CliError::output(Some(&report), &e))?;
    if let Some(path) = &args.bundle {
        let credential = mlsec_sign::load_credential(&mlsec_sign::KeyFiles {
            key: args.key.clone(),
            password: std::env::var("MLSEC_KEY_PASSWORD").ok(),
            certificate: args.certificate.clone(),
            certificate_chain: args.certificate_chain.clone(),
        })?;
        mlsec_check::write_bundle(&evidence, path, &credential)?;
    }
    let text = match args.format {
        CheckFormat::Human => summary(
            &evidence,
            &details,
            crate::args::colour(args.output.as_deref()),
            Some(&report),
        ),
        CheckFormat::Json => render::json(&evidence),
        CheckFormat::Sarif => sarif(&set)?,
        CheckFormat::Junit => mlsec_report::junit(&set),
    };
    output::emit(args.output.as_deref(), text.as_bytes())
        .map_err(|e| CliError::output(args.output.as_deref(), &e))?;
    Ok(match details.decision.as_str() {
        "error" => ExitCode::from(2),
        "deny" => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn sarif(set: &mlsec_report::EvidenceSet) -> Result<String, CliError> {
    let log = mlsec_report::sarif(set, &crate::report::all_rules());
    let mut s = serde_json::to_string_pretty(&log).map_err(CliError::internal)?;
    s.push('\n');
    Ok(s)
}

/// `mlsec report`: the check's outputs, rendered again from saved evidence.
pub fn report(args: ReportArgs) -> Result<ExitCode, CliError> {
    let set = mlsec_report::load(&args.evidence)?;
    let needs_check = || {
        set.check.clone().ok_or_else(|| {
            CliError::usage(
                "this format shows a `check` decision, and the evidence holds none (give the evidence folder of `mlsec check`, or use --format html, junit or sarif)",
            )
        })
    };
    let text = match args.format {
        ReportFormat::Html => mlsec_report::html(&set),
        ReportFormat::Junit => mlsec_report::junit(&set),
        ReportFormat::Sarif => sarif(&set)?,
        ReportFormat::Json => render::json(&needs_check()?.0),
        ReportFormat::Human => {
            let (evidence, details) = needs_check()?;
            summary(
                &evidence,
                &details,
                crate::args::colour(args.output.as_deref()),
                None,
            )
        }
    };
    output::emit(args.output.as_deref(), text.as_bytes())
        .map_err(|e| CliError::output(args.output.as_deref(), &e))?;
    Ok(ExitCode::SUCCESS)
}

/// The terminal summary: each check, each policy message, the compliance
/// counts, and the decision.
fn summary(
    evidence: &Evidence,
    d: &CheckDetails,
    colour: bool,
    report: Option<&std::path::Path>,
) -> String {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint("1", &format!("mlsec check: {}", d.project))
    );
    let _ = writeln!(out, "\nchecks");
    let width = d.checks.iter().map(|c| c.kind.as_str().len()).max();
    let width = width.unwrap_or(0);
    for c in &d.checks {
        let state = match (c.status.as_str(), c.verdict.as_deref()) {
            ("error", _) => paint("31", "error"),
            (_, Some("fail")) => paint("33", "findings"),
            _ => paint("32", "ok"),
        };
        let what = match &c.error {
            Some(e) => e.clone(),
            None => format!("{} finding(s), {} ms", c.findings, c.millis),
        };
        let _ = writeln!(
            out,
            "  {:<width$} {:<9} {}  {}",
            c.kind.as_str(),
            state,
            printable(&c.target),
            paint("2", &printable(&what))
        );
    }
    let _ = writeln!(out, "\npolicy");
    for r in &d.policy.rules {
        let id = if r.metadata.id.is_empty() {
            &r.package
        } else {
            &r.metadata.id
        };
        let status = match r.status.as_str() {
            "denied" => paint("31", "DENY"),
            "warned" => paint("33", "WARN"),
            "passed" => paint("32", "pass"),
            _ => paint("2", "n/a "),
        };
        let _ = writeln!(out, "  {status} {id:<7} {}", r.metadata.title);
        for m in d.policy.messages.iter().filter(|m| m.package == r.package) {
            let _ = writeln!(out, "         {}", printable(&m.msg));
        }
    }
    let _ = writeln!(out, "\ncompliance (controls met / failed / not covered)");
    for f in &d.compliance {
        let count = |s: mlsec_policy::Status| f.controls.iter().filter(|c| c.status == s).count();
        let _ = writeln!(
            out,
            "  {:<12} {:>3} / {:>3} / {:>3}  {} {}",
            f.id,
            count(mlsec_policy::Status::Met),
            count(mlsec_policy::Status::Failed),
            count(mlsec_policy::Status::NotCovered),
            f.name,
            f.version
        );
    }
    let decision = match d.decision.as_str() {
        "deny" => paint("1;31", "DENY"),
        "error" => paint("1;31", "ERROR (a check could not run)"),
        "warn" => paint("1;33", "PASS with warnings"),
        _ => paint("1;32", "PASS"),
    };
    let denials = evidence
        .findings
        .iter()
        .filter(|f| f.severity >= mlsec_core::Severity::High)
        .count();
    let _ = writeln!(
        out,
        "\n{decision}: {denials} denial(s), {} warning(s); evidence in {}",
        evidence.findings.len() - denials,
        d.evidence_dir
    );
    if let Some(report) = report {
        let _ = writeln!(out, "report: {}", report.display());
    }
    out
}

/// Text from files and policies, with control characters escaped so they
/// cannot move the cursor or fake lines.
fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_debug().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `mlsec init`: writes DIR/mlsec.toml (never over an existing one unless
/// --force) and says what it found.
pub fn init(args: InitArgs) -> Result<ExitCode, CliError> {
    let target = args.dir.join("mlsec.toml");
    if !args.stdout && !args.force && target.exists() {
        return Err(CliError::usage(format!(
            "{}: already exists (--force replaces it, --stdout prints a proposal)",
            target.display()
        )));
    }
    let proposal = mlsec_check::init(&args.dir)?;
    if args.stdout {
        output::emit(None, proposal.text.as_bytes()).map_err(|e| CliError::output(None, &e))?;
        return Ok(ExitCode::SUCCESS);
    }
    output::emit(Some(&target), proposal.text.as_bytes())
        .map_err(|e| CliError::output(Some(&target), &e))?;
    eprintln!(
        "mlsec: wrote {}: {} model(s), {} dataset(s), {} policy folder(s); review it, then run `mlsec check {}`",
        target.display(),
        proposal.models,
        proposal.datasets,
        proposal.policies,
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn policy(args: PolicyArgs) -> Result<ExitCode, CliError> {
    match args.command {
        PolicyCommand::Test(a) => policy_test(a),
        PolicyCommand::Eval(a) => policy_eval(a),
    }
}

fn policy_test(args: PolicyTestArgs) -> Result<ExitCode, CliError> {
    let set = PolicySet::load(&args.policies.options(true))?;
    let results = set.test();
    let mut out = String::new();
    let mut failed = 0;
    for r in &results {
        let status = match &r.outcome {
            TestOutcome::Pass => "PASS".to_string(),
            TestOutcome::Fail => {
                failed += 1;
                "FAIL".to_string()
            }
            TestOutcome::Error(e) => {
                failed += 1;
                format!("ERROR {e}")
            }
        };
        let _ = writeln!(out, "{status}  {}.{}  ({})", r.package, r.name, r.origin);
    }
    let _ = writeln!(out, "{} test(s), {failed} failed", results.len());
    output::emit(None, out.as_bytes()).map_err(|e| CliError::output(None, &e))?;
    Ok(if failed > 0 || results.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn policy_eval(args: PolicyEvalArgs) -> Result<ExitCode, CliError> {
    let set = PolicySet::load(&args.policies.options(false))?;
    let text = std::fs::read_to_string(&args.input).map_err(|e| CliError {
        message: format!("{}: {e}", args.input.display()),
        fault: mlsec_core::Fault::of_io(&e),
    })?;
    let input: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(format!("{}: not JSON: {e}", args.input.display())))?;
    let decision = set.evaluate(&input)?;
    let mut s = serde_json::to_string_pretty(&decision).map_err(CliError::internal)?;
    s.push('\n');
    output::emit(None, s.as_bytes()).map_err(|e| CliError::output(None, &e))?;
    Ok(if decision.denied() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
