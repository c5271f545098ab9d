//! The ai.onnx.ml operators tract does not run, added to its ONNX parser.
//!
//! - `Scaler`: rewritten into a subtraction and a multiplication.
//! - `ArrayFeatureExtractor`: a gather on the last axis.
//! - `Imputer`, `SVMClassifier`, `SVMRegressor`, `TreeEnsembleRegressor`: evaluated
//!   here, row by row, by a [`Kernel`] wrapped in one tract operator.
//!
//! `ZipMap` is not an operator here: [`crate::graph`] cuts it off so that the
//! probability tensor it would wrap is the output.

pub(crate) mod imputer;
pub(crate) mod scaler;
pub(crate) mod svm;
pub(crate) mod tree;

use std::fmt;
use std::sync::Arc;

use tract_onnx::model::OnnxOpRegister;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

/// Adds the operators of this module to an ONNX parser's register.
pub(crate) fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Imputer", imputer::parse);
    reg.insert("Scaler", scaler::parse);
    reg.insert("SVMClassifier", svm::parse_classifier);
    reg.insert("SVMRegressor", svm::parse_regressor);
    reg.insert("TreeEnsembleRegressor", tree::parse_regressor);
    reg.insert("ArrayFeatureExtractor", array_feature_extractor);
}

/// `ArrayFeatureExtractor` (ai.onnx.ml): the columns of the last axis that
/// the indices name, whatever the indices' shape (skl2onnx writes scalars):
/// [rows, columns] in, [rows, indices] out. A gather on the last axis with
/// the indices flattened.
#[derive(Debug, Clone)]
struct ArrayFeatureExtractor;

fn array_feature_extractor(
    _ctx: &tract_onnx::model::ParsingContext,
    _node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(ArrayFeatureExtractor), vec![]))
}

impl Expansion for ArrayFeatureExtractor {
    fn name(&self) -> StaticName {
        "ArrayFeatureExtractor".into()
    }

    #[allow(clippy::indexing_slicing)] // the arity is checked first
    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        s.given_2(
            &inputs[0].shape,
            &inputs[1].shape,
            move |s, input, indices| {
                let mut shape = input.clone();
                let count: TDim = indices.iter().product();
                if let Some(last) = shape.last_mut() {
                    *last = count;
                }
                s.equals(&outputs[0].shape, shape)
            },
        )?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let (Some(&x), Some(&indices)) = (inputs.first(), inputs.get(1)) else {
            bail!("{prefix}: ArrayFeatureExtractor takes two inputs");
        };
        let rank = model.outlet_fact(x)?.rank();
        if rank < 2 {
            bail!("{prefix}: ArrayFeatureExtractor on a tensor of rank {rank}; mlsec reads rank 2 and up");
        }
        let count: TDim = model.outlet_fact(indices)?.shape.iter().product();
        let mut flat = single(model.wire_node(
            format!("{prefix}.indices_i64"),
            tract_onnx::tract_core::ops::cast::cast(i64::datum_type()),
            &[indices],
        )?)?;
        let indices_rank = model.outlet_fact(flat)?.rank();
        if indices_rank != 1 {
            let from = model.outlet_fact(flat)?.shape.to_tvec();
            flat = single(model.wire_node(
                format!("{prefix}.flatten"),
                AxisOp::Reshape(0, from, tvec![count]),
                &[flat],
            )?)?;
        }
        model.wire_node(
            prefix,
            tract_onnx::tract_core::ops::array::Gather::new(rank - 1),
            &[x, flat],
        )
    }
}

/// The one outlet of a node just wired.
pub(crate) fn single(outlets: TVec<OutletId>) -> TractResult<OutletId> {
    match outlets.as_slice() {
        [one] => Ok(*one),
        other => bail!("expected one output, got {}", other.len()),
    }
}

/// What a kernel's output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Out {
    /// One int64 per row (a class label).
    Labels,
    /// `width` f32 per row.
    Matrix { width: usize },
    /// f32 in the input's shape.
    LikeInput,
}

/// An operator evaluated here: a batch of f32 rows in, its outputs out.
pub(crate) trait Kernel: fmt::Debug + Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Features a row must have at least.
    fn features(&self) -> usize;
    fn outputs(&self) -> Vec<Out>;
    /// Evaluates `rows` rows of `stride` features, `x` row after row; one
    /// vector per output, as [`Kernel::outputs`] says.
    fn eval(&self, x: &[f32], rows: usize, stride: usize) -> Result<Vec<Output>, String>;
}

/// One output's values.
pub(crate) enum Output {
    Labels(Vec<i64>),
    Matrix(Vec<f32>),
}

/// A [`Kernel`] as a tract operator (typed model).
#[derive(Debug, Clone)]
pub(crate) struct NativeOp(pub Arc<dyn Kernel>);

impl PartialEq for NativeOp {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for NativeOp {}

impl Op for NativeOp {
    fn name(&self) -> StaticName {
        self.0.name().into()
    }

    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for NativeOp {
    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(EvalOp::eval(
            self,
            &EvalContext::out_of_plan(),
            inputs,
        )?))
    }

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let Some(input) = inputs.first() else {
            bail!("{}: no input", self.0.name());
        };
        let input = input.cast_to::<f32>()?;
        let (rows, stride) = match *input.shape() {
            [rows, stride] => (rows, stride),
            [stride] => (1, stride),
            ref other => bail!(
                "{}: input of shape {other:?}; expected [rows, features]",
                self.0.name()
            ),
        };
        if stride < self.0.features() {
            bail!(
                "{}: rows of {stride} features; the operator reads {}",
                self.0.name(),
                self.0.features()
            );
        }
        let view = input.to_plain_array_view::<f32>()?;
        let x: Vec<f32> = view.iter().copied().collect();
        let outputs = self
            .0
            .eval(&x, rows, stride)
            .map_err(|e| format_err!("{}: {e}", self.0.name()))?;
        let mut values = TVec::new();
        for (output, kind) in outputs.into_iter().zip(self.0.outputs()) {
            let tensor = match (output, kind) {
                (Output::Labels(v), Out::Labels) => Tensor::from_shape(&[rows], &v)?,
                (Output::Matrix(v), Out::Matrix { width }) => {
                    Tensor::from_shape(&[rows, width], &v)?
                }
                (Output::Matrix(v), Out::LikeInput) => Tensor::from_shape(input.shape(), &v)?,
                _ => bail!("{}: an output of the wrong kind", self.0.name()),
            };
            values.push(tensor.into_tvalue());
        }
        Ok(values)
    }
}

impl TypedOp for NativeOp {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let Some(input) = inputs.first() else {
            bail!("{}: no input", self.0.name());
        };
        let rows = match input.rank() {
            2 => input
                .shape
                .iter()
                .next()
                .cloned()
                .unwrap_or_else(|| 1.to_dim()),
            1 => 1.to_dim(),
            r => bail!(
                "{}: input of rank {r}; expected [rows, features]",
                self.0.name()
            ),
        };
        Ok(self
            .0
            .outputs()
            .into_iter()
            .map(|o| match o {
                Out::Labels => i64::fact([rows.clone()]),
                Out::Matrix { width } => f32::fact([rows.clone(), width.to_dim()]),
                Out::LikeInput => f32::fact(input.shape.clone()),
            })
            .collect())
    }

    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }
}

/// A [`Kernel`] as the parser sees it (inference model): its shapes, and
/// the typed operator it becomes.
#[derive(Debug, Clone)]
pub(crate) struct NativeExpansion(pub Arc<dyn Kernel>);

impl Expansion for NativeExpansion {
    fn name(&self) -> StaticName {
        self.0.name().into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.0.outputs().len())
    }

    #[allow(clippy::indexing_slicing)] // the arity is checked first
    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, self.0.outputs().len())?;
        s.equals(&inputs[0].rank, 2)?;
        for (proxy, kind) in outputs.iter().zip(self.0.outputs()) {
            s.equals(&proxy.shape[0], &inputs[0].shape[0])?;
            match kind {
                Out::Labels => {
                    s.equals(&proxy.datum_type, DatumType::I64)?;
                    s.equals(&proxy.rank, 1)?;
                }
                Out::Matrix { width } => {
                    s.equals(&proxy.datum_type, DatumType::F32)?;
                    s.equals(&proxy.rank, 2)?;
                    s.equals(&proxy.shape[1], width.to_dim())?;
                }
                Out::LikeInput => {
                    s.equals(&proxy.datum_type, DatumType::F32)?;
                    s.equals(&proxy.shape, &inputs[0].shape)?;
                }
            }
        }
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, NativeOp(self.0.clone()), inputs)
    }
}

/// The parser's answer for a node evaluated by `kernel`.
pub(crate) fn native(kernel: impl Kernel) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(NativeExpansion(Arc::new(kernel))), vec![]))
}

/// `post_transform` as the ai.onnx.ml operators spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostTransform {
    None,
    Softmax,
    Logistic,
    SoftmaxZero,
}

impl PostTransform {
    pub(crate) fn parse(node: &NodeProto) -> TractResult<PostTransform> {
        let value: Option<String> = node.get_attr_opt("post_transform")?;
        Ok(match value.as_deref().unwrap_or("NONE") {
            "NONE" => PostTransform::None,
            "SOFTMAX" => PostTransform::Softmax,
            "LOGISTIC" => PostTransform::Logistic,
            "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
            other => bail!("{}: post_transform {other} is not supported", node.name),
        })
    }

    /// Applies the transform to one row of scores.
    pub(crate) fn apply(self, row: &mut [f32]) {
        match self {
            PostTransform::None => {}
            PostTransform::Logistic => {
                for v in row.iter_mut() {
                    *v = logistic(*v);
                }
            }
            PostTransform::Softmax => softmax(row, false),
            PostTransform::SoftmaxZero => softmax(row, true),
        }
    }
}

/// 1 / (1 + e^-x), without overflow for large |x|.
pub(crate) fn logistic(x: f32) -> f32 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 {
        1.0 - v
    } else {
        v
    }
}

/// Softmax of a row; `keep_zeros`: entries that are exactly zero stay zero
/// (SOFTMAX_ZERO).
fn softmax(row: &mut [f32], keep_zeros: bool) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = if keep_zeros && v.abs() <= 1e-7 {
            *v * (-max).exp()
        } else {
            (*v - max).exp()
        };
        sum += *v;
    }
    if sum == 0.0 {
        row.fill(0.5);
    } else {
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}

/// A count attribute as a usize, refused when negative.
pub(crate) fn count(node: &NodeProto, name: &str, v: i64) -> TractResult<usize> {
    usize::try_from(v).map_err(|_| format_err!("{} ({}): {name} is {v}", node.name, node.op_type))
}
