//! Decoding opcode arguments: text lines, escapes, longs and strings.

use super::value::{Value, MAX_KEPT_STRING, SHORT_STR, V};
use super::{ErrorKind, R};

pub(super) fn bad(op: &'static str, arg: &[u8]) -> ErrorKind {
    let shown: String = String::from_utf8_lossy(arg.get(..40).unwrap_or(arg)).into_owned();
    ErrorKind::BadArgument(op, format!("{shown:?}"))
}

pub(super) fn ascii(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok().filter(|s| s.is_ascii())
}

pub(super) fn str_value(s: &str) -> Value {
    if s.len() > MAX_KEPT_STRING {
        Value::LongStr(s.len())
    } else if let Some(short) = short_str(s.as_bytes()) {
        short
    } else {
        Value::Str(Box::from(s))
    }
}

/// `text` kept inline, if it is at most [`SHORT_STR`] bytes. The caller
/// vouches that it is UTF-8.
pub(super) fn short_str(text: &[u8]) -> Option<Value> {
    let mut bytes = [0; SHORT_STR];
    bytes.get_mut(..text.len())?.copy_from_slice(text);
    Some(Value::ShortStr {
        len: text.len() as u8,
        bytes,
    })
}

pub(super) fn bytes_to_str_value(raw: &[u8]) -> Value {
    match std::str::from_utf8(raw) {
        Ok(s) => str_value(s),
        // Kept as a lossy string: it can only matter as a name, and a name must be text.
        Err(_) => str_value(&String::from_utf8_lossy(raw)),
    }
}

pub(super) fn parse_decimal(line: &[u8], op: &'static str) -> R<Value> {
    let s = ascii(line).ok_or_else(|| bad(op, line))?.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(op, line));
    }
    Ok(s.parse::<i64>().map(Value::Int).unwrap_or(Value::BigInt))
}

pub(super) fn parse_memo_key(line: &[u8], op: &'static str) -> R<u64> {
    let s = ascii(line).ok_or_else(|| bad(op, line))?.trim();
    s.parse::<u64>().map_err(|_| bad(op, line))
}

pub(super) fn decode_long(b: &[u8]) -> Value {
    let Some(&last) = b.last() else {
        return Value::Int(0);
    };
    if b.len() > 8 {
        return Value::BigInt;
    }
    let negative = last & 0x80 != 0;
    let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
    // At most 8 bytes, checked above: all of `b` is copied.
    for (to, from) in buf.iter_mut().zip(b) {
        *to = *from;
    }
    Value::Int(i64::from_le_bytes(buf))
}

/// Appends keys and values, given alternately, to `out` as pairs (an odd
/// last item is left out).
pub(super) fn extend_pairs(out: &mut Vec<(V, V)>, items: &[V]) {
    out.reserve(items.len() / 2);
    out.extend(items.chunks_exact(2).filter_map(|pair| match *pair {
        [k, v] => Some((k, v)),
        _ => None,
    }));
}

/// Python's `codecs.escape_decode`, used by the protocol-0 STRING opcode.
pub(super) fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        let Some(&e) = s.get(i).filter(|_| c == b'\\') else {
            out.push(c);
            continue;
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut n = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            n = n * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((n & 0xff) as u8);
            }
            b'x' => match s
                .get(i..i + 2)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.extend_from_slice(b"\\x"),
            },
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    out
}

/// Python's `raw_unicode_escape` decoding, used by the protocol-0 UNICODE opcode:
/// `\uXXXX` and `\UXXXXXXXX` escapes, every other byte is Latin-1.
pub(super) fn raw_unicode_escape_decode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'\\' {
            let width = match s.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            if width > 0 {
                let hex = s
                    .get(i + 2..i + 2 + width)
                    .and_then(|h| std::str::from_utf8(h).ok());
                if let Some(c) = hex
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                {
                    out.push(c);
                    i += 2 + width;
                    continue;
                }
            }
        }
        out.push(char::from(c));
        i += 1;
    }
    out
}
