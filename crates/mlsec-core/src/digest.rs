//! Digests every command shares: lower-case hex, and SHA-256 streamed
//! through a fixed buffer, so that hashing a 20 GB file costs 1 MiB.

use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // A nibble is under 16, so the fallback is never taken.
    let digit = |n: u8| char::from(DIGITS.get(usize::from(n)).copied().unwrap_or(b'0'));
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 15));
    }
    s
}

/// SHA-256 of `prefix` followed by everything `reader` yields, read through a
/// 1 MiB buffer: the digest and the number of bytes (prefix included). The
/// prefix is for callers that already read the head of a file to sniff it.
pub fn sha256_stream(prefix: &[u8], mut reader: impl Read) -> io::Result<([u8; 32], u64)> {
    let mut hasher = Sha256::new();
    hasher.update(prefix);
    let mut size = prefix.len() as u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // `Read` promises `n <= buf.len()`; a reader that breaks it is an error.
        let read = buf.get(..n).ok_or_else(|| {
            io::Error::other(format!(
                "read reported {n} bytes into a buffer of {}",
                buf.len()
            ))
        })?;
        hasher.update(read);
        size += n as u64;
    }
    Ok((hasher.finalize().into(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn streamed_digest_equals_the_one_shot_digest_with_or_without_a_prefix() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let whole: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(sha256_stream(&[], &data[..]).unwrap(), (whole, 3_000_000));
        let (head, rest) = data.split_at(4096);
        assert_eq!(sha256_stream(head, rest).unwrap(), (whole, 3_000_000));
        assert_eq!(
            hex(&sha256_stream(b"abc", &[][..]).unwrap().0),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
