//! Prometheus metrics, served at `/metrics` in the text exposition format.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

fn latency() -> Histogram {
    // 50 µs to about 26 s.
    Histogram::new(exponential_buckets(0.00005, 2.0, 20))
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<Labels, Counter>,
    pub duration: Family<Labels, Histogram, fn() -> Histogram>,
    pub upstream_duration: Family<Labels, Histogram, fn() -> Histogram>,
    pub overhead: Family<Labels, Histogram, fn() -> Histogram>,
    pub authn_failures: Family<Labels, Counter>,
    pub authz_denials: Family<Labels, Counter>,
    pub limit_refusals: Family<Labels, Counter>,
    pub guard_hits: Family<Labels, Counter>,
    pub upstream_errors: Family<Labels, Counter>,
    pub tokens: Family<Labels, Counter>,
    pub audit_queue: Gauge,
    pub audit_failures: Counter,
    pub limiter_failures: Counter,
    pub limiter_fallbacks: Gauge,
    pub config_reloads: Family<Labels, Counter>,
    pub tls_failures: Counter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mlsec_gateway");
        let requests = Family::<Labels, Counter>::default();
        let duration = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency as fn() -> Histogram,
        );
        let upstream_duration =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency as fn() -> Histogram,
            );
        let overhead = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency as fn() -> Histogram,
        );
        let m = Metrics {
            requests,
            duration,
            upstream_duration,
            overhead,
            authn_failures: Family::default(),
            authz_denials: Family::default(),
            limit_refusals: Family::default(),
            guard_hits: Family::default(),
            upstream_errors: Family::default(),
            tokens: Family::default(),
            audit_queue: Gauge::default(),
            audit_failures: Counter::default(),
            limiter_failures: Counter::default(),
            limiter_fallbacks: Gauge::default(),
            tls_failures: Counter::default(),
            config_reloads: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "requests",
            "Requests answered, by route, operation and status",
            m.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from request to the end of the answer, by route",
            m.duration.clone(),
        );
        registry.register(
            "upstream_duration_seconds",
            "Time the upstream took to send its answer's headers, by route",
            m.upstream_duration.clone(),
        );
        registry.register(
            "overhead_seconds",
            "The gateway's own time per request (request time minus upstream time), by route",
            m.overhead.clone(),
        );
        registry.register(
            "authn_failures",
            "Requests refused for their credentials, by reason",
            m.authn_failures.clone(),
        );
        registry.register(
            "authz_denials",
            "Requests refused by authorization, by route",
            m.authz_denials.clone(),
        );
        registry.register(
            "limit_refusals",
            "Requests refused by a limit, by limit and kind",
            m.limit_refusals.clone(),
        );
        registry.register(
            "guard_hits",
            "Guard decisions that flagged or blocked, by guard",
            m.guard_hits.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream failures, by route and kind",
            m.upstream_errors.clone(),
        );
        registry.register(
            "tokens",
            "Tokens used, by route and kind (prompt, completion)",
            m.tokens.clone(),
        );
        registry.register(
            "audit_queue_depth",
            "Audit records waiting to be written",
            m.audit_queue.clone(),
        );
        registry.register(
            "audit_failures",
            "Requests whose audit record could not be written",
            m.audit_failures.clone(),
        );
        registry.register(
            "limiter_failures",
            "Requests the shared (Redis) limiter could not judge",
            m.limiter_failures.clone(),
        );
        registry.register(
            "limiter_fallbacks",
            "Requests judged by local counters because Redis could not be reached",
            m.limiter_fallbacks.clone(),
        );
        registry.register(
            "config_reloads",
            "Config reloads, by result",
            m.config_reloads.clone(),
        );
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out (bad or missing client certificates included)",
            m.tls_failures.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
