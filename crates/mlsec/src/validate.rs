//! `mlsec redteam`: the arguments, the model loaded, the library call and
//! the rendering.

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use clap::Args;
use mlsec_core::{Severity, Subject};
use mlsec_validate::attack::{Kind, Norm};
use mlsec_validate::endpoint::{Endpoint, EndpointOptions, Protocol};

use crate::args::OutputArgs;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct RedteamArgs {
    /// The model: an ONNX file (scikit-learn through skl2onnx, PyTorch,
    /// Keras), run in process, or an endpoint's URL (see --protocol).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled rows: CSV, JSONL or Parquet, with the feature columns and a
    /// label column (required but with --protocol openai).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The label column; its values must be the model's class labels.
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Feature columns in the model's input order (comma-separated)
    /// [default: every column but the label and --exclude, in file order].
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub features: Vec<String>,
    /// Columns that are not features (identifiers, timestamps).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub exclude: Vec<String>,
    /// With --protocol openai: the `model` of the chat requests.
    #[arg(long, value_name = "NAME")]
    pub llm_model: Option<String>,
    /// With --protocol openai: probe families (comma-separated): injection,
    /// leakage, pii.
    #[arg(long, value_delimiter = ',', default_value = "injection,leakage,pii", value_parser = parse_family)]
    pub probes: Vec<mlsec_validate::llm::Family>,
    /// With --protocol openai: a finding (RTM002) for a family whose pass
    /// rate is below this (default: any failed probe).
    #[arg(long, default_value_t = 1.0, value_name = "SHARE")]
    pub min_pass_rate: f64,
    /// Attacks (comma-separated): square, simba, nes (score-based), hsj,
    /// boundary (decision-based: labels only).
    #[arg(long, value_delimiter = ',', default_value = "square,hsj", value_parser = Kind::from_str)]
    pub attack: Vec<Kind>,
    /// Distance: linf (the largest change of one feature) or l2.
    #[arg(long, default_value = "linf", value_parser = Norm::from_str)]
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
    /// A feature's bounds, over the data's minimum and maximum and the
    /// profile's: COL=LOWER:UPPER (repeatable).
    #[arg(long, value_name = "COL=LO:HI", value_parser = parse_bounds)]
    pub bounds: Vec<(String, f32, f32)>,
    /// A profile written by `mlsec data profile` (of the training data, say):
    /// each feature that is a numeric column of it may range over the
    /// profile's minimum to maximum as well as the data's.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
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
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How to reach a model behind an endpoint (MODEL is an http(s) URL).
#[derive(Debug, Args)]
pub struct EndpointArgs {
    /// The endpoint's protocol: kserve-v2 (Open Inference Protocol v2,
    /// Triton; MODEL is .../v2/models/NAME), tf-serving (TF Serving and
    /// KServe v1; MODEL is .../v1/models/NAME), or openai (redteam only: an
    /// OpenAI-compatible chat API, MODEL its base URL .../v1, probed for
    /// prompt injection and leakage; see --llm-model).
    #[arg(long, default_value = "kserve-v2", value_parser = parse_protocol)]
    pub protocol: ProtocolArg,
    /// The endpoint's class labels in the order of its scores
    /// (comma-separated) [default: 0, 1, ...].
    #[arg(long, value_delimiter = ',', value_name = "CLASS")]
    pub classes: Vec<String>,
    /// A request header, e.g. "Authorization: Bearer $TOKEN" (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Time allowed per request.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// Tries after the first when the endpoint is unreachable, busy (429,
    /// after its Retry-After) or failing (5xx).
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
    /// Requests per second at most.
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// Queries (rows) for the whole run at most; rows attacked after it is
    /// spent are reported as a partial result.
    #[arg(long, value_name = "N")]
    pub max_queries: Option<u64>,
    /// Rows per request.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub batch: usize,
}

/// `--protocol`: a model endpoint's, or an LLM's chat API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolArg {
    Model(Protocol),
    OpenAi,
}

fn parse_protocol(s: &str) -> Result<ProtocolArg, String> {
    if s == "openai" {
        return Ok(ProtocolArg::OpenAi);
    }
    Protocol::parse(s)
        .map(ProtocolArg::Model)
        .ok_or_else(|| format!("unknown protocol `{s}` (protocols: kserve-v2, tf-serving, openai)"))
}

fn parse_family(s: &str) -> Result<mlsec_validate::llm::Family, String> {
    mlsec_validate::llm::Family::parse(s)
        .ok_or_else(|| format!("unknown probe family `{s}` (families: injection, leakage, pii)"))
}

fn headers(endpoint: &EndpointArgs) -> Result<Vec<(String, String)>, CliError> {
    endpoint
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| CliError::usage(format!("--header {h:?}: expected NAME: VALUE")))
        })
        .collect()
}

/// The model MODEL names: an endpoint when it is an http(s) URL (reading
/// `features` features), else an ONNX file; and its subject.
fn load_model(
    model: &std::path::Path,
    features: &[String],
    endpoint: &EndpointArgs,
) -> Result<(Box<dyn mlsec_model::Model>, Subject), CliError> {
    let text = model.to_string_lossy();
    if text.starts_with("http://") || text.starts_with("https://") {
        if features.is_empty() {
            return Err(CliError::usage(format!(
                "{text}: name the feature columns with --features: an endpoint does not say how many it reads"
            )));
        }
        let ProtocolArg::Model(protocol) = endpoint.protocol else {
            return Err(CliError::usage(
                "--protocol openai probes a chat model (mlsec redteam URL --protocol openai --llm-model NAME); it does not classify rows",
            ));
        };
        let mut opts = EndpointOptions::new(text.to_string(), protocol, features.len());
        opts.classes = endpoint.classes.clone();
        opts.headers = headers(endpoint)?;
        opts.timeout = endpoint.timeout;
        opts.retries = endpoint.retries;
        opts.rate = endpoint.rate;
        opts.max_queries = endpoint.max_queries;
        opts.batch = endpoint.batch;
        let model = Endpoint::connect(opts).map_err(|e| CliError::usage(e.to_string()))?;
        let subject = Subject {
            name: text.to_string(),
            digest: Default::default(),
        };
        return Ok((Box::new(model), subject));
    }
    let loaded = mlsec_onnx::OnnxModel::load(model).map_err(|e| CliError::usage(e.to_string()))?;
    let subject = Subject::of_file(model)
        .map_err(|e| CliError::usage(format!("{}: {e}", model.display())))?;
    Ok((Box::new(loaded), subject))
}

fn parse_bounds(s: &str) -> Result<(String, f32, f32), String> {
    let err = || format!("`{s}`: expected COL=LOWER:UPPER, e.g. age=18:100");
    let (col, range) = s.rsplit_once('=').ok_or_else(err)?;
    let (lo, hi) = range.split_once(':').ok_or_else(err)?;
    let lo: f32 = lo.trim().parse().map_err(|_| err())?;
    let hi: f32 = hi.trim().parse().map_err(|_| err())?;
    Ok((col.to_string(), lo, hi))
}

/// `mlsec redteam --protocol openai`: the LLM probes.
fn redteam_llm(args: RedteamArgs) -> Result<ExitCode, CliError> {
    let url = args.model.to_string_lossy().to_string();
    let model = args.llm_model.clone().ok_or_else(|| {
        CliError::usage(
            "--protocol openai needs --llm-model NAME (the `model` of the chat requests)",
        )
    })?;
    let mut opts = mlsec_validate::llm::LlmOptions::new(url, model);
    opts.families = args.probes.clone();
    opts.headers = headers(&args.endpoint)?;
    opts.timeout = args.endpoint.timeout;
    opts.seed = args.seed;
    opts.min_pass_rate = args.min_pass_rate;
    let mut evidence =
        mlsec_validate::llm::probe_llm(&opts).map_err(|e| CliError::usage(e.to_string()))?;
    evidence.judge(Severity::from(args.output.fail_on));
    crate::data::finish(
        &evidence,
        &args.output,
        mlsec_validate::rules::ALL,
        |colour| {
            let details: mlsec_validate::llm::LlmDetails =
                serde_json::from_value(evidence.details.clone()).map_err(CliError::internal)?;
            Ok(mlsec_validate::llm_human(&evidence, &details, colour))
        },
    )
}

pub fn redteam(args: RedteamArgs) -> Result<ExitCode, CliError> {
    if args.endpoint.protocol == ProtocolArg::OpenAi {
        return redteam_llm(args);
    }
    let (Some(data), Some(label)) = (args.data.clone(), args.label.clone()) else {
        return Err(CliError::usage(
            "redteam needs --data FILE and --label COL (labelled rows to attack)",
        ));
    };
    let (model, subject) = load_model(&args.model, &args.features, &args.endpoint)?;
    let mut opts = mlsec_validate::RedteamOptions::new(data, label);
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
    opts.profile = args.profile;
    opts.integer = args.integer;
    opts.immutable = args.immutable;
    opts.one_hot = args
        .one_hot
        .iter()
        .map(|g| g.split(',').map(|c| c.trim().to_string()).collect())
        .collect();
    let mut evidence = mlsec_validate::redteam(model.as_ref(), subject, &opts)
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
    /// The model: an ONNX file, run in process, or an endpoint's URL (see
    /// --protocol).
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
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn explain(args: ExplainArgs) -> Result<ExitCode, CliError> {
    let (model, subject) = load_model(&args.model, &args.features, &args.endpoint)?;
    let mut opts =
        mlsec_validate::explain::ExplainOptions::new(args.data.clone(), args.label.clone());
    opts.features = (!args.features.is_empty()).then_some(args.features);
    opts.exclude = args.exclude;
    opts.sensitive = args.sensitive;
    opts.positive = args.positive;
    opts.min_ratio = args.min_ratio;
    opts.repeats = args.repeats;
    opts.shap_rows = args.shap_rows;
    opts.background = args.background;
    opts.seed = args.seed;
    let mut evidence = mlsec_validate::explain::explain(model.as_ref(), subject, &opts)
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

#[derive(Debug, Args)]
pub struct PrivacyArgs {
    /// The model: an ONNX file, run in process, or an endpoint's URL (see
    /// --protocol).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Rows the model was trained on (CSV, JSONL or Parquet).
    #[arg(long, value_name = "FILE")]
    pub members: PathBuf,
    /// Rows of the same kind it never saw.
    #[arg(long = "non-members", value_name = "FILE")]
    pub non_members: PathBuf,
    /// The label column; its values must be the model's class labels.
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// Feature columns in the model's input order (comma-separated)
    /// [default: every column but the label and --exclude, in file order].
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub features: Vec<String>,
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub exclude: Vec<String>,
    /// Attacks (comma-separated): gap, loss, confidence, entropy, mentr,
    /// shadow, lira, lira-offline, supervised [default: all].
    #[arg(long, value_delimiter = ',', value_parser = mlsec_validate::privacy::Attack::from_str)]
    pub attack: Vec<mlsec_validate::privacy::Attack>,
    /// Shadow models of LiRA.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub shadow: usize,
    /// Rows of the model's domain that neither side holds, for the shadow
    /// models [default: half the non-members].
    #[arg(long, value_name = "FILE")]
    pub shadow_data: Option<PathBuf>,
    /// Rows attacked per side at most.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub rows: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A finding (PRV001) for an attack whose AUC is above this.
    #[arg(long, default_value_t = 0.6, value_name = "AUC")]
    pub max_auc: f64,
    /// Rows per side whose features model inversion infers from the others
    /// (0: skip it; it costs rows x features x 8 queries).
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub inversion_rows: usize,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn privacy(args: PrivacyArgs) -> Result<ExitCode, CliError> {
    let (model, subject) = load_model(&args.model, &args.features, &args.endpoint)?;
    let mut opts =
        mlsec_validate::privacy::AuditOptions::new(args.members, args.non_members, args.label);
    opts.features = (!args.features.is_empty()).then_some(args.features);
    opts.exclude = args.exclude;
    opts.shadow_data = args.shadow_data;
    opts.max_auc = args.max_auc;
    if !args.attack.is_empty() {
        opts.privacy.attacks = args.attack;
    }
    opts.privacy.lira_shadows = args.shadow;
    opts.privacy.rows = args.rows;
    opts.privacy.seed = args.seed;
    opts.privacy.inversion_rows = args.inversion_rows;
    let mut evidence = mlsec_validate::privacy::audit(model.as_ref(), subject, &opts)
        .map_err(|e| CliError::usage(e.to_string()))?;
    evidence.judge(Severity::from(args.output.fail_on));
    crate::data::finish(
        &evidence,
        &args.output,
        mlsec_validate::rules::ALL,
        |colour| {
            let details: mlsec_validate::privacy::PrivacyDetails =
                serde_json::from_value(evidence.details.clone()).map_err(CliError::internal)?;
            Ok(mlsec_validate::privacy_human(&evidence, &details, colour))
        },
    )
}
