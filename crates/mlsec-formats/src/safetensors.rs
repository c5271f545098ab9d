//! safetensors files: an 8-byte little-endian header length, a JSON header,
//! then a data area that the header's tensors must index exactly.
//!
//! The header is read in one streaming pass (after a quick count that sizes
//! the tensor list) that builds the tensor entries and the `__metadata__` map
//! directly, and that remembers every key of every object it checks, because
//! `serde_json` (and the reference loader, which deserializes into a
//! `HashMap`) silently keep the last of duplicate keys: two entries for one
//! tensor name let a scanner and a loader see different tensors. The checks
//! follow the reference implementation, which refuses files whose tensors
//! overlap, leave holes, or do not end exactly at the end of the file.
//!
//! Memory stays a small multiple of the header: keys are remembered as one
//! buffer of their bytes plus a word each, and no generic JSON tree is built
//! (one took some 900 bytes per tensor entry, 1.1 GB for an 80 MB header of
//! 1.2 million tensors). What a hostile header can repeat without bound and
//! would cost more than its own bytes is bounded instead: problems are kept up
//! to [`MAX_PROBLEMS_PER_KIND`] of each kind and counted past that, and the
//! `__metadata__` map is read up to [`MAX_METADATA_ENTRIES`] entries.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The reference loader refuses headers larger than this (100 MB).
pub const REFERENCE_MAX_HEADER: u64 = 100_000_000;

/// Problems of one kind kept in [`Header::problems`]; the rest are counted in
/// [`Header::unlisted_problems`]. A header of a million broken entries would
/// otherwise cost a formatted problem (over 100 bytes) per 7-byte entry, and
/// no report lists more than a few of each kind.
pub const MAX_PROBLEMS_PER_KIND: usize = 100;

/// Most `__metadata__` entries read. Writers store a handful (`format`, a
/// training tool's few dozen settings); each costs two strings, several times
/// its bytes in the header, so a larger map is a [`Problem::TooManyMetadata`]
/// and its remaining entries are not read.
pub const MAX_METADATA_ENTRIES: usize = 10_000;

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
    /// `__metadata__` holds more than `limit` entries ([`MAX_METADATA_ENTRIES`]);
    /// those past it were not read.
    TooManyMetadata { limit: usize },
}

impl Problem {
    /// Index of the kind, for [`MAX_PROBLEMS_PER_KIND`].
    fn kind(&self) -> usize {
        match self {
            Problem::DuplicateKey { .. } => 0,
            Problem::BadEntry { .. } => 1,
            Problem::SizeMismatch { .. } => 2,
            Problem::BadOffsets { .. } => 3,
            Problem::Overlap { .. } => 4,
            Problem::Uncovered { .. } => 5,
            Problem::TooManyMetadata { .. } => 6,
        }
    }
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
            Problem::TooManyMetadata { limit } => write!(
                f,
                "`__metadata__` has more than {limit} entries; the rest were not read"
            ),
        }
    }
}

/// One well-formed tensor entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    pub name: String,
    /// One of the names [`dtype_bits`] knows (interned: entries with other
    /// dtypes are [`Problem::BadEntry`]s, not tensors).
    pub dtype: &'static str,
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
    /// At most [`MAX_PROBLEMS_PER_KIND`] of each kind, in the order found.
    pub problems: Vec<Problem>,
    /// Problems found beyond [`MAX_PROBLEMS_PER_KIND`] of their kind.
    pub unlisted_problems: u64,
}

/// The dtypes the reference loader knows, with the size in bits of one element.
const DTYPES: [(&str, u64); 20] = [
    ("F4", 4),
    ("F6_E2M3", 6),
    ("F6_E3M2", 6),
    ("BOOL", 8),
    ("U8", 8),
    ("I8", 8),
    ("F8_E5M2", 8),
    ("F8_E4M3", 8),
    ("F8_E8M0", 8),
    ("I16", 16),
    ("U16", 16),
    ("F16", 16),
    ("BF16", 16),
    ("I32", 32),
    ("U32", 32),
    ("F32", 32),
    ("I64", 64),
    ("U64", 64),
    ("F64", 64),
    ("C64", 64),
];

/// The table's own copy of a known dtype name, so entries need not own one.
fn known_dtype(dtype: &str) -> Option<(&'static str, u64)> {
    DTYPES.iter().find(|(name, _)| *name == dtype).copied()
}

/// Size in bits of one element of each dtype the reference loader knows.
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    known_dtype(dtype).map(|(_, bits)| bits)
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
    let raw = usize::try_from(declared)
        .ok()
        .and_then(|n| data.get(8..)?.get(..n));
    let Some(raw) = raw else {
        return Err(HeaderError::PastEnd {
            declared,
            available,
        });
    };
    let text = std::str::from_utf8(raw).map_err(|e| HeaderError::NotUtf8 {
        offset: 8 + e.valid_up_to() as u64,
    })?;
    if !text.starts_with('{') {
        return Err(HeaderError::BadStart);
    }
    let not_json = |e: serde_json::Error| HeaderError::NotJson {
        reason: e.to_string(),
    };
    let mut reader = HeaderReader::default();
    reader.tensors.reserve_exact(tensor_capacity(text));
    let mut de = serde_json::Deserializer::from_str(text);
    let is_object = (&mut reader).deserialize(&mut de).map_err(not_json)?;
    de.end().map_err(not_json)?;
    if !is_object {
        return Err(HeaderError::NotObject);
    }
    let HeaderReader {
        top_keys,
        tensors,
        metadata,
        problems: entry_problems,
        ..
    } = reader;
    // Repeated top-level keys come first, as they always have; they are known
    // only once the whole object was read.
    let mut problems = Problems::default();
    for (first, count) in top_keys.repeats() {
        problems.push(Problem::DuplicateKey {
            path: String::new(),
            key: top_keys.key(first).to_string(),
            count,
        });
    }
    problems.unlisted += entry_problems.unlisted;
    for p in entry_problems.list {
        problems.push(p);
    }
    drop(top_keys);
    let mut header = Header {
        header_len: declared,
        data_start: 8 + declared,
        data_len: available - declared,
        tensors,
        metadata,
        problems: Vec::new(),
        unlisted_problems: 0,
    };
    check_layout(&header, &mut problems);
    header.problems = problems.list;
    header.unlisted_problems = problems.unlisted;
    Ok(header)
}

/// Bytes of the smallest well-formed tensor entry,
/// `"":{"dtype":"U8","shape":[],"data_offsets":[0,0]}`.
const MIN_TENSOR_ENTRY: usize = 49;

/// How many tensors the header can hold: its top-level entries whose value
/// is an object, and no more than fit in its length. Counted in a quick
/// first pass that keeps nothing, so the list of tensors is allocated once:
/// growing it by doubling holds the old and the new list at once (in the CLI,
/// whose allocator copies large blocks to grow them, a third of the memory a
/// header of a million tensors took). Invalid JSON counts 0: the real pass
/// reports it.
fn tensor_capacity(text: &str) -> usize {
    struct Objects;

    impl<'de> Visitor<'de> for Objects {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while map.next_key::<IgnoredAny>()?.is_some() {
                n += usize::from(map.next_value::<IsObject>()?.0);
            }
            Ok(n)
        }
    }

    struct IsObject(bool);

    impl<'de> serde::Deserialize<'de> for IsObject {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(IsObjectVisitor)
        }
    }

    struct IsObjectVisitor;

    impl<'de> Visitor<'de> for IsObjectVisitor {
        type Value = IsObject;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IsObject, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(IsObject(true))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IsObject, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(IsObject(false))
        }
        fn visit_unit<E>(self) -> Result<IsObject, E> {
            Ok(IsObject(false))
        }
        fn visit_bool<E>(self, _: bool) -> Result<IsObject, E> {
            Ok(IsObject(false))
        }
        fn visit_u64<E>(self, _: u64) -> Result<IsObject, E> {
            Ok(IsObject(false))
        }
        fn visit_i64<E>(self, _: i64) -> Result<IsObject, E> {
            Ok(IsObject(false))
        }
        fn visit_f64<E>(self, _: f64) -> Result<IsObject, E> {
            Ok(IsObject(false))
        }
        fn visit_str<E>(self, _: &str) -> Result<IsObject, E> {
            Ok(IsObject(false))
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(Objects)
        .unwrap_or(0)
        .min(text.len() / MIN_TENSOR_ENTRY)
}

/// Problems in the order found, at most [`MAX_PROBLEMS_PER_KIND`] of a kind.
#[derive(Default)]
struct Problems {
    list: Vec<Problem>,
    per_kind: [usize; 7],
    unlisted: u64,
}

impl Problems {
    fn push(&mut self, p: Problem) {
        // `per_kind` has a slot for every kind.
        match self.per_kind.get_mut(p.kind()) {
            Some(kept) if *kept < MAX_PROBLEMS_PER_KIND => {
                *kept += 1;
                self.list.push(p);
            }
            _ => self.unlisted += 1,
        }
    }
}

/// The keys of one JSON object in order, as one buffer of their bytes and
/// the end of each: a few bytes more per key than the header spends on it,
/// where a `String` each would cost 24 bytes and a heap block.
#[derive(Default)]
struct KeyLog {
    text: String,
    ends: Vec<usize>,
}

impl KeyLog {
    fn push(&mut self, key: &str) {
        self.text.push_str(key);
        self.ends.push(self.text.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Key `i`, for `i` below [`KeyLog::len`] (an empty key past it).
    fn key(&self, i: usize) -> &str {
        let (start, end) = match i.checked_add(1).and_then(|n| self.ends.get(..n)) {
            Some([.., start, end]) => (*start, *end),
            Some([end]) => (0, *end),
            _ => (0, 0),
        };
        self.text.get(start..end).unwrap_or_default()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// `(first index, count)` of each key that appears more than once, in
    /// the order of first appearance.
    fn repeats(&self) -> Vec<(usize, usize)> {
        let n = self.len();
        // Small objects (every tensor entry) are compared pairwise, without
        // allocating.
        if n <= 16 {
            return (0..n)
                .filter(|&i| (0..i).all(|j| self.key(j) != self.key(i)))
                .map(|i| (i, (i..n).filter(|&j| self.key(j) == self.key(i)).count()))
                .filter(|&(_, count)| count > 1)
                .collect();
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by(|&a, &b| self.key(a).cmp(self.key(b)).then(a.cmp(&b)));
        let mut out: Vec<(usize, usize)> = order
            .chunk_by(|&a, &b| self.key(a) == self.key(b))
            .filter_map(|group| match group {
                [first, _, ..] => Some((*first, group.len())),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out
    }
}

/// Reads the top-level object entry by entry.
#[derive(Default)]
struct HeaderReader {
    top_keys: KeyLog,
    /// The keys of the tensor entry being read; kept to reuse its buffers.
    fields: KeyLog,
    tensors: Vec<TensorEntry>,
    metadata: Vec<(String, String)>,
    /// Entries of every `__metadata__` object read, counted against
    /// [`MAX_METADATA_ENTRIES`].
    metadata_seen: usize,
    problems: Problems,
}

/// Deserializes to whether the header was a JSON object.
impl<'de> DeserializeSeed<'de> for &mut HeaderReader {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut HeaderReader {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            self.top_keys.push(&name);
            if name == "__metadata__" {
                map.next_value_seed(MetadataReader(&mut *self))?;
                continue;
            }
            self.fields.clear();
            let read = map.next_value_seed(TensorReader {
                fields: &mut self.fields,
            })?;
            for (first, count) in self.fields.repeats() {
                self.problems.push(Problem::DuplicateKey {
                    path: name.clone(),
                    key: self.fields.key(first).to_string(),
                    count,
                });
            }
            match read.and_then(TensorFields::entry) {
                Ok((dtype, shape, begin, end)) => self.tensors.push(TensorEntry {
                    name,
                    dtype,
                    shape,
                    begin,
                    end,
                }),
                Err(reason) => self.problems.push(Problem::BadEntry { name, reason }),
            }
        }
        Ok(true)
    }

    // Anything else is not an object (a header starting with `{` never is).
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        Scalar::skip_seq(seq).map(|_| false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
}

/// Reads one `__metadata__` value into the header.
struct MetadataReader<'r>(&'r mut HeaderReader);

impl<'de> DeserializeSeed<'de> for MetadataReader<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl MetadataReader<'_> {
    fn not_a_map(self, kind: &str) {
        self.0.problems.push(Problem::BadEntry {
            name: "__metadata__".into(),
            reason: format!("is {kind}, but must be an object of strings"),
        });
    }
}

impl<'de> Visitor<'de> for MetadataReader<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let reader = self.0;
        let mut keys = KeyLog::default();
        // Value problems follow the repeated keys, which are known only at the end.
        let mut bad = Problems::default();
        while let Some(key) = map.next_key::<String>()? {
            if reader.metadata_seen == MAX_METADATA_ENTRIES {
                reader.problems.push(Problem::TooManyMetadata {
                    limit: MAX_METADATA_ENTRIES,
                });
            }
            reader.metadata_seen = reader.metadata_seen.saturating_add(1);
            let value = map.next_value::<Scalar>()?;
            if reader.metadata_seen > MAX_METADATA_ENTRIES {
                continue;
            }
            keys.push(&key);
            match value {
                Scalar::Str(s) => reader.metadata.push((key, s)),
                other => bad.push(Problem::BadEntry {
                    name: "__metadata__".into(),
                    reason: format!(
                        "value of `{key}` is {}, but metadata values must be strings",
                        other.kind()
                    ),
                }),
            }
        }
        for (first, count) in keys.repeats() {
            reader.problems.push(Problem::DuplicateKey {
                path: "__metadata__".into(),
                key: keys.key(first).to_string(),
                count,
            });
        }
        reader.problems.unlisted += bad.unlisted;
        for p in bad.list {
            reader.problems.push(p);
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let kind = Scalar::skip_seq(seq)?.kind();
        self.not_a_map(kind);
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.not_a_map("a boolean");
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.not_a_map("an integer");
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.not_a_map(Scalar::from_i64(v).kind());
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.not_a_map(NEGATIVE_OR_FRACTIONAL);
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.not_a_map("a string");
        Ok(())
    }
}

/// The last value of each field of a tensor entry (loaders keep the last of
/// repeated keys, so the checks do too).
#[derive(Default)]
struct TensorFields {
    dtype: Option<Scalar>,
    shape: Option<List>,
    data_offsets: Option<List>,
}

impl TensorFields {
    /// The entry's dtype, shape and offsets, or why it is not a tensor entry.
    fn entry(self) -> Result<(&'static str, Vec<u64>, u64, u64), String> {
        let dtype = match self.dtype {
            Some(Scalar::Str(d)) => match known_dtype(&d) {
                Some((name, _)) => name,
                None => return Err(format!("unknown dtype `{d}`")),
            },
            Some(other) => return Err(format!("dtype is {}, not a string", other.kind())),
            None => return Err("has no dtype".into()),
        };
        let shape = match self.shape {
            Some(List::Items {
                mut items,
                first_bad: None,
                ..
            }) => {
                items.shrink_to_fit();
                items
            }
            Some(List::Items {
                first_bad: Some(kind),
                ..
            }) => return Err(format!("shape has {kind}, not a non-negative integer")),
            Some(List::NotList(kind)) => return Err(format!("shape is {kind}, not a list")),
            None => return Err("has no shape".into()),
        };
        let offsets = match self.data_offsets {
            Some(List::Items {
                items,
                len: 2,
                first_bad: None,
            }) => <[u64; 2]>::try_from(items.as_slice()).ok(),
            Some(List::Items { .. }) => None,
            Some(List::NotList(kind)) => return Err(format!("data_offsets is {kind}, not a list")),
            None => return Err("has no data_offsets".into()),
        };
        let Some([begin, end]) = offsets else {
            return Err("data_offsets must be two non-negative integers".into());
        };
        Ok((dtype, shape, begin, end))
    }
}

/// Reads one tensor entry's value: its fields, or why it is not an object.
/// Every key goes into `fields`, for the repeated-key check.
struct TensorReader<'r> {
    fields: &'r mut KeyLog,
}

impl<'de> DeserializeSeed<'de> for TensorReader<'_> {
    type Value = Result<TensorFields, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A value that is not an object, as the reason the entry is refused.
fn not_object(s: Scalar) -> Result<TensorFields, String> {
    Err(format!("is {}, not an object", s.kind()))
}

impl<'de> Visitor<'de> for TensorReader<'_> {
    type Value = Result<TensorFields, String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tensor entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut t = TensorFields::default();
        while let Some(key) = map.next_key_seed(FieldKey(&mut *self.fields))? {
            match key {
                Field::Dtype => t.dtype = Some(map.next_value::<Scalar>()?),
                Field::Shape => t.shape = Some(map.next_value_seed(List::seed(usize::MAX))?),
                Field::DataOffsets => t.data_offsets = Some(map.next_value_seed(List::seed(2))?),
                Field::Other => {
                    map.next_value::<Scalar>()?;
                }
            }
        }
        Ok(Ok(t))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Scalar::skip_seq(seq).map(not_object)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(not_object(Scalar::Other("null")))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(not_object(Scalar::Other("a boolean")))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(not_object(Scalar::U64(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(not_object(Scalar::from_i64(v)))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(not_object(Scalar::Other(NEGATIVE_OR_FRACTIONAL)))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("is a string, not an object".into()))
    }
}

/// The fields of a tensor entry the format defines.
enum Field {
    Dtype,
    Shape,
    DataOffsets,
    Other,
}

/// Reads a key of a tensor entry into the key log, without allocating.
struct FieldKey<'r>(&'r mut KeyLog);

impl<'de> DeserializeSeed<'de> for FieldKey<'_> {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldKey<'_> {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Field, E> {
        self.0.push(key);
        Ok(match key {
            "dtype" => Field::Dtype,
            "shape" => Field::Shape,
            "data_offsets" => Field::DataOffsets,
            _ => Field::Other,
        })
    }
}

/// A JSON value reduced to what the format checks need: non-negative
/// integers and strings are kept, anything else only by its kind. Lists and
/// objects are read through (nesting is bounded by `serde_json`'s recursion
/// limit) and dropped.
enum Scalar {
    U64(u64),
    Str(String),
    Other(&'static str),
}

/// Negative integers and floats: never valid where this format wants numbers.
const NEGATIVE_OR_FRACTIONAL: &str = "a negative or fractional number";

impl Scalar {
    fn from_i64(v: i64) -> Scalar {
        u64::try_from(v).map_or(Scalar::Other(NEGATIVE_OR_FRACTIONAL), Scalar::U64)
    }

    /// How the problem messages name the value's kind.
    fn kind(&self) -> &'static str {
        match self {
            Scalar::U64(_) => "an integer",
            Scalar::Str(_) => "a string",
            Scalar::Other(kind) => kind,
        }
    }

    fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<Scalar>()?.is_some() {}
        Ok(Scalar::Other("a list"))
    }
}

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other("a boolean"))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::from_i64(v))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other(NEGATIVE_OR_FRACTIONAL))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        Scalar::skip_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value::<Scalar>()?;
        }
        Ok(Scalar::Other("an object"))
    }
}

/// A list of non-negative integers (`shape`, `data_offsets`), or the kind of
/// the value that is not a list.
enum List {
    Items {
        /// The leading integers, at most the number asked for, and none after
        /// the first element that is not one.
        items: Vec<u64>,
        /// How many elements the list has.
        len: usize,
        /// The kind of the first element that is not a non-negative integer.
        first_bad: Option<&'static str>,
    },
    NotList(&'static str),
}

/// Reads a [`List`], keeping at most `keep` integers: a `data_offsets` of a
/// million numbers is refused without holding them.
struct ListSeed {
    keep: usize,
}

impl List {
    fn seed(keep: usize) -> ListSeed {
        ListSeed { keep }
    }
}

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = List;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<List, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = List;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of integers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
        let mut items = Vec::new();
        let mut len = 0usize;
        let mut first_bad = None;
        while let Some(item) = seq.next_element::<Scalar>()? {
            len += 1;
            match item {
                Scalar::U64(n) if first_bad.is_none() && items.len() < self.keep => items.push(n),
                Scalar::U64(_) => {}
                other => {
                    first_bad.get_or_insert(other.kind());
                }
            }
        }
        Ok(List::Items {
            items,
            len,
            first_bad,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List, A::Error> {
        ScalarVisitor
            .visit_map(map)
            .map(|s| List::NotList(s.kind()))
    }
    fn visit_unit<E>(self) -> Result<List, E> {
        Ok(List::NotList("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<List, E> {
        Ok(List::NotList("a boolean"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<List, E> {
        Ok(List::NotList("an integer"))
    }
    fn visit_i64<E>(self, v: i64) -> Result<List, E> {
        Ok(List::NotList(Scalar::from_i64(v).kind()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<List, E> {
        Ok(List::NotList(NEGATIVE_OR_FRACTIONAL))
    }
    fn visit_str<E>(self, _: &str) -> Result<List, E> {
        Ok(List::NotList("a string"))
    }
}

/// Sizes, bounds, overlaps and coverage of the data area.
fn check_layout(header: &Header, problems: &mut Problems) {
    let data_len = header.data_len;
    let mut in_bounds: Vec<&TensorEntry> = Vec::new();
    for t in &header.tensors {
        if t.begin > t.end || t.end > data_len {
            problems.push(Problem::BadOffsets {
                name: t.name.clone(),
                begin: t.begin,
                end: t.end,
                data_len,
            });
            continue;
        }
        let actual = t.end - t.begin;
        let expected = expected_bytes(t.dtype, &t.shape);
        if expected != Some(actual) {
            problems.push(Problem::SizeMismatch {
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
            problems.push(Problem::Overlap {
                first: last.map(|l| l.name.clone()).unwrap_or_default(),
                second: t.name.clone(),
            });
        } else if t.begin > covered {
            problems.push(Problem::Uncovered {
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
        problems.push(Problem::Uncovered {
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
    fn repeated_keys_are_counted_in_objects_of_any_size() {
        // More keys than the pairwise check handles: the sorting path.
        let mut entries: Vec<String> = (0..40)
            .map(|i| {
                format!(
                    r#""t{}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#,
                    i % 15
                )
            })
            .collect();
        entries.push(r#""__metadata__":null"#.into());
        let h = parse(&file(&format!("{{{}}}", entries.join(",")), &[]), 100_000).unwrap();
        let dups: Vec<_> = h
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::DuplicateKey { path, key, count } if path.is_empty() => {
                    Some((key.as_str(), *count))
                }
                _ => None,
            })
            .collect();
        // In order of first appearance, with exact counts.
        let want: Vec<(String, usize)> = (0..15)
            .map(|i| (format!("t{i}"), if i < 10 { 3 } else { 2 }))
            .collect();
        let want: Vec<(&str, usize)> = want.iter().map(|(k, c)| (k.as_str(), *c)).collect();
        assert_eq!(dups, want);
        // Twenty fields, five of them repeated, in one tensor entry.
        let fields: Vec<String> = (0..20).map(|i| format!(r#""f{}":0"#, i % 15)).collect();
        let h = format!(
            r#"{{"w":{{{},"dtype":"U8","shape":[1],"data_offsets":[0,1]}}}}"#,
            fields.join(",")
        );
        let p = problems(&file(&h, &[0]));
        assert_eq!(p.len(), 5, "{p:?}");
        assert_eq!(
            p[0],
            Problem::DuplicateKey {
                path: "w".into(),
                key: "f0".into(),
                count: 2
            }
        );
    }

    #[test]
    fn problems_are_kept_up_to_a_bound_per_kind() {
        let entries: Vec<String> = (0..250)
            .map(|i| format!(r#""t{i}":{{"dtype":"F32","shape":[2],"data_offsets":[0,1]}}"#))
            .chain((0..30).map(|i| format!(r#""b{i}":1"#)))
            .collect();
        let h = parse(&file(&format!("{{{}}}", entries.join(",")), &[0]), 100_000).unwrap();
        let count = |kind: fn(&Problem) -> bool| h.problems.iter().filter(|p| kind(p)).count();
        assert_eq!(count(|p| matches!(p, Problem::BadEntry { .. })), 30);
        assert_eq!(
            count(|p| matches!(p, Problem::SizeMismatch { .. })),
            MAX_PROBLEMS_PER_KIND
        );
        // 250 size mismatches and 249 overlaps, less the 100 kept of each.
        assert_eq!(h.unlisted_problems, 150 + 149);
        // The first ones are kept, in order.
        assert!(matches!(&h.problems[30], Problem::SizeMismatch { name, .. } if name == "t0"));
    }

    #[test]
    fn a_huge_metadata_map_is_a_limit_not_a_memory_cost() {
        let entries: Vec<String> = (0..MAX_METADATA_ENTRIES + 5)
            .map(|i| format!(r#""k{i}":"v""#))
            .collect();
        let h = format!(
            r#"{{"__metadata__":{{{}}},"w":{{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}}}"#,
            entries.join(",")
        );
        let h = parse(&file(&h, &[0]), REFERENCE_MAX_HEADER).unwrap();
        assert_eq!(h.metadata.len(), MAX_METADATA_ENTRIES);
        assert_eq!(
            h.problems,
            [Problem::TooManyMetadata {
                limit: MAX_METADATA_ENTRIES
            }]
        );
        // The tensors after the map are still read.
        assert_eq!(h.tensors.len(), 1);
    }

    #[test]
    fn the_smallest_tensor_entry_is_as_long_as_assumed() {
        let entry = r#""":{"dtype":"U8","shape":[],"data_offsets":[0,0]}"#;
        assert_eq!(entry.len(), MIN_TENSOR_ENTRY);
        // A tensor entry (its size is wrong: a scalar needs a byte).
        let h = parse(&file(&format!("{{{entry}}}"), &[]), 100).unwrap();
        assert_eq!(h.tensors.len(), 1);
        // Objects that cannot be tensors do not reserve room for one each.
        let objects = format!("{{{}}}", vec![r#""a":{}"#; 1000].join(","));
        assert_eq!(tensor_capacity(&objects), objects.len() / MIN_TENSOR_ENTRY);
        assert_eq!(tensor_capacity(r#"{"a":{},"b":1,"c":[{}]}"#), 0);
        assert_eq!(tensor_capacity("{\"a\":"), 0);
    }

    #[test]
    fn dtypes_are_the_reference_list() {
        assert_eq!(DTYPES.len(), 20);
        for (name, bits) in DTYPES {
            assert_eq!(dtype_bits(name), Some(bits));
        }
        assert_eq!(dtype_bits("Q4"), None);
        let h = parse(&realistic(), REFERENCE_MAX_HEADER).unwrap();
        assert_eq!(h.tensors[0].dtype, "BF16");
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
