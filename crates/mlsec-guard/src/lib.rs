//! Content guards: checks on the text that goes into a model (and, later,
//! what comes out). Each guard reads the texts of a request and reports
//! hits; what a hit does (block, flag, log) is the caller's setting, so the
//! gateway's guard chain and the offline `mlsec guard` share the same code.
//!
//! A hit says where (the text's place in the request and a byte span in
//! it) and what (rule, family, score), never the matched text itself: the
//! hits go into audit logs, and a secret must not travel further than it
//! already has.

// Guards read hostile requests: no indexing, slicing or unwrapping outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod answer;
pub mod classifier;
pub mod extraction;
pub mod injection;
pub mod normalize;
pub mod offline;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod output;
mod pii;
pub mod tabular;
pub mod tensor;
mod text;

pub use injection::{score as injection_score, InjectionGuard, SIGNALS};
pub use pii::PiiGuard;
pub use text::{each_text_mut, texts, Text, MAX_TEXTS};

use serde::Serialize;

/// One thing a guard found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// What matched, e.g. `PRIVATE_KEY`.
    pub rule: String,
    /// The rule's family, e.g. `secret` or `pii`.
    pub family: String,
    /// Where in the request: `messages[1].content`, `input[0]` ...
    pub location: String,
    /// Byte span in that text (end exclusive); for tensor guards, the
    /// element (`tensor-spec`) or row (`ood`) it is about.
    pub start: usize,
    pub end: usize,
    /// Confidence in 0..=1.
    pub score: f32,
}

/// What a guard reads of a request: its JSON body (when it is JSON), its
/// texts, and its tensor inputs, read once for all the guards of a chain.
pub struct Request<'a> {
    pub json: Option<&'a serde_json::Value>,
    pub texts: &'a [Text],
    inputs: std::cell::OnceCell<Option<tensor::Inputs>>,
}

impl<'a> Request<'a> {
    pub fn new(json: Option<&'a serde_json::Value>, texts: &'a [Text]) -> Request<'a> {
        Request {
            json,
            texts,
            inputs: std::cell::OnceCell::new(),
        }
    }

    /// The tensor inputs (KServe v2 or v1), when the body has them.
    pub fn inputs(&self) -> Option<&tensor::Inputs> {
        self.inputs
            .get_or_init(|| self.json.and_then(tensor::inputs))
            .as_ref()
    }
}

/// A check over a request.
pub trait Guard: Send + Sync {
    fn check(&self, request: &Request, hits: &mut Vec<Hit>);
}
