//! `mlsec data ...`: dataset integrity manifests, verification, and (with the
//! detectors) PII and secret scanning and redaction.

use crate::args::{KeyArgs, OutputArgs, TrustArgs};
use crate::error::CliError;
use clap::{Args, Subcommand};
use mlsec_core::{output, Evidence, Severity};
use mlsec_data::manifest::ManifestOptions;
use mlsec_data::redact::{RedactReport, Strategy};
use mlsec_data::{
    signing, DatasetVerifyOptions, IntegrityDetails, ManifestDetails, ManifestWriteOptions,
    PiiDetails, PiiOptions, ReadOptions, RedactOptions,
};
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
    /// Compare current data with a reference, column by column: a test or a
    /// distance suited to each column's type and size, p-values corrected
    /// across columns, dataset drift when enough columns drifted.
    ///
    /// Exit codes: 0 no finding at or above --fail-on (default high: dataset
    /// drift), 1 otherwise, 2 usage or I/O error. `--fail-on medium` fails on
    /// any drifted column or schema change.
    Drift(DriftArgs),
    /// Write a reference profile of tables: per column its type, missing
    /// rate, quantile sketch and moments (numbers) or value counts up to a cap
    /// (categories). Memory does not grow with the rows; profiles of shards
    /// merge (--merge). `mlsec data drift PROFILE CUR` compares data with it.
    Profile(ProfileArgs),
    /// Find suspect rows of a labelled table and say why: label errors
    /// (confident learning on cross-validated logistic regression), outliers
    /// (isolation forest or k-nearest-neighbour distance), exact and near
    /// duplicates, conflicting duplicates, backdoor signals (spectral
    /// signatures); and class imbalance, unusable columns and label leaks.
    ///
    /// Exit codes: 0 no finding at or above --fail-on (default high: a
    /// backdoor signal or a label leak), 1 otherwise, 2 usage or I/O error.
    /// `--fail-on medium` also fails on label errors and conflicting duplicates.
    Issues(IssuesArgs),
}

#[derive(Debug, Args)]
pub struct IssuesArgs {
    /// The table to check: CSV, JSONL or Parquet.
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// The label column (class labels). Without it, only outliers and
    /// duplicates are checked.
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Checks to run (comma-separated): label, outlier, duplicate, conflict,
    /// backdoor [default: all that the label allows].
    #[arg(long, value_delimiter = ',', value_name = "CHECK", value_parser = parse_issue)]
    pub checks: Vec<mlsec_quality::Issue>,
    /// Leave these columns out of the features: identifiers, timestamps
    /// (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub exclude: Vec<String>,
    /// Folds of the cross-validation that gives each row out-of-sample
    /// class probabilities.
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub folds: usize,
    /// The model behind those probabilities: logistic (multinomial logistic
    /// regression) or knn (the share of the nearest rows in each class, for
    /// classes that are clusters rather than half-spaces).
    #[arg(long, value_enum, default_value_t = LabelModelArg::Logistic)]
    pub label_model: LabelModelArg,
    /// Neighbours for --label-model knn.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub label_neighbours: usize,
    /// Cross-validations with different splits whose probabilities are
    /// averaged (fewer: faster; more: steadier).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub repeats: usize,
    /// How outliers are scored: isolation-forest; knn (mean distance to the
    /// --neighbours nearest rows; at most 20,000 rows); mahalanobis (distance
    /// from the mean under the covariance: finds rows whose values are each
    /// ordinary but whose combination is not; at most 256 features).
    #[arg(long, value_enum, default_value_t = OutlierArg::IsolationForest)]
    pub outlier_method: OutlierArg,
    /// Flag this share of rows as outliers, in (0, 0.5] [default: isolation
    /// forest scores above 0.62; knn and mahalanobis: 0.01].
    #[arg(long, value_name = "SHARE", conflicts_with = "outlier_threshold")]
    pub contamination: Option<f64>,
    /// Flag the rows whose outlier score is above this.
    #[arg(long, value_name = "SCORE")]
    pub outlier_threshold: Option<f64>,
    /// Neighbours for --outlier-method knn.
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub neighbours: usize,
    /// Near duplicates: rows within this Euclidean distance of each other
    /// after standardising each feature [default: 0.002 x sqrt(features): a fifth of a percent of a standard deviation per feature].
    #[arg(long, value_name = "D")]
    pub near_radius: Option<f64>,
    /// The share of a class that may be poisoned: a backdoor group holds at
    /// most twice this.
    #[arg(long, value_name = "SHARE", default_value_t = 0.05)]
    pub poison_fraction: f64,
    /// Seed of the folds, the isolation forest and the power iteration.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Your model (ONNX, run in process): the label check uses its class
    /// probabilities instead of cross-validating the built-in model. The
    /// label's values must be its classes.
    #[arg(long, value_name = "MODEL.onnx")]
    pub model: Option<PathBuf>,
    /// The columns --model reads, in its input order (comma-separated)
    /// [default: every column but the label and --exclude, in file order].
    #[arg(long, value_delimiter = ',', value_name = "COL", requires = "model")]
    pub model_features: Vec<String>,
    /// Also write the table without the flagged rows to FILE (same format;
    /// atomically; the input is never modified).
    #[arg(long, value_name = "FILE")]
    pub write_clean: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelModelArg {
    /// Multinomial logistic regression (L2, C = 1).
    Logistic,
    /// k nearest neighbours.
    Knn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutlierArg {
    IsolationForest,
    Knn,
    Mahalanobis,
}

fn parse_issue(s: &str) -> Result<mlsec_quality::Issue, String> {
    mlsec_quality::Issue::parse(s).ok_or_else(|| {
        format!("unknown check `{s}`: expected label, outlier, duplicate, conflict or backdoor")
    })
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Tables to profile together (CSV, JSONL, Parquet), or with --merge the
    /// profiles to merge.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The inputs are profiles (of shards): write the profile of the whole.
    #[arg(long)]
    pub merge: bool,
    /// Write the profile to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub bad_rows: BadRowArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The reference data (what the model was trained or validated on): CSV,
    /// JSONL or Parquet, or a profile of it written by `mlsec data profile`.
    #[arg(value_name = "REF")]
    pub reference: PathBuf,
    /// The current data (recent inputs), in any of the same formats.
    #[arg(value_name = "CUR")]
    pub current: PathBuf,
    /// Compare only these columns (comma-separated; default every column of REF).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub columns: Vec<String>,
    /// Leave these columns out: identifiers, timestamps, the label (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub exclude: Vec<String>,
    /// Judge these numeric columns as categories (codes, ratings; comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub categorical: Vec<String>,
    /// Method for numeric columns: ks, cvm, anderson, wasserstein,
    /// jensenshannon, psi, kl, hellinger [default: ks up to 1,000 values in REF,
    /// wasserstein above].
    #[arg(long, value_name = "METHOD", value_parser = parse_method)]
    pub numeric_method: Option<mlsec_quality::Method>,
    /// Method for categorical columns: chisquare, ztest, jensenshannon, psi,
    /// kl, hellinger [default: chisquare (ztest for two values) up to 1,000
    /// values in REF, jensenshannon above].
    #[arg(long, value_name = "METHOD", value_parser = parse_method)]
    pub categorical_method: Option<mlsec_quality::Method>,
    /// Drift threshold: the p-value below which a test says drift, or the
    /// distance at or above which a distance does [default: 0.05 for tests,
    /// 0.1 for distances].
    #[arg(long, value_name = "X")]
    pub threshold: Option<f64>,
    /// Correction of p-values across columns.
    #[arg(long, value_enum, default_value_t = CorrectionArg::Holm)]
    pub correction: CorrectionArg,
    /// Dataset drift when at least this share of the compared columns drifted.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    pub drift_share: f64,
    /// Also test the joint distribution of the numeric columns (maximum mean
    /// discrepancy, p-value by permutation), on a sample of rows.
    #[arg(long)]
    pub multivariate: bool,
    /// Rows sampled from each side for --multivariate.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub multivariate_rows: usize,
    /// Seed of the multivariate test's sampling and permutations.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Prediction drift: run this model (ONNX, in process) on both sides and
    /// compare its predictions as one more column, `prediction [FILE]` (a
    /// classifier's labels as categories, a regressor's values as numbers).
    /// REF must be a dataset, not a profile.
    #[arg(long, value_name = "MODEL.onnx")]
    pub model: Option<PathBuf>,
    /// The columns --model reads, in its input order (comma-separated)
    /// [default: every column of REF but --exclude, in file order].
    #[arg(long, value_delimiter = ',', value_name = "COL", requires = "model")]
    pub model_features: Vec<String>,
    /// Follow CUR as it grows (a CSV or JSON Lines log, as `tail -F` does) and
    /// compare each window of new rows with REF, one envelope per window
    /// (JSON Lines with -f json), until interrupted.
    #[arg(long)]
    pub follow: bool,
    /// With --follow: a window is this many rows [default: 1000].
    #[arg(
        long,
        value_name = "N",
        requires = "follow",
        conflicts_with = "window_seconds"
    )]
    pub window_rows: Option<u64>,
    /// With --follow: a window is the rows that came in this many seconds.
    #[arg(long, value_name = "S", requires = "follow")]
    pub window_seconds: Option<f64>,
    /// With --follow: read the rows already in CUR too, not only new ones.
    #[arg(long, requires = "follow")]
    pub from_start: bool,
    /// With --follow: stop after N windows.
    #[arg(long, value_name = "N", requires = "follow")]
    pub max_windows: Option<u64>,
    /// With --follow: POST the envelope of each window with a finding at or
    /// above --fail-on, as JSON, to this http:// or https:// URL.
    #[arg(long, value_name = "URL", requires = "follow")]
    pub webhook: Option<String>,
    /// CA certificates (PEM) for an https:// --webhook [default: the system's roots].
    #[arg(long, value_name = "CA.pem", requires = "webhook")]
    pub webhook_ca: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub bad_rows: BadRowArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CorrectionArg {
    /// Holm's step-down method (controls the chance of any false alarm).
    Holm,
    /// Bonferroni (p-values times the number of columns).
    Bonferroni,
    /// Benjamini-Hochberg (controls the share of false alarms).
    Bh,
    /// None: each column on its own.
    None,
}

fn parse_method(s: &str) -> Result<mlsec_quality::Method, String> {
    s.parse()
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

pub fn run(args: DataArgs) -> Result<ExitCode, CliError> {
    match args.command {
        DataCommand::Manifest(args) => write_manifest(args),
        DataCommand::Verify(args) => verify_manifest(args),
        DataCommand::Pii(args) => pii(args),
        DataCommand::Redact(args) => redact(args),
        DataCommand::Drift(args) => drift(args),
        DataCommand::Profile(args) => profile(args),
        DataCommand::Issues(args) => issues(args),
    }
}

fn write_manifest(args: ManifestArgs) -> Result<ExitCode, CliError> {
    let credential = match args.sign.key {
        Some(_) => Some(crate::keys::credential(&args.sign)?),
        None => None,
    };
    let evidence = mlsec_data::write_manifest(&ManifestWriteOptions {
        paths: args.paths,
        manifest: ManifestOptions {
            source: args.source,
            read: args.bad_rows.read_options(),
            no_row_digests: args.no_row_digests,
            exclude: args.output.iter().cloned().collect(),
        },
        output: args.output.clone(),
        credential,
        signature: args.signature,
    })?;
    for f in &evidence.findings {
        eprintln!("mlsec: warning: {}", f.message);
    }
    let d: ManifestDetails = details(&evidence)?;
    if let (Some(path), false) = (&d.signature, args.quiet) {
        eprintln!("mlsec: signature written to {path}");
    }
    if !args.quiet && args.output.is_some() {
        eprintln!("mlsec: {} file(s), {} table row(s) pinned", d.files, d.rows);
    }
    Ok(ExitCode::SUCCESS)
}

/// The typed `details` of an envelope a library call just made.
fn details<T: serde::de::DeserializeOwned>(evidence: &Evidence) -> Result<T, CliError> {
    serde_json::from_value(evidence.details.clone()).map_err(CliError::internal)
}

fn verify_manifest(args: DataVerifyArgs) -> Result<ExitCode, CliError> {
    let trust = if args.trust.given() {
        Some(crate::keys::trust(&args.trust)?)
    } else {
        let signature = args
            .signature
            .clone()
            .unwrap_or_else(|| signing::default_signature(&args.manifest));
        if signature.exists() && !args.output.quiet {
            eprintln!(
                "mlsec: warning: {} not checked: give --key or --certificate-chain",
                signature.display()
            );
        }
        None
    };
    let mut evidence = mlsec_data::verify_dataset(&DatasetVerifyOptions {
        paths: args.paths.clone(),
        manifest: args.manifest.clone(),
        signature: args.signature.clone(),
        trust,
        read: args.bad_rows.read_options(),
        exclude: args.output.output.iter().cloned().collect(),
    })?;
    evidence.judge(Severity::from(args.output.fail_on));
    let details: IntegrityDetails = details(&evidence)?;
    if let (Some(signer), false) = (&details.signature.signer, args.output.quiet) {
        eprintln!(
            "mlsec: manifest signature verified ({} key {})",
            signer.algorithm, signer.key_fingerprint
        );
    }
    crate::report::report(
        &evidence,
        &details,
        &args.output,
        mlsec_data::rules::RULES,
        details.files.len(),
    )
}

fn pii(args: PiiArgs) -> Result<ExitCode, CliError> {
    let mut evidence = mlsec_data::scan_pii(&PiiOptions {
        paths: args.paths.clone(),
        entities: args.entities.entities.clone(),
        read: args.bad_rows.read_options(),
        max_findings: args.max_findings,
    })?;
    evidence.judge(Severity::from(args.output.fail_on));
    let details: PiiDetails = details(&evidence)?;
    if !args.output.quiet {
        for f in &details.files {
            let unlisted = f.findings.saturating_sub(f.listed as u64);
            if unlisted > 0 {
                eprintln!(
                    "mlsec: {}: {unlisted} more finding(s) counted but not listed (--max-findings {} per column and entity)",
                    f.path, args.max_findings
                );
            }
        }
    }
    crate::report::emit(&evidence, &details, &args.output, mlsec_data::pii::RULES)?;
    Ok(if evidence.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn redact(args: RedactArgs) -> Result<ExitCode, CliError> {
    let strategy = match args.strategy {
        StrategyArg::Mask => Strategy::Mask,
        StrategyArg::Hash => Strategy::Hash,
        StrategyArg::Replace => Strategy::Replace,
        StrategyArg::DropColumn => Strategy::DropColumn,
    };
    let evidence = mlsec_data::redact(&RedactOptions {
        input: args.path.clone(),
        output: args.output.clone(),
        strategy,
        entities: args.entities.entities.clone(),
        read: args.bad_rows.read_options(),
    })?;
    let report: RedactReport = details(&evidence)?;
    let text = match args.format {
        // The same envelope as every other command; the counts are its details.
        ReportFormat::Json => mlsec_core::render::json(&evidence),
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
    output::emit(None, text.as_bytes()).map_err(|e| CliError::output(None, &e))?;
    Ok(ExitCode::SUCCESS)
}

fn drift(args: DriftArgs) -> Result<ExitCode, CliError> {
    use mlsec_quality::Correction;
    let mut opts = mlsec_quality::DriftOptions::new(args.reference.clone(), args.current.clone());
    opts.read = args.bad_rows.read_options();
    opts.columns = args.columns.clone();
    opts.exclude = args.exclude.clone();
    opts.categorical = args.categorical.clone();
    opts.numeric_method = args.numeric_method;
    opts.categorical_method = args.categorical_method;
    opts.threshold = args.threshold;
    opts.correction = match args.correction {
        CorrectionArg::Holm => Correction::Holm,
        CorrectionArg::Bonferroni => Correction::Bonferroni,
        CorrectionArg::Bh => Correction::Bh,
        CorrectionArg::None => Correction::None,
    };
    opts.drift_share = args.drift_share;
    opts.multivariate = args.multivariate;
    opts.multivariate_rows = args.multivariate_rows;
    opts.seed = args.seed;
    if let Some(path) = &args.model {
        let model =
            mlsec_onnx::OnnxModel::load(path).map_err(|e| CliError::usage(e.to_string()))?;
        opts.model = Some(std::sync::Arc::new(model));
        opts.model_features =
            (!args.model_features.is_empty()).then(|| args.model_features.clone());
    }
    if args.follow {
        return follow_drift(opts, &args);
    }
    let mut evidence = mlsec_quality::drift(&opts)?;
    evidence.judge(Severity::from(args.output.fail_on));
    finish(
        &evidence,
        &args.output,
        mlsec_quality::rules::RULES,
        |colour| {
            let details: mlsec_quality::DriftDetails = details(&evidence)?;
            Ok(mlsec_quality::human(&evidence, &details, colour))
        },
    )
}

/// `mlsec data drift --follow`: one envelope per window, written as it
/// closes (a line of JSON, or a line for people), and POSTed to the webhook
/// when it has a finding at or above --fail-on. Exit 1 when any window had.
fn follow_drift(
    drift: mlsec_quality::DriftOptions,
    args: &DriftArgs,
) -> Result<ExitCode, CliError> {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let usage = |message: String| CliError {
        message,
        fault: mlsec_core::Fault::Input,
    };
    if args.output.format == crate::args::Format::Sarif {
        return Err(usage(
            "--follow writes human or json (JSON Lines), not sarif".into(),
        ));
    }
    let window = match args.window_seconds {
        Some(s) if s.is_finite() && s > 0.0 => {
            mlsec_quality::Window::Every(std::time::Duration::from_secs_f64(s))
        }
        Some(s) => return Err(usage(format!("--window-seconds must be above 0, not {s}"))),
        None => mlsec_quality::Window::Rows(args.window_rows.unwrap_or(1000)),
    };
    let opts = mlsec_quality::FollowOptions {
        drift,
        window,
        poll: std::time::Duration::from_millis(250),
        max_windows: args.max_windows,
        from_start: args.from_start,
    };
    // Ctrl-C or SIGTERM ends following after the window in hand.
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("a runtime for --follow: {e}")))?;
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{signal, SignalKind};
                    if let Ok(mut term) = signal(SignalKind::terminate()) {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                        return;
                    }
                }
                let _ = tokio::signal::ctrl_c().await;
            });
            stop.store(true, Ordering::SeqCst);
        });
    }
    let mut sink: Box<dyn Write> = match &args.output.output {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| CliError::output(Some(path), &e))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let colour = crate::args::colour(args.output.output.as_deref());
    let fail_on = Severity::from(args.output.fail_on);
    let mut failed = false;
    let mut on_window = |mut evidence: Evidence| -> Result<(), mlsec_quality::QualityError> {
        evidence.judge(fail_on);
        let line = match args.output.format {
            crate::args::Format::Json => {
                serde_json::to_string(&evidence).unwrap_or_default() + "\n"
            }
            _ => window_line(&evidence, colour),
        };
        let written = sink.write_all(line.as_bytes()).and_then(|()| sink.flush());
        if let Err(e) = written {
            return Err(mlsec_quality::QualityError::Usage(format!(
                "writing the output: {e}"
            )));
        }
        if evidence.failed() {
            failed = true;
            if let Some(url) = &args.webhook {
                let body = serde_json::to_vec(&evidence).unwrap_or_default();
                let sent = runtime.block_on(mlsec_gateway::webhook::post_json(
                    url,
                    body,
                    args.webhook_ca.as_deref(),
                ));
                if let Err(e) = sent {
                    eprintln!("mlsec: webhook not told: {e}");
                }
            }
        }
        Ok(())
    };
    mlsec_quality::follow(&opts, &stop, &mut on_window)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One line for people about a window's drift.
fn window_line(evidence: &Evidence, colour: bool) -> String {
    let d: mlsec_quality::DriftDetails = match serde_json::from_value(evidence.details.clone()) {
        Ok(d) => d,
        Err(_) => return String::new(),
    };
    let (index, first, rows) = d
        .window
        .as_ref()
        .map_or((0, 0, 0), |w| (w.index, w.first_row, w.rows));
    let names: Vec<&str> = d
        .columns
        .iter()
        .filter(|c| c.drifted)
        .map(|c| c.column.as_str())
        .collect();
    let verdict = if d.dataset_drift {
        "dataset drift"
    } else if names.is_empty() {
        "no drift"
    } else {
        "columns drifted"
    };
    let verdict = if colour && !names.is_empty() {
        format!("\x1b[1;31m{verdict}\x1b[0m")
    } else {
        verdict.to_string()
    };
    let last = (first + rows).saturating_sub(1);
    let mut line = format!(
        "window {index} (rows {first}-{last}): {verdict}, {} of {} columns",
        d.drifted, d.compared
    );
    if !names.is_empty() {
        line.push_str(&format!(": {}", names.join(", ")));
    }
    line.push('\n');
    line
}

/// Writes a judged quality envelope as asked (`human` renders it for people,
/// given whether to colour) and returns the exit code its verdict gives.
pub(crate) fn finish(
    evidence: &Evidence,
    out: &OutputArgs,
    rules: &[mlsec_core::Rule],
    human: impl FnOnce(bool) -> Result<String, CliError>,
) -> Result<ExitCode, CliError> {
    if out.format == crate::args::Format::Human {
        let text = human(crate::args::colour(out.output.as_deref()))?;
        output::emit(out.output.as_deref(), text.as_bytes())
            .map_err(|e| CliError::output(out.output.as_deref(), &e))?;
    } else {
        crate::report::emit(evidence, &(), out, rules)?;
    }
    if !out.quiet && out.output.is_some() {
        eprintln!(
            "mlsec: {} finding(s): {}",
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

fn profile(args: ProfileArgs) -> Result<ExitCode, CliError> {
    let evidence = mlsec_quality::profile(&mlsec_quality::ProfileOptions {
        paths: args.paths.clone(),
        merge: args.merge,
        read: args.bad_rows.read_options(),
    })?;
    let text = mlsec_core::render::json(&evidence);
    output::emit(args.output.as_deref(), text.as_bytes())
        .map_err(|e| CliError::output(args.output.as_deref(), &e))?;
    if !args.quiet && args.output.is_some() {
        let d: mlsec_quality::ProfileDetails = details(&evidence)?;
        eprintln!(
            "mlsec: profile of {} row(s), {} column(s) from {} table(s)",
            d.rows,
            d.columns.len(),
            d.sources.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn issues(args: IssuesArgs) -> Result<ExitCode, CliError> {
    let mut opts = mlsec_quality::IssuesOptions::new(args.data.clone());
    opts.label = args.label;
    opts.checks = args.checks;
    opts.exclude = args.exclude;
    opts.folds = args.folds;
    opts.label_model = match args.label_model {
        LabelModelArg::Logistic => mlsec_quality::LabelModelKind::Logistic,
        LabelModelArg::Knn => mlsec_quality::LabelModelKind::Knn,
    };
    opts.label_neighbours = args.label_neighbours;
    opts.repeats = args.repeats;
    opts.outlier_method = match args.outlier_method {
        OutlierArg::IsolationForest => mlsec_quality::OutlierMethod::IsolationForest,
        OutlierArg::Knn => mlsec_quality::OutlierMethod::Knn,
        OutlierArg::Mahalanobis => mlsec_quality::OutlierMethod::Mahalanobis,
    };
    opts.contamination = args.contamination;
    opts.outlier_threshold = args.outlier_threshold;
    opts.neighbours = args.neighbours;
    opts.near_radius = args.near_radius;
    opts.poison_fraction = args.poison_fraction;
    opts.seed = args.seed;
    if let Some(path) = &args.model {
        let model =
            mlsec_onnx::OnnxModel::load(path).map_err(|e| CliError::usage(e.to_string()))?;
        opts.model = Some(std::sync::Arc::new(model));
        opts.model_features = (!args.model_features.is_empty()).then_some(args.model_features);
    }
    let mut evidence = mlsec_quality::issues(&opts)?;
    evidence.judge(Severity::from(args.output.fail_on));
    let out = &args.output;
    if let Some(clean) = &args.write_clean {
        let drop = mlsec_quality::flagged_rows(&evidence);
        let written = mlsec_data::filter::write_without_rows(&args.data, clean, &drop, &opts.read)?;
        if !out.quiet {
            eprintln!(
                "mlsec: wrote {} ({written} rows; {} flagged row(s) left out)",
                clean.display(),
                drop.len()
            );
        }
    }
    finish(
        &evidence,
        out,
        mlsec_quality::rules::ISSUE_RULES,
        |colour| {
            let details: mlsec_quality::IssuesDetails = details(&evidence)?;
            Ok(mlsec_quality::issues_human(&evidence, &details, colour))
        },
    )
}
