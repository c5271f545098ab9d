//! GGUF files (llama.cpp's model format), versions 1 to 3, either byte order.
//!
//! Layout: `GGUF`, a version, the tensor and key/value counts, the key/value
//! metadata, the tensor infos, padding to `general.alignment`, tensor data.
//! Every count and length is checked against the bytes left before anything
//! is allocated. What is kept of a read file is an index: one 8-byte file
//! offset per key/value and per tensor info ([`Metadata`], [`Tensors`]), each
//! entry decoded again from the input when it is asked for. Decoded entries
//! (64 bytes a key/value, plus a heap block per tensor's dimensions) cost
//! several times the 13 bytes of the smallest entry: a 70 MB file of 3 million
//! tiny keys needed 540 MB. The index never costs more than the input it
//! points into. Values borrow the input, never copy it, and arrays are kept
//! as their raw bytes.

use std::fmt;
use std::ops::Range;

pub const MAGIC: &[u8] = b"GGUF";

/// Alignment of the tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Most dimensions a ggml tensor has.
pub const MAX_DIMS: u32 = 4;

/// Deepest nesting of arrays inside arrays accepted.
pub const MAX_ARRAY_DEPTH: usize = 8;

/// Metadata value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    fn from_id(id: u32) -> Option<Self> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// Size of a fixed-size value; `None` for strings and arrays.
    fn fixed_size(self) -> Option<u64> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }

    pub fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "uint8",
            I8 => "int8",
            U16 => "uint16",
            I16 => "int16",
            U32 => "uint32",
            I32 => "int32",
            F32 => "float32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "uint64",
            I64 => "int64",
            F64 => "float64",
        }
    }
}

/// A metadata value. Integers are widened; strings and arrays borrow the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Uint(ValueType, u64),
    Int(ValueType, i64),
    Float(ValueType, f64),
    Bool(u8),
    /// Raw bytes: GGUF strings should be UTF-8 but nothing enforces it.
    Str(&'a [u8]),
    Array(Array<'a>),
}

impl Value<'_> {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Uint(t, _) | Value::Int(t, _) | Value::Float(t, _) => t.name(),
            Value::Bool(_) => "bool",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
        }
    }
}

/// An array value: its element type and count, and the raw bytes of its elements.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<'a> {
    pub elem: ValueType,
    pub len: u64,
    raw: &'a [u8],
    wide: bool,
    big_endian: bool,
}

impl<'a> Array<'a> {
    /// The elements of an array of strings (none for other element types).
    /// The bounds were checked when the array was read.
    pub fn strings(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let mut r = Reader {
            data: self.raw,
            pos: 0,
            wide: self.wide,
            big_endian: self.big_endian,
        };
        let n = if self.elem == ValueType::String {
            self.len
        } else {
            0
        };
        (0..n).map_while(move |_| r.string().ok())
    }
}

/// One metadata entry.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue<'a> {
    pub key: &'a [u8],
    /// File offset of the entry (its key length field).
    pub offset: u64,
    /// File offset of the value (after its type field); for strings, of the
    /// length field, so the text starts 8 bytes later (4 in version 1).
    pub value_offset: u64,
    pub value: Value<'a>,
}

impl KeyValue<'_> {
    pub fn key_str(&self) -> String {
        String::from_utf8_lossy(self.key).into_owned()
    }
}

/// One tensor info entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo<'a> {
    pub name: &'a [u8],
    /// File offset of the entry.
    pub offset: u64,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    /// Offset of the tensor's data, relative to the start of the data section.
    pub data_offset: u64,
}

impl TensorInfo<'_> {
    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }
}

/// What was read of a GGUF file. When `error` is set, reading stopped there
/// and the lists hold what came before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Gguf<'a> {
    pub version: u32,
    pub big_endian: bool,
    pub tensor_count: u64,
    pub kv_count: u64,
    pub kvs: Metadata<'a>,
    pub tensors: Tensors<'a>,
    /// From `general.alignment`, else the default.
    pub alignment: u64,
    /// File offset of the data section (after the tensor infos, aligned).
    pub data_start: u64,
    pub error: Option<GgufError>,
}

/// How a file encodes numbers and lengths, for decoding entries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Encoding {
    /// Versions 2 and 3 use 64-bit counts and lengths; version 1 used 32-bit ones.
    wide: bool,
    big_endian: bool,
}

/// Entries of one kind (key/values or tensor infos) as the file offsets
/// where each starts. Every offset was recorded after its entry was read in
/// full, so decoding it again reads the same bytes the same way.
#[derive(Clone, PartialEq)]
struct Index<'a> {
    data: &'a [u8],
    enc: Encoding,
    offsets: Vec<u64>,
}

impl<'a> Index<'a> {
    fn reader(&self, i: usize) -> Option<Reader<'a>> {
        let pos = usize::try_from(*self.offsets.get(i)?).ok()?;
        Some(Reader {
            data: self.data,
            pos,
            wide: self.enc.wide,
            big_endian: self.enc.big_endian,
        })
    }

    /// The key or name each entry starts with.
    fn name(&self, i: usize) -> Option<&'a [u8]> {
        self.reader(i)?.string().ok()
    }

    /// Indices, in file order, of the entries whose name an earlier entry
    /// already has: every such entry, or (`all` false) only the second of
    /// each name. Sorts indices rather than hashing names, so the only memory
    /// it takes is one `usize` per entry.
    fn repeated(&self, all: bool) -> Vec<usize> {
        let name = |i: usize| self.name(i).unwrap_or_default();
        let mut order: Vec<usize> = (0..self.offsets.len()).collect();
        order.sort_unstable_by(|&a, &b| name(a).cmp(name(b)).then(a.cmp(&b)));
        let mut out: Vec<usize> = order
            .chunk_by(|&a, &b| name(a) == name(b))
            .flat_map(|group| group.iter().skip(1).take(if all { usize::MAX } else { 1 }))
            .copied()
            .collect();
        out.sort_unstable();
        out
    }
}

/// The metadata entries read, decoded on demand (see the module docs for why
/// they are not kept decoded).
#[derive(Clone, PartialEq)]
pub struct Metadata<'a>(Index<'a>);

impl<'a> Metadata<'a> {
    pub fn len(&self) -> usize {
        self.0.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.offsets.is_empty()
    }

    /// The `i`th entry in file order.
    pub fn get(&self, i: usize) -> Option<KeyValue<'a>> {
        self.0.reader(i)?.key_value().ok()
    }

    /// The key of the `i`th entry, without decoding its value.
    pub fn key(&self, i: usize) -> Option<&'a [u8]> {
        self.0.name(i)
    }

    /// The entries in file order.
    pub fn iter(&self) -> Iter<'_, Self> {
        Iter {
            of: self,
            next: 0..self.len(),
        }
    }

    /// Indices, in file order, of the second entry of each key that appears
    /// more than once (one per repeated key, however often it repeats).
    pub fn repeated(&self) -> Vec<usize> {
        self.0.repeated(false)
    }
}

/// The tensor infos read, decoded on demand (see the module docs for why
/// they are not kept decoded).
#[derive(Clone, PartialEq)]
pub struct Tensors<'a>(Index<'a>);

impl<'a> Tensors<'a> {
    pub fn len(&self) -> usize {
        self.0.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.offsets.is_empty()
    }

    /// The `i`th tensor info in file order.
    pub fn get(&self, i: usize) -> Option<TensorInfo<'a>> {
        self.0.reader(i)?.tensor_info().ok()
    }

    /// The name of the `i`th tensor, without decoding the rest of its info.
    pub fn name(&self, i: usize) -> Option<&'a [u8]> {
        self.0.name(i)
    }

    /// The tensor infos in file order.
    pub fn iter(&self) -> Iter<'_, Self> {
        Iter {
            of: self,
            next: 0..self.len(),
        }
    }

    /// Indices, in file order, of the tensors whose name an earlier tensor
    /// already has (the second, third, ... of each repeated name).
    pub fn repeated(&self) -> Vec<usize> {
        self.0.repeated(true)
    }
}

/// Decodes entries one by one: [`Metadata::iter`], [`Tensors::iter`].
pub struct Iter<'s, T> {
    of: &'s T,
    next: Range<usize>,
}

impl<'a> Iterator for Iter<'_, Metadata<'a>> {
    type Item = KeyValue<'a>;
    fn next(&mut self) -> Option<KeyValue<'a>> {
        self.next.find_map(|i| self.of.get(i))
    }
}

impl<'a> Iterator for Iter<'_, Tensors<'a>> {
    type Item = TensorInfo<'a>;
    fn next(&mut self) -> Option<TensorInfo<'a>> {
        self.next.find_map(|i| self.of.get(i))
    }
}

impl<'s, 'a> IntoIterator for &'s Metadata<'a> {
    type Item = KeyValue<'a>;
    type IntoIter = Iter<'s, Metadata<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'s, 'a> IntoIterator for &'s Tensors<'a> {
    type Item = TensorInfo<'a>;
    type IntoIter = Iter<'s, Tensors<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Lists the decoded entries, as the `Vec` they replace did.
impl fmt::Debug for Metadata<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for Tensors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufError {
    pub offset: u64,
    pub reason: String,
}

impl fmt::Display for GgufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.offset)
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Versions 2 and 3 use 64-bit counts and lengths; version 1 used 32-bit ones.
    wide: bool,
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> u64 {
        (self.data.len() - self.pos) as u64
    }

    fn fail(&self, at: usize, reason: impl Into<String>) -> GgufError {
        GgufError {
            offset: at as u64,
            reason: reason.into(),
        }
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<&'a [u8], GgufError> {
        let out = usize::try_from(n)
            .ok()
            .and_then(|n| self.data.get(self.pos..)?.get(..n));
        let Some(out) = out else {
            return Err(self.fail(
                self.pos,
                format!(
                    "{what} needs {n} bytes but only {} are left",
                    self.remaining()
                ),
            ));
        };
        self.pos += out.len();
        Ok(out)
    }

    fn uint(&mut self, size: u64, what: &str) -> Result<u64, GgufError> {
        let b = self.bytes(size, what)?;
        let fold = |acc: u64, x: &u8| (acc << 8) | u64::from(*x);
        Ok(if self.big_endian {
            b.iter().fold(0, fold)
        } else {
            b.iter().rev().fold(0, fold)
        })
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        // At most 4 bytes were folded in.
        self.uint(4, what).map(|v| v as u32)
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        self.uint(8, what)
    }

    /// A count or length: 64-bit from version 2 on, 32-bit in version 1.
    fn len(&mut self, what: &str) -> Result<u64, GgufError> {
        if self.wide {
            self.u64(what)
        } else {
            self.u32(what).map(u64::from)
        }
    }

    fn string(&mut self) -> Result<&'a [u8], GgufError> {
        let at = self.pos;
        let n = self.len("string length")?;
        if n > self.remaining() {
            return Err(self.fail(
                at,
                format!(
                    "string length {n} runs past the end of the input ({} bytes left)",
                    self.remaining()
                ),
            ));
        }
        self.bytes(n, "string")
    }

    fn value_type(&mut self) -> Result<ValueType, GgufError> {
        let at = self.pos;
        let id = self.u32("value type")?;
        ValueType::from_id(id).ok_or_else(|| self.fail(at, format!("unknown value type {id}")))
    }

    fn value(&mut self, ty: ValueType, depth: usize) -> Result<Value<'a>, GgufError> {
        use ValueType::*;
        Ok(match ty {
            U8 | U16 | U32 | U64 => {
                let size = ty.fixed_size().unwrap_or(8);
                Value::Uint(ty, self.uint(size, ty.name())?)
            }
            I8 | I16 | I32 | I64 => {
                let size = ty.fixed_size().unwrap_or(8);
                let raw = self.uint(size, ty.name())?;
                // Sign-extend from `size` bytes.
                let shift = 64 - 8 * size;
                Value::Int(ty, ((raw << shift) as i64) >> shift)
            }
            F32 => Value::Float(ty, f64::from(f32::from_bits(self.u32("float32")?))),
            F64 => Value::Float(ty, f64::from_bits(self.u64("float64")?)),
            Bool => Value::Bool(self.uint(1, "bool")? as u8),
            String => Value::Str(self.string()?),
            Array => Value::Array(self.array(depth)?),
        })
    }

    fn array(&mut self, depth: usize) -> Result<Array<'a>, GgufError> {
        let at = self.pos;
        if depth >= MAX_ARRAY_DEPTH {
            return Err(self.fail(
                at,
                format!("arrays nested deeper than {MAX_ARRAY_DEPTH} levels"),
            ));
        }
        let elem = self.value_type()?;
        let len = self.len("array length")?;
        // Smallest possible encoding of one element, to refuse absurd counts
        // before walking them.
        let min_elem = match elem.fixed_size() {
            Some(n) => n,
            None if elem == ValueType::String => self.len_size(),
            None => 4 + self.len_size(),
        };
        if len
            .checked_mul(min_elem)
            .is_none_or(|n| n > self.remaining())
        {
            return Err(self.fail(
                at,
                format!(
                    "array of {len} {} elements cannot fit in the {} bytes left",
                    elem.name(),
                    self.remaining()
                ),
            ));
        }
        let start = self.pos;
        match elem.fixed_size() {
            // Checked just above.
            Some(n) => self.pos += (len * n) as usize,
            None => {
                for _ in 0..len {
                    if elem == ValueType::String {
                        self.string()?;
                    } else {
                        self.array(depth + 1)?;
                    }
                }
            }
        }
        // Both positions this reader reached, so never out of range.
        let raw = self
            .data
            .get(start..self.pos)
            .ok_or_else(|| self.fail(at, "array runs past the end of the data"))?;
        Ok(Array {
            elem,
            len,
            raw,
            wide: self.wide,
            big_endian: self.big_endian,
        })
    }

    fn len_size(&self) -> u64 {
        if self.wide {
            8
        } else {
            4
        }
    }

    /// One metadata entry: what [`parse`] reads and [`Metadata::get`] decodes again.
    fn key_value(&mut self) -> Result<KeyValue<'a>, GgufError> {
        let offset = self.pos as u64;
        let key = self.string()?;
        let ty = self.value_type()?;
        let value_offset = self.pos as u64;
        let value = self.value(ty, 0)?;
        Ok(KeyValue {
            key,
            offset,
            value_offset,
            value,
        })
    }

    /// One tensor info: what [`parse`] reads and [`Tensors::get`] decodes again.
    fn tensor_info(&mut self) -> Result<TensorInfo<'a>, GgufError> {
        let offset = self.pos;
        let name = self.string()?;
        let n_dims = self.u32("dimension count")?;
        if n_dims > MAX_DIMS {
            return Err(self.fail(
                offset,
                format!(
                    "tensor `{}` has {n_dims} dimensions (ggml allows at most {MAX_DIMS})",
                    String::from_utf8_lossy(name)
                ),
            ));
        }
        let dims = (0..n_dims)
            .map(|_| self.len("dimension"))
            .collect::<Result<Vec<u64>, _>>()?;
        let ggml_type = self.u32("tensor type")?;
        let data_offset = self.u64("tensor data offset")?;
        Ok(TensorInfo {
            name,
            offset: offset as u64,
            dims,
            ggml_type,
            data_offset,
        })
    }
}

/// Reads a GGUF file's header, metadata and tensor infos. Never fails as a
/// whole: a fault is recorded in [`Gguf::error`] with what was read before it.
pub fn parse(data: &[u8]) -> Gguf<'_> {
    let empty = Index {
        data,
        enc: Encoding::default(),
        offsets: Vec::new(),
    };
    let mut g = Gguf {
        version: 0,
        big_endian: false,
        tensor_count: 0,
        kv_count: 0,
        kvs: Metadata(empty.clone()),
        tensors: Tensors(empty),
        alignment: DEFAULT_ALIGNMENT,
        data_start: 0,
        error: None,
    };
    if let Err(e) = read(data, &mut g) {
        g.error = Some(e);
    }
    g
}

fn read<'a>(data: &'a [u8], g: &mut Gguf<'a>) -> Result<(), GgufError> {
    let mut r = Reader {
        data,
        pos: 0,
        wide: true,
        big_endian: false,
    };
    if r.bytes(4, "magic")? != MAGIC {
        return Err(r.fail(0, "not a GGUF file: the magic `GGUF` is missing"));
    }
    let mut version = r.u32("version")?;
    // A big-endian file's version reads as 0x0N000000 on a little-endian reader.
    if version != 0 && version & 0xffff == 0 {
        version = version.swap_bytes();
        g.big_endian = true;
        r.big_endian = true;
    }
    g.version = version;
    if !(1..=3).contains(&version) {
        return Err(r.fail(4, format!("unsupported GGUF version {version}")));
    }
    r.wide = version >= 2;
    let enc = Encoding {
        wide: r.wide,
        big_endian: r.big_endian,
    };
    g.kvs.0.enc = enc;
    g.tensors.0.enc = enc;
    let at = r.pos;
    g.tensor_count = r.len("tensor count")?;
    g.kv_count = r.len("metadata count")?;
    // Smallest key/value: a key length, an empty key, a type, one byte.
    let min_kv = r.len_size() + 4 + 1;
    if g.kv_count
        .checked_mul(min_kv)
        .is_none_or(|n| n > r.remaining())
    {
        return Err(r.fail(
            at,
            format!(
                "{} metadata entries cannot fit in the {} bytes left",
                g.kv_count,
                r.remaining()
            ),
        ));
    }
    // At most one offset per 13 bytes left, checked just above.
    g.kvs.0.offsets.reserve_exact(g.kv_count as usize);
    for _ in 0..g.kv_count {
        let KeyValue {
            key, offset, value, ..
        } = r.key_value()?;
        if key == b"general.alignment" {
            g.alignment = match value {
                Value::Uint(ValueType::U32, a) if a != 0 && a.is_power_of_two() => a,
                _ => {
                    return Err(GgufError {
                        offset,
                        reason: format!(
                            "general.alignment must be a non-zero power of two stored as uint32, found {} {}",
                            value.type_name(),
                            match value {
                                Value::Uint(_, v) => v.to_string(),
                                _ => String::new(),
                            }
                        )
                        .trim_end()
                        .to_string(),
                    })
                }
            };
        }
        g.kvs.0.offsets.push(offset);
    }
    // Smallest tensor info: a name length, no dims, a type, an offset.
    let min_tensor = r.len_size() + 4 + 4 + 8;
    let at = r.pos;
    if g.tensor_count
        .checked_mul(min_tensor)
        .is_none_or(|n| n > r.remaining())
    {
        return Err(r.fail(
            at,
            format!(
                "{} tensor infos cannot fit in the {} bytes left",
                g.tensor_count,
                r.remaining()
            ),
        ));
    }
    // At most one offset per 24 bytes left, checked just above.
    g.tensors.0.offsets.reserve_exact(g.tensor_count as usize);
    for _ in 0..g.tensor_count {
        let offset = r.tensor_info()?.offset;
        g.tensors.0.offsets.push(offset);
    }
    let end = r.pos as u64;
    // alignment is a power of two no larger than u32::MAX, so this cannot overflow.
    g.data_start = end.div_ceil(g.alignment) * g.alignment;
    if g.tensor_count > 0 && g.data_start > data.len() as u64 {
        return Err(r.fail(r.pos, "the file ends before the tensor data section starts"));
    }
    Ok(())
}

/// Block size and bytes per block of each ggml tensor type that GGUF files carry.
pub fn ggml_type_layout(ggml_type: u32) -> Option<(&'static str, u64, u64)> {
    const QK_K: u64 = 256;
    Some(match ggml_type {
        0 => ("F32", 1, 4),
        1 => ("F16", 1, 2),
        2 => ("Q4_0", 32, 18),
        3 => ("Q4_1", 32, 20),
        6 => ("Q5_0", 32, 22),
        7 => ("Q5_1", 32, 24),
        8 => ("Q8_0", 32, 34),
        9 => ("Q8_1", 32, 40),
        10 => ("Q2_K", QK_K, 84),
        11 => ("Q3_K", QK_K, 110),
        12 => ("Q4_K", QK_K, 144),
        13 => ("Q5_K", QK_K, 176),
        14 => ("Q6_K", QK_K, 210),
        15 => ("Q8_K", QK_K, 292),
        16 => ("IQ2_XXS", QK_K, 66),
        17 => ("IQ2_XS", QK_K, 74),
        18 => ("IQ3_XXS", QK_K, 98),
        19 => ("IQ1_S", QK_K, 50),
        20 => ("IQ4_NL", 32, 18),
        21 => ("IQ3_S", QK_K, 110),
        22 => ("IQ2_S", QK_K, 82),
        23 => ("IQ4_XS", QK_K, 136),
        24 => ("I8", 1, 1),
        25 => ("I16", 1, 2),
        26 => ("I32", 1, 4),
        27 => ("I64", 1, 8),
        28 => ("F64", 1, 8),
        29 => ("IQ1_M", QK_K, 56),
        30 => ("BF16", 1, 2),
        // Interleaved Q4_0 layouts, written by older llama.cpp builds.
        31 => ("Q4_0_4_4", 32, 18),
        32 => ("Q4_0_4_8", 32, 18),
        33 => ("Q4_0_8_8", 32, 18),
        34 => ("TQ1_0", QK_K, 54),
        35 => ("TQ2_0", QK_K, 66),
        36 => ("IQ4_NL_4_4", 32, 18),
        37 => ("IQ4_NL_4_8", 32, 18),
        38 => ("IQ4_NL_8_8", 32, 18),
        39 => ("MXFP4", 32, 17),
        40 => ("NVFP4", 64, 36),
        _ => return None,
    })
}

/// What is wrong with one tensor's layout on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TensorFault {
    /// A dimension does not fit ggml's signed 64-bit element counts.
    BadDimension(u64),
    /// The element count or byte size overflows.
    Overflow,
    /// The first dimension is not a multiple of the type's block size.
    PartialBlock { ne0: u64, block: u64 },
    /// The data offset is not a multiple of the alignment.
    Misaligned,
    /// The data runs past the end of the file.
    PastEnd { end: u64, file_len: u64 },
}

/// Byte size of a tensor's data: `Ok(None)` for a type this table does not
/// know, so its size cannot be checked.
pub fn tensor_bytes(t: &TensorInfo) -> Result<Option<u64>, TensorFault> {
    let mut elements: u64 = 1;
    for &d in &t.dims {
        if d > i64::MAX as u64 {
            return Err(TensorFault::BadDimension(d));
        }
        elements = elements.checked_mul(d).ok_or(TensorFault::Overflow)?;
    }
    if elements > i64::MAX as u64 {
        return Err(TensorFault::Overflow);
    }
    let Some((_, block, size)) = ggml_type_layout(t.ggml_type) else {
        return Ok(None);
    };
    let ne0 = t.dims.first().copied().unwrap_or(1);
    if ne0 % block != 0 {
        return Err(TensorFault::PartialBlock { ne0, block });
    }
    (elements / block)
        .checked_mul(size)
        .map(Some)
        .ok_or(TensorFault::Overflow)
}

/// Checks one tensor's data range against the alignment and the file.
/// Returns its `[start, end)` file range when the size is known.
pub fn tensor_range(
    g: &Gguf,
    t: &TensorInfo,
    file_len: u64,
) -> Result<Option<(u64, u64)>, TensorFault> {
    let bytes = tensor_bytes(t)?;
    if !t.data_offset.is_multiple_of(g.alignment) {
        return Err(TensorFault::Misaligned);
    }
    let start = g
        .data_start
        .checked_add(t.data_offset)
        .ok_or(TensorFault::Overflow)?;
    let end = start
        .checked_add(bytes.unwrap_or(0))
        .ok_or(TensorFault::Overflow)?;
    if end > file_len || start > file_len {
        return Err(TensorFault::PastEnd { end, file_len });
    }
    Ok(bytes.map(|_| (start, end)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes GGUF files for tests, little- or big-endian, any version.
    pub struct Writer {
        pub out: Vec<u8>,
        version: u32,
        big: bool,
    }

    impl Writer {
        pub fn new(version: u32, big: bool, tensors: u64, kvs: u64) -> Self {
            let mut w = Writer {
                out: MAGIC.to_vec(),
                version,
                big,
            };
            w.u32(version);
            w.len(tensors);
            w.len(kvs);
            w
        }
        pub fn u32(&mut self, v: u32) -> &mut Self {
            let b = if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.out.extend(b);
            self
        }
        pub fn u64(&mut self, v: u64) -> &mut Self {
            let b = if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.out.extend(b);
            self
        }
        pub fn len(&mut self, v: u64) -> &mut Self {
            if self.version >= 2 {
                self.u64(v)
            } else {
                self.u32(v as u32)
            }
        }
        pub fn str(&mut self, s: &str) -> &mut Self {
            self.len(s.len() as u64);
            self.out.extend(s.as_bytes());
            self
        }
        pub fn kv_str(&mut self, k: &str, v: &str) -> &mut Self {
            self.str(k).u32(8).str(v)
        }
        pub fn kv_u32(&mut self, k: &str, v: u32) -> &mut Self {
            self.str(k).u32(4).u32(v)
        }
        pub fn kv_f32(&mut self, k: &str, v: f32) -> &mut Self {
            self.str(k).u32(6).u32(v.to_bits())
        }
        pub fn kv_strs(&mut self, k: &str, items: &[&str]) -> &mut Self {
            self.str(k).u32(9).u32(8).len(items.len() as u64);
            for i in items {
                self.str(i);
            }
            self
        }
        pub fn kv_i32s(&mut self, k: &str, items: &[i32]) -> &mut Self {
            self.str(k).u32(9).u32(5).len(items.len() as u64);
            for i in items {
                self.u32(*i as u32);
            }
            self
        }
        pub fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
            self.str(name).u32(dims.len() as u32);
            for d in dims {
                self.len(*d);
            }
            self.u32(ty).u64(offset)
        }
        /// Pads to `align` and appends `data` bytes of tensor data.
        pub fn data(&mut self, align: usize, data: usize) -> Vec<u8> {
            let mut out = self.out.clone();
            out.resize(out.len().div_ceil(align) * align, 0);
            out.extend(vec![0x11; data]);
            out
        }
    }

    /// A small llama-style v3 model: typical metadata keys and two tensors.
    pub fn llama(template: &str) -> Vec<u8> {
        let mut w = Writer::new(3, false, 2, 9);
        w.kv_str("general.architecture", "llama")
            .kv_str("general.name", "tiny-llama")
            .kv_u32("llama.context_length", 4096)
            .kv_u32("llama.block_count", 1)
            .kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
            .kv_str("tokenizer.ggml.model", "llama")
            .kv_strs("tokenizer.ggml.tokens", &["<unk>", "<s>", "</s>", "hello"])
            .kv_i32s("tokenizer.ggml.token_type", &[2, 3, 3, 1])
            .kv_str("tokenizer.chat_template", template)
            .tensor("token_embd.weight", &[64, 4], 8, 0)
            .tensor("output_norm.weight", &[64], 0, 288);
        // Q8_0: 4 rows of 64 = 8 blocks of 34 bytes = 272, padded to 288; then 256 bytes of F32.
        w.data(32, 288 + 256)
    }

    #[test]
    fn reads_a_llama_file() {
        let f = llama("{{ messages }}");
        let g = parse(&f);
        assert_eq!(g.error, None);
        assert_eq!((g.version, g.kvs.len(), g.tensors.len()), (3, 9, 2));
        let tmpl = g
            .kvs
            .iter()
            .find(|kv| kv.key == b"tokenizer.chat_template")
            .unwrap();
        assert_eq!(tmpl.value, Value::Str(b"{{ messages }}"));
        let Value::Array(tokens) = g.kvs.get(6).unwrap().value else {
            panic!()
        };
        assert_eq!(
            tokens.strings().collect::<Vec<_>>(),
            [&b"<unk>"[..], b"<s>", b"</s>", b"hello"]
        );
        assert_eq!(
            g.kvs.get(4).unwrap().value,
            Value::Float(ValueType::F32, f64::from(1e-5f32))
        );
        for t in &g.tensors {
            assert!(tensor_range(&g, &t, f.len() as u64).unwrap().is_some());
        }
        assert_eq!(g.data_start % 32, 0);
    }

    #[test]
    fn reads_big_endian_and_version_1() {
        let mut w = Writer::new(3, true, 0, 2);
        w.kv_str("general.architecture", "llama")
            .kv_u32("general.alignment", 64);
        let g = parse(&w.out);
        assert!(g.big_endian);
        assert_eq!((g.error, g.alignment), (None, 64));
        let mut w = Writer::new(1, false, 1, 1);
        w.kv_str("general.name", "old").tensor("w", &[4], 0, 0);
        let f = w.data(32, 16);
        let g = parse(&f);
        assert_eq!(g.error, None);
        assert_eq!(g.tensors.get(0).unwrap().dims, [4]);
    }

    #[test]
    fn refuses_bad_headers() {
        assert!(parse(b"GGML\x03\0\0\0").error.is_some());
        let w = Writer::new(4, false, 0, 0);
        assert!(parse(&w.out).error.unwrap().reason.contains("version"));
        let mut w = Writer::new(3, false, 0, 1);
        w.str("k").u32(13).u32(0);
        assert!(parse(&w.out).error.unwrap().reason.contains("value type"));
        let mut w = Writer::new(3, false, 0, 1);
        w.kv_u32("general.alignment", 24);
        assert!(parse(&w.out).error.unwrap().reason.contains("power of two"));
        let mut w = Writer::new(3, false, 1, 0);
        w.tensor("w", &[1, 1, 1, 1, 1], 0, 0);
        assert!(parse(&w.out).error.unwrap().reason.contains("dimensions"));
    }

    #[test]
    fn huge_declared_lengths_are_refused_before_allocating() {
        let mut w = Writer::new(3, false, 0, 1);
        w.str("k").u32(8).u64(1 << 63);
        assert!(parse(&w.out).error.unwrap().reason.contains("past the end"));
        let w = Writer::new(3, false, u64::MAX, u64::MAX);
        assert!(parse(&w.out).error.unwrap().reason.contains("cannot fit"));
        let mut w = Writer::new(3, false, 0, 1);
        w.str("k").u32(9).u32(10).u64(1 << 61);
        assert!(parse(&w.out).error.unwrap().reason.contains("cannot fit"));
        let mut w = Writer::new(3, false, u64::MAX / 2, 0);
        w.tensor("w", &[1], 0, 0);
        assert!(parse(&w.out).error.unwrap().reason.contains("cannot fit"));
    }

    #[test]
    fn nested_arrays_are_bounded() {
        let mut w = Writer::new(3, false, 0, 1);
        w.str("deep").u32(9);
        for _ in 0..10_000 {
            w.u32(9).u64(1);
        }
        let e = parse(&w.out).error.unwrap();
        assert!(e.reason.contains("nested"), "{e}");
        // Shallow nesting is fine: an array of two arrays of strings.
        let mut w = Writer::new(3, false, 0, 1);
        w.str("ok").u32(9).u32(9).u64(2);
        w.u32(8).u64(1).str("a");
        w.u32(8).u64(0);
        assert_eq!(parse(&w.out).error, None);
    }

    #[test]
    fn tensor_layout_faults() {
        let t = |dims: &[u64], ty: u32, off: u64| TensorInfo {
            name: b"t",
            offset: 0,
            dims: dims.to_vec(),
            ggml_type: ty,
            data_offset: off,
        };
        let f = llama("x");
        let g = parse(&f);
        let len = 10_000;
        assert_eq!(
            tensor_bytes(&t(&[u64::MAX], 0, 0)),
            Err(TensorFault::BadDimension(u64::MAX))
        );
        assert_eq!(
            tensor_bytes(&t(&[1 << 40, 1 << 40], 0, 0)),
            Err(TensorFault::Overflow)
        );
        assert_eq!(
            tensor_bytes(&t(&[1 << 62], 0, 0)),
            Err(TensorFault::Overflow)
        );
        assert!(matches!(
            tensor_bytes(&t(&[33], 2, 0)),
            Err(TensorFault::PartialBlock { .. })
        ));
        assert_eq!(tensor_bytes(&t(&[32], 999, 0)), Ok(None));
        assert_eq!(
            tensor_range(&g, &t(&[4], 0, 3), len),
            Err(TensorFault::Misaligned)
        );
        assert!(matches!(
            tensor_range(&g, &t(&[4096], 0, 0), len),
            Err(TensorFault::PastEnd { .. })
        ));
        assert!(tensor_range(&g, &t(&[1], 0, u64::MAX - 31), len).is_err());
    }

    #[test]
    fn entries_are_decoded_on_demand() {
        let mut w = Writer::new(3, false, 3, 4);
        w.kv_str("a", "x")
            .kv_u32("b", 1)
            .kv_str("a", "y")
            .kv_str("a", "z")
            .tensor("t", &[4], 0, 0)
            .tensor("u", &[4], 0, 32)
            .tensor("t", &[4], 0, 64);
        let f = w.data(32, 96);
        let g = parse(&f);
        assert_eq!(g.error, None);
        assert_eq!(g.kvs.len(), 4);
        assert_eq!(g.kvs.key(2), Some(&b"a"[..]));
        assert_eq!(g.kvs.get(3).unwrap().value, Value::Str(b"z"));
        assert_eq!(g.kvs.get(4), None);
        // The second `a` only; the third is the same repeated key.
        assert_eq!(g.kvs.repeated(), [2]);
        let keys: Vec<&[u8]> = (&g.kvs).into_iter().map(|kv| kv.key).collect();
        assert_eq!(keys, [&b"a"[..], b"b", b"a", b"a"]);
        assert_eq!(g.tensors.name(1), Some(&b"u"[..]));
        assert_eq!(g.tensors.get(2).unwrap().data_offset, 64);
        assert_eq!(g.tensors.repeated(), [2]);
        assert_eq!(g.tensors.iter().count(), 3);
        // Debug lists the entries, as the vectors they replace did.
        assert!(format!("{:?}", g.kvs).starts_with("[KeyValue { key: [97]"));
    }

    #[test]
    fn what_came_before_a_fault_is_kept() {
        let mut w = Writer::new(3, false, 0, 3);
        w.kv_str("a", "x").kv_u32("b", 1);
        w.str("c").u32(8).u64(1 << 40);
        let g = parse(&w.out);
        assert!(g.error.is_some());
        assert_eq!(g.kvs.len(), 2);
        assert_eq!(g.kvs.get(1).unwrap().value, Value::Uint(ValueType::U32, 1));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let f = llama("{% for m in messages %}{{ m.content }}{% endfor %}");
        let header_end = parse(&f).data_start as usize;
        for cut in 0..header_end {
            assert!(parse(&f[..cut]).error.is_some(), "prefix {cut}");
        }
    }
}
