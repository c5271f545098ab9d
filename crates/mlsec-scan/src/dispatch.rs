use crate::rules::{
    archive, config_json, general, gguf, keras, numpy, onnx, pickle, safetensors, savedmodel,
    template,
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
    let format = detect(data);
    match format {
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
        // No magic number: try the structural probes, cheapest and most specific
        // first. The pickle probe never stops the others: protocol 0/1 text can
        // also be a valid protobuf, and each view is judged.
        Format::Unknown => {
            pickle::probe(ctx, data, report);
            let _ = onnx::probe(ctx, data, report)
                || savedmodel::probe(ctx, data, report)
                || config_json::probe(ctx, data, report)
                || template::probe_raw(ctx, data, report);
        }
    }
    other_views(ctx, data, format, report);
}

/// Judges the views of `data` that loaders other than the one its magic number
/// points to would take: `pickle.load` (and `joblib.load`, `torch.load`,
/// `np.load(allow_pickle=True)`) reads from byte 0 whatever the magic says,
/// legacy `torch.load` tries `tarfile` first, and `zipfile` reads the
/// directory at the end. The worst verdict of all views wins.
fn other_views(ctx: &Ctx, data: &[u8], format: Format, report: &mut Report) {
    if !matches!(format, Format::Pickle | Format::Unknown) && pickle::probe_view(ctx, data) {
        report.push(ctx.finding(
            &general::POLYGLOT,
            Some(0),
            format!(
                "this {} file is also a pickle that imports or calls code; pickle.load, \
                 joblib.load and torch.load read it as that pickle, judged here too",
                format.name()
            ),
        ));
        pickle::scan(ctx, data, report);
    }
    if format != Format::Tar && mlsec_formats::sniff::is_tar(data) {
        report.push(ctx.finding(
            &general::POLYGLOT,
            Some(0),
            format!(
                "this {} file also starts with a tar header; tarfile (and legacy torch.load) \
                 reads its members, judged here too",
                format.name()
            ),
        ));
        archive::scan_tar(ctx, data, report);
    }
    // Containers are excluded: a tar or gzip ending in a zip member is no polyglot,
    // and that member is scanned as a member.
    let single = matches!(
        format,
        Format::Pickle
            | Format::Npy
            | Format::Safetensors
            | Format::Gguf
            | Format::Hdf5
            | Format::Unknown
    );
    if single && appended_zip(ctx, data) {
        report.push(ctx.finding(
            &general::POLYGLOT_ZIP,
            None,
            format!(
                "this {} file also carries a zip archive at its end; its members are scanned too",
                format.name()
            ),
        ));
        archive::scan_zip(ctx, data, report);
    }
}

/// True when a zip reader that looks for the end-of-central-directory record
/// (as Python's `zipfile` does) would open `data` as a zip with members.
fn appended_zip(ctx: &Ctx, data: &[u8]) -> bool {
    // The record is 22 bytes plus a comment of at most 65,535 bytes.
    let tail = data
        .get(data.len().saturating_sub(22 + 65_535)..)
        .unwrap_or(data);
    // A forward search (vectorised) finds it as surely as a backward one and
    // was a twentieth of the time on a folder of small pickles.
    memchr::memmem::find(tail, b"PK\x05\x06").is_some()
        && mlsec_formats::zip::parse(data, ctx.limits().max_members)
            .is_ok_and(|z| !z.entries.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::archive::testkit::ZipBuilder;
    use crate::ScanConfig;

    fn zip_with(name: &str, data: &[u8]) -> Vec<u8> {
        ZipBuilder::new().stored(name, data).build()
    }

    #[test]
    fn a_zip_appended_to_a_pickle_is_scanned_too() {
        let mut data = b"\x80\x02}.".to_vec();
        data.extend(zip_with("evil.pkl", b"cos\nsystem\n(S'id'\ntR."));
        let config = ScanConfig::default();
        let mut report = Report::default();
        scan_bytes(&Ctx::new(&config, "model.bin", None), &data, &mut report);
        let rules: Vec<_> = report.findings.iter().map(|f| f.rule.as_str()).collect();
        assert!(
            rules.contains(&"SCN004") && rules.contains(&"PKL001"),
            "{rules:?}"
        );
        assert_eq!(report.format.as_deref(), Some("pickle"));
    }

    #[test]
    fn a_stray_end_record_signature_is_not_a_zip() {
        let data = b"\x80\x02}.junk PK\x05\x06 more junk".to_vec();
        let config = ScanConfig::default();
        let mut report = Report::default();
        scan_bytes(&Ctx::new(&config, "model.bin", None), &data, &mut report);
        assert_eq!(report.findings, vec![]);
    }
}
