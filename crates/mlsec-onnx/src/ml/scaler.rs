//! `Scaler` (ai.onnx.ml): `Y = (X - offset) * scale`, per feature or one
//! number for all, as scikit-learn's StandardScaler exports. Rewritten into
//! tract's own subtraction and multiplication.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::single;

#[derive(Debug, Clone)]
struct Scaler {
    offset: Vec<f32>,
    scale: Vec<f32>,
}

pub(crate) fn parse(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset: Vec<f32> = node.get_attr_opt_vec("offset")?.unwrap_or_default();
    let scale: Vec<f32> = node.get_attr_opt_vec("scale")?.unwrap_or_default();
    Ok((expand(Scaler { offset, scale }), vec![]))
}

/// A constant that broadcasts against [rows, features]: one number, or one
/// per feature.
fn row_const(
    model: &mut TypedModel,
    name: String,
    values: &[f32],
    features: Option<usize>,
) -> TractResult<OutletId> {
    if values.len() > 1 && features.is_some_and(|f| f != values.len()) {
        bail!(
            "{name}: {} values for rows of {} features",
            values.len(),
            features.unwrap_or(0)
        );
    }
    let tensor = tensor1(values).into_shape(&[1, values.len()])?;
    model.add_const(name, tensor.into_arc_tensor())
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
    }

    #[allow(clippy::indexing_slicing)] // the arity is checked first
    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let Some(&input) = inputs.first() else {
            bail!("{prefix}: no input");
        };
        let fact = model.outlet_fact(input)?.clone();
        if fact.rank() != 2 {
            bail!(
                "{prefix}: input of rank {}; expected [rows, features]",
                fact.rank()
            );
        }
        let features = fact.shape.get(1).and_then(|d| d.to_usize().ok());
        let mut x = input;
        if fact.datum_type != f32::datum_type() {
            x = single(model.wire_node(
                format!("{prefix}.to_f32"),
                tract_onnx::tract_core::ops::cast::cast(f32::datum_type()),
                &[x],
            )?)?;
        }
        if !self.offset.is_empty() {
            let offset = row_const(model, format!("{prefix}.offset"), &self.offset, features)?;
            x = single(model.wire_node(
                format!("{prefix}.sub"),
                tract_onnx::tract_core::ops::math::sub(),
                &[x, offset],
            )?)?;
        }
        if !self.scale.is_empty() {
            let scale = row_const(model, format!("{prefix}.scale"), &self.scale, features)?;
            x = single(model.wire_node(
                format!("{prefix}.mul"),
                tract_onnx::tract_core::ops::math::mul(),
                &[x, scale],
            )?)?;
        }
        Ok(tvec!(x))
    }
}
