//! A model behind an HTTP endpoint, as a [`Model`]: the KServe / Triton
//! Open Inference Protocol v2 (`POST .../v2/models/NAME/infer`) or TF
//! Serving / KServe v1 (`POST .../v1/models/NAME:predict`).
//!
//! Every request counts against a query budget for the whole run (one
//! query per row), goes out no faster than a rate limit, and is retried
//! with backoff when the endpoint is unreachable, answers 429 (after its
//! `Retry-After`) or 5xx. Answers are read up to a size limit and must be
//! one row of numbers per row asked; anything else is an error naming the
//! URL, and what was answered before stays (the caller marks its result
//! partial).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mlsec_model::{check_rows, Model, ModelError, Output};
use serde_json::{json, Value};

/// Largest answer read, in bytes.
const MAX_ANSWER_BYTES: u64 = 64 << 20;

/// How the endpoint is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Open Inference Protocol v2: `{"inputs": [{"name", "shape", "datatype", "data"}]}`.
    KServeV2,
    /// TF Serving / KServe v1: `{"instances": [[...], ...]}` to `URL:predict`.
    TfServing,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "kserve-v2" | "v2" | "triton" => Some(Protocol::KServeV2),
            "tf-serving" | "v1" | "kserve-v1" => Some(Protocol::TfServing),
            _ => None,
        }
    }
}

/// Settings of an [`Endpoint`].
#[derive(Debug, Clone)]
pub struct EndpointOptions {
    /// The model's URL: `http://host:8000/v2/models/iris` (v2) or
    /// `http://host:8501/v1/models/iris` (v1).
    pub url: String,
    pub protocol: Protocol,
    /// Features per row (the data's feature columns).
    pub features: usize,
    /// Class labels in the order of the scores (default: 0, 1, ...).
    pub classes: Vec<String>,
    /// The v2 input tensor's name (default: from the model's metadata, else
    /// `input-0`).
    pub input_name: Option<String>,
    /// Extra headers (authorization).
    pub headers: Vec<(String, String)>,
    /// Per request.
    pub timeout: Duration,
    /// Tries after the first.
    pub retries: u32,
    /// Requests per second at most.
    pub rate: Option<f64>,
    /// Queries (rows) for the whole run at most.
    pub max_queries: Option<u64>,
    /// Rows per request at most.
    pub batch: usize,
}

impl EndpointOptions {
    pub fn new(url: String, protocol: Protocol, features: usize) -> EndpointOptions {
        EndpointOptions {
            url,
            protocol,
            features,
            classes: Vec::new(),
            input_name: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            retries: 2,
            rate: None,
            max_queries: None,
            batch: 64,
        }
    }
}

/// A model behind an HTTP endpoint.
pub struct Endpoint {
    opts: EndpointOptions,
    agent: ureq::Agent,
    classes: Vec<String>,
    width: Option<usize>,
    input_name: String,
    used: AtomicU64,
    /// When the next request may go out (the rate limit).
    next: Mutex<Instant>,
}

impl Endpoint {
    /// Connects to the endpoint: for v2, reads the model's metadata for the
    /// input's name, and asks one row to learn the number of scores.
    pub fn connect(opts: EndpointOptions) -> Result<Endpoint, ModelError> {
        if opts.features == 0 || opts.batch == 0 {
            return Err(ModelError::Input(format!(
                "{}: no features or a batch of 0",
                opts.url
            )));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let mut endpoint = Endpoint {
            input_name: opts.input_name.clone().unwrap_or_else(|| "input-0".into()),
            classes: opts.classes.clone(),
            width: None,
            agent,
            used: AtomicU64::new(0),
            next: Mutex::new(Instant::now()),
            opts,
        };
        if endpoint.opts.protocol == Protocol::KServeV2 && endpoint.opts.input_name.is_none() {
            if let Ok(meta) = endpoint.request("GET", &endpoint.opts.url.clone(), None) {
                if let Some(name) = meta.pointer("/inputs/0/name").and_then(Value::as_str) {
                    endpoint.input_name = name.to_string();
                }
            }
        }
        // One row tells how many scores the model answers.
        let probe = vec![0.0f32; endpoint.opts.features];
        let scores = endpoint.call(&probe, 1)?;
        let width = scores.len();
        if width == 0 {
            return Err(ModelError::Runtime(format!(
                "{}: answered no scores",
                endpoint.opts.url
            )));
        }
        if endpoint.classes.is_empty() {
            endpoint.classes = (0..width).map(|i| i.to_string()).collect();
        } else if endpoint.classes.len() != width {
            return Err(ModelError::Input(format!(
                "{}: {} classes given, and the endpoint answers {width} scores per row",
                endpoint.opts.url,
                endpoint.classes.len()
            )));
        }
        endpoint.width = Some(width);
        Ok(endpoint)
    }

    /// Queries sent so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn wait_for_rate(&self) {
        let Some(rate) = self.opts.rate.filter(|r| *r > 0.0) else {
            return;
        };
        let gap = Duration::from_secs_f64(1.0 / rate);
        let wait = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + gap;
            at.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    fn with_headers<B>(&self, mut req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        for (k, v) in &self.opts.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req
    }

    /// One request, retried; the answer as JSON.
    fn request(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Value, ModelError> {
        let mut attempt = 0;
        loop {
            self.wait_for_rate();
            let sent = match (method, body) {
                ("GET", _) => self.with_headers(self.agent.get(url)).call(),
                (_, Some(b)) => self.with_headers(self.agent.post(url)).send_json(b),
                (_, None) => self.with_headers(self.agent.post(url)).send_empty(),
            };
            let retry_after = match sent {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    if status == 200 {
                        return resp
                            .body_mut()
                            .with_config()
                            .limit(MAX_ANSWER_BYTES)
                            .read_json::<Value>()
                            .map_err(|e| {
                                ModelError::Runtime(format!(
                                    "{url}: an answer that is not JSON ({e})"
                                ))
                            });
                    }
                    let transient = status == 429 || status >= 500;
                    if !transient || attempt >= self.opts.retries {
                        let text = resp
                            .body_mut()
                            .with_config()
                            .limit(4096)
                            .read_to_string()
                            .unwrap_or_default();
                        let text: String = text.chars().take(200).collect();
                        return Err(ModelError::Runtime(format!(
                            "{url}: HTTP {status}: {}",
                            text.trim()
                        )));
                    }
                    resp.headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s.min(60)))
                }
                Err(ureq::Error::Timeout(_)) if attempt >= self.opts.retries => {
                    return Err(ModelError::Timeout(format!(
                        "{url}: no answer within {:?}",
                        self.opts.timeout
                    )));
                }
                Err(e) if attempt >= self.opts.retries => {
                    return Err(ModelError::Runtime(format!("{url}: {e}")));
                }
                Err(_) => None,
            };
            attempt += 1;
            let backoff = Duration::from_millis(200 * (1 << attempt.min(6)));
            std::thread::sleep(retry_after.unwrap_or(backoff));
        }
    }

    /// The scores of `n` rows, as one flat list.
    fn call(&self, rows: &[f32], n: usize) -> Result<Vec<f32>, ModelError> {
        let url = &self.opts.url;
        if let Some(max) = self.opts.max_queries {
            let before = self.used.fetch_add(n as u64, Ordering::Relaxed);
            if before + n as u64 > max {
                return Err(ModelError::Runtime(format!(
                    "{url}: the query budget of {max} is spent"
                )));
            }
        } else {
            self.used.fetch_add(n as u64, Ordering::Relaxed);
        }
        let answer = match self.opts.protocol {
            Protocol::KServeV2 => {
                let body = json!({"inputs": [{
                    "name": self.input_name,
                    "shape": [n, self.opts.features],
                    "datatype": "FP32",
                    "data": rows,
                }]});
                let infer = format!("{}/infer", url.trim_end_matches('/'));
                let v = self.request("POST", &infer, Some(&body))?;
                v.pointer("/outputs/0/data").cloned().ok_or_else(|| {
                    ModelError::Runtime(format!("{infer}: no outputs[0].data in the answer"))
                })?
            }
            Protocol::TfServing => {
                let instances: Vec<&[f32]> = rows.chunks_exact(self.opts.features).collect();
                let predict = format!("{}:predict", url.trim_end_matches('/'));
                let v = self.request("POST", &predict, Some(&json!({"instances": instances})))?;
                v.get("predictions").cloned().ok_or_else(|| {
                    ModelError::Runtime(format!("{predict}: no predictions in the answer"))
                })?
            }
        };
        let mut flat = Vec::new();
        flatten(&answer, &mut flat, 0).map_err(|e| ModelError::Runtime(format!("{url}: {e}")))?;
        if flat.is_empty() || flat.len() % n != 0 {
            return Err(ModelError::Runtime(format!(
                "{url}: {} numbers for {n} rows",
                flat.len()
            )));
        }
        if let Some(w) = self.width {
            if flat.len() != n * w {
                return Err(ModelError::Runtime(format!(
                    "{url}: {} numbers for {n} rows of {w} scores",
                    flat.len()
                )));
            }
        }
        Ok(flat)
    }
}

/// Numbers of a JSON array, nested or flat, in order.
fn flatten(v: &Value, out: &mut Vec<f32>, depth: usize) -> Result<(), String> {
    if depth > 4 {
        return Err("an answer nested too deep".into());
    }
    match v {
        Value::Number(n) => {
            let x = n.as_f64().ok_or("a number out of range")? as f32;
            if !x.is_finite() {
                return Err("a score that is not finite".into());
            }
            out.push(x);
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|i| flatten(i, out, depth + 1)),
        other => Err(format!("a score that is not a number: {}", truncate(other))),
    }
}

fn truncate(v: &Value) -> String {
    v.to_string().chars().take(60).collect()
}

impl Model for Endpoint {
    fn name(&self) -> &str {
        &self.opts.url
    }

    fn features(&self) -> usize {
        self.opts.features
    }

    fn classes(&self) -> &[String] {
        &self.classes
    }

    fn output(&self) -> Output {
        Output::Probabilities
    }

    fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
        let n = check_rows(self, rows)?;
        let mut out = Vec::with_capacity(n * self.width());
        for chunk in rows.chunks(self.opts.batch * self.opts.features) {
            let m = chunk.len() / self.opts.features;
            out.extend(self.call(chunk, m)?);
        }
        Ok(out)
    }
}
