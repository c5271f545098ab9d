//! Serving: accept connections (HTTP/1.1 and HTTP/2), take each request
//! through authentication, routing, limits and the audit log, and pass it to
//! its upstream, streaming the answer back as it comes.

use crate::audit::{AuditError, AuditLog, AuditRecord};
use crate::config::{Config, Route};
use crate::keys::KeyStore;
use crate::limits::{Admission, Limiter, RateHeaders};
use crate::metrics::Metrics;
use crate::protocol::{model_matches, Call, Protocol};
use crate::usage::UsageScanner;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type GatewayBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

type Upstreams = Client<HttpConnector, Full<Bytes>>;

/// What a reload replaces: the config, its routes' clients, the keys.
pub struct Settings {
    pub config: Config,
    /// Routes with the longest prefix first, so the most specific one wins.
    routes: Vec<(Route, Upstreams)>,
}

/// Everything the gateway holds while serving.
pub struct Gateway {
    settings: RwLock<Arc<Settings>>,
    keys: RwLock<Arc<KeyStore>>,
    /// The bytes' digest of the key store now in `keys`.
    keys_seen: std::sync::Mutex<crate::keys::StoreDigest>,
    limiter: RwLock<Arc<Limiter>>,
    pub audit: AuditLog,
    pub metrics: Metrics,
    /// OpenTelemetry export (`[telemetry]`, feature `otel`).
    pub telemetry: Option<crate::telemetry::Telemetry>,
    draining: AtomicBool,
    next_id: AtomicU64,
    id_prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error("audit log {0}")]
    Audit(String),
    #[error("{0}")]
    Io(String),
}

impl Settings {
    fn new(config: Config) -> Settings {
        let mut routes: Vec<(Route, Upstreams)> = config
            .routes
            .iter()
            .map(|r| {
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                connector.set_connect_timeout(Some(r.connect_timeout));
                connector.enforce_http(true);
                let client = Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(60))
                    .pool_timer(TokioTimer::new())
                    .build(connector);
                (r.clone(), client)
            })
            .collect();
        routes.sort_by_key(|(r, _)| std::cmp::Reverse(r.prefix.len()));
        Settings { config, routes }
    }
}

impl Gateway {
    pub fn new(config: Config) -> Result<Gateway, GatewayError> {
        let (keys, seen) = KeyStore::load(&config.keys_file)?;
        let audit =
            AuditLog::open(&config.audit).map_err(|e| GatewayError::Audit(e.to_string()))?;
        let limiter = Limiter::new(&config.limits);
        let telemetry = match &config.telemetry {
            Some(t) => Some(crate::telemetry::Telemetry::new(t).map_err(GatewayError::Io)?),
            None => None,
        };
        Ok(Gateway {
            telemetry,
            settings: RwLock::new(Arc::new(Settings::new(config))),
            keys: RwLock::new(Arc::new(keys)),
            keys_seen: std::sync::Mutex::new(seen),
            limiter: RwLock::new(Arc::new(limiter)),
            audit,
            metrics: Metrics::new(),
            draining: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            id_prefix: hex::encode({
                let mut b = [0u8; 4];
                let _ = getrandom::fill(&mut b);
                b
            }),
        })
    }

    pub fn settings(&self) -> Arc<Settings> {
        read(&self.settings).clone()
    }

    /// Loads `path` again; a config that does not check is refused and the
    /// one in use stays. Limits' counters survive when the limits did not
    /// change, extraction statistics when their guard did not.
    pub fn reload(&self, path: &std::path::Path) -> Result<(), GatewayError> {
        let result = (|| {
            let mut config = Config::load(path)?;
            let current = self.settings();
            if config.server.listen != current.config.server.listen
                || config.audit.sink != current.config.audit.sink
                || config.audit.checkpoint_key != current.config.audit.checkpoint_key
                || config.audit.checkpoint_every != current.config.audit.checkpoint_every
                || (config.audit.queue, config.audit.batch)
                    != (current.config.audit.queue, current.config.audit.batch)
                || config.telemetry != current.config.telemetry
            {
                return Err(GatewayError::Io(
                    "server.listen, [audit] and [telemetry] change only with a restart; config not reloaded".into(),
                ));
            }
            // Read under the digest's lock, so that a refresh cannot slip
            // in between and have its newer store replaced by this one.
            let mut last = self.keys_seen.lock().unwrap_or_else(|p| p.into_inner());
            let (keys, seen) = KeyStore::load(&config.keys_file)?;
            if config.limits != current.config.limits {
                *write(&self.limiter) = Arc::new(Limiter::new(&config.limits));
            }
            *write(&self.keys) = Arc::new(keys);
            *last = seen;
            drop(last);
            config.keep_extraction_state(&current.config);
            *write(&self.settings) = Arc::new(Settings::new(config));
            Ok(())
        })();
        let label = if result.is_ok() { "ok" } else { "refused" };
        self.metrics
            .config_reloads
            .get_or_create(&vec![("result", label.to_string())])
            .inc();
        result
    }

    /// Reads the key store again when its bytes changed (revocations take
    /// effect without a reload). A store that no longer reads keeps the old one.
    pub fn refresh_keys(&self) {
        let path = self.settings().config.keys_file.clone();
        let mut last = self.keys_seen.lock().unwrap_or_else(|p| p.into_inner());
        match KeyStore::reload(&path, &last) {
            Ok(None) => {}
            Ok(Some((keys, seen))) => {
                *write(&self.keys) = Arc::new(keys);
                *last = seen;
                tracing::info!("key store {} reloaded", path.display());
            }
            Err(e) => {
                tracing::error!("key store changed but does not read, keeping the old one: {e}")
            }
        }
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    fn request_id(&self) -> String {
        format!(
            "{}-{}",
            self.id_prefix,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }
}

pub(crate) fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// Headers that belong to one connection, never forwarded (RFC 9110 7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn full(bytes: impl Into<Bytes>) -> GatewayBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<GatewayBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A request on its way through: what the audit record will say.
pub(crate) struct Trace {
    pub start: Instant,
    pub record: AuditRecord,
    pub route: String,
    /// Ends, with the record's facts, when the record is written.
    pub span: crate::telemetry::RequestSpan,
}

impl Trace {
    /// The record of a request the gateway answered itself: refused, or an
    /// admin action done.
    fn deny(mut self, status: StatusCode, reason: String) -> AuditRecord {
        self.record.decision = if status.is_success() { "allow" } else { "deny" }.into();
        self.record.reason = reason;
        self.record.status = status.as_u16();
        self.record.latency_ms = self.start.elapsed().as_secs_f64() * 1e3;
        self.span.finish(&self.record);
        self.record
    }
}

/// Serves one request. Never fails: every problem is an HTTP answer.
pub async fn handle(
    gw: Arc<Gateway>,
    req: Request<Incoming>,
    client: SocketAddr,
) -> Response<GatewayBody> {
    let start = Instant::now();
    let path = req.uri().path().to_string();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/healthz") => return text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") => {
            return if gw.draining.load(Ordering::SeqCst) {
                text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
            } else if !gw.audit.healthy() {
                text(StatusCode::SERVICE_UNAVAILABLE, "audit log failing\n")
            } else {
                text(StatusCode::OK, "ready\n")
            };
        }
        (&Method::GET, "/metrics") if gw.settings().config.server.metrics => {
            gw.metrics.audit_queue.set(gw.audit.depth() as i64);
            gw.metrics
                .limiter_fallbacks
                .set(read(&gw.limiter).fallbacks.load(Ordering::Relaxed) as i64);
            let mut r = text(StatusCode::OK, &gw.metrics.render());
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            return r;
        }
        _ => {}
    }
    let span = match &gw.telemetry {
        Some(t) => t.start(req.headers(), req.method().as_str()),
        None => crate::telemetry::RequestSpan::none(),
    };
    let trace = Trace {
        start,
        span,
        route: "-".into(),
        record: AuditRecord {
            time: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            request_id: gw.request_id(),
            client: client.ip().to_string(),
            method: req.method().to_string(),
            path: truncate(&path, 512),
            ..AuditRecord::default()
        },
    };
    let settings = gw.settings();
    if path == "/admin" || path.starts_with("/admin/") {
        let (response, trace) = crate::admin::handle(&gw, &settings, req, trace).await;
        return finish_denied(&gw, response, Some((trace, Protocol::Json))).await;
    }
    let (response, trace, upstream) = route_request(&gw, &settings, req, trace).await;
    match upstream {
        // Answered by the upstream: the body records and finishes the request.
        Some(()) => response,
        None => finish_denied(&gw, response, trace).await,
    }
}

fn text(status: StatusCode, body: &str) -> Response<GatewayBody> {
    let mut r = Response::new(full(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", s.get(..end).unwrap_or_default())
}

/// Records a request the gateway answered itself, then answers it (or 503
/// when the record cannot be written and the log fails closed).
async fn finish_denied(
    gw: &Gateway,
    response: Response<GatewayBody>,
    trace: Option<(Trace, Protocol)>,
) -> Response<GatewayBody> {
    let Some((trace, protocol)) = trace else {
        return response;
    };
    let status = response.status();
    let route = trace.route.clone();
    let reason = response
        .extensions()
        .get::<Reason>()
        .map_or_else(String::new, |r| r.0.clone());
    let record = trace.deny(status, reason);
    count_request(gw, &route, record.operation.as_deref(), status);
    match gw.audit.append(record).await {
        Ok(_) => response,
        Err(e) => audit_failed(gw, protocol, e).unwrap_or(response),
    }
}

/// The answer when a record could not be written: 503 when failing closed.
fn audit_failed(gw: &Gateway, protocol: Protocol, e: AuditError) -> Option<Response<GatewayBody>> {
    gw.metrics.audit_failures.inc();
    tracing::error!("audit record not written: {e}");
    if gw.settings().config.audit.fail_open {
        return None;
    }
    let mut r = json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        protocol.error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit log unavailable; request not served",
        ),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    Some(r)
}

fn count_request(gw: &Gateway, route: &str, operation: Option<&str>, status: StatusCode) {
    gw.metrics
        .requests
        .get_or_create(&vec![
            ("route", route.to_string()),
            ("operation", operation.unwrap_or("-").to_string()),
            ("status", status.as_u16().to_string()),
        ])
        .inc();
}

/// Runs the route's guard chain over the request's texts, recording every
/// hit; returns the refusal message when a blocking guard hit.
fn run_guards(
    gw: &Gateway,
    route: &Route,
    body: &[u8],
    json: Option<&serde_json::Value>,
    record: &mut AuditRecord,
) -> Option<String> {
    let texts = match json {
        Some(json) => mlsec_guard::texts(json),
        None => vec![mlsec_guard::Text {
            location: "body".into(),
            text: String::from_utf8_lossy(body).into_owned(),
        }],
    };
    let request = mlsec_guard::Request::new(json, &texts);
    let mut blocked = None;
    for configured in &route.guards {
        let mut hits = Vec::new();
        configured.guard.check(&request, &mut hits);
        if hits.is_empty() {
            continue;
        }
        let action = configured.action.as_str();
        gw.metrics
            .guard_hits
            .get_or_create(&vec![
                ("guard", configured.name.clone()),
                ("action", action.to_string()),
            ])
            .inc();
        if configured.action == crate::config::GuardAction::Block && blocked.is_none() {
            if let Some(h) = hits.first() {
                blocked = Some(format!(
                    "blocked by guard `{}`: {} in {}",
                    configured.name, h.rule, h.location
                ));
            }
        }
        for h in hits {
            record.guards.push(serde_json::json!({
                "guard": configured.name, "action": action, "rule": h.rule, "family": h.family,
                "location": h.location, "start": h.start, "end": h.end, "score": h.score,
            }));
        }
    }
    blocked
}

/// The request's principal, or the 401 to answer (counted in the metrics).
pub(crate) async fn authenticate_request(
    gw: &Gateway,
    settings: &Settings,
    req: &Request<Incoming>,
    protocol: Protocol,
) -> Result<crate::keys::Principal, Response<GatewayBody>> {
    let keys = read(&gw.keys).clone();
    let cert = req
        .extensions()
        .get::<Arc<crate::tls::ClientCert>>()
        .cloned();
    let with = crate::authn::Authenticators {
        keys: &keys,
        jwt: settings.config.jwt.as_deref(),
        tls: settings.config.server.tls.as_ref(),
    };
    let outcome =
        crate::authn::authenticate(&with, req.headers(), cert.as_deref(), SystemTime::now()).await;
    outcome.map_err(|denied| {
        gw.metrics
            .authn_failures
            .get_or_create(&vec![("reason", denied.label.to_string())])
            .inc();
        let mut r = refuse(protocol, StatusCode::UNAUTHORIZED, &denied.message);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"mlsec\""),
        );
        r
    })
}

/// Why the gateway refused, for the audit record.
#[derive(Clone)]
struct Reason(String);

pub(crate) fn refuse(
    protocol: Protocol,
    status: StatusCode,
    message: &str,
) -> Response<GatewayBody> {
    let mut r = json_response(status, protocol.error_body(status, message));
    r.extensions_mut().insert(Reason(message.to_string()));
    r
}

type Routed = (Response<GatewayBody>, Option<(Trace, Protocol)>, Option<()>);

async fn route_request(
    gw: &Arc<Gateway>,
    settings: &Arc<Settings>,
    req: Request<Incoming>,
    mut trace: Trace,
) -> Routed {
    let path = req.uri().path().to_string();
    // Routes whose prefix holds the path and whose protocol has the endpoint.
    let mut candidates: Vec<(&(Route, Upstreams), Call)> = Vec::new();
    let mut prefix_protocol = None;
    for entry in &settings.routes {
        let route = &entry.0;
        let Some(rest) = under_prefix(&path, &route.prefix) else {
            continue;
        };
        prefix_protocol.get_or_insert(route.protocol);
        if let Some(call) = route.protocol.classify(req.method(), rest) {
            candidates.push((entry, call));
        }
    }
    let protocol = candidates
        .first()
        .map(|((route, _), _)| route.protocol)
        .or(prefix_protocol)
        .unwrap_or(Protocol::Json);
    if candidates.is_empty() {
        let message = format!("no route serves {} {}", req.method(), truncate(&path, 200));
        return (
            refuse(protocol, StatusCode::NOT_FOUND, &message),
            Some((trace, protocol)),
            None,
        );
    }

    // With the log known to be failing, refuse before the upstream does
    // work whose answer would be cut anyway. This refusal's own record is
    // the write that notices when the log is back.
    if !gw.audit.healthy() && !settings.config.audit.fail_open {
        let mut r = refuse(
            protocol,
            StatusCode::SERVICE_UNAVAILABLE,
            "audit log unavailable; request not served",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return (r, Some((trace, protocol)), None);
    }

    // Authenticate before reading a byte of the body.
    let principal = match authenticate_request(gw, settings, &req, protocol).await {
        Ok(p) => p,
        Err(r) => return (r, Some((trace, protocol)), None),
    };
    trace.record.principal = Some(principal.id.clone());
    trace.record.owner = Some(principal.owner.clone());

    let limit = candidates
        .iter()
        .map(|((route, _), _)| route.max_body)
        .max()
        .unwrap_or(0);
    let (parts, body) = req.into_parts();
    let body = match read_body(body, limit, settings.config.server.body_timeout).await {
        Ok(b) => b,
        Err((status, message)) => {
            return (
                refuse(protocol, status, &message),
                Some((trace, protocol)),
                None,
            )
        }
    };
    trace.record.request_bytes = body.len() as u64;

    // The model: from the path, or from an OpenAI body.
    let mut stream = false;
    let mut chosen = None;
    for (entry, call) in &candidates {
        let route = &entry.0;
        let model = if call.model_in_body {
            match body_model(&body) {
                Ok((m, s)) => {
                    stream = s;
                    Some(m)
                }
                Err(message) => {
                    return (
                        refuse(route.protocol, StatusCode::BAD_REQUEST, &message),
                        Some((trace, route.protocol)),
                        None,
                    )
                }
            }
        } else {
            call.path_model.clone()
        };
        if model_matches(&route.models, model.as_deref()) {
            chosen = Some((*entry, call.clone(), model));
            break;
        }
        trace.record.model = model;
    }
    let Some((entry, call, model)) = chosen else {
        let message = format!(
            "model `{}` is not served here",
            truncate(trace.record.model.as_deref().unwrap_or("-"), 200)
        );
        return (
            refuse(protocol, StatusCode::NOT_FOUND, &message),
            Some((trace, protocol)),
            None,
        );
    };
    let (route, client) = entry;
    let protocol = route.protocol;
    trace.route = route.name.clone();
    trace.record.route = Some(route.name.clone());
    trace.record.operation = Some(call.operation.as_str().to_string());
    trace.record.model = model.clone();
    if body.len() > route.max_body {
        let message = format!("request body over {} bytes", route.max_body);
        return (
            refuse(protocol, StatusCode::PAYLOAD_TOO_LARGE, &message),
            Some((trace, protocol)),
            None,
        );
    }
    if route.audit_bodies {
        trace.record.request_body = Some(String::from_utf8_lossy(&body).into_owned());
    }

    // Authorization.
    if let Some(policies) = &settings.config.authorization {
        let model_name = model.as_deref().unwrap_or(&route.name);
        let query = crate::authz::Query {
            key_id: &principal.id,
            owner: &principal.owner,
            tier: principal.tier.as_deref().unwrap_or(""),
            groups: &principal.groups,
            action: call.operation.as_str(),
            model: model_name,
            route: &route.name,
            protocol: protocol.as_str(),
            sensitivity: settings
                .config
                .sensitivity
                .get(model_name)
                .map_or("normal", String::as_str),
            client: &trace.record.client,
            stream,
        };
        let message = match policies.decide(&query) {
            Ok(v) if v.allowed => {
                trace.record.policies = v.policies;
                None
            }
            Ok(v) => {
                let message = match v.policies.first() {
                    Some(p) => format!("forbidden by policy `{p}`"),
                    None => format!(
                        "no policy permits `{}` on model `{}`",
                        call.operation.as_str(),
                        truncate(model_name, 200)
                    ),
                };
                trace.record.policies = v.policies;
                Some(message)
            }
            Err(e) => {
                tracing::error!("authorization failed, request denied: {e}");
                Some("authorization could not be decided".to_string())
            }
        };
        if let Some(message) = message {
            gw.metrics
                .authz_denials
                .get_or_create(&vec![("route", route.name.clone())])
                .inc();
            return (
                refuse(protocol, StatusCode::FORBIDDEN, &message),
                Some((trace, protocol)),
                None,
            );
        }
    }

    // Limits.
    let limit_model = model.clone().unwrap_or_else(|| route.name.clone());
    let limiter = read(&gw.limiter).clone();
    let admission = match limiter
        .admit(&principal, &limit_model, call.operation.counts_tokens())
        .await
    {
        Ok(Ok(a)) => a,
        Ok(Err(refused)) => {
            gw.metrics
                .limit_refusals
                .get_or_create(&vec![
                    ("limit", refused.rule.clone()),
                    ("kind", refused.what.to_string()),
                ])
                .inc();
            let message = format!("rate limit `{}` ({}) exceeded", refused.rule, refused.what);
            let mut r = refuse(protocol, StatusCode::TOO_MANY_REQUESTS, &message);
            let secs = refused.retry_after.as_secs_f64().ceil().max(1.0) as u64;
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            rate_headers(r.headers_mut(), &refused.headers);
            return (r, Some((trace, protocol)), None);
        }
        Err(e) => {
            gw.metrics.limiter_failures.inc();
            tracing::error!("{e}");
            let mut r = refuse(
                protocol,
                StatusCode::SERVICE_UNAVAILABLE,
                "rate limiter unavailable; request not served",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return (r, Some((trace, protocol)), None);
        }
    };

    // The body as JSON, parsed once for every step below that reads it.
    let reads_json = !route.guards.is_empty()
        || route.extraction.is_some()
        || route.canary
        || route.squeeze_decimals.is_some();
    let mut json = reads_json
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten();

    // Guards, after the limits: probing them costs quota like any request.
    if !route.guards.is_empty() {
        if let Some(blocked) = run_guards(gw, route, &body, json.as_ref(), &mut trace.record) {
            return (
                refuse(protocol, StatusCode::BAD_REQUEST, &blocked),
                Some((trace, protocol)),
                None,
            );
        }
    }

    // Model extraction: a principal already caught is refused (with action
    // block) or held to a pace (throttle); the queries served are kept to be
    // scored with the answer.
    let mut extraction_rows = None;
    if let Some(ex) = &route.extraction {
        if let Some(alert) = ex.monitor.alert(&principal.id) {
            note_extraction(gw, &mut trace.record, ex, &alert);
            if ex.action == crate::config::GuardAction::Block {
                return (
                    refuse(
                        protocol,
                        StatusCode::FORBIDDEN,
                        &format!("refused by guard `{}`: model extraction suspected", ex.name),
                    ),
                    Some((trace, protocol)),
                    None,
                );
            }
            if let Some(Err(wait)) = ex.throttle.as_ref().map(|t| t.admit(&principal.id)) {
                let mut r = refuse(
                    protocol,
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!(
                        "throttled by guard `{}`: model extraction suspected",
                        ex.name
                    ),
                );
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                return (r, Some((trace, protocol)), None);
            }
        }
        extraction_rows = json
            .as_ref()
            .and_then(mlsec_guard::tensor::inputs)
            .map(|inputs| inputs.rows);
    }

    // A canary in the system prompt, for the output guards to look for, and
    // feature squeezing (small perturbations rounded away): both rewrite
    // the body, serialised once.
    let mut canary: Option<Arc<str>> = None;
    let mut rewritten = false;
    if let Some(json) = json.as_mut() {
        if route.canary && call.operation == crate::protocol::Operation::Chat {
            let value = new_canary();
            if mlsec_guard::answer::plant_canary(json, &value) {
                canary = Some(value.into());
                rewritten = true;
            }
        }
        if let Some(decimals) = route.squeeze_decimals {
            rewritten |= mlsec_guard::tensor::squeeze(json, decimals);
        }
    }
    let body = match json.filter(|_| rewritten) {
        Some(json) => serde_json::to_vec(&json).map_or(body, Bytes::from),
        None => body,
    };

    // Forward.
    let rest = under_prefix(parts.uri.path(), &route.prefix)
        .unwrap_or("")
        .to_string();
    let forward_path = if route.strip_prefix {
        format!(
            "{}{}",
            route.upstream.base_path,
            if rest.is_empty() { "/" } else { &rest }
        )
    } else {
        format!("{}{}", route.upstream.base_path, parts.uri.path())
    };
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{forward_path}?{q}"),
        None => forward_path,
    };
    let uri = match http::Uri::builder()
        .scheme("http")
        .authority(route.upstream.authority.as_str())
        .path_and_query(path_and_query)
        .build()
    {
        Ok(u) => u,
        Err(_) => {
            return (
                refuse(protocol, StatusCode::BAD_REQUEST, "invalid request path"),
                Some((trace, protocol)),
                None,
            )
        }
    };
    let mut headers = forward_headers(
        &parts.headers,
        &trace.record.request_id,
        &trace.record.client,
    );
    if let Ok(host) = HeaderValue::from_str(&route.upstream.authority) {
        headers.insert(header::HOST, host);
    }
    if route.output.is_some() {
        // The output guards read the answer: it must come uncompressed.
        headers.remove(header::ACCEPT_ENCODING);
    }
    if let Some(t) = &gw.telemetry {
        // The upstream continues the trace under the gateway's span.
        t.inject(&trace.span, &mut headers);
    }
    let idempotent = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let attempts = if idempotent { 1 + route.retries } else { 1 };
    let upstream_start = Instant::now();
    let mut outcome = None;
    for attempt in 0..attempts {
        let mut up = Request::new(Full::new(body.clone()));
        *up.method_mut() = parts.method.clone();
        *up.uri_mut() = uri.clone();
        *up.headers_mut() = headers.clone();
        match tokio::time::timeout(route.first_byte_timeout, client.request(up)).await {
            Ok(Ok(response)) => {
                outcome = Some(Ok(response));
                break;
            }
            Ok(Err(e)) => {
                let retry = e.is_connect() && attempt + 1 < attempts;
                outcome = Some(Err((
                    StatusCode::BAD_GATEWAY,
                    if e.is_connect() { "connect" } else { "reset" },
                    format!(
                        "upstream {} failed: {}",
                        route.upstream.authority,
                        error_chain(&e)
                    ),
                )));
                if !retry {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            Err(_) => {
                outcome = Some(Err((
                    StatusCode::GATEWAY_TIMEOUT,
                    "timeout",
                    format!(
                        "upstream sent no answer within {:?}",
                        route.first_byte_timeout
                    ),
                )));
                break;
            }
        }
    }
    let upstream_ms = upstream_start.elapsed().as_secs_f64();
    trace.record.upstream_ms = Some(upstream_ms * 1e3);
    let response = match outcome {
        Some(Ok(r)) => r,
        Some(Err((status, kind, message))) => {
            gw.metrics
                .upstream_errors
                .get_or_create(&vec![
                    ("route", route.name.clone()),
                    ("kind", kind.to_string()),
                ])
                .inc();
            tracing::warn!(route = %route.name, "{message}");
            return (
                refuse(protocol, status, &message),
                Some((trace, protocol)),
                None,
            );
        }
        None => {
            return (
                refuse(protocol, StatusCode::BAD_GATEWAY, "no upstream attempt"),
                Some((trace, protocol)),
                None,
            )
        }
    };
    gw.metrics
        .upstream_duration
        .get_or_create(&vec![("route", route.name.clone())])
        .observe(upstream_ms);

    let (mut head, upstream_body) = response.into_parts();
    strip_hop_by_hop(&mut head.headers);
    rate_headers(&mut head.headers, &admission.headers);
    if let Ok(id) = HeaderValue::from_str(&trace.record.request_id) {
        head.headers
            .insert(HeaderName::from_static("x-request-id"), id);
    }
    trace.record.status = head.status.as_u16();
    trace.record.decision = "allow".into();
    trace.record.reason = if head.status.is_success() {
        "ok".into()
    } else {
        "upstream error status".into()
    };
    let sse = stream
        || head
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
    let deadline = upstream_start + route.total_timeout;
    let mut filter = None;
    // Read whole: answers the output guards must be able to refuse, and
    // tensor answers that extraction monitoring or hardening read.
    let read_whole =
        !sse && (route.output.is_some() || route.extraction.is_some() || route.harden.is_some());
    if route.output.is_some() || read_whole {
        let encoded = head
            .headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
        if encoded {
            // Compressed bytes would pass the guards unread.
            return (
                refuse(
                    protocol,
                    StatusCode::BAD_GATEWAY,
                    "upstream answer is compressed; the output guards cannot read it",
                ),
                Some((trace, protocol)),
                None,
            );
        }
        head.headers.remove(header::CONTENT_LENGTH);
    }
    let upstream_body: GatewayBody = if read_whole {
        let mut answer = match read_answer(upstream_body, deadline).await {
            Ok(bytes) => bytes,
            Err(message) => {
                return (
                    refuse(protocol, StatusCode::BAD_GATEWAY, &message),
                    Some((trace, protocol)),
                    None,
                )
            }
        };
        if let Some(chain) = &route.output {
            let mut done = mlsec_guard::answer::filter_body(chain, canary, &answer);
            note_output_hits(gw, &mut trace.record, &mut done.hits);
            if let Some(blocked) = done.blocked {
                return (
                    refuse(protocol, StatusCode::BAD_REQUEST, &blocked.to_string()),
                    Some((trace, protocol)),
                    None,
                );
            }
            if let Some(rewritten) = done.body {
                answer = Bytes::from(rewritten);
            }
        }
        if route.extraction.is_some() || route.harden.is_some() {
            if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&answer) {
                if let (Some(ex), Some(rows)) = (&route.extraction, &extraction_rows) {
                    let scores = mlsec_guard::tensor::outputs(&json);
                    if let Some(alert) = ex.monitor.observe(&principal.id, rows, scores.as_deref())
                    {
                        note_extraction(gw, &mut trace.record, ex, &alert);
                    }
                }
                if let Some(h) = route.harden {
                    if mlsec_guard::tensor::harden(&mut json, h) {
                        answer = serde_json::to_vec(&json).map_or(answer, Bytes::from);
                    }
                }
            }
        }
        full(answer)
    } else {
        match &route.output {
            // A stream is filtered as it passes.
            Some(chain) if sse => {
                filter = Some(mlsec_guard::answer::SseFilter::new(chain.clone(), canary));
            }
            _ => {}
        }
        upstream_body.map_err(BoxError::from).boxed_unsync()
    };
    let body = AuditedBody {
        inner: upstream_body,
        filter,
        gw: gw.clone(),
        trace: Some(trace),
        admission: Some(admission),
        limiter,
        usage: UsageScanner::new(sse, call.operation.counts_tokens()),
        keep_body: route.audit_bodies,
        kept: Vec::new(),
        deadline: Box::pin(tokio::time::sleep_until(deadline.into())),
        held: None,
        cut: None,
        finishing: None,
        upstream_seconds: upstream_ms,
        done: false,
    };
    (
        Response::from_parts(head, body.boxed_unsync()),
        None,
        Some(()),
    )
}

/// Longest answer read whole for the output guards.
const MAX_GUARDED_ANSWER: usize = 16 << 20;

/// A whole (not streamed) answer, read for the output guards.
async fn read_answer(body: Incoming, deadline: Instant) -> Result<Bytes, String> {
    let limited = Limited::new(body, MAX_GUARDED_ANSWER);
    match tokio::time::timeout_at(deadline.into(), limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) => Err(format!(
            "upstream answer not read for the output guards: {e}"
        )),
        Err(_) => Err("upstream answer exceeded the route's total timeout".into()),
    }
}

/// A fresh canary: 16 random hex digits.
fn new_canary() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: a canary an attacker could guess is no canary.
        return String::new();
    }
    hex::encode(bytes)
}

/// An extraction alert into the audit record and the metrics.
fn note_extraction(
    gw: &Gateway,
    record: &mut AuditRecord,
    ex: &crate::config::ConfiguredExtraction,
    alert: &mlsec_guard::extraction::Alert,
) {
    let action = ex.action_name();
    gw.metrics
        .guard_hits
        .get_or_create(&vec![
            ("guard", ex.name.clone()),
            ("action", action.to_string()),
        ])
        .inc();
    record.guards.push(serde_json::json!({
        "guard": ex.name, "stage": "extraction", "action": action,
        "rule": "MODEL_EXTRACTION", "family": "extraction", "test": alert.test,
        "value": (alert.value * 1000.0).round() / 1000.0, "queries": alert.queries,
    }));
}

/// Output guard hits into the audit record and the metrics.
fn note_output_hits(
    gw: &Gateway,
    record: &mut AuditRecord,
    hits: &mut Vec<mlsec_guard::output::OutputHit>,
) {
    for h in hits.drain(..) {
        let action = h.action.as_str();
        gw.metrics
            .guard_hits
            .get_or_create(&vec![
                ("guard", h.guard.clone()),
                ("action", action.to_string()),
            ])
            .inc();
        record.guards.push(serde_json::json!({
            "guard": h.guard, "stage": "output", "action": action, "rule": h.hit.rule,
            "family": h.hit.family, "location": h.hit.location, "start": h.hit.start,
            "end": h.hit.end, "score": h.hit.score,
        }));
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// `rest` of `path` below `prefix` ("" or starting with '/').
fn under_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/') || prefix.is_empty()).then_some(rest)
}

/// The API key from `Authorization: Bearer KEY` or `x-api-key: KEY`.
fn forward_headers(incoming: &HeaderMap, request_id: &str, client: &str) -> HeaderMap {
    let mut headers = incoming.clone();
    strip_hop_by_hop(&mut headers);
    // The gateway's credentials stay with the gateway.
    headers.remove(header::AUTHORIZATION);
    headers.remove("x-api-key");
    headers.remove(header::CONTENT_LENGTH);
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    let forwarded = match incoming
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(before) => format!("{before}, {client}"),
        None => client.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded) {
        headers.insert(HeaderName::from_static("x-forwarded-for"), v);
    }
    headers
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers the Connection header names are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    for h in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(h);
    }
}

fn rate_headers(headers: &mut HeaderMap, rate: &RateHeaders) {
    if let Some(v) = rate
        .policy
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(HeaderName::from_static("ratelimit-policy"), v);
    }
    if let Some(v) = rate
        .state
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(HeaderName::from_static("ratelimit"), v);
    }
}

/// Reads a request body of at most `limit` bytes within `timeout`.
async fn read_body(
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, (StatusCode, String)> {
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            format!("request body not received within {timeout:?}"),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {limit} bytes"),
        )),
        Ok(Err(e)) => Err((
            StatusCode::BAD_REQUEST,
            format!("request body could not be read: {e}"),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// The `model` (and `stream`) of an OpenAI request body.
pub fn body_model(body: &[u8]) -> Result<(String, bool), String> {
    #[derive(serde::Deserialize)]
    struct Head {
        model: Option<serde_json::Value>,
        #[serde(default)]
        stream: Option<serde_json::Value>,
    }
    if body.is_empty() {
        return Err("request body is empty; expected a JSON object".into());
    }
    let head: Head = serde_json::from_slice(body)
        .map_err(|e| format!("request body is not a JSON object: {e}"))?;
    let model = match head.model {
        Some(serde_json::Value::String(m)) if !m.is_empty() => m,
        Some(_) => return Err("`model` must be a non-empty string".into()),
        None => return Err("request has no `model`".into()),
    };
    let stream = matches!(head.stream, Some(serde_json::Value::Bool(true)));
    Ok((model, stream))
}

/// The upstream's answer on its way to the client. It counts bytes and
/// tokens, stops at the route's total timeout, and holds the last frame
/// until the request's audit record is committed, so a client never has a
/// complete answer that the log does not.
struct AuditedBody {
    inner: GatewayBody,
    /// The output guards of a streamed answer.
    filter: Option<mlsec_guard::answer::SseFilter>,
    gw: Arc<Gateway>,
    trace: Option<Trace>,
    admission: Option<Admission>,
    limiter: Arc<Limiter>,
    usage: UsageScanner,
    keep_body: bool,
    kept: Vec<u8>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    held: Option<Frame<Bytes>>,
    /// Set when the answer broke: the error the client gets after the record.
    cut: Option<String>,
    finishing: Option<Writing>,
    upstream_seconds: f64,
    done: bool,
}

/// An audit record on its way to the log.
type Writing = Pin<Box<dyn Future<Output = Result<u64, AuditError>> + Send>>;

/// Most bytes of an answer kept for the audit log of a route that keeps bodies.
const MAX_KEPT_BODY: usize = 1 << 20;

impl AuditedBody {
    fn count_upstream_error(&self, kind: &str) {
        let route = self.trace.as_ref().map_or("-".into(), |t| t.route.clone());
        self.gw
            .metrics
            .upstream_errors
            .get_or_create(&vec![("route", route), ("kind", kind.to_string())])
            .inc();
    }

    /// Adds `bytes` to the frame held back (the answer's last words).
    fn hold_more(&mut self, bytes: &[u8]) {
        let mut data = match self.held.take().map(Frame::into_data) {
            Some(Ok(d)) => d.to_vec(),
            _ => Vec::new(),
        };
        data.extend_from_slice(bytes);
        if self.keep_body && self.kept.len() < MAX_KEPT_BODY {
            self.kept.extend_from_slice(bytes);
        }
        self.held = Some(Frame::data(Bytes::from(data)));
    }

    /// An output guard blocked the stream: the client gets what went out
    /// before, then an error event, and the upstream is read no further.
    fn stop(&mut self, blocked: &mlsec_guard::output::Blocked) {
        let message = blocked.to_string();
        let event = serde_json::json!({"error": {"message": message, "type": "guard_blocked", "code": "output_blocked"}});
        self.hold_more(format!("data: {event}\n\n").as_bytes());
        if let Some(trace) = &mut self.trace {
            trace.record.decision = "block-output".into();
        }
        self.inner = Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed_unsync();
        self.finish(Some(&message));
    }

    /// Builds the final record and starts writing it.
    fn finish(&mut self, reason: Option<&str>) {
        let Some(mut trace) = self.trace.take() else {
            return;
        };
        let route = trace.route.clone();
        if let Some(filter) = &mut self.filter {
            note_output_hits(&self.gw, &mut trace.record, &mut filter.hits);
        }
        let tokens = self.usage.finish(trace.record.request_bytes);
        trace.record.prompt_tokens = tokens.prompt;
        trace.record.completion_tokens = tokens.completion;
        trace.record.total_tokens = tokens.total;
        trace.record.tokens_estimated = tokens.estimated;
        trace.record.response_bytes = self.usage.bytes;
        if let Some(reason) = reason {
            trace.record.reason = reason.to_string();
        }
        if self.keep_body {
            trace.record.response_body = Some(String::from_utf8_lossy(&self.kept).into_owned());
        }
        let elapsed = trace.start.elapsed().as_secs_f64();
        trace.record.latency_ms = elapsed * 1e3;
        let m = &self.gw.metrics;
        let status = StatusCode::from_u16(trace.record.status).unwrap_or(StatusCode::BAD_GATEWAY);
        count_request(&self.gw, &route, trace.record.operation.as_deref(), status);
        let labels = vec![("route", route.clone())];
        m.duration.get_or_create(&labels).observe(elapsed);
        m.overhead
            .get_or_create(&labels)
            .observe((elapsed - self.upstream_seconds).max(0.0));
        if let Some(p) = tokens.prompt {
            m.tokens
                .get_or_create(&vec![("route", route.clone()), ("kind", "prompt".into())])
                .inc_by(p);
        }
        if let Some(c) = tokens.completion {
            m.tokens
                .get_or_create(&vec![("route", route), ("kind", "completion".into())])
                .inc_by(c);
        }
        if let (Some(total), Some(admission)) = (tokens.total, self.admission.take()) {
            let limiter = self.limiter.clone();
            spawn_detached(async move { limiter.charge_tokens(&admission, total).await });
        }
        trace.span.finish(&trace.record);
        let gw = self.gw.clone();
        self.finishing = Some(Box::pin(async move { gw.audit.append(trace.record).await }));
    }
}

/// Runs `f` on the current runtime. A body dropped outside one (while the
/// runtime itself shuts down) cannot, and must not panic for it.
fn spawn_detached(f: impl Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(f);
        }
        Err(_) => tracing::warn!("runtime gone: a late audit write or token charge was dropped"),
    }
}

impl Drop for AuditedBody {
    fn drop(&mut self) {
        // The client went away (or the server is stopping) before the end:
        // the request is still recorded.
        if self.trace.is_some() {
            self.finish(Some("client disconnected before the answer ended"));
        }
        if let Some(f) = self.finishing.take() {
            if !self.done {
                let gw = self.gw.clone();
                spawn_detached(async move {
                    if f.await.is_err() {
                        gw.metrics.audit_failures.inc();
                    }
                });
            }
        }
    }
}

impl Body for AuditedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if let Some(f) = this.finishing.as_mut() {
                let result = std::task::ready!(f.as_mut().poll(cx));
                this.finishing = None;
                this.done = true;
                if let Err(e) = &result {
                    this.gw.metrics.audit_failures.inc();
                    tracing::error!("audit record not written: {e}");
                }
                // A broken answer stays broken; a whole one ends only once
                // its record is written, or is cut when it cannot be.
                if let Some(message) = this.cut.take() {
                    return Poll::Ready(Some(Err(message.into())));
                }
                return match result {
                    Ok(_) => Poll::Ready(this.held.take().map(Ok)),
                    Err(_) if this.gw.settings().config.audit.fail_open => {
                        Poll::Ready(this.held.take().map(Ok))
                    }
                    Err(e) => Poll::Ready(Some(Err(format!("audit log unavailable: {e}").into()))),
                };
            }
            if this.deadline.as_mut().poll(cx).is_ready() {
                this.count_upstream_error("total-timeout");
                this.held = None;
                this.finish(Some("upstream answer exceeded the route's total timeout"));
                this.cut = Some("upstream answer exceeded the total timeout".into());
                continue;
            }
            match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(mut frame)) => {
                    if let Some(data) = frame.data_ref() {
                        this.usage.feed(data);
                        if let Some(filter) = &mut this.filter {
                            match filter.feed(data) {
                                Ok(out) if out.is_empty() => continue,
                                Ok(out) => frame = Frame::data(Bytes::from(out)),
                                Err(blocked) => {
                                    this.stop(&blocked);
                                    continue;
                                }
                            }
                        }
                        if let Some(data) = frame.data_ref() {
                            if this.keep_body && this.kept.len() < MAX_KEPT_BODY {
                                let room = MAX_KEPT_BODY - this.kept.len();
                                this.kept
                                    .extend_from_slice(data.get(..room).unwrap_or(data));
                            }
                        }
                    }
                    // Hold one frame back: the last one goes out after the record.
                    if let Some(previous) = this.held.replace(frame) {
                        return Poll::Ready(Some(Ok(previous)));
                    }
                }
                Some(Err(e)) => {
                    let message = format!("upstream answer broke off: {e}");
                    this.count_upstream_error("body");
                    this.held = None;
                    this.finish(Some(&message));
                    this.cut = Some(message);
                }
                None => {
                    let rest = match this.filter.as_mut().map(|f| f.finish()) {
                        Some(Ok(rest)) => rest,
                        Some(Err(blocked)) => {
                            this.stop(&blocked);
                            continue;
                        }
                        None => Vec::new(),
                    };
                    if !rest.is_empty() {
                        this.hold_more(&rest);
                    }
                    this.finish(None);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// Runs the gateway until SIGTERM or Ctrl-C; SIGHUP reloads `config_path`.
pub async fn serve(
    gw: Arc<Gateway>,
    config_path: std::path::PathBuf,
    ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> Result<(), GatewayError> {
    let server = gw.settings().config.server.clone();
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .map_err(|e| GatewayError::Io(format!("cannot listen on {}: {e}", server.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| GatewayError::Io(e.to_string()))?;
    let scheme = if server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!("mlsec gateway listening on {scheme}://{local}");
    if let Some(ready) = ready {
        let _ = ready.send(local);
    }
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(server.header_timeout)
        .max_buf_size(server.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(server.max_header_bytes as u32)
        .max_concurrent_streams(256);
    let builder = Arc::new(builder);
    let mut hangup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut keys_tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not spin.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let tls = gw.settings().config.server.tls.clone();
                let (gw, builder, watcher) = (gw.clone(), builder.clone(), graceful.watcher());
                let handshake_timeout = server.header_timeout;
                tokio::spawn(async move {
                    let Some(tls) = tls else {
                        return serve_connection(&builder, watcher, TokioIo::new(stream), gw, peer, None).await;
                    };
                    // A client that stalls the handshake is cut like one
                    // that stalls its headers.
                    let stream = match tokio::time::timeout(handshake_timeout, tls.acceptor.accept(stream)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            gw.metrics.tls_failures.inc();
                            tracing::debug!("TLS handshake with {peer} failed: {e}");
                            return;
                        }
                        Err(_) => {
                            gw.metrics.tls_failures.inc();
                            return;
                        }
                    };
                    let cert = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .and_then(|leaf| crate::tls::client_cert(leaf))
                        .map(Arc::new);
                    serve_connection(&builder, watcher, TokioIo::new(stream), gw, peer, cert).await
                });
            }
            _ = hangup.recv() => {
                match gw.reload(&config_path) {
                    Ok(()) => tracing::info!("config {} reloaded", config_path.display()),
                    Err(e) => tracing::error!("config not reloaded, the old one keeps serving: {e}"),
                }
            }
            _ = keys_tick.tick() => {
                gw.refresh_keys();
                if let Some(jwt) = gw.settings().config.jwt.clone().filter(|j| j.due()) {
                    tokio::spawn(async move { jwt.refresh_if_due().await });
                }
            }
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("draining connections (at most {:?})", server.drain_timeout);
    gw.start_draining();
    drop(listener);
    if tokio::time::timeout(server.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open after {:?}; closing them",
            server.drain_timeout
        );
    }
    Ok(())
}

/// Serves one accepted connection (plain or TLS) until it closes or the
/// gateway drains. A verified client certificate rides along with each
/// request in its extensions.
async fn serve_connection<I>(
    builder: &hyper_util::server::conn::auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    io: TokioIo<I>,
    gw: Arc<Gateway>,
    peer: SocketAddr,
    cert: Option<Arc<crate::tls::ClientCert>>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        if let Some(c) = &cert {
            req.extensions_mut().insert(c.clone());
        }
        let gw = gw.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(gw, req, peer).await) }
    });
    let connection = builder
        .serve_connection_with_upgrades(io, service)
        .into_owned();
    let _ = watcher.watch(connection).await;
}

fn signal(
    kind: tokio::signal::unix::SignalKind,
) -> Result<tokio::signal::unix::Signal, GatewayError> {
    tokio::signal::unix::signal(kind)
        .map_err(|e| GatewayError::Io(format!("cannot watch signals: {e}")))
}
