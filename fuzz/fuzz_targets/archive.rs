#![no_main]
//! tar listing, 7z walking, and every bounded decompressor (plus the joblib
//! zfile header) on the same input: none may panic or outgrow its bounds.
use libfuzzer_sys::fuzz_target;
use mlsec_formats::compress::{self, Bounds, Codec};
use mlsec_formats::{sevenz, tar};

const BOUNDS: Bounds = Bounds {
    max_output: 1 << 20,
    max_ratio: 200,
};

fuzz_target!(|data: &[u8]| {
    let archive = tar::parse(data, 1000);
    for member in &archive.members {
        let _ = archive.data(member);
    }

    let _ = sevenz::walk(data, 1000, BOUNDS, |_, out| {
        assert!(out.data.len() as u64 <= BOUNDS.max_output);
    });

    for codec in [
        Codec::Deflate,
        Codec::Zlib,
        Codec::Gzip,
        Codec::Bzip2,
        Codec::Xz,
        Codec::LzmaAlone,
        Codec::ZipLzma {
            end_marker: true,
            size: 0,
        },
        Codec::ZipLzma {
            end_marker: false,
            size: 1 << 40,
        },
        Codec::Lz4Frame,
    ] {
        let out = compress::decompress(codec, data, BOUNDS);
        assert!(out.data.len() as u64 <= BOUNDS.max_output);
    }
    let _ = compress::parse_zfile(data);
});
