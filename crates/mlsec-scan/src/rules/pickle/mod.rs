//! Pickle rules: every file that is (or contains) a pickle stream is run
//! through the symbolic machine of `mlsec_formats::pickle` and judged here.
//!
//! A file may hold several pickles back to back (legacy PyTorch files hold
//! five, followed by raw storage bytes); each is judged. joblib streams carry
//! raw array bytes inside the pickle; the machine skips them.

mod globals;
mod judge;
mod rules;

pub use globals::{
    attribute_path_verdict, classify, config_verdict, entry_reaches_denylist, is_valid_global,
    Class,
};
pub use rules::*;

use crate::{Ctx, Report};
use judge::judge;
use mlsec_formats::pickle::{analyze, Trace};

/// The first pickle of a legacy (pre-1.6) `torch.save` file: the magic number
/// 0x1950a86a20f9469cfc6c as a protocol-2 LONG1.
const TORCH_LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";

/// Judges `data` as a pickle stream (possibly several back to back).
pub fn scan(ctx: &Ctx, data: &[u8], report: &mut Report) {
    scan_stream(ctx, data, 0, report);
}

/// Judges a pickle embedded at `base_offset` of the current member (npy object
/// arrays, joblib array payloads); reported offsets include `base_offset`.
pub fn scan_embedded(ctx: &Ctx, data: &[u8], base_offset: u64, report: &mut Report) {
    scan_stream(ctx, data, base_offset, report);
}

/// For content without a magic number: judges `data` as a protocol 0/1 pickle
/// if it behaves like one (see [`looks_like_pickle`]); returns whether it did.
pub fn probe(ctx: &Ctx, data: &[u8], report: &mut Report) -> bool {
    let trace = analyze(data, 0, &ctx.pickle_limits());
    if !looks_like_pickle(&trace, ctx) {
        return false;
    }
    scan_stream(ctx, data, 0, report);
    true
}

/// For content that another format claimed: true when `data`, read from byte
/// 0 as a pickle, behaves like one (see [`looks_like_pickle`]) and imports or
/// calls something, so that a pickle loader given the file would act on it.
pub fn probe_view(ctx: &Ctx, data: &[u8]) -> bool {
    let trace = analyze(data, 0, &ctx.pickle_limits());
    looks_like_pickle(&trace, ctx) && !(trace.imports.is_empty() && trace.calls.is_empty())
}

/// A stream is taken for a pickle when it runs to STOP, calls something, or
/// imports a denied global — what a loader would act on. Text that merely
/// starts with an opcode letter fails before doing any of these.
fn looks_like_pickle(trace: &Trace, ctx: &Ctx) -> bool {
    // CPython fails at an import of a name that is not a dotted identifier,
    // before anything after it runs: text that reads as such a GLOBAL is not a pickle.
    if !trace
        .imports
        .iter()
        .all(|i| is_valid_global(&i.module, &i.name))
    {
        return false;
    }
    (trace.complete() && trace.opcodes >= 2)
        || !trace.calls.is_empty()
        || trace.imports.iter().any(|i| {
            is_valid_global(&i.module, &i.name)
                && matches!(classify(&i.module, &i.name, ctx.config), Class::Denied(_))
        })
}

fn scan_stream(ctx: &Ctx, data: &[u8], base: u64, report: &mut Report) {
    let limits = ctx.pickle_limits();
    let legacy_torch = data.starts_with(TORCH_LEGACY_MAGIC);
    let mut trace = analyze(data, 0, &limits);
    let mut index = 0;
    let mut joblib = false;
    loop {
        joblib |= !trace.joblib_arrays.is_empty()
            || trace
                .imports
                .iter()
                .any(|i| i.module.ends_with("joblib.numpy_pickle"));
        judge(ctx, data, &trace, base, 0, report);
        let Some(end) = trace.end.filter(|_| trace.error.is_none()) else {
            break;
        };
        index += 1;
        // A legacy torch file is five pickles, then raw storage bytes.
        if end >= data.len() || (legacy_torch && index == 5) {
            break;
        }
        // Another pickle follows only if the rest behaves like one; otherwise it is
        // trailing data that `pickle.load` never reads.
        let next = analyze(data, end, &limits);
        if !looks_like_pickle(&next, ctx) {
            break;
        }
        trace = next;
    }
    report.recognise(if legacy_torch {
        "pytorch-legacy"
    } else if joblib {
        "joblib"
    } else {
        "pickle"
    });
}

#[cfg(test)]
mod tests;
