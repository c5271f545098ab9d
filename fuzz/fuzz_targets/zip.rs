#![no_main]
//! The lenient zip reader: opening, every entry's local header, and bounded
//! reads of every member must never panic or allocate without bound.
use libfuzzer_sys::fuzz_target;
use mlsec_formats::compress::Bounds;
use mlsec_formats::zip;

const BOUNDS: Bounds = Bounds {
    max_output: 1 << 20,
    max_ratio: 200,
};

fuzz_target!(|data: &[u8]| {
    let Ok(archive) = zip::parse(data, 1000) else {
        return;
    };
    for entry in &archive.entries {
        let _ = (entry.is_dir(), entry.is_symlink(), entry.span());
        if let Ok(content) = archive.read(entry, BOUNDS) {
            assert!(content.data.len() as u64 <= BOUNDS.max_output || entry.method == 0);
        }
    }
});
