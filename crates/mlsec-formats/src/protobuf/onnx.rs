//! The part of ONNX's `onnx.proto` the scanner judges, as prost messages.
//!
//! Field numbers are those of onnx.proto. Fields the rules do not need are left
//! out and skipped by the decoder without being copied. [`TensorProto`] is
//! decoded by hand so that tensor payloads (`raw_data` and the typed data
//! arrays, gigabytes in a large model) are measured, never copied.

use super::wire::{self, Fields, TreeLimits, Wire, WireError};
use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, DecodeContext, WireType};
use prost::{DecodeError, Message};

#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(string, tag = "2")]
    pub producer_name: String,
    #[prost(string, tag = "3")]
    pub producer_version: String,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "20")]
    pub training_info: Vec<TrainingInfoProto>,
    #[prost(message, repeated, tag = "25")]
    pub functions: Vec<FunctionProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "15")]
    pub sparse_initializer: Vec<SparseTensorProto>,
    /// The graph's signature (old exporters list weights among the inputs too).
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// A graph input or output. Only the tensor branch of `TypeProto` is decoded;
/// sequence, map and optional types (which nest `TypeProto` again) are skipped.
#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Dimension {
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(string, tag = "7")]
    pub domain: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    #[prost(message, optional, tag = "6")]
    pub g: Option<GraphProto>,
    #[prost(message, optional, tag = "22")]
    pub sparse_tensor: Option<SparseTensorProto>,
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub graphs: Vec<GraphProto>,
    #[prost(message, repeated, tag = "23")]
    pub sparse_tensors: Vec<SparseTensorProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SparseTensorProto {
    #[prost(message, optional, tag = "1")]
    pub values: Option<TensorProto>,
    #[prost(message, optional, tag = "2")]
    pub indices: Option<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FunctionProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, repeated, tag = "7")]
    pub node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "9")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(string, tag = "10")]
    pub domain: String,
    #[prost(message, repeated, tag = "11")]
    pub attribute_proto: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TrainingInfoProto {
    #[prost(message, optional, tag = "1")]
    pub initialization: Option<GraphProto>,
    #[prost(message, optional, tag = "2")]
    pub algorithm: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `TensorProto.data_location` value for data kept in another file.
pub const DATA_LOCATION_EXTERNAL: i32 = 1;

/// One value of onnx.proto's `TensorProto.DataType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataType {
    /// The enum's name in onnx.proto (`FLOAT`, `BFLOAT16`).
    pub name: &'static str,
    /// The short name used in signatures (`float32`, `bfloat16`).
    pub short: &'static str,
    /// Bits per element; `None` for STRING and UNDEFINED.
    pub bits: Option<u64>,
}

const fn dt(name: &'static str, short: &'static str, bits: u64) -> DataType {
    DataType {
        name,
        short,
        bits: if bits == 0 { None } else { Some(bits) },
    }
}

/// `TensorProto.DataType` by code (onnx 1.18: codes 0 to 26).
const DATA_TYPES: [DataType; 27] = [
    dt("UNDEFINED", "undefined", 0),
    dt("FLOAT", "float32", 32),
    dt("UINT8", "uint8", 8),
    dt("INT8", "int8", 8),
    dt("UINT16", "uint16", 16),
    dt("INT16", "int16", 16),
    dt("INT32", "int32", 32),
    dt("INT64", "int64", 64),
    dt("STRING", "string", 0),
    dt("BOOL", "bool", 8),
    dt("FLOAT16", "float16", 16),
    dt("DOUBLE", "float64", 64),
    dt("UINT32", "uint32", 32),
    dt("UINT64", "uint64", 64),
    dt("COMPLEX64", "complex64", 64),
    dt("COMPLEX128", "complex128", 128),
    dt("BFLOAT16", "bfloat16", 16),
    dt("FLOAT8E4M3FN", "float8e4m3fn", 8),
    dt("FLOAT8E4M3FNUZ", "float8e4m3fnuz", 8),
    dt("FLOAT8E5M2", "float8e5m2", 8),
    dt("FLOAT8E5M2FNUZ", "float8e5m2fnuz", 8),
    dt("UINT4", "uint4", 4),
    dt("INT4", "int4", 4),
    dt("FLOAT4E2M1", "float4e2m1", 4),
    dt("FLOAT8E8M0", "float8e8m0", 8),
    dt("UINT2", "uint2", 2),
    dt("INT2", "int2", 2),
];

/// The data type with `code`; `None` for codes newer than this table.
pub fn data_type(code: i32) -> Option<&'static DataType> {
    usize::try_from(code).ok().and_then(|i| DATA_TYPES.get(i))
}

/// A length-delimited payload that was skipped, not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Payload {
    pub len: u64,
    /// Bytes from the payload's first byte to the end of the decoded buffer;
    /// `buffer_len - to_end` is its offset (see [`Payload::offset_in`]).
    pub to_end: u64,
}

impl Payload {
    /// Offset of the payload in the buffer of `buffer_len` bytes it was decoded from.
    pub fn offset_in(&self, buffer_len: usize) -> u64 {
        (buffer_len as u64).saturating_sub(self.to_end)
    }
}

/// A tensor: its declared type and shape, where its data lives, and how much
/// data each data field holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TensorProto {
    pub dims: Vec<i64>,
    pub data_type: i32,
    pub name: String,
    pub raw_data: Option<Payload>,
    /// Element counts of the typed data fields (`float_data` ... `uint64_data`).
    pub float_data: u64,
    pub int32_data: u64,
    pub string_data: u64,
    pub int64_data: u64,
    pub double_data: u64,
    pub uint64_data: u64,
    pub external_data: Vec<StringStringEntryProto>,
    pub data_location: i32,
}

/// Tensors have at most a handful of dimensions; a longer list is hostile.
const MAX_DIMS: usize = 1024;

impl TensorProto {
    /// Value of the `external_data` entry `key` (`location`, `offset`, `length`).
    pub fn external(&self, key: &str) -> Option<&str> {
        self.external_data
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }
}

/// Counts the elements of a numeric repeated field, packed or not, without
/// storing them. `width` is the fixed element size, or `None` for varints.
fn count_numbers(
    count: &mut u64,
    wire_type: WireType,
    width: Option<usize>,
    buf: &mut impl Buf,
) -> Result<(), DecodeError> {
    let add = |count: &mut u64, n: u64| *count = count.saturating_add(n);
    match (wire_type, width) {
        (WireType::LengthDelimited, _) => {
            let len = take_len(buf)?;
            match width {
                Some(w) if len % w != 0 => {
                    return Err(invalid(
                        "packed array length not a multiple of its element size",
                    ))
                }
                Some(w) => {
                    add(count, (len / w) as u64);
                    buf.advance(len);
                }
                None => {
                    // A varint ends at each byte with the high bit clear.
                    let mut left = len;
                    let mut last = 0u8;
                    while left > 0 {
                        let chunk = buf.chunk();
                        let part = chunk.get(..left).unwrap_or(chunk);
                        let [.., end] = part else {
                            return Err(invalid("buffer underflow"));
                        };
                        add(
                            count,
                            part.iter().filter(|b| **b & 0x80 == 0).count() as u64,
                        );
                        last = *end;
                        let n = part.len();
                        buf.advance(n);
                        left -= n;
                    }
                    if last & 0x80 != 0 {
                        return Err(invalid("packed varint array ends inside a varint"));
                    }
                }
            }
        }
        (WireType::Varint, None) => {
            encoding::decode_varint(buf)?;
            add(count, 1);
        }
        (WireType::ThirtyTwoBit, Some(4)) | (WireType::SixtyFourBit, Some(8)) => {
            let w = width.unwrap_or(0);
            if buf.remaining() < w {
                return Err(invalid("buffer underflow"));
            }
            buf.advance(w);
            add(count, 1);
        }
        _ => return Err(invalid("wrong wire type for a numeric array")),
    }
    Ok(())
}

/// A decode error with a reason. prost 0.14 still has this constructor but
/// marks it deprecated for hand-written messages; the crate is pinned to 0.14.
#[allow(deprecated)]
fn invalid(reason: &'static str) -> DecodeError {
    DecodeError::new(reason)
}

/// Reads a length prefix and checks it against what is left.
fn take_len(buf: &mut impl Buf) -> Result<usize, DecodeError> {
    let len = encoding::decode_varint(buf)?;
    usize::try_from(len)
        .ok()
        .filter(|l| *l <= buf.remaining())
        .ok_or_else(|| invalid("buffer underflow"))
}

impl Message for TensorProto {
    /// Writes the tensor with zero-filled payloads of the recorded sizes, so
    /// tests can build tensors of any declared shape and data size.
    fn encode_raw(&self, buf: &mut impl BufMut) {
        encoding::int64::encode_packed(1, &self.dims, buf);
        if self.data_type != 0 {
            encoding::int32::encode(2, &self.data_type, buf);
        }
        for (tag, count, width) in self.typed_fields() {
            if count > 0 {
                encoding::encode_key(tag, WireType::LengthDelimited, buf);
                encoding::encode_varint(count * width, buf);
                put_zeros(buf, count * width);
            }
        }
        for _ in 0..self.string_data {
            encoding::encode_key(6, WireType::LengthDelimited, buf);
            encoding::encode_varint(0, buf);
        }
        if !self.name.is_empty() {
            encoding::string::encode(8, &self.name, buf);
        }
        if let Some(raw) = self.raw_data {
            encoding::encode_key(9, WireType::LengthDelimited, buf);
            encoding::encode_varint(raw.len, buf);
            put_zeros(buf, raw.len);
        }
        encoding::message::encode_repeated(13, &self.external_data, buf);
        if self.data_location != 0 {
            encoding::int32::encode(14, &self.data_location, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            1 => {
                encoding::int64::merge_repeated(wire_type, &mut self.dims, buf, ctx)?;
                if self.dims.len() > MAX_DIMS {
                    return Err(invalid("tensor has more than 1024 dimensions"));
                }
                Ok(())
            }
            2 => encoding::int32::merge(wire_type, &mut self.data_type, buf, ctx),
            // Zero-width fixed types: float (4), double (8); varints otherwise.
            4 => count_numbers(&mut self.float_data, wire_type, Some(4), buf),
            5 => count_numbers(&mut self.int32_data, wire_type, None, buf),
            7 => count_numbers(&mut self.int64_data, wire_type, None, buf),
            10 => count_numbers(&mut self.double_data, wire_type, Some(8), buf),
            11 => count_numbers(&mut self.uint64_data, wire_type, None, buf),
            6 => {
                encoding::check_wire_type(WireType::LengthDelimited, wire_type)?;
                let len = take_len(buf)?;
                buf.advance(len);
                self.string_data = self.string_data.saturating_add(1);
                Ok(())
            }
            8 => encoding::string::merge(wire_type, &mut self.name, buf, ctx),
            9 => {
                encoding::check_wire_type(WireType::LengthDelimited, wire_type)?;
                let len = take_len(buf)?;
                self.raw_data = Some(Payload {
                    len: len as u64,
                    to_end: buf.remaining() as u64,
                });
                buf.advance(len);
                Ok(())
            }
            13 => encoding::message::merge_repeated(wire_type, &mut self.external_data, buf, ctx),
            14 => encoding::int32::merge(wire_type, &mut self.data_location, buf, ctx),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let mut len = encoding::int64::encoded_len_packed(1, &self.dims);
        if self.data_type != 0 {
            len += encoding::int32::encoded_len(2, &self.data_type);
        }
        for (tag, count, width) in self.typed_fields() {
            if count > 0 {
                len += len_field(tag, count * width);
            }
        }
        len += self.string_data as usize * len_field(6, 0);
        if !self.name.is_empty() {
            len += encoding::string::encoded_len(8, &self.name);
        }
        if let Some(raw) = self.raw_data {
            len += len_field(9, raw.len);
        }
        len += encoding::message::encoded_len_repeated(13, &self.external_data);
        if self.data_location != 0 {
            len += encoding::int32::encoded_len(14, &self.data_location);
        }
        len
    }

    fn clear(&mut self) {
        *self = TensorProto::default();
    }
}

impl TensorProto {
    /// (field number, element count, bytes per zero element when encoded).
    /// Zero encodes as one byte in a varint array.
    fn typed_fields(&self) -> [(u32, u64, u64); 5] {
        [
            (4, self.float_data, 4),
            (5, self.int32_data, 1),
            (7, self.int64_data, 1),
            (10, self.double_data, 8),
            (11, self.uint64_data, 1),
        ]
    }
}

fn len_field(tag: u32, len: u64) -> usize {
    encoding::key_len(tag) + encoding::encoded_len_varint(len) + len as usize
}

fn put_zeros(buf: &mut impl BufMut, n: u64) {
    for _ in 0..n {
        buf.put_u8(0);
    }
}

/// The message kinds of an ONNX file, for [`wire::check_tree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Model,
    Graph,
    Node,
    Attribute,
    Tensor,
    Sparse,
    Function,
    Training,
}

fn child(kind: Kind, field: u32) -> Option<Kind> {
    use Kind::*;
    match (kind, field) {
        (Model, 7) => Some(Graph),
        (Model, 20) => Some(Training),
        (Model, 25) => Some(Function),
        (Graph, 1) | (Function, 7) => Some(Node),
        (Graph, 5) | (Attribute, 5) | (Attribute, 10) | (Sparse, 1) | (Sparse, 2) => Some(Tensor),
        (Graph, 15) | (Attribute, 22) | (Attribute, 23) => Some(Sparse),
        (Node, 5) | (Function, 11) => Some(Attribute),
        (Attribute, 6) | (Attribute, 11) | (Training, 1) | (Training, 2) => Some(Graph),
        _ => None,
    }
}

/// Top-level ModelProto fields of onnx.proto, with their wire types.
fn model_field(number: u32) -> Option<Wire> {
    match number {
        1 | 5 => Some(Wire::Varint),
        2 | 3 | 4 | 6 | 7 | 8 | 14 | 20 | 25 | 26 => Some(Wire::Len),
        _ => None,
    }
}

/// What the first bytes of a file say about it being an ONNX model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniff {
    NotOnnx,
    /// Every top-level field is a ModelProto field and the graph is there.
    Model,
    /// Starts the way ONNX exporters write models, then breaks: malformed.
    Broken(WireError),
}

/// Decides cheaply whether `data` is an ONNX model. Exporters write the fields
/// in number order, so a model starts with `ir_version` (field 1), then
/// `producer_name` (2) or the graph (7). Only the top level is read here.
pub fn sniff(data: &[u8]) -> Sniff {
    let mut fields = Fields::new(data);
    let ir_version = match fields.next() {
        Some(Ok(f)) if f.number == 1 && f.wire == Wire::Varint && (1..=100).contains(&f.value) => {
            f.value
        }
        _ => return Sniff::NotOnnx,
    };
    let mut seen = 1;
    let mut has_graph = false;
    let mut plausible_head = false;
    for field in fields {
        match field {
            Ok(f) => {
                if model_field(f.number) != Some(f.wire) {
                    return Sniff::NotOnnx;
                }
                if seen == 1 {
                    plausible_head = ir_version >= 3 && head_is_plausible(data, &f);
                }
                has_graph |= f.number == 7;
                seen += 1;
            }
            Err(e) => {
                // Cut inside the second field: judge the head from its prefix.
                if seen == 1 && ir_version >= 3 {
                    plausible_head = cut_head_is_plausible(data);
                }
                return if plausible_head {
                    Sniff::Broken(e)
                } else {
                    Sniff::NotOnnx
                };
            }
        }
    }
    match (has_graph, plausible_head) {
        (true, _) => Sniff::Model,
        (false, true) => Sniff::Broken(WireError::Malformed {
            offset: data.len() as u64,
            what: "model has no graph (field 7)",
        }),
        (false, false) => Sniff::NotOnnx,
    }
}

/// The second field of a model is `producer_name` (printable text) or the
/// graph (whose first field is a node, a name or an initializer).
fn head_is_plausible(data: &[u8], second: &wire::Field) -> bool {
    let body = data.get(second.body.clone()).unwrap_or_default();
    match second.number {
        2 => !body.is_empty() && body.iter().all(|b| (0x20..0x7f).contains(b)),
        7 => matches!(body.first(), Some(0x0a | 0x12 | 0x2a)),
        _ => false,
    }
}

/// Like [`head_is_plausible`] for a second field the data ends inside.
fn cut_head_is_plausible(data: &[u8]) -> bool {
    let Ok((_, pos)) = wire::read_varint(data, 0).and_then(|(_, p)| wire::read_varint(data, p))
    else {
        return false;
    };
    let Some(&key) = data.get(pos) else {
        return false;
    };
    let Ok((_, start)) = wire::read_varint(data, pos + 1) else {
        return false;
    };
    let rest = data.get(start..).unwrap_or_default();
    match key {
        0x12 => rest.len() >= 4 && rest.iter().all(|b| (0x20..0x7f).contains(b)),
        0x3a => matches!(rest.first(), Some(0x0a | 0x12 | 0x2a)),
        _ => false,
    }
}

/// Proves the whole file is a well-formed ModelProto tree within `limits`
/// before it is decoded (see [`wire`]); returns the number of fields.
pub fn check(data: &[u8], limits: TreeLimits) -> Result<u64, WireError> {
    wire::check_tree(data, Kind::Model, child, limits)
}

/// Decodes a model that [`check`] accepted.
pub fn decode(data: &[u8]) -> Result<ModelProto, DecodeError> {
    ModelProto::decode(data)
}

#[cfg(test)]
mod tests {

    #[test]
    fn data_types_by_code() {
        assert_eq!(
            data_type(1).map(|t| (t.name, t.short, t.bits)),
            Some(("FLOAT", "float32", Some(32)))
        );
        assert_eq!(data_type(8).and_then(|t| t.bits), None);
        assert_eq!(data_type(16).map(|t| t.short), Some("bfloat16"));
        assert_eq!(
            data_type(26).map(|t| (t.name, t.bits)),
            Some(("INT2", Some(2)))
        );
        assert!(data_type(27).is_none() && data_type(-1).is_none());
    }
    use super::*;

    fn model() -> ModelProto {
        ModelProto {
            ir_version: 8,
            producer_name: "pytorch".into(),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            }],
            graph: Some(GraphProto {
                name: "main".into(),
                node: vec![NodeProto {
                    input: vec!["x".into(), "w".into()],
                    name: "mm".into(),
                    op_type: "MatMul".into(),
                    ..Default::default()
                }],
                initializer: vec![TensorProto {
                    dims: vec![2, 3],
                    data_type: 1,
                    name: "w".into(),
                    raw_data: Some(Payload { len: 24, to_end: 0 }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_and_measures_payloads() {
        let bytes = model().encode_to_vec();
        assert_eq!(sniff(&bytes), Sniff::Model);
        assert!(check(&bytes, TreeLimits::default()).is_ok());
        let m = decode(&bytes).unwrap();
        let t = &m.graph.unwrap().initializer[0];
        let raw = t.raw_data.unwrap();
        assert_eq!(raw.len, 24);
        let at = raw.offset_in(bytes.len()) as usize;
        assert_eq!(&bytes[at..at + 24], &[0u8; 24]);
        assert_eq!(t.dims, [2, 3]);
    }

    #[test]
    fn counts_packed_and_unpacked_typed_data() {
        // int64_data packed [1, 300] then one unpacked 5; float_data unpacked x2.
        let bytes = b"\x3a\x03\x01\xac\x02\x38\x05\x25\0\0\0\0\x25\0\0\0\0";
        let t = TensorProto::decode(&bytes[..]).unwrap();
        assert_eq!((t.int64_data, t.float_data), (3, 2));
        assert!(TensorProto::decode(&b"\x22\x03\0\0\0"[..]).is_err());
        assert!(TensorProto::decode(&b"\x3a\x01\x80"[..]).is_err());
    }

    #[test]
    fn sniff_rejects_text_random_and_other_protobufs() {
        assert_eq!(sniff(b"hello world"), Sniff::NotOnnx);
        assert_eq!(sniff(b""), Sniff::NotOnnx);
        // A SavedModel: schema version 1, then a meta graph.
        assert_eq!(sniff(b"\x08\x01\x12\x02\x0a\x00"), Sniff::NotOnnx);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let data: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            assert_ne!(sniff(&data), Sniff::Model);
        }
    }

    #[test]
    fn truncated_model_is_broken_not_foreign() {
        let bytes = model().encode_to_vec();
        // From the point where "pytorch" has begun (the 2-byte ir_version, the
        // 2-byte key and length, then 4 characters), every prefix is ONNX.
        for cut in 8..bytes.len() {
            assert_ne!(
                sniff(&bytes[..cut]),
                Sniff::NotOnnx,
                "prefix of {cut} bytes"
            );
        }
    }
}
