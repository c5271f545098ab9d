//! safetensors files: an 8-byte little-endian header length, a JSON header,
//! then a data area that the header's tensors must index exactly.
//!
//! The header is read into an order-keeping JSON tree that remembers every
//! entry of every object, because `serde_json` (and the reference loader,
//! which deserializes into a `HashMap`) silently keep the last of duplicate
//! keys: two entries for one tensor name let a scanner and a loader see
//! different tensors. The checks follow the reference implementation, which
//! refuses files whose tensors overlap, leave holes, or do not end exactly at
//! the end of the file.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::fmt;

/// The reference loader refuses headers larger than this (100 MB).
pub const REFERENCE_MAX_HEADER: u64 = 100_000_000;

/// Why the header could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 8 bytes: no header length.
    TooShort { len: usize },
    /// The declared header length is over `limit`.
    TooLarge { declared: u64, limit: u64 },
    /// The declared header length runs past the end of the file.
    PastEnd { declared: u64, available: u64 },
    /// The header is not UTF-8; `offset` is the file offset of the first bad byte.
    NotUtf8 { offset: u64 },
    /// The header does not start with `{`.
    BadStart,
    /// The header is not valid JSON.
    NotJson { reason: String },
    /// The header is JSON, but not an object.
    NotObject,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::TooShort { len } => {
                write!(f, "file is {len} bytes, too short for the 8-byte header length")
            }
            HeaderError::TooLarge { declared, limit } => {
                write!(f, "declared header length {declared} is over the limit of {limit} bytes")
            }
            HeaderError::PastEnd { declared, available } => write!(
                f,
                "declared header length {declared} runs past the end of the file ({available} bytes follow)"
            ),
            HeaderError::NotUtf8 { offset } => {
                write!(f, "header is not valid UTF-8 (first bad byte at {offset})")
            }
            HeaderError::BadStart => f.write_str("header does not start with `{`"),
            HeaderError::NotJson { reason } => write!(f, "header is not valid JSON: {reason}"),
            HeaderError::NotObject => f.write_str("header is JSON but not an object"),
        }
    }
}

/// Something wrong in a header that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `key` appears `count` times in the object at `path` (empty: the top level).
    DuplicateKey {
        path: String,
        key: String,
        count: usize,
    },
    /// A tensor entry or `__metadata__` is not shaped as the format requires.
    BadEntry { name: String, reason: String },
    /// `end - begin` differs from what the dtype and shape need (`expected`
    /// is `None` when that size overflows 64 bits).
    SizeMismatch {
        name: String,
        expected: Option<u64>,
        actual: u64,
    },
    /// `begin > end`, or the range ends beyond the data area.
    BadOffsets {
        name: String,
        begin: u64,
        end: u64,
        data_len: u64,
    },
    /// Two tensors share bytes.
    Overlap { first: String, second: String },
    /// Bytes `start..end` of the data area belong to no tensor.
    Uncovered { start: u64, end: u64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::DuplicateKey { path, key, count } if path.is_empty() => write!(
                f,
                "header key `{key}` appears {count} times; loaders keep only the last"
            ),
            Problem::DuplicateKey { path, key, count } => write!(
                f,
                "key `{key}` appears {count} times in the entry `{path}`"
            ),
            Problem::BadEntry { name, reason } => write!(f, "entry `{name}`: {reason}"),
            Problem::SizeMismatch { name, expected: Some(e), actual } => write!(
                f,
                "tensor `{name}` spans {actual} bytes but its dtype and shape need {e}"
            ),
            Problem::SizeMismatch { name, expected: None, actual } => write!(
                f,
                "tensor `{name}` spans {actual} bytes but the size its dtype and shape need overflows 64 bits"
            ),
            Problem::BadOffsets { name, begin, end, data_len } if begin > end => write!(
                f,
                "tensor `{name}` has data_offsets [{begin}, {end}]: begin is after end (data area is {data_len} bytes)"
            ),
            Problem::BadOffsets { name, begin, end, data_len } => write!(
                f,
                "tensor `{name}` has data_offsets [{begin}, {end}] beyond the {data_len}-byte data area"
            ),
            Problem::Overlap { first, second } => {
                write!(f, "tensors `{first}` and `{second}` share bytes")
            }
            Problem::Uncovered { start, end } => write!(
                f,
                "data bytes {start}..{end} ({} bytes) belong to no tensor",
                end - start
            ),
        }
    }
}

/// One well-formed tensor entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    /// `[begin, end)` relative to the start of the data area.
    pub begin: u64,
    pub end: u64,
}

/// A header that was read, with everything found wrong in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub header_len: u64,
    /// File offset of the data area (8 + header length).
    pub data_start: u64,
    pub data_len: u64,
    pub tensors: Vec<TensorEntry>,
    /// The `__metadata__` map, in file order.
    pub metadata: Vec<(String, String)>,
    pub problems: Vec<Problem>,
}

/// Size in bits of one element of each dtype the reference loader knows.
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

/// Reads and checks a safetensors file. `max_header` bounds the declared
/// header length (callers pass at most [`REFERENCE_MAX_HEADER`]).
pub fn parse(data: &[u8], max_header: u64) -> Result<Header, HeaderError> {
    let Some(len_bytes) = data.get(..8) else {
        return Err(HeaderError::TooShort { len: data.len() });
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(len_bytes);
    let declared = u64::from_le_bytes(n);
    let available = (data.len() - 8) as u64;
    if declared > max_header {
        return Err(HeaderError::TooLarge {
            declared,
            limit: max_header,
        });
    }
    if declared > available {
        return Err(HeaderError::PastEnd {
            declared,
            available,
        });
    }
    // Bounded by the input length just above.
    let raw = &data[8..8 + declared as usize];
    let text = std::str::from_utf8(raw).map_err(|e| HeaderError::NotUtf8 {
        offset: 8 + e.valid_up_to() as u64,
    })?;
    if !text.starts_with('{') {
        return Err(HeaderError::BadStart);
    }
    let json: Json = serde_json::from_str(text).map_err(|e| HeaderError::NotJson {
        reason: e.to_string(),
    })?;
    let Json::Obj(entries) = json else {
        return Err(HeaderError::NotObject);
    };
    let data_len = available - declared;
    let mut header = Header {
        header_len: declared,
        data_start: 8 + declared,
        data_len,
        tensors: Vec::new(),
        metadata: Vec::new(),
        problems: Vec::new(),
    };
    duplicates(&entries, "", &mut header.problems);
    for (name, value) in &entries {
        if name == "__metadata__" {
            read_metadata(value, &mut header);
        } else {
            match tensor_entry(name, value, &mut header.problems) {
                Ok(t) => header.tensors.push(t),
                Err(reason) => header.problems.push(Problem::BadEntry {
                    name: name.clone(),
                    reason,
                }),
            }
        }
    }
    check_layout(&mut header);
    Ok(header)
}

fn duplicates(entries: &[(String, Json)], path: &str, problems: &mut Vec<Problem>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (k, _) in entries {
        *counts.entry(k).or_default() += 1;
    }
    let mut seen = std::collections::HashSet::new();
    for (k, _) in entries {
        let count = counts.get(k.as_str()).copied().unwrap_or(0);
        if count > 1 && seen.insert(k.as_str()) {
            problems.push(Problem::DuplicateKey {
                path: path.to_string(),
                key: k.clone(),
                count,
            });
        }
    }
}

fn read_metadata(value: &Json, header: &mut Header) {
    let bad = |reason: String| Problem::BadEntry {
        name: "__metadata__".into(),
        reason,
    };
    match value {
        Json::Null => {}
        Json::Obj(entries) => {
            duplicates(entries, "__metadata__", &mut header.problems);
            for (k, v) in entries {
                match v {
                    Json::Str(s) => header.metadata.push((k.clone(), s.clone())),
                    other => header.problems.push(bad(format!(
                        "value of `{k}` is {}, but metadata values must be strings",
                        other.kind()
                    ))),
                }
            }
        }
        other => header.problems.push(bad(format!(
            "is {}, but must be an object of strings",
            other.kind()
        ))),
    }
}

fn tensor_entry(
    name: &str,
    value: &Json,
    problems: &mut Vec<Problem>,
) -> Result<TensorEntry, String> {
    let Json::Obj(fields) = value else {
        return Err(format!("is {}, not an object", value.kind()));
    };
    duplicates(fields, name, problems);
    let field = |key: &str| fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v);
    let dtype = match field("dtype") {
        Some(Json::Str(d)) if dtype_bits(d).is_some() => d.clone(),
        Some(Json::Str(d)) => return Err(format!("unknown dtype `{d}`")),
        Some(other) => return Err(format!("dtype is {}, not a string", other.kind())),
        None => return Err("has no dtype".into()),
    };
    let shape = match field("shape") {
        Some(Json::Arr(dims)) => dims
            .iter()
            .map(|d| match d {
                Json::U64(n) => Ok(*n),
                other => Err(format!(
                    "shape has {}, not a non-negative integer",
                    other.kind()
                )),
            })
            .collect::<Result<Vec<u64>, String>>()?,
        Some(other) => return Err(format!("shape is {}, not a list", other.kind())),
        None => return Err("has no shape".into()),
    };
    let (begin, end) = match field("data_offsets") {
        Some(Json::Arr(o)) => match o.as_slice() {
            [Json::U64(b), Json::U64(e)] => (*b, *e),
            _ => return Err("data_offsets must be two non-negative integers".into()),
        },
        Some(other) => return Err(format!("data_offsets is {}, not a list", other.kind())),
        None => return Err("has no data_offsets".into()),
    };
    Ok(TensorEntry {
        name: name.to_string(),
        dtype,
        shape,
        begin,
        end,
    })
}

/// Sizes, bounds, overlaps and coverage of the data area.
fn check_layout(header: &mut Header) {
    let data_len = header.data_len;
    let mut in_bounds: Vec<&TensorEntry> = Vec::new();
    for t in &header.tensors {
        if t.begin > t.end || t.end > data_len {
            header.problems.push(Problem::BadOffsets {
                name: t.name.clone(),
                begin: t.begin,
                end: t.end,
                data_len,
            });
            continue;
        }
        let actual = t.end - t.begin;
        let expected = expected_bytes(&t.dtype, &t.shape);
        if expected != Some(actual) {
            header.problems.push(Problem::SizeMismatch {
                name: t.name.clone(),
                expected,
                actual,
            });
        }
        in_bounds.push(t);
    }
    in_bounds.sort_by_key(|t| (t.begin, t.end));
    let mut covered = 0u64;
    let mut last: Option<&TensorEntry> = None;
    for t in in_bounds {
        if t.begin < covered && t.begin < t.end {
            header.problems.push(Problem::Overlap {
                first: last.map(|l| l.name.clone()).unwrap_or_default(),
                second: t.name.clone(),
            });
        } else if t.begin > covered {
            header.problems.push(Problem::Uncovered {
                start: covered,
                end: t.begin,
            });
        }
        if t.end >= covered {
            covered = t.end;
            last = Some(t);
        }
    }
    if covered < data_len {
        header.problems.push(Problem::Uncovered {
            start: covered,
            end: data_len,
        });
    }
}

/// Bytes a tensor of `dtype` and `shape` occupies, or `None` on overflow or
/// when the bits do not make whole bytes.
pub fn expected_bytes(dtype: &str, shape: &[u64]) -> Option<u64> {
    let bits = shape
        .iter()
        .try_fold(dtype_bits(dtype)?, |acc, d| acc.checked_mul(*d))?;
    (bits % 8 == 0).then_some(bits / 8)
}

/// JSON that keeps every entry of every object, in order, duplicates included.
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    U64(u64),
    /// Negative integers and floats: never valid where this format wants numbers.
    OtherNumber,
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool => "a boolean",
            Json::U64(_) => "an integer",
            Json::OtherNumber => "a negative or fractional number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "a list",
            Json::Obj(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Json, E> {
        Ok(Json::Bool)
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(u64::try_from(v).map_or(Json::OtherNumber, Json::U64))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
        Ok(Json::OtherNumber)
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            entries.push((k, v));
        }
        Ok(Json::Obj(entries))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A safetensors file from a header and a data area, padded like the
    /// reference writer pads (spaces to a multiple of 8).
    pub fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.as_bytes().to_vec();
        h.resize(h.len().div_ceil(8) * 8, b' ');
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend(h);
        out.extend(data);
        out
    }

    /// A realistic small model: several dtypes, a `__metadata__` map.
    pub fn realistic() -> Vec<u8> {
        file(
            r#"{"__metadata__":{"format":"pt","source":"unit-test"},"embed.weight":{"dtype":"BF16","shape":[4,2],"data_offsets":[0,16]},"ln.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},"head.weight":{"dtype":"F16","shape":[2,2],"data_offsets":[24,32]},"steps":{"dtype":"I64","shape":[],"data_offsets":[32,40]},"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[40,43]},"empty":{"dtype":"F32","shape":[0,5],"data_offsets":[43,43]}}"#,
            &[7u8; 43],
        )
    }

    fn problems(f: &[u8]) -> Vec<Problem> {
        parse(f, REFERENCE_MAX_HEADER).unwrap().problems
    }

    #[test]
    fn reads_a_realistic_file_cleanly() {
        let h = parse(&realistic(), REFERENCE_MAX_HEADER).unwrap();
        assert_eq!(h.problems, []);
        assert_eq!(h.tensors.len(), 6);
        assert_eq!(h.metadata[0], ("format".to_string(), "pt".to_string()));
        assert_eq!(h.data_len, 43);
    }

    #[test]
    fn finds_duplicate_tensor_names_and_fields() {
        let f = file(
            r#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
            &[0; 2],
        );
        assert!(problems(&f).contains(&Problem::DuplicateKey {
            path: String::new(),
            key: "w".into(),
            count: 2
        }));
        let f = file(
            r#"{"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}"#,
            &[0; 1],
        );
        assert!(matches!(&problems(&f)[0], Problem::DuplicateKey { path, .. } if path == "w"));
    }

    #[test]
    fn finds_bad_entries() {
        for header in [
            r#"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#,
            r#"{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#,
            r#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}"#,
            r#"{"w":{"dtype":"U8","shape":[1]}}"#,
            r#"{"w":[1,2]}"#,
            r#"{"__metadata__":{"n":1}}"#,
            r#"{"__metadata__":"x"}"#,
        ] {
            let p = problems(&file(header, &[0; 1]));
            assert!(
                p.iter().any(|p| matches!(p, Problem::BadEntry { .. })),
                "{header}: {p:?}"
            );
        }
    }

    #[test]
    fn finds_layout_problems() {
        let size = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#;
        assert!(matches!(
            problems(&file(size, &[0; 4]))[0],
            Problem::SizeMismatch { .. }
        ));
        let reversed = r#"{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#;
        assert!(matches!(
            problems(&file(reversed, &[0; 4]))[0],
            Problem::BadOffsets { .. }
        ));
        let outside = r#"{"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#;
        assert!(matches!(
            problems(&file(outside, &[0; 4]))[0],
            Problem::BadOffsets { .. }
        ));
        let overlap = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#;
        assert!(
            problems(&file(overlap, &[0; 4])).contains(&Problem::Overlap {
                first: "a".into(),
                second: "b".into()
            })
        );
        let hole = r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#;
        assert_eq!(
            problems(&file(hole, &[0; 8])),
            [
                Problem::Uncovered { start: 2, end: 4 },
                Problem::Uncovered { start: 6, end: 8 }
            ]
        );
        let sub_byte = r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#;
        assert!(matches!(
            problems(&file(sub_byte, &[0; 2]))[0],
            Problem::SizeMismatch { expected: None, .. }
        ));
    }

    #[test]
    fn overflowing_shapes_are_mismatches_not_panics() {
        let h = format!(
            r#"{{"w":{{"dtype":"F64","shape":[{},{}],"data_offsets":[0,8]}}}}"#,
            u64::MAX,
            u64::MAX
        );
        assert!(matches!(
            problems(&file(&h, &[0; 8]))[0],
            Problem::SizeMismatch { expected: None, .. }
        ));
        let h = r#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,18446744073709551616]}}"#;
        assert!(matches!(
            problems(&file(h, &[0; 8]))[0],
            Problem::BadEntry { .. }
        ));
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            parse(b"\x02\0\0", 100),
            Err(HeaderError::TooShort { len: 3 })
        );
        let mut f = u64::MAX.to_le_bytes().to_vec();
        f.extend(b"{}");
        assert!(matches!(
            parse(&f, REFERENCE_MAX_HEADER),
            Err(HeaderError::TooLarge { .. })
        ));
        let mut f = 1000u64.to_le_bytes().to_vec();
        f.extend(b"{}");
        assert!(matches!(
            parse(&f, REFERENCE_MAX_HEADER),
            Err(HeaderError::PastEnd { .. })
        ));
        assert!(matches!(
            parse(&file("[1]", &[]), 100),
            Err(HeaderError::BadStart)
        ));
        assert!(matches!(
            parse(&file("{\"a\":", &[]), 100),
            Err(HeaderError::NotJson { .. })
        ));
        let mut f = file("{\"a\": \"\u{e9}\"}", &[]);
        f[14] = 0xff;
        assert!(matches!(parse(&f, 100), Err(HeaderError::NotUtf8 { .. })));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            parse(&file(&deep, &[]), REFERENCE_MAX_HEADER),
            Err(HeaderError::NotJson { .. })
        ));
    }

    #[test]
    fn every_truncation_fails() {
        let f = realistic();
        for cut in 0..f.len() {
            let ok_and_clean = parse(&f[..cut], REFERENCE_MAX_HEADER)
                .map(|h| h.problems.is_empty())
                .unwrap_or(false);
            assert!(!ok_and_clean, "prefix {cut} reads as clean");
        }
    }
}
