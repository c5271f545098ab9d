//! `mlsec gateway` (serve, check-config, keys) and `mlsec audit` (verify,
//! export): argument parsing and rendering; the work is in mlsec-gateway.

use crate::args::OutputArgs;
use crate::error::CliError;
use clap::{Args, Subcommand, ValueEnum};
use mlsec_core::{output, Fault, Severity};
use mlsec_gateway::audit::Sink;
use mlsec_gateway::keys::{self, KeyError, KeyRecord, NewKey};
use mlsec_gateway::{Config, ConfigError, GatewayError};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    /// The gateway's config (TOML; see docs/gateway.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Check a config without serving: exit 0 valid, 2 invalid (the error
    /// names the key and line).
    CheckConfig {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Manage API keys: create, list, revoke, rotate.
    Keys(KeysArgs),
    /// Serve a stand-in model server to try the gateway with: OpenAI-compatible
    /// (chat with streaming, completions, embeddings, models) and KServe v2;
    /// model names starting slow-, fail-, drop- or drip- answer slowly, fail,
    /// break off or stream slowly.
    MockUpstream {
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
    /// The key store (default: the `keys.file` of --config).
    #[arg(long, value_name = "KEYS.json", global = true)]
    pub store: Option<PathBuf>,
    /// The gateway config whose key store to use.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = KeysFormat::Human, global = true)]
    pub format: KeysFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeysFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key and print it (once: only its salted hash is stored).
    Create {
        /// Who the key belongs to (a person, team or service).
        #[arg(long)]
        owner: String,
        /// The key's tier, for tier-specific limits.
        #[arg(long)]
        tier: Option<String>,
        /// Groups the key belongs to; repeatable.
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// The key expires after this long (e.g. 90d, 12h).
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<humantime::Duration>,
        /// Read the key's text from standard input instead of making a random
        /// one (to bring an existing key under the gateway).
        #[arg(long)]
        secret_stdin: bool,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key: the gateway refuses it within a second.
    Revoke {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Make a new key for a key's owner; the old key keeps working for the
    /// overlap, then expires.
    Rotate {
        #[arg(value_name = "ID")]
        id: String,
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        overlap: humantime::Duration,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Prove the audit log's hash chain and, with --key, its signed
    /// checkpoints: exit 0 intact, 1 altered, missing, reordered or cut-off
    /// records (the first bad record is named), 2 unreadable.
    Verify {
        #[command(flatten)]
        log: AuditLogArgs,
        #[command(flatten)]
        trust: crate::args::TrustArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write every record as JSON Lines (seq, prev, hash, record), checking
    /// the chain (and, with --key, the checkpoints) on the way; the evidence
    /// says whether it held.
    Export {
        #[command(flatten)]
        log: AuditLogArgs,
        /// Where the JSON Lines go (written atomically).
        #[arg(long, value_name = "FILE.jsonl")]
        to: PathBuf,
        #[command(flatten)]
        trust: crate::args::TrustArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> CliError {
        CliError::usage(e.to_string())
    }
}

impl From<KeyError> for CliError {
    fn from(e: KeyError) -> CliError {
        let fault = match &e {
            KeyError::Store { .. } => Fault::Environment,
            _ => Fault::Input,
        };
        CliError {
            message: e.to_string(),
            fault,
        }
    }
}

impl From<GatewayError> for CliError {
    fn from(e: GatewayError) -> CliError {
        let fault = match &e {
            GatewayError::Config(_) => Fault::Input,
            _ => Fault::Environment,
        };
        CliError {
            message: e.to_string(),
            fault,
        }
    }
}

pub fn gateway(args: GatewayArgs) -> Result<ExitCode, CliError> {
    match args.command {
        Some(GatewayCommand::CheckConfig { file }) => {
            let config = Config::load(&file)?;
            let policies = match &config.authorization {
                Some(p) => format!("{} Cedar polic(ies)", p.len()),
                None => "no authorization policies: every valid key may call every route".into(),
            };
            let guards: std::collections::BTreeSet<&str> = config
                .routes
                .iter()
                .flat_map(|r| r.guards.iter().map(|g| g.name.as_str()))
                .collect();
            let mut extras = Vec::new();
            if !guards.is_empty() {
                extras.push(format!("{} guard(s)", guards.len()));
            }
            if config.jwt.is_some() {
                extras.push("JWT".to_string());
            }
            if let Some(tls) = &config.server.tls {
                extras.push(
                    if tls.client_auth.is_some() {
                        "mTLS"
                    } else {
                        "TLS"
                    }
                    .to_string(),
                );
            }
            if let mlsec_gateway::audit::Sink::Postgres { .. } = &config.audit.sink {
                extras.push("PostgreSQL audit log".to_string());
            }
            if config.audit.checkpoint_key.is_some() {
                extras.push("signed checkpoints".to_string());
            }
            let extras: String = extras.iter().map(|e| format!(", {e}")).collect();
            println!(
                "{}: ok ({} route(s), {} limit(s), {policies}{extras}, listen {})",
                file.display(),
                config.routes.len(),
                config.limits.rules.len(),
                config.server.listen
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(GatewayCommand::Keys(k)) => keys(k),
        Some(GatewayCommand::MockUpstream { listen }) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(CliError::internal)?;
            runtime.block_on(async {
                let up = mlsec_gateway::mock::start(listen)
                    .await
                    .map_err(|e| CliError::usage(format!("cannot listen on {listen}: {e}")))?;
                eprintln!("mlsec: mock model server on http://{}", up.addr);
                let _ = tokio::signal::ctrl_c().await;
                Ok::<_, CliError>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let config = args
                .config
                .ok_or("give --config FILE (see docs/gateway.md), or a subcommand")?;
            init_logging();
            mlsec_gateway::run(&config)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MLSEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

fn store_path(args: &KeysArgs) -> Result<PathBuf, CliError> {
    match (&args.store, &args.config) {
        (Some(s), _) => Ok(s.clone()),
        (None, Some(c)) => Ok(Config::load(c)?.keys_file),
        (None, None) => Err("give --store KEYS.json or --config GATEWAY.toml".into()),
    }
}

fn keys(args: KeysArgs) -> Result<ExitCode, CliError> {
    let store = store_path(&args)?;
    let json = args.format == KeysFormat::Json;
    let shown = |record: &KeyRecord, key: Option<&str>| -> Result<(), CliError> {
        let text = if json {
            let mut v = serde_json::to_value(record).map_err(CliError::internal)?;
            if let Some(k) = key {
                v["key"] = serde_json::Value::String(k.to_string());
            }
            format!("{v:#}\n")
        } else {
            let mut t = describe(record);
            if let Some(k) = key {
                t.push_str(&format!(
                    "key: {k}\n(shown once: only a salted hash is stored in {})\n",
                    store.display()
                ));
            }
            t
        };
        output::emit(None, text.as_bytes()).map_err(|e| CliError::output(None, &e))
    };
    match &args.command {
        KeysCommand::Create {
            owner,
            tier,
            groups,
            expires_in,
            secret_stdin,
        } => {
            let secret = if *secret_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .take(4096)
                    .read_to_string(&mut s)
                    .map_err(|e| CliError::usage(format!("standard input: {e}")))?;
                Some(s.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let (record, key) = keys::create(
                &store,
                &NewKey {
                    owner: owner.clone(),
                    tier: tier.clone(),
                    groups: groups.clone(),
                    expires_in: expires_in.map(Into::into),
                    secret,
                },
            )?;
            // An imported key is already known to its owner: not echoed.
            shown(&record, (!*secret_stdin).then_some(key.as_str()))?;
        }
        KeysCommand::List => {
            let file = keys::read_file(&store)?;
            let text = if json {
                format!(
                    "{:#}\n",
                    serde_json::to_value(&file.keys).map_err(CliError::internal)?
                )
            } else if file.keys.is_empty() {
                format!("{}: no keys\n", store.display())
            } else {
                file.keys.iter().map(describe).collect()
            };
            output::emit(None, text.as_bytes()).map_err(|e| CliError::output(None, &e))?;
        }
        KeysCommand::Revoke { id } => shown(&keys::revoke(&store, id)?, None)?,
        KeysCommand::Rotate { id, overlap } => {
            let (record, key) = keys::rotate(&store, id, (*overlap).into())?;
            shown(&record, Some(&key))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(r: &KeyRecord) -> String {
    let status = match (&r.revoked, &r.expires) {
        (Some(t), _) => format!("revoked {t}"),
        (None, Some(t)) => match humantime::parse_rfc3339(t) {
            Ok(at) if at <= std::time::SystemTime::now() => format!("expired {t}"),
            _ => format!("expires {t}"),
        },
        (None, None) => "active".into(),
    };
    let mut s = format!("{}  owner {}", r.id, r.owner);
    if let Some(t) = &r.tier {
        s.push_str(&format!("  tier {t}"));
    }
    if !r.groups.is_empty() {
        s.push_str(&format!("  groups {}", r.groups.join(",")));
    }
    s.push_str(&format!("  created {}  {status}\n", r.created));
    s
}

#[derive(Debug, Args)]
pub struct GuardArgs {
    /// JSON Lines files, one request per line.
    #[arg(value_name = "FILE.jsonl", required = true)]
    pub files: Vec<PathBuf>,
    /// Run the guards this gateway config's routes run ([guards.NAME]);
    /// without it, prompt-injection (threshold 0.5) and pii with secrets.
    #[arg(long, value_name = "GATEWAY.toml")]
    pub config: Option<PathBuf>,
    /// Read answers instead (`{"text": ...}` or whole JSON answers, with
    /// `canary` where one was planted) and run the output guards: the
    /// config's `output_guards`, or secrets, invisible and canary.
    #[arg(long)]
    pub output_guards: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The guards that the routes of the config at `path` run, each once (by
/// name); an error naming the config when no route runs `what`.
fn configured_guards<T>(
    path: &std::path::Path,
    what: &str,
    of_route: impl Fn(&mlsec_gateway::config::Route) -> Vec<T>,
    name: impl Fn(&T) -> &String,
) -> Result<Vec<T>, CliError> {
    let config = Config::load(path)?;
    let mut seen = std::collections::BTreeSet::new();
    let guards: Vec<T> = config
        .routes
        .iter()
        .flat_map(of_route)
        .filter(|g| seen.insert(name(g).clone()))
        .collect();
    if guards.is_empty() {
        return Err(CliError {
            message: format!("{}: no route runs {what}", path.display()),
            fault: Fault::Input,
        });
    }
    Ok(guards)
}

/// `mlsec guard --output-guards`: the output guards over answers.
fn output_guards(args: &GuardArgs) -> Result<mlsec_core::Evidence, CliError> {
    use mlsec_guard::output::{
        CanaryOutput, InvisibleOutput, OutputAction, OutputChain, PiiOutput,
    };
    use std::sync::Arc;
    let guards: Vec<(String, Arc<dyn mlsec_guard::output::OutputGuard>)> = match &args.config {
        Some(path) => configured_guards(
            path,
            "an output guard",
            |r| {
                r.output
                    .iter()
                    .flat_map(|c| c.guards.iter().cloned())
                    .collect()
            },
            |(name, _)| name,
        )?,
        None => {
            let secrets = PiiOutput::new(
                &["secrets".into()],
                0.5,
                OutputAction::Redact,
                &Default::default(),
            )
            .map_err(|message| CliError {
                message,
                fault: Fault::Internal,
            })?;
            vec![
                ("secrets".into(), Arc::new(secrets)),
                (
                    "invisible".into(),
                    Arc::new(InvisibleOutput::new(OutputAction::Redact)),
                ),
                (
                    "canary".into(),
                    Arc::new(CanaryOutput::new(OutputAction::Block)),
                ),
            ]
        }
    };
    let chain = Arc::new(OutputChain {
        guards,
        window: mlsec_guard::output::DEFAULT_WINDOW,
    });
    mlsec_guard::offline::run_output(&args.files, &chain).map_err(|message| CliError {
        message,
        fault: Fault::Input,
    })
}

/// `mlsec guard`: the guards of a gateway config (or the default pair) over
/// JSON Lines.
pub fn guard(args: GuardArgs) -> Result<ExitCode, CliError> {
    let evidence = if args.output_guards {
        output_guards(&args)?
    } else {
        input_guards(&args)?
    };
    let skipped = evidence.details["skipped_lines"].as_u64().unwrap_or(0);
    if skipped > 0 && !args.output.quiet {
        eprintln!("mlsec: {skipped} line(s) are not JSON objects and were not checked");
    }
    let mut evidence = evidence;
    evidence.judge(Severity::from(args.output.fail_on));
    crate::report::emit(
        &evidence,
        &(),
        &args.output,
        mlsec_guard::offline::GUARD_RULES,
    )?;
    Ok(if evidence.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The input guards of a gateway config, or the default pair.
fn input_guards(args: &GuardArgs) -> Result<mlsec_core::Evidence, CliError> {
    let configured: Vec<std::sync::Arc<mlsec_gateway::config::ConfiguredGuard>> = match &args.config
    {
        Some(path) => configured_guards(path, "a guard", |r| r.guards.clone(), |g| &g.name)?,
        None => Vec::new(),
    };
    let defaults: Vec<(String, Box<dyn mlsec_guard::Guard>)> = if configured.is_empty() {
        let secrets =
            mlsec_guard::PiiGuard::new(&["secrets".into()], 0.5).map_err(|e| CliError {
                message: e,
                fault: Fault::Internal,
            })?;
        vec![
            (
                "prompt-injection".into(),
                Box::new(mlsec_guard::InjectionGuard::new(0.5)),
            ),
            ("secrets".into(), Box::new(secrets)),
        ]
    } else {
        Vec::new()
    };
    let guards: Vec<(String, &dyn mlsec_guard::Guard)> = configured
        .iter()
        .map(|g| (g.name.clone(), &*g.guard))
        .chain(defaults.iter().map(|(n, g)| (n.clone(), &**g)))
        .collect();
    mlsec_guard::offline::run(&args.files, &guards).map_err(|message| CliError {
        message,
        fault: Fault::Input,
    })
}

/// Which audit log: a SQLite file or a PostgreSQL table.
#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// The gateway's SQLite audit log, or a postgresql:// URL.
    #[arg(value_name = "AUDIT.db|URL")]
    pub log: String,
    /// The PostgreSQL table (audit.postgres_table in the gateway's config).
    #[arg(long, default_value = "mlsec_audit")]
    pub table: String,
    /// CA certificates (PEM) to check PostgreSQL's certificate with, for a
    /// URL with sslmode=require (default: the system's roots).
    #[arg(long, value_name = "CA.pem")]
    pub postgres_ca: Option<PathBuf>,
}

impl AuditLogArgs {
    fn sink(&self) -> Result<Sink, CliError> {
        let sink = Sink::parse(&self.log, &self.table, self.postgres_ca.as_deref());
        if let Sink::Postgres { url, table, .. } = &sink {
            mlsec_gateway::audit::check_postgres(url, table).map_err(|e| CliError {
                message: format!("{sink}: {e}"),
                fault: Fault::Input,
            })?;
        }
        Ok(sink)
    }
}

fn trust(t: &crate::args::TrustArgs) -> Result<Option<mlsec_sign::Trust>, CliError> {
    if !t.given() {
        return Ok(None);
    }
    crate::keys::trust(t).map(Some).map_err(CliError::from)
}

pub fn audit(args: AuditArgs) -> Result<ExitCode, CliError> {
    match args.command {
        AuditCommand::Verify {
            log,
            trust: t,
            output,
        } => {
            let (sink, trust) = (log.sink()?, trust(&t)?);
            let evidence = mlsec_gateway::audit::verify_with(&sink, trust.as_ref(), |_| Ok(()))
                .map_err(read_error)?;
            finish(evidence, &output)
        }
        AuditCommand::Export {
            log,
            to,
            trust: t,
            output,
        } => {
            let (sink, trust) = (log.sink()?, trust(&t)?);
            let mut file = output::AtomicFile::create(&to, ".mlsec-export")
                .map_err(|e| CliError::output(Some(&to), &e))?;
            let evidence = {
                let mut writer = std::io::BufWriter::new(file.file_mut());
                let evidence = mlsec_gateway::audit::verify_with(&sink, trust.as_ref(), |r| {
                    serde_json::to_writer(&mut writer, r)?;
                    writer.write_all(b"\n")
                })
                .map_err(read_error)?;
                writer
                    .flush()
                    .map_err(|e| CliError::output(Some(&to), &e))?;
                evidence
            };
            file.commit().map_err(|e| CliError::output(Some(&to), &e))?;
            if !output.quiet {
                eprintln!(
                    "mlsec: {} record(s) written to {}",
                    evidence.details["records"],
                    to.display()
                );
            }
            finish(evidence, &output)
        }
    }
}

fn read_error(e: mlsec_gateway::audit::ReadError) -> CliError {
    CliError {
        message: e.to_string(),
        fault: Fault::Input,
    }
}

fn finish(mut evidence: mlsec_core::Evidence, out: &OutputArgs) -> Result<ExitCode, CliError> {
    evidence.judge(Severity::from(out.fail_on));
    if out.format == crate::args::Format::Human {
        let intact = evidence.details["intact"].as_bool().unwrap_or(false);
        let mut text = String::new();
        for f in &evidence.findings {
            text.push_str(&format!(
                "{} {} {}: {}\n",
                f.rule,
                f.severity.as_str(),
                f.location.as_deref().unwrap_or("-"),
                f.message
            ));
        }
        let subject = evidence.subjects.first().map_or("", |s| s.name.as_str());
        text.push_str(&format!(
            "{subject}: {} record(s); {}\n",
            evidence.details["records"],
            if intact {
                format!(
                    "chain intact up to record {} ({})",
                    evidence.details["head"]["seq"],
                    evidence.details["head"]["hash"].as_str().unwrap_or("")
                )
            } else {
                format!(
                    "chain broken from record {}",
                    evidence.details["first_bad_record"]
                )
            }
        ));
        output::emit(out.output.as_deref(), text.as_bytes())
            .map_err(|e| CliError::output(out.output.as_deref(), &e))?;
    } else {
        crate::report::emit(&evidence, &(), out, mlsec_gateway::audit::AUDIT_RULES)?;
    }
    Ok(if evidence.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
