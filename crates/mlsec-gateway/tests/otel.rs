//! OpenTelemetry (feature `otel`): a request's span continues the client's
//! trace, reaches an OTLP/HTTP receiver with the audit record's facts, and
//! the upstream gets a traceparent under it.
#![cfg(feature = "otel")]

mod common;

use common::*;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Collects the bodies POSTed to it (OTLP/HTTP protobuf).
async fn receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let kept = kept.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let kept = kept.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            if path == "/v1/traces" {
                                kept.lock().unwrap().push(body.to_vec());
                            }
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                bytes::Bytes::new(),
                            )))
                        }
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (addr, got)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_continue_the_callers_trace_and_reach_the_collector() {
    let (collector, got) = receiver().await;
    let h = start(&format!(
        "[telemetry]\notlp_endpoint = \"http://{collector}/v1/traces\"\nservice_name = \"gw-under-test\"\n"
    ))
    .await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let req = http::Request::post(format!("http://{}/v1/chat/completions", h.addr))
        .header("authorization", format!("Bearer {}", h.key))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .body(Full::new(bytes::Bytes::from(CHAT)))
        .unwrap();
    let response = client.request(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.unwrap();
    // The upstream got our trace id with the gateway's span as parent.
    let upstream = h
        .upstream
        .seen
        .last_headers
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    let traceparent = upstream["traceparent"].to_str().unwrap().to_string();
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent}"
    );
    assert!(
        !traceparent.contains("00f067aa0ba902b7"),
        "a new span, not the caller's"
    );
    // A refusal is traced too.
    let a = call(
        h.addr,
        Method::POST,
        "/v1/chat/completions",
        None,
        Some(CHAT),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    h.gw.telemetry.as_ref().unwrap().shutdown();
    let mut exported = Vec::new();
    for _ in 0..50 {
        exported = got.lock().unwrap().concat();
        if !exported.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!exported.is_empty(), "nothing reached the collector");
    let raw_trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert!(contains(&exported, &raw_trace_id), "the caller's trace id");
    for text in [
        "gw-under-test",
        "POST llm",
        "mlsec.principal",
        "gen_ai.request.model",
        "test-model",
        "deny",
        "missing API key",
    ] {
        assert!(contains(&exported, text.as_bytes()), "{text} not exported");
    }
}

#[test]
fn telemetry_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.toml");
    std::fs::write(
        &path,
        "[telemetry]\notlp_endpoint = \"udp://x\"\n[[route]]\nprotocol = \"openai\"\nupstream = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let e = mlsec_gateway::Config::load(&path).unwrap_err().to_string();
    assert!(e.contains("telemetry.otlp_endpoint"), "{e}");
}
