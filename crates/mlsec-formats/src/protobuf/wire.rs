//! The protobuf wire format, walked without a schema beyond "which fields hold
//! which sub-messages".
//!
//! prost decodes into owned structs and reports errors without a byte offset,
//! and a hostile file of tiny fields can make it allocate many times the file
//! size. So before prost sees a file, [`check_tree`] walks the message tree:
//! it proves every length fits, counts fields against a budget, bounds the
//! nesting, and says at which byte the file breaks if it does. The sniffers use
//! [`Fields`] to look at the first fields of content that has no magic number.

/// How a field's value is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Varint,
    Fixed64,
    /// Length-delimited: bytes, a string, a sub-message or a packed array.
    Len,
    Fixed32,
}

/// One field of a message, as found on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub number: u32,
    pub wire: Wire,
    /// Offset of the field's key in the walked buffer.
    pub offset: usize,
    /// The value of a varint or fixed-width field; the length of a `Len` field.
    pub value: u64,
    /// Where a `Len` field's bytes lie in the walked buffer (empty otherwise).
    pub body: std::ops::Range<usize>,
}

/// Why a buffer is not a well-formed protobuf message tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The data ends inside a field (a key, a varint or a declared length).
    Truncated {
        offset: u64,
    },
    Malformed {
        offset: u64,
        what: &'static str,
    },
    /// More fields than the budget allows: decoding would allocate too much.
    TooManyFields {
        limit: u64,
    },
    /// Sub-messages nested deeper than allowed.
    TooDeep {
        offset: u64,
        limit: u32,
    },
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Truncated { offset } => {
                write!(f, "data ends inside a field at byte {offset}")
            }
            WireError::Malformed { offset, what } => write!(f, "{what} at byte {offset}"),
            WireError::TooManyFields { limit } => write!(f, "more than {limit} protobuf fields"),
            WireError::TooDeep { offset, limit } => {
                write!(
                    f,
                    "messages nested deeper than {limit} levels at byte {offset}"
                )
            }
        }
    }
}

impl WireError {
    /// The byte offset the error is about, when there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            WireError::Truncated { offset }
            | WireError::Malformed { offset, .. }
            | WireError::TooDeep { offset, .. } => Some(*offset),
            WireError::TooManyFields { .. } => None,
        }
    }

    /// True for the errors that mean "a limit was hit", not "the file is broken".
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            WireError::TooManyFields { .. } | WireError::TooDeep { .. }
        )
    }
}

/// Reads a varint at `pos`; returns the value and the position after it.
pub fn read_varint(data: &[u8], pos: usize) -> Result<(u64, usize), WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let at = pos.saturating_add(i);
        let byte = *data
            .get(at)
            .ok_or(WireError::Truncated { offset: at as u64 })?;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if i == 9 && byte > 1 {
                break;
            }
            return Ok((value, at + 1));
        }
    }
    Err(WireError::Malformed {
        offset: pos as u64,
        what: "varint longer than 64 bits",
    })
}

/// Iterates over the fields of one message held in `data[range]`. Offsets are
/// relative to `data`, so errors deep in a file name the real byte. After the
/// first error the iterator ends.
pub struct Fields<'a> {
    /// The input up to the end of the range: fields never read past it.
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self::within(data, 0..data.len())
    }

    pub fn within(data: &'a [u8], range: std::ops::Range<usize>) -> Self {
        Fields {
            data: data.get(..range.end).unwrap_or(data),
            pos: range.start,
            failed: false,
        }
    }

    fn next_field(&mut self) -> Result<Field, WireError> {
        let offset = self.pos;
        let view = self.data;
        let (key, pos) = read_varint(view, offset)?;
        let number = u32::try_from(key >> 3).unwrap_or(0);
        if number == 0 {
            return Err(WireError::Malformed {
                offset: offset as u64,
                what: "field number 0 or above 2^32",
            });
        }
        let (wire, value, body, next) = match key & 7 {
            0 => {
                let (v, next) = read_varint(view, pos)?;
                (Wire::Varint, v, pos..pos, next)
            }
            1 => (Wire::Fixed64, fixed(view, pos, 8)?, pos..pos, pos + 8),
            5 => (Wire::Fixed32, fixed(view, pos, 4)?, pos..pos, pos + 4),
            2 => {
                let (len, start) = read_varint(view, pos)?;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|l| start.checked_add(l))
                    .filter(|e| *e <= view.len())
                    .ok_or(WireError::Truncated {
                        offset: offset as u64,
                    })?;
                (Wire::Len, len, start..end, end)
            }
            _ => {
                return Err(WireError::Malformed {
                    offset: offset as u64,
                    what: "group or unknown wire type",
                })
            }
        };
        self.pos = next;
        Ok(Field {
            number,
            wire,
            offset,
            value,
            body,
        })
    }
}

fn fixed(view: &[u8], pos: usize, width: usize) -> Result<u64, WireError> {
    let bytes = view
        .get(pos..pos.saturating_add(width))
        .filter(|b| b.len() == width)
        .ok_or(WireError::Truncated {
            offset: view.len() as u64,
        })?;
    Ok(bytes
        .iter()
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

impl Iterator for Fields<'_> {
    type Item = Result<Field, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let field = self.next_field();
        self.failed = field.is_err();
        Some(field)
    }
}

/// Bounds for [`check_tree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    pub max_fields: u64,
    pub max_depth: u32,
}

impl Default for TreeLimits {
    /// Depth matches prost's own recursion limit; the field budget keeps the
    /// decoded structs within a few GiB even for a file of empty messages.
    /// The same numbers as `mlsec_core::Limits::default()` (checked by a test
    /// in mlsec-scan); scans pass the configured limits instead.
    fn default() -> Self {
        TreeLimits {
            max_fields: 4 << 20,
            max_depth: 100,
        }
    }
}

/// Walks the message tree in `data`, starting with a message of kind `root`.
/// `child(kind, field_number)` names the kind of sub-message a `Len` field
/// holds, or `None` for scalars, strings and bytes (not descended into).
/// Returns the number of fields seen.
pub fn check_tree<K: Copy>(
    data: &[u8],
    root: K,
    child: fn(K, u32) -> Option<K>,
    limits: TreeLimits,
) -> Result<u64, WireError> {
    let mut fields = 0u64;
    walk(data, 0..data.len(), root, child, limits, 0, &mut fields)?;
    Ok(fields)
}

fn walk<K: Copy>(
    data: &[u8],
    range: std::ops::Range<usize>,
    kind: K,
    child: fn(K, u32) -> Option<K>,
    limits: TreeLimits,
    depth: u32,
    fields: &mut u64,
) -> Result<(), WireError> {
    if depth > limits.max_depth {
        return Err(WireError::TooDeep {
            offset: range.start as u64,
            limit: limits.max_depth,
        });
    }
    for field in Fields::within(data, range) {
        let field = field?;
        *fields += 1;
        if *fields > limits.max_fields {
            return Err(WireError::TooManyFields {
                limit: limits.max_fields,
            });
        }
        if let Some(sub) = child(kind, field.number) {
            if field.wire != Wire::Len {
                return Err(WireError::Malformed {
                    offset: field.offset as u64,
                    what: "sub-message field with a scalar wire type",
                });
            }
            walk(data, field.body, sub, child, limits, depth + 1, fields)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    enum K {
        Outer,
        Inner,
    }

    fn child(k: K, n: u32) -> Option<K> {
        match (k, n) {
            (K::Outer, 2) | (K::Inner, 2) => Some(K::Inner),
            _ => None,
        }
    }

    #[test]
    fn reads_fields_and_nested_messages() {
        // field 1 = 150, field 2 = { field 1 = "hi" }
        let data = b"\x08\x96\x01\x12\x04\x0a\x02hi";
        let f: Vec<_> = Fields::new(data).collect::<Result<_, _>>().unwrap();
        assert_eq!(f[0].value, 150);
        assert_eq!(f[1].body, 5..9);
        assert_eq!(
            check_tree(data, K::Outer, child, TreeLimits::default()),
            Ok(3)
        );
    }

    #[test]
    fn truncation_names_the_field() {
        let data = b"\x08\x01\x12\x09\x0a\x02hi";
        assert_eq!(
            check_tree(data, K::Outer, child, TreeLimits::default()),
            Err(WireError::Truncated { offset: 2 })
        );
        assert!(matches!(
            read_varint(b"\xff\xff", 0),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            read_varint(&[0xff; 11], 0),
            Err(WireError::Malformed { .. })
        ));
    }

    #[test]
    fn huge_declared_length_is_truncation_not_allocation() {
        let data = b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\x7f";
        assert!(matches!(
            check_tree(data, K::Outer, child, TreeLimits::default()),
            Err(WireError::Truncated { .. })
        ));
    }

    #[test]
    fn depth_and_field_budget_are_enforced() {
        let mut data = Vec::new();
        for _ in 0..200 {
            let mut outer = vec![0x12];
            outer.extend(encode_len(data.len()));
            outer.extend_from_slice(&data);
            data = outer;
        }
        assert!(matches!(
            check_tree(&data, K::Outer, child, TreeLimits::default()),
            Err(WireError::TooDeep { .. })
        ));
        let many = b"\x08\x01".repeat(100);
        let limits = TreeLimits {
            max_fields: 10,
            max_depth: 10,
        };
        assert_eq!(
            check_tree(&many, K::Outer, child, limits),
            Err(WireError::TooManyFields { limit: 10 })
        );
    }

    fn encode_len(mut n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }
}
