//! Compressed single streams (gzip, bzip2, xz, lzma, zlib, lz4, joblib zfile).

use super::*;

/// Judges a compressed stream (gzip, bzip2, xz, lzma, zlib, lz4, joblib
/// zfile): decompresses it within the limits and judges what comes out as
/// the same member.
pub fn scan_compressed(ctx: &Ctx, data: &[u8], format: Format, report: &mut Report) {
    report.recognise(format.name());
    let (codec, payload, declared_len) = match format {
        Format::Gzip => (Codec::Gzip, data, None),
        Format::Bzip2 => (Codec::Bzip2, data, None),
        Format::Xz => (Codec::Xz, data, None),
        Format::Lzma => (Codec::LzmaAlone, data, None),
        Format::Zlib => (Codec::Zlib, data, None),
        Format::Lz4 => (Codec::Lz4Frame, data, None),
        Format::JoblibZfile => match compress::parse_zfile(data) {
            Ok(z) => (
                Codec::Zlib,
                data.get(z.payload_offset..).unwrap_or_default(),
                Some(z.declared_len),
            ),
            Err(msg) => {
                report.push(ctx.finding(&MALFORMED, Some(0), msg));
                return;
            }
        },
        other => {
            report.push(ctx.finding(
                &MALFORMED,
                None,
                format!("{} is not a compressed stream", other.name()),
            ));
            return;
        }
    };
    if !report.open_member(ctx) {
        return;
    }
    let out = compress::decompress(codec, payload, bounds(ctx, report));
    if !charge(ctx, report, &out.outcome, out.data.len()) {
        return;
    }
    let what = format!("{} stream", format.name());
    check_outcome(
        ctx,
        &out.outcome,
        out.data.len(),
        out.consumed,
        &what,
        report,
    );
    if let Some(declared) = declared_len.filter(|_| out.outcome == Outcome::Complete) {
        let actual = out.data.len() as u64;
        if actual != declared {
            report.push(
                ctx.finding(
                    &INTEGRITY_MISMATCH,
                    Some(0),
                    format!("zfile header declares {declared} bytes, the stream holds {actual}"),
                )
                .with_evidence(json!({ "declared_size": declared, "actual_size": actual })),
            );
        }
    }
    crate::scan_bytes(&ctx.child(""), &out.data, report);
}
