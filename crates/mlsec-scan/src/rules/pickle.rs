//! Rules for pickle (placeholder: being written).

use crate::{Ctx, Report};
use mlsec_core::Rule;

pub const RULES: &[Rule] = &[];
pub fn scan(_ctx: &Ctx, _data: &[u8], _report: &mut Report) {}
pub fn probe(_ctx: &Ctx, _data: &[u8], _report: &mut Report) -> bool {
    false
}
/// Judges a pickle embedded at `base_offset` of the current member (npy object
/// arrays, joblib array payloads); reported offsets include `base_offset`.
pub fn scan_embedded(_ctx: &Ctx, _data: &[u8], _base_offset: u64, _report: &mut Report) {}
