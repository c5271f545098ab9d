//! The model-serving protocols the gateway speaks: which operation a request
//! is, which model it is for, and how each protocol words an error.

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// OpenAI-compatible: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models.
    Openai,
    /// KServe / Triton Open Inference Protocol v2: /v2/models/{name}[/versions/{v}]/infer, ...
    KserveV2,
    /// TF Serving / KServe v1: /v1/models/{name}[/versions/{v}]:predict, ...
    KserveV1,
    /// Any JSON API: POST is inference, GET is metadata.
    Json,
}

/// What a request asks the model server to do; the authorization action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    Chat,
    Complete,
    Embed,
    Infer,
    Metadata,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Chat => "chat",
            Operation::Complete => "complete",
            Operation::Embed => "embed",
            Operation::Infer => "infer",
            Operation::Metadata => "metadata",
        }
    }

    /// Calls that count tokens (LLM generation and embedding).
    pub fn counts_tokens(self) -> bool {
        matches!(
            self,
            Operation::Chat | Operation::Complete | Operation::Embed
        )
    }
}

/// A request as its protocol reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub operation: Operation,
    /// The model named by the path (KServe, TF Serving); OpenAI names it in the body.
    pub path_model: Option<String>,
    /// The model is in the JSON body's `model` field (OpenAI POSTs).
    pub model_in_body: bool,
}

impl Protocol {
    pub fn default_prefix(self) -> &'static str {
        match self {
            Protocol::Openai => "/v1",
            Protocol::KserveV2 => "/v2",
            Protocol::KserveV1 => "/v1/models",
            Protocol::Json => "/",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Openai => "openai",
            Protocol::KserveV2 => "kserve-v2",
            Protocol::KserveV1 => "kserve-v1",
            Protocol::Json => "json",
        }
    }

    /// Reads `rest` (the path below the route's prefix, "" or starting with
    /// '/'); `None` when this protocol has no such endpoint.
    pub fn classify(self, method: &Method, rest: &str) -> Option<Call> {
        let get = method == Method::GET || method == Method::HEAD;
        let post = method == Method::POST;
        let call = |operation, path_model: Option<&str>, model_in_body| {
            Some(Call {
                operation,
                path_model: path_model.map(str::to_string),
                model_in_body,
            })
        };
        match self {
            Protocol::Openai => match rest {
                "/chat/completions" if post => call(Operation::Chat, None, true),
                "/completions" if post => call(Operation::Complete, None, true),
                "/embeddings" if post => call(Operation::Embed, None, true),
                "/models" if get => call(Operation::Metadata, None, false),
                _ if get => match rest.strip_prefix("/models/") {
                    Some(id) if !id.is_empty() && !id.contains('/') => {
                        call(Operation::Metadata, Some(id), false)
                    }
                    _ => None,
                },
                _ => None,
            },
            Protocol::KserveV2 => {
                if get && matches!(rest, "" | "/" | "/health/live" | "/health/ready") {
                    return call(Operation::Metadata, None, false);
                }
                let tail = rest.strip_prefix("/models/")?;
                let mut parts = tail.split('/');
                let name = parts.next().filter(|n| !n.is_empty())?;
                let mut next = parts.next();
                if next == Some("versions") {
                    parts.next().filter(|v| !v.is_empty())?;
                    next = parts.next();
                }
                if parts.next().is_some() {
                    return None;
                }
                match next {
                    None | Some("ready") if get => call(Operation::Metadata, Some(name), false),
                    Some("infer") if post => call(Operation::Infer, Some(name), false),
                    _ => None,
                }
            }
            Protocol::KserveV1 => {
                // {name}[/versions/{v}][/metadata | :predict | :classify | :regress | :explain]
                let tail = rest.strip_prefix('/')?;
                let (path, verb) = match tail.rsplit_once(':') {
                    Some((p, v)) => (p, Some(v)),
                    None => (tail, None),
                };
                let mut parts = path.split('/');
                let name = parts.next().filter(|n| !n.is_empty())?;
                let mut next = parts.next();
                if next == Some("versions") || next == Some("labels") {
                    parts.next().filter(|v| !v.is_empty())?;
                    next = parts.next();
                }
                if parts.next().is_some() {
                    return None;
                }
                match (verb, next) {
                    (Some("predict" | "classify" | "regress" | "explain"), None) if post => {
                        call(Operation::Infer, Some(name), false)
                    }
                    (None, None | Some("metadata")) if get => {
                        call(Operation::Metadata, Some(name), false)
                    }
                    _ => None,
                }
            }
            Protocol::Json => {
                if post {
                    call(Operation::Infer, None, false)
                } else if get {
                    call(Operation::Metadata, None, false)
                } else {
                    None
                }
            }
        }
    }

    /// An error in the protocol's own JSON shape.
    pub fn error_body(self, status: StatusCode, message: &str) -> Bytes {
        let body = match self {
            Protocol::Openai => {
                let kind = match status.as_u16() {
                    401 => "authentication_error",
                    403 => "permission_error",
                    404 => "not_found_error",
                    429 => "rate_limit_error",
                    400..=499 => "invalid_request_error",
                    _ => "server_error",
                };
                serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": status.as_u16().to_string()}})
            }
            // KServe v2 and v1 and TF Serving answer `{"error": "..."}`.
            Protocol::KserveV2 | Protocol::KserveV1 | Protocol::Json => {
                serde_json::json!({"error": message})
            }
        };
        Bytes::from(body.to_string())
    }
}

/// Whether `model` is among `patterns` (`*` at the end matches any rest; no patterns: any model).
pub fn model_matches(patterns: &[String], model: Option<&str>) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let Some(model) = model else {
        // Calls that name no model (listing models, server health) go to the route.
        return true;
    };
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(head) => model.starts_with(head),
        None => p == model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_paths() {
        let p = Protocol::Openai;
        assert_eq!(
            p.classify(&Method::POST, "/chat/completions")
                .unwrap()
                .operation,
            Operation::Chat
        );
        assert_eq!(
            p.classify(&Method::POST, "/embeddings").unwrap().operation,
            Operation::Embed
        );
        assert_eq!(
            p.classify(&Method::GET, "/models/gpt-x")
                .unwrap()
                .path_model
                .as_deref(),
            Some("gpt-x")
        );
        assert!(p.classify(&Method::GET, "/chat/completions").is_none());
        assert!(p.classify(&Method::POST, "/files").is_none());
    }

    #[test]
    fn kserve_paths() {
        let v2 = Protocol::KserveV2;
        let c = v2
            .classify(&Method::POST, "/models/iris/versions/3/infer")
            .unwrap();
        assert_eq!(
            (c.operation, c.path_model.as_deref()),
            (Operation::Infer, Some("iris"))
        );
        assert_eq!(
            v2.classify(&Method::GET, "/models/iris/ready")
                .unwrap()
                .operation,
            Operation::Metadata
        );
        assert!(v2
            .classify(&Method::POST, "/models/iris/infer/extra")
            .is_none());
        assert!(v2.classify(&Method::POST, "/models//infer").is_none());
        let v1 = Protocol::KserveV1;
        let c = v1
            .classify(&Method::POST, "/iris/versions/2:predict")
            .unwrap();
        assert_eq!(
            (c.operation, c.path_model.as_deref()),
            (Operation::Infer, Some("iris"))
        );
        assert!(v1.classify(&Method::GET, "/iris:predict").is_none());
        assert_eq!(
            v1.classify(&Method::GET, "/iris/metadata")
                .unwrap()
                .operation,
            Operation::Metadata
        );
    }

    #[test]
    fn model_patterns() {
        let p = vec!["llama-*".to_string(), "gpt-4o".to_string()];
        assert!(model_matches(&p, Some("llama-3-8b")));
        assert!(model_matches(&p, Some("gpt-4o")));
        assert!(!model_matches(&p, Some("gpt-4o-mini")));
        assert!(model_matches(&[], Some("anything")));
    }
}
