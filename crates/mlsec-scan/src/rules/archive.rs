//! Rules for archive (placeholder: being written).

use crate::{Ctx, Report};
use mlsec_core::Rule;

pub const RULES: &[Rule] = &[];

pub fn scan_zip(_ctx: &Ctx, _data: &[u8], _report: &mut Report) {}
pub fn scan_tar(_ctx: &Ctx, _data: &[u8], _report: &mut Report) {}
pub fn scan_7z(_ctx: &Ctx, _data: &[u8], _report: &mut Report) {}
pub fn scan_compressed(
    _ctx: &Ctx,
    _data: &[u8],
    _format: mlsec_formats::Format,
    _report: &mut Report,
) {
}
