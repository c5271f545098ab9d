//! A stand-in model server for trying the gateway and for its tests
//! (`mlsec gateway mock-upstream`): OpenAI-compatible (chat with SSE
//! streaming, completions, embeddings, models) and KServe v2 in one, with
//! slow, failing and disconnecting modes chosen by the model name:
//! - `slow-*`: waits 3 s before answering;
//! - `fail-*`: answers 500;
//! - `drop-*`: streams two events and then drops the connection;
//! - `drip-*`: streams 10 events 100 ms apart;
//! - anything else: answers at once.
//!
//! Every request it receives is counted, and the last request's headers kept.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

#[derive(Default)]
pub struct Seen {
    pub requests: AtomicUsize,
    pub last_headers: Mutex<Option<http::HeaderMap>>,
    pub last_path: Mutex<Option<String>>,
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
}

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

fn json(status: StatusCode, v: serde_json::Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}

async fn answer(req: Request<Incoming>, seen: Arc<Seen>) -> Response<Body> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    *seen.last_headers.lock().unwrap_or_else(|p| p.into_inner()) = Some(req.headers().clone());
    let path = req.uri().path().to_string();
    *seen.last_path.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.clone());
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let field = |k: &str| v.get(k).cloned().unwrap_or_default();
    let model = field("model")
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| path.split('/').nth(3).unwrap_or("").to_string());
    if model.starts_with("slow-") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    if model.starts_with("fail-") {
        return json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": {"message": "upstream broke"}}),
        );
    }
    match (method.as_str(), path.as_str()) {
        ("GET", "/v1/models") => json(
            StatusCode::OK,
            serde_json::json!({"object": "list", "data": [{"id": "test-model", "object": "model"}]}),
        ),
        ("POST", "/v1/chat/completions") if field("stream") == true => stream(&model),
        ("POST", "/v1/completions") => json(
            StatusCode::OK,
            serde_json::json!({
                "id": "cmpl-1", "object": "text_completion", "model": model,
                "choices": [{"index": 0, "text": " world.", "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
            }),
        ),
        ("POST", "/v1/chat/completions") => json(
            StatusCode::OK,
            serde_json::json!({
                "id": "chatcmpl-1", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there."}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
            }),
        ),
        ("POST", "/v1/embeddings") => json(
            StatusCode::OK,
            serde_json::json!({
                "object": "list", "model": model,
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
                "usage": {"prompt_tokens": 4, "total_tokens": 4}
            }),
        ),
        ("POST", p) if p.starts_with("/v2/models/") && p.ends_with("/infer") => json(
            StatusCode::OK,
            serde_json::json!({
                "model_name": model, "id": field("id"),
                "outputs": [{"name": "output0", "shape": [1], "datatype": "INT64", "data": [1]}]
            }),
        ),
        ("GET", p) if p.starts_with("/v2/models/") => json(
            StatusCode::OK,
            serde_json::json!({"name": model, "platform": "test", "inputs": [], "outputs": []}),
        ),
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": format!("no {path}")}),
        ),
    }
}

fn stream(model: &str) -> Response<Body> {
    let (events, gap, drop_after) = if model.starts_with("drip-") {
        (10, Duration::from_millis(100), None)
    } else if model.starts_with("drop-") {
        (10, Duration::from_millis(50), Some(2))
    } else {
        (5, Duration::ZERO, None)
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
    tokio::spawn(async move {
        for i in 0..events {
            if drop_after == Some(i) {
                let _ = tx
                    .send(Err(std::io::Error::other("upstream went away")))
                    .await;
                return;
            }
            let chunk = format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}}}}]}}\n\n"
            );
            if tx.send(Ok(Frame::data(Bytes::from(chunk)))).await.is_err() {
                return;
            }
            tokio::time::sleep(gap).await;
        }
        let _ = tx
            .send(Ok(Frame::data(Bytes::from_static(b"data: [DONE]\n\n"))))
            .await;
    });
    let mut r = Response::new(BodyExt::boxed(ChannelBody(rx)));
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("text/event-stream"),
    );
    r
}

/// A body fed frame by frame from a channel, so events leave as they are made.
struct ChannelBody(tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx)
    }
}

/// Starts the mock upstream on `addr` (port 0: a free port).
pub async fn start(addr: SocketAddr) -> std::io::Result<Upstream> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let seen = s.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let seen = seen.clone();
                    async move { Ok::<_, Infallible>(answer(req, seen).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Upstream { addr, seen })
}
