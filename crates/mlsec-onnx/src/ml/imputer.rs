//! `Imputer` (ai.onnx.ml): replaces a missing value (`replaced_value_float`,
//! NaN by default, as scikit-learn's SimpleImputer exports) by the feature's
//! imputed value, or by the one value given for all features.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::{native, Kernel, Out, Output};

#[derive(Debug)]
struct Imputer {
    values: Vec<f32>,
    replaced: f32,
}

pub(crate) fn parse(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let values: Vec<f32> = node
        .get_attr_opt_vec("imputed_value_floats")?
        .unwrap_or_default();
    if values.is_empty() {
        bail!(
            "{} (Imputer): no imputed_value_floats (integer imputation is not supported)",
            node.name
        );
    }
    let replaced: f32 = node
        .get_attr_opt("replaced_value_float")?
        .unwrap_or(f32::NAN);
    native(Imputer { values, replaced })
}

impl Kernel for Imputer {
    fn name(&self) -> &'static str {
        "Imputer"
    }

    fn features(&self) -> usize {
        if self.values.len() == 1 {
            0
        } else {
            self.values.len()
        }
    }

    fn outputs(&self) -> Vec<Out> {
        vec![Out::LikeInput]
    }

    fn eval(&self, x: &[f32], rows: usize, stride: usize) -> Result<Vec<Output>, String> {
        if self.values.len() > 1 && stride != self.values.len() {
            return Err(format!(
                "rows of {stride} features for {} imputed values",
                self.values.len()
            ));
        }
        let missing = |v: f32| {
            if self.replaced.is_nan() {
                v.is_nan()
            } else {
                v == self.replaced
            }
        };
        let mut out = Vec::with_capacity(rows * stride);
        for row in x.chunks_exact(stride.max(1)).take(rows) {
            for (j, &v) in row.iter().enumerate() {
                let fill = if self.values.len() == 1 {
                    self.values.first()
                } else {
                    self.values.get(j)
                };
                out.push(match fill {
                    Some(&f) if missing(v) => f,
                    _ => v,
                });
            }
        }
        Ok(vec![Output::Matrix(out)])
    }
}
