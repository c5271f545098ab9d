use crate::rules::{
    archive, config_json, general, gguf, keras, numpy, onnx, pickle, safetensors, savedmodel,
};
use crate::{Ctx, Report};
use mlsec_formats::{detect, Format};

/// Scans `data` (a file, or a member of an archive) by detecting its format
/// from content and running that format's rules. Archives and compressed
/// wrappers call back into this for what they contain.
pub fn scan_bytes(ctx: &Ctx, data: &[u8], report: &mut Report) {
    if ctx.depth > ctx.limits().max_nesting {
        report.push(ctx.finding(
            &general::LIMIT_EXCEEDED,
            None,
            format!(
                "archives nested deeper than {} levels; not scanned further",
                ctx.limits().max_nesting
            ),
        ));
        return;
    }
    match detect(data) {
        Format::Pickle => pickle::scan(ctx, data, report),
        Format::Zip => archive::scan_zip(ctx, data, report),
        Format::Tar => archive::scan_tar(ctx, data, report),
        Format::SevenZip => archive::scan_7z(ctx, data, report),
        f @ (Format::Gzip
        | Format::Bzip2
        | Format::Xz
        | Format::Lzma
        | Format::Zlib
        | Format::Lz4
        | Format::JoblibZfile) => archive::scan_compressed(ctx, data, f, report),
        Format::Npy => numpy::scan_npy(ctx, data, report),
        Format::Safetensors => safetensors::scan(ctx, data, report),
        Format::Gguf => gguf::scan(ctx, data, report),
        Format::Hdf5 => keras::scan_h5(ctx, data, report),
        // No magic number: try the structural probes, cheapest and most specific first.
        Format::Unknown => {
            let _ = pickle::probe(ctx, data, report)
                || onnx::probe(ctx, data, report)
                || savedmodel::probe(ctx, data, report)
                || config_json::probe(ctx, data, report);
        }
    }
}
