//! The gateway's TOML configuration: read, checked and resolved before a
//! single request is served. Every error names the key and, where the file
//! has it, the line.

use crate::protocol::Protocol;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most bytes a config file may have; a bigger one is not a config.
const MAX_CONFIG_BYTES: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// A checked configuration, paths resolved against the config's folder.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: PathBuf,
    pub server: Server,
    pub keys_file: PathBuf,
    pub audit: Audit,
    pub limits: Limits,
    pub routes: Vec<Route>,
    /// Cedar policies; without them every valid key may call every route.
    pub authorization: Option<std::sync::Arc<crate::authz::Policies>>,
    /// OpenTelemetry export.
    pub telemetry: Option<crate::telemetry::Settings>,
    /// JWT bearer tokens, besides API keys.
    pub jwt: Option<std::sync::Arc<crate::jwt::JwtAuth>>,
    /// Model attributes for policies: sensitivity by model name (default "normal").
    pub sensitivity: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub listen: SocketAddr,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_header_bytes: usize,
    pub drain_timeout: Duration,
    pub metrics: bool,
    /// TLS termination (with client certificates when `client_ca` is set).
    pub tls: Option<crate::tls::Tls>,
}

#[derive(Debug, Clone)]
pub struct Audit {
    pub sink: crate::audit::Sink,
    pub queue: usize,
    pub batch: usize,
    /// Serve when the audit log cannot take a record (true), or answer 503 (false).
    pub fail_open: bool,
    /// Sign the chain's head with this key (PEM) every `checkpoint_every`.
    pub checkpoint_key: Option<PathBuf>,
    pub checkpoint_every: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub redis: Option<RedisLimits>,
    pub rules: Vec<LimitRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisLimits {
    pub url: String,
    pub prefix: String,
    /// When Redis cannot be reached: use this replica's own limits (true) or refuse (false).
    pub fallback_local: bool,
    pub timeout: Duration,
}

/// Whose requests one limit counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    Principal,
    Model,
    PrincipalModel,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Principal => "principal",
            Scope::Model => "model",
            Scope::PrincipalModel => "principal-model",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LimitRule {
    pub name: String,
    pub per: Scope,
    pub requests_per_second: Option<f64>,
    pub burst: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    pub requests_per_day: Option<u64>,
    pub concurrent: Option<u32>,
    /// Applies only to principals of this tier (all when unset).
    pub tier: Option<String>,
    /// Applies only to these models (all when empty).
    pub models: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub protocol: Protocol,
    pub prefix: String,
    /// Forward the path below the prefix (true) or the whole path (false).
    pub strip_prefix: bool,
    pub models: Vec<String>,
    pub upstream: Upstream,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub total_timeout: Duration,
    pub retries: u32,
    pub max_body: usize,
    /// The guard chain, in order.
    pub guards: Vec<std::sync::Arc<ConfiguredGuard>>,
    /// The output guards, and the stream window they read through.
    pub output: Option<std::sync::Arc<mlsec_guard::output::OutputChain>>,
    /// An output guard looks for a canary: plant one in each request.
    pub canary: bool,
    /// Round tensor inputs to this many decimals before they go on
    /// (feature squeezing).
    pub squeeze_decimals: Option<u32>,
    /// Model extraction monitoring of each principal's queries.
    pub extraction: Option<std::sync::Arc<ConfiguredExtraction>>,
    /// What answers may say of their scores.
    pub harden: Option<mlsec_guard::tensor::Hardening>,
    /// Keep request and response bodies in the audit log (off: sizes only).
    pub audit_bodies: bool,
}

/// What a guard's hit does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardAction {
    /// Refuse the request (400).
    Block,
    /// Serve it, and mark the audit record and the metrics.
    Flag,
    /// Serve it, and only record the hit.
    Log,
}

impl GuardAction {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardAction::Block => "block",
            GuardAction::Flag => "flag",
            GuardAction::Log => "log",
        }
    }
}

/// One `[guards.NAME]`, built.
pub struct ConfiguredGuard {
    pub name: String,
    pub action: GuardAction,
    pub guard: Box<dyn mlsec_guard::Guard>,
}

impl std::fmt::Debug for ConfiguredGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "guard {} ({})", self.name, self.action.as_str())
    }
}

/// Builds one `[guards.NAME]` listed in a route's `output_guards`.
fn output_guard(
    g: &FileGuard,
) -> Result<std::sync::Arc<dyn mlsec_guard::output::OutputGuard>, String> {
    use mlsec_guard::output::{CanaryOutput, InvisibleOutput, LinkOutput, OutputAction, PiiOutput};
    let default = match g.kind.as_str() {
        "pii" => "redact",
        "canary" => "block",
        _ => "redact",
    };
    let action = OutputAction::parse(g.action.as_deref().unwrap_or(default))?;
    let only = |key: &str, set: bool, kind: &str| {
        if set {
            Err(format!("{key} is for kind = \"{kind}\""))
        } else {
            Ok(())
        }
    };
    if g.kind != "pii" {
        only("entities", g.entities.is_some(), "pii")?;
        only("entity_actions", g.entity_actions.is_some(), "pii")?;
        only("min_confidence", g.min_confidence.is_some(), "pii")?;
    }
    if g.kind != "links" {
        only("allow_domains", g.allow_domains.is_some(), "links")?;
    }
    for (key, set) in [
        ("model", g.model.is_some()),
        ("tokenizer", g.tokenizer.is_some()),
        ("label", g.label.is_some()),
        ("max_tokens", g.max_tokens.is_some()),
    ] {
        only(key, set, "onnx-classifier")?;
    }
    Ok(match g.kind.as_str() {
        "pii" => {
            let entities = g.entities.clone().unwrap_or_else(|| vec!["secrets".into()]);
            let min = g.min_confidence.unwrap_or(0.5);
            if !(0.0..=1.0).contains(&min) {
                return Err("min_confidence must be from 0 to 1".into());
            }
            let mut per = std::collections::BTreeMap::new();
            for (entity, a) in g.entity_actions.iter().flatten() {
                per.insert(
                    entity.clone(),
                    OutputAction::parse(a).map_err(|e| format!("entity_actions.{entity}: {e}"))?,
                );
            }
            std::sync::Arc::new(PiiOutput::new(&entities, min, action, &per)?)
        }
        "canary" => std::sync::Arc::new(CanaryOutput::new(action)),
        "links" => std::sync::Arc::new(LinkOutput::new(
            g.allow_domains.as_deref().unwrap_or_default(),
            action,
        )),
        "invisible" => std::sync::Arc::new(InvisibleOutput::new(action)),
        "prompt-injection" => {
            return Err(
                "kind `prompt-injection` reads requests: list it in guards, not output_guards"
                    .into(),
            )
        }
        other => {
            return Err(format!(
                "kind `{other}`: expected pii, canary, links or invisible for output_guards"
            ))
        }
    })
}

/// A `[guards.NAME]` of kind `extraction`, built: its monitor keeps each
/// principal's statistics while the config is loaded, and across a reload
/// that keeps the guard's name and settings ([`Config::keep_extraction_state`]).
pub struct ConfiguredExtraction {
    pub name: String,
    pub action: GuardAction,
    /// With `action = "throttle"`: the pace a caught principal is held to
    /// (its requests are served, flagged, up to this rate).
    pub throttle: Option<std::sync::Arc<Throttle>>,
    pub monitor: std::sync::Arc<mlsec_guard::extraction::ExtractionMonitor>,
}

impl ConfiguredExtraction {
    /// The action as the audit record names it.
    pub fn action_name(&self) -> &'static str {
        if self.throttle.is_some() {
            "throttle"
        } else {
            self.action.as_str()
        }
    }
}

/// Holds each principal to one request per `interval` (in memory, per
/// replica, for up to [`mlsec_guard::extraction::MAX_PRINCIPALS`] principals).
#[derive(Debug)]
pub struct Throttle {
    interval: Duration,
    next: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl Throttle {
    pub fn new(per_second: f64) -> Throttle {
        Throttle {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Ok when `principal` may be served now; else how long until it may.
    pub fn admit(&self, principal: &str) -> Result<(), Duration> {
        let now = std::time::Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = next.get(principal).filter(|at| **at > now) {
            return Err(*at - now);
        }
        if next.len() >= mlsec_guard::extraction::MAX_PRINCIPALS {
            next.retain(|_, at| *at > now);
        }
        next.insert(principal.to_string(), now + self.interval);
        Ok(())
    }
}

impl std::fmt::Debug for ConfiguredExtraction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "extraction monitor {} ({})",
            self.name,
            self.action.as_str()
        )
    }
}

/// Builds a `[guards.NAME]` of kind `extraction`.
fn extraction(name: &str, g: &FileGuard, folder: &Path) -> Result<ConfiguredExtraction, String> {
    let action = match g.action.as_deref().unwrap_or("flag") {
        "block" => GuardAction::Block,
        "flag" | "throttle" => GuardAction::Flag,
        "log" => GuardAction::Log,
        other => {
            return Err(format!(
                "action `{other}`: expected block, throttle, flag or log"
            ))
        }
    };
    let throttle = match (g.action.as_deref(), g.throttle_rps) {
        (Some("throttle"), rps) => {
            let rps = rps.unwrap_or(1.0);
            if !(rps.is_finite() && rps > 0.0 && rps <= 1e6) {
                return Err("throttle_rps must be above 0".into());
            }
            Some(std::sync::Arc::new(Throttle::new(rps)))
        }
        (_, Some(_)) => return Err("throttle_rps is for action = \"throttle\"".into()),
        (_, None) => None,
    };
    let mut settings = mlsec_guard::extraction::ExtractionSettings::default();
    if let Some(c) = g.max_coverage {
        if !(0.0..=1.0).contains(&c) {
            return Err("max_coverage must be from 0 to 1".into());
        }
        settings.max_coverage = Some(c);
    }
    if let Some(c) = g.cell {
        if !(c.is_finite() && c > 0.0) {
            return Err("cell must be above 0".into());
        }
        settings.cell = c;
    }
    if let Some(w) = g.window {
        if !(10..=5000).contains(&w) {
            return Err("window must be from 10 to 5000 queries".into());
        }
        settings.window = w;
    }
    if let Some(m) = g.min_queries {
        settings.min_queries = m.clamp(3, settings.window);
    }
    for (key, value, target) in [
        ("shapiro_w", g.shapiro_w, &mut settings.shapiro_w),
        (
            "boundary_margin",
            g.boundary_margin,
            &mut settings.boundary_margin,
        ),
        (
            "boundary_share",
            g.boundary_share,
            &mut settings.boundary_share,
        ),
    ] {
        if let Some(v) = value {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{key} must be from 0 to 1"));
            }
            *target = v;
        }
    }
    if let Some(path) = &g.profile {
        // Distances in units of each feature's spread in the profile.
        let bytes =
            std::fs::read(folder.join(path)).map_err(|e| format!("profile `{path}`: {e}"))?;
        let reference = mlsec_guard::tabular::OodGuard::new(
            &bytes,
            g.columns.as_deref().unwrap_or_default(),
            1.0,
        )
        .map_err(|e| format!("profile `{path}`: {e}"))?;
        settings.scale = reference.spreads();
    }
    Ok(ConfiguredExtraction {
        name: name.to_string(),
        action,
        throttle,
        monitor: std::sync::Arc::new(mlsec_guard::extraction::ExtractionMonitor::new(settings)),
    })
}

/// An upstream's base address: `http://host:port[/path]`.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub authority: String,
    pub base_path: String,
}

impl Upstream {
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            if url.starts_with("https://") {
                "https upstreams are not supported yet; put the gateway beside the model server and use http://".to_string()
            } else {
                format!("`{url}` is not an http:// URL")
            }
        })?;
        let (authority, path) = match rest.find('/').map(|i| rest.split_at(i)) {
            Some((a, p)) => (a, p),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("`{url}` has no host (or has credentials in it)"));
        }
        if authority.parse::<http::uri::Authority>().is_err() {
            return Err(format!("`{url}` has an invalid host"));
        }
        Ok(Upstream {
            authority: authority.to_string(),
            base_path: path.trim_end_matches('/').to_string(),
        })
    }
}

/// `[server]`'s TLS keys, checked and loaded (certificates are read now, so
/// a bad file fails at start or on reload, not at the first handshake).
fn tls(
    server: &FileServer,
    folder: &Path,
    at: &dyn Fn(&str, String) -> String,
) -> Result<Option<crate::tls::Tls>, String> {
    use crate::tls::ClientAuth;
    let (cert, key) = match (&server.tls_cert, &server.tls_key) {
        (Some(c), Some(k)) => (folder.join(c), folder.join(k)),
        (None, None) => {
            for (name, set) in [
                ("server.client_ca", server.client_ca.is_some()),
                ("server.client_auth", server.client_auth.is_some()),
                (
                    "server.client_cert_identity",
                    server.client_cert_identity.is_some(),
                ),
            ] {
                if set {
                    return Err(at(name, "needs tls_cert and tls_key".into()));
                }
            }
            return Ok(None);
        }
        (Some(_), None) => return Err(at("server.tls_key", "required with tls_cert".into())),
        (None, Some(_)) => return Err(at("server.tls_cert", "required with tls_key".into())),
    };
    let auth = match server.client_auth.as_deref() {
        None | Some("required") => ClientAuth::Required,
        Some("optional") => ClientAuth::Optional,
        Some(other) => {
            return Err(at(
                "server.client_auth",
                format!("`{other}`: expected required or optional"),
            ))
        }
    };
    let client_ca = match &server.client_ca {
        Some(ca) => Some((folder.join(ca), auth)),
        None if server.client_auth.is_some() || server.client_cert_identity == Some(true) => {
            return Err(at(
                "server.client_ca",
                "required for client certificates".into(),
            ))
        }
        None => None,
    };
    crate::tls::load(
        &cert,
        &key,
        client_ca.as_ref().map(|(p, a)| (p.as_path(), *a)),
        server.client_cert_identity.unwrap_or(false),
    )
    .map(Some)
    .map_err(|e| at("server.tls_cert", e))
}

/// Builds one `[guards.NAME]`.
fn guard(name: &str, g: &FileGuard, folder: &Path) -> Result<ConfiguredGuard, String> {
    let action = match g.action.as_deref().unwrap_or("block") {
        "block" => GuardAction::Block,
        "flag" => GuardAction::Flag,
        "log" => GuardAction::Log,
        "redact" | "mask" => {
            return Err(format!(
            "action `{}` rewrites answers: list the guard in a route's output_guards, not guards",
            g.action.as_deref().unwrap_or("")
        ))
        }
        other => return Err(format!("action `{other}`: expected block, flag or log")),
    };
    if g.entity_actions.is_some() {
        return Err("entity_actions is for output guards (a route's output_guards)".into());
    }
    let pii_keys = g.entities.is_some() || g.min_confidence.is_some();
    let guard: Box<dyn mlsec_guard::Guard> = match g.kind.as_str() {
        "prompt-injection" => {
            if pii_keys {
                return Err("entities and min_confidence are for kind = \"pii\"".into());
            }
            let threshold = g.threshold.unwrap_or(0.5);
            if !(0.0..=1.0).contains(&threshold) {
                return Err("threshold must be from 0 to 1".into());
            }
            Box::new(mlsec_guard::InjectionGuard::new(threshold))
        }
        "pii" => {
            if g.threshold.is_some() {
                return Err("threshold is for kind = \"prompt-injection\"".into());
            }
            let entities = g.entities.clone().unwrap_or_else(|| vec!["secrets".into()]);
            let min = g.min_confidence.unwrap_or(0.5);
            if !(0.0..=1.0).contains(&min) {
                return Err("min_confidence must be from 0 to 1".into());
            }
            Box::new(mlsec_guard::PiiGuard::new(&entities, min)?)
        }
        "tensor-spec" => {
            let inputs = g
                .inputs
                .clone()
                .ok_or("tensor-spec needs inputs = [{ name = ..., datatype = ..., shape = [...] }]")?;
            Box::new(mlsec_guard::tabular::SpecGuard::new(inputs)?)
        }
        "ood" => {
            let path = g.profile.as_ref().ok_or("ood needs profile = \"PROFILE.json\" (from mlsec data profile)")?;
            let bytes = std::fs::read(folder.join(path))
                .map_err(|e| format!("profile `{path}`: {e}"))?;
            let threshold = g.threshold.unwrap_or(0.9999);
            if !(0.0..=1.0).contains(&threshold) {
                return Err("threshold must be from 0 to 1".into());
            }
            Box::new(
                mlsec_guard::tabular::OodGuard::new(
                    &bytes,
                    g.columns.as_deref().unwrap_or_default(),
                    threshold,
                )
                .map_err(|e| format!("profile `{path}`: {e}"))?,
            )
        }
        "onnx-classifier" => {
            if pii_keys {
                return Err("entities and min_confidence are for kind = \"pii\"".into());
            }
            onnx_classifier(g, folder)?
        }
        "extraction" => {
            return Err("kind `extraction` watches a route's queries: name it in the route's extraction key".into())
        }
        "canary" | "links" | "invisible" => {
            return Err(format!(
                "kind `{}` reads answers: list the guard in a route's output_guards, not guards",
                g.kind
            ))
        }
        other => {
            return Err(format!(
                "kind `{other}`: expected prompt-injection, onnx-classifier, pii, tensor-spec or ood (requests), or pii, canary, links or invisible (answers)"
            ))
        }
    };
    if g.allow_domains.is_some() {
        return Err("allow_domains is for kind = \"links\"".into());
    }
    for (key, set, kind) in [
        ("inputs", g.inputs.is_some(), "tensor-spec"),
        ("profile", g.profile.is_some(), "ood"),
        ("columns", g.columns.is_some(), "ood"),
        ("window", g.window.is_some(), "extraction"),
        ("min_queries", g.min_queries.is_some(), "extraction"),
        ("shapiro_w", g.shapiro_w.is_some(), "extraction"),
        ("boundary_margin", g.boundary_margin.is_some(), "extraction"),
        ("boundary_share", g.boundary_share.is_some(), "extraction"),
        ("max_coverage", g.max_coverage.is_some(), "extraction"),
        ("cell", g.cell.is_some(), "extraction"),
        ("throttle_rps", g.throttle_rps.is_some(), "extraction"),
        ("model", g.model.is_some(), "onnx-classifier"),
        ("tokenizer", g.tokenizer.is_some(), "onnx-classifier"),
        ("label", g.label.is_some(), "onnx-classifier"),
        ("max_tokens", g.max_tokens.is_some(), "onnx-classifier"),
    ] {
        if set && g.kind != kind {
            return Err(format!("{key} is for kind = \"{kind}\""));
        }
    }
    Ok(ConfiguredGuard {
        name: name.to_string(),
        action,
        guard,
    })
}

/// Builds a `[guards.NAME]` of kind `onnx-classifier`: the user's model
/// and tokenizer, loaded (and tried once) now.
#[cfg(feature = "onnx")]
fn onnx_classifier(g: &FileGuard, folder: &Path) -> Result<Box<dyn mlsec_guard::Guard>, String> {
    let model = g
        .model
        .as_ref()
        .ok_or("onnx-classifier needs model = \"MODEL.onnx\"")?;
    let tokenizer = g
        .tokenizer
        .as_ref()
        .ok_or("onnx-classifier needs tokenizer = \"tokenizer.json\" (Hugging Face format)")?;
    let mut settings = mlsec_guard::onnx::OnnxSettings::default();
    if let Some(label) = g.label {
        settings.label = label;
    }
    if let Some(threshold) = g.threshold {
        settings.threshold = threshold;
    }
    if let Some(max) = g.max_tokens {
        if !(2..=8192).contains(&max) {
            return Err("max_tokens must be from 2 to 8192".into());
        }
        settings.max_tokens = max;
    }
    let guard = mlsec_guard::onnx::OnnxClassifier::load(
        &folder.join(model),
        &folder.join(tokenizer),
        settings,
    )?;
    Ok(Box::new(guard))
}

#[cfg(not(feature = "onnx"))]
fn onnx_classifier(_: &FileGuard, _: &Path) -> Result<Box<dyn mlsec_guard::Guard>, String> {
    Err(
        "kind `onnx-classifier` needs mlsec built with the onnx feature \
         (cargo install --locked --path crates/mlsec --features onnx)"
            .into(),
    )
}

/// Reads a duration key: (key, value, default).
type DurationKey<'a> = dyn Fn(&str, &Option<String>, Duration) -> Result<Duration, String> + 'a;

/// `[jwt]`, checked, with a file's key set read now.
fn jwt(
    j: &FileJwt,
    folder: &Path,
    at: &dyn Fn(&str, String) -> String,
    duration: &DurationKey<'_>,
) -> Result<crate::jwt::JwtAuth, String> {
    use crate::jwt::{Algorithm, JwtAuth, Rules, Source};
    if j.issuer.is_empty() {
        return Err(at("jwt.issuer", "must not be empty".into()));
    }
    let audience = match &j.audience {
        OneOrMany::One(a) => vec![a.clone()],
        OneOrMany::Many(a) => a.clone(),
    };
    if audience.is_empty() || audience.iter().any(String::is_empty) {
        return Err(at("jwt.audience", "name at least one audience".into()));
    }
    let algorithms = match &j.algorithms {
        None => Algorithm::ALL.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                Algorithm::parse(n).ok_or_else(|| {
                    at(
                        "jwt.algorithms",
                        format!("`{n}`: expected RS256, ES256 or EdDSA"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if algorithms.is_empty() {
        return Err(at("jwt.algorithms", "name at least one".into()));
    }
    let source = match (&j.jwks_file, &j.jwks_url) {
        (Some(f), None) => {
            if j.jwks_ca.is_some() {
                return Err(at("jwt.jwks_ca", "only with jwks_url".into()));
            }
            Source::File(folder.join(f))
        }
        (None, Some(u)) => {
            let url: http::Uri = u
                .parse()
                .map_err(|_| at("jwt.jwks_url", format!("`{u}` is not a URL")))?;
            if url.scheme_str() != Some("https") || url.host().is_none() {
                return Err(at(
                    "jwt.jwks_url",
                    format!("`{u}`: keys must come over https:// (or use jwks_file)"),
                ));
            }
            let ca = j.jwks_ca.as_deref().map(|c| folder.join(c));
            let tls = crate::tls::client_tls(ca.as_deref()).map_err(|e| at("jwt.jwks_ca", e))?;
            Source::Https { url, tls }
        }
        _ => {
            return Err(at(
                "jwt.jwks_file",
                "set exactly one of jwks_file and jwks_url".into(),
            ))
        }
    };
    let rules = Rules {
        issuer: j.issuer.clone(),
        audience,
        leeway: match &j.leeway {
            Some(v) if v == "0s" => Duration::ZERO,
            v => duration("jwt.leeway", v, Duration::from_secs(60))?,
        },
        algorithms,
    };
    JwtAuth::new(
        rules,
        source,
        duration("jwt.refresh", &j.refresh, Duration::from_secs(300))?,
        j.groups_claim.clone().unwrap_or_else(|| "groups".into()),
        j.tier_claim.clone().unwrap_or_else(|| "tier".into()),
    )
    .map_err(|e| at("jwt.jwks_file", e))
}

// ---- the file as written -------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: FileServer,
    #[serde(default)]
    keys: FileKeys,
    #[serde(default)]
    audit: FileAudit,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default, rename = "limit")]
    limit: Vec<FileLimit>,
    #[serde(default, rename = "route")]
    route: Vec<FileRoute>,
    authorization: Option<FileAuthorization>,
    jwt: Option<FileJwt>,
    #[serde(default)]
    guards: std::collections::BTreeMap<String, FileGuard>,
    telemetry: Option<FileTelemetry>,
    #[serde(default)]
    models: std::collections::BTreeMap<String, FileModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGuard {
    kind: String,
    action: Option<String>,
    entities: Option<Vec<String>>,
    min_confidence: Option<f32>,
    threshold: Option<f32>,
    entity_actions: Option<std::collections::BTreeMap<String, String>>,
    allow_domains: Option<Vec<String>>,
    inputs: Option<Vec<mlsec_guard::tabular::InputSpec>>,
    profile: Option<String>,
    columns: Option<Vec<String>>,
    window: Option<usize>,
    min_queries: Option<usize>,
    shapiro_w: Option<f64>,
    boundary_margin: Option<f64>,
    boundary_share: Option<f64>,
    model: Option<String>,
    tokenizer: Option<String>,
    label: Option<usize>,
    max_tokens: Option<usize>,
    max_coverage: Option<f64>,
    cell: Option<f64>,
    throttle_rps: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTelemetry {
    otlp_endpoint: String,
    service_name: Option<String>,
    sample_ratio: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJwt {
    issuer: String,
    audience: OneOrMany,
    jwks_file: Option<String>,
    jwks_url: Option<String>,
    jwks_ca: Option<String>,
    refresh: Option<String>,
    leeway: Option<String>,
    algorithms: Option<Vec<String>>,
    groups_claim: Option<String>,
    tier_claim: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAuthorization {
    policies: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    sensitivity: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileServer {
    listen: Option<String>,
    header_timeout: Option<String>,
    body_timeout: Option<String>,
    max_header_bytes: Option<String>,
    drain_timeout: Option<String>,
    metrics: Option<bool>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    client_ca: Option<String>,
    client_auth: Option<String>,
    client_cert_identity: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileKeys {
    file: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileAudit {
    backend: Option<String>,
    sqlite: Option<String>,
    postgres_url: Option<String>,
    postgres_table: Option<String>,
    postgres_ca: Option<String>,
    checkpoint_key: Option<String>,
    checkpoint_every: Option<String>,
    queue: Option<usize>,
    batch: Option<usize>,
    on_failure: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    backend: Option<String>,
    redis_url: Option<String>,
    redis_prefix: Option<String>,
    redis_timeout: Option<String>,
    on_redis_failure: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimit {
    name: Option<String>,
    per: Scope,
    requests_per_second: Option<f64>,
    burst: Option<u32>,
    tokens_per_minute: Option<u64>,
    requests_per_day: Option<u64>,
    concurrent: Option<u32>,
    tier: Option<String>,
    #[serde(default)]
    models: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    name: Option<String>,
    protocol: Protocol,
    prefix: Option<String>,
    #[serde(default)]
    strip_prefix: bool,
    #[serde(default)]
    models: Vec<String>,
    upstream: String,
    connect_timeout: Option<String>,
    first_byte_timeout: Option<String>,
    total_timeout: Option<String>,
    retries: Option<u32>,
    max_body: Option<String>,
    #[serde(default)]
    guards: Vec<String>,
    #[serde(default)]
    output_guards: Vec<String>,
    output_window: Option<String>,
    squeeze_decimals: Option<u32>,
    extraction: Option<String>,
    round_scores: Option<u32>,
    top_k: Option<usize>,
    #[serde(default)]
    labels_only: bool,
    #[serde(default)]
    audit_bodies: bool,
}

impl Config {
    /// Gives each extraction guard that kept its name and settings the
    /// statistics `old` gathered, so that a reload does not forgive a
    /// principal half-way through copying the model.
    pub fn keep_extraction_state(&mut self, old: &Config) {
        for route in &mut self.routes {
            let Some(new) = &route.extraction else {
                continue;
            };
            let kept = old
                .routes
                .iter()
                .filter_map(|r| r.extraction.as_ref())
                .find(|o| o.name == new.name && o.monitor.settings() == new.monitor.settings());
            if let Some(kept) = kept {
                route.extraction = Some(std::sync::Arc::new(ConfiguredExtraction {
                    name: new.name.clone(),
                    action: new.action,
                    throttle: new.throttle.clone(),
                    monitor: kept.monitor.clone(),
                }));
            }
        }
    }

    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let error = |message: String| ConfigError {
            path: shown.clone(),
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| error(e.to_string()))?;
        if !meta.is_file() {
            return Err(error("not a regular file".into()));
        }
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(error(format!(
                "{} bytes; a config may have at most {MAX_CONFIG_BYTES}",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, folder, path).map_err(error)
    }

    /// Checks `text`; relative paths in it are taken from `folder`.
    pub fn parse(text: &str, folder: &Path, source: &Path) -> Result<Config, String> {
        let file: File = toml::from_str(text).map_err(|e| one_line_toml_error(&e, text))?;
        let at = |key: &str, message: String| -> String {
            match line_of(text, key) {
                Some(line) => format!("line {line}: `{key}`: {message}"),
                None => format!("`{key}`: {message}"),
            }
        };
        let duration =
            |key: &str, value: &Option<String>, default: Duration| -> Result<Duration, String> {
                match value {
                    None => Ok(default),
                    Some(v) => match humantime::parse_duration(v) {
                        Ok(d) if !d.is_zero() => Ok(d),
                        Ok(_) => Err(at(key, "must be more than zero".into())),
                        Err(e) => Err(at(
                            key,
                            format!("`{v}` is not a duration such as 500ms or 30s ({e})"),
                        )),
                    },
                }
            };
        let size = |key: &str, value: &Option<String>, default: usize| -> Result<usize, String> {
            match value {
                None => Ok(default),
                Some(v) => parse_size(v)
                    .ok_or_else(|| at(key, format!("`{v}` is not a size such as 64KiB or 4MiB"))),
            }
        };

        let listen_text = file.server.listen.as_deref().unwrap_or("127.0.0.1:8088");
        let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
            at(
                "server.listen",
                format!("`{listen_text}` is not an address such as 127.0.0.1:8088"),
            )
        })?;
        let server = Server {
            listen,
            header_timeout: duration(
                "server.header_timeout",
                &file.server.header_timeout,
                Duration::from_secs(10),
            )?,
            body_timeout: duration(
                "server.body_timeout",
                &file.server.body_timeout,
                Duration::from_secs(30),
            )?,
            max_header_bytes: size(
                "server.max_header_bytes",
                &file.server.max_header_bytes,
                32 << 10,
            )?,
            drain_timeout: duration(
                "server.drain_timeout",
                &file.server.drain_timeout,
                Duration::from_secs(30),
            )?,
            metrics: file.server.metrics.unwrap_or(true),
            tls: tls(&file.server, folder, &at)?,
        };
        if server.max_header_bytes < 8192 {
            return Err(at(
                "server.max_header_bytes",
                "must be at least 8KiB".into(),
            ));
        }

        let keys_file = folder.join(file.keys.file.as_deref().unwrap_or("keys.json"));

        let on_failure = file.audit.on_failure.as_deref().unwrap_or("closed");
        let sink = match file.audit.backend.as_deref().unwrap_or("sqlite") {
            "sqlite" => crate::audit::Sink::Sqlite(
                folder.join(file.audit.sqlite.as_deref().unwrap_or("audit.db")),
            ),
            "postgres" => {
                let written = file.audit.postgres_url.as_deref().ok_or_else(|| {
                    at(
                        "audit.postgres_url",
                        "required with backend = \"postgres\"".into(),
                    )
                })?;
                // `env:NAME` keeps the password out of the file.
                let url = match written.strip_prefix("env:") {
                    Some(name) => std::env::var(name).map_err(|_| {
                        at(
                            "audit.postgres_url",
                            format!("environment variable {name} is not set"),
                        )
                    })?,
                    None => written.to_string(),
                };
                if !(url.starts_with("postgresql://") || url.starts_with("postgres://")) {
                    return Err(at(
                        "audit.postgres_url",
                        "expected a postgresql:// URL (or env:NAME)".into(),
                    ));
                }
                let table = file
                    .audit
                    .postgres_table
                    .clone()
                    .unwrap_or_else(|| "mlsec_audit".into());
                crate::audit::check_postgres(&url, &table)
                    .map_err(|e| at("audit.postgres_url", e))?;
                let ca = file.audit.postgres_ca.as_deref().map(|c| folder.join(c));
                if let Some(ca) = &ca {
                    crate::tls::client_tls(Some(ca)).map_err(|e| at("audit.postgres_ca", e))?;
                }
                crate::audit::Sink::Postgres { url, table, ca }
            }
            other => {
                return Err(at(
                    "audit.backend",
                    format!("`{other}`: expected sqlite or postgres"),
                ))
            }
        };
        let checkpoint_key = file.audit.checkpoint_key.as_deref().map(|k| folder.join(k));
        if let Some(key) = &checkpoint_key {
            crate::audit::load_checkpoint_key(key).map_err(|e| at("audit.checkpoint_key", e))?;
        }
        let audit = Audit {
            sink,
            checkpoint_key,
            checkpoint_every: duration(
                "audit.checkpoint_every",
                &file.audit.checkpoint_every,
                Duration::from_secs(60),
            )?,
            queue: file.audit.queue.unwrap_or(10_000),
            batch: file.audit.batch.unwrap_or(512),
            fail_open: match on_failure {
                "closed" => false,
                "open" => true,
                other => {
                    return Err(at(
                        "audit.on_failure",
                        format!("`{other}`: expected closed or open"),
                    ))
                }
            },
        };
        if audit.queue == 0 || audit.batch == 0 {
            return Err(at(
                "audit.queue",
                "queue and batch must be at least 1".into(),
            ));
        }

        let redis = match file.limits.backend.as_deref().unwrap_or("local") {
            "local" => None,
            "redis" => Some(RedisLimits {
                url: file
                    .limits
                    .redis_url
                    .clone()
                    .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
                prefix: file
                    .limits
                    .redis_prefix
                    .clone()
                    .unwrap_or_else(|| "mlsec:gw:".into()),
                fallback_local: match file.limits.on_redis_failure.as_deref().unwrap_or("deny") {
                    "deny" => false,
                    "local" => true,
                    other => {
                        return Err(at(
                            "limits.on_redis_failure",
                            format!("`{other}`: expected deny or local"),
                        ))
                    }
                },
                timeout: duration(
                    "limits.redis_timeout",
                    &file.limits.redis_timeout,
                    Duration::from_millis(250),
                )?,
            }),
            other => {
                return Err(at(
                    "limits.backend",
                    format!("`{other}`: expected local or redis"),
                ))
            }
        };
        if let Some(r) = &redis {
            if !(r.url.starts_with("redis://")
                || r.url.starts_with("rediss://")
                || r.url.starts_with("unix://"))
            {
                return Err(at(
                    "limits.redis_url",
                    format!("`{}` is not a redis:// URL", r.url),
                ));
            }
        }
        let mut rules = Vec::new();
        for (i, l) in file.limit.iter().enumerate() {
            let key = format!("limit[{i}]");
            if l.requests_per_second.is_none()
                && l.tokens_per_minute.is_none()
                && l.requests_per_day.is_none()
                && l.concurrent.is_none()
            {
                return Err(at(
                    &key,
                    "sets no limit: give requests_per_second, tokens_per_minute, requests_per_day or concurrent".into(),
                ));
            }
            if let Some(r) = l.requests_per_second {
                if !(r.is_finite() && r > 0.0) {
                    return Err(at(
                        &format!("{key}.requests_per_second"),
                        "must be more than zero".into(),
                    ));
                }
            }
            if l.burst == Some(0) || l.tokens_per_minute == Some(0) || l.concurrent == Some(0) {
                return Err(at(
                    &key,
                    "burst, tokens_per_minute and concurrent must be at least 1".into(),
                ));
            }
            rules.push(LimitRule {
                name: l.name.clone().unwrap_or_else(|| format!("limit{i}")),
                per: l.per,
                requests_per_second: l.requests_per_second,
                burst: l.burst,
                tokens_per_minute: l.tokens_per_minute,
                requests_per_day: l.requests_per_day,
                concurrent: l.concurrent,
                tier: l.tier.clone(),
                models: l.models.clone(),
            });
        }
        let mut names = std::collections::BTreeSet::new();
        for r in &rules {
            if !names.insert(r.name.clone()) {
                return Err(at("limit", format!("two limits are named `{}`", r.name)));
            }
            if r.name.is_empty()
                || !r
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(at(
                    "limit",
                    format!("limit name `{}`: use letters, digits, - and _", r.name),
                ));
            }
        }

        if file.route.is_empty() {
            return Err(at(
                "route",
                "no [[route]]: the gateway would refuse every request".into(),
            ));
        }
        // Each guard is built for the side its routes use it on.
        let mut guards = std::collections::BTreeMap::new();
        let mut outputs = std::collections::BTreeMap::new();
        let mut extractions = std::collections::BTreeMap::new();
        for (name, g) in &file.guards {
            if g.kind == "extraction" {
                let built =
                    extraction(name, g, folder).map_err(|e| at(&format!("guards.{name}"), e))?;
                extractions.insert(name.clone(), std::sync::Arc::new(built));
                continue;
            }
            let answers_only = matches!(g.kind.as_str(), "canary" | "links" | "invisible");
            let mut input = file.route.iter().any(|r| r.guards.contains(name));
            let mut output = file.route.iter().any(|r| r.output_guards.contains(name));
            // A guard no route uses yet is still checked, as its kind reads.
            if !input && !output {
                input = !answers_only;
                output = answers_only;
            }
            if input {
                let built = guard(name, g, folder).map_err(|e| at(&format!("guards.{name}"), e))?;
                guards.insert(name.clone(), std::sync::Arc::new(built));
            }
            if output {
                let built = output_guard(g).map_err(|e| at(&format!("guards.{name}"), e))?;
                outputs.insert(name.clone(), (g.kind == "canary", built));
            }
        }
        let mut routes = Vec::new();
        for (i, r) in file.route.iter().enumerate() {
            let key = format!("route[{i}]");
            let upstream =
                Upstream::parse(&r.upstream).map_err(|m| at(&format!("{key}.upstream"), m))?;
            let prefix = r
                .prefix
                .clone()
                .unwrap_or_else(|| r.protocol.default_prefix().to_string());
            if !prefix.starts_with('/') {
                return Err(at(
                    &format!("{key}.prefix"),
                    format!("`{prefix}` must start with /"),
                ));
            }
            let mut chain = Vec::new();
            for g in &r.guards {
                let guard = guards.get(g).ok_or_else(|| {
                    at(
                        &format!("{key}.guards"),
                        format!("no [guards.{g}] section defines guard `{g}`"),
                    )
                })?;
                chain.push(guard.clone());
            }
            let mut output = Vec::new();
            let mut canary = false;
            for g in &r.output_guards {
                let (is_canary, built) = outputs.get(g).ok_or_else(|| {
                    at(
                        &format!("{key}.output_guards"),
                        format!("no [guards.{g}] section defines guard `{g}`"),
                    )
                })?;
                canary |= is_canary;
                output.push((g.clone(), built.clone()));
            }
            if !output.is_empty() && !matches!(r.protocol, Protocol::Openai | Protocol::Json) {
                return Err(at(
                    &format!("{key}.output_guards"),
                    "output guards read text answers: OpenAI and generic JSON routes only".into(),
                ));
            }
            if r.protocol == Protocol::Openai
                && (r.extraction.is_some()
                    || r.round_scores.is_some()
                    || r.top_k.is_some()
                    || r.labels_only)
            {
                return Err(at(
                    &format!("{key}.extraction"),
                    "extraction, round_scores, top_k and labels_only read tensor answers: KServe and json routes only".into(),
                ));
            }
            let window = size(
                &format!("{key}.output_window"),
                &r.output_window,
                mlsec_guard::output::DEFAULT_WINDOW,
            )?;
            if !(16..=65536).contains(&window) {
                return Err(at(
                    &format!("{key}.output_window"),
                    "must be from 16 B to 64 KiB".into(),
                ));
            }
            let output = (!output.is_empty()).then(|| {
                std::sync::Arc::new(mlsec_guard::output::OutputChain {
                    guards: output,
                    window,
                })
            });
            routes.push(Route {
                name: r.name.clone().unwrap_or_else(|| format!("route{i}")),
                protocol: r.protocol,
                prefix: prefix.trim_end_matches('/').to_string(),
                strip_prefix: r.strip_prefix,
                models: r.models.clone(),
                upstream,
                connect_timeout: duration(
                    &format!("{key}.connect_timeout"),
                    &r.connect_timeout,
                    Duration::from_secs(2),
                )?,
                first_byte_timeout: duration(
                    &format!("{key}.first_byte_timeout"),
                    &r.first_byte_timeout,
                    Duration::from_secs(60),
                )?,
                total_timeout: duration(
                    &format!("{key}.total_timeout"),
                    &r.total_timeout,
                    Duration::from_secs(600),
                )?,
                retries: r.retries.unwrap_or(1).min(5),
                max_body: size(&format!("{key}.max_body"), &r.max_body, 4 << 20)?,
                guards: chain,
                output,
                canary,
                squeeze_decimals: match r.squeeze_decimals {
                    Some(d) if d > 12 => {
                        return Err(at(&format!("{key}.squeeze_decimals"), "at most 12".into()))
                    }
                    Some(_)
                        if !matches!(
                            r.protocol,
                            Protocol::KserveV2 | Protocol::KserveV1 | Protocol::Json
                        ) =>
                    {
                        return Err(at(
                            &format!("{key}.squeeze_decimals"),
                            "squeezes tensor inputs: KServe and json routes only".into(),
                        ))
                    }
                    d => d,
                },
                extraction: match &r.extraction {
                    None => None,
                    Some(name) => Some(
                        extractions
                            .get(name)
                            .ok_or_else(|| {
                                at(
                                    &format!("{key}.extraction"),
                                    format!("no [guards.{name}] section of kind extraction"),
                                )
                            })?
                            .clone(),
                    ),
                },
                harden: (r.round_scores.is_some() || r.top_k.is_some() || r.labels_only).then_some(
                    mlsec_guard::tensor::Hardening {
                        round: r.round_scores.map(|d| d.min(12)),
                        top_k: r.top_k.map(|k| k.max(1)),
                        labels_only: r.labels_only,
                    },
                ),
                audit_bodies: r.audit_bodies,
            });
        }
        let authorization = match &file.authorization {
            None => None,
            Some(a) => Some(std::sync::Arc::new(
                crate::authz::Policies::load(&folder.join(&a.policies))
                    .map_err(|m| at("authorization.policies", m))?,
            )),
        };
        let jwt = match &file.jwt {
            None => None,
            Some(j) => Some(std::sync::Arc::new(jwt(j, folder, &at, &duration)?)),
        };
        let telemetry = match &file.telemetry {
            None => None,
            Some(t) => {
                if !crate::telemetry::ENABLED {
                    return Err(at(
                        "telemetry.otlp_endpoint",
                        "this mlsec was built without OpenTelemetry; rebuild with `--features otel`"
                            .into(),
                    ));
                }
                if !(t.otlp_endpoint.starts_with("http://")
                    || t.otlp_endpoint.starts_with("https://"))
                {
                    return Err(at(
                        "telemetry.otlp_endpoint",
                        format!("`{}` is not an http(s):// URL", t.otlp_endpoint),
                    ));
                }
                let ratio = t.sample_ratio.unwrap_or(1.0);
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(at("telemetry.sample_ratio", "must be from 0 to 1".into()));
                }
                Some(crate::telemetry::Settings {
                    endpoint: t.otlp_endpoint.clone(),
                    service_name: t
                        .service_name
                        .clone()
                        .unwrap_or_else(|| "mlsec-gateway".into()),
                    sample_ratio: ratio,
                })
            }
        };
        let sensitivity = file
            .models
            .iter()
            .filter_map(|(name, m)| m.sensitivity.clone().map(|s| (name.clone(), s)))
            .collect();
        Ok(Config {
            authorization,
            jwt,
            telemetry,
            sensitivity,
            source: source.to_path_buf(),
            server,
            keys_file,
            audit,
            limits: Limits { redis, rules },
            routes,
        })
    }
}

/// `4MiB`, `64KiB`, `1000`, `2MB`: a byte count.
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: usize = number.parse().ok()?;
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// toml's own error, on one line: "line L, column C: what".
fn one_line_toml_error(e: &toml::de::Error, text: &str) -> String {
    let what = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {what}")
        }
        None => what,
    }
}

/// The line a dotted key such as `route[1].upstream` is on, when the file has it.
fn line_of(text: &str, key: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut span = None;
    let parts: Vec<&str> = key.split('.').collect();
    for (n, part) in parts.iter().enumerate() {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, Some(i.trim_end_matches(']').parse::<usize>().ok()?)),
            None => (*part, None),
        };
        let (k, item) = table.get_key_value(name)?;
        span = k.span().or(span);
        if let Some(i) = index {
            let t = item.as_array_of_tables()?.get(i)?;
            span = t.span().or(span);
            table = t;
        } else if n + 1 < parts.len() {
            table = item.as_table_like()?;
        }
    }
    let start = span?.start;
    Some(text.get(..start).unwrap_or(text).matches('\n').count() + 1)
}
