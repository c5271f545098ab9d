//! Rules for savedmodel (placeholder: being written).

use crate::{Ctx, Report};
use mlsec_core::Rule;

pub const RULES: &[Rule] = &[];
pub fn probe(_ctx: &Ctx, _data: &[u8], _report: &mut Report) -> bool {
    false
}
