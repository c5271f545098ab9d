//! Format detection by content (magic bytes and structure), never by extension.

/// A format recognised from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A pickle stream starting with the PROTO opcode (protocol 2 and later).
    Pickle,
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    /// Legacy `.lzma` ("alone") stream, as joblib writes with `compress="lzma"`.
    Lzma,
    Zlib,
    Lz4,
    SevenZip,
    /// joblib < 0.10 compressed file: `ZF` magic, a length, then zlib data.
    JoblibZfile,
    Npy,
    Safetensors,
    Gguf,
    Hdf5,
    Unknown,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pickle => "pickle",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
            Format::Zlib => "zlib",
            Format::Lz4 => "lz4",
            Format::SevenZip => "7z",
            Format::JoblibZfile => "joblib-zfile",
            Format::Npy => "numpy",
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
            Format::Hdf5 => "hdf5",
            Format::Unknown => "unknown",
        }
    }
}

/// The HDF5 superblock may sit at 0, 512, 1024, 2048, ... (after a user block).
pub const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Detects the format of `data` from its first bytes and, where magic numbers are
/// weak, its structure. Formats without magic (protocol 0/1 pickles, protobuf
/// files such as ONNX and SavedModel, JSON configs) are left to the callers'
/// structural probes and come back as [`Format::Unknown`].
pub fn detect(data: &[u8]) -> Format {
    let starts = |m: &[u8]| data.starts_with(m);
    // First: a safetensors header of 128..=133 bytes begins with 0x80 0x00, which
    // would read as a pickle PROTO. A length that fits the file followed by `{`
    // cannot be a pickle (bytes 2..8 would have to be opcodes, making the length
    // astronomically large).
    if is_safetensors(data) {
        return Format::Safetensors;
    }
    if matches!(data, [0x80, 0..=5, ..]) {
        return Format::Pickle;
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        return Format::Zip;
    }
    if starts(b"\x93NUMPY") {
        return Format::Npy;
    }
    if starts(b"GGUF") {
        return Format::Gguf;
    }
    if is_hdf5(data) {
        return Format::Hdf5;
    }
    if starts(b"7z\xbc\xaf\x27\x1c") {
        return Format::SevenZip;
    }
    if starts(b"\x1f\x8b") {
        return Format::Gzip;
    }
    if matches!(data, [b'B', b'Z', b'h', b'1'..=b'9', ..]) {
        return Format::Bzip2;
    }
    if starts(b"\xfd7zXZ\x00") {
        return Format::Xz;
    }
    if starts(b"\x04\x22\x4d\x18") {
        return Format::Lz4;
    }
    if starts(b"ZF0x") {
        return Format::JoblibZfile;
    }
    if is_tar(data) {
        return Format::Tar;
    }
    if looks_like_broken_safetensors(data) {
        return Format::Safetensors;
    }
    if is_zlib(data) {
        return Format::Zlib;
    }
    if is_lzma_alone(data) {
        return Format::Lzma;
    }
    Format::Unknown
}

fn is_hdf5(data: &[u8]) -> bool {
    let mut off = 0usize;
    while off + HDF5_MAGIC.len() <= data.len() && off <= 1 << 20 {
        if data.get(off..off + HDF5_MAGIC.len()) == Some(HDF5_MAGIC) {
            return true;
        }
        off = if off == 0 { 512 } else { off * 2 };
    }
    false
}

/// True when the first 512 bytes are a tar header (ustar magic, or a v7 header
/// whose checksum matches), as `tarfile.open` would accept.
pub fn is_tar(data: &[u8]) -> bool {
    let Some(header) = data.first_chunk::<512>() else {
        return false;
    };
    if &header[257..262] == b"ustar" {
        return true;
    }
    // Old (v7) tar: no magic, but the header checksum must match.
    let field = &header[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b))
        .collect();
    if digits.is_empty() || header[0] == 0 {
        return false;
    }
    let Ok(stored) = u32::from_str_radix(std::str::from_utf8(&digits).unwrap_or("x"), 8) else {
        return false;
    };
    let sum: u32 = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                b' ' as u32
            } else {
                *b as u32
            }
        })
        .sum();
    sum == stored
}

fn is_safetensors(data: &[u8]) -> bool {
    if data.len() < 10 {
        return false;
    }
    let Some((len, rest)) = data.split_first_chunk::<8>() else {
        return false;
    };
    let n = u64::from_le_bytes(*len);
    n >= 2 && n <= rest.len() as u64 && rest.first() == Some(&b'{')
}

/// A JSON header start at byte 8 with a declared length that does not fit:
/// a truncated or hostile safetensors file, judged (and failed) as one.
fn looks_like_broken_safetensors(data: &[u8]) -> bool {
    // A text file (`EMOJI = {"...`) has printable bytes where the length goes.
    let length_is_text = data
        .iter()
        .take(8)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    data.len() >= 10 && !length_is_text && matches!(data.get(8..10), Some([b'{', b'"' | b'}']))
}

fn is_zlib(data: &[u8]) -> bool {
    let [cmf, flg, ..] = *data else {
        return false;
    };
    cmf & 0x0f == 8
        && cmf >> 4 <= 7
        && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
        && flg & 0x20 == 0
}

fn is_lzma_alone(data: &[u8]) -> bool {
    // props byte (lc/lp/pb) 0x5d is what every encoder writes by default, then a
    // power-of-two-ish dictionary size, then the uncompressed size (or all 0xff).
    data.len() >= 13
        && match *data {
            [0x5d, d0, d1, d2, d3, ..] => {
                (1 << 12..=1 << 30).contains(&u32::from_le_bytes([d0, d1, d2, d3]))
            }
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(detect(b"\x80\x04\x95"), Format::Pickle);
        assert_eq!(detect(b"\x80\x09"), Format::Unknown);
        assert_eq!(detect(b"PK\x03\x04rest"), Format::Zip);
        assert_eq!(detect(b"\x93NUMPY\x01\x00"), Format::Npy);
        assert_eq!(detect(b"GGUF\x03\x00\x00\x00"), Format::Gguf);
        assert_eq!(detect(b"\x1f\x8b\x08\x00"), Format::Gzip);
        assert_eq!(detect(b"BZh91AY"), Format::Bzip2);
        assert_eq!(detect(b"\xfd7zXZ\x00\x00"), Format::Xz);
        assert_eq!(detect(b"\x78\x9c\x01\x02"), Format::Zlib);
        assert_eq!(detect(b"hello world"), Format::Unknown);
        assert_eq!(detect(b""), Format::Unknown);
    }

    #[test]
    fn safetensors_needs_a_plausible_header_length() {
        let mut ok = 2u64.to_le_bytes().to_vec();
        ok.extend_from_slice(b"{}xx");
        assert_eq!(detect(&ok), Format::Safetensors);
        let mut bad = u64::MAX.to_le_bytes().to_vec();
        bad.extend_from_slice(b"{}xx");
        assert_eq!(
            detect(&bad),
            Format::Safetensors,
            "broken, but still judged as safetensors"
        );
        // A 128-byte header starts with 0x80 0x00 (a pickle PROTO): still safetensors.
        let mut st = 128u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{\"a\":1}");
        st.resize(8 + 128, b' ');
        assert_eq!(detect(&st), Format::Safetensors);
        assert_eq!(detect(b"EMOJI = {\"1st\": 1}\n"), Format::Unknown);
        assert_eq!(detect(b"EMOJI = {\n"), Format::Unknown);
        assert_eq!(
            detect(b"\x80\x00\x00\x00\x00\x00\x00\x00N."),
            Format::Pickle
        );
    }

    #[test]
    fn hdf5_after_user_block() {
        let mut d = vec![0u8; 512];
        d.extend_from_slice(HDF5_MAGIC);
        assert_eq!(detect(&d), Format::Hdf5);
    }
}
