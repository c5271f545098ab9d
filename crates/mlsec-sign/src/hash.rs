//! Digests of whole files and of byte ranges, streamed with a fixed buffer so
//! memory stays flat whatever the model size.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

/// The hash algorithms of the model_signing v1.0 predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgo {
    Sha256,
    /// BLAKE2b-512 (64-byte digests), as Python's `hashlib.blake2b()`.
    Blake2b,
    Blake3,
}

impl HashAlgo {
    pub const ALL: [HashAlgo; 3] = [HashAlgo::Sha256, HashAlgo::Blake2b, HashAlgo::Blake3];

    /// The name in `serialization.hash_type` and in file resources' `algorithm`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Blake2b => "blake2b",
            HashAlgo::Blake3 => "blake3",
        }
    }

    pub fn parse(name: &str) -> Option<HashAlgo> {
        HashAlgo::ALL.into_iter().find(|a| a.as_str() == name)
    }

    pub fn digest_len(self) -> usize {
        match self {
            HashAlgo::Sha256 | HashAlgo::Blake3 => 32,
            HashAlgo::Blake2b => 64,
        }
    }

    fn hasher(self) -> Hasher {
        match self {
            HashAlgo::Sha256 => Hasher::Sha256(Default::default()),
            HashAlgo::Blake2b => Hasher::Blake2b(Default::default()),
            HashAlgo::Blake3 => Hasher::Blake3(Box::default()),
        }
    }

    /// Digest of `data` in memory.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

enum Hasher {
    Sha256(sha2::Sha256),
    Blake2b(blake2::Blake2b512),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Blake2b(h) => h.update(data),
            Hasher::Blake3(h) => {
                // Big buffers hash on several cores when rayon has idle threads.
                if data.len() >= PARALLEL_BLAKE3 {
                    h.update_rayon(data);
                } else {
                    h.update(data);
                }
            }
        }
    }

    fn finish(self) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Blake2b(h) => h.finalize().to_vec(),
            Hasher::Blake3(h) => h.finalize().as_bytes().to_vec(),
        }
    }
}

/// Read size: large enough that syscalls and SIMD set-up cost nothing.
const BUFFER: usize = 4 << 20;
const PARALLEL_BLAKE3: usize = 1 << 20;

/// Digest of bytes `start..end` of the file at `path` (the whole file when
/// `range` is `None`). Fails when the file is shorter than expected or changes
/// (size or modification time) while it is read.
pub fn hash_file(path: &Path, algo: HashAlgo, range: Option<(u64, u64)>) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let before = stamp(&file)?;
    let (start, end) = range.unwrap_or((0, before.0));
    if end > before.0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("is {} bytes long, expected at least {end}", before.0),
        ));
    }
    file.seek(SeekFrom::Start(start))?;
    let mut hasher = algo.hasher();
    let mut buf = vec![0u8; BUFFER.min(usize::try_from(end - start).unwrap_or(BUFFER).max(1))];
    let mut range = (&file).take(end - start);
    while range.limit() > 0 {
        let n = range.read(&mut buf)?;
        // `read` fills at most `buf`; nothing read means the file got shorter.
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            return Err(changed());
        };
        hasher.update(chunk);
    }
    if stamp(&file)? != before {
        return Err(changed());
    }
    Ok(hasher.finish())
}

fn stamp(file: &File) -> io::Result<(u64, Option<SystemTime>)> {
    let meta = file.metadata()?;
    Ok((meta.len(), meta.modified().ok()))
}

fn changed() -> io::Error {
    io::Error::other("changed while it was being hashed")
}

pub use mlsec_core::digest::hex;

/// Parses lower- or upper-case hexadecimal.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn known_digests_of_the_empty_input() {
        assert_eq!(
            hex(&HashAlgo::Sha256.digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&HashAlgo::Blake3.digest(b"")),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert!(hex(&HashAlgo::Blake2b.digest(b"")).starts_with("786a02f742015903"));
    }

    #[test]
    fn ranges_hash_only_their_bytes() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7) as u8).collect();
        f.write_all(&data).unwrap();
        for algo in HashAlgo::ALL {
            let whole = hash_file(f.path(), algo, None).unwrap();
            assert_eq!(whole, algo.digest(&data));
            let part = hash_file(f.path(), algo, Some((1000, 2_500_000))).unwrap();
            assert_eq!(part, algo.digest(&data[1000..2_500_000]));
        }
        let err = hash_file(f.path(), HashAlgo::Sha256, Some((0, 4_000_000))).unwrap_err();
        assert!(err.to_string().contains("expected at least"), "{err}");
    }

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        assert_eq!(unhex(&hex(&[0, 255, 16])).unwrap(), vec![0, 255, 16]);
        assert!(unhex("abc").is_none() && unhex("zz").is_none() && unhex("é1").is_none());
    }
}
