//! Rules for keras (placeholder: being written).

use crate::{Ctx, Report};
use mlsec_core::Rule;

pub const RULES: &[Rule] = &[];
pub fn scan_h5(_ctx: &Ctx, _data: &[u8], _report: &mut Report) {}
