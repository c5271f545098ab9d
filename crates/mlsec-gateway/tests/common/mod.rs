//! The in-process harness the gateway's integration tests share: a gateway
//! on a free port in front of the test upstream, a key, and helpers to call
//! it and read its audit log back.
#![allow(dead_code)] // each test binary uses part of it

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mlsec_gateway::keys::{self, NewKey};
use mlsec_gateway::mock as upstream;
use mlsec_gateway::{Config, Gateway};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub gw: Arc<Gateway>,
    pub key: String,
    pub config_path: PathBuf,
    pub upstream: upstream::Upstream,
}

/// A gateway with `extra` config appended to routes for the test upstream
/// (`{upstream}` in `extra` is its address).
pub async fn start(extra: &str) -> Harness {
    start_with(extra, &[]).await
}

/// A gateway whose folder also holds `files` (name, text).
pub async fn start_with(extra: &str, files: &[(&str, &str)]) -> Harness {
    start_full("", extra, files).await
}

/// ... with `server` added to the `[server]` section.
pub async fn start_full(server: &str, extra: &str, files: &[(&str, &str)]) -> Harness {
    let upstream = upstream::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = extra.replace("{upstream}", &upstream.addr.to_string());
    // A test that brings its own [audit] section replaces this one.
    let audit = if extra.contains("[audit]") {
        ""
    } else {
        "[audit]\nsqlite = \"audit.db\""
    };
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
header_timeout = "1s"
body_timeout = "1s"
{server}

{audit}

[[route]]
name = "llm"
protocol = "openai"
upstream = "http://{up}"
first_byte_timeout = "1s"
max_body = "64KiB"

[[route]]
name = "tabular"
protocol = "kserve-v2"
upstream = "http://{up}"
models = ["iris", "slow-*"]
first_byte_timeout = "1s"
{extra}
"#,
        up = upstream.addr
    );
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(&config_path, text).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let (_, key) = keys::create(
        &dir.path().join("keys.json"),
        &NewKey {
            owner: "alice".into(),
            groups: vec!["ml".into()],
            ..NewKey::default()
        },
    )
    .unwrap();
    let config = Config::load(&config_path).unwrap();
    let gw = Arc::new(Gateway::new(config).unwrap());
    let (ready, addr) = tokio::sync::oneshot::channel();
    tokio::spawn(mlsec_gateway::server::serve(
        gw.clone(),
        config_path.clone(),
        Some(ready),
    ));
    let addr = addr.await.unwrap();
    Harness {
        dir,
        addr,
        gw,
        key,
        config_path,
        upstream,
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
    pub text: String,
}

pub async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> Answer {
    call_raw(
        addr,
        method,
        path,
        key,
        body.unwrap_or("").as_bytes().to_vec(),
    )
    .await
}

pub async fn call_raw(
    addr: SocketAddr,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let req = req.body(Full::new(Bytes::from(body))).unwrap();
    let response = client.request(req).await.unwrap();
    let (head, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status: head.status,
        headers: head.headers,
        body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        text,
    }
}

pub const CHAT: &str = r#"{"model":"test-model","messages":[{"role":"user","content":"hi"}]}"#;

/// Every record in the harness's audit log, after checking the chain.
pub fn records(h: &Harness) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    let sink = h.gw.settings().config.audit.sink.clone();
    let evidence = mlsec_gateway::audit::verify_with(&sink, None, |r| {
        all.push(r.record.clone());
        Ok(())
    })
    .unwrap();
    assert!(
        evidence.findings.is_empty(),
        "chain broken: {:?}",
        evidence.findings
    );
    all
}
