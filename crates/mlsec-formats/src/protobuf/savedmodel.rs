//! TensorFlow's `saved_model.pb` (SavedModel → MetaGraphDef → GraphDef), a bare
//! frozen GraphDef, and Keras' `keras_metadata.pb` (SavedMetadata), as prost
//! messages holding only what the rules need.
//!
//! Field numbers are those of tensorflow/core/protobuf/saved_model.proto,
//! meta_graph.proto, saver.proto, tensorflow/core/framework/graph.proto,
//! node_def.proto, function.proto, op_def.proto, attr_value.proto and
//! keras' saved_metadata.proto. Tensor constants (attr `value`) are skipped
//! by the decoder, never copied.

use super::wire::{self, Fields, TreeLimits, Wire, WireError};
use prost::{DecodeError, Message};
use std::collections::HashMap;

#[derive(Clone, PartialEq, Message)]
pub struct SavedModel {
    #[prost(int64, tag = "1")]
    pub saved_model_schema_version: i64,
    #[prost(message, repeated, tag = "2")]
    pub meta_graphs: Vec<MetaGraphDef>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MetaGraphDef {
    #[prost(message, optional, tag = "1")]
    pub meta_info_def: Option<MetaInfoDef>,
    #[prost(message, optional, tag = "2")]
    pub graph_def: Option<GraphDef>,
    #[prost(message, optional, tag = "3")]
    pub saver_def: Option<SaverDef>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MetaInfoDef {
    #[prost(string, repeated, tag = "4")]
    pub tags: Vec<String>,
    #[prost(string, tag = "5")]
    pub tensorflow_version: String,
}

/// Names the tensors and ops of the model's own checkpoint saver.
#[derive(Clone, PartialEq, Message)]
pub struct SaverDef {
    #[prost(string, tag = "1")]
    pub filename_tensor_name: String,
    #[prost(string, tag = "2")]
    pub save_tensor_name: String,
    #[prost(string, tag = "3")]
    pub restore_op_name: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct GraphDef {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeDef>,
    #[prost(message, optional, tag = "2")]
    pub library: Option<FunctionDefLibrary>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NodeDef {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub op: String,
    #[prost(string, repeated, tag = "3")]
    pub input: Vec<String>,
    #[prost(map = "string, message", tag = "5")]
    pub attr: HashMap<String, AttrValue>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FunctionDefLibrary {
    #[prost(message, repeated, tag = "1")]
    pub function: Vec<FunctionDef>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FunctionDef {
    #[prost(message, optional, tag = "1")]
    pub signature: Option<OpDef>,
    #[prost(message, repeated, tag = "3")]
    pub node_def: Vec<NodeDef>,
}

impl FunctionDef {
    pub fn name(&self) -> &str {
        self.signature.as_ref().map_or("", |s| s.name.as_str())
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct OpDef {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// An attribute value; only strings, string lists and function references are
/// kept (tensors, shapes and numbers are skipped).
#[derive(Clone, PartialEq, Message)]
pub struct AttrValue {
    #[prost(oneof = "attr_value::Value", tags = "1, 2, 10")]
    pub value: Option<attr_value::Value>,
}

pub mod attr_value {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(message, tag = "1")]
        List(super::ListValue),
        #[prost(bytes, tag = "2")]
        S(Vec<u8>),
        #[prost(message, tag = "10")]
        Func(super::NameAttrList),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct ListValue {
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub s: Vec<Vec<u8>>,
    #[prost(message, repeated, tag = "9")]
    pub func: Vec<NameAttrList>,
}

/// A function reference (`f`, `then_branch`, `body`, ...).
#[derive(Clone, PartialEq, Message)]
pub struct NameAttrList {
    #[prost(string, tag = "1")]
    pub name: String,
}

impl AttrValue {
    /// The strings this attribute holds (one, a list, or none).
    pub fn strings(&self) -> Vec<&[u8]> {
        match &self.value {
            Some(attr_value::Value::S(s)) => vec![s.as_slice()],
            Some(attr_value::Value::List(l)) => l.s.iter().map(Vec::as_slice).collect(),
            _ => Vec::new(),
        }
    }

    /// The functions this attribute names.
    pub fn functions(&self) -> Vec<&str> {
        match &self.value {
            Some(attr_value::Value::Func(f)) => vec![f.name.as_str()],
            Some(attr_value::Value::List(l)) => l.func.iter().map(|f| f.name.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// keras_metadata.pb: one JSON document per Keras object of the SavedModel.
#[derive(Clone, PartialEq, Message)]
pub struct SavedMetadata {
    #[prost(message, repeated, tag = "1")]
    pub nodes: Vec<SavedObject>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SavedObject {
    #[prost(int32, tag = "2")]
    pub node_id: i32,
    #[prost(string, tag = "3")]
    pub node_path: String,
    #[prost(string, tag = "4")]
    pub identifier: String,
    #[prost(string, tag = "5")]
    pub metadata: String,
}

/// Which of the TensorFlow protobuf files `data` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SavedModel,
    GraphDef,
    KerasMetadata,
}

impl Kind {
    pub fn format_name(self) -> &'static str {
        match self {
            Kind::SavedModel => "tf-savedmodel",
            Kind::GraphDef => "tf-graphdef",
            Kind::KerasMetadata => "keras-metadata",
        }
    }
}

/// What the first bytes say about `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniff {
    NotTensorflow,
    /// Recognised, and its top level is well formed.
    Found(Kind),
    /// Recognised from its head, then broken.
    Broken(Kind, WireError),
}

/// Decides cheaply which TensorFlow file `data` is, if any, from its first
/// fields: TensorFlow writes `saved_model_schema_version: 1` first, then the
/// meta graphs; a GraphDef opens with a NodeDef whose name and op are
/// identifiers; keras_metadata opens with a SavedObject whose identifier
/// starts with `_tf_keras_`.
pub fn sniff(data: &[u8]) -> Sniff {
    let mut fields = Fields::new(data);
    let first = match fields.next() {
        Some(Ok(f)) => f,
        Some(Err(_)) | None => return Sniff::NotTensorflow,
    };
    let kind = if first.number == 1 && first.wire == Wire::Varint && first.value == 1 {
        if !saved_model_head(data) {
            return Sniff::NotTensorflow;
        }
        Kind::SavedModel
    } else if first.number == 1 && first.wire == Wire::Len {
        let body = first.body.clone();
        if keras_object(data, body.clone()) {
            Kind::KerasMetadata
        } else if graph_node(data, body) {
            Kind::GraphDef
        } else {
            return Sniff::NotTensorflow;
        }
    } else {
        return Sniff::NotTensorflow;
    };
    for field in fields {
        match field {
            Ok(f) if top_level_field(kind, f.number) == Some(f.wire) => {}
            Ok(f) => {
                return Sniff::Broken(
                    kind,
                    WireError::Malformed {
                        offset: f.offset as u64,
                        what: "unexpected top-level field",
                    },
                )
            }
            Err(e) => return Sniff::Broken(kind, e),
        }
    }
    Sniff::Found(kind)
}

fn top_level_field(kind: Kind, number: u32) -> Option<Wire> {
    match (kind, number) {
        (Kind::SavedModel, 1) | (Kind::GraphDef, 3) => Some(Wire::Varint),
        (Kind::SavedModel, 2) | (Kind::GraphDef, 1 | 2 | 4 | 5) | (Kind::KerasMetadata, 1) => {
            Some(Wire::Len)
        }
        _ => None,
    }
}

/// `08 01`, then field 2 (a MetaGraphDef) whose first key is one of its fields.
fn saved_model_head(data: &[u8]) -> bool {
    if data.get(2) != Some(&0x12) {
        return false;
    }
    let Ok((_, start)) = wire::read_varint(data, 3) else {
        return false;
    };
    matches!(
        data.get(start),
        Some(0x0a | 0x12 | 0x1a | 0x22 | 0x2a | 0x32 | 0x3a)
    )
}

fn keras_object(data: &[u8], body: std::ops::Range<usize>) -> bool {
    let mut identifier = None;
    for field in Fields::within(data, body) {
        match field {
            Ok(f) if f.number == 4 && f.wire == Wire::Len => {
                identifier = data.get(f.body);
            }
            Ok(f) if (2..=6).contains(&f.number) => {}
            _ => return false,
        }
    }
    identifier.is_some_and(|id| id.starts_with(b"_tf_keras_"))
}

fn graph_node(data: &[u8], body: std::ops::Range<usize>) -> bool {
    let (mut name, mut op) = (false, false);
    for field in Fields::within(data, body) {
        let Ok(f) = field else { return false };
        let text = data.get(f.body.clone()).unwrap_or_default();
        match (f.number, f.wire) {
            (1, Wire::Len) => name = !text.is_empty() && text.iter().all(|b| b.is_ascii_graphic()),
            (2, Wire::Len) => op = is_op_name(text),
            (3..=7, Wire::Len) => {}
            _ => return false,
        }
    }
    name && op
}

/// Op names are CamelCase identifiers (`Const`, `_Arg`, `MatMul`).
fn is_op_name(text: &[u8]) -> bool {
    matches!(text.first(), Some(b'A'..=b'Z' | b'_'))
        && text.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

#[derive(Clone, Copy)]
enum Part {
    SavedModel,
    MetaGraph,
    Graph,
    NodeDef,
    AttrEntry,
    Attr,
    List,
    Library,
    Function,
    Leaf,
    KerasMetadata,
}

fn child(kind: Part, field: u32) -> Option<Part> {
    use Part::*;
    match (kind, field) {
        (SavedModel, 2) => Some(MetaGraph),
        (MetaGraph, 1 | 3) => Some(Leaf),
        (MetaGraph, 2) => Some(Graph),
        (Graph, 1) | (Function, 3) => Some(NodeDef),
        (Graph, 2) => Some(Library),
        (Library, 1) => Some(Function),
        (Function, 1) => Some(Leaf),
        (NodeDef, 5) => Some(AttrEntry),
        (AttrEntry, 2) => Some(Attr),
        (Attr, 1) => Some(List),
        (Attr, 10) | (List, 9) => Some(Leaf),
        (KerasMetadata, 1) => Some(Leaf),
        _ => None,
    }
}

/// Proves the file is a well-formed message tree within `limits` before it
/// is decoded; returns the number of fields.
pub fn check(data: &[u8], kind: Kind, limits: TreeLimits) -> Result<u64, WireError> {
    let root = match kind {
        Kind::SavedModel => Part::SavedModel,
        Kind::GraphDef => Part::Graph,
        Kind::KerasMetadata => Part::KerasMetadata,
    };
    wire::check_tree(data, root, child, limits)
}

pub fn decode_saved_model(data: &[u8]) -> Result<SavedModel, DecodeError> {
    SavedModel::decode(data)
}

pub fn decode_graph_def(data: &[u8]) -> Result<GraphDef, DecodeError> {
    GraphDef::decode(data)
}

pub fn decode_keras_metadata(data: &[u8]) -> Result<SavedMetadata, DecodeError> {
    SavedMetadata::decode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, op: &str) -> NodeDef {
        NodeDef {
            name: name.into(),
            op: op.into(),
            ..Default::default()
        }
    }

    #[test]
    fn recognises_each_kind() {
        let sm = SavedModel {
            saved_model_schema_version: 1,
            meta_graphs: vec![MetaGraphDef {
                meta_info_def: Some(MetaInfoDef {
                    tags: vec!["serve".into()],
                    tensorflow_version: "2.15.0".into(),
                }),
                graph_def: Some(GraphDef {
                    node: vec![node("x", "Placeholder")],
                    library: None,
                }),
                saver_def: None,
            }],
        }
        .encode_to_vec();
        assert_eq!(sniff(&sm), Sniff::Found(Kind::SavedModel));
        assert!(check(&sm, Kind::SavedModel, TreeLimits::default()).is_ok());
        let g = GraphDef {
            node: vec![node("c", "Const"), node("r", "ReadFile")],
            library: None,
        }
        .encode_to_vec();
        assert_eq!(sniff(&g), Sniff::Found(Kind::GraphDef));
        let km = SavedMetadata {
            nodes: vec![SavedObject {
                node_id: 0,
                node_path: "root".into(),
                identifier: "_tf_keras_model".into(),
                metadata: "{}".into(),
            }],
        }
        .encode_to_vec();
        assert_eq!(sniff(&km), Sniff::Found(Kind::KerasMetadata));
        assert_eq!(decode_keras_metadata(&km).unwrap().nodes[0].metadata, "{}");
    }

    #[test]
    fn text_and_onnx_are_not_tensorflow() {
        assert_eq!(sniff(b"\nhello\nworld\n"), Sniff::NotTensorflow);
        assert_eq!(sniff(b"{\"a\": 1}"), Sniff::NotTensorflow);
        assert_eq!(sniff(b"\x08\x07\x12\x07pytorch"), Sniff::NotTensorflow);
        assert_eq!(sniff(b""), Sniff::NotTensorflow);
    }
}
