//! Tabular ONNX models run in process by tract, as a [`mlsec_model::Model`].
//!
//! Real exports load: scikit-learn through skl2onnx (logistic regression,
//! MLPs, SVMs, trees and forests, pipelines with scalers and normalizers,
//! with or without `ZipMap`), and small PyTorch or Keras networks. tract runs
//! the ONNX operators and most of ai.onnx.ml; [`ml`] adds the ones it lacks
//! (`Scaler`, `SVMClassifier`, `SVMRegressor`, `TreeEnsembleRegressor`), and
//! [`graph`] cuts `ZipMap` off so that the probabilities are the output.
//!
//! Nothing in the file is executed but its operators; tract's own parser
//! reads it, bounded by [`MAX_MODEL_BYTES`], and a panic inside tract becomes
//! an error.

// Library code may not index, slice or unwrap. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

mod graph;
mod ml;

use std::cell::Cell;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::sync::Once;

use mlsec_model::{check_rows, Model, ModelError, Output};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::prelude::*;

use graph::Layout;

/// Largest model file read: tabular models are kilobytes to megabytes.
pub const MAX_MODEL_BYTES: u64 = 512 << 20;

/// Rows per call into tract, so that a large batch does not hold every
/// intermediate tensor at once.
const BATCH: usize = 4096;

/// A tabular ONNX model ready to answer queries.
pub struct OnnxModel {
    name: String,
    plan: Arc<TypedRunnableModel>,
    features: usize,
    input_type: DatumType,
    classes: Vec<String>,
    output: Output,
    layout: Layout,
    /// Numbers per row the graph writes.
    raw_width: usize,
}

/// A tract error on one line: its causes joined.
fn one_line(e: &TractError) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

thread_local! {
    /// Guarded calls this thread is inside of: their panics are caught and
    /// reported as errors, so the panic hook stays quiet for them.
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` (a call into tract), catching a panic, which a hostile file can
/// cause in tract's assertions: the caller turns it into an error naming the
/// file, and the default hook's message does not reach the terminal.
fn guarded<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get().saturating_sub(1)));
    result
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into())
}

/// The ONNX parser with mlsec's ai.onnx.ml operators.
fn parser() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    ml::register(&mut onnx.op_register);
    onnx
}

impl OnnxModel {
    /// Loads the model at `path`. Errors name the file, and the node and
    /// operator where one is the cause.
    pub fn load(path: &Path) -> Result<OnnxModel, ModelError> {
        let name = path.display().to_string();
        // A FIFO would block the read forever, a device never end.
        let meta = std::fs::metadata(path).map_err(|e| ModelError::Load(format!("{name}: {e}")))?;
        if !meta.is_file() {
            return Err(ModelError::Load(format!("{name}: not a regular file")));
        }
        let file =
            std::fs::File::open(path).map_err(|e| ModelError::Load(format!("{name}: {e}")))?;
        let mut bytes = Vec::new();
        file.take(MAX_MODEL_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ModelError::Load(format!("{name}: {e}")))?;
        if bytes.len() as u64 > MAX_MODEL_BYTES {
            return Err(ModelError::Load(format!(
                "{name}: larger than {} MiB; not a tabular model mlsec runs",
                MAX_MODEL_BYTES >> 20
            )));
        }
        Self::from_bytes(&name, &bytes)
    }

    /// Loads a model from its bytes; `name` is used in messages.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<OnnxModel, ModelError> {
        let load = || Self::build(name, bytes);
        match guarded(load) {
            Ok(result) => result.map_err(|e| ModelError::Load(format!("{name}: {e}"))),
            Err(p) => Err(ModelError::Load(format!(
                "{name}: the ONNX runtime failed on this file ({})",
                panic_text(p.as_ref())
            ))),
        }
    }

    fn build(name: &str, bytes: &[u8]) -> Result<OnnxModel, String> {
        let onnx = parser();
        let mut proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| format!("not an ONNX model: {}", one_line(&e)))?;
        let choice = graph::choose(&mut proto)?;
        for (node, domain, op) in &choice.ops {
            if !onnx.op_register.0.contains_key(op) {
                let op = if domain.is_empty() {
                    op.clone()
                } else {
                    format!("{domain}.{op}")
                };
                return Err(format!(
                    "node `{node}` uses operator {op}, which mlsec cannot run"
                ));
            }
        }
        let mut model = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| one_line(&e))?;
        let input_type = match choice.input_type {
            DataType::Double => f64::datum_type(),
            _ => f32::datum_type(),
        };
        let rows = model.sym("rows").to_dim();
        model
            .set_input_fact(
                0,
                InferenceFact::dt_shape(input_type, tvec![rows, choice.features.to_dim()]),
            )
            .map_err(|e| one_line(&e))?;
        let typed = model.into_optimized().map_err(|e| one_line(&e))?;
        let fact = typed.output_fact(0).map_err(|e| one_line(&e))?;
        let raw_width = match fact
            .shape
            .iter()
            .map(|d| d.to_i64().ok().and_then(|v| usize::try_from(v).ok()))
            .collect::<Vec<_>>()
            .as_slice()
        {
            [_, Some(w)] => *w,
            [_] => 1,
            _ => {
                return Err(format!(
                    "output `{}` has shape {:?}; expected [rows, classes] or [rows, targets]",
                    choice.output, fact.shape
                ))
            }
        };
        if !fact.datum_type.is_float() {
            return Err(format!(
                "output `{}` is {:?}; expected floats",
                choice.output, fact.datum_type
            ));
        }
        let (classes, layout) = classes_and_layout(&choice, raw_width)?;
        let plan = typed.into_runnable().map_err(|e| one_line(&e))?;
        let model = OnnxModel {
            name: name.to_string(),
            plan,
            features: choice.features,
            input_type,
            classes,
            output: choice.kind,
            layout,
            raw_width,
        };
        // One row, so that a graph tract accepted but cannot run fails here,
        // at load, rather than in the middle of an attack.
        model
            .run_batch(&vec![0.0; model.features], 1)
            .map_err(|e| format!("the model fails on a row of zeros: {e}"))?;
        Ok(model)
    }

    fn run_batch(&self, rows: &[f32], n: usize) -> Result<Vec<f32>, String> {
        let input = Tensor::from_shape(&[n, self.features], rows).map_err(|e| one_line(&e))?;
        let input = if self.input_type == f32::datum_type() {
            input
        } else {
            input
                .cast_to_dt(self.input_type)
                .map_err(|e| one_line(&e))?
                .into_owned()
        };
        let outputs = self
            .plan
            .run(tvec!(input.into_tvalue()))
            .map_err(|e| one_line(&e))?;
        let first = outputs.first().ok_or("no output")?;
        let values = first.cast_to::<f32>().map_err(|e| one_line(&e))?;
        let raw: Vec<f32> = values
            .to_plain_array_view::<f32>()
            .map_err(|e| one_line(&e))?
            .iter()
            .copied()
            .collect();
        if raw.len() != n * self.raw_width {
            return Err(format!(
                "{} numbers for {n} rows of {} each",
                raw.len(),
                self.raw_width
            ));
        }
        Ok(self.lay_out(&raw))
    }

    /// One score per class from the graph's numbers.
    fn lay_out(&self, raw: &[f32]) -> Vec<f32> {
        match self.layout {
            Layout::Plain => raw.to_vec(),
            Layout::Binary => raw
                .iter()
                .flat_map(|&v| match self.output {
                    Output::Probabilities => [1.0 - v, v],
                    _ => [-v, v],
                })
                .collect(),
            Layout::Swapped => raw
                .chunks_exact(2)
                .flat_map(|pair| pair.iter().rev().copied())
                .collect(),
            Layout::Pairs => {
                let k = self.classes.len();
                raw.chunks_exact(self.raw_width.max(1))
                    .flat_map(|pairs| pairs_to_classes(k, pairs))
                    .collect()
            }
        }
    }
}

/// The class labels, and how the graph's numbers become one per class.
fn classes_and_layout(
    choice: &graph::Choice,
    raw_width: usize,
) -> Result<(Vec<String>, Layout), String> {
    if choice.kind == Output::Values {
        return Ok((Vec::new(), Layout::Plain));
    }
    let named = &choice.classes;
    if choice.raw_pairs && named.len() > 2 {
        let k = named.len();
        if raw_width != k * (k - 1) / 2 {
            return Err(format!(
                "output `{}` has {raw_width} scores for the {} pairs of {k} classes",
                choice.output,
                k * (k - 1) / 2
            ));
        }
        return Ok((named.clone(), Layout::Pairs));
    }
    if named.is_empty() {
        // No labels in the graph: the classes are the columns' indices.
        if raw_width < 2 {
            return Err(format!(
                "output `{}` has one column and the graph names no classes; mlsec cannot tell a binary classifier from a regressor",
                choice.output
            ));
        }
        return Ok((
            (0..raw_width).map(|i| i.to_string()).collect(),
            Layout::Plain,
        ));
    }
    match (named.len(), raw_width) {
        (2, 2) if choice.svm_scores => Ok((named.clone(), Layout::Swapped)),
        (k, w) if k == w => Ok((named.clone(), Layout::Plain)),
        (2, 1) => Ok((named.clone(), Layout::Binary)),
        (k, w) => Err(format!(
            "output `{}` has {w} columns for {k} classes",
            choice.output
        )),
    }
}

/// Per-class scores from one row of pair scores (i against j, i < j; a
/// positive score is a vote for i): the votes, plus the summed confidences
/// squashed below 1/3 so that they only break ties, as scikit-learn's
/// `decision_function_shape="ovr"` computes them.
fn pairs_to_classes(k: usize, pairs: &[f32]) -> Vec<f32> {
    let mut votes = vec![0.0f32; k];
    let mut confidence = vec![0.0f32; k];
    let mut pair = pairs.iter();
    for i in 0..k {
        for j in i + 1..k {
            let s = pair.next().copied().unwrap_or(0.0);
            let winner = if s > 0.0 { i } else { j };
            if let Some(v) = votes.get_mut(winner) {
                *v += 1.0;
            }
            if let Some(c) = confidence.get_mut(i) {
                *c += s;
            }
            if let Some(c) = confidence.get_mut(j) {
                *c -= s;
            }
        }
    }
    votes
        .iter()
        .zip(&confidence)
        .map(|(v, c)| v + c / (3.0 * (c.abs() + 1.0)))
        .collect()
}

impl Model for OnnxModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn features(&self) -> usize {
        self.features
    }

    fn classes(&self) -> &[String] {
        &self.classes
    }

    fn output(&self) -> Output {
        self.output
    }

    fn width(&self) -> usize {
        if self.output == Output::Values {
            self.raw_width
        } else {
            self.classes.len()
        }
    }

    fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
        let n = check_rows(self, rows)?;
        let mut out = Vec::with_capacity(n * self.width());
        for chunk in rows.chunks(BATCH * self.features) {
            let m = chunk.len() / self.features;
            let run = || self.run_batch(chunk, m);
            let scores = match guarded(run) {
                Ok(r) => r.map_err(|e| ModelError::Runtime(format!("{}: {e}", self.name)))?,
                Err(p) => {
                    return Err(ModelError::Runtime(format!(
                        "{}: the ONNX runtime failed ({})",
                        self.name,
                        panic_text(p.as_ref())
                    )))
                }
            };
            out.extend(scores);
        }
        Ok(out)
    }
}
