//! A minimal, bounded HDF5 reader: the superblock, the root group's object
//! header and the attributes stored in it. Legacy Keras `.h5` files keep the
//! model architecture there (`model_config`, `training_config`), which is all
//! the scanner needs; datasets (the weights) are never read.
//!
//! Written from the HDF5 file format specification (superblock versions 0-3,
//! object header versions 1 and 2 with continuation blocks, attribute message
//! versions 1-3, fixed-length strings, variable-length strings in global heap
//! collections). libhdf5 is not used: it is a large C parser with its own
//! CVEs. Every address and length is checked against the file; anything this
//! reader does not support is an error, never silently skipped. Checksums of
//! version 2 structures are not verified: libhdf5 does, so a file that fails
//! them does not load at all.

use std::collections::HashSet;
use std::fmt;

pub const SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Most object header messages read, over all continuation blocks.
const MAX_MESSAGES: usize = 1 << 16;
/// Most continuation blocks followed.
const MAX_BLOCKS: usize = 1024;

/// An attribute of the root group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Value,
    /// File offset of the attribute message.
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// One string, fixed- or variable-length, with its padding removed.
    Text(Vec<u8>),
    /// Any other type or shape (numbers, arrays of strings).
    Other,
    /// A string this reader could not read, and why.
    Unreadable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No HDF5 signature at 0, 512, 1024, ...
    NotHdf5,
    /// An address or length points past the end of the file.
    Truncated {
        what: &'static str,
        offset: u64,
    },
    Malformed {
        what: String,
        offset: u64,
    },
    /// Valid HDF5 using a layout this reader does not read.
    Unsupported {
        what: String,
        offset: u64,
    },
    /// A string longer than the metadata limit.
    TooLarge {
        what: String,
        size: u64,
        limit: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotHdf5 => write!(f, "no HDF5 superblock signature"),
            Error::Truncated { what, offset } => {
                write!(f, "{what} at byte {offset} runs past the end of the file")
            }
            Error::Malformed { what, offset } => write!(f, "{what} at byte {offset}"),
            Error::Unsupported { what, offset } => {
                write!(f, "unsupported layout: {what} at byte {offset}")
            }
            Error::TooLarge { what, size, limit } => {
                write!(f, "{what} is {size} bytes, over the {limit}-byte limit")
            }
        }
    }
}

impl Error {
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Truncated { offset, .. }
            | Error::Malformed { offset, .. }
            | Error::Unsupported { offset, .. } => Some(*offset),
            Error::NotHdf5 | Error::TooLarge { .. } => None,
        }
    }
}

fn malformed(what: impl Into<String>, offset: usize) -> Error {
    Error::Malformed {
        what: what.into(),
        offset: offset as u64,
    }
}

fn unsupported(what: impl Into<String>, offset: usize) -> Error {
    Error::Unsupported {
        what: what.into(),
        offset: offset as u64,
    }
}

/// Reads the attributes of the root group. Strings longer than `max_string`
/// bytes are an error.
pub fn root_attributes(data: &[u8], max_string: u64) -> Result<Vec<Attribute>, Error> {
    let file = File::open(data, max_string)?;
    let messages = file.object_header(file.root)?;
    let mut attributes = Vec::new();
    for m in &messages {
        match m.kind {
            MSG_ATTRIBUTE_INFO => file.refuse_dense_attributes(m)?,
            MSG_ATTRIBUTE => attributes.push(file.attribute(m)?),
            _ => {}
        }
    }
    Ok(attributes)
}

const MSG_CONTINUATION: u16 = 0x0010;
const MSG_ATTRIBUTE: u16 = 0x000c;
const MSG_ATTRIBUTE_INFO: u16 = 0x0015;
/// Message flag: the body is a reference to a shared message elsewhere.
const FLAG_SHARED: u8 = 0x02;

struct File<'a> {
    data: &'a [u8],
    /// Absolute offset that addresses are relative to.
    base: u64,
    offset_size: usize,
    length_size: usize,
    /// Absolute offset of the root group's object header.
    root: usize,
    max_string: u64,
}

/// A bounds-checked little-endian reader over the whole file.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], pos: usize, end: usize) -> Self {
        Cursor {
            data,
            pos,
            end: end.min(data.len()),
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let bytes = self
            .data
            .get(self.pos..self.end)
            .and_then(|rest| rest.get(..n))
            .ok_or(Error::Truncated {
                what,
                offset: self.pos as u64,
            })?;
        self.pos += n;
        Ok(bytes)
    }

    /// [`Cursor::take`] for a length known at compile time.
    fn take_array<const N: usize>(&mut self, what: &'static str) -> Result<&'a [u8; N], Error> {
        let (head, _) = self
            .data
            .get(self.pos..self.end)
            .and_then(<[u8]>::split_first_chunk)
            .ok_or(Error::Truncated {
                what,
                offset: self.pos as u64,
            })?;
        self.pos += N;
        Ok(head)
    }

    fn uint(&mut self, width: usize, what: &'static str) -> Result<u64, Error> {
        Ok(self
            .take(width, what)?
            .iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        let [b] = self.take_array(what)?;
        Ok(*b)
    }

    fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }
}

struct Message {
    kind: u16,
    flags: u8,
    /// Absolute offset of the message header.
    offset: usize,
    body: std::ops::Range<usize>,
}

impl<'a> File<'a> {
    fn open(data: &'a [u8], max_string: u64) -> Result<Self, Error> {
        let sb = find_superblock(data).ok_or(Error::NotHdf5)?;
        let mut c = Cursor::new(data, sb + SIGNATURE.len(), data.len());
        let version = c.u8("superblock version")?;
        let (offset_size, length_size) = match version {
            0 | 1 => {
                // Version numbers, field sizes, B-tree K values, flags.
                let head: &[u8; 15] = c.take_array("superblock")?;
                let (o, l) = (head[4] as usize, head[5] as usize);
                if version == 1 {
                    c.take(4, "superblock")?;
                }
                (o, l)
            }
            2 | 3 => {
                let [o, l, _] = c.take_array("superblock")?;
                (*o as usize, *l as usize)
            }
            v => return Err(unsupported(format!("superblock version {v}"), sb + 8)),
        };
        for size in [offset_size, length_size] {
            if !matches!(size, 2 | 4 | 8) {
                return Err(malformed(format!("field size {size} in superblock"), sb));
            }
        }
        let base = c.uint(offset_size, "superblock base address")?;
        let (end_of_file, root_address) = if version <= 1 {
            // Free-space address, end of file, driver information, then the
            // root group's symbol table entry: link name offset, header address.
            c.take(offset_size, "free-space address")?;
            let eof = c.uint(offset_size, "end-of-file address")?;
            c.take(2 * offset_size, "superblock addresses")?;
            (eof, c.uint(offset_size, "root object header address")?)
        } else {
            // Superblock extension address, end of file, root header address.
            c.take(offset_size, "superblock extension address")?;
            let eof = c.uint(offset_size, "end-of-file address")?;
            (eof, c.uint(offset_size, "root object header address")?)
        };
        // libhdf5 refuses a file shorter than its recorded end: so do we, as
        // the datasets past the metadata are otherwise never looked at. The
        // writer counts the end from the start of the file, user block included.
        if end_of_file > data.len() as u64 {
            return Err(Error::Truncated {
                what: "file (shorter than the end-of-file address in its superblock)",
                offset: data.len() as u64,
            });
        }
        let mut file = File {
            data,
            base,
            offset_size,
            length_size,
            root: 0,
            max_string,
        };
        file.root = file.resolve(root_address, "root object header address", sb)?;
        Ok(file)
    }

    fn undefined(&self, address: u64) -> bool {
        address == u64::MAX >> (64 - 8 * self.offset_size)
    }

    /// The absolute offset of a file address, checked against the file size.
    fn resolve(&self, address: u64, what: &'static str, at: usize) -> Result<usize, Error> {
        if self.undefined(address) {
            return Err(malformed(format!("{what} is undefined"), at));
        }
        self.base
            .checked_add(address)
            .and_then(|a| usize::try_from(a).ok())
            .filter(|a| *a < self.data.len())
            .ok_or(Error::Truncated {
                what,
                offset: at as u64,
            })
    }

    /// Every message of the object header at `start`, continuation blocks included.
    fn object_header(&self, start: usize) -> Result<Vec<Message>, Error> {
        let v2 = self.data.get(start..start + 4) == Some(b"OHDR");
        // Version 2 header flag 0x04: each message carries a creation order.
        let creation_order = v2 && self.data.get(start + 5).is_some_and(|f| f & 0x04 != 0);
        // Space too small for one more message header is a gap (version 2
        // chunks may end with one before their checksum); the header
        // includes the creation order when the object tracks it.
        let header = match (v2, creation_order) {
            (false, _) => 8,
            (true, false) => 4,
            (true, true) => 6,
        };
        let mut messages = Vec::new();
        let mut blocks = vec![self.first_block(start, v2)?];
        let mut seen = HashSet::new();
        while let Some((block_start, block_end)) = blocks.pop() {
            if !seen.insert(block_start) {
                return Err(malformed("object header continuation loop", block_start));
            }
            if seen.len() > MAX_BLOCKS {
                return Err(unsupported(
                    format!("more than {MAX_BLOCKS} object header continuation blocks"),
                    block_start,
                ));
            }
            let mut c = Cursor::new(self.data, block_start, block_end);
            while c.remaining() >= header {
                let offset = c.pos;
                let (kind, size, flags) = if v2 {
                    let kind = u16::from(c.u8("message type")?);
                    let size = c.uint(2, "message size")? as usize;
                    let flags = c.u8("message flags")?;
                    if creation_order {
                        c.take(2, "message creation order")?;
                    }
                    (kind, size, flags)
                } else {
                    let kind = c.uint(2, "message type")? as u16;
                    let size = c.uint(2, "message size")? as usize;
                    let flags = c.u8("message flags")?;
                    c.take(3, "message header")?;
                    (kind, size, flags)
                };
                let body_start = c.pos;
                c.take(size, "object header message")?;
                messages.push(Message {
                    kind,
                    flags,
                    offset,
                    body: body_start..c.pos,
                });
                if messages.len() > MAX_MESSAGES {
                    return Err(unsupported(
                        format!("more than {MAX_MESSAGES} object header messages"),
                        offset,
                    ));
                }
                if kind == MSG_CONTINUATION {
                    blocks.push(self.continuation(body_start, v2)?);
                }
            }
        }
        Ok(messages)
    }

    /// Where the messages of the first header chunk lie.
    fn first_block(&self, start: usize, v2: bool) -> Result<(usize, usize), Error> {
        let mut c = Cursor::new(self.data, start, self.data.len());
        if v2 {
            c.take(4, "object header signature")?;
            let version = c.u8("object header version")?;
            if version != 2 {
                return Err(unsupported(
                    format!("object header version {version}"),
                    start,
                ));
            }
            let flags = c.u8("object header flags")?;
            if flags & 0x20 != 0 {
                c.take(16, "object header times")?;
            }
            if flags & 0x10 != 0 {
                c.take(4, "attribute phase change values")?;
            }
            let size = c.uint(1 << (flags & 0x03), "object header chunk size")?;
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            let begin = c.pos;
            c.take(size, "object header chunk")?;
            Ok((begin, c.pos))
        } else {
            let version = c.u8("object header version")?;
            if version != 1 {
                return Err(unsupported(
                    format!("object header version {version}"),
                    start,
                ));
            }
            // Reserved, message count, reference count, header size, padding.
            let head: &[u8; 11] = c.take_array("object header")?;
            let size = u32::from_le_bytes([head[7], head[8], head[9], head[10]]) as usize;
            c.take(4, "object header padding")?;
            let begin = c.pos;
            c.take(size, "object header messages")?;
            Ok((begin, c.pos))
        }
    }

    /// The message area of the continuation block a continuation message names.
    fn continuation(&self, body: usize, v2: bool) -> Result<(usize, usize), Error> {
        let mut c = Cursor::new(self.data, body, self.data.len());
        let address = c.uint(self.offset_size, "continuation address")?;
        let length = c.uint(self.length_size, "continuation length")?;
        let start = self.resolve(address, "continuation block", body)?;
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        let end = start
            .checked_add(length)
            .filter(|e| *e <= self.data.len())
            .ok_or(Error::Truncated {
                what: "continuation block",
                offset: start as u64,
            })?;
        if v2 {
            if self.data.get(start..start + 4) != Some(b"OCHK") || length < 8 {
                return Err(malformed(
                    "continuation block without OCHK signature",
                    start,
                ));
            }
            Ok((start + 4, end - 4))
        } else {
            Ok((start, end))
        }
    }

    fn refuse_dense_attributes(&self, m: &Message) -> Result<(), Error> {
        let mut c = Cursor::new(self.data, m.body.start, m.body.end);
        c.u8("attribute info version")?;
        let flags = c.u8("attribute info flags")?;
        if flags & 0x01 != 0 {
            c.take(2, "attribute info")?;
        }
        let heap = c.uint(self.offset_size, "fractal heap address")?;
        if self.undefined(heap) {
            return Ok(());
        }
        Err(unsupported(
            "root group attributes kept in dense storage (fractal heap)",
            m.offset,
        ))
    }

    fn attribute(&self, m: &Message) -> Result<Attribute, Error> {
        let mut c = Cursor::new(self.data, m.body.start, m.body.end);
        let version = c.u8("attribute version")?;
        let flags = c.u8("attribute flags")?;
        let name_size = c.uint(2, "attribute name size")? as usize;
        let type_size = c.uint(2, "attribute datatype size")? as usize;
        let space_size = c.uint(2, "attribute dataspace size")? as usize;
        let pad = |n: usize| if version == 1 { n.div_ceil(8) * 8 } else { n };
        match version {
            1 | 2 => {}
            3 => {
                c.u8("attribute name encoding")?;
            }
            v => {
                return Err(unsupported(
                    format!("attribute message version {v}"),
                    m.offset,
                ))
            }
        }
        let name = c.take(pad(name_size), "attribute name")?;
        let name = name.get(..name_size).unwrap_or(name);
        let name = String::from_utf8_lossy(name.split(|b| *b == 0).next().unwrap_or_default())
            .into_owned();
        let datatype = c.take(pad(type_size), "attribute datatype")?;
        let dataspace = c.take(pad(space_size), "attribute dataspace")?;
        let value = if m.flags & FLAG_SHARED != 0 || flags & 0x03 != 0 {
            Value::Unreadable("shared attribute, datatype or dataspace".into())
        } else {
            self.value(datatype, dataspace, c)?
        };
        Ok(Attribute {
            name,
            value,
            offset: m.offset as u64,
        })
    }

    fn value(&self, datatype: &[u8], dataspace: &[u8], mut data: Cursor) -> Result<Value, Error> {
        let at = data.pos;
        if self.elements(dataspace, at)? != 1 {
            return Ok(Value::Other);
        }
        let [class, bits, _, _, s0, s1, s2, s3, ..] = *datatype else {
            return Ok(Value::Other);
        };
        let class = class & 0x0f;
        let size = u32::from_le_bytes([s0, s1, s2, s3]) as u64;
        match class {
            // Fixed-length string: null-terminated, null-padded or space-padded.
            3 => {
                self.check_size("fixed-length string attribute", size)?;
                let bytes = data.take(size as usize, "string attribute value")?;
                let text = match bits & 0x0f {
                    2 => bytes.trim_ascii_end(),
                    _ => bytes.split(|b| *b == 0).next().unwrap_or_default(),
                };
                Ok(Value::Text(text.to_vec()))
            }
            // Variable-length; low bits 1 = string (0 = sequence).
            9 if bits & 0x0f == 1 => {
                let len = data.uint(4, "variable-length string length")?;
                let collection = data.uint(self.offset_size, "global heap address")?;
                let index = data.uint(4, "global heap object index")?;
                self.check_size("variable-length string attribute", len)?;
                self.global_heap_object(collection, index, len as usize, at)
                    .map(Value::Text)
            }
            _ => Ok(Value::Other),
        }
    }

    fn check_size(&self, what: &str, size: u64) -> Result<(), Error> {
        if size > self.max_string {
            return Err(Error::TooLarge {
                what: what.into(),
                size,
                limit: self.max_string,
            });
        }
        Ok(())
    }

    /// Number of elements a dataspace message describes.
    fn elements(&self, space: &[u8], at: usize) -> Result<u64, Error> {
        let mut c = Cursor::new(space, 0, space.len());
        let version = c
            .u8("dataspace version")
            .map_err(|_| malformed("empty dataspace", at))?;
        let rank = c.u8("dataspace rank").unwrap_or(0);
        let flags = c.u8("dataspace flags").unwrap_or(0);
        match version {
            1 => {
                c.take(5, "dataspace")
                    .map_err(|_| malformed("short dataspace", at))?;
            }
            2 => match c.u8("dataspace type") {
                Ok(0) => return Ok(1),
                Ok(2) => return Ok(0),
                Ok(1) => {}
                _ => return Err(malformed("bad dataspace type", at)),
            },
            v => return Err(unsupported(format!("dataspace version {v}"), at)),
        }
        let _ = flags;
        let mut n = 1u64;
        for _ in 0..rank {
            let dim = c
                .uint(self.length_size, "dataspace dimension")
                .map_err(|_| malformed("short dataspace", at))?;
            n = n.saturating_mul(dim);
        }
        Ok(n)
    }

    /// Object `index` of the global heap collection at `collection`.
    fn global_heap_object(
        &self,
        collection: u64,
        index: u64,
        len: usize,
        at: usize,
    ) -> Result<Vec<u8>, Error> {
        let start = self.resolve(collection, "global heap collection", at)?;
        let mut c = Cursor::new(self.data, start, self.data.len());
        if c.take(4, "global heap signature")? != b"GCOL" {
            return Err(malformed(
                "global heap collection without GCOL signature",
                start,
            ));
        }
        c.take(4, "global heap header")?;
        let size = c.uint(self.length_size, "global heap collection size")?;
        let end = usize::try_from(size)
            .ok()
            .and_then(|s| start.checked_add(s))
            .filter(|e| *e <= self.data.len())
            .ok_or(Error::Truncated {
                what: "global heap collection",
                offset: start as u64,
            })?;
        let mut c = Cursor::new(self.data, c.pos, end);
        while c.remaining() >= 8 + self.length_size {
            let object = c.pos;
            let id = c.uint(2, "heap object index")?;
            c.take(6, "heap object header")?;
            let size = c.uint(self.length_size, "heap object size")?;
            if id == 0 {
                break; // free space: the rest of the collection
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            let body = c.take(size, "heap object")?;
            if id == index {
                return body
                    .get(..len)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| malformed("string longer than its heap object", object));
            }
            let padding = size.div_ceil(8) * 8 - size;
            c.take(padding.min(c.remaining()), "heap object padding")?;
        }
        Err(malformed(
            format!("global heap object {index} not found"),
            start,
        ))
    }
}

fn find_superblock(data: &[u8]) -> Option<usize> {
    let mut off = 0usize;
    while off.checked_add(SIGNATURE.len())? <= data.len() {
        if data.get(off..off + SIGNATURE.len()) == Some(SIGNATURE) {
            return Some(off);
        }
        off = if off == 0 { 512 } else { off.checked_mul(2)? };
    }
    None
}
