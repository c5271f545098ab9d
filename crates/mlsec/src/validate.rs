//! `mlsec redteam`: the arguments, the model loaded, the library call and
//! the rendering.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mlsec_core::{Severity, Subject};
use mlsec_validate::attack::{Kind, Norm};

use crate::args::OutputArgs;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct RedteamArgs {
    /// The model: an ONNX file (scikit-learn through skl2onnx, PyTorch,
    /// Keras), run in process.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled rows: CSV, JSONL or Parquet, with the feature columns and a
    /// label column.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The label column; its values must be the model's class labels.
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// Feature columns in the model's input order (comma-separated)
    /// [default: every column but the label and --exclude, in file order].
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub features: Vec<String>,
    /// Columns that are not features (identifiers, timestamps).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub exclude: Vec<String>,
    /// Attacks (comma-separated): square, simba, nes (score-based), hsj,
    /// boundary (decision-based: labels only).
    #[arg(long, value_delimiter = ',', default_value = "square,hsj", value_parser = parse_attack)]
    pub attack: Vec<Kind>,
    /// Distance: linf (the largest change of one feature) or l2.
    #[arg(long, default_value = "linf", value_parser = parse_norm)]
    pub norm: Norm,
    /// Radii as shares of each feature's range (comma-separated; a list
    /// gives a robustness curve).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.05,0.1",
        value_name = "EPS"
    )]
    pub eps: Vec<f32>,
    /// Queries allowed per attacked row.
    #[arg(long, default_value_t = 1000, value_name = "QUERIES")]
    pub budget: usize,
    /// Rows sampled from the data; those the model classifies correctly are
    /// attacked.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub rows: usize,
    /// Seed of the sample and the attacks (the same seed, the same result).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Targeted attacks: the class every row must be moved to.
    #[arg(long, value_name = "CLASS")]
    pub target: Option<String>,
    /// A finding (RTM001, high) when an attack's success rate is above this.
    #[arg(long, default_value_t = 0.5, value_name = "SHARE")]
    pub max_success: f64,
    /// A feature's bounds, over the data's minimum and maximum:
    /// COL=LOWER:UPPER (repeatable).
    #[arg(long, value_name = "COL=LO:HI", value_parser = parse_bounds)]
    pub bounds: Vec<(String, f32, f32)>,
    /// Features that hold whole numbers (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub integer: Vec<String>,
    /// Features an attacker cannot change (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub immutable: Vec<String>,
    /// A group of one-hot columns of one category, comma-separated
    /// (repeatable: one flag per group).
    #[arg(long = "one-hot", value_name = "COL,COL,...")]
    pub one_hot: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_attack(s: &str) -> Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| {
        format!(
            "unknown attack `{s}` (attacks: {})",
            Kind::ALL.map(Kind::as_str).join(", ")
        )
    })
}

fn parse_norm(s: &str) -> Result<Norm, String> {
    Norm::parse(s).ok_or_else(|| format!("unknown norm `{s}` (norms: linf, l2)"))
}

fn parse_bounds(s: &str) -> Result<(String, f32, f32), String> {
    let err = || format!("`{s}`: expected COL=LOWER:UPPER, e.g. age=18:100");
    let (col, range) = s.rsplit_once('=').ok_or_else(err)?;
    let (lo, hi) = range.split_once(':').ok_or_else(err)?;
    let lo: f32 = lo.trim().parse().map_err(|_| err())?;
    let hi: f32 = hi.trim().parse().map_err(|_| err())?;
    Ok((col.to_string(), lo, hi))
}

/// The model file as a subject: its path and SHA-256.
fn model_subject(path: &std::path::Path) -> Result<Subject, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    let (digest, _) = mlsec_core::digest::sha256_stream(&[], file)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    Ok(Subject {
        name: path.display().to_string(),
        digest: [("sha256".to_string(), mlsec_core::digest::hex(&digest))].into(),
    })
}

pub fn redteam(args: RedteamArgs) -> Result<ExitCode, CliError> {
    let model =
        mlsec_onnx::OnnxModel::load(&args.model).map_err(|e| CliError::usage(e.to_string()))?;
    let subject = model_subject(&args.model)?;
    let mut opts = mlsec_validate::RedteamOptions::new(args.data.clone(), args.label.clone());
    opts.features = (!args.features.is_empty()).then_some(args.features);
    opts.exclude = args.exclude;
    opts.attacks = args.attack;
    opts.norm = args.norm;
    opts.eps = args.eps;
    opts.budget = args.budget;
    opts.rows = args.rows;
    opts.seed = args.seed;
    opts.target = args.target;
    opts.max_success = args.max_success;
    opts.bounds = args.bounds;
    opts.integer = args.integer;
    opts.immutable = args.immutable;
    opts.one_hot = args
        .one_hot
        .iter()
        .map(|g| g.split(',').map(|c| c.trim().to_string()).collect())
        .collect();
    let mut evidence = mlsec_validate::redteam(&model, subject, &opts)
        .map_err(|e| CliError::usage(e.to_string()))?;
    evidence.judge(Severity::from(args.output.fail_on));
    crate::data::finish(
        &evidence,
        &args.output,
        mlsec_validate::rules::ALL,
        |colour| {
            let details: mlsec_validate::RedteamDetails =
                serde_json::from_value(evidence.details.clone()).map_err(CliError::internal)?;
            Ok(mlsec_validate::redteam_human(&evidence, &details, colour))
        },
    )
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The model: an ONNX file, run in process.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled rows: CSV, JSONL or Parquet.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The label column; its values must be the model's class labels.
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// Feature columns in the model's input order (comma-separated)
    /// [default: every column but the label, --sensitive and --exclude].
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub features: Vec<String>,
    /// Columns that are not features.
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub exclude: Vec<String>,
    /// A sensitive column (sex, age band, region): accuracy, selection
    /// rate, TPR and FPR per group, and Fairlearn's demographic parity and
    /// equalized odds differences and ratios.
    #[arg(long, value_name = "COL")]
    pub sensitive: Option<String>,
    /// The favourable class [default: the model's last class].
    #[arg(long, value_name = "CLASS")]
    pub positive: Option<String>,
    /// A finding (EXP001) when a fairness ratio is below this (the
    /// four-fifths rule).
    #[arg(long, default_value_t = 0.8, value_name = "RATIO")]
    pub min_ratio: f64,
    /// Repeats of permutation importance (0: skip it).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub repeats: usize,
    /// 1-based data rows to explain with Kernel SHAP (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ROW")]
    pub shap_rows: Vec<u64>,
    /// Background rows sampled for Kernel SHAP.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub background: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn explain(args: ExplainArgs) -> Result<ExitCode, CliError> {
    let model =
        mlsec_onnx::OnnxModel::load(&args.model).map_err(|e| CliError::usage(e.to_string()))?;
    let subject = model_subject(&args.model)?;
    let mut opts =
        mlsec_validate::explain::ExplainOptions::new(args.data.clone(), args.label.clone());
    opts.features = (!args.features.is_empty()).then_some(args.features);
    opts.exclude = args.exclude;
    if let Some(s) = &args.sensitive {
        if !opts.exclude.contains(s) {
            opts.exclude.push(s.clone());
        }
    }
    opts.sensitive = args.sensitive;
    opts.positive = args.positive;
    opts.min_ratio = args.min_ratio;
    opts.repeats = args.repeats;
    opts.shap_rows = args.shap_rows;
    opts.background = args.background;
    opts.seed = args.seed;
    let mut evidence = mlsec_validate::explain::explain(&model, subject, &opts)
        .map_err(|e| CliError::usage(e.to_string()))?;
    evidence.judge(Severity::from(args.output.fail_on));
    crate::data::finish(
        &evidence,
        &args.output,
        mlsec_validate::rules::ALL,
        |colour| {
            let details: mlsec_validate::explain::ExplainDetails =
                serde_json::from_value(evidence.details.clone()).map_err(CliError::internal)?;
            Ok(mlsec_validate::explain_human(&evidence, &details, colour))
        },
    )
}
