//! Rules for keras (placeholder: being written).

use crate::{Ctx, Report};
use mlsec_core::Rule;

pub const RULES: &[Rule] = &[];
pub fn scan_h5(_ctx: &Ctx, _data: &[u8], _report: &mut Report) {}
/// Judges a Keras model config (`config.json` of a `.keras` zip, or the
/// `model_config` attribute of a legacy H5 file).
pub fn scan_keras_config(_ctx: &Ctx, _json: &[u8], _report: &mut Report) {}
