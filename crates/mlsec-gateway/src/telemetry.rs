//! OpenTelemetry traces (cargo feature `otel`): one server span per request,
//! continued from the client's `traceparent` and handed on to the upstream
//! in W3C Trace Context, exported over OTLP/HTTP. The span ends where the
//! request's audit record is written, and carries the same facts. Without
//! the feature every call here is a no-op the compiler removes.

use crate::audit::AuditRecord;
use http::HeaderMap;

/// `[telemetry]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub endpoint: String,
    pub service_name: String,
    /// Share of traces started here that are kept (a parent's decision wins).
    pub sample_ratio: f64,
}

/// Whether this build can export traces.
pub const ENABLED: bool = cfg!(feature = "otel");

#[cfg(feature = "otel")]
mod imp {
    use super::*;
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::{
        SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _,
    };
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_http::{HeaderExtractor, HeaderInjector};
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracerProvider};

    pub struct Telemetry {
        provider: SdkTracerProvider,
        tracer: opentelemetry_sdk::trace::SdkTracer,
        propagator: TraceContextPropagator,
    }

    pub struct RequestSpan {
        cx: Option<Context>,
    }

    impl Telemetry {
        pub fn new(s: &Settings) -> Result<Telemetry, String> {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(&s.endpoint)
                .with_timeout(std::time::Duration::from_secs(5))
                .build()
                .map_err(|e| format!("OTLP exporter: {e}"))?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(s.service_name.clone())
                .build();
            let provider = SdkTracerProvider::builder()
                .with_span_processor(BatchSpanProcessor::builder(exporter).build())
                .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                    s.sample_ratio,
                ))))
                .with_resource(resource)
                .build();
            let tracer = provider.tracer("mlsec-gateway");
            Ok(Telemetry {
                provider,
                tracer,
                propagator: TraceContextPropagator::new(),
            })
        }

        pub fn start(&self, headers: &HeaderMap, method: &str) -> RequestSpan {
            let parent = self.propagator.extract(&HeaderExtractor(headers));
            let span = self
                .tracer
                .span_builder(method.to_string())
                .with_kind(SpanKind::Server)
                .start_with_context(&self.tracer, &parent);
            RequestSpan {
                cx: Some(parent.with_span(span)),
            }
        }

        pub fn inject(&self, span: &RequestSpan, headers: &mut HeaderMap) {
            if let Some(cx) = &span.cx {
                self.propagator
                    .inject_context(cx, &mut HeaderInjector(headers));
            }
        }

        /// Sends what is buffered; called at shutdown.
        pub fn shutdown(&self) {
            let _ = self.provider.shutdown();
        }
    }

    impl RequestSpan {
        pub fn none() -> RequestSpan {
            RequestSpan { cx: None }
        }

        pub fn finish(&mut self, r: &AuditRecord) {
            let Some(cx) = self.cx.take() else { return };
            let span = cx.span();
            let route = r.route.as_deref().unwrap_or("-");
            span.update_name(format!("{} {route}", r.method));
            let mut attributes = vec![
                KeyValue::new("http.request.method", r.method.clone()),
                KeyValue::new("url.path", r.path.clone()),
                KeyValue::new("http.response.status_code", i64::from(r.status)),
                KeyValue::new("http.route", route.to_string()),
                KeyValue::new("client.address", r.client.clone()),
                KeyValue::new("mlsec.request_id", r.request_id.clone()),
                KeyValue::new("mlsec.decision", r.decision.clone()),
            ];
            let optional = [
                ("mlsec.principal", &r.principal),
                ("mlsec.operation", &r.operation),
                ("gen_ai.request.model", &r.model),
            ];
            for (name, value) in optional {
                if let Some(v) = value {
                    attributes.push(KeyValue::new(name, v.clone()));
                }
            }
            if let Some(t) = r.prompt_tokens {
                attributes.push(KeyValue::new("gen_ai.usage.input_tokens", t as i64));
            }
            if let Some(t) = r.completion_tokens {
                attributes.push(KeyValue::new("gen_ai.usage.output_tokens", t as i64));
            }
            if !r.reason.is_empty() {
                attributes.push(KeyValue::new("mlsec.reason", r.reason.clone()));
            }
            if let Some(ms) = r.upstream_ms {
                attributes.push(KeyValue::new("mlsec.upstream_ms", ms));
            }
            span.set_attributes(attributes);
            if r.status >= 500 {
                span.set_status(Status::error(r.reason.clone()));
            }
            span.end();
        }
    }
}

#[cfg(not(feature = "otel"))]
mod imp {
    use super::*;

    pub struct Telemetry;
    pub struct RequestSpan;

    impl Telemetry {
        pub fn new(_: &Settings) -> Result<Telemetry, String> {
            Err("this mlsec was built without OpenTelemetry; rebuild with `--features otel`".into())
        }
        pub fn start(&self, _: &HeaderMap, _: &str) -> RequestSpan {
            RequestSpan
        }
        pub fn inject(&self, _: &RequestSpan, _: &mut HeaderMap) {}
        pub fn shutdown(&self) {}
    }

    impl RequestSpan {
        pub fn none() -> RequestSpan {
            RequestSpan
        }
        pub fn finish(&mut self, _: &AuditRecord) {}
    }
}

pub use imp::{RequestSpan, Telemetry};
