//! Rules for numpy (placeholder: being written).

use crate::{Ctx, Report};
use mlsec_core::Rule;

pub const RULES: &[Rule] = &[];
pub fn scan_npy(_ctx: &Ctx, _data: &[u8], _report: &mut Report) {}
