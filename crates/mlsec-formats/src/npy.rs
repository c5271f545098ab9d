//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! A `.npy` file is a magic string, a version, a header length, and a header
//! that is the text of a Python dict literal (`{'descr': '<f8', 'fortran_order':
//! False, 'shape': (3, 4), }`). numpy reads it with `ast.literal_eval`; here a
//! small bounded parser reads the same literal subset, never evaluating
//! anything. The payload after the header is raw array bytes, except for object
//! arrays, whose payload is a pickle.

use std::fmt;

/// The file's first six bytes.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// Deepest nesting of lists, tuples and dicts accepted in a header. Real
/// headers nest structured dtypes a few levels; more is hostile.
const MAX_LITERAL_DEPTH: usize = 32;

/// Why a `.npy` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError {
    /// Byte offset in the file where the problem is.
    pub offset: u64,
    pub reason: String,
}

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.offset)
    }
}

fn err(offset: u64, reason: impl Into<String>) -> NpyError {
    NpyError {
        offset,
        reason: reason.into(),
    }
}

/// An array element type, as the header's `descr` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dtype {
    /// A plain type such as `<f8`, `|u1`, `<U10` or `<M8[ns]`.
    Scalar {
        /// The descr string as written.
        descr: String,
        /// Size of one element in bytes.
        itemsize: u64,
    },
    /// Python objects (`O`): the payload is a pickle.
    Object { descr: String },
    /// A fixed-shape sub-array of another type, `(base, shape)`.
    SubArray { base: Box<Dtype>, shape: Vec<u64> },
    /// A structured type: a list of named fields.
    Struct(Vec<Field>),
}

/// One field of a structured dtype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub dtype: Dtype,
}

impl Dtype {
    /// True if any part of the type holds Python objects (so the payload is a pickle).
    pub fn has_object(&self) -> bool {
        match self {
            Dtype::Scalar { .. } => false,
            Dtype::Object { .. } => true,
            Dtype::SubArray { base, .. } => base.has_object(),
            Dtype::Struct(fields) => fields.iter().any(|f| f.dtype.has_object()),
        }
    }

    /// Bytes per element, or `None` if it overflows 64 bits. Object elements
    /// count as 8 (a pointer), which only matters inside structured types.
    pub fn itemsize(&self) -> Option<u64> {
        match self {
            Dtype::Scalar { itemsize, .. } => Some(*itemsize),
            Dtype::Object { .. } => Some(8),
            Dtype::SubArray { base, shape } => base.itemsize()?.checked_mul(product(shape)?),
            Dtype::Struct(fields) => fields
                .iter()
                .try_fold(0u64, |acc, f| acc.checked_add(f.dtype.itemsize()?)),
        }
    }
}

/// The product of a shape's dimensions (1 for a scalar), or `None` on overflow.
pub fn product(shape: &[u64]) -> Option<u64> {
    shape.iter().try_fold(1u64, |acc, d| acc.checked_mul(*d))
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// Offset of the first payload byte.
    pub data_offset: u64,
    pub dtype: Dtype,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
}

impl NpyHeader {
    /// Payload bytes numpy reads for a non-object array, or `None` on overflow.
    pub fn payload_len(&self) -> Option<u64> {
        product(&self.shape)?.checked_mul(self.dtype.itemsize()?)
    }
}

/// Parses the preamble and header of a `.npy` file. `max_header` bounds the
/// declared header length (besides the input length).
pub fn parse_header(data: &[u8], max_header: u64) -> Result<NpyHeader, NpyError> {
    if !data.starts_with(MAGIC) {
        return Err(err(
            0,
            "not a .npy file: the magic string \\x93NUMPY is missing",
        ));
    }
    let (Some(&major), Some(&minor)) = (data.get(6), data.get(7)) else {
        return Err(err(6, "truncated before the format version"));
    };
    let (len_size, utf8) = match (major, minor) {
        (1, 0) => (2usize, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => {
            return Err(err(
                6,
                format!(
                    "unsupported format version {major}.{minor} (numpy reads 1.0, 2.0 and 3.0)"
                ),
            ))
        }
    };
    let Some(len_bytes) = data.get(8..8 + len_size) else {
        return Err(err(8, "truncated before the header length"));
    };
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let header_start = 8 + len_size;
    let available = (data.len() - header_start) as u64;
    if header_len > max_header {
        return Err(err(
            8,
            format!("header length {header_len} is over the limit of {max_header} bytes"),
        ));
    }
    let raw = usize::try_from(header_len)
        .ok()
        .and_then(|n| data.get(header_start..)?.get(..n));
    let Some(raw) = raw else {
        return Err(err(
            8,
            format!(
                "header length {header_len} runs past the end of the file ({available} bytes left)"
            ),
        ));
    };
    let header_end = header_start + raw.len();
    if utf8 {
        if let Err(e) = std::str::from_utf8(raw) {
            return Err(err(
                (header_start + e.valid_up_to()) as u64,
                "header is not valid UTF-8 (required by format 3.0)",
            ));
        }
    }
    let mut parser = LiteralParser {
        bytes: raw,
        pos: 0,
        base: header_start as u64,
        latin1: !utf8,
    };
    let literal = parser.parse_document()?;
    let (dtype, fortran_order, shape) = interpret_header(&literal, header_start as u64)?;
    Ok(NpyHeader {
        version: (major, minor),
        data_offset: header_end as u64,
        dtype,
        fortran_order,
        shape,
    })
}

/// The Python literal subset `ast.literal_eval` accepts in real headers.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

impl Literal {
    fn kind(&self) -> &'static str {
        match self {
            Literal::Str(_) => "a string",
            Literal::Int(_) => "an integer",
            Literal::Bool(_) => "a boolean",
            Literal::None => "None",
            Literal::Tuple(_) => "a tuple",
            Literal::List(_) => "a list",
            Literal::Dict(_) => "a dict",
        }
    }
}

struct LiteralParser<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// File offset of the header's first byte, for error offsets.
    base: u64,
    /// Formats 1.0 and 2.0 are latin-1 (every byte one character) and may hold
    /// Python 2's `3L` longs, which numpy still reads; 3.0 is UTF-8.
    latin1: bool,
}

impl LiteralParser<'_> {
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')) {
            self.pos += 1;
        }
    }

    fn fail(&self, reason: impl Into<String>) -> NpyError {
        err(self.offset(), format!("header: {}", reason.into()))
    }

    fn parse_document(&mut self) -> Result<Literal, NpyError> {
        self.skip_ws();
        let value = self.parse_value(0)?;
        self.skip_ws();
        if self.peek().is_some() {
            return Err(self.fail("unexpected text after the header dict"));
        }
        Ok(value)
    }

    fn parse_value(&mut self, depth: usize) -> Result<Literal, NpyError> {
        if depth > MAX_LITERAL_DEPTH {
            return Err(self.fail(format!("nested deeper than {MAX_LITERAL_DEPTH} levels")));
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.parse_dict(depth),
            Some(b'[') => {
                self.pos += 1;
                let (items, _) = self.parse_items(b']', depth)?;
                Ok(Literal::List(items))
            }
            Some(b'(') => {
                self.pos += 1;
                let (mut items, trailing_comma) = self.parse_items(b')', depth)?;
                // `(x)` is just x; `(x,)` and `()` are tuples.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.remove(0))
                } else {
                    Ok(Literal::Tuple(items))
                }
            }
            Some(b'\'' | b'"') => self.parse_string().map(Literal::Str),
            Some(b'u' | b'U') if matches!(self.bytes.get(self.pos + 1), Some(b'\'' | b'"')) => {
                self.pos += 1;
                self.parse_string().map(Literal::Str)
            }
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => self.parse_int(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos;
                // `split` yields at least one (possibly empty) piece.
                let word = self
                    .bytes
                    .get(start..)
                    .unwrap_or_default()
                    .split(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                    .next()
                    .unwrap_or_default();
                self.pos += word.len();
                match word {
                    b"True" => Ok(Literal::Bool(true)),
                    b"False" => Ok(Literal::Bool(false)),
                    b"None" => Ok(Literal::None),
                    word => {
                        let word = String::from_utf8_lossy(word).into_owned();
                        self.pos = start;
                        Err(self.fail(format!(
                            "`{}` is not a literal (the header must be a plain dict literal)",
                            truncate(&word, 40)
                        )))
                    }
                }
            }
            Some(c) => Err(self.fail(format!("unexpected character {:?}", char::from(c)))),
            None => Err(self.fail("ends in the middle of a value")),
        }
    }

    /// Comma-separated values up to `close`; also says whether a trailing comma was seen.
    fn parse_items(&mut self, close: u8, depth: usize) -> Result<(Vec<Literal>, bool), NpyError> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, trailing_comma));
            }
            items.push(self.parse_value(depth + 1)?);
            self.skip_ws();
            match self.bump() {
                Some(b',') => trailing_comma = true,
                Some(c) if c == close => return Ok((items, false)),
                Some(c) => {
                    self.pos -= 1;
                    return Err(self.fail(format!(
                        "expected `,` or `{}`, found {:?}",
                        char::from(close),
                        char::from(c)
                    )));
                }
                None => return Err(self.fail(format!("missing `{}`", char::from(close)))),
            }
        }
    }

    fn parse_dict(&mut self, depth: usize) -> Result<Literal, NpyError> {
        self.pos += 1; // `{`
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(Literal::Dict(entries));
            }
            let key = self.parse_value(depth + 1)?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.fail("expected `:` after a dict key"));
            }
            self.pos += 1;
            let value = self.parse_value(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            match self.bump() {
                Some(b',') => {}
                Some(b'}') => return Ok(Literal::Dict(entries)),
                Some(c) => {
                    self.pos -= 1;
                    return Err(
                        self.fail(format!("expected `,` or `}}`, found {:?}", char::from(c)))
                    );
                }
                None => return Err(self.fail("missing `}`")),
            }
        }
    }

    fn parse_string(&mut self) -> Result<String, NpyError> {
        let Some(quote) = self.bump() else {
            return Err(self.fail("ends before a string"));
        };
        let mut out = String::new();
        let mut raw_run = self.pos;
        loop {
            let at = self.pos;
            match self.bump() {
                None | Some(b'\n') => return Err(self.fail("unterminated string")),
                Some(c) if c == quote || c == b'\\' => {
                    self.push_raw(&mut out, raw_run, at)?;
                    if c == quote {
                        return Ok(out);
                    }
                    let Some(e) = self.bump() else {
                        return Err(self.fail("unterminated string"));
                    };
                    match e {
                        b'\\' | b'\'' | b'"' => out.push(char::from(e)),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'0' => out.push('\0'),
                        b'\n' => {}
                        b'x' => {
                            let hex = self.bytes.get(self.pos..self.pos + 2).unwrap_or_default();
                            let code = std::str::from_utf8(hex)
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok());
                            match code.and_then(char::from_u32) {
                                Some(c) if hex.len() == 2 => out.push(c),
                                _ => return Err(self.fail("bad \\x escape in a string")),
                            }
                            self.pos += 2;
                        }
                        // Python keeps unknown escapes as written.
                        _ => {
                            out.push('\\');
                            self.pos -= 1;
                            raw_run = self.pos;
                            continue;
                        }
                    }
                    raw_run = self.pos;
                }
                Some(_) => {}
            }
        }
    }

    /// Appends the unescaped bytes `start..end` of a string literal.
    fn push_raw(&self, out: &mut String, start: usize, end: usize) -> Result<(), NpyError> {
        let raw = self.bytes.get(start..end).unwrap_or_default();
        if self.latin1 {
            out.extend(raw.iter().map(|&b| char::from(b)));
        } else {
            // The whole header was checked to be UTF-8, and runs end at ASCII bytes.
            let s = std::str::from_utf8(raw).map_err(|_| self.fail("string is not UTF-8"))?;
            out.push_str(s);
        }
        Ok(())
    }

    fn parse_int(&mut self) -> Result<Literal, NpyError> {
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        self.skip_ws();
        let mut value: i128 = 0;
        let mut digits = 0;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i128::from(c - b'0')))
                    .ok_or_else(|| self.fail("integer too large"))?;
                digits += 1;
            } else if c != b'_' || digits == 0 {
                break;
            }
            self.pos += 1;
        }
        if digits == 0 {
            return Err(self.fail("expected digits"));
        }
        if self.latin1 && matches!(self.peek(), Some(b'L' | b'l')) {
            self.pos += 1;
        }
        if matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'.') {
            return Err(self.fail("only plain decimal integers are supported"));
        }
        Ok(Literal::Int(if negative { -value } else { value }))
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", s.get(..i).unwrap_or(s)),
        None => s.to_string(),
    }
}

/// Checks the dict the way numpy does: exactly the keys `descr`,
/// `fortran_order` and `shape`, with the right types.
fn interpret_header(lit: &Literal, at: u64) -> Result<(Dtype, bool, Vec<u64>), NpyError> {
    let Literal::Dict(entries) = lit else {
        return Err(err(at, format!("header is {}, not a dict", lit.kind())));
    };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (k, v) in entries {
        let Literal::Str(k) = k else {
            return Err(err(at, format!("header has a key that is {}", k.kind())));
        };
        let slot = match k.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            other => {
                return Err(err(
                    at,
                    format!(
                        "header has the unexpected key `{}` (numpy accepts only descr, fortran_order and shape)",
                        truncate(other, 60)
                    ),
                ))
            }
        };
        // Python keeps the last of repeated keys; so does numpy.
        *slot = Some(v);
    }
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        return Err(err(
            at,
            "header lacks one of the keys descr, fortran_order and shape",
        ));
    };
    let Literal::Bool(fortran) = fortran else {
        return Err(err(
            at,
            format!("fortran_order is {}, not a boolean", fortran.kind()),
        ));
    };
    let Literal::Tuple(dims) = shape else {
        return Err(err(at, format!("shape is {}, not a tuple", shape.kind())));
    };
    let shape = dims_of(dims, at)?;
    let dtype = dtype_of(descr, at, 0)?;
    Ok((dtype, *fortran, shape))
}

fn dims_of(items: &[Literal], at: u64) -> Result<Vec<u64>, NpyError> {
    items
        .iter()
        .map(|d| match d {
            Literal::Int(n) => u64::try_from(*n)
                .map_err(|_| err(at, format!("shape has the negative dimension {n}"))),
            other => Err(err(
                at,
                format!("shape has a dimension that is {}", other.kind()),
            )),
        })
        .collect()
}

/// Mirrors numpy's `descr_to_dtype`: a string, a `(descr, shape)` tuple, or a
/// list of `(name, descr[, shape])` fields.
fn dtype_of(lit: &Literal, at: u64, depth: usize) -> Result<Dtype, NpyError> {
    if depth > MAX_LITERAL_DEPTH {
        return Err(err(at, "descr nested too deeply"));
    }
    match lit {
        Literal::Str(s) => scalar_dtype(s).ok_or_else(|| {
            err(
                at,
                format!(
                    "descr `{}` is not a dtype numpy.save writes",
                    truncate(s, 60)
                ),
            )
        }),
        Literal::Tuple(parts) => match parts.as_slice() {
            [base, shape] => Ok(Dtype::SubArray {
                base: Box::new(dtype_of(base, at, depth + 1)?),
                shape: subarray_shape(shape, at)?,
            }),
            _ => Err(err(at, "descr tuple must be (dtype, shape)")),
        },
        Literal::List(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for field in fields {
                let parts = match field {
                    Literal::Tuple(p) | Literal::List(p) => p.as_slice(),
                    other => {
                        return Err(err(
                            at,
                            format!("descr field is {}, not a tuple", other.kind()),
                        ))
                    }
                };
                let (name, descr, shape) = match parts {
                    [n, d] => (n, d, None),
                    [n, d, s] => (n, d, Some(s)),
                    _ => return Err(err(at, "descr field must be (name, dtype[, shape])")),
                };
                let name = match name {
                    Literal::Str(n) => n.clone(),
                    // (title, name)
                    Literal::Tuple(t) => match t.as_slice() {
                        [_, Literal::Str(n)] => n.clone(),
                        _ => return Err(err(at, "descr field title must be (title, name)")),
                    },
                    other => return Err(err(at, format!("descr field name is {}", other.kind()))),
                };
                let mut dtype = dtype_of(descr, at, depth + 1)?;
                if let Some(shape) = shape {
                    dtype = Dtype::SubArray {
                        base: Box::new(dtype),
                        shape: subarray_shape(shape, at)?,
                    };
                }
                out.push(Field { name, dtype });
            }
            Ok(Dtype::Struct(out))
        }
        other => Err(err(at, format!("descr is {}", other.kind()))),
    }
}

fn subarray_shape(lit: &Literal, at: u64) -> Result<Vec<u64>, NpyError> {
    match lit {
        Literal::Int(_) => dims_of(std::slice::from_ref(lit), at),
        Literal::Tuple(items) => dims_of(items, at),
        other => Err(err(at, format!("sub-array shape is {}", other.kind()))),
    }
}

/// Reads a dtype string in the forms numpy writes (`[<>|=]` byte order, a kind
/// letter, a size), plus every spelling numpy reads as `object`.
fn scalar_dtype(descr: &str) -> Option<Dtype> {
    let body = without_byte_order(descr)?;
    if matches!(body, "O" | "object" | "object_" | "object0")
        || body
            .strip_prefix('O')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(Dtype::Object {
            descr: descr.to_string(),
        });
    }
    Some(Dtype::Scalar {
        descr: descr.to_string(),
        itemsize: scalar_itemsize(descr)?,
    })
}

/// A type string without its byte-order mark (`<`, `>`, `|` or `=`); `None`
/// when it has more than one.
fn without_byte_order(descr: &str) -> Option<&str> {
    let body = descr.trim_start_matches(['<', '>', '|', '=']);
    (descr.len() - body.len() <= 1).then_some(body)
}

/// Bytes per item of a numpy scalar type string (`<f8`, `|S10`, `U5`,
/// `<M8[ns]`) as numpy sizes it, with or without a byte-order mark; `None` for
/// object and unknown types. Shared by `.npy` headers and the dtypes that
/// joblib pickles.
pub fn scalar_itemsize(descr: &str) -> Option<u64> {
    let body = without_byte_order(descr)?;
    let mut chars = body.chars();
    let kind = chars.next()?;
    let rest = chars.as_str();
    let (digits, unit) = match rest.find('[').and_then(|i| rest.split_at_checked(i)) {
        Some((digits, unit)) => (digits, Some(unit)),
        None => (rest, None),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
        return None;
    }
    let size: u64 = digits.parse().ok()?;
    let itemsize = match kind {
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'a' | 'V' if unit.is_none() => size,
        // Unicode strings are counted in UCS-4 characters.
        'U' if unit.is_none() => size.checked_mul(4)?,
        'M' | 'm' if size == 8 => {
            if let Some(unit) = unit {
                let inner = unit.strip_prefix('[')?.strip_suffix(']')?;
                if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return None;
                }
            }
            8
        }
        _ => return None,
    };
    Some(itemsize)
}

#[cfg(test)]
pub(crate) mod tests {

    #[test]
    fn scalar_item_sizes_as_numpy_counts_them() {
        for (descr, size) in [
            ("<f8", Some(8)),
            ("f8", Some(8)),
            ("|S10", Some(10)),
            ("U5", Some(20)),
            ("<M8[ns]", Some(8)),
            ("m8", Some(8)),
            ("M4", None),
            ("O", None),
            ("<<f8", None),
            ("x4", None),
            ("f", None),
        ] {
            assert_eq!(scalar_itemsize(descr), size, "{descr}");
        }
    }
    use super::*;

    /// Builds a `.npy` file the way `numpy.save` lays it out: header padded with
    /// spaces and a newline so the payload starts on a 64-byte boundary.
    pub fn npy(version: (u8, u8), header: &str, payload: &[u8]) -> Vec<u8> {
        let len_size = if version.0 == 1 { 2 } else { 4 };
        let mut h = header.as_bytes().to_vec();
        let unpadded = 8 + len_size + h.len() + 1;
        h.resize(h.len() + (64 - unpadded % 64) % 64, b' ');
        h.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend([version.0, version.1]);
        if len_size == 2 {
            out.extend((h.len() as u16).to_le_bytes());
        } else {
            out.extend((h.len() as u32).to_le_bytes());
        }
        out.extend(h);
        out.extend(payload);
        out
    }

    #[test]
    fn reads_a_float_matrix() {
        let f = npy(
            (1, 0),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
            &[0; 96],
        );
        let h = parse_header(&f, 1 << 20).unwrap();
        assert_eq!(h.shape, [3, 4]);
        assert!(!h.fortran_order);
        assert_eq!(h.data_offset % 64, 0);
        assert_eq!(h.payload_len(), Some(96));
        assert!(!h.dtype.has_object());
    }

    #[test]
    fn reads_scalars_strings_and_versions() {
        for (version, header, len) in [
            (
                (1, 0),
                "{'descr': '|u1', 'fortran_order': True, 'shape': (), }",
                1,
            ),
            (
                (2, 0),
                "{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }",
                40,
            ),
            (
                (3, 0),
                "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (7,), }",
                56,
            ),
            (
                (1, 0),
                "{'descr': '|S3', 'fortran_order': False, 'shape': (2L, 2L), }",
                12,
            ),
        ] {
            let f = npy(version, header, &[]);
            let h = parse_header(&f, 1 << 20).unwrap();
            assert_eq!(h.payload_len(), Some(len), "{header}");
        }
    }

    #[test]
    fn reads_structured_dtypes() {
        let f = npy(
            (1, 0),
            "{'descr': [('x', '<f4'), ('', '|V4'), (('Title', 'y'), '<i8', (2, 3)), ('z', [('a', '|b1')])], 'fortran_order': False, 'shape': (5,), }",
            &[],
        );
        let h = parse_header(&f, 1 << 20).unwrap();
        assert_eq!(h.dtype.itemsize(), Some(4 + 4 + 48 + 1));
        assert!(!h.dtype.has_object());
    }

    #[test]
    fn spots_object_dtypes_in_every_spelling() {
        for descr in [
            "'|O'",
            "'O'",
            "'<O8'",
            "'object'",
            "[('a', '<f8'), ('b', '|O')]",
            "('|O', (2,))",
        ] {
            let header = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}");
            let h = parse_header(&npy((1, 0), &header, &[]), 1 << 20).unwrap();
            assert!(h.dtype.has_object(), "{descr}");
        }
    }

    #[test]
    fn rejects_what_numpy_rejects_or_we_cannot_judge() {
        for header in [
            "{'descr': '<f8', 'fortran_order': False}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': [1]}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "{'descr': 'float64', 'fortran_order': False, 'shape': (1,)}",
            "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} trailing",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (0x10,)}",
            "['descr']",
        ] {
            assert!(
                parse_header(&npy((1, 0), header, &[]), 1 << 20).is_err(),
                "{header}"
            );
        }
        let mut bad_version = npy((1, 0), "{}", &[]);
        bad_version[6] = 4;
        assert!(parse_header(&bad_version, 1 << 20)
            .unwrap_err()
            .reason
            .contains("version"));
    }

    #[test]
    fn huge_declared_lengths_and_elements() {
        let mut f = MAGIC.to_vec();
        f.extend([2, 0]);
        f.extend(u32::MAX.to_le_bytes());
        f.extend(b"{}");
        let e = parse_header(&f, 1 << 40).unwrap_err();
        assert!(e.reason.contains("past the end"), "{e}");
        assert!(parse_header(&f, 100).unwrap_err().reason.contains("limit"));

        let header = format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}",
            1u64 << 60,
            1u64 << 10
        );
        let h = parse_header(&npy((1, 0), &header, &[]), 1 << 20).unwrap();
        assert_eq!(h.payload_len(), None);
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,), }";
        assert!(parse_header(&npy((1, 0), header, &[]), 1 << 20).is_err());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}'<f8'{}", "(".repeat(10_000), ",)".repeat(10_000));
        let header = format!("{{'descr': {deep}, 'fortran_order': False, 'shape': (1,), }}");
        let e = parse_header(&npy((1, 0), &header, &[]), 1 << 20).unwrap_err();
        assert!(e.reason.contains("nested"), "{e}");
    }

    #[test]
    fn every_truncation_fails_cleanly() {
        let f = npy(
            (3, 0),
            "{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (2, 2), }",
            &[0; 48],
        );
        let header_end = parse_header(&f, 1 << 20).unwrap().data_offset as usize;
        for cut in 0..header_end {
            assert!(parse_header(&f[..cut], 1 << 20).is_err(), "prefix {cut}");
        }
    }
}
