//! `mlsec data ...`: dataset integrity manifests, verification, and (with the
//! detectors) PII and secret scanning and redaction.

use crate::cli::{KeyArgs, OutputArgs, TrustArgs};
use clap::{Args, Subcommand};
use mlsec_core::{output, Evidence, Finding, Severity};
use mlsec_data::detect::{Detect, FieldHint, Hit};
use mlsec_data::manifest::{self, Manifest, ManifestOptions};
use mlsec_data::redact::{redact_file, Redactor, Strategy};
use mlsec_data::verify::{self, VerifyOptions};
use mlsec_data::ReadOptions;
use serde_json::json;
use std::path::{Path, PathBuf};
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
    /// List at most N findings per file for each column and entity (the first
    /// in file order); the rest are counted in `details`. 0 lists all.
    #[arg(long, value_name = "N", default_value_t = mlsec_data::pii::DEFAULT_MAX_FINDINGS)]
    pub max_findings: usize,
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
    /// How to redact each detected value. The short help lists the
    /// strategies in a line; `--help` shows clap's list of them with the
    /// longer texts of [`StrategyArg`].
    #[arg(
        long,
        value_enum,
        default_value_t = StrategyArg::Mask,
        help = "How to redact each detected value: mask (masked in place, e.g. a****@e******.org), \
                hash (a keyed token such as <EMAIL:3f9a0c2b7d1e4a66>, equal for equal values within \
                one run), replace (the entity name, <EMAIL>), drop-column (tables only: remove every \
                column holding a detected value)",
        long_help = "How to redact each detected value. Every strategy keeps the file's format; all \
                     but drop-column keep its schema too."
    )]
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
// `--key` comes from the shared `KeyArgs`, whose help is about signing in
// general: say here what it does for a manifest.
#[command(mut_arg("key", |a| a.help(
    "Sign the manifest with this private key (PEM: PKCS#8, encrypted PKCS#8 or SEC1; ECDSA \
     P-256, P-384 or P-521, or Ed25519): a DSSE in-toto statement in a Sigstore bundle, as \
     `mlsec sign` makes, written to --signature (default: the manifest's path + `.sig`). \
     Needs -o or --signature"
)))]
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
    // Signing: `--key` (its help is set on the struct) and its companions.
    #[command(flatten)]
    pub sign: KeyArgs,
    /// Where to write the signature (default: the manifest's path + `.sig`).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub signature: Option<PathBuf>,
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
    /// Check the manifest's signature too, with this key or these CA certificates.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The manifest's signature (default: the manifest's path + `.sig`).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
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
    let bytes = manifest.to_bytes();
    // Sign before writing anything, so a bad key or password leaves no manifest
    // without its signature behind.
    let signed = if args.sign.key.is_some() {
        let path = signature_path(args.signature.as_deref(), args.output.as_deref())
            .ok_or("--key needs -o FILE or --signature FILE to name where the signature goes")?;
        Some((path, sign_manifest(&manifest, &bytes, &args.sign)?))
    } else {
        None
    };
    output::emit(args.output.as_deref(), &bytes).map_err(|e| match &args.output {
        Some(p) => format!("{}: {e}", p.display()),
        None => format!("standard output: {e}"),
    })?;
    if let Some((path, bundle)) = &signed {
        output::write_atomic(path, &bundle.to_json())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !args.quiet {
            eprintln!("mlsec: signature written to {}", path.display());
        }
    }
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

/// The in-toto predicate type of a signed data manifest.
const MANIFEST_PREDICATE_TYPE: &str = "https://mlsec.dev/data-manifest/v1";

/// `--signature`, or else the manifest's path with `.sig` added.
fn signature_path(signature: Option<&Path>, manifest: Option<&Path>) -> Option<PathBuf> {
    signature.map(Path::to_path_buf).or_else(|| {
        manifest.map(|m| {
            let mut p = m.as_os_str().to_owned();
            p.push(".sig");
            PathBuf::from(p)
        })
    })
}

/// Signs an in-toto statement whose subjects are the data files (path and
/// SHA-256) and whose predicate pins the manifest's own bytes by digest, so the
/// signature stays small however many row digests the manifest holds.
fn sign_manifest(
    manifest: &Manifest,
    bytes: &[u8],
    key: &KeyArgs,
) -> Result<mlsec_sign::bundle::Bundle, String> {
    let subjects = manifest
        .files
        .iter()
        .map(|f| json!({"name": f.path, "digest": {"sha256": f.sha256}}))
        .collect();
    let predicate = json!({
        "manifest": {"digest": {"sha256": sha256_hex(bytes)}},
        "schema": manifest.schema,
        "created": manifest.created,
        "source": manifest.source,
    });
    mlsec_sign::sign_statement(
        subjects,
        MANIFEST_PREDICATE_TYPE,
        &predicate,
        &crate::sign::credential(key)?,
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use mlsec_sign::hash::{hex, HashAlgo};
    hex(&HashAlgo::Sha256.digest(bytes))
}

/// Checks the signature over the manifest's `bytes`; `Err` says why it was refused.
fn check_manifest_signature(
    bytes: &[u8],
    signature: &Path,
    trust: &mlsec_sign::Trust,
) -> Result<mlsec_sign::Signer, String> {
    let bundle = std::fs::read(signature).map_err(|e| format!("{}: {e}", signature.display()))?;
    let (predicate, signer) = mlsec_sign::open_statement(&bundle, trust, MANIFEST_PREDICATE_TYPE)?;
    let signed = predicate["manifest"]["digest"]["sha256"]
        .as_str()
        .ok_or("the signed statement names no manifest digest")?;
    let actual = sha256_hex(bytes);
    if signed != actual {
        return Err(format!(
            "the manifest's SHA-256 is {actual}, the signature covers {signed}"
        ));
    }
    Ok(signer)
}

fn verify_manifest(args: DataVerifyArgs) -> Result<ExitCode, String> {
    let bytes =
        std::fs::read(&args.manifest).map_err(|e| format!("{}: {e}", args.manifest.display()))?;
    let manifest =
        Manifest::from_bytes(&bytes).map_err(|e| format!("{}: {e}", args.manifest.display()))?;
    let signature_file =
        signature_path(args.signature.as_deref(), Some(&args.manifest)).unwrap_or_default();
    let signature = if args.trust.given() {
        let trust = crate::sign::trust(&args.trust)?;
        Some(check_manifest_signature(&bytes, &signature_file, &trust))
    } else {
        if signature_file.exists() && !args.output.quiet {
            eprintln!(
                "mlsec: warning: {} not checked: give --key or --certificate-chain",
                signature_file.display()
            );
        }
        None
    };
    let mut exclude = vec![args.manifest.clone()];
    exclude.extend(args.output.output.iter().cloned());
    let opts = VerifyOptions {
        read: args.bad_rows.read_options(),
        exclude,
    };
    let mut result = verify::verify(&manifest, &args.paths, &opts)?;
    let manifest_name = args.manifest.display().to_string();
    let signature_details = match &signature {
        None => json!({"checked": false}),
        Some(Ok(signer)) => {
            if !args.output.quiet {
                eprintln!(
                    "mlsec: manifest signature verified ({} key {})",
                    signer.algorithm, signer.key_fingerprint
                );
            }
            json!({"checked": true, "verified": true, "path": signature_file, "signer": signer})
        }
        Some(Err(why)) => {
            result.findings.insert(
                0,
                Finding::new(
                    &mlsec_data::rules::MANIFEST_SIGNATURE_INVALID,
                    &manifest_name,
                    format!("{manifest_name}: signature not accepted: {why}"),
                ),
            );
            json!({"checked": true, "verified": false, "path": signature_file, "reason": why})
        }
    };
    let details = json!({
        "manifest": {
            "path": manifest_name,
            "created": manifest.created,
            "source": manifest.source,
            "tool": manifest.tool,
        },
        "signature": signature_details,
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

fn hit(s: mlsec_pii::Span) -> Hit {
    Hit {
        entity: s.entity.as_str(),
        secret: s.entity.is_secret(),
        start: s.start,
        end: s.end,
        confidence: s.confidence,
    }
}

impl Detect for PiiDetector {
    /// Remembers the last field names seen, which beats working each out
    /// again where names come per value (JSONL keys).
    fn detect(&self, field: Option<&str>, text: &str, out: &mut Vec<Hit>) {
        self.0.detect_each(field, text, |s| out.push(hit(s)))
    }

    fn field(&self, name: Option<&str>) -> FieldHint {
        FieldHint(self.0.field(name).to_bits())
    }

    fn detect_in(&self, field: FieldHint, text: &str, out: &mut Vec<Hit>) {
        let field = mlsec_pii::Field::from_bits(field.0);
        self.0.detect_each_in(field, text, |s| out.push(hit(s)))
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
        args.max_findings,
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
    for s in &scans {
        for ((_, entity), n) in &s.counts {
            *entities.entry(entity.as_str()).or_default() += n;
        }
        let unlisted = s.unlisted();
        if unlisted > 0 && !args.output.quiet {
            eprintln!(
                "mlsec: {}: {unlisted} more finding(s) counted but not listed (--max-findings {} per column and entity)",
                s.path, args.max_findings
            );
        }
    }
    let details = json!({
        "files": scans.iter().map(|s| json!({
            "path": s.path,
            "format": s.format,
            "bytes": s.bytes,
            "findings": s.counts.values().sum::<u64>(),
            "listed": s.hits.len(),
            "counts": s.counts.iter().map(|((column, entity), n)| json!({
                "column": (!column.is_empty()).then_some(column),
                "entity": entity,
                "count": n,
            })).collect::<Vec<_>>(),
            "verdict": if s.error.is_some() { "error" } else if s.hits.is_empty() { "clean" } else { "suspicious" },
        })).collect::<Vec<_>>(),
        "entities": entities,
        "max_findings": args.max_findings,
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
        // The same envelope as every other command; the counts are its details.
        ReportFormat::Json => {
            let subjects = [&report.input, &report.output]
                .into_iter()
                .map(|name| mlsec_core::Subject {
                    name: name.clone(),
                    digest: Default::default(),
                })
                .collect();
            let details = serde_json::to_value(&report).map_err(|e| e.to_string())?;
            let evidence =
                Evidence::new("data.redact", subjects, Vec::new(), Severity::High, details);
            mlsec_core::render::json(&evidence)
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
