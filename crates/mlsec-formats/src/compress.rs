//! Bounded streaming decompression for the wrappers and zip methods models ship in.
//!
//! Every decoder runs behind the same pump: output is produced in chunks and
//! checked after each one against an absolute cap and a ratio to the input
//! consumed so far, so a decompression bomb stops after a few megabytes instead
//! of after the gigabytes it declares. Declared sizes are never used to size an
//! allocation. Whatever was produced before a stop or a decoding error is kept,
//! so callers can still judge the prefix.

use std::cell::Cell;
use std::io::{self, Read};

/// Below this much output the ratio says nothing: small, repetitive files
/// (a config of zeros, a sparse mask) compress far better than 200:1.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// A compressed stream format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Raw deflate (zip method 8).
    Deflate,
    /// zlib (RFC 1950): joblib `compress="zlib"`, the `ZF` zfile payload.
    Zlib,
    /// gzip, concatenated members included.
    Gzip,
    /// bzip2, concatenated streams included (zip method 12 too).
    Bzip2,
    /// xz container, concatenated streams included.
    Xz,
    /// Legacy `.lzma` ("alone") stream with its 13-byte header.
    LzmaAlone,
    /// Zip method 14: a 4-byte version/size prefix, 5 property bytes, raw LZMA.
    /// `end_marker` is general-purpose flag bit 1; without it the stream ends
    /// after `size` bytes.
    ZipLzma { end_marker: bool, size: u64 },
    /// LZ4 frame format, concatenated frames included.
    Lz4Frame,
}

/// How much a decoder may produce.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Most output bytes; one more is a bomb.
    pub max_output: u64,
    /// Highest output/input ratio once output passes [`RATIO_FLOOR`].
    pub max_ratio: u64,
}

/// How decompression ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The stream decoded to its end.
    Complete,
    /// Output reached [`Bounds::max_output`] and more was coming.
    TooLarge,
    /// Output outgrew the input by more than [`Bounds::max_ratio`].
    RatioExceeded,
    /// The stream is corrupt or truncated; the message says how.
    Corrupt(String),
}

/// The output of one bounded decompression.
#[derive(Debug)]
pub struct Inflated {
    /// Everything produced before the stream ended or a bound stopped it.
    pub data: Vec<u8>,
    /// Compressed bytes the decoder had pulled in when it stopped.
    pub consumed: u64,
    pub outcome: Outcome,
}

impl Inflated {
    /// Output / input, rounded down; `u64::MAX` when nothing was consumed.
    pub fn ratio(&self) -> u64 {
        (self.data.len() as u64)
            .checked_div(self.consumed)
            .unwrap_or(u64::MAX)
    }
}

/// Decompresses `input` as `codec`, stopping at the first bound crossed.
pub fn decompress(codec: Codec, input: &[u8], bounds: Bounds) -> Inflated {
    let consumed = Cell::new(0u64);
    let src = Counted {
        rest: input,
        consumed: &consumed,
    };
    let mem_limit_kb = u32::try_from(bounds.max_output / 1024 + 1024).unwrap_or(u32::MAX);
    let decoder: io::Result<Box<dyn Read + '_>> = match codec {
        Codec::Deflate => Ok(Box::new(flate2::read::DeflateDecoder::new(src))),
        Codec::Zlib => Ok(Box::new(flate2::read::ZlibDecoder::new(src))),
        Codec::Gzip => Ok(Box::new(flate2::read::MultiGzDecoder::new(src))),
        Codec::Bzip2 => Ok(Box::new(bzip2::read::MultiBzDecoder::new(src))),
        Codec::Xz => Ok(Box::new(lzma_rust2::XzReader::new_mem_limit(
            src,
            true,
            mem_limit_kb,
        ))),
        Codec::LzmaAlone => lzma_rust2::LzmaReader::new_mem_limit(src, mem_limit_kb, None)
            .map(|r| Box::new(r) as Box<dyn Read>),
        Codec::ZipLzma { end_marker, size } => zip_lzma(src, end_marker, size),
        Codec::Lz4Frame => Ok(Box::new(lz4_flex::frame::FrameDecoder::new(src))),
    };
    match decoder {
        Ok(mut reader) => read_bounded(&mut *reader, &consumed, bounds),
        Err(e) => Inflated {
            data: Vec::new(),
            consumed: consumed.get(),
            outcome: Outcome::Corrupt(e.to_string()),
        },
    }
}

/// Zip's LZMA framing: major/minor version, a little-endian property size
/// (5 in practice), then the properties byte and the dictionary size.
fn zip_lzma<'a>(
    mut src: Counted<'a>,
    end_marker: bool,
    size: u64,
) -> io::Result<Box<dyn Read + 'a>> {
    let mut head = [0u8; 4];
    src.read_exact(&mut head)?;
    let props_len = u16::from_le_bytes([head[2], head[3]]);
    if props_len != 5 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("LZMA properties are {props_len} bytes, expected 5"),
        ));
    }
    let mut props = [0u8; 5];
    src.read_exact(&mut props)?;
    let dict_size = u32::from_le_bytes([props[1], props[2], props[3], props[4]]);
    let unpacked = if end_marker { u64::MAX } else { size };
    let reader = lzma_rust2::LzmaReader::new_with_props(src, unpacked, props[0], dict_size, None)?;
    Ok(Box::new(reader))
}

/// Drains `reader` in chunks within `bounds`; `consumed` is how much input the
/// decoder has pulled in so far (updated by the caller's source as it is read).
pub fn read_bounded(reader: &mut dyn Read, consumed: &Cell<u64>, bounds: Bounds) -> Inflated {
    let cap = usize::try_from(bounds.max_output).unwrap_or(usize::MAX);
    let mut data = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let outcome = loop {
        match reader.read(&mut chunk) {
            Ok(0) => break Outcome::Complete,
            Ok(n) => {
                let room = cap.saturating_sub(data.len());
                if n > room {
                    data.extend_from_slice(chunk.get(..room).unwrap_or_default());
                    break Outcome::TooLarge;
                }
                data.extend_from_slice(chunk.get(..n).unwrap_or_default());
                let produced = data.len() as u64;
                if produced > RATIO_FLOOR
                    && produced > consumed.get().saturating_mul(bounds.max_ratio)
                {
                    break Outcome::RatioExceeded;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Outcome::Corrupt(e.to_string()),
        }
    };
    Inflated {
        data,
        consumed: consumed.get(),
        outcome,
    }
}

/// A slice reader that records how much the decoder has pulled in, for the ratio.
struct Counted<'a> {
    rest: &'a [u8],
    consumed: &'a Cell<u64>,
}

/// Decoders buffer their input; feeding them small reads keeps `consumed`
/// close to what they have really decoded, so a bomb is caught early.
const FEED: usize = 8 * 1024;

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(FEED);
        let n = self.rest.read(buf.get_mut(..len).unwrap_or_default())?;
        self.consumed
            .set(self.consumed.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// joblib < 0.10 "zfile": `ZF`, the uncompressed length as `0x...` hex text
/// left-justified in 19 bytes (sometimes one more space), then a zlib stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zfile {
    /// Length the header declares for the decompressed data.
    pub declared_len: u64,
    /// Where the zlib stream starts.
    pub payload_offset: usize,
}

/// Width of the length field: `len(hex(2**64))` in joblib.
const ZFILE_LEN_FIELD: usize = 19;

/// Parses a zfile header; the error says what is wrong with it.
pub fn parse_zfile(data: &[u8]) -> Result<Zfile, String> {
    let field = data
        .get(2..2 + ZFILE_LEN_FIELD)
        .filter(|_| data.starts_with(b"ZF"))
        .ok_or("zfile header is shorter than 21 bytes")?;
    let text = std::str::from_utf8(field)
        .map_err(|_| "zfile length field is not text".to_string())?
        .trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let declared_len = u64::from_str_radix(digits, 16)
        .map_err(|_| format!("zfile length field `{text}` is not a hex number"))?;
    // Old Python 2 writers made the field one byte wider; zlib data never
    // starts with a space, so a space here is padding.
    let mut payload_offset = 2 + ZFILE_LEN_FIELD;
    if data.get(payload_offset) == Some(&b' ') {
        payload_offset += 1;
    }
    Ok(Zfile {
        declared_len,
        payload_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const BOUNDS: Bounds = Bounds {
        max_output: 16 << 20,
        max_ratio: 200,
    };

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trips_zlib() {
        let out = decompress(Codec::Zlib, &zlib(b"hello model"), BOUNDS);
        assert_eq!(out.outcome, Outcome::Complete);
        assert_eq!(out.data, b"hello model");
    }

    #[test]
    fn stops_a_ratio_bomb_early() {
        let bomb = zlib(&vec![0u8; 64 << 20]);
        let out = decompress(Codec::Zlib, &bomb, BOUNDS);
        assert_eq!(out.outcome, Outcome::RatioExceeded);
        assert!(out.data.len() < 4 << 20, "stopped late: {}", out.data.len());
    }

    #[test]
    fn caps_absolute_output() {
        let data: Vec<u8> = (0..3u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
        let bounds = Bounds {
            max_output: 1 << 20,
            max_ratio: u64::MAX,
        };
        let out = decompress(Codec::Zlib, &zlib(&data), bounds);
        assert_eq!(out.outcome, Outcome::TooLarge);
        assert_eq!(out.data.len(), 1 << 20);
        assert_eq!(out.data, data[..1 << 20]);
    }

    #[test]
    fn truncated_stream_keeps_its_prefix() {
        let data: Vec<u8> = (0..200_000u32)
            .map(|i| (i % 13) as u8 ^ (i >> 9) as u8)
            .collect();
        let z = zlib(&data);
        let out = decompress(Codec::Zlib, &z[..z.len() / 2], BOUNDS);
        assert!(
            matches!(out.outcome, Outcome::Corrupt(_)),
            "{:?}",
            out.outcome
        );
        assert!(data.starts_with(&out.data));
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
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
            Codec::Lz4Frame,
        ] {
            let out = decompress(codec, b"\x00\xffnot compressed at all\x13\x37", BOUNDS);
            assert!(
                out.outcome != Outcome::Complete || out.data.is_empty(),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn parses_zfile_headers() {
        let mut f = b"ZF0x1a".to_vec();
        f.resize(21, b' ');
        f.extend_from_slice(b"\x78\x9c");
        assert_eq!(
            parse_zfile(&f),
            Ok(Zfile {
                declared_len: 0x1a,
                payload_offset: 21
            })
        );
        let mut wide = b"ZF0x1a".to_vec();
        wide.resize(22, b' ');
        assert_eq!(parse_zfile(&wide).unwrap().payload_offset, 22);
        assert!(parse_zfile(b"ZF0x").is_err());
        let mut bad = b"ZF0xzz".to_vec();
        bad.resize(21, b' ');
        assert!(parse_zfile(&bad).is_err());
    }
}
