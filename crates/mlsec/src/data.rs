//! `mlsec data ...`: dataset integrity manifests, verification, and (with the
//! detectors) PII and secret scanning and redaction.

use crate::cli::OutputArgs;
use clap::{Args, Subcommand};
use mlsec_core::{output, Evidence, Severity};
use mlsec_data::detect::Detect;
use mlsec_data::manifest::{self, Manifest, ManifestOptions};
use mlsec_data::redact::{redact_file, Redactor, Strategy};
use mlsec_data::verify::{self, VerifyOptions};
use mlsec_data::ReadOptions;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Pin datasets: write a manifest with each file's SHA-256 and, for tables
    /// (CSV, JSONL, Parquet), row and column counts, schema, per-row digests and
    /// a Merkle root over the rows.
    Manifest(ManifestArgs),
    /// Check datasets against a manifest: name changed, added and removed files
    /// and, for tables, the changed, inserted and deleted rows.
    ///
    /// Exit codes: 0 identical, 1 different, 2 usage or I/O error.
    Verify(DataVerifyArgs),
    /// Find personal data and secrets in CSV, JSONL, Parquet, text and notebooks:
    /// each finding names the file, the row and column (or line), the character
    /// span, the entity type, a confidence and a masked preview, never the value.
    Pii(PiiArgs),
    /// Write a redacted copy of a data file in the same format and schema
    /// (atomically; the input is never modified) and report what was redacted.
    Redact(RedactArgs),
}

/// Which entities to look for.
#[derive(Debug, Args)]
pub struct EntityArgs {
    /// Entity types to detect, comma-separated (EMAIL,PHONE,CREDIT_CARD,...);
    /// default all.
    #[arg(long, value_delimiter = ',', value_name = "ENTITY")]
    pub entities: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PiiArgs {
    /// Data files and folders (folders are walked).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub entities: EntityArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub bad_rows: BadRowArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    /// The detectors' masked form, e.g. a****@e******.org.
    Mask,
    /// <EMAIL:16 hex digits>: a SHA-256 keyed with a random per-run key; equal
    /// values get equal tokens within one run.
    Hash,
    /// The entity name, e.g. <EMAIL>.
    Replace,
    /// Tables only: remove every column holding a detected value.
    DropColumn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// The data file to redact.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Where to write the redacted copy.
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value_t = StrategyArg::Mask)]
    pub strategy: StrategyArg,
    #[command(flatten)]
    pub entities: EntityArgs,
    /// Format of the report on standard output.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub bad_rows: BadRowArgs,
}

/// How malformed rows are handled.
#[derive(Debug, Args)]
pub struct BadRowArgs {
    /// Skip malformed rows or lines (ragged, invalid UTF-8, not JSON, too long)
    /// with a warning instead of failing the file.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

impl BadRowArgs {
    fn read_options(&self) -> ReadOptions {
        ReadOptions {
            skip_bad_rows: self.skip_bad_rows,
            ..ReadOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// Data files and folders (folders are walked; files are keyed relative to the
    /// folder given, a file given alone by its name).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write the manifest to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where the data came from (a URI recorded as provenance).
    #[arg(long, value_name = "URI")]
    pub source: Option<String>,
    /// Leave out the per-row digests (16 bytes a row): verification then says that
    /// rows differ but not which. For tables of hundreds of millions of rows.
    #[arg(long)]
    pub no_row_digests: bool,
    #[command(flatten)]
    pub bad_rows: BadRowArgs,
    /// No summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DataVerifyArgs {
    /// Data files and folders, given as they were to `mlsec data manifest`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The manifest written by `mlsec data manifest`.
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub bad_rows: BadRowArgs,
}

pub fn run(args: DataArgs) -> Result<ExitCode, String> {
    match args.command {
        DataCommand::Manifest(args) => write_manifest(args),
        DataCommand::Verify(args) => verify_manifest(args),
        DataCommand::Pii(args) => pii(args),
        DataCommand::Redact(args) => redact(args),
    }
}

fn write_manifest(args: ManifestArgs) -> Result<ExitCode, String> {
    let opts = ManifestOptions {
        source: args.source,
        read: args.bad_rows.read_options(),
        no_row_digests: args.no_row_digests,
        exclude: args.output.iter().cloned().collect(),
    };
    let (manifest, skipped) = manifest::build(&args.paths, &opts)?;
    for (file, s) in &skipped {
        let first = s.first.first().map(|e| e.to_string()).unwrap_or_default();
        eprintln!(
            "mlsec: warning: {file}: {} malformed row(s) skipped; first: {first}",
            s.count
        );
    }
    output::emit(args.output.as_deref(), &manifest.to_bytes()).map_err(|e| match &args.output {
        Some(p) => format!("{}: {e}", p.display()),
        None => format!("standard output: {e}"),
    })?;
    if !args.quiet && args.output.is_some() {
        let rows: u64 = manifest
            .files
            .iter()
            .filter_map(|f| f.table.as_ref())
            .map(|t| t.rows)
            .sum();
        eprintln!(
            "mlsec: {} file(s), {rows} table row(s) pinned",
            manifest.files.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and parses a manifest file. The seam for signed manifests: the bytes
/// read here are what a DSSE signature would cover.
fn read_manifest(path: &std::path::Path) -> Result<Manifest, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Manifest::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn verify_manifest(args: DataVerifyArgs) -> Result<ExitCode, String> {
    let manifest = read_manifest(&args.manifest)?;
    let mut exclude = vec![args.manifest.clone()];
    exclude.extend(args.output.output.iter().cloned());
    let opts = VerifyOptions {
        read: args.bad_rows.read_options(),
        exclude,
    };
    let result = verify::verify(&manifest, &args.paths, &opts)?;
    let details = json!({
        "manifest": {
            "path": args.manifest.display().to_string(),
            "created": manifest.created,
            "source": manifest.source,
            "tool": manifest.tool,
        },
        "identical": result.identical(),
        "files": result.files,
    });
    let evidence = Evidence::new(
        "data.integrity",
        result.subjects,
        result.findings,
        Severity::from(args.output.fail_on),
        details,
    );
    crate::commands::report(
        &evidence,
        &args.output,
        mlsec_data::rules::RULES,
        result.files.len(),
    )
}

/// The PII and secret detectors for the entities asked for (all when none).
/// The one place the command line meets the detector library.
fn detector(entities: &EntityArgs) -> Result<Box<dyn Detect>, String> {
    let mut wanted = Vec::new();
    for name in &entities.entities {
        let entity: mlsec_pii::Entity = name.parse().map_err(|_| {
            let known: Vec<&str> = mlsec_pii::Entity::ALL.iter().map(|e| e.as_str()).collect();
            format!(
                "--entities: unknown entity `{name}` (known: {})",
                known.join(", ")
            )
        })?;
        wanted.push(entity);
    }
    Ok(Box::new(PiiDetector(mlsec_pii::Detector::new(&wanted))))
}

/// mlsec-pii's detectors behind the data commands' seam.
struct PiiDetector(mlsec_pii::Detector);

impl Detect for PiiDetector {
    fn detect(&self, field: Option<&str>, text: &str) -> Vec<mlsec_data::detect::Hit> {
        self.0
            .detect_in_field(field, text)
            .into_iter()
            .map(|s| mlsec_data::detect::Hit {
                entity: s.entity.as_str().to_string(),
                secret: s.entity.is_secret(),
                start: s.start,
                end: s.end,
                confidence: s.confidence,
            })
            .collect()
    }

    fn mask(&self, entity: &str, value: &str) -> String {
        match entity.parse::<mlsec_pii::Entity>() {
            Ok(e) => mlsec_pii::mask(e, value),
            Err(_) => "*".repeat(value.chars().count().min(16)),
        }
    }
}

fn pii(args: PiiArgs) -> Result<ExitCode, String> {
    let detector = detector(&args.entities)?;
    let scans = mlsec_data::pii::scan_paths(
        &args.paths,
        detector.as_ref(),
        &args.bad_rows.read_options(),
    )?;
    let findings = mlsec_data::pii::findings(&scans);
    let subjects = scans
        .iter()
        .map(|s| mlsec_core::Subject {
            name: s.path.clone(),
            digest: Default::default(),
        })
        .collect();
    let mut entities: std::collections::BTreeMap<&str, u64> = Default::default();
    for f in &findings {
        if let Some(e) = &f.entity {
            *entities.entry(e.as_str()).or_default() += 1;
        }
    }
    let details = json!({
        "files": scans.iter().map(|s| json!({
            "path": s.path,
            "format": s.format,
            "bytes": s.bytes,
            "findings": s.hits.len(),
            "verdict": if s.error.is_some() { "error" } else if s.hits.is_empty() { "clean" } else { "suspicious" },
        })).collect::<Vec<_>>(),
        "entities": entities,
    });
    let evidence = Evidence::new(
        "data.pii",
        subjects,
        findings,
        Severity::from(args.output.fail_on),
        details,
    );
    crate::commands::emit(&evidence, &args.output, mlsec_data::pii::RULES)?;
    Ok(if evidence.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn redact(args: RedactArgs) -> Result<ExitCode, String> {
    let detector = detector(&args.entities)?;
    let strategy = match args.strategy {
        StrategyArg::Mask => Strategy::Mask,
        StrategyArg::Hash => Strategy::Hash,
        StrategyArg::Replace => Strategy::Replace,
        StrategyArg::DropColumn => Strategy::DropColumn,
    };
    let redactor = Redactor::new(detector.as_ref(), strategy)?;
    let report = redact_file(
        &args.path,
        &args.output,
        &redactor,
        &args.bad_rows.read_options(),
    )?;
    let text = match args.format {
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            s.push('\n');
            s
        }
        ReportFormat::Human => {
            let mut s = format!(
                "{} -> {}: {} value(s) redacted\n",
                report.input, report.output, report.total
            );
            for (entity, columns) in &report.counts {
                for (column, n) in columns {
                    s.push_str(&format!("  {entity:<16} {column:<24} {n}\n"));
                }
            }
            if !report.dropped_columns.is_empty() {
                s.push_str(&format!(
                    "  dropped columns: {}\n",
                    report.dropped_columns.join(", ")
                ));
            }
            s
        }
    };
    output::emit(None, text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
