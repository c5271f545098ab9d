pub use crate::args::{Format, KeyArgs, OutputArgs, TrustArgs};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Secure the machine-learning lifecycle: scan model files for code execution,
/// tampering and malformed content.
///
/// Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or I/O error.
/// `mlsec --version`: the release and the git commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("MLSEC_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(name = "mlsec", version = VERSION, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan model files and folders for code execution, path escapes and malformed content.
    ///
    /// Formats are detected by content, never by extension: pickle (protocols 0-5,
    /// joblib), PyTorch (zip, tar, legacy), NumPy, Keras (.keras, H5), TensorFlow
    /// SavedModel, ONNX, GGUF, safetensors, and zip/tar/7z/gzip/bz2/xz/lz4 wrappers.
    /// Nothing is executed or deserialized.
    Scan(ScanArgs),
    /// List the detection rules, or explain one (`mlsec rules PKL001`).
    Rules(RulesArgs),
    /// Write a CycloneDX 1.6 ML-BOM for a model folder, or validate one.
    ///
    /// The model becomes a machine-learning-model component holding every file
    /// (SHA-256 and detected format) and a model card from README.md front matter
    /// and config.json; requirements.txt, pyproject.toml, poetry.lock, Pipfile.lock and
    /// environment.yml add library components. mlsec scans the files: each file and
    /// the model carry an mlsec:scan:verdict property, and every high or critical
    /// finding becomes a CycloneDX vulnerability on its file. GGUF general.*
    /// metadata and an ONNX model's inputs, outputs and opsets go into the model card.
    /// With --validate FILE: exit 0 valid, 1 invalid, 2 usage or I/O error.
    Bom(BomArgs),
    /// Sign a model folder (or file) the OpenSSF model_signing v1.0 way.
    ///
    /// Writes a Sigstore bundle (default model.sig in the model folder) whose DSSE envelope signs an
    /// in-toto statement listing every file's digest. `model_signing verify key`
    /// accepts it when the key is ECDSA P-256, P-384 or P-521. Ed25519 keys work
    /// with mlsec only: model_signing does not accept them.
    Sign(SignArgs),
    /// Verify a model against its signature: exit 0 verified, 1 not verified
    /// (naming each changed, missing, added or renamed file), 2 usage or I/O error.
    Verify(VerifyArgs),
    /// Sign an mlsec evidence document (scan, bom, data ... --format json) as an
    /// in-toto statement in a Sigstore bundle.
    Attest(AttestArgs),
    /// Check a signed evidence document made by `mlsec attest`.
    VerifyAttestation(VerifyAttestationArgs),
    /// Datasets: pin and verify them (manifest, verify), find personal data and
    /// secrets (pii) and write redacted copies (redact). CSV, JSONL, Parquet, text
    /// and Jupyter notebooks.
    Data(crate::data::DataArgs),
    /// Run every check a project's mlsec.toml names (scan, signature, BOM,
    /// data integrity, PII) in-process, keep the evidence, and decide with
    /// policies: exit 0 pass, 1 denied, 2 error (a check that could not run,
    /// a bad mlsec.toml or policy).
    Check(crate::check::CheckArgs),
    /// Write a first mlsec.toml for a folder, from the model files, data
    /// files, manifests, signatures, public keys and policies it holds
    /// (told apart by extension; nothing is opened but key headers).
    Init(crate::check::InitArgs),
    /// Test and evaluate policies (Rego, conftest conventions).
    Policy(crate::check::PolicyArgs),
    /// Render saved evidence (an evidence folder of `mlsec check`, or
    /// envelope files of any command) as the HTML report, JUnit XML, merged
    /// SARIF, or the check's summary: exit 0 written, 2 unreadable or newer
    /// evidence. The gate's exit code is `mlsec check`'s.
    Report(crate::check::ReportArgs),
    /// Threat-model an ML system from its description (pipeline.yaml: data
    /// sources, labelling, training, registry, serving, LLM apps, consumers,
    /// and the trust of each): the MITRE ATLAS techniques and OWASP ML / LLM
    /// Top 10 risks that apply, which policy rules (and so which `mlsec check`
    /// checks) cover each, and the gaps (THR001, low). Exit 0, 1 when a
    /// finding reaches --fail-on, 2 on a bad file.
    ThreatModel(crate::threat::ThreatModelArgs),
    /// Serve the runtime gateway in front of model servers (OpenAI-compatible,
    /// KServe v2, TF Serving / KServe v1, any JSON API): API keys, rate limits,
    /// token budgets and quotas, a hash-chained audit log, Prometheus metrics.
    /// `check-config` checks a config; `keys` manages API keys.
    Gateway(crate::gateway::GatewayArgs),
    /// The gateway's audit log: prove its hash chain (verify), or write it out
    /// as JSON Lines (export).
    Audit(crate::gateway::AuditArgs),
    /// Run the gateway's input guards offline over JSON Lines (logged
    /// requests: `{"text": ...}` lines or chat bodies): what would they have
    /// blocked or flagged? Exit 0 clean, 1 hits at or above --fail-on, 2 error.
    Guard(crate::gateway::GuardArgs),
    /// Attack a model with black-box evasion attacks on labelled rows: how
    /// small a change flips its decisions. Square Attack, SimBA and NES read
    /// scores; HopSkipJump and the Boundary Attack read labels only. Reports
    /// clean and robust accuracy and the success rate at each --eps (a share
    /// of each feature's range), with the queries it took. Exit 0, 1 when a
    /// success rate is above --max-success (RTM001), 2 on bad input.
    Redteam(crate::validate::RedteamArgs),
    /// Explain a classifier (ONNX) on labelled rows: fairness across the
    /// groups of a --sensitive column (Fairlearn's metrics), permutation
    /// importance of each feature with a confidence interval, and Kernel
    /// SHAP values of --shap-rows. Exit 0, 1 when a fairness ratio is below
    /// --min-ratio (EXP001), 2 on bad input.
    Explain(crate::validate::ExplainArgs),
    /// Audit a classifier (ONNX) for membership inference: can its answers
    /// tell the rows it was trained on (--members) from rows it never saw
    /// (--non-members)? Threshold attacks, Shokri's shadow models, LiRA
    /// (online and offline) and a supervised attack, with ROC AUC,
    /// advantage and TPR at 1% and 0.1% FPR, and the queries a copy needs.
    /// Exit 0, 1 when an AUC is above --max-auc (PRV001), 2 on bad input.
    Privacy(crate::validate::PrivacyArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and folders to scan (folders are walked recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Configuration file (default: ./mlsec.toml when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Treat this global as safe (module.name or module.*), even one the
    /// built-in denylist denies; repeatable.
    #[arg(long, value_name = "GLOBAL")]
    pub allow: Vec<String>,
    /// Let the config file's allow entries override the built-in denylist
    /// (by default they only allow globals it does not deny).
    #[arg(long)]
    pub trust_config: bool,
    /// Record each file's SHA-256 in the evidence (reads every byte of every file).
    #[arg(long)]
    pub digest: bool,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id to explain (e.g. PKL001).
    pub id: Option<String>,
    /// Output format: human, json (every rule with its documentation) or
    /// sarif (the rules as a SARIF tool driver).
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BomFormat {
    /// CycloneDX 1.6 JSON.
    CyclonedxJson,
    /// CycloneDX 1.6 XML (namespace http://cyclonedx.org/schema/bom/1.6).
    CyclonedxXml,
}

#[derive(Debug, Args)]
pub struct BomArgs {
    /// The model folder (or a single model file) to describe.
    #[arg(value_name = "MODEL_PATH", required_unless_present = "validate")]
    pub model: Option<PathBuf>,
    /// Configuration file whose [scan] allow and deny lists the BOM's scan
    /// uses, as `mlsec scan` does (default: ./mlsec.toml when present).
    #[arg(long, value_name = "FILE", conflicts_with = "validate")]
    pub config: Option<PathBuf>,
    /// The model's name (default: the folder's name).
    #[arg(long, conflicts_with = "validate")]
    pub name: Option<String>,
    /// The model's version.
    #[arg(long = "version", value_name = "VERSION", conflicts_with = "validate")]
    pub model_version: Option<String>,
    /// The model's Hugging Face Hub id ORG/NAME: gives the model the purl
    /// pkg:huggingface/ORG/NAME (and its name, unless --name is given), ORG as
    /// its supplier, and links to its Hub page, repository and files.
    #[arg(long, value_name = "ORG/NAME", conflicts_with = "validate")]
    pub hf_id: Option<String>,
    /// The Hub revision (commit id) the folder holds; added to the purl and to
    /// the files link (https://huggingface.co/ORG/NAME/tree/REV).
    #[arg(long, value_name = "REV", requires = "hf_id")]
    pub revision: Option<String>,
    /// A dataset file or folder the model was trained or evaluated on, listed as
    /// a data component with its SHA-256 hashes; repeatable.
    #[arg(long = "dataset", value_name = "PATH", conflicts_with = "validate")]
    pub datasets: Vec<PathBuf>,
    /// Output format: the same BOM as CycloneDX JSON or XML.
    #[arg(long, short = 'f', value_enum, default_value_t = BomFormat::CyclonedxJson)]
    pub format: BomFormat,
    /// Write the BOM to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The model's signature (model_signing bundle); default: model.sig in the
    /// model folder, if there is one. It becomes an `attestation` reference.
    #[arg(long, value_name = "FILE", conflicts_with = "validate")]
    pub signature: Option<PathBuf>,
    /// Verify the signature with this public key (PEM): the BOM then says
    /// verified or not-verified, and a verified model gets the signed root
    /// digest as its hash. Without it the signature status is `unchecked`.
    #[arg(long, value_name = "PUBLIC.pem", conflicts_with = "validate")]
    pub key: Option<PathBuf>,
    /// Verify the signature's certificate chain against these CA certificates.
    #[arg(long, value_name = "CA.pem", num_args = 1.., conflicts_with_all = ["validate", "key"])]
    pub certificate_chain: Vec<PathBuf>,
    /// Validate the CycloneDX JSON FILE against the 1.6 JSON schema, unique
    /// bom-refs and resolvable references, instead of writing a BOM.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    pub validate: Option<PathBuf>,
}

/// Flags of commands that report one result: format, output file, quiet.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format: a summary for people, or the evidence envelope (kind
    /// `signature`) as JSON or SARIF.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Which files make up the model (the same flags as model_signing).
#[derive(Debug, Args)]
pub struct ModelPathArgs {
    /// The model folder, or a single model file.
    #[arg(value_name = "MODEL_PATH")]
    pub model: PathBuf,
    /// The signature file (a Sigstore bundle) [default: model.sig in the model
    /// folder, or beside a single model file, where `mlsec bom` looks too].
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Paths to leave out (relative to the current folder, as in model_signing;
    /// paths outside the model are dropped). Folders drop their whole subtree.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub ignore_paths: Vec<PathBuf>,
    /// Include .git, .gitattributes, .github and .gitignore (left out by default).
    #[arg(long)]
    pub no_ignore_git_paths: bool,
    /// Follow symbolic links inside the model (they must stay inside it); by
    /// default any link is an error.
    #[arg(long)]
    pub allow_symlinks: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HashArg {
    Sha256,
    /// BLAKE2b-512.
    Blake2b,
    /// BLAKE3: several times faster than SHA-256 on large files.
    Blake3,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub model: ModelPathArgs,
    #[command(flatten)]
    pub key: KeyArgs,
    /// Digest algorithm of the files (or shards).
    #[arg(long, value_enum, default_value_t = HashArg::Sha256)]
    pub hash: HashArg,
    /// Hash files in shards of N bytes (model_signing's shards method) so one
    /// huge file is hashed on all cores. Not with blake3.
    #[arg(long, value_name = "N")]
    pub shard_size: Option<u64>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub model: ModelPathArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Check only the files the signature lists; other local files are allowed.
    #[arg(long)]
    pub ignore_unsigned_files: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The evidence document (JSON) to sign.
    #[arg(value_name = "EVIDENCE.json")]
    pub evidence: PathBuf,
    #[command(flatten)]
    pub key: KeyArgs,
    /// Where to write the bundle (default: EVIDENCE.json.sig).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyAttestationArgs {
    /// The bundle written by `mlsec attest`.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Also check that this evidence file is exactly what was signed.
    #[arg(long, value_name = "EVIDENCE.json")]
    pub evidence: Option<PathBuf>,
    /// Output: a summary, or (json) the signed evidence document itself.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
}
